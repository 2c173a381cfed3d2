"""Colour conversions and colour transfer (pure tensor functions).

Images are ``(N, 3, H, W)`` RGB tensors in [0, 1].
"""

from __future__ import annotations

__all__ = [
    "histogram_match",
    "lab_to_rgb",
    "match_color",
    "mean_cov_affine",
    "mean_cov_match",
    "original_colors",
    "rgb_to_lab",
    "rgb_to_yiq",
    "rgb_to_yuv",
    "sym_sqrtm",
    "weighted_mean_cov",
    "yiq_to_rgb",
    "yuv_to_rgb",
]

import torch

_YUV = torch.tensor([[0.299, 0.587, 0.114], [-0.14713, -0.28886, 0.436], [0.615, -0.51499, -0.10001]])
_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]])


def _apply(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", m.to(x), x)


def rgb_to_yuv(x: torch.Tensor) -> torch.Tensor:
    """RGB → YUV (BT.601)."""
    return _apply(_YUV, x)


def yuv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return _apply(torch.linalg.inv(_YUV.double()).float(), x)


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    """RGB → YIQ (NTSC)."""
    return _apply(_YIQ, x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    return _apply(torch.linalg.inv(_YIQ.double()).float(), x)


def original_colors(stylized: torch.Tensor, content: torch.Tensor, *, space: str = "yuv") -> torch.Tensor:
    """Keep the luminance of ``stylized`` and the chrominance of ``content``
    (neural-style's ``-original_colors 1``)."""
    fwd, inv = (rgb_to_yuv, yuv_to_rgb) if space == "yuv" else (rgb_to_yiq, yiq_to_rgb)
    if content.shape[-2:] != stylized.shape[-2:]:
        content = torch.nn.functional.interpolate(
            content, size=stylized.shape[-2:], mode="bilinear", align_corners=False
        )
    s, c = fwd(stylized), fwd(content)
    return inv(torch.cat([s[:, :1], c[:, 1:]], dim=1)).clamp(0, 1)


def sym_sqrtm(c: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """``c^½`` (or ``c^-½``) of a symmetric positive semi-definite matrix (eigenvalues floored at 1e-8)."""
    evals, evecs = torch.linalg.eigh(c)
    evals = evals.clamp_min(1e-8)
    p = -0.5 if inverse else 0.5
    return evecs @ torch.diag(evals**p) @ evecs.t()


def weighted_mean_cov(x: torch.Tensor, weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(C, 1)`` and covariance ``(C, C)`` of the columns of ``x`` ``(C, N)``, each column
    weighted by ``weights`` ``(N,)`` (all 1 when ``None``); normalised by the weights' sum."""
    w = torch.ones(x.shape[1], dtype=x.dtype, device=x.device) if weights is None else weights.to(x)
    total = w.sum()
    mean = (x * w).sum(1, keepdim=True) / total
    d = x - mean
    return mean, (d * w) @ d.t() / total


def mean_cov_affine(
    source: torch.Tensor,
    target: torch.Tensor,
    source_weights: torch.Tensor | None = None,
    target_weights: torch.Tensor | None = None,
    *,
    eps: float = 1e-5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The affine colour map ``x ↦ A (x − m_s) + m_t`` that gives ``source``'s pixels ``target``'s
    mean and covariance: ``(A, m_s, m_t)``.

    ``source``/``target`` are ``(3, N)`` / ``(3, M)`` pixel columns (optionally weighted, e.g. by a
    segment's mask); ``A = C_t^½ C_s^-½`` is the symmetric square-root solution (Gatys et al.,
    *Preserving Color in Neural Artistic Style Transfer*, the "image analogies" variant); ``eps``
    is added to both covariances' diagonals.  The one mean/covariance colour transfer of the
    package: :func:`mean_cov_match` (whole images) and the per-segment transfer of deep photo
    style (:func:`styleforge.transfer.photoreal.segment_color_transfer`) use it.

    Example:
        >>> x = torch.tensor([[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5]])
        >>> a, ms, mt = mean_cov_affine(x, 2 * x + 1, eps=0.0)
        >>> torch.allclose(a[:2, :2], 2 * torch.eye(2)), torch.allclose(mt - ms, ms + 1)
        (True, True)
    """
    eye = torch.eye(source.shape[0], dtype=source.dtype, device=source.device) * eps
    ms, cs = weighted_mean_cov(source, source_weights)
    mt, ct = weighted_mean_cov(target, target_weights)
    return sym_sqrtm(ct + eye) @ sym_sqrtm(cs + eye, inverse=True), ms, mt


def mean_cov_match(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Affinely transform ``source``'s colours so their mean and covariance equal
    ``target``'s (:func:`mean_cov_affine` over the whole images, ``(1, 3, H, W)`` in [0, 1])."""
    s = source[0].reshape(3, -1).double()
    t = target[0].reshape(3, -1).double()
    a, ms, mt = mean_cov_affine(s, t)
    out = a @ (s - ms) + mt
    return out.reshape(source.shape).to(source.dtype).clamp(0, 1)


def histogram_match(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-channel histogram matching of ``source`` to ``target``."""
    out = torch.empty_like(source)
    for ch in range(3):
        s = source[0, ch].flatten()
        t = torch.sort(target[0, ch].flatten()).values
        ranks = torch.argsort(torch.argsort(s))
        idx = (ranks.double() * (t.numel() - 1) / max(s.numel() - 1, 1)).round().long()
        out[0, ch] = t[idx].reshape(source.shape[-2:])
    return out


def match_color(style: torch.Tensor, content: torch.Tensor, mode: str) -> torch.Tensor:
    """Recolour ``style`` to the colours of ``content`` (``mode`` histogram or mean-cov)."""
    if mode == "histogram":
        return histogram_match(style, content)
    if mode in ("mean-cov", "meancov", "chol", "pca"):
        return mean_cov_match(style, content)
    raise ValueError(f"unknown colour-match mode {mode!r}")


#: sRGB (linear) → XYZ, and the D65 white: skimage.color.rgb2lab's constants.
_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]],
    dtype=torch.float64,
)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] → CIE Lab (D65, as ``skimage.color.rgb2lab``), ``(N, 3, H, W)``; L in [0, 100].

    Computed in float64, returned in ``x``'s dtype.  The package's one Lab conversion (the
    colorization data of :mod:`styleforge.data.transforms`, the photo modes and makeup use it).

    Examples:
        >>> lab = rgb_to_lab(torch.ones(1, 3, 1, 1))
        >>> [round(float(v), 1) + 0.0 for v in lab.flatten()]
        [100.0, 0.0, 0.0]
    """
    d = x.double()
    lin = torch.where(d <= 0.04045, d / 12.92, ((d.clamp_min(0) + 0.055) / 1.055) ** 2.4)
    xyz = _apply(_XYZ, lin) / _WHITE.to(d).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    lab = torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)
    return lab.to(x.dtype)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab (D65) → sRGB, ``(N, 3, H, W)``, in ``lab``'s dtype (not clamped: out-of-gamut colours
    leave [0, 1])."""
    d = lab.double()
    fy = (d[:, 0] + 16) / 116
    f = torch.stack([fy + d[:, 1] / 500, fy, fy - d[:, 2] / 200], dim=1)
    xyz = torch.where(f > 0.206893, f**3, (f - 16 / 116) / 7.787) * _WHITE.to(d).view(1, 3, 1, 1)
    lin = _apply(torch.linalg.inv(_XYZ), xyz)
    rgb = torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin.clamp_min(0) ** (1 / 2.4) - 0.055)
    return rgb.to(lab.dtype)
