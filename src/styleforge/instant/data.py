"""Training data for instant styles: random crops of photos (and of style images for AdaIN).

Both datasets take the engine's ``(index, seed)`` keys (see
:class:`styleforge.engine.SeededSampler`), so every crop is drawn from
``torch.Generator().manual_seed(seed)`` and a resumed run sees the same crops.
"""

from __future__ import annotations

__all__ = ["CropDataset", "ContentStyleDataset", "collect_images", "random_crop"]

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from ..errors import InputError
from ..io import list_images, load_image, pil_to_tensor


def collect_images(folders: Sequence[str | Path], what: str = "content") -> list[Path]:
    """Every image in ``folders`` (recursive), sorted; a clear error when there is none."""
    files: list[Path] = []
    for folder in folders:
        p = Path(folder)
        if not p.is_dir():
            raise InputError(f"{what} folder not found: {p}")
        files += list_images(p, recursive=True)
    if not files:
        raise InputError(f"no images in the {what} folder(s): {', '.join(map(str, folders))}")
    return sorted(set(files))


def random_crop(img: Image.Image, size: int, generator: torch.Generator, *, max_zoom: float = 1.5) -> torch.Tensor:
    """Scale so the short side is ``size·U(1, max_zoom)``, crop ``size``², flip half the time → ``(3, s, s)``."""
    u = torch.rand(4, generator=generator).tolist()
    short = size * (1.0 + (max_zoom - 1.0) * u[0])
    w, h = img.size
    k = short / min(w, h)
    nw, nh = max(size, round(w * k)), max(size, round(h * k))
    img = img.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=2.0)
    x0 = int(u[1] * (nw - size + 1)) if nw > size else 0
    y0 = int(u[2] * (nh - size + 1)) if nh > size else 0
    img = img.crop((x0, y0, x0 + size, y0 + size))
    if u[3] < 0.5:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return pil_to_tensor(img)[0]


def _key(key: int | tuple[int, int], seed: int) -> tuple[int, torch.Generator]:
    if isinstance(key, tuple):
        index, s = key
    else:
        index, s = int(key), seed * 1_000_003 + int(key)
    return index, torch.Generator().manual_seed(int(s))


class CropDataset(torch.utils.data.Dataset):
    """Random square crops of the photos in some folders: ``{"content": (3, s, s)}``."""

    def __init__(self, files: Sequence[Path], crop: int = 256, *, seed: int = 0) -> None:
        if crop < 16:
            raise InputError(f"--crop must be at least 16 pixels, got {crop}")
        self.files, self.crop, self.seed = list(files), crop, seed

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, gen = _key(key, self.seed)
        img = load_image(self.files[index], what="training image")
        return {"content": random_crop(img, self.crop, gen)}


class ContentStyleDataset(CropDataset):
    """A content crop and a crop of a randomly drawn style image: ``{"content", "style"}``."""

    def __init__(self, files: Sequence[Path], style_files: Sequence[Path], crop: int = 256, *, seed: int = 0) -> None:
        super().__init__(files, crop, seed=seed)
        if not style_files:
            raise InputError("no style images for AdaIN training")
        self.style_files = list(style_files)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, gen = _key(key, self.seed)
        img = load_image(self.files[index], what="training image")
        content = random_crop(img, self.crop, gen)
        j = int(torch.randint(len(self.style_files), (1,), generator=gen))
        style = random_crop(load_image(self.style_files[j], what="style image"), self.crop, gen)
        return {"content": content, "style": style}
