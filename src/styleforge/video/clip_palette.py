"""The palette pass fitted once per clip (video): fixed colour maps instead of per-frame statistics.

:mod:`styleforge.instant.palette` maps each output's RGB mean/covariance, then its ``relu1_1``
feature mean/covariance, onto the painting's.  On a video those statistics come from each
frame, so a person walking through the picture shifts the colours of the whole frame: flicker
where nothing moves.  Here the two affine maps are fitted once, on a few frames drawn across the
whole clip (the same frames for every chunk of it, so chunks share the fit and seams keep their
colour), and then applied unchanged to every frame.  The fit is plain data
(:meth:`ClipPalette.to_json`): it goes into the partial file's recipe and comes back on ``--resume``.

The fixed pass is a small convolutional graph (1×1 colour map, VGG16 ``conv1_1`` + ReLU, the
folded ``relu1_1`` decoder) run by onnxruntime, ≈ 10× faster than the per-frame numpy pass.
"""

from __future__ import annotations

__all__ = ["ClipPalette", "fit_clip_palette"]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..instant.palette import Palette, encode

_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float64)
_IN_SCALE = 0.01  # the relu1_1 decoder's input scale (styleforge.nets.wct.ReconDecoder.IN_SCALE)
_EPS = 1e-5
_SAMPLES_PER_FRAME = 1 << 13


def _sym_power(cov: np.ndarray, power: float) -> np.ndarray:
    vals, vecs = np.linalg.eigh(np.asarray(cov, np.float64) + _EPS * np.eye(cov.shape[0]))
    vals = np.maximum(vals, vals.max() * 1e-5 + _EPS)
    return (vecs * vals**power) @ vecs.T


def _moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = rows.astype(np.float64)
    mean = rows.mean(0)
    c = rows - mean
    return mean, c.T @ c / max(1, len(rows))


@dataclass(frozen=True)
class ClipPalette:
    """``x = clip(A·y + b, 0, 1)`` on RGB, then ``t = C·f + d`` on the ``relu1_1`` features (float64)."""

    rgb_a: np.ndarray  # (3, 3)
    rgb_b: np.ndarray  # (3,)
    feat_a: np.ndarray  # (64, 64)
    feat_b: np.ndarray  # (64,)

    def to_json(self) -> dict[str, Any]:
        """Plain lists (rounded to 7 significant digits) for the partial file's recipe."""
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
    rows = np.concatenate([y[ys, xs] for y, (ys, xs) in zip(outputs, picks)])
    rm, rc = _moments(rows)
    a = _sym_power(p.rgb_cov, 0.5) @ _sym_power(rc, -0.5)
    b = p.rgb_mean.astype(np.float64) - a @ rm
    feats = []
    for y, (ys, xs) in zip(outputs, picks):
        x = np.clip(y.astype(np.float64) @ a.T + b, 0, 1).astype(np.float32)
        feats.append(encode(x, p, ys, xs))
    fm, fc = _moments(np.concatenate(feats))
    c = _sym_power(p.feat_cov, 0.5) @ _sym_power(fc, -0.5)
    d = p.feat_mean.astype(np.float64) - c @ fm
    return ClipPalette(a, b, c, d)


def onnx_graph(p: Palette, cp: ClipPalette) -> bytes:
    """The fixed pass as an ONNX model: ``(1, 3, H, W)`` RGB in [0, 1] → the same."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    def init(name: str, arr: np.ndarray) -> Any:
        return numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name)

    w1 = cp.rgb_a.reshape(3, 3, 1, 1)
    # caffe input: BGR, 0–255, mean subtracted (a 1×1 convolution), then conv1_1 with zero padding
    wc = np.zeros((3, 3, 1, 1))
    for o in range(3):
        wc[o, 2 - o, 0, 0] = 255.0
    dec = p.dec_w.astype(np.float64)  # (3, 64, 3, 3)
    wd = np.einsum("ojkl,ji->oikl", dec, cp.feat_a) * _IN_SCALE
    bd = p.dec_b.astype(np.float64) + _IN_SCALE * dec.sum(axis=(2, 3)) @ cp.feat_b
    inits = [init("w1", w1), init("b1", cp.rgb_b), init("wc", wc), init("bc", -_CAFFE_MEAN_BGR),
             init("we", p.enc_w), init("be", p.enc_b), init("wd", wd), init("bd", bd),
             init("lo", np.zeros(())), init("hi", np.ones(())),
             numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")]
    nodes = [
        helper.make_node("Conv", ["y", "w1", "b1"], ["x1"]),
        helper.make_node("Clip", ["x1", "lo", "hi"], ["x2"]),
        helper.make_node("Conv", ["x2", "wc", "bc"], ["xc"]),
        helper.make_node("Conv", ["xc", "we", "be"], ["f0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["f0"], ["f"]),
        helper.make_node("Pad", ["f", "pads"], ["fp"], mode="reflect"),
        helper.make_node("Conv", ["fp", "wd", "bd"], ["o0"]),
        helper.make_node("Clip", ["o0", "lo", "hi"], ["out"]),
    ]
    dims = [1, 3, "h", "w"]
    graph = helper.make_graph(nodes, "clip_palette", [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, dims)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return bytes(model.SerializeToString()) if onnx.checker.check_model(model) is None else b""


class FixedPalette:
    """Run the fixed pass of :func:`onnx_graph` with onnxruntime (``(1, 3, H, W)`` float32 → same)."""

    def __init__(self, p: Palette, cp: ClipPalette, *, threads: int | None = None) -> None:
        import os

        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(onnx_graph(p, cp), opts, providers=["CPUExecutionProvider"])

    def __call__(self, y: np.ndarray) -> np.ndarray:
        return self.session.run(None, {"y": np.ascontiguousarray(y, dtype=np.float32)})[0]
