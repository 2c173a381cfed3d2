"""Matting Laplacian, photorealism loss, smoothing and local affine fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from styleforge.errors import InputError
from styleforge.transfer import matting as M


def dense_laplacian(img: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Levin et al.'s formula, one 3×3 window at a time (reference)."""
    h, w, _ = img.shape
    n = h * w
    flat = img.reshape(-1, 3)
    lap = np.zeros((n, n))
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            idx = [(y + dy) * w + x + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            win = flat[idx]
            mu = win.mean(0)
            cov = (win - mu).T @ (win - mu) / 9
            inv = np.linalg.inv(cov + eps / 9 * np.eye(3))
            lap[np.ix_(idx, idx)] += np.eye(9) - (1 + (win - mu) @ inv @ (win - mu).T) / 9
    return lap


@pytest.fixture
def img() -> np.ndarray:
    return np.random.default_rng(0).random((7, 9, 3))


def test_laplacian_matches_dense_reference(img):
    lap = M.matting_laplacian(img)
    assert lap.shape == (63, 63)
    np.testing.assert_allclose(lap.toarray(), dense_laplacian(img), atol=1e-10)


def test_laplacian_properties(img):
    lap = M.matting_laplacian(img).toarray()
    np.testing.assert_allclose(lap, lap.T, atol=1e-12)
    np.testing.assert_allclose(lap.sum(1), 0, atol=1e-9)
    assert np.linalg.eigvalsh(lap).min() > -1e-8  # positive semi-definite
    assert np.abs(lap @ np.full(63, 0.3)).max() < 1e-9  # constants in the null space
    # an image that is an affine function of the input colours costs ~0
    v = (img @ np.array([0.2, -0.5, 0.7]) + 0.1).ravel()
    assert v @ lap @ v < 1e-4 * (v @ v)


def test_laplacian_from_tensor_and_cache():
    t = torch.rand(1, 3, 10, 12)
    a = M.laplacian_for(t)
    assert M.laplacian_for(t.clone()) is a  # same content and size → cached
    np.testing.assert_allclose(a.csr.toarray(), M.matting_laplacian(t[0].permute(1, 2, 0).numpy()).toarray(), atol=1e-6)
    assert M.laplacian_for(torch.rand(1, 3, 10, 12)) is not a


def test_photorealism_loss_and_gradient_match_dense_autograd():
    c = torch.rand(1, 3, 8, 10)
    lap = M.laplacian_for(c)
    x = torch.rand(1, 3, 8, 10, dtype=torch.float64, requires_grad=True)
    loss = M.photorealism_loss(x, lap.torch(dtype=torch.float64))
    loss.backward()
    dense = torch.tensor(lap.csr.toarray())
    x2 = x.detach().clone().requires_grad_(True)
    v = x2[0].reshape(3, -1).t()
    ref = (v * (dense @ v)).sum()
    ref.backward()
    assert torch.allclose(loss, ref)
    assert torch.allclose(x.grad, x2.grad)


def test_memory_estimate_refuses_huge_images_and_says_what_fits():
    assert M.laplacian_nbytes(768, 1024) > M.laplacian_nbytes(384, 512) * 2
    with pytest.raises(InputError, match=r"at most \d+ px"):
        M.check_memory(6000, 8000, budget=2 << 30)
    fits = M.max_side_for_memory(6000, 8000, 2 << 30)
    assert M.laplacian_nbytes(round(6000 * fits / 8000), fits) <= 2 << 30


def _edge_image(h: int = 24, w: int = 32) -> torch.Tensor:
    g = torch.zeros(1, 3, h, w)
    g[:, 0, :, : w // 2] = 0.9
    g[:, 2, :, w // 2 :] = 0.8
    g[:, 1] = torch.linspace(0.2, 0.6, h)[:, None]
    return g


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_smoothing_keeps_constants_and_removes_noise_off_edges(mode):
    guide = _edge_image()
    const = torch.full_like(guide, 0.4)
    assert (M.smooth(const, guide, mode) - 0.4).abs().max() < 1e-3
    clean = guide * 0.5 + 0.2  # an affine function of the guide: follows its edges
    noise = 0.15 * torch.randn(guide.shape, generator=torch.Generator().manual_seed(1))
    out = M.smooth((clean + noise).clamp(0, 1), guide, mode)
    before = ((clean + noise).clamp(0, 1) - clean).abs().mean()
    after = (out - clean).abs().mean()
    assert after < 0.5 * before
    # the guide's edge survives: red stays on the left half only
    assert out[:, 0, :, :12].mean() - out[:, 0, :, 20:].mean() > 0.3


def test_exact_solvers_agree():
    guide = _edge_image(12, 16)
    x = torch.rand(1, 3, 12, 16)
    a = M.smooth_exact(x, guide, method="direct")
    b = M.smooth_exact(x, guide, method="cg", tol=1e-10)
    assert (a - b).abs().max() < 1e-4
    with pytest.raises(InputError):
        M.smooth(x, guide, "bogus")


def test_amg_solver_agrees_with_sparse_lu():
    pytest.importorskip("pyamg")
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:40, 0:48] / 48.0
    g = np.stack([xx, yy, (xx > 0.5) * 0.6 + 0.2], 0) + 0.03 * rng.random((3, 40, 48))
    guide = torch.from_numpy(g.clip(0, 1))[None].float()
    x = torch.from_numpy(rng.random((1, 3, 40, 48))).float()
    lu = M.smooth_exact(x, guide, method="direct").double()
    amg = M.smooth_exact(x, guide, method="amg").double()
    rel = float((amg - lu).norm() / lu.norm())
    assert rel < 1e-3, rel
    assert float((x.double() - lu).norm() / lu.norm()) > 0.05  # the solve did something
    assert M._default_solver("cpu") == "direct"  # measured faster on CPU (benchmarks/photo_speed.py)


def test_local_affine_reproduces_affine_recolouring_and_follows_edges():
    guide = _edge_image()
    recol = (guide.flip(1) * 0.7 + 0.1).clamp(0, 1)  # a global affine colour map of the guide
    out = M.local_affine(recol, guide)
    assert (out - recol).abs().max() < 0.02
    # noise that does not follow the guide is removed, the guide's edge is kept
    noisy = (recol + 0.1 * torch.randn(recol.shape, generator=torch.Generator().manual_seed(2))).clamp(0, 1)
    out = M.local_affine(noisy, guide)
    assert (out - recol).abs().mean() < 0.5 * (noisy - recol).abs().mean()
    blur = torch.nn.functional.avg_pool2d(recol, 5, stride=1, padding=2, count_include_pad=False)
    assert (M.local_affine(blur, guide) - recol).abs().mean() < (blur - recol).abs().mean()
