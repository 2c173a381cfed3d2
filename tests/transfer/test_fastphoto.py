"""Fast photorealistic transfer: per-segment OT colour transfer, tiled affine application, look."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from styleforge.color import rgb_to_lab
from styleforge.errors import InputError
from styleforge.transfer import fastphoto as FP
from styleforge.transfer.lut import apply_lut


def _two_region(h: int, w: int, top: tuple, bottom: tuple, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3))
    img[: h // 2] = top
    img[h // 2 :] = bottom
    img += 0.05 * rng.standard_normal((h, w, 3))
    return np.clip(img, 0, 1)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(2, 0, 1)[None].float()


def test_lab_transfer_matches_each_segments_mean_and_covariance():
    c = _two_region(40, 48, (0.5, 0.5, 0.6), (0.4, 0.5, 0.3), 0)
    s = _two_region(30, 36, (0.7, 0.45, 0.35), (0.3, 0.35, 0.5), 1)
    cl = np.zeros((40, 48), np.int64)
    cl[20:] = 1
    sl = np.zeros((30, 36), np.int64)
    sl[15:] = 1
    out = FP.lab_transfer(_t(c), _t(s), cl, sl, reg=1e-6)
    lo, ls = rgb_to_lab(out.double())[0].reshape(3, -1), rgb_to_lab(_t(s).double())[0].reshape(3, -1)
    for k in (0, 1):
        a, b = lo[:, torch.from_numpy(cl.ravel() == k)], ls[:, torch.from_numpy(sl.ravel() == k)]
        np.testing.assert_allclose(a.mean(1), b.mean(1), atol=0.3)  # Lab units (clamping moves a little)
        np.testing.assert_allclose(torch.cov(a), torch.cov(b), rtol=0.1, atol=0.5)


def test_monge_map_is_symmetric_and_moves_least():
    cc = torch.tensor([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]], dtype=torch.float64)
    cs = torch.tensor([[1.0, -0.2, 0.0], [-0.2, 3.0, 0.0], [0.0, 0.0, 0.7]], dtype=torch.float64)
    a, _ = FP.monge_map(torch.zeros(3, 1), cc, torch.zeros(3, 1), cs, 100.0)
    np.testing.assert_allclose(a, a.T, atol=1e-10)  # the optimal map is a symmetric PSD matrix
    np.testing.assert_allclose(a @ cc @ a.T, cs, atol=1e-8)


def test_banded_application_equals_whole_image_interpolation():
    rng = np.random.default_rng(0)
    coef = torch.from_numpy(rng.standard_normal((12, 9, 13)) * 0.2).float()
    coef[0] += 1
    coef[4] += 1
    coef[8] += 1
    img = (rng.random((70, 101, 3)) * 255).astype(np.uint8)
    out = FP.apply_affine(coef, img, band=16)
    up = F.interpolate(coef[None], size=(70, 101), mode="bilinear", align_corners=False)[0]
    g = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    ref = (torch.einsum("cihw,ihw->chw", up[:9].reshape(3, 3, 70, 101), g) + up[9:]).clamp(0, 1)
    ref = (ref * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1


def test_fast_transfer_keeps_size_edges_and_gives_a_matching_look():
    c = (_two_region(120, 160, (0.55, 0.6, 0.75), (0.35, 0.45, 0.25), 2) * 255).astype(np.uint8)
    c[:, 70:90] = (c[:, 70:90] * 0.4).astype(np.uint8)  # a dark pole: an edge to keep
    s = (_two_region(90, 120, (0.9, 0.5, 0.2), (0.2, 0.25, 0.35), 3) * 255).astype(np.uint8)
    cl = np.zeros((120, 160), np.int64)
    cl[60:] = 1
    sl = np.zeros((90, 120), np.int64)
    sl[45:] = 1
    res = FP.fast_transfer(
        Image.fromarray(c), Image.fromarray(s), FP.FastConfig(work_size=64), content_labels=cl, style_labels=sl
    )
    assert res.image.shape == c.shape and res.image.dtype == np.uint8
    out = res.image.astype(float) / 255
    # sky became orange, ground dark blue-grey: the style's regions
    assert out[:40, :60, 0].mean() > out[:40, :60, 2].mean() + 0.2
    assert out[90:, :60, 2].mean() > out[90:, :60, 0].mean()
    # the pole's edge is still there and sharp: the step sits on the edge, not smeared around it
    col = out[:40].mean(axis=(0, 2))
    step = abs(col[71] - col[68])
    assert step > 0.03
    assert step > 4 * abs(col[66] - col[60]) and step > 4 * abs(col[80] - col[74])
    # the look reproduces the low-res result roughly (one global map cannot split the segments exactly)
    small = np.asarray(Image.fromarray(c).resize(res.work.shape[-1:-3:-1], Image.Resampling.LANCZOS)) / 255
    err = np.abs(apply_lut(res.look, small) - res.work[0].permute(1, 2, 0).numpy()).mean()
    assert err < 0.06
    # the global-only mode outputs the look itself
    g = FP.fast_transfer(
        Image.fromarray(c),
        Image.fromarray(s),
        FP.FastConfig(work_size=64, local=False),
        content_labels=cl,
        style_labels=sl,
    )
    ref = np.clip(apply_lut(g.look, c.astype(np.float32) / 255) * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(g.image.astype(int) - ref.astype(int)).max() <= 1


def test_strength_zero_is_the_photo_and_bad_options_are_errors():
    c = Image.fromarray((_two_region(40, 50, (0.5, 0.5, 0.5), (0.2, 0.3, 0.2), 4) * 255).astype(np.uint8))
    s = Image.fromarray((_two_region(40, 50, (0.9, 0.2, 0.2), (0.1, 0.1, 0.5), 5) * 255).astype(np.uint8))
    res = FP.fast_transfer(c, s, FP.FastConfig(work_size=32, strength=0.0), auto=False)
    assert np.abs(res.image.astype(int) - np.asarray(c).astype(int)).max() <= 1
    with pytest.raises(InputError):
        FP.FastConfig(work_size=8).validate()
    with pytest.raises(InputError, match="both masks"):
        FP.fast_transfer(c, s, content_labels=np.zeros((40, 50), np.int64))


def test_memory_check_refuses_what_does_not_fit_and_says_what_does():
    FP.check_fast_memory(3000, 4000, budget=2_500 << 20)  # 12 MP fits in 2.5 GB
    with pytest.raises(InputError, match="--image-size"):
        FP.check_fast_memory(10000, 10000, budget=256 << 20)
