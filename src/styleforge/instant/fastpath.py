"""What a per-style network's fast path needs, resolved: its painting, its palette pass, its torch-free runner.

Above :mod:`.lite`, :mod:`.models` and :mod:`.palette` (which import none of it): used by
:mod:`.infer`, the CLI and the video stylizer.
"""

from __future__ import annotations

__all__ = ["lite_runner_for", "load_palette", "painting_for"]

from pathlib import Path

import numpy as np

from .lite import LiteRunner, onnx_file_for, onnxruntime_available
from .models import builtin_models, weights_for
from .palette import Palette, palette_from_painting


def lite_runner_for(style: str, *, threads: int | None = None, palette: bool = True) -> LiteRunner | None:
    """The torch-free runner of one built-in or trained per-style network ``style``, else ``None``.

    ``None`` also when the ONNX file is not exported yet, or when the palette pass is asked
    for and its inputs (the converted VGG16 weights) are not cached yet: the full path makes both.
    """
    if not onnxruntime_available():
        return None
    path = weights_for(style)
    entry = builtin_models().get(style.replace("-", "_"))
    if path is None or (entry is not None and entry.kind != "instant"):
        return None
    onnx_path = onnx_file_for(path, "instant")
    if not onnx_path.is_file():
        return None
    pal = None
    if palette:
        pal = load_palette(path)
        if pal is None and painting_for(path) is not None:
            return None
    return LiteRunner(onnx_path, threads=threads, palette=pal)


def painting_for(weights: Path) -> Path | None:
    """The painting a per-style network stands for (built-in ones, or trained ones named after a built-in painting)."""
    import json

    from safetensors import SafetensorError, safe_open

    from ..assets import builtin_styles

    paintings = builtin_styles()
    for entry in builtin_models().values():
        if entry.kind == "instant" and entry.file.resolve() == weights.resolve():
            return paintings.get(str(entry.info.get("style", entry.name)).replace("-", "_"))
    try:
        with safe_open(str(weights), framework="numpy") as f:
            meta = f.metadata() or {}
        cfg = json.loads(meta.get("model_config", "{}"))
    except (OSError, ValueError, SafetensorError):
        return None
    name = str(cfg.get("style", "") if isinstance(cfg, dict) else "").replace("-", "_")
    return paintings.get(name)


def load_palette(weights: Path, conv1_1: tuple[np.ndarray, np.ndarray] | None = None) -> Palette | None:
    """The pass of the per-style network in ``weights`` (torch-free), or ``None`` when it cannot be built.

    Needs the painting (:func:`painting_for`), VGG16's ``conv1_1`` (given, or read from the
    converted weights in the cache, written by any torch run) and the built-in WCT bundle's
    ``relu1_1`` decoder.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    from ..cache import cache_dir
    from ..io import load_image, resize_max_side

    painting = painting_for(weights)
    vgg = cache_dir() / "vgg16-offline-conv.safetensors"
    wct = next((e.file for e in builtin_models().values() if e.kind == "wct"), None)
    if painting is None or wct is None or (conv1_1 is None and not vgg.is_file()):
        return None
    try:
        if conv1_1 is None:
            v = load_file(str(vgg))
            conv1_1 = (v["conv1_1.weight"], v["conv1_1.bias"])
        d = load_file(str(wct))
        enc = conv1_1
        dec = (d["relu1_1.body.0.1.weight"], d["relu1_1.body.0.1.bias"])
    except (OSError, KeyError, ValueError, SafetensorError):  # unreadable: the full path checks and rewrites the cache
        return None
    art = np.asarray(resize_max_side(load_image(painting), 512).convert("RGB"), dtype=np.float32) / 255.0
    return palette_from_painting(art, enc, dec)
