"""Paired preprocessing (the same random crop and flip for A and B) and Lab colour conversion.

Randomness comes only from the ``torch.Generator`` passed in, so a sample's
augmentation is a pure function of its seed (the engine derives that seed from
the run seed, the epoch and the index: resumed runs see the same crops).
"""

from __future__ import annotations

__all__ = [
    "PREPROCESS_MODES",
    "PairedTransform",
    "colorization_to_rgb",
    "to_model_tensor",
]

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..color import lab_to_rgb
from ..errors import InputError, suggest

PREPROCESS_MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")


@dataclass(frozen=True)
class CropFlip:
    """Parameters drawn once per pair."""

    x: int
    y: int
    flip: bool


@dataclass(frozen=True)
class PairedTransform:
    """The reference's preprocessing modes, applied identically to every image of a sample.

    - ``resize_and_crop``: resize to ``load_size``² then random ``crop_size``² crop;
    - ``crop``: random crop only; ``scale_width``: width → ``load_size`` (height ≥ ``crop_size``);
    - ``scale_width_and_crop``: both; ``none``: only round the sides to multiples of 4.

    Examples:
        >>> t = PairedTransform(preprocess="crop", crop_size=4, flip=False)
        >>> a = Image.new("RGB", (8, 6)); b = Image.new("RGB", (8, 6))
        >>> [im.size for im in t([a, b], torch.Generator().manual_seed(0))]
        [(4, 4), (4, 4)]
    """

    preprocess: str = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    flip: bool = True

    def __post_init__(self) -> None:
        if self.preprocess not in PREPROCESS_MODES:
            raise InputError(
                f"unknown preprocess {self.preprocess!r}{suggest(self.preprocess, PREPROCESS_MODES)}; "
                f"choose from: {', '.join(PREPROCESS_MODES)}"
            )
        if self.crop_size < 1 or self.load_size < 1:
            raise InputError("--load-size and --crop-size must be positive")
        if self.preprocess in ("resize_and_crop", "scale_width_and_crop") and self.crop_size > self.load_size:
            raise InputError(
                f"--crop-size {self.crop_size} is larger than --load-size {self.load_size}: "
                f"the crop would not fit in the resized image"
            )

    def resized_size(self, w: int, h: int) -> tuple[int, int]:
        """Size after the resize step, before cropping."""
        p = self.preprocess
        if p == "resize_and_crop":
            return self.load_size, self.load_size
        if p in ("scale_width", "scale_width_and_crop"):
            if w == self.load_size and h >= self.crop_size:
                return w, h
            return self.load_size, int(max(self.load_size * h / w, self.crop_size))
        if p == "none":
            return max(4, round(w / 4) * 4), max(4, round(h / 4) * 4)
        return w, h

    @property
    def crops(self) -> bool:
        return self.preprocess in ("resize_and_crop", "crop", "scale_width_and_crop")

    def check(self, w: int, h: int, what: str) -> None:
        """Refuse, with one line, an image the crop cannot fit in (instead of 'empty range for randrange')."""
        rw, rh = self.resized_size(w, h)
        if self.crops and (rw < self.crop_size or rh < self.crop_size):
            raise InputError(
                f"--crop-size {self.crop_size} is larger than {what} ({w}×{h}"
                + (f", {rw}×{rh} after resizing" if (rw, rh) != (w, h) else "")
                + "); lower --crop-size or use --preprocess resize_and_crop"
            )

    def params(self, w: int, h: int, generator: torch.Generator) -> CropFlip:
        rw, rh = self.resized_size(w, h)
        x = y = 0
        if self.crops:
            x = int(torch.randint(0, max(0, rw - self.crop_size) + 1, (1,), generator=generator))
            y = int(torch.randint(0, max(0, rh - self.crop_size) + 1, (1,), generator=generator))
        flip = bool(torch.rand((), generator=generator) < 0.5) if self.flip else False
        return CropFlip(x, y, flip)

    def apply(self, img: Image.Image, p: CropFlip, *, resample: int = Image.Resampling.BICUBIC) -> Image.Image:
        size = self.resized_size(*img.size)
        if size != img.size:
            img = img.resize(size, resample)
        if self.crops:
            img = img.crop((p.x, p.y, p.x + self.crop_size, p.y + self.crop_size))
        if p.flip:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return img

    def __call__(self, images: Sequence[Image.Image], generator: torch.Generator) -> list[Image.Image]:
        """Apply one random draw to all ``images`` (which must share a size)."""
        sizes = {im.size for im in images}
        if len(sizes) != 1:
            raise InputError(f"paired images differ in size: {sorted(sizes)}")
        w, h = images[0].size
        p = self.params(w, h, generator)
        return [self.apply(im, p) for im in images]


def to_model_tensor(img: Image.Image, channels: int = 3) -> torch.Tensor:
    """PIL image → ``(C, H, W)`` float tensor in [-1, 1]; ``channels`` 1 makes it grayscale."""
    if channels == 1:
        arr = np.asarray(img.convert("L"), dtype=np.float32)[None]
    elif channels == 3:
        arr = np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1)
    else:
        raise InputError(f"images can have 1 or 3 channels, not {channels}")
    return torch.from_numpy(arr.copy()).div_(127.5).sub_(1.0)


# --- colorization: Lab in network space (L/50 − 1, ab/110); the conversion is styleforge.color's --------
def colorization_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Network-space L (``(N,1,H,W)`` = L/50 − 1) and ab (``(N,2,H,W)`` = ab/110) → sRGB in [0, 1] (float32).

    Example:
        >>> rgb = colorization_to_rgb(torch.ones(1, 1, 1, 1), torch.zeros(1, 2, 1, 1))
        >>> [round(float(v), 3) for v in rgb.flatten()]
        [1.0, 1.0, 1.0]
    """
    lab = torch.cat([(L.double() + 1) * 50, ab.double() * 110], 1)
    return lab_to_rgb(lab).clamp(0, 1).float()
