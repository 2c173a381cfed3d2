"""Fast photorealistic transfer: solve at low resolution, fit an edge-aware colour model, apply it big.

``styleforge photo`` (default ``--method fast``); no optimisation, no training:

1. Both photos at ``work_size`` (256 px): per-segment colour transfer in CIE Lab
   — each content segment gets the **optimal-transport affine map** (the
   Monge map between Gaussians) onto the matching style segment's mean and
   covariance.  Segments come from DPST colour masks or
   :func:`~styleforge.transfer.automask.auto_masks`.
2. With automatic masks, closed-form matting smoothing of that low-res result,
   ``(I + α L/9) y = x`` (cheap at 256 px), so the segments' colour maps meet
   along the photo's edges, not along the clusters' borders.
3. An **edge-aware local affine model**: per-pixel affine maps
   ``content → y`` fitted in small windows (guided-filter statistics), averaged,
   upsampled bilinearly and applied to the full-resolution photo in row bands
   (He & Sun's fast guided filter): every output pixel is an affine function of
   the input pixel, so the photo's full-resolution detail and edges stay.
4. A **global 33³ 3D LUT** fitted by least squares to the same low-res pair —
   the reusable look (:mod:`~styleforge.transfer.lut`, ``--save-look``).
"""

from __future__ import annotations

__all__ = [
    "FastConfig",
    "FastResult",
    "apply_affine",
    "fast_config",
    "fast_nbytes",
    "fast_transfer",
    "fit_labels",
    "lab_transfer",
    "work_tensor",
]

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import InputError
from .config import FastConfig, fast_config
from .lut import Lut3D, apply_lut, fit_lut
from .segmentation import fit_labels

log = logging.getLogger(__name__)


@dataclass
class FastResult:
    image: np.ndarray  # (H, W, 3) uint8, full resolution
    look: Lut3D | None  # None when not asked for (fitting it is the slowest step)
    work: torch.Tensor  # (1, 3, h, w) low-res result of the local model
    content_labels: np.ndarray | None = None
    style_labels: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)


def fast_nbytes(height: int, width: int, band: int = 256) -> int:
    """Peak memory estimate (bytes) of applying the model to an ``H×W`` image: input and output
    (uint8), the coefficients upsampled along x (12 float32 rows per low-res row) and one band."""
    return height * width * 6 + 12 * 4 * width * (1024 + 2 * band) + (64 << 20)


def check_fast_memory(height: int, width: int, budget: int | None = None) -> None:
    """:class:`InputError` (saying the size that fits) when the image would not fit in memory."""
    from .matting import available_bytes

    budget = available_bytes() if budget is None else budget
    need = fast_nbytes(height, width)
    if need > budget:
        k = (budget / need) ** 0.5
        raise InputError(
            f"a {width}×{height} image needs ≈ {need / 2**30:.1f} GiB but only {budget / 2**30:.1f} GiB is "
            f"available: use --image-size {int(max(width, height) * k * 0.95)} or a smaller photo"
        )


def _sqrtm_sym(c: torch.Tensor, power: float) -> torch.Tensor:
    w, v = torch.linalg.eigh(c)
    return (v * w.clamp_min(1e-10) ** power) @ v.t()


def monge_map(
    mc: torch.Tensor, cc: torch.Tensor, ms: torch.Tensor, cs: torch.Tensor, max_gain: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Optimal-transport affine map ``x ↦ A(x − mc) + ms`` between Gaussians ``N(mc, cc) → N(ms, cs)``;
    ``A = cc^-½ (cc^½ cs cc^½)^½ cc^-½`` with its singular values capped at ``max_gain``."""
    r = _sqrtm_sym(cc, 0.5)
    ri = _sqrtm_sym(cc, -0.5)
    a = ri @ _sqrtm_sym(r @ cs @ r, 0.5) @ ri
    u, s, vt = torch.linalg.svd(a)
    a = (u * s.clamp_max(max_gain)) @ vt
    return a, ms


def lab_transfer(
    content: torch.Tensor,
    style: torch.Tensor,
    content_labels: np.ndarray | None = None,
    style_labels: np.ndarray | None = None,
    *,
    max_gain: float = 4.0,
    reg: float = 1.0,
) -> torch.Tensor:
    """Per-segment optimal-transport colour transfer in Lab of ``(1, 3, H, W)`` images in [0, 1].

    Each content label's pixels are mapped by the Gaussian Monge map onto the same
    label's style pixels (``reg`` is added to the covariances, in Lab units²).
    """
    from ..color import lab_to_rgb, rgb_to_lab

    x = rgb_to_lab(content.double())[0].reshape(3, -1)
    y = rgb_to_lab(style.double())[0].reshape(3, -1)
    cl = np.zeros(x.shape[1], np.int64) if content_labels is None else np.asarray(content_labels).reshape(-1)
    sl = np.zeros(y.shape[1], np.int64) if style_labels is None else np.asarray(style_labels).reshape(-1)
    if cl.size != x.shape[1] or sl.size != y.shape[1]:
        raise ValueError("label maps must have their image's size")
    out = x.clone()
    eye = torch.eye(3, dtype=x.dtype) * reg
    for k in np.unique(cl):
        ci = torch.from_numpy(np.flatnonzero(cl == k))
        si = torch.from_numpy(np.flatnonzero(sl == k))
        if len(si) < 4:
            si = torch.arange(y.shape[1])  # no style region of this label: the whole style photo
        xc, ys = x[:, ci], y[:, si]
        mc, ms = xc.mean(1, keepdim=True), ys.mean(1, keepdim=True)
        cc = torch.cov(xc) + eye if xc.shape[1] > 1 else eye
        cs = torch.cov(ys) + eye
        a, m = monge_map(mc, cc, ms, cs, max_gain)
        out[:, ci] = a @ (xc - mc) + m
    rgb = lab_to_rgb(out.reshape(1, 3, *content.shape[-2:]))
    return rgb.clamp(0, 1).to(content.dtype)


def affine_coefficients(target: torch.Tensor, guide: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """Guided-filter coefficients ``(12, H, W)`` (9 of ``A`` row-major, 3 of ``b``): window-averaged
    per-pixel affine maps with ``target ≈ A·guide + b`` (He et al.)."""
    from .matting import affine_fit, box_mean

    h, w = guide.shape[-2:]
    a, b = affine_fit(target[0].double(), guide[0].double(), radius, eps, per_pixel_reg=False)
    am = box_mean(a.reshape(1, 9, h, w), radius)[0]
    bm = box_mean(b[None], radius)[0]
    return torch.cat([am, bm]).float()


def apply_affine(coef: torch.Tensor, image: np.ndarray, *, band: int = 256, strength: float = 1.0) -> np.ndarray:
    """Apply low-res coefficients ``(12, h, w)`` to a full-res ``(H, W, 3)`` uint8 image → uint8.

    The coefficients are upsampled bilinearly (``align_corners=False``, as
    ``F.interpolate``) along x once, then along y one band of rows at a time,
    so memory stays at a few hundred MB for a 12-megapixel photo.
    """
    hh, ww = image.shape[:2]
    h, w = coef.shape[-2:]
    cx = F.interpolate(coef[None], size=(h, ww), mode="bilinear", align_corners=False)[0]  # (12, h, W)
    sy = ((torch.arange(hh, dtype=torch.float64) + 0.5) * h / hh - 0.5).clamp(0, h - 1)
    y0 = sy.floor().long().clamp(max=h - 1)
    y1 = (y0 + 1).clamp(max=h - 1)
    fy = (sy - y0).float()
    out = np.empty_like(image)
    for r0 in range(0, hh, band):
        r1 = min(hh, r0 + band)
        f = fy[r0:r1].view(1, -1, 1)
        c = cx[:, y0[r0:r1]] * (1 - f) + cx[:, y1[r0:r1]] * f  # (12, rows, W)
        g = torch.from_numpy(np.array(image[r0:r1], dtype=np.float32)).permute(2, 0, 1) / 255.0
        y = torch.einsum("cirw,irw->crw", c[:9].reshape(3, 3, r1 - r0, ww), g) + c[9:]
        if strength < 1.0:
            y = g + strength * (y - g)
        out[r0:r1] = (y.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    return out


def apply_look(look: Lut3D, image: np.ndarray, *, band: int = 512, strength: float = 1.0) -> np.ndarray:
    """Apply a LUT to a ``(H, W, 3)`` uint8 image in bands → uint8."""
    out = np.empty_like(image)
    for r0 in range(0, image.shape[0], band):
        x = image[r0 : r0 + band].astype(np.float32) / 255.0
        y = apply_lut(look, x)
        if strength < 1.0:
            y = x + strength * (y - x)
        out[r0 : r0 + band] = (np.clip(y, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    return out


def work_tensor(img: Image.Image, size: int) -> torch.Tensor:
    """``img`` as a ``(1, 3, h, w)`` tensor with its long side at most ``size`` (the work size)."""
    from ..io import pil_to_tensor, resize_max_side

    return pil_to_tensor(resize_max_side(img, min(size, max(img.size))))


def fast_transfer(
    content: Image.Image,
    style: Image.Image,
    cfg: FastConfig = FastConfig(),
    *,
    content_labels: np.ndarray | None = None,
    style_labels: np.ndarray | None = None,
    auto: bool = True,
    net: torch.nn.Module | None = None,
    look: bool = True,
) -> FastResult:
    """Give ``content`` (any size; the output has its size) the look of ``style``.

    ``content_labels``/``style_labels``: label maps (DPST masks parsed with
    :func:`~styleforge.transfer.segmentation.parse_mask`) at the work size of
    each photo (resized with nearest neighbour otherwise).  Without them and
    with ``auto``, segments come from :func:`~styleforge.transfer.automask.auto_masks`;
    without them and without ``auto``, each photo is one segment.  ``look``: also fit
    the global LUT (always done when ``cfg.local`` is off: it is then the output).
    """
    cfg.validate()
    if (content_labels is None) != (style_labels is None):
        raise InputError("give both masks, or neither")
    ww, hh = content.size
    check_fast_memory(hh, ww)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    c = work_tensor(content, cfg.work_size)
    s = work_tensor(style, cfg.work_size)
    cl: np.ndarray | None
    sl: np.ndarray | None
    if content_labels is not None and style_labels is not None:
        cl = fit_labels(content_labels, c.shape[-2:])
        sl = fit_labels(style_labels, s.shape[-2:])
    elif auto and cfg.segments > 1:
        from .automask import auto_masks

        t = time.perf_counter()
        cl, sl = auto_masks(c, s, segments=cfg.segments, net=net)
        timings["masks"] = time.perf_counter() - t
    else:
        cl = sl = None
    t = time.perf_counter()
    y = lab_transfer(c, s, cl, sl, max_gain=cfg.max_gain)
    timings["colour"] = time.perf_counter() - t
    mode = cfg.smooth if cfg.smooth != "auto" else ("exact" if "masks" in timings else "none")
    if mode != "none":
        from .matting import smooth

        t = time.perf_counter()
        kw = {"alpha": cfg.smooth_alpha} if mode == "exact" else {}
        y = smooth(y, c, mode, **kw)
        timings["smooth"] = time.perf_counter() - t
    t = time.perf_counter()
    coef = affine_coefficients(y, c, cfg.radius, cfg.eps)
    g = c[0].double()
    work = (torch.einsum("cihw,ihw->chw", coef[:9].double().reshape(3, 3, *g.shape[-2:]), g) + coef[9:]).clamp(0, 1)
    work = work[None].float()
    lut = None
    if look or not cfg.local:
        lut = fit_lut(
            c[0].permute(1, 2, 0).numpy(),
            work[0].permute(1, 2, 0).numpy(),
            cfg.lut_size,
            smoothness=cfg.lut_smoothness,
            title="styleforge look",
        )
    timings["fit"] = time.perf_counter() - t
    t = time.perf_counter()
    full = np.asarray(content.convert("RGB"))
    if cfg.local:
        out = apply_affine(coef, full, strength=cfg.strength)
    else:
        out = apply_look(lut, full, strength=cfg.strength)  # type: ignore[arg-type]
    timings["apply"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    log.debug("fast photo %d×%d: %s", ww, hh, " ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
    return FastResult(out, lut, work, cl, sl, timings)


def default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
