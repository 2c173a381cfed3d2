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
    cached = _palette_cache_file(weights, painting, None if conv1_1 is not None else vgg, wct)
    if cached is not None and cached.is_file():
        try:
            with np.load(cached) as z:
                return Palette(**{k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: made again below
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
    pal = palette_from_painting(art, enc, dec)
    if cached is not None:
        _save_palette(pal, cached)
    return pal


def _palette_cache_file(weights: Path, painting: Path, vgg: Path | None, wct: Path) -> Path | None:
    """Where the pass of these inputs is cached (keyed by their contents), or ``None``."""
    import hashlib

    from ..cache import cache_dir

    h = hashlib.sha256()
    try:
        for f in (weights, painting, wct):
            h.update(f.read_bytes())
        h.update(b"vgg" if vgg is None else str(vgg.stat().st_size).encode() + str(vgg.stat().st_mtime_ns).encode())
    except OSError:
        return None
    if vgg is None:
        return None  # conv1_1 given by the caller: not keyed, not cached
    return cache_dir() / "palette" / f"{h.hexdigest()[:24]}.npz"


def _save_palette(pal: Palette, path: Path) -> None:
    """Write the pass atomically (a failed write only loses the cache)."""
    import dataclasses
    import os
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{k: v for k, v in dataclasses.asdict(pal).items() if v is not None})
        os.replace(tmp, path)
    except OSError:
        pass
