"""The palette pass fitted once per clip (video): fixed colour maps instead of per-frame statistics.

:mod:`styleforge.instant.palette` maps each output's RGB mean/covariance, then its ``relu1_1``
feature mean/covariance, onto the painting's.  On a video those statistics come from each
frame, so a person walking through the picture shifts the colours of the whole frame: flicker
where nothing moves.  Here the two affine maps are fitted once, on a few frames drawn across the
whole clip (the same frames for every chunk of it, so chunks share the fit and seams keep their
colour), and then applied unchanged to every frame.  The fit is plain data
(:meth:`ClipPalette.to_json`): it goes into the partial file's recipe and comes back on ``--resume``.

The fixed pass needs no statistics per frame: the RGB map, then the instant package's two
convolutions (``conv1_1`` + ReLU, the ``relu1_1`` decoder with the feature map folded in)
in one onnxruntime graph, shipped with the package (:data:`FIXED_PASS_GRAPH`).
"""

from __future__ import annotations

__all__ = ["FIXED_PASS_GRAPH", "ClipPalette", "FixedPalette", "build_fixed_pass_graph", "fit_clip_palette"]

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..instant.palette import Palette, encode, moments, sym_power

_IN_SCALE = 0.01  # the relu1_1 decoder's input scale (styleforge.nets.wct.ReconDecoder.IN_SCALE)
_SAMPLES_PER_FRAME = 1 << 13


@dataclass(frozen=True)
class ClipPalette:
    """``x = clip(A·y + b, 0, 1)`` on RGB, then ``t = C·f + d`` on the ``relu1_1`` features (float64)."""

    rgb_a: np.ndarray  # (3, 3)
    rgb_b: np.ndarray  # (3,)
    feat_a: np.ndarray  # (64, 64)
    feat_b: np.ndarray  # (64,)

    def to_json(self) -> dict[str, Any]:
        """Plain lists (rounded to 7 decimals) for the partial file's recipe."""
        return {k: np.asarray(getattr(self, k)).round(7).tolist() for k in ("rgb_a", "rgb_b", "feat_a", "feat_b")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClipPalette:
        return cls(*(np.asarray(data[k], dtype=np.float64) for k in ("rgb_a", "rgb_b", "feat_a", "feat_b")))


def fit_clip_palette(outputs: Sequence[np.ndarray], p: Palette, *, seed: int = 0) -> ClipPalette:
    """Fit the two maps on raw network outputs (``(H, W, 3)`` float RGB in [0, 1]) drawn across a clip.

    Pure: the same outputs give the same maps (random pixel samples with a fixed seed).
    """
    rng = np.random.default_rng(seed)
    picks = []
    for y in outputs:
        h, w = y.shape[:2]
        idx = rng.integers(0, h * w, min(h * w, _SAMPLES_PER_FRAME))
        picks.append(np.divmod(idx, w))
    rows = np.concatenate([y[ys, xs] for y, (ys, xs) in zip(outputs, picks, strict=True)])
    rm, rc = moments(np.asarray(rows, np.float64))
    rgb_root = p.rgb_root if getattr(p, "rgb_root", None) is not None else sym_power(p.rgb_cov, 0.5)
    a = rgb_root @ sym_power(rc, -0.5)
    b = p.rgb_mean.astype(np.float64) - a @ rm
    feats = []
    for y, (ys, xs) in zip(outputs, picks, strict=True):
        x = np.clip(y.astype(np.float64) @ a.T + b, 0, 1).astype(np.float32)
        feats.append(encode(x, p, ys, xs))
    fm, fc = moments(np.concatenate(feats).astype(np.float64))
    feat_root = p.feat_root if getattr(p, "feat_root", None) is not None else sym_power(p.feat_cov, 0.5)
    c = feat_root @ sym_power(fc, -0.5)
    d = p.feat_mean.astype(np.float64) - c @ fm
    return ClipPalette(a, b, c, d)


class FixedPalette:
    """The pass with a clip's fixed maps: the RGB map, then the two convolutions (``conv1_1`` +
    ReLU, the decoder with the feature map folded in), all in one onnxruntime graph whose weights
    are initialisers (:data:`FIXED_PASS_GRAPH`, shipped with zeros; this clip's weights replace them
    when the session is made, so onnxruntime pre-packs them: ≈ 1.6× faster than the instant
    package's graph, whose weights are inputs).  Without the shipped graph: the RGB map in numpy,
    then :func:`styleforge.instant.lite.palette_conv_runner`."""

    def __init__(self, p: Palette, cp: ClipPalette, *, threads: int | None = None) -> None:
        from ..instant.palette import graph_encoder

        self.enc_w, self.enc_b = graph_encoder(p)
        dec = p.dec_w.astype(np.float64)  # (3, 64, 3, 3)
        self.dec_w = (np.einsum("ojkl,ji->oikl", dec, cp.feat_a) * _IN_SCALE).astype(np.float32)
        self.dec_b = (p.dec_b.astype(np.float64) + _IN_SCALE * dec.sum(axis=(2, 3)) @ cp.feat_b).astype(np.float32)
        self.rgb_a = cp.rgb_a.astype(np.float32)
        self.rgb_b = cp.rgb_b.astype(np.float32)
        self.session: Any = None
        self.runner: Any = None
        if FIXED_PASS_GRAPH.is_file():
            self.session, self._values = _session(FIXED_PASS_GRAPH.read_bytes(), threads, self.weights())
        else:
            from ..instant.lite import palette_conv_runner

            self.runner = palette_conv_runner(threads)
            if self.runner is None:
                raise RuntimeError("the palette pass's onnxruntime graph is not available") from None

    def weights(self) -> dict[str, np.ndarray]:
        """The graph's initialisers by name (float32, C-contiguous)."""
        w = {
            "rgb_w": self.rgb_a[:, :, None, None],
            "rgb_b": self.rgb_b,
            "enc_w": self.enc_w,
            "enc_b": self.enc_b,
            "dec_w": self.dec_w,
            "dec_b": self.dec_b,
        }
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in w.items()}

    def __call__(self, y: np.ndarray) -> np.ndarray:
        """``(1, 3, H, W)`` RGB in [0, 1] (the network's output) → the same, after the pass."""
        if self.session is not None:
            return self.session.run(None, {"y": np.ascontiguousarray(y, dtype=np.float32)})[0]
        _, c, h, w = y.shape
        x = (self.rgb_a @ y.reshape(3, -1) + self.rgb_b[:, None]).clip(0, 1).reshape(1, 3, h, w)
        return self.runner(np.ascontiguousarray(x, dtype=np.float32), self.enc_w, self.enc_b, self.dec_w, self.dec_b)


#: The fixed pass's graph, weights as zero initialisers (:func:`build_fixed_pass_graph`; a test rebuilds it).
#: Shipped, so that a video never imports the ``onnx`` package (≈ 0.9 s of start-up: ``ml_dtypes``).
FIXED_PASS_GRAPH = Path(__file__).resolve().parents[1] / "assets" / "video" / "clip_palette.onnx"
#: The initialisers :class:`FixedPalette` fills in, and their shapes.
WEIGHT_SHAPES = {
    "rgb_w": (3, 3, 1, 1),
    "rgb_b": (3,),
    "enc_w": (64, 3, 3, 3),
    "enc_b": (64,),
    "dec_w": (3, 64, 3, 3),
    "dec_b": (3,),
}


def build_fixed_pass_graph(path: Path, opset: int = 17) -> Path:
    """Write the fixed pass as an ONNX model, its weights zero initialisers (:data:`WEIGHT_SHAPES`):
    ``y`` ``(1, 3, H, W)`` → 1×1 conv (the RGB map), clip to [0, 1], reflection pad of 2, conv, ReLU,
    conv, clip to [0, 1].  The instant package's palette graph (``build_palette_graph``) with the RGB
    map in front, but padded once: the 3-channel input by 2 pixels instead of the 64-channel features
    again (a copy of 100 MB at 854×480; the pass ≈ 15 % faster).  Inside the outer pixel ring the two
    are the same; on the ring, the features come from the reflected input instead of being reflected.
    Needs the ``onnx`` package (development only)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def const(name: str, a: Any, dtype: Any = np.float32) -> Any:
        return numpy_helper.from_array(np.asarray(a, dtype), name)

    inits = [const(k, np.zeros(shape)) for k, shape in WEIGHT_SHAPES.items()]
    inits += [const("pads", [0, 0, 2, 2, 0, 0, 2, 2], np.int64), const("lo", 0.0), const("hi", 1.0)]
    nodes = [
        helper.make_node("Conv", ["y", "rgb_w", "rgb_b"], ["x0"]),
        helper.make_node("Clip", ["x0", "lo", "hi"], ["x"]),
        helper.make_node("Pad", ["x", "pads"], ["xp"], mode="reflect"),
        helper.make_node("Conv", ["xp", "enc_w", "enc_b"], ["f"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["f"], ["fr"]),
        helper.make_node("Conv", ["fr", "dec_w", "dec_b"], ["o0"], kernel_shape=[3, 3]),
        helper.make_node("Clip", ["o0", "lo", "hi"], ["o"]),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "styleforge_clip_palette",
        [helper.make_tensor_value_info("y", f, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("o", f, [1, 3, "H", "W"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="styleforge")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _session(model: bytes, threads: int | None, weights: dict[str, np.ndarray]) -> tuple[Any, list[Any]]:
    """An onnxruntime session of ``model`` with ``weights`` in place of its initialisers of those names,
    and the values it reads them from (in place: keep them as long as the session).

    Graph optimisations stop at the "extended" level: at "all", onnxruntime 1.32 lays out the
    convolution weights (NCHWc) from the model's own initialisers before the replacements take
    effect, and the session then computes with the zeros (a test checks the pixels).  The
    replaced weights are still constants, pre-packed like the model's own (same speed, measured).
    """
    import os

    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.intra_op_num_threads = threads or os.cpu_count() or 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the instant package's sessions
    values = [ort.OrtValue.ortvalue_from_numpy(w) for w in weights.values()]
    for name, v in zip(weights, values, strict=True):
        opts.add_initializer(name, v)
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"]), values
