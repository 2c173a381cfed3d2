"""The torch-free WCT path: any style image through onnxruntime graphs and numpy, no torch import.

:class:`WCTRunner` gives the same pictures as :class:`styleforge.nets.wct.WCTNet` (float32, the
built-in decoders or any WCT weights file) without importing torch (≈ 1.3 s of a 0.5 s job):

* the VGG16 encoder up to each pass's level and each level's reconstruction decoder are ONNX
  graphs built here from the weights with :mod:`onnx`'s helpers (no exporter), into the cache on
  first use (atomic writes), keyed by the weights' and the converted VGG16's hashes;
* whitening–colouring (:func:`styleforge.nets.wct.wct_affine`), the covariances and the
  decoder-feedback step are numpy float32 (``eigh`` of float32 ``C×C`` matrices, as the torch
  code); the affine map is folded into the decoder's first convolution, whose weights are
  therefore an input of the decoder graph;
* the resizes between passes are torch's (bilinear with antialiasing to shrink, bicubic
  ``a = -0.75`` to enlarge, plain bilinear for a decoder's size fix) as separable weight
  matrices (:func:`resize_matrix`);
* a style's statistics are cached in memory per ``--style-scale`` and on disk (keyed by the
  style image's bytes, the graphs' key and the scale), with each level's ``cov^½``.

:func:`wct_runner_for` returns ``None`` when onnxruntime / onnx or the converted VGG16 weights
(``$STYLEFORGE_CACHE/vgg16-offline-conv.safetensors``, written by any torch run) are missing:
the caller then takes the torch path, which writes them.
"""

from __future__ import annotations

__all__ = ["WCT_GRAPH_VERSION", "WCTRunner", "resize_matrix", "wct_runner_for"]

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..cache import cache_dir

#: Changes whenever the graphs built here change (part of their cache key).
WCT_GRAPH_VERSION = 1
#: VGG16's layers up to relu3_1 and its caffe input convention (``backbones.vgg.CAFFE``).
_VGG = ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1"]
_LEVEL_LAST = {"relu1_1": "conv1_1", "relu2_1": "conv2_1", "relu3_1": "conv3_1"}
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IN_SCALE = 0.01  # ReconDecoder.IN_SCALE
#: covariance_stats samples at most about this many pixels (nets.wct.MAX_SAMPLES).
MAX_SAMPLES = 1 << 16


# --------------------------------------------------------------------------------------------
# torch's resizes as separable matrices
# --------------------------------------------------------------------------------------------


def resize_matrix(n_in: int, n_out: int, mode: str) -> np.ndarray:
    """``(n_out, n_in)`` float32 weights of torch's 1-D ``F.interpolate(align_corners=False)``:
    ``"aa"`` (bilinear, ``antialias=True``), ``"bicubic"`` (``a = -0.75``, edges clamped) or
    ``"bilinear"``."""
    m = np.zeros((n_out, n_in), np.float64)
    scale = n_in / n_out
    if mode == "aa":
        support = scale if scale >= 1.0 else 1.0
        inv = 1.0 / scale if scale >= 1.0 else 1.0
        for i in range(n_out):
            center = scale * (i + 0.5)
            lo = max(int(center - support + 0.5), 0)
            hi = min(int(center + support + 0.5), n_in)
            j = np.arange(lo, hi)
            w = np.maximum(0.0, 1.0 - np.abs((j - center + 0.5) * inv))
            total = w.sum()
            m[i, lo:hi] = w / total if total > 0 else w
    elif mode == "bicubic":
        a = -0.75
        for i in range(n_out):
            real = scale * (i + 0.5) - 0.5
            i0 = math.floor(real)
            t = real - i0
            ws = (
                ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                ((a + 2) * t - (a + 3)) * t * t + 1,
                ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
                ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
            )
            for k, w in enumerate(ws):
                m[i, min(max(i0 - 1 + k, 0), n_in - 1)] += w
    elif mode == "bilinear":
        for i in range(n_out):
            real = max(scale * (i + 0.5) - 0.5, 0.0)
            i0 = int(real)
            i1 = i0 + (1 if i0 < n_in - 1 else 0)
            lam = real - i0
            m[i, i0] += 1.0 - lam
            m[i, i1] += lam
    else:
        raise ValueError(f"unknown resize mode {mode!r}")
    return m.astype(np.float32)


def _resize(x: np.ndarray, size: tuple[int, int], mode: str) -> np.ndarray:
    """``(1, C, H, W)`` float32 → ``(1, C, *size)`` by :func:`resize_matrix` along each axis."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    ry = resize_matrix(h, size[0], mode)
    rx = resize_matrix(w, size[1], mode)
    y = np.matmul(ry, x[0])  # (C, H', W)
    return np.ascontiguousarray(np.matmul(y, rx.T)[None], dtype=np.float32)


def _fit_long_side(x: np.ndarray, long_side: int | None, full: tuple[int, int]) -> np.ndarray:
    """nets.wct._fit_long_side in numpy."""
    H, W = full
    size = (H, W)
    if long_side and max(H, W) > long_side:
        k = long_side / max(H, W)
        size = (max(16, round(H * k)), max(16, round(W * k)))
    if tuple(x.shape[-2:]) == size:
        return x
    if size[0] < x.shape[-2]:
        return _resize(x, size, "aa")
    return np.clip(_resize(x, size, "bicubic"), 0, 1)


def _resize_long_side(x: np.ndarray, long_side: int) -> np.ndarray:
    """nets.wct._resize_long_side in numpy."""
    H, W = x.shape[-2:]
    if max(H, W) == long_side:
        return x
    k = long_side / max(H, W)
    size = (max(16, round(H * k)), max(16, round(W * k)))
    if k < 1:
        return _resize(x, size, "aa")
    return np.clip(_resize(x, size, "bicubic"), 0, 1)


# --------------------------------------------------------------------------------------------
# the whitening–colouring maths (nets.wct) in numpy float32
# --------------------------------------------------------------------------------------------


def covariance_stats(f: np.ndarray, max_samples: int | None = MAX_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(C, 1)`` and biased covariance ``(C, C)`` of ``(1, C, H, W)`` features (nets.wct.covariance_stats)."""
    h, w = f.shape[-2:]
    if max_samples and h * w > max_samples:
        k = math.ceil(math.sqrt(h * w / max_samples))
        f = f[..., ::k, ::k]
    x = f[0].reshape(f.shape[1], -1).astype(np.float32, copy=False)  # (C, N)
    mean = x.mean(axis=1, keepdims=True, dtype=np.float32)
    xc = x - mean
    return mean, (xc @ xc.T) / np.float32(max(1, xc.shape[1]))


def sym_power(cov: np.ndarray, power: float, eps: float) -> np.ndarray:
    """``cov^power`` with small eigenvalues clamped at ``eps``·max (nets.wct._sym_power), float32."""
    vals, vecs = np.linalg.eigh((cov + np.float32(eps) * np.eye(cov.shape[0], dtype=np.float32)).astype(np.float32))
    vals = np.maximum(vals, np.float32(float(vals.max()) * 1e-5 + eps))
    return ((vecs * vals ** np.float32(power)) @ vecs.T).astype(np.float32)


def wct_affine(
    own: tuple[np.ndarray, np.ndarray],
    style_mean: np.ndarray,
    style_root: np.ndarray,
    *,
    alpha: float = 1.0,
    eps: float = 1e-5,
    gain: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``A`` ``(C, C)``, ``b`` ``(C, 1)`` with transferred = ``A f + b`` (nets.wct.wct_affine);
    ``style_root`` = the style's ``cov^½``."""
    mean, cov = own
    transform = np.float32(gain) * (style_root @ sym_power(cov, -0.5, eps))
    offset = style_mean - transform @ mean
    if alpha < 1.0:
        transform = np.float32(alpha) * transform + np.float32(1 - alpha) * np.eye(transform.shape[0], dtype=np.float32)
        offset = np.float32(alpha) * offset
    return transform.astype(np.float32), offset.astype(np.float32)


# --------------------------------------------------------------------------------------------
# the graphs
# --------------------------------------------------------------------------------------------


def _decoder_layers(sd: dict[str, np.ndarray], level: str) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """A ReconDecoder's body from its weights: ``(w, b)`` per convolution, ``None`` per ×2 upsampling."""
    idx = sorted({int(k.split(".")[2]) for k in sd if k.startswith(level + ".body.")})
    if not idx or idx[0] != 0:
        raise ValueError(f"no decoder {level} in the weights")
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for i in range(idx[-1] + 1):
        if i in idx:
            w, b = sd[f"{level}.body.{i}.1.weight"], sd[f"{level}.body.{i}.1.bias"]
            out.append((w.astype(np.float32), b.astype(np.float32)))
        else:
            out.append(None)
    return out


def _model(nodes: list[Any], inputs: list[Any], output: Any, inits: list[Any], name: str) -> Any:
    from onnx import helper

    graph = helper.make_graph(nodes, name, inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="styleforge")
    model.ir_version = 8
    return model


def _save(model: Any, path: Path) -> Path:
    """Check ``model`` and write it to ``path`` atomically."""
    import onnx

    from ..io import atomic_path

    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return path


def build_encoder_graph(path: Path, vgg: dict[str, np.ndarray], level: str) -> Path:
    """``x`` (1, 3, H, W) RGB in [0, 1] → ``f`` VGG16 features at ``level`` (reflection padding,
    max pooling; the caffe normalisation first), written atomically."""
    from onnx import TensorProto, helper, numpy_helper

    f32 = TensorProto.FLOAT
    inits = [
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
        numpy_helper.from_array(np.array(255.0, np.float32), "k255"),
        numpy_helper.from_array(np.array(_CAFFE_MEAN_BGR, np.float32).reshape(1, 3, 1, 1), "mean"),
    ]
    # RGB → BGR by reversing conv1_1's input channels (exact: a permutation)
    nodes = [
        helper.make_node("Mul", ["x", "k255"], ["x255"]),
        helper.make_node("Slice", ["x255", "s0", "s1", "s2", "s3"], ["bgr"]),
        helper.make_node("Sub", ["bgr", "mean"], ["h0"]),
    ]
    inits += [
        numpy_helper.from_array(np.array([-1], np.int64), "s0"),
        numpy_helper.from_array(np.array([-(2**62)], np.int64), "s1"),
        numpy_helper.from_array(np.array([1], np.int64), "s2"),
        numpy_helper.from_array(np.array([-1], np.int64), "s3"),
    ]
    h = "h0"
    last = _LEVEL_LAST[level]
    for name in _VGG:
        if name.startswith("pool"):
            nodes.append(helper.make_node("MaxPool", [h], [name], kernel_shape=[2, 2], strides=[2, 2]))
        else:
            inits += [
                numpy_helper.from_array(vgg[f"{name}.weight"].astype(np.float32), f"{name}.w"),
                numpy_helper.from_array(vgg[f"{name}.bias"].astype(np.float32), f"{name}.b"),
            ]
            nodes += [
                helper.make_node("Pad", [h, "pads"], [f"{name}.p"], mode="reflect"),
                helper.make_node("Conv", [f"{name}.p", f"{name}.w", f"{name}.b"], [f"{name}.c"], kernel_shape=[3, 3]),
                helper.make_node("Relu", [f"{name}.c"], [name if name != last else "f"]),
            ]
        h = name
        if name == last:
            break
    model = _model(
        nodes,
        [helper.make_tensor_value_info("x", f32, [1, 3, "H", "W"])],
        helper.make_tensor_value_info("f", f32, [1, None, None, None]),
        inits,
        f"styleforge_wct_encoder_{level}",
    )
    return _save(model, path)


def build_decoder_graph(path: Path, sd: dict[str, np.ndarray], level: str) -> Path:
    """``f`` features, ``w0``, ``b0`` (the first convolution, an input: the WCT map and
    ``IN_SCALE`` are folded into it) → RGB, unclamped (the torch decoder before its size fix)."""
    from onnx import TensorProto, helper, numpy_helper

    f32 = TensorProto.FLOAT
    layers = _decoder_layers(sd, level)
    first = layers[0]
    assert first is not None
    inits = [
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up"),
    ]
    nodes: list[Any] = []
    h = "f"
    n = len(layers)
    for i, layer in enumerate(layers):
        out = "y" if i == n - 1 else f"l{i}"
        if layer is None:
            nodes.append(
                helper.make_node(
                    "Resize",
                    [h, "", "up"],
                    [out],
                    mode="nearest",
                    coordinate_transformation_mode="asymmetric",
                    nearest_mode="floor",
                )
            )
        else:
            w, b = ("w0", "b0") if i == 0 else (f"w{i}", f"b{i}")
            if i:
                inits += [numpy_helper.from_array(layer[0], w), numpy_helper.from_array(layer[1], b)]
            relu = i != n - 1
            nodes += [
                helper.make_node("Pad", [h, "pads"], [f"p{i}"], mode="reflect"),
                helper.make_node("Conv", [f"p{i}", w, b], [f"c{i}" if relu else out], kernel_shape=[3, 3]),
            ]
            if relu:
                nodes.append(helper.make_node("Relu", [f"c{i}"], [out]))
        h = out
    cin = first[0].shape[1]
    model = _model(
        nodes,
        [
            helper.make_tensor_value_info("f", f32, [1, cin, "h", "w"]),
            helper.make_tensor_value_info("w0", f32, list(first[0].shape)),
            helper.make_tensor_value_info("b0", f32, list(first[1].shape)),
        ],
        helper.make_tensor_value_info("y", f32, [1, 3, None, None]),
        inits,
        f"styleforge_wct_decoder_{level}",
    )
    return _save(model, path)


# --------------------------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------------------------


def _openblas_threads() -> tuple[Any, Any] | None:
    """numpy's OpenBLAS ``(set_num_threads, get_num_threads)`` through ctypes, or ``None``."""
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            libs = {line.split()[-1] for line in fh if "openblas" in line.lower() and line.rstrip().endswith(".so")}
    except OSError:
        return None
    for lib in sorted(libs):
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("openblas", "64_"),
            ("openblas", ""),
            ("scipy_openblas", ""),
        ):
            setter = getattr(dll, f"{prefix}_set_num_threads{suffix}", None)
            getter = getattr(dll, f"{prefix}_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                return setter, getter
    return None


class _SingleThreadBlas:
    """numpy's BLAS on one thread inside the block: the C×C moments, eigendecompositions and resizes
    are small, and on two busy cores OpenBLAS's thread pool made them 100-300× slower (1.6 s for a
    64×65 k Gram matrix, 5 ms on one thread)."""

    _fns: tuple[Any, Any] | None | bool = False

    def __enter__(self) -> None:
        if _SingleThreadBlas._fns is False:
            _SingleThreadBlas._fns = _openblas_threads()
        self.saved = None
        fns = _SingleThreadBlas._fns
        if isinstance(fns, tuple):
            self.saved = int(fns[1]())
            if self.saved != 1:
                fns[0](1)

    def __exit__(self, *exc: object) -> None:
        fns = _SingleThreadBlas._fns
        if isinstance(fns, tuple) and self.saved is not None and self.saved != 1:
            fns[0](self.saved)


def _file_hash(path: Path) -> str:
    from .lite import weights_hash

    return weights_hash(path)


def vgg_cache_file() -> Path:
    return cache_dir() / "vgg16-offline-conv.safetensors"


class WCTRunner:
    """Multi-level WCT (the passes, sizes, gain and feedback of a WCT weights file) through
    onnxruntime graphs and numpy; same pictures as :class:`styleforge.nets.wct.WCTNet` in float32."""

    def __init__(self, weights: Path, vgg: Path, threads: int | None = None) -> None:
        from safetensors import safe_open

        with safe_open(str(weights), framework="numpy") as fh:
            meta = fh.metadata() or {}
            sd = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
        if meta.get("kind") != "wct":
            raise ValueError(f"{weights} holds no WCT decoders")
        cfg = json.loads(meta.get("model_config", "{}"))
        order = ["relu1_1", "relu2_1", "relu3_1", "relu4_1"]
        decoders = list(cfg.get("decoders", {}))
        if not decoders or any(lv not in _LEVEL_LAST for lv in decoders):
            raise ValueError(f"{weights}: levels {decoders} (the torch-free path has relu1_1 to relu3_1)")
        self.levels: list[str] = list(cfg.get("passes") or sorted(decoders, key=order.index, reverse=True))
        sizes = cfg.get("sizes") or [cfg.get("deep_size") or None] + [None] * (len(self.levels) - 1)
        self.sizes: list[int | None] = [int(s) if s else None for s in sizes]
        self.gain = float(cfg.get("gain", 1.0))
        self.feedback = {lv: float(e) for lv, e in (cfg.get("feedback") or {}).items() if e}
        self.feedback_steps = int(cfg.get("feedback_steps", 1))
        self.first = {}
        for lv in set(self.levels):
            w, b = sd[f"{lv}.body.0.1.weight"], sd[f"{lv}.body.0.1.bias"]
            self.first[lv] = (w.astype(np.float32), b.astype(np.float32))
        vgg_hash = _file_hash(vgg)
        self.key = hashlib.sha256(f"{_file_hash(weights)}-{vgg_hash}-v{WCT_GRAPH_VERSION}".encode()).hexdigest()[:16]
        folder = cache_dir() / "onnx"
        from .lite import ort_session

        vgg_sd: dict[str, np.ndarray] | None = None
        self.enc: dict[str, Any] = {}
        self.dec: dict[str, Any] = {}
        for lv in set(self.levels):
            ep = folder / f"wct-enc-{lv}-{vgg_hash}-v{WCT_GRAPH_VERSION}.onnx"
            if not ep.is_file():
                if vgg_sd is None:
                    from safetensors.numpy import load_file

                    vgg_sd = load_file(str(vgg))
                build_encoder_graph(ep, vgg_sd, lv)
            dp = folder / f"wct-dec-{lv}-{self.key}.onnx"
            if not dp.is_file():
                build_decoder_graph(dp, sd, lv)
            self.enc[lv] = ort_session(ep, threads, shared_arena=True)  # run one after another: one arena
            self.dec[lv] = ort_session(dp, threads, shared_arena=True)
        self._stats: dict[tuple[str, float], dict[str, tuple[np.ndarray, np.ndarray]]] = {}

    # -- pieces ------------------------------------------------------------------------------

    def encode(self, x: np.ndarray, level: str) -> np.ndarray:
        return self.enc[level].run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]

    def decode(
        self, level: str, f: np.ndarray, size: tuple[int, int], affine: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        """The decoder on ``f`` (or on ``A f + b``, folded into its first convolution), resized to ``size``, clamped."""
        w0, b0 = self.first[level]
        if affine is None:
            w, b = w0 * np.float32(_IN_SCALE), b0
        else:
            a, off = affine
            w = np.tensordot(w0, a * np.float32(_IN_SCALE), axes=([1], [0])).transpose(0, 3, 1, 2)
            b = b0 + np.float32(_IN_SCALE) * (w0.sum(axis=(2, 3)) @ off)[:, 0]
        y = self.dec[level].run(None, {"f": f, "w0": np.ascontiguousarray(w), "b0": b.astype(np.float32)})[0]
        if tuple(y.shape[-2:]) != tuple(size):
            y = _resize(y, size, "bilinear")
        return np.clip(y, 0, 1)

    @staticmethod
    def _key(level: str, size: int | None) -> str:
        return level if size is None else f"{level}@{size}"

    def style_stats(self, style: np.ndarray, scale: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Each pass's style mean and ``cov^½`` (eps 1e-5) of ``(1, 3, H, W)`` (WCTNet.style_stats + the root)."""
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for size in dict.fromkeys(self.sizes):
            levels = sorted({lv for lv, s in zip(self.levels, self.sizes, strict=True) if s == size})
            long_side = min(size or max(style.shape[-2:]), max(style.shape[-2:]))
            img = _resize_long_side(style, max(16, round(long_side * scale)))
            for lv in levels:
                mean, cov = covariance_stats(self.encode(img, lv))
                out[self._key(lv, size)] = (mean, sym_power(cov, 0.5, 1e-5))
        return out

    def matches(self, net: Any) -> bool:
        """Whether a torch :class:`~styleforge.nets.wct.WCTNet` runs the same passes as this runner
        (float32: a bf16 autocast gives other pictures)."""
        return (
            list(net.levels) == self.levels
            and list(net.sizes) == self.sizes
            and float(net.gain) == self.gain
            and dict(net.feedback) == self.feedback
            and int(net.feedback_steps) == self.feedback_steps
            and net.amp is None
        )

    def stats_for(
        self, style_file: Path | None, style: np.ndarray, scale: float = 1.0, *, key: str | None = None
    ) -> dict[str, Any]:
        """:meth:`style_stats`, cached in memory (under ``key``, else the file's path) and, with
        ``style_file``, on disk."""
        mem = (key or str(style_file), float(scale))
        if mem in self._stats:
            return self._stats[mem]
        path = None
        if style_file is not None:
            try:
                h = hashlib.sha256(style_file.read_bytes()).hexdigest()[:24]
                path = cache_dir() / "wct-stats" / f"{h}-{self.key}-{float(scale)!r}.npz"
            except OSError:
                path = None
        stats = None
        if path is not None and path.is_file():
            try:
                with np.load(path) as z:
                    stats = {k[2:]: (z["m:" + k[2:]], z["r:" + k[2:]]) for k in z.files if k.startswith("m:")}
            except (OSError, ValueError, KeyError):
                stats = None
        if stats is None:
            with _SingleThreadBlas():
                stats = self.style_stats(style, scale)
            if path is not None:
                _save_npz(path, {f"{p}:{k}": v[i] for k, v in stats.items() for i, p in enumerate("mr")})
        self._stats[mem] = stats
        return stats

    def stylize(self, x: np.ndarray, stats: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float = 1.0) -> np.ndarray:
        """``(1, 3, H, W)`` in [0, 1] → stylised, same size (WCTNet.stylize_stats, one style, no mask)."""
        with _SingleThreadBlas():
            return self._stylize(x, stats, alpha)

    def _stylize(self, x: np.ndarray, stats: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float) -> np.ndarray:
        H, W = x.shape[-2:]
        for lv, size in zip(self.levels, self.sizes, strict=True):
            x = _fit_long_side(x, size, (H, W))
            f = self.encode(x, lv)
            g = self.gain if lv != "relu1_1" else 1.0
            eta = self.feedback.get(lv, 0.0)
            hw = (x.shape[-2], x.shape[-1])
            mean, root = stats[self._key(lv, size)]
            affine = wct_affine(covariance_stats(f), mean, root, alpha=alpha, gain=g)
            y = self.decode(lv, f, hw, affine)
            if eta:
                a, b = affine
                c = f.shape[1]
                t = (a @ f[0].reshape(c, -1) + b).reshape(f.shape).astype(np.float32)
                z = t
                for _ in range(self.feedback_steps):
                    z = z + np.float32(eta) * (t - self.encode(y, lv))
                    y = self.decode(lv, z, (y.shape[-2], y.shape[-1]))
            x = y
        return _fit_long_side(x, None, (H, W))

    def __call__(
        self,
        image: Image.Image,
        style: Image.Image,
        *,
        style_file: Path | None = None,
        strength: float = 1.0,
        size: int | None = None,
        style_scale: float = 1.0,
    ) -> Image.Image:
        """Stylise a PIL photo with a PIL painting (shrunk to 512 px as ``load_instant`` does)."""
        from ..io import array_to_pil, pil_to_array, resize_max_side

        if size is not None:
            image = resize_max_side(image, size)
        stats = self.stats_for(style_file, pil_to_array(resize_max_side(style, 512)), style_scale)
        y = self.stylize(pil_to_array(image), stats, alpha=strength)
        return array_to_pil(np.clip(y, 0, 1))


def _save_npz(path: Path, arrays: dict[str, Any]) -> None:
    """Write ``arrays`` atomically (a failed write only loses the cache)."""
    from ..io import atomic_path

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError:
        pass


def wct_runner_for(weights: Path | None = None, *, threads: int | None = None) -> WCTRunner | None:
    """The torch-free WCT runner of ``weights`` (default: the built-in WCT decoders), or ``None``
    without onnxruntime / onnx, the converted VGG16 weights in the cache, or a usable weights file."""
    import importlib.util
    import logging

    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        return None
    if weights is None:
        from .models import builtin_models

        weights = next((e.file for e in builtin_models().values() if e.kind == "wct"), None)
    vgg = vgg_cache_file()
    if weights is None or not Path(weights).is_file() or not vgg.is_file():
        return None
    key = (str(weights), threads, str(cache_dir()))
    if key not in _RUNNERS:
        try:
            _RUNNERS[key] = WCTRunner(Path(weights), vgg, threads)
        except Exception as e:  # unreadable weights, read-only cache, …: the torch path
            logging.getLogger(__name__).debug("torch-free WCT unavailable (%s: %s)", type(e).__name__, e)
            return None
    return _RUNNERS[key]


_RUNNERS: dict[tuple[str, int | None, str], WCTRunner] = {}
