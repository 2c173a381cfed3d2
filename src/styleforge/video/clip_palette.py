"""The palette pass fitted once per clip (video): fixed colour maps instead of per-frame statistics.

:mod:`styleforge.instant.palette` maps each output's RGB mean/covariance, then its ``relu1_1``
feature mean/covariance, onto the painting's.  On a video those statistics come from each
frame, so a person walking through the picture shifts the colours of the whole frame: flicker
where nothing moves.  Here the two affine maps are fitted once, on a few frames drawn across the
whole clip (the same frames for every chunk of it, so chunks share the fit and seams keep their
colour), and then applied unchanged to every frame.  The fit is plain data
(:meth:`ClipPalette.to_json`): it goes into the partial file's recipe and comes back on ``--resume``.

The fixed pass needs no statistics per frame: the RGB map, then the instant package's two
convolutions (``conv1_1`` + ReLU, the ``relu1_1`` decoder with the feature map folded in), in
the instant package's pass graph, shipped with the package (no ``onnx`` import at run time).
"""

from __future__ import annotations

__all__ = ["ClipPalette", "FixedPalette", "fit_clip_palette"]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..instant.palette import Palette, encode_neighbourhoods, moments, neighbourhoods, sym_power

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
    for y, (ys, xs) in zip(outputs, picks, strict=True):  # mapped on the samples' neighbourhoods only
        nb = y.reshape(-1, 3)[neighbourhoods(y.shape[0], y.shape[1], ys, xs)]  # (N, 9, 3)
        feats.append(encode_neighbourhoods(np.clip(nb.astype(np.float64) @ a.T + b, 0, 1).astype(np.float32), p))
    fm, fc = moments(np.concatenate(feats).astype(np.float64))
    feat_root = p.feat_root if getattr(p, "feat_root", None) is not None else sym_power(p.feat_cov, 0.5)
    c = feat_root @ sym_power(fc, -0.5)
    d = p.feat_mean.astype(np.float64) - c @ fm
    return ClipPalette(a, b, c, d)


class FixedPalette:
    """The pass with a clip's fixed maps: the instant package's pass graph
    (:func:`styleforge.instant.lite.pass_session`: the RGB map, ``conv1_1`` + ReLU, the decoder)
    fed the clip's maps, the same for every frame (the feature map ``C·f + d`` folded into the
    decoder's weights).  Needs onnxruntime, as the clip-level fit does
    (:attr:`~styleforge.video.stylizers.InstantStylizer.fits_clip`)."""

    def __init__(self, p: Palette, cp: ClipPalette, *, threads: int | None = None) -> None:
        from ..instant.lite import pass_feed, pass_session
        from ..instant.palette import graph_encoder

        dec = p.dec_w.astype(np.float64)  # (3, 64, 3, 3)
        dec_w = np.einsum("ojkl,ji->oikl", dec, cp.feat_a) * _IN_SCALE
        dec_b = p.dec_b.astype(np.float64) + _IN_SCALE * dec.sum(axis=(2, 3)) @ cp.feat_b
        self.feed = pass_feed(cp.rgb_a, cp.rgb_b, dec_w, dec_b)
        self.session = pass_session(*graph_encoder(p), threads)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        """``(1, 3, H, W)`` RGB in [0, 1] (the network's output) → the same, after the pass
        (854×480 in one run, faster than strips; 1080p in four)."""
        from ..instant.lite import run_pass

        return run_pass(self.session, np.ascontiguousarray(y, dtype=np.float32), self.feed, 1 << 19)
