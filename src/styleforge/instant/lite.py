"""The torch-free fast path: one per-style network through onnxruntime, numpy and PIL only.

Importing torch alone takes longer (≈1.3 s) than stylising a 512 px photo (≈0.1 s),
so ``styleforge instant`` / ``stylize --instant`` take this path whenever it gives
the same picture as the full one: onnxruntime installed, one per-style model with
an ONNX file (shipped beside the built-in weights, or exported earlier into the
cache), and no AdaIN, mask, original colours or tiling.  Anything else goes
through :func:`styleforge.instant.stylize_instant`.  The palette pass
(:mod:`styleforge.instant.palette`) is numpy too, so it runs here as well.

The ONNX file of a weights file is ``<weights>.onnx`` when it sits beside it (the
built-in models), else ``$STYLEFORGE_CACHE/onnx/<kind>-<sha256[:16]>.onnx``.
"""

from __future__ import annotations

__all__ = [
    "PALETTE_GRAPH",
    "LiteRunner",
    "onnx_file_for",
    "onnxruntime_available",
    "palette_conv_runner",
    "weights_hash",
]

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..cache import cache_dir
from ..io import array_to_pil, pil_to_array, resize_max_side

if TYPE_CHECKING:
    from .palette import Palette

#: Above this many pixels the full path tiles the image (``infer.AUTO_TILE_PIXELS``).
LITE_MAX_PIXELS = 2048 * 1536
#: The palette pass's convolutions as ONNX (:func:`styleforge.instant.onnx.build_palette_graph`).
PALETTE_GRAPH = Path(__file__).resolve().parents[1] / "assets" / "instant" / "palette.onnx"
#: Above this many pixels the palette pass stays in numpy row strips (its 64-channel features, whole,
#: would take 256 MB in onnxruntime).
PALETTE_ORT_MAX_PIXELS = 1 << 20


def onnxruntime_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def weights_hash(path: Path) -> str:
    """First 16 hex digits of the file's SHA-256 (the ONNX cache key)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def onnx_file_for(weights: Path, kind: str = "instant") -> Path:
    """Where the ONNX export of ``weights`` lives (it may not exist yet)."""
    beside = weights.with_suffix(".onnx")
    if beside.is_file():
        return beside
    return cache_dir() / "onnx" / f"{kind}-{weights_hash(weights)}.onnx"


_SESSIONS: dict[tuple[str, int], Any] = {}


def ort_session(path: Path, threads: int | None = None) -> Any:
    """A cached onnxruntime CPU session for an ONNX file."""
    import onnxruntime as ort

    n = threads or os.cpu_count() or 1
    key = (str(path), n)
    if key not in _SESSIONS:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = n
        opts.log_severity_level = 3
        # no busy-waiting after a run: the numpy palette pass right after it needs the same cores
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        _SESSIONS[key] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]


def palette_conv_runner(threads: int | None = None) -> Any:
    """The palette pass's convolutions through onnxruntime (a ``palette.ConvRunner``), else ``None``.

    ``None`` without onnxruntime or the shipped graph; the runner itself returns ``None`` above
    :data:`PALETTE_ORT_MAX_PIXELS`, and the pass then does them in numpy.
    """
    if not onnxruntime_available() or not PALETTE_GRAPH.is_file():
        return None
    session = ort_session(PALETTE_GRAPH, threads)

    def run(x: Any, enc_w: Any, enc_b: Any, dec_w: Any, dec_b: Any) -> Any:
        return session.run(None, {"x": x, "enc_w": enc_w, "enc_b": enc_b, "dec_w": dec_w, "dec_b": dec_b})[0]

    return run


class LiteRunner:
    """Stylise PIL images with one per-style ONNX network; same pixels as the full path."""

    def __init__(self, onnx_path: Path, *, threads: int | None = None, palette: Palette | None = None) -> None:
        self.session = ort_session(onnx_path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.palette = palette  # the palette pass after the network (None: none)
        self.palette_convs = palette_conv_runner(threads) if palette is not None else None

    @staticmethod
    def handles(image: Image.Image, size: int | None) -> bool:
        """Whether this photo at this ``--size`` stays within the untiled, unscaled-error range."""
        w, h = image.size
        if size is not None:
            k = size / max(w, h)
            w, h = max(1, round(w * k)), max(1, round(h * k))
        return min(w, h) >= 16 and w * h <= LITE_MAX_PIXELS

    def __call__(
        self, image: Image.Image, *, strength: float = 1.0, size: int | None = None, style_scale: float = 1.0
    ) -> Image.Image:
        if size is not None:
            image = resize_max_side(image, size)
        x = pil_to_array(image)
        if style_scale != 1.0:  # as stylize_instant: the network on the photo divided by the scale, enlarged back
            from .options import scaled_size

            h, w = scaled_size(image.height, image.width, style_scale)
            small = image.resize((w, h), Image.Resampling.BILINEAR)
            y = self.session.run(None, {self.input_name: pil_to_array(small)})[0].clip(0, 1)
            y = pil_to_array(array_to_pil(y).resize(image.size, Image.Resampling.BICUBIC))
        else:
            y = self.session.run(None, {self.input_name: x})[0].clip(0, 1)
        if self.palette is not None:
            from .palette import apply_palette

            big = y.shape[-1] * y.shape[-2] > PALETTE_ORT_MAX_PIXELS
            y = apply_palette(
                y[0].transpose(1, 2, 0), self.palette, runner=None if big else self.palette_convs
            ).transpose(2, 0, 1)[None]
        if strength < 1:
            y = strength * y + (1 - strength) * x
        return array_to_pil(y)
