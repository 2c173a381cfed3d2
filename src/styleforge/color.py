"""Colour conversions and colour transfer (pure tensor functions).

Images are ``(N, 3, H, W)`` RGB tensors in [0, 1].
"""

from __future__ import annotations

__all__ = [
    "histogram_match",
    "lab_to_rgb",
    "match_color",
    "mean_cov_match",
    "original_colors",
    "rgb_to_lab",
    "rgb_to_yiq",
    "rgb_to_yuv",
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
        content = torch.nn.functional.interpolate(content, size=stylized.shape[-2:], mode="bilinear", align_corners=False)
    s, c = fwd(stylized), fwd(content)
    return inv(torch.cat([s[:, :1], c[:, 1:]], dim=1)).clamp(0, 1)


def _sqrtm(c: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    evals, evecs = torch.linalg.eigh(c)
    evals = evals.clamp_min(1e-8)
    p = -0.5 if inverse else 0.5
    return evecs @ torch.diag(evals**p) @ evecs.t()


def mean_cov_match(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Affinely transform ``source``'s colours so their mean and covariance equal
    ``target``'s (Gatys et al., *Preserving Color in Neural Artistic Style
    Transfer*, the symmetric "image analogies" square-root variant)."""
    s = source[0].reshape(3, -1).double()
    t = target[0].reshape(3, -1).double()
    ms, mt = s.mean(1, keepdim=True), t.mean(1, keepdim=True)
    eye = torch.eye(3, dtype=s.dtype) * 1e-5
    cs = torch.cov(s) + eye
    ct = torch.cov(t) + eye
    a = _sqrtm(ct) @ _sqrtm(cs, inverse=True)
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


_XYZ = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]], dtype=torch.float64)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] → CIE Lab (D65), ``(N, 3, H, W)``; L in [0, 100]."""
    lin = torch.where(x <= 0.04045, x / 12.92, ((x.clamp_min(0) + 0.055) / 1.055) ** 2.4)
    xyz = _apply(_XYZ, lin) / _WHITE.to(x).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab (D65) → sRGB, ``(N, 3, H, W)`` (not clamped: out-of-gamut colours leave [0, 1])."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f > 0.206893, f**3, (f - 16 / 116) / 7.787) * _WHITE.to(lab).view(1, 3, 1, 1)
    lin = _apply(torch.linalg.inv(_XYZ).to(lab.dtype), xyz)
    return torch.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin.clamp_min(0) ** (1 / 2.4) - 0.055)
