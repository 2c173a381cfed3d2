"""Paired (aligned) datasets for pix2pix.

Two layouts are accepted, as in the reference:

- ``ab``: every image holds A (left half) and B (right half) side by side;
- ``folders``: ``root/A/`` and ``root/B/`` hold images with matching file names (stems).

``colorization`` takes plain photos: A is the L channel, B the ab channels (Lab).

Items are dicts ``{"A": (C,H,W), "B": (C,H,W), "path": str}`` in [-1, 1].  A key
may be an index or ``(index, seed)``: the seed fixes the random crop/flip, which
is how the engine makes data augmentation reproducible after a resume.
"""

from __future__ import annotations

__all__ = ["AlignedDataset", "LAYOUTS", "find_layout", "image_size"]

import os
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..color import rgb_to_lab
from ..errors import InputError, suggest
from ..io import list_images, load_image
from .transforms import PairedTransform, to_model_tensor

LAYOUTS = ("auto", "ab", "folders", "colorization")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header, or a one-line :class:`InputError`."""
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError(f"{path} is not a readable image") from None


def find_layout(root: Path) -> str:
    """``folders`` when ``root`` has ``A/`` and ``B/`` subfolders, else ``ab``."""
    if (root / "A").is_dir() and (root / "B").is_dir():
        return "folders"
    if (root / "A").is_dir() or (root / "B").is_dir():
        missing = "B" if (root / "A").is_dir() else "A"
        raise InputError(f"{root} has a {'AB'.replace(missing, '')}/ folder but no {missing}/ folder")
    return "ab"


class AlignedDataset(Dataset[dict[str, Any]]):
    """Paired images with one random crop/flip per pair.

    Args:
        root: dataset folder (see the module docstring for layouts).
        transform: the paired preprocessing.
        direction: ``"AtoB"`` (input A, target B) or ``"BtoA"``.
        input_nc / output_nc: 1 (grayscale) or 3 channels.
        layout: ``auto``, ``ab``, ``folders`` or ``colorization``.
        seed: used for integer keys (evaluation, visuals).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        transform: PairedTransform = PairedTransform(),
        direction: str = "AtoB",
        input_nc: int = 3,
        output_nc: int = 3,
        layout: str = "auto",
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        if direction not in ("AtoB", "BtoA"):
            raise InputError(f"direction must be AtoB or BtoA{suggest(direction, ['AtoB', 'BtoA'])}, got {direction!r}")
        if layout not in LAYOUTS:
            raise InputError(f"unknown layout {layout!r}{suggest(layout, LAYOUTS)}; choose from: {', '.join(LAYOUTS)}")
        if not self.root.is_dir():
            raise InputError(f"dataset folder not found: {self.root}")
        self.layout = find_layout(self.root) if layout == "auto" else layout
        self.transform, self.direction, self.seed = transform, direction, seed
        self.input_nc, self.output_nc = input_nc, output_nc
        if self.layout == "colorization":
            self.input_nc, self.output_nc = 1, 2
        elif input_nc not in (1, 3) or output_nc not in (1, 3):
            raise InputError("--input-nc/--output-nc must be 1 or 3")
        self.items: list[tuple[Path, ...]] = self._scan()

    def _scan(self) -> list[tuple[Path, ...]]:
        if self.layout == "folders":
            a_files = {p.stem: p for p in list_images(self.root / "A")}
            b_files = {p.stem: p for p in list_images(self.root / "B")}
            if not a_files or not b_files:
                raise InputError(f"no images in {self.root / ('A' if not a_files else 'B')}")
            only_a, only_b = sorted(set(a_files) - set(b_files)), sorted(set(b_files) - set(a_files))
            if only_a or only_b:
                side, names = ("A", only_a) if only_a else ("B", only_b)
                other = "B" if side == "A" else "A"
                raise InputError(
                    f"{len(names)} image(s) in {self.root / side} have no match in {self.root / other} "
                    f"(e.g. {names[0]!r}); A/ and B/ need the same file names"
                )
            items: list[tuple[Path, ...]] = [(a_files[k], b_files[k]) for k in sorted(a_files)]
            for a, b in items:
                sa, sb = image_size(a), image_size(b)
                if sa != sb:
                    raise InputError(
                        f"{a.name}: A is {sa[0]}×{sa[1]} but B is {sb[0]}×{sb[1]}; pairs must have one size"
                    )
                self.transform.check(*sa, f"{a}")
            return items
        files = list_images(self.root)
        if not files:
            hint = " (expected A|B images, A/ and B/ folders, or a train/ folder)"
            raise InputError(f"no images in {self.root}{hint if self.layout == 'ab' else ''}")
        for f in files:
            w, h = image_size(f)
            if self.layout == "ab":
                if w % 2:
                    raise InputError(f"{f} is {w} px wide (odd): an A|B image holds two halves of equal width")
                w //= 2
            self.transform.check(w, h, f"{f}" + (" (one half)" if self.layout == "ab" else ""))
        return [(f,) for f in files]

    def __len__(self) -> int:
        return len(self.items)

    def _generator(self, key: int | tuple[int, int]) -> tuple[int, torch.Generator]:
        if isinstance(key, tuple):
            index, seed = key
        else:
            index, seed = int(key), hash((self.seed, int(key))) & 0x7FFF_FFFF_FFFF_FFFF
        return index, torch.Generator().manual_seed(int(seed))

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, gen = self._generator(key)
        paths = self.items[index]
        if self.layout == "colorization":
            (img,) = self.transform([load_image(paths[0])], gen)
            lab = rgb_to_lab(to_model_tensor(img, 3)[None].add(1).div(2))[0]
            return {"A": lab[:1] / 50 - 1, "B": lab[1:] / 110, "path": str(paths[0])}
        if self.layout == "folders":
            a, b = load_image(paths[0]), load_image(paths[1])
        else:
            ab = load_image(paths[0])
            w, h = ab.size
            a, b = ab.crop((0, 0, w // 2, h)), ab.crop((w // 2, 0, w, h))
        if self.direction == "BtoA":
            a, b = b, a
        a, b = self.transform([a, b], gen)
        return {"A": to_model_tensor(a, self.input_nc), "B": to_model_tensor(b, self.output_nc), "path": str(paths[0])}
