"""Unpaired (unaligned) datasets for CycleGAN, a one-folder dataset for inference, downloads.

Two layouts, as in the reference:

- ``root/trainA``, ``root/trainB`` (and ``testA``/``testB``; the ``phase`` picks the prefix),
  or ``root/A`` and ``root/B``;
- two arbitrary folders: ``UnalignedDataset(dir_a, dir_b)``.

Items are ``{"A": (C,H,W), "B": (C,H,W), "A_path", "B_path"}`` in [-1, 1].  The dataset
has ``max(len(A), len(B))`` items; item ``i`` takes ``A[i % len(A)]`` and either
``B[i % len(B)]`` (``serial``) or a B image drawn from the key's seed (random pairing, the
default).  A and B get independent random crops/flips (the same preprocessing modes as
pix2pix, :class:`~styleforge.data.transforms.PairedTransform`).  A key may be an index
or ``(index, seed)``: the engine passes seeds so augmentation and pairing are
reproducible after a resume.
"""

from __future__ import annotations

__all__ = [
    "CYCLEGAN_DATASETS",
    "SingleDataset",
    "UnalignedDataset",
    "detect_channels",
    "download_unaligned",
    "find_domains",
]

import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..download import download as fetch
from ..errors import InputError, suggest
from ..io import list_images, load_image
from .transforms import PairedTransform, to_model_tensor

log = logging.getLogger("styleforge.data")

_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_CYC = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
#: The CycleGAN paper's public datasets (``styleforge datasets download NAME``).
CYCLEGAN_DATASETS: dict[str, str] = {
    name: _CYC.format(name)
    for name in (
        "apple2orange",
        "summer2winter_yosemite",
        "horse2zebra",
        "monet2photo",
        "cezanne2photo",
        "ukiyoe2photo",
        "vangogh2photo",
        "iphone2dslr_flower",
    )
}


def _header(path: Path) -> tuple[int, int, str]:
    try:
        with Image.open(path) as im:
            return im.size[0], im.size[1], im.mode
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InputError(f"{path} is not a readable image") from None


def detect_channels(files: list[Path]) -> int:
    """1 when every image is grayscale (from the file headers), else 3."""
    return 1 if files and all(_header(f)[2] in _GRAY_MODES for f in files) else 3


def find_domains(root: str | os.PathLike[str], phase: str = "train") -> tuple[Path, Path]:
    """``(dir_a, dir_b)`` of a dataset folder: ``root/{phase}A``+``{phase}B`` or ``root/A``+``root/B``."""
    r = Path(root)
    if not r.is_dir():
        raise InputError(f"dataset folder not found: {r}")
    for a, b in ((r / f"{phase}A", r / f"{phase}B"), (r / "A", r / "B")):
        if a.is_dir() and b.is_dir():
            return a, b
        if a.is_dir() or b.is_dir():
            have, miss = (a, b) if a.is_dir() else (b, a)
            raise InputError(f"{r} has {have.name}/ but no {miss.name}/: an unpaired dataset needs both domains")
    subdirs = sorted(p.name for p in r.iterdir() if p.is_dir())
    raise InputError(
        f"{r} has no {phase}A/ and {phase}B/ (or A/ and B/) folders"
        + (f" (it has: {', '.join(subdirs[:6])})" if subdirs else "")
        + "; pass two folders with --data-a DIR --data-b DIR"
    )


def _scan(folder: Path, transform: PairedTransform, side: str) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"domain {side} folder not found: {folder}")
    files = list_images(folder)
    if not files:
        raise InputError(f"no images in domain {side} folder {folder}")
    for f in files:
        w, h, _ = _header(f)
        transform.check(w, h, str(f))
    return files


def _channels(value: int | str, files: list[Path], flag: str) -> int:
    if value == "auto":
        return detect_channels(files)
    if value not in (1, 3):
        raise InputError(f"{flag} must be 1, 3 or auto, got {value!r}")
    return int(value)


def _key(key: int | tuple[int, int], seed: int) -> tuple[int, torch.Generator]:
    if isinstance(key, tuple):
        index, s = key
    else:
        index, s = int(key), (seed * 1_000_003 + int(key)) & 0x7FFF_FFFF_FFFF_FFFF
    return int(index), torch.Generator().manual_seed(int(s))


class UnalignedDataset(Dataset[dict[str, Any]]):
    """Two independent image folders (domains A and B).

    Args:
        dir_a / dir_b: the domain folders (see :func:`find_domains` for dataset roots).
        transform: preprocessing applied to each image on its own (independent draws).
        serial: pair ``A[i]`` with ``B[i % len(B)]`` instead of a random B.
        input_nc / output_nc: channels of A / B: 1, 3 or ``"auto"`` (1 when a domain is all grayscale).
        seed: used for integer keys (visuals, evaluation).

    Examples:
        >>> ds = UnalignedDataset("data/trainA", "data/trainB")  # doctest: +SKIP
        >>> ds[(0, 123)]["A"].shape  # doctest: +SKIP
        torch.Size([3, 256, 256])
    """

    def __init__(
        self,
        dir_a: str | os.PathLike[str],
        dir_b: str | os.PathLike[str],
        *,
        transform: PairedTransform = PairedTransform(),
        serial: bool = False,
        input_nc: int | str = 3,
        output_nc: int | str = 3,
        seed: int = 0,
    ) -> None:
        self.dir_a, self.dir_b = Path(dir_a), Path(dir_b)
        self.transform, self.serial, self.seed = transform, serial, seed
        self.files_a = _scan(self.dir_a, transform, "A")
        self.files_b = _scan(self.dir_b, transform, "B")
        self.input_nc = _channels(input_nc, self.files_a, "--input-nc")
        self.output_nc = _channels(output_nc, self.files_b, "--output-nc")
        na, nb = len(self.files_a), len(self.files_b)
        if min(na, nb) == 1:
            log.warning("domain %s has a single image: the model will overfit it", "A" if na == 1 else "B")
        if max(na, nb) >= 10 * min(na, nb) and min(na, nb) > 0:
            log.info(
                "domains differ in size (%d A vs %d B images): an epoch is %d pairs, the smaller domain repeats",
                na,
                nb,
                max(na, nb),
            )

    @classmethod
    def from_root(cls, root: str | os.PathLike[str], phase: str = "train", **kwargs: Any) -> UnalignedDataset:
        """A dataset folder with ``{phase}A/`` and ``{phase}B/`` (or ``A/`` and ``B/``)."""
        return cls(*find_domains(root, phase), **kwargs)

    def __len__(self) -> int:
        return max(len(self.files_a), len(self.files_b))

    def pair(self, index: int, generator: torch.Generator) -> tuple[Path, Path]:
        """The A and B files of item ``index`` (the B draw consumes ``generator``)."""
        a = self.files_a[index % len(self.files_a)]
        nb = len(self.files_b)
        ib = index % nb if self.serial else int(torch.randint(0, nb, (), generator=generator))
        return a, self.files_b[ib]

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, gen = _key(key, self.seed)
        if not 0 <= index < len(self):
            raise IndexError(index)
        pa, pb = self.pair(index, gen)
        (a,) = self.transform([load_image(pa)], gen)
        (b,) = self.transform([load_image(pb)], gen)
        return {
            "A": to_model_tensor(a, self.input_nc),
            "B": to_model_tensor(b, self.output_nc),
            "A_path": str(pa),
            "B_path": str(pb),
        }


class SingleDataset(Dataset[dict[str, Any]]):
    """One folder (or list) of images for inference in one direction: ``{"A": (C,H,W), "path"}``.

    The default transform keeps each image's size (sides rounded to multiples of 4).
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | list[Path],
        *,
        transform: PairedTransform = PairedTransform(preprocess="none", flip=False),
        channels: int = 3,
    ) -> None:
        if isinstance(source, list):
            self.files = [Path(p) for p in source]
        else:
            folder = Path(source)
            if not folder.is_dir():
                raise InputError(f"folder not found: {folder}")
            self.files = list_images(folder)
        if not self.files:
            raise InputError(f"no images in {source}")
        self.transform, self.channels = transform, channels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        index, gen = _key(key, 0)
        path = self.files[index]
        (img,) = self.transform([load_image(path)], gen)
        return {"A": to_model_tensor(img, self.channels), "path": str(path)}


def download_unaligned(name: str, out: str | os.PathLike[str], *, timeout: float = 20.0) -> Path:
    """Fetch and extract a CycleGAN paper dataset into ``out/<name>/`` (needs internet).

    Offline, or when the server is unreachable, raises a one-line :class:`InputError`
    that says how to install the dataset by hand.
    """
    if name not in CYCLEGAN_DATASETS:
        raise InputError(
            f"unknown CycleGAN dataset {name!r}{suggest(name, CYCLEGAN_DATASETS)}; "
            f"choose from: {', '.join(sorted(CYCLEGAN_DATASETS))}"
        )
    url = CYCLEGAN_DATASETS[name]
    out_p = Path(out)
    target = out_p / name
    if target.exists():
        raise InputError(f"{target} already exists; delete it or choose another --output")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / f"{name}.zip"
        fetch(
            url,
            archive,
            what=name,
            timeout=timeout,
            hint=f"download the zip elsewhere and extract it so that {target}/trainA, trainB, testA, testB exist",
        )
        try:
            with zipfile.ZipFile(archive) as z:
                for member in z.namelist():  # refuse absolute paths and '..' (zip slip)
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise InputError(f"the archive of {name} has an unsafe path: {member}")
                z.extractall(tmp)
        except zipfile.BadZipFile as e:
            raise InputError(f"the download of {name} is not a valid zip archive ({e})") from None
        extracted = Path(tmp) / name
        if not (extracted / "trainA").is_dir():
            raise InputError(f"the archive of {name} does not contain {name}/trainA")
        out_p.mkdir(parents=True, exist_ok=True)
        shutil.move(str(extracted), target)
    return target
