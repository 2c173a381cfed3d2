"""Deep Photo Style Transfer's colour-coded segmentation masks.

A DPST mask is an RGB image whose colours name semantic classes; the same
colour in the content mask and the style mask pairs the regions.  The
palette (DPST's ``color_codes``) is blue, green, black, white, red, yellow,
grey, light blue and purple.

:func:`parse_mask` maps every pixel to the nearest palette colour when it is
within ``tolerance`` (max per-channel difference, 0–1 scale); the thin
anti-aliased borders between regions (and specks smaller than
``min_fraction`` of the image) take the label of the nearest labelled pixel,
so the masks partition the image.  Colours far from every palette entry that
cover more than ``max_unknown`` of the image are an error.
:func:`pair_masks` checks the two masks against each other.
"""

from __future__ import annotations

__all__ = [
    "PALETTE",
    "SegmentPair",
    "check_mask_size",
    "fit_labels",
    "label_maps",
    "load_mask_image",
    "mask_tensors",
    "pair_masks",
    "parse_mask",
    "work_size_of",
]

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from ..errors import InputError

log = logging.getLogger(__name__)

#: DPST's colour codes, in its order, as RGB in [0, 1].
PALETTE: dict[str, tuple[float, float, float]] = {
    "blue": (0.0, 0.0, 1.0),
    "green": (0.0, 1.0, 0.0),
    "black": (0.0, 0.0, 0.0),
    "white": (1.0, 1.0, 1.0),
    "red": (1.0, 0.0, 0.0),
    "yellow": (1.0, 1.0, 0.0),
    "grey": (0.5, 0.5, 0.5),
    "lightblue": (0.0, 1.0, 1.0),
    "purple": (1.0, 0.0, 1.0),
}
NAMES = tuple(PALETTE)


def parse_mask(
    mask: Image.Image | np.ndarray,
    *,
    tolerance: float = 0.25,
    min_fraction: float = 0.001,
    max_unknown: float = 0.05,
    what: str = "mask",
) -> np.ndarray:
    """Label image ``(H, W)`` of palette indices (into :data:`NAMES`) for a colour mask.

    Args:
        mask: RGB PIL image or ``(H, W, 3)`` uint8 / float array (a grayscale
            image is read as grey levels: black, grey and white).
        tolerance: a pixel belongs to a colour when every channel is within it.
        min_fraction: regions of a colour smaller than this fraction of the image
            (after removing 1-pixel borders) are treated as edge noise.
        max_unknown: the largest fraction of pixels allowed to match no colour.
    """
    if isinstance(mask, Image.Image):
        arr = np.asarray(mask.convert("RGB"), dtype=np.float64) / 255.0
    else:
        arr = np.asarray(mask, dtype=np.float64)
        if arr.dtype.kind in "ui" or arr.max() > 1.0:
            arr = arr / 255.0
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
    h, w = arr.shape[:2]
    pal = np.array(list(PALETTE.values()))
    dist = np.abs(arr[:, :, None, :] - pal[None, None]).max(axis=-1)  # (H, W, 9)
    nearest = dist.argmin(axis=-1)
    ok = dist.min(axis=-1) <= tolerance
    unknown = 1.0 - ok.mean()
    if unknown > max_unknown:
        far = arr[~ok]
        colours, counts = np.unique((far * 255).round().astype(int), axis=0, return_counts=True)
        top = colours[counts.argmax()]
        raise InputError(
            f"{what}: {unknown:.0%} of its pixels match none of DPST's mask colours "
            f"({', '.join(NAMES)}); the most common is RGB({top[0]}, {top[1]}, {top[2]})"
        )
    labels = np.where(ok, nearest, -1)
    # Drop edge noise: anti-aliased borders between two regions often hit a third
    # colour (black|white → grey).  A colour is kept where it survives an opening.
    min_px = max(1, int(min_fraction * h * w))
    for k in range(len(NAMES)):
        region = labels == k
        if not region.any():
            continue
        core = ndimage.binary_opening(region, structure=np.ones((3, 3), bool))
        if core.sum() < min_px:
            labels[region] = -1
    if (labels < 0).all():
        raise InputError(f"{what} has no region of DPST's mask colours ({', '.join(NAMES)})")
    if (labels < 0).any():
        _, (iy, ix) = ndimage.distance_transform_edt(labels < 0, return_indices=True)
        labels = labels[iy, ix]
    return labels


@dataclass
class SegmentPair:
    """One colour present in both masks."""

    name: str
    content: np.ndarray  # (H, W) float32 in {0, 1}
    style: np.ndarray  # (Hs, Ws) float32 in {0, 1}
    content_fraction: float


def pair_masks(content_labels: np.ndarray, style_labels: np.ndarray, *, strict: bool = False) -> list[SegmentPair]:
    """The segments to match: colours of the content mask, each with its style region.

    A colour in the content mask but not in the style mask is an error (there
    would be nothing to copy its look from).  A colour only in the style mask is
    ignored with a log message, or an error when ``strict``.
    """
    c_present = {NAMES[k] for k in np.unique(content_labels)}
    s_present = {NAMES[k] for k in np.unique(style_labels)}
    missing = [n for n in NAMES if n in c_present and n not in s_present]
    if missing:
        raise InputError(
            f"colour(s) {', '.join(missing)} are in the content mask but not in the style mask: "
            f"each content region needs a style region of the same colour (style mask has "
            f"{', '.join(n for n in NAMES if n in s_present)})"
        )
    extra = [n for n in NAMES if n in s_present and n not in c_present]
    if extra:
        if strict:
            raise InputError(f"colour(s) {', '.join(extra)} are in the style mask but not in the content mask")
        log.info("style mask colour(s) %s have no content region; ignored", ", ".join(extra))
    pairs = []
    for k, name in enumerate(NAMES):
        if name not in c_present:
            continue
        cm = (content_labels == k).astype(np.float32)
        pairs.append(SegmentPair(name, cm, (style_labels == k).astype(np.float32), float(cm.mean())))
    return pairs


def mask_tensors(pairs: list[SegmentPair]) -> tuple[list[torch.Tensor], list[torch.Tensor], list[float]]:
    """``(content masks, style masks, content area fractions)`` as ``(1, 1, H, W)`` tensors."""
    cms = [torch.from_numpy(p.content)[None, None] for p in pairs]
    sms = [torch.from_numpy(p.style)[None, None] for p in pairs]
    return cms, sms, [p.content_fraction for p in pairs]


def check_mask_size(mask: Image.Image, image_size: tuple[int, int], *, what: str) -> Image.Image:
    """Return ``mask`` at ``image_size`` (w, h): resized with nearest neighbour when the
    aspect ratio matches (within 2 % or one pixel of rounding; e.g. a mask made for
    the full-size photo), otherwise :class:`InputError`."""
    if mask.size == tuple(image_size):
        return mask
    w, h = mask.size
    tw, th = image_size
    if abs(h * tw / w - th) > max(1.0, 0.02 * th):  # same aspect ratio, up to rounding
        raise InputError(
            f"{what} is {w}×{h} but its image is {tw}×{th}: a segmentation mask must have its image's "
            f"aspect ratio (it is resized with nearest neighbour)"
        )
    return mask.convert("RGB").resize((tw, th), Image.Resampling.NEAREST)


def load_mask_image(mask: Any, size: tuple[int, int], what: str) -> Image.Image | None:
    """A colour mask (path or PIL image; ``None`` passes through) at ``size`` = ``(w, h)``, resized
    with nearest neighbour; :class:`InputError` when its aspect ratio is not its image's."""
    if mask is None:
        return None
    from ..io import load_image

    img = mask.convert("RGB") if isinstance(mask, Image.Image) else load_image(mask, what=what)
    return check_mask_size(img, size, what=what)


def work_size_of(size: tuple[int, int], work_size: int | None) -> tuple[int, int]:
    """``(w, h)`` of an image of ``size`` with its long side brought down to ``work_size`` (if given).

    Example:
        >>> work_size_of((1024, 768), 256), work_size_of((200, 100), 256), work_size_of((200, 100), None)
        ((256, 192), (200, 100), (200, 100))
    """
    w, h = size
    if work_size is None or max(w, h) <= work_size:
        return w, h
    k = work_size / max(w, h)
    return max(1, round(w * k)), max(1, round(h * k))


def fit_labels(labels: np.ndarray, size: tuple[int, int] | torch.Size) -> np.ndarray:
    """A label map brought to ``size`` = ``(h, w)`` with nearest neighbour (unchanged at that size)."""
    h, w = int(size[0]), int(size[1])
    lab = np.asarray(labels)
    if lab.shape == (h, w):
        return lab
    img = Image.fromarray(lab.astype(np.uint8))
    return np.asarray(img.resize((w, h), Image.Resampling.NEAREST)).astype(np.int64)


def label_maps(
    content_size: tuple[int, int],
    style_size: tuple[int, int],
    content_mask: Any,
    style_mask: Any,
    *,
    work_size: int | None = None,
    tolerance: float = 0.25,
    what: tuple[str, str] = ("content mask", "style mask"),
) -> tuple[np.ndarray, np.ndarray] | None:
    """The paired label maps of two DPST colour masks (paths or PIL images), or ``None`` without masks.

    Each mask must have its photo's aspect ratio (``content_size``/``style_size`` = ``(w, h)``);
    it is parsed at the photo's size brought down to ``work_size`` (the photo's own size when
    ``None``) and every content colour must have a style region.  One mask without the other,
    a wrong aspect ratio or an unknown colour raise :class:`InputError`.
    """
    if (content_mask is None) != (style_mask is None):
        raise InputError(f"give both the {what[0]} and the {what[1]}, or neither")
    if content_mask is None:
        return None
    maps = []
    for mask, size, name in ((content_mask, content_size, what[0]), (style_mask, style_size, what[1])):
        img = load_mask_image(mask, tuple(size), name)  # type: ignore[arg-type]  # the aspect check at the photo's size
        assert img is not None
        img = check_mask_size(img, work_size_of(tuple(size), work_size), what=name)  # type: ignore[arg-type]
        maps.append(parse_mask(img, tolerance=tolerance, what=name))
    pair_masks(maps[0], maps[1])  # every content colour needs a style region
    return maps[0], maps[1]
