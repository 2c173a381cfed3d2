"""Distribution metrics between two image sets: FID and KID (as pytorch-fid / clean-fid), and KID-VGG16.

* :func:`fid_from_features` is pytorch-fid's ``calculate_frechet_distance`` on the features'
  mean and covariance (``np.cov``, ``scipy.linalg.sqrtm``, the same ε-retry and imaginary-part
  check): ``‖μ₁−μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁Σ₂)``.
* :func:`kid_from_features` is clean-fid's ``kernel_distance``: the unbiased MMD² with the cubic
  polynomial kernel ``k(x, y) = (xᵀy / d + 1)³``, averaged over ``num_subsets`` random subsets of
  ``min(n₁, n₂, max_subset_size)`` samples drawn without replacement (seeded here).
* Both need Inception-v3 pool features for the published numbers (FID/KID on Inception are
  only comparable with Inception features, see :mod:`styleforge.engine.inception`).  Offline,
  :func:`vgg16_features` gives the 512-d global average of the offline VGG16's ``relu5_3`` at
  224×224, and ``KID-VGG16`` is KID on those: a proxy, comparable only with itself.
"""

from __future__ import annotations

__all__ = ["fid_from_features", "kid_from_features", "kid_vgg16", "vgg16_features"]

import functools
import warnings
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import InputError


def _np(x: torch.Tensor | np.ndarray) -> np.ndarray:
    return x.detach().double().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)


def fid_from_features(f1: torch.Tensor | np.ndarray, f2: torch.Tensor | np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``(n₁, d)`` and ``(n₂, d)`` (pytorch-fid)."""
    from scipy import linalg

    a, b = _np(f1), _np(f2)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise InputError("FID needs two feature sets (n, d) with the same d and at least 2 samples each")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    diff = mu1 - mu2
    with warnings.catch_warnings():  # a singular product warns; the retry below handles it as pytorch-fid does
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise InputError(f"FID: imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrt(Σ₁Σ₂)")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kid_from_features(
    f1: torch.Tensor | np.ndarray,
    f2: torch.Tensor | np.ndarray,
    *,
    num_subsets: int = 100,
    max_subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """Kernel Inception Distance (clean-fid's ``kernel_distance``) between feature sets ``(n, d)``."""
    a, b = _np(f1), _np(f2)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise InputError("KID needs two feature sets (n, d) with the same d and at least 2 samples each")
    d = a.shape[1]
    m = min(len(a), len(b), max_subset_size)
    rng = np.random.default_rng(seed)
    t = 0.0
    for _ in range(num_subsets):
        x = b[rng.choice(len(b), m, replace=False)]
        y = a[rng.choice(len(a), m, replace=False)]
        k_xx = (x @ x.T / d + 1) ** 3
        k_yy = (y @ y.T / d + 1) ** 3
        k_xy = (x @ y.T / d + 1) ** 3
        t += (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m - 1) - k_xy.sum() * 2 / m
    return float(t / num_subsets / m)


@functools.lru_cache(maxsize=1)
def _vgg16() -> torch.nn.Module:
    from ..backbones import build_backbone

    return build_backbone("vgg16-offline", layers=["relu5_3"])


@torch.no_grad()
def vgg16_features(images: Iterable[torch.Tensor], *, size: int = 224, batch: int = 8) -> torch.Tensor:
    """``(n, 512)``: the offline VGG16's ``relu5_3`` averaged over space, images (RGB in [0, 1]) at ``size``²."""
    net = _vgg16()
    out: list[torch.Tensor] = []
    chunk: list[torch.Tensor] = []

    def flush() -> None:
        x = torch.cat(
            [F.interpolate(c, size=(size, size), mode="bilinear", align_corners=False, antialias=True) for c in chunk]
        )
        out.append(net(x.clamp(0, 1), ["relu5_3"])["relu5_3"].mean((2, 3)).double())
        chunk.clear()

    for img in images:
        chunk.append(img.float().cpu() if img.ndim == 4 else img.float().cpu()[None])
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    if not out:
        raise InputError("no images to compute features of")
    return torch.cat(out)


def kid_vgg16(a: Iterable[torch.Tensor], b: Iterable[torch.Tensor], **kw: int) -> float:
    """KID-VGG16 between two image sets (RGB in [0, 1]); a proxy for KID, comparable only with itself."""
    return kid_from_features(vgg16_features(a), vgg16_features(b), **kw)
