"""The palette pass fitted once per clip (styleforge.video.clip_palette)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from styleforge.instant.palette import Palette, graph_encoder
from styleforge.video.clip_palette import _IN_SCALE, ClipPalette, FixedPalette, fit_clip_palette

pytest.importorskip("onnxruntime")


def _palette(seed: int = 0) -> Palette:
    """Statistics and weights of the right shapes and scales (conv1_1 on caffe input, a small decoder)."""
    r = np.random.default_rng(seed)
    f32 = np.float32

    def cov(n: int, scale: float) -> np.ndarray:
        m = r.normal(size=(n, n)) * scale
        return (m @ m.T / n + np.eye(n) * scale**2 * 0.1).astype(f32)

    return Palette(
        rgb_mean=r.uniform(0.3, 0.6, 3).astype(f32),
        rgb_cov=cov(3, 0.15),
        feat_mean=r.uniform(0, 40, 64).astype(f32),
        feat_cov=cov(64, 20.0),
        enc_w=(r.normal(size=(64, 3, 3, 3)) * 0.05).astype(f32),
        enc_b=(r.normal(size=64) * 0.5).astype(f32),
        dec_w=(r.normal(size=(3, 64, 3, 3)) * 0.02).astype(f32),
        dec_b=r.uniform(0.3, 0.6, 3).astype(f32),
    )


def _frames(n: int = 3, h: int = 36, w: int = 52, seed: int = 1) -> list[np.ndarray]:
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([yy, xx, 0.5 * (yy + xx)], axis=-1)
    return [np.clip(base + r.normal(0, 0.05, base.shape), 0, 1).astype(np.float32) for _ in range(n)]


def _reference(y: np.ndarray, p: Palette, cp: ClipPalette) -> np.ndarray:
    """The pass as its docstring states it, in float64 torch: the RGB map, clip, conv1_1 (RGB weights) + ReLU,
    the feature map ``t = C·f + d``, the decoder on ``IN_SCALE · t``, clip (reflection padding before each)."""
    t64 = lambda a: torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731
    enc_w, enc_b = graph_encoder(p)
    x = torch.einsum("ij,njhw->nihw", t64(cp.rgb_a), t64(y)) + t64(cp.rgb_b)[None, :, None, None]
    x = x.clamp(0, 1)
    f = F.relu(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), t64(enc_w), t64(enc_b)))
    t = torch.einsum("ij,njhw->nihw", t64(cp.feat_a), f) + t64(cp.feat_b)[None, :, None, None]
    o = F.conv2d(F.pad(_IN_SCALE * t, (1, 1, 1, 1), mode="reflect"), t64(p.dec_w), t64(p.dec_b))
    return o.clamp(0, 1).numpy()


def test_the_fixed_pass_gives_the_maps_pixels() -> None:
    """The shipped pass graph with conv1_1 put in (not its zeros) and the clip's maps computes them as stated."""
    p = _palette()
    frames = _frames()
    cp = fit_clip_palette(frames, p)
    fp = FixedPalette(p, cp, threads=1)
    y = frames[1].transpose(2, 0, 1)[None]
    ours = fp(y)
    ref = _reference(y, p, cp)
    assert ours.shape == y.shape
    assert np.abs(ours - ref).max() < 2e-4
    assert ours.std() > 0.01  # not the zeros the shipped graph holds


def test_the_fit_is_pure_and_round_trips_through_json() -> None:
    p = _palette()
    a = fit_clip_palette(_frames(), p)
    b = fit_clip_palette(_frames(), p)
    for k in ("rgb_a", "rgb_b", "feat_a", "feat_b"):
        assert np.array_equal(getattr(a, k), getattr(b, k))
    back = ClipPalette.from_json(a.to_json())
    for k in ("rgb_a", "rgb_b", "feat_a", "feat_b"):  # rounded to 7 decimals
        assert np.abs(getattr(back, k) - getattr(a, k)).max() <= 5.1e-8
    other = fit_clip_palette(_frames(seed=7), p)
    assert not np.allclose(other.rgb_b, a.rgb_b)  # the fit does depend on the clip


def test_the_pass_does_not_import_the_onnx_package() -> None:
    """``onnx`` costs ≈ 0.9 s of start-up (``ml_dtypes``): a video's colour pass must not need it."""
    code = (
        "import sys, numpy as np\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from test_clip_palette import _palette, _frames\n"
        "from styleforge.video.clip_palette import FixedPalette, fit_clip_palette\n"
        "p = _palette(); fr = _frames()\n"
        "out = FixedPalette(p, fit_clip_palette(fr, p), threads=1)(fr[0].transpose(2, 0, 1)[None])\n"
        "assert out.shape == (1, 3, 36, 52)\n"
        "print(sorted(m for m in sys.modules if m == 'onnx' or m.startswith('onnx.')))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]", res.stdout
