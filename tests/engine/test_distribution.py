"""FID and KID formulas against independent computations on small random feature sets; KID-VGG16."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from styleforge.engine.distribution import fid_from_features, kid_from_features
from styleforge.errors import InputError


def _fid_by_eigenvalues(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½): symmetric square roots, no sqrtm."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1 = (a - mu1).T @ (a - mu1) / (len(a) - 1)
    s2 = (b - mu2).T @ (b - mu2) / (len(b) - 1)
    w, v = np.linalg.eigh(s1)
    r1 = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    lam = np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(lam).sum())


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with k(u, v) = (u·v/d + 1)³, by explicit sums over i ≠ j."""
    d, m = x.shape[1], len(x)

    def k(u: np.ndarray, v: np.ndarray) -> float:
        return (float(np.dot(u, v)) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_fid_equals_the_eigenvalue_formula() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(60, 6))
    b = rng.normal(size=(50, 6)) @ rng.normal(size=(6, 6)) * 0.7 + 0.3
    assert fid_from_features(a, b) == pytest.approx(_fid_by_eigenvalues(a, b), rel=1e-9, abs=1e-9)
    assert fid_from_features(torch.from_numpy(a), torch.from_numpy(a)) == pytest.approx(0.0, abs=1e-6)


def test_kid_on_whole_sets_equals_the_unbiased_mmd() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(12, 5)) + 0.5
    # one subset of all 12 samples: the draw is a permutation, which MMD² does not see
    assert kid_from_features(y, x, num_subsets=1) == pytest.approx(_mmd2_unbiased(x, y), rel=1e-10)


def test_kid_with_subsets_is_near_zero_for_one_distribution_and_seeded() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(200, 8)), rng.normal(size=(200, 8))
    same = kid_from_features(a, b, num_subsets=20, max_subset_size=50)
    shifted = kid_from_features(a, b + 1.0, num_subsets=20, max_subset_size=50)
    assert abs(same) < 0.05 < shifted
    assert kid_from_features(a, b, num_subsets=5, max_subset_size=50, seed=3) == kid_from_features(
        a, b, num_subsets=5, max_subset_size=50, seed=3
    )


def test_bad_feature_sets_are_one_line() -> None:
    with pytest.raises(InputError, match="same d"):
        fid_from_features(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(InputError, match="at least 2"):
        kid_from_features(np.zeros((1, 3)), np.zeros((4, 3)))


@pytest.mark.slow  # converts the offline VGG16 into a fresh test cache (~1 min on a busy machine)
def test_kid_vgg16_tells_two_image_sets_apart() -> None:
    from styleforge.engine.distribution import kid_vgg16, vgg16_features

    g = torch.Generator().manual_seed(0)
    noise = [torch.rand(1, 3, 48, 48, generator=g) for _ in range(6)]
    noise2 = [torch.rand(1, 3, 48, 48, generator=g) for _ in range(6)]
    flat = [
        torch.full((1, 3, 48, 48), v) * torch.tensor([1.0, 0.5, 0.2]).view(1, 3, 1, 1)
        for v in torch.linspace(0.2, 0.9, 6)
    ]
    assert vgg16_features(noise).shape == (6, 512)
    assert kid_vgg16(noise, noise2, num_subsets=10) < kid_vgg16(noise, flat, num_subsets=10)
