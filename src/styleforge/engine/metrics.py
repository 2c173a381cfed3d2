"""Image quality metrics for translation results: PSNR, SSIM, L1 (images in [0, 1]).

Examples:
    >>> x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> float(ssim(x, x))
    1.0
    >>> round(float(psnr(torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.1))), 2)
    20.0
"""

from __future__ import annotations

__all__ = ["l1", "psnr", "ssim"]

import torch
import torch.nn.functional as F


def psnr(x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image ``(N,)`` (capped at 100 dB for identical images)."""
    mse = ((x.double() - y.double()) ** 2).flatten(1).mean(1)
    return (10 * torch.log10(data_range**2 / mse.clamp_min(1e-10))).float()


def _gaussian(size: int, sigma: float, dtype: torch.dtype) -> torch.Tensor:
    t = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    x: torch.Tensor, y: torch.Tensor, *, data_range: float = 1.0, window: int = 11, sigma: float | None = 1.5
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004; Gaussian 11×11, σ 1.5) per image ``(N,)``, mean over channels.

    ``sigma=None`` uses a uniform ``window``×``window`` box instead. Statistics are population
    (co)variances over valid windows — scikit-image's ``structural_similarity`` with
    ``use_sample_covariance=False`` (and ``gaussian_weights=True, sigma=1.5`` for the default).
    Images smaller than the window use a window of their smaller side.
    """
    x, y = x.double(), y.double()
    c = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2])
    g = torch.full((window,), 1.0 / window, dtype=x.dtype) if sigma is None else _gaussian(window, sigma, x.dtype)
    k = (g[:, None] * g[None, :]).expand(c, 1, window, window).contiguous()

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, k, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    return s.flatten(1).mean(1).float()


def l1(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute error per image ``(N,)``."""
    return (x.float() - y.float()).abs().flatten(1).mean(1)
