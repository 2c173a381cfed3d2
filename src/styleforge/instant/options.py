"""Test-time controls of every instant model (torch-free, so the CLI validates before loading torch)."""

from __future__ import annotations

__all__ = [
    "AUTO_TILE",
    "AUTO_TILE_PIXELS",
    "MAX_SIZE",
    "MAX_STYLE_SCALE",
    "MIN_STYLE_SCALE",
    "InstantOptions",
    "scaled_size",
]

from dataclasses import dataclass

from ..errors import InputError

MAX_SIZE = 8192
MIN_STYLE_SCALE, MAX_STYLE_SCALE = 0.25, 4.0
#: Above this many pixels an image is processed in tiles of ``AUTO_TILE`` pixels unless ``tile`` says otherwise.
AUTO_TILE_PIXELS = 2048 * 1536
AUTO_TILE = 1024


@dataclass(frozen=True)
class InstantOptions:
    strength: float = 1.0
    alpha: float | None = None  # AdaIN; None: use strength
    style_weights: tuple[float, ...] | None = None
    size: int | None = None  # long side of the output; None: the photo's
    tile: int | None = None  # None: automatic; 0: never
    overlap: int = 64
    original_colors: bool = False
    color_space: str = "yuv"
    backend: str = "auto"
    palette: bool = True  # one per-style network: its painting's colours after it (instant/palette.py)
    #: stroke size, neural-style's ``-style_scale``: > 1 paints larger strokes.  WCT/AdaIN take the
    #: painting's statistics at this many times its working size; a per-style network runs on the
    #: photo shrunk by it (and the result is enlarged back).
    style_scale: float = 1.0

    def validate(self, n_styles: int) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise InputError(f"--strength must be between 0 and 1, got {self.strength}")
        if self.alpha is not None and not 0.0 <= self.alpha <= 1.0:
            raise InputError(f"--alpha must be between 0 and 1, got {self.alpha}")
        if self.style_weights is not None:
            if len(self.style_weights) != n_styles:
                raise InputError(f"--style-weights has {len(self.style_weights)} values for {n_styles} style(s)")
            if any(w < 0 for w in self.style_weights) or sum(self.style_weights) <= 0:
                raise InputError("--style-weights must be non-negative and not all zero")
        if self.size is not None and not 16 <= self.size <= MAX_SIZE:
            raise InputError(f"--size must be between 16 and {MAX_SIZE} pixels, got {self.size}")
        if self.tile is not None and self.tile != 0 and self.tile < 64:
            raise InputError(f"--tile must be 0 (off) or at least 64 pixels, got {self.tile}")
        if self.overlap < 0 or (self.tile and self.overlap * 2 >= self.tile):
            raise InputError(f"--overlap must be ≥ 0 and less than half of --tile, got {self.overlap}")
        if not MIN_STYLE_SCALE <= self.style_scale <= MAX_STYLE_SCALE:
            raise InputError(
                f"--style-scale must be between {MIN_STYLE_SCALE} and {MAX_STYLE_SCALE}, got {self.style_scale}"
            )
        if self.backend not in ("auto", "torch", "onnx"):
            raise InputError(f"unknown --backend {self.backend!r}; choose auto, torch or onnx")


def scaled_size(h: int, w: int, style_scale: float, floor: int = 16) -> tuple[int, int]:
    """A per-style network's working size for ``style_scale``: ``(h, w)`` divided by it (≥ ``floor`` px)."""
    k = 1.0 / style_scale
    return max(floor, round(h * k)), max(floor, round(w * k))
