"""Dataset preparation: combine A/B folders into A|B images, edge maps, gray→colour pairs, splits, downloads.

Every function checks all its inputs before writing anything and writes files atomically.
"""

from __future__ import annotations

__all__ = [
    "DOWNLOAD_URLS",
    "combine_ab",
    "download",
    "download_dataset",
    "edge_pairs",
    "gray_pairs",
    "split_dataset",
    "canny_edges",
]

import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..download import download as fetch
from ..errors import InputError, suggest
from ..io import list_images, load_image, resize_max_side, save_image

log = logging.getLogger("styleforge.data")

_PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
_CYC = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
#: Public URLs of the paper datasets (pix2pix; CycleGAN adds its own).
DOWNLOAD_URLS: dict[str, str] = {
    name: _PIX.format(name) for name in ("facades", "maps", "cityscapes", "edges2shoes", "edges2handbags", "night2day")
}


def _side_by_side(a: Image.Image, b: Image.Image) -> Image.Image:
    out = Image.new("RGB", (a.width + b.width, a.height))
    out.paste(a, (0, 0))
    out.paste(b, (a.width, 0))
    return out


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"output is a file, not a folder: {out}")
    out.mkdir(parents=True, exist_ok=True)


def combine_ab(
    dir_a: str | os.PathLike[str], dir_b: str | os.PathLike[str], out: str | os.PathLike[str], *, resize_b: bool = False
) -> int:
    """Write ``out/<name>.png`` = A|B for every name present in both folders; returns the count."""
    a_files = {p.stem: p for p in list_images(dir_a)}
    b_files = {p.stem: p for p in list_images(dir_b)}
    if not a_files:
        raise InputError(f"no images in {dir_a}")
    common = sorted(set(a_files) & set(b_files))
    only = sorted(set(a_files) ^ set(b_files))
    if only:
        raise InputError(
            f"{len(only)} image(s) have no partner in the other folder (e.g. {only[0]!r}); A and B need the same names"
        )
    pairs = []
    for k in common:
        a, b = load_image(a_files[k]), load_image(b_files[k])
        if a.size != b.size:
            if not resize_b:
                raise InputError(f"{k}: A is {a.width}×{a.height} but B is {b.width}×{b.height} (use --resize-b)")
            b = b.resize(a.size, Image.Resampling.BICUBIC)
        pairs.append((k, a, b))
    out_p = Path(out)
    _prepare_out(out_p)
    for k, a, b in pairs:
        save_image(_side_by_side(a, b), out_p / f"{k}.png")
    return len(pairs)


def canny_edges(
    img: Image.Image, *, low: int = 100, high: int = 200, blur: float = 1.0, invert: bool = True
) -> Image.Image:
    """Canny edge map (OpenCV) of ``img`` as RGB; black edges on white when ``invert`` (as edges2shoes)."""
    import cv2

    gray = np.asarray(img.convert("L"))
    if blur > 0:
        gray = cv2.GaussianBlur(gray, (0, 0), blur)
    edges = cv2.Canny(gray, low, high)
    if invert:
        edges = 255 - edges
    return Image.fromarray(edges).convert("RGB")


def _photos(src: str | os.PathLike[str], size: int | None) -> list[tuple[str, Image.Image]]:
    files = list_images(src)
    if not files:
        raise InputError(f"no images in {src}")
    out = []
    for f in files:
        img = load_image(f)
        out.append((f.stem, resize_max_side(img, size) if size else img))
    return out


def edge_pairs(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    method: str = "canny",
    low: int = 100,
    high: int = 200,
    size: int | None = 256,
) -> int:
    """``out/<name>.png`` = edges|photo (A = edges, B = photo, as edges2shoes)."""
    if method == "hed":
        raise InputError("HED edges need the HED network's weights, which styleforge cannot ship; use --method canny")
    if method != "canny":
        raise InputError(f"unknown edge method {method!r}{suggest(method, ['canny', 'hed'])}; choose canny")
    photos = _photos(src, size)
    out_p = Path(out)
    _prepare_out(out_p)
    for k, img in photos:
        save_image(_side_by_side(canny_edges(img, low=low, high=high), img), out_p / f"{k}.png")
    return len(photos)


def gray_pairs(src: str | os.PathLike[str], out: str | os.PathLike[str], *, size: int | None = 256) -> int:
    """``out/<name>.png`` = gray|colour (for ``--colorization`` training use the photos directly)."""
    photos = _photos(src, size)
    out_p = Path(out)
    _prepare_out(out_p)
    for k, img in photos:
        save_image(_side_by_side(img.convert("L").convert("RGB"), img), out_p / f"{k}.png")
    return len(photos)


def split_dataset(
    src: str | os.PathLike[str], out: str | os.PathLike[str], *, val: float = 0.1, test: float = 0.1, seed: int = 0
) -> dict[str, int]:
    """Copy the images of ``src`` into ``out/{train,val,test}/`` with a seeded shuffle."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise InputError("--val and --test are fractions whose sum is below 1")
    files = list_images(src)
    if not files:
        raise InputError(f"no images in {src}")
    perm = torch.randperm(len(files), generator=torch.Generator().manual_seed(seed)).tolist()
    n_test, n_val = round(len(files) * test), round(len(files) * val)
    parts = {"test": perm[:n_test], "val": perm[n_test : n_test + n_val], "train": perm[n_test + n_val :]}
    out_p = Path(out)
    if out_p.exists() and not out_p.is_dir():
        raise InputError(f"output is a file, not a folder: {out_p}")
    for name, idx in parts.items():
        if not idx:
            continue
        d = out_p / name
        d.mkdir(parents=True, exist_ok=True)
        for i in idx:
            shutil.copy2(files[i], d / files[i].name)
    return {k: len(v) for k, v in parts.items()}


def download(name: str, out: str | os.PathLike[str], *, timeout: float = 20.0) -> Path:
    """Fetch and extract a paper dataset into ``out/<name>/``; a clear :class:`InputError` when offline."""
    if name not in DOWNLOAD_URLS:
        raise InputError(
            f"unknown dataset {name!r}{suggest(name, DOWNLOAD_URLS)}; choose from: {', '.join(sorted(DOWNLOAD_URLS))}"
        )
    url = DOWNLOAD_URLS[name]
    out_p = Path(out)
    target = out_p / name
    if target.exists():
        raise InputError(f"{target} already exists; delete it or choose another --out")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "data.tar.gz"
        fetch(url, archive, what=name, timeout=timeout, hint=f"download it elsewhere and extract it into {target}")
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as e:
            raise InputError(f"the download of {name} is not a valid archive ({e})") from None
        extracted = Path(tmp) / name
        if not extracted.is_dir():
            raise InputError(f"the archive of {name} does not contain a {name}/ folder")
        out_p.mkdir(parents=True, exist_ok=True)
        shutil.move(str(extracted), target)
    return target


def download_dataset(name: str, out: str | os.PathLike[str], *, timeout: float = 20.0) -> Path:
    """A paper dataset by name into ``out/<name>/``: pix2pix's paired sets (:func:`download`) or
    CycleGAN's unpaired ones (:func:`styleforge.data.unaligned.download_unaligned`)."""
    from .unaligned import CYCLEGAN_DATASETS, download_unaligned

    if name in CYCLEGAN_DATASETS and name not in DOWNLOAD_URLS:
        return download_unaligned(name, out, timeout=timeout)
    return download(name, out, timeout=timeout)
