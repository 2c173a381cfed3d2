"""Test-time controls of every instant model (torch-free, so the CLI validates before loading torch)."""

from __future__ import annotations

__all__ = ["MAX_SIZE", "InstantOptions"]

from dataclasses import dataclass

from ..errors import InputError

MAX_SIZE = 8192


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
        if self.backend not in ("auto", "torch", "onnx"):
            raise InputError(f"unknown --backend {self.backend!r}; choose auto, torch or onnx")
