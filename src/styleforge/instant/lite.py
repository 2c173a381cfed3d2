"""The torch-free fast path: one per-style network through onnxruntime, numpy and PIL only.

Importing torch alone takes longer (≈1.3 s) than stylising a 512 px photo (≈0.1 s),
so ``styleforge instant`` / ``stylize --instant`` take this path whenever it gives
the same picture as the full one: onnxruntime installed, one per-style model with
an ONNX file (shipped beside the built-in weights, or exported earlier into the
cache), and no AdaIN, mask, original colours or tiling.  Anything else goes
through :func:`styleforge.instant.stylize_instant`.  The palette pass
(:mod:`styleforge.instant.palette`) runs here as well: its closed forms in numpy from
sampled pixels, its per-pixel work as one onnxruntime graph (:class:`PassRunner`,
:mod:`styleforge.instant.graphs`, shipped; without onnxruntime, the numpy pass).

The ONNX file of a weights file is ``<weights>.onnx`` when it sits beside it (the
built-in models), else ``$STYLEFORGE_CACHE/onnx/<kind>-<sha256[:16]>.onnx``.
"""

from __future__ import annotations

__all__ = [
    "PALETTE_GRAPH",
    "PASS_GRAPH",
    "LiteRunner",
    "PassRunner",
    "onnx_file_for",
    "onnxruntime_available",
    "palette_conv_runner",
    "pass_feed",
    "pass_session",
    "run_pass",
    "session_with",
    "weights_hash",
]

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..cache import cache_dir
from ..io import array_to_pil, pil_to_array, resize_max_side
from .options import AUTO_TILE_PIXELS

if TYPE_CHECKING:
    from .palette import Palette

#: The palette pass's convolutions as ONNX (:func:`styleforge.instant.onnx.build_palette_graph`).
PALETTE_GRAPH = Path(__file__).resolve().parents[1] / "assets" / "instant" / "palette.onnx"
#: The palette pass's full-size work as ONNX, ``conv1_1`` zeros (:func:`styleforge.instant.graphs.build_pass_graph`).
PASS_GRAPH = PALETTE_GRAPH.with_name("palette_pass.onnx")
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


_SESSIONS: dict[tuple[str, int, bool, bool], Any] = {}


def ort_session(path: Path, threads: int | None = None, *, layout: bool = True, shared_arena: bool = False) -> Any:
    """A cached onnxruntime CPU session for an ONNX file (``layout=False``: no NCHWc layout transform;
    ``shared_arena``: its memory from the process's one shared arena, :func:`_shared_arena`)."""
    import onnxruntime as ort

    n = threads or os.cpu_count() or 1
    key = (str(path), n, layout, shared_arena)
    if key not in _SESSIONS:
        opts = _options(n, layout=layout, shared_arena=shared_arena)
        _SESSIONS[key] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]


@functools.lru_cache(maxsize=1)
def _shared_arena() -> bool:
    """One CPU memory arena for the sessions that ask for it (``ort_session(..., shared_arena=True)``),
    registered with onnxruntime's environment on first use (``False`` where this onnxruntime cannot).

    Each session otherwise grows its own arena: the WCT path's eight graphs, run one after another,
    held 830 MB at 512 px, and every graph's first run touched fresh pages.  Sharing one, they hold
    370 MB and the WCT command is 12 % faster (same pixels).  The other sessions keep their own: the
    video pipeline runs its network and pass from several threads, and with them sharing, the
    moving-camera clip was 2 % slower (4 of 5 pairs in turn)."""
    import onnxruntime as ort

    try:
        info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
        ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, -1, -1, -1))  # once per process (cached)
    except Exception:  # an onnxruntime without environment allocators: each session keeps its own
        return False
    return True


def _options(threads: int | None, *, layout: bool, shared_arena: bool = False) -> Any:
    """The session options of every onnxruntime session here (``layout=False``: no NCHWc layout)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if shared_arena and _shared_arena():
        opts.add_session_config_entry("session.use_env_allocators", "1")
    level = ort.GraphOptimizationLevel
    opts.graph_optimization_level = level.ORT_ENABLE_ALL if layout else level.ORT_ENABLE_EXTENDED
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    opts.log_severity_level = 3
    # no busy-waiting after a run: the numpy palette pass right after it needs the same cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


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


#: Rows of the pass graph per run: about this many pixels (its 64-channel features stay near the cache,
#: and a large image never holds them whole).  2¹⁶ rather than 2¹⁸: in a fresh process (a command) the
#: first two calls at 512 px took 10 and 30 ms less (the 64-channel buffers are a quarter the size).
PASS_STRIP_PIXELS = 1 << 16
#: Rows each strip reads beyond its own (the pass's two 3×3 convolutions: one row each).
_PASS_HALO = 2


def session_with(model: Path, threads: int | None, weights: dict[str, Any]) -> tuple[Any, list[Any]]:
    """An onnxruntime CPU session of ``model`` with ``weights`` (name → float32 array) in place of its
    initialisers of those names, and the values it reads them from (in place: keep them with it).

    Graph optimisations stop at the "extended" level: at "all", onnxruntime 1.32 lays out the
    convolution weights (NCHWc) from the model's own initialisers before the replacements take
    effect, and the session computes with those (tests check the pixels).  The replaced weights are
    still constants, packed once like the model's own.
    """
    import numpy as np
    import onnxruntime as ort

    opts = _options(threads, layout=False)
    values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(w, dtype=np.float32)) for w in weights.values()]
    for name, v in zip(weights, values, strict=True):
        opts.add_initializer(name, v)
    return ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"]), values


_PASS_SESSIONS: dict[tuple[str, int | None], tuple[Any, list[Any]]] = {}


def pass_session(enc_w: Any, enc_b: Any, threads: int | None = None) -> Any:
    """The shipped pass graph (:data:`PASS_GRAPH`) with this ``conv1_1`` (cached per weights and threads)."""
    key = (hashlib.sha256(enc_w.tobytes() + enc_b.tobytes()).hexdigest(), threads)
    if key not in _PASS_SESSIONS:
        if len(_PASS_SESSIONS) > 4:
            _PASS_SESSIONS.clear()
        _PASS_SESSIONS[key] = session_with(PASS_GRAPH, threads, {"enc_w": enc_w, "enc_b": enc_b})
    return _PASS_SESSIONS[key][0]


class PassRunner:
    """The palette pass (:mod:`.palette`) on a network's ``(1, 3, H, W)`` output: the closed forms from
    the sampled statistics in numpy, every per-pixel step in one onnxruntime graph (row strips)."""

    def __init__(self, palette: Palette, threads: int | None = None) -> None:
        from .palette import graph_encoder

        self.palette = palette
        self.session = pass_session(*graph_encoder(palette), threads)

    @classmethod
    def create(cls, palette: Palette, threads: int | None = None) -> PassRunner | None:
        """A runner, or ``None`` when its graph cannot be opened (the numpy pass is used instead)."""
        import logging

        try:
            return cls(palette, threads)
        except Exception as e:  # no onnxruntime, a graph missing from the install, …
            logging.getLogger(__name__).debug("palette pass graph unavailable (%s: %s)", type(e).__name__, e)
            return None

    def __call__(self, y: Any, *, strip_pixels: int = PASS_STRIP_PIXELS) -> Any:
        """``y`` ``(1, 3, H, W)`` float32 in [0, 1] (H, W ≥ 3) → the pass's output, same shape."""
        import numpy as np

        from .palette import pass_closed_forms

        y = np.ascontiguousarray(y, dtype=np.float32)
        return run_pass(self.session, y, pass_feed(*pass_closed_forms(y, self.palette)), strip_pixels)


def pass_feed(a: Any, c: Any, dec_w: Any, dec_b: Any) -> dict[str, Any]:
    """The pass graph's inputs from the closed forms: the RGB map ``a`` ``(3, 3)``, ``c`` ``(3,)`` and the
    decoder ``dec_w`` ``(3, 64, 3, 3)``, ``dec_b`` ``(3,)`` (float32)."""
    import numpy as np

    from .graphs import proj_from_dec

    return {
        "rgb_w": np.ascontiguousarray(a[:, :, None, None], dtype=np.float32),
        "rgb_b": np.asarray(c, dtype=np.float32),
        "proj": proj_from_dec(dec_w),
        "dec_b": np.asarray(dec_b, dtype=np.float32).reshape(1, 3, 1, 1),
    }


def run_pass(session: Any, y: Any, feed: dict[str, Any], strip_pixels: int = PASS_STRIP_PIXELS) -> Any:
    """The pass graph on ``y`` ``(1, 3, H, W)`` float32 (H, W ≥ 3) with the closed forms ``feed``, in row
    strips of about ``strip_pixels`` (each reads :data:`_PASS_HALO` rows beyond its own)."""
    import numpy as np

    h, w = y.shape[-2:]
    rows = max(8, strip_pixels // max(1, w))
    if rows >= h:
        return session.run(None, {"y": y, **feed})[0]
    out = np.empty_like(y)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        lo, hi = max(0, r0 - _PASS_HALO), min(h, r1 + _PASS_HALO)
        if hi - lo < 3:  # a last strip too thin to reflect: widen it upwards
            lo = max(0, hi - 3)
        part = session.run(None, {"y": np.ascontiguousarray(y[:, :, lo:hi]), **feed})[0]
        out[:, :, r0:r1] = part[:, :, r0 - lo : r1 - lo]
    return out


class LiteRunner:
    """Stylise PIL images with one per-style ONNX network; same pixels as the full path."""

    def __init__(self, onnx_path: Path, *, threads: int | None = None, palette: Palette | None = None) -> None:
        self.session = ort_session(onnx_path, threads)
        self.input_name = self.session.get_inputs()[0].name
        self.palette = palette  # the palette pass after the network (None: none)
        self.pass_runner = PassRunner.create(palette, threads) if palette is not None else None
        self.palette_convs = palette_conv_runner(threads) if palette is not None and self.pass_runner is None else None

    @staticmethod
    def handles(image: Image.Image, size: int | None) -> bool:
        """Whether this photo at this ``--size`` stays within the untiled, unscaled-error range."""
        w, h = image.size
        if size is not None:
            k = size / max(w, h)
            w, h = max(1, round(w * k)), max(1, round(h * k))
        return min(w, h) >= 16 and w * h <= AUTO_TILE_PIXELS  # above it the full path tiles the image

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
        if self.palette is not None and self.pass_runner is not None and min(y.shape[-2:]) >= 3:
            y = self.pass_runner(y)
        elif self.palette is not None:
            from .palette import apply_palette

            big = y.shape[-1] * y.shape[-2] > PALETTE_ORT_MAX_PIXELS
            y = apply_palette(
                y[0].transpose(1, 2, 0), self.palette, runner=None if big else self.palette_convs
            ).transpose(2, 0, 1)[None]
        if strength < 1:
            y = strength * y + (1 - strength) * x
        return array_to_pil(y)
