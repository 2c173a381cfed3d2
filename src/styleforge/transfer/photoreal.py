"""Photorealistic style transfer: Deep Photo Style Transfer (Luan et al. 2017) in PyTorch + SciPy.

Pipeline (:func:`photo_transfer`):

1. **Stage 1** — segmented style transfer without the photorealism term,
   started (by default) from a per-segment mean/covariance colour transfer: one
   Gram target per colour segment of the style mask, compared inside the same
   colour's region of the content mask and weighted by that region's area
   (DPST's augmented style loss, reproduced exactly with neural-style's
   normalisation).  Without masks the whole image is one segment.
2. **Stage 2** — initialised from stage 1, with the photorealism term
   ``λ Σ_c V_cᵀ L V_c`` (matting Laplacian ``L`` of the content, ``V`` the
   output in [0, 1]).  DPST adds ``λ · 2 L V/256`` to the gradient of the
   caffe-scale (0–255) image; our optimiser works on the 0–255 scale with
   ``V = x/255``, so the same ``λ`` (default ``10⁴``) gives the same balance
   against the content and style losses.
3. **Post-process** — optional closed-form smoothing (``smooth="exact"``,
   FastPhotoStyle's ``(I + αL̃) y = x``; ``"fast"``: guided filter), then DPST's
   smooth local affine fit (``f_radius`` 7, ``f_edge`` 0.05) so every output
   pixel is an affine function of the content's colour and keeps its edges.
"""

from __future__ import annotations

__all__ = ["PhotoConfig", "PhotoResult", "photo_config", "photo_stylize", "photo_transfer", "segment_color_transfer"]

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import InputError
from .automask import prepare_masks
from .config import GatysConfig, PhotoConfig, photo_config
from .gatys import Callback, pick_device, stylize_tensor
from .matting import check_memory, laplacian_for, local_affine, photorealism_loss, smooth
from .segmentation import check_mask_size, mask_tensors, pair_masks, parse_mask

log = logging.getLogger(__name__)


@dataclass
class PhotoResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], final
    stage1: torch.Tensor | None = None
    stage2: torch.Tensor | None = None
    losses: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)
    interrupted: bool = False


def _labels(seg: Image.Image | np.ndarray, size: tuple[int, int], tolerance: float, what: str) -> np.ndarray:
    if isinstance(seg, np.ndarray) and seg.ndim == 2 and seg.dtype.kind in "iu" and seg.max() < 9:
        if seg.shape[::-1] != size:
            raise InputError(f"{what} label map is {seg.shape[1]}×{seg.shape[0]}, expected {size[0]}×{size[1]}")
        return seg
    img = seg if isinstance(seg, Image.Image) else Image.fromarray(np.asarray(seg, dtype=np.uint8))
    img = check_mask_size(img.convert("RGB"), size, what=what)
    return parse_mask(img, tolerance=tolerance, what=what)


def segment_color_transfer(
    content: torch.Tensor,
    style: torch.Tensor,
    content_masks: list[torch.Tensor] | None = None,
    style_masks: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Per-segment affine colour transfer (mean and covariance of each content region set to its
    style region's, :func:`styleforge.color.mean_cov_affine`), a photorealistic starting point for stage 1."""
    from ..color import mean_cov_affine

    cms = content_masks or [torch.ones_like(content[:, :1])]
    sms = style_masks or [torch.ones_like(style[:, :1])]
    x = content[0].reshape(3, -1).double()
    y = style[0].reshape(3, -1).double()
    out = torch.zeros_like(x)
    for cm, sm in zip(cms, sms, strict=True):
        wc = cm.reshape(-1).double().to(x.device)
        ws = sm.reshape(-1).double().to(y.device)
        if wc.sum() < 1 or ws.sum() < 1:
            out += wc * x
            continue
        a, mc, ms = mean_cov_affine(x, y, wc, ws, eps=1e-4)
        out += wc * (a @ (x - mc) + ms)
    return out.reshape(content.shape).to(content.dtype).clamp(0, 1)


def _backbone(cfg: GatysConfig, device: torch.device) -> torch.nn.Module:
    from ..backbones import build_backbone
    from .gatys import layer_setup

    probe = build_backbone(cfg.backbone, layers=(), pooling=cfg.pooling, weights=cfg.weights)
    c_layers, s_layers, _ = layer_setup(cfg, probe)
    return build_backbone(
        cfg.backbone, layers=c_layers + s_layers, pooling=cfg.pooling, weights=cfg.weights, device=device
    )


def photo_transfer(
    content: torch.Tensor,
    style: torch.Tensor,
    cfg: PhotoConfig = PhotoConfig(),
    *,
    content_seg: Image.Image | np.ndarray | None = None,
    style_seg: Image.Image | np.ndarray | None = None,
    net: torch.nn.Module | None = None,
    callback: Callback | None = None,
    progress: bool = False,
    on_stage1: Callable[[torch.Tensor], None] | None = None,
) -> PhotoResult:
    """Photorealistic transfer of ``style``'s look onto ``content`` (both ``(1, 3, H, W)`` in [0, 1]).

    ``content`` is used at its size (resize it to the output size first);
    ``content_seg``/``style_seg`` are DPST colour masks (PIL images at their
    image's size, or label maps from :func:`~styleforge.transfer.segmentation.parse_mask`).
    """
    cfg.validate()
    g = cfg.gatys
    g.validate(1)
    if (content_seg is None) != (style_seg is None):
        raise InputError("give both --content-mask and --style-mask, or neither")
    h, w = (int(v) for v in content.shape[-2:])
    stage2_iters = cfg.stage2()
    needs_lap = (cfg.photo_weight > 0 and stage2_iters > 0) or cfg.smooth == "exact"
    if needs_lap:
        check_memory(h, w)  # fail before any optimisation
    device = pick_device(g.device)
    result = PhotoResult(image=content)
    t0 = time.perf_counter()

    styles: list[torch.Tensor] = [style]
    kwargs: dict[str, Any] = {}
    blend = None
    if content_seg is not None and style_seg is not None:
        sh, sw = (int(v) for v in style.shape[-2:])
        cl = _labels(content_seg, (w, h), cfg.mask_tolerance, "content mask")
        sl = _labels(style_seg, (sw, sh), cfg.mask_tolerance, "style mask")
        pairs = pair_masks(cl, sl)
        cms, sms, fractions = mask_tensors(pairs)
        result.segments = [p.name for p in pairs]
        if len(pairs) > 1:
            styles = [style] * len(pairs)
            kwargs = {"style_masks": cms, "style_target_masks": sms}
            blend = tuple(fractions)
        else:  # one colour in the content: the style region is the only target
            kwargs = {"style_masks": None, "style_target_masks": sms}
    result.timings["masks"] = time.perf_counter() - t0
    if net is None:
        net = _backbone(g, device)

    cfg1 = replace(g, style_blend_weights=blend)
    init = None
    if cfg.color_init and g.init == "content":
        cm_list = kwargs.get("style_masks") or None
        sm_list = kwargs.get("style_target_masks") or None
        if cm_list is None and sm_list is not None:  # one content colour
            cm_list = [torch.ones_like(content[:, :1])]
        init = segment_color_transfer(content, style, cm_list, sm_list)
        cfg1 = replace(cfg1, init="image")
    t = time.perf_counter()
    r1 = stylize_tensor(content, styles, cfg1, net=net, callback=callback, progress=progress, init_image=init, **kwargs)
    result.timings["stage1"] = time.perf_counter() - t
    result.stage1 = r1.image
    result.losses = dict(r1.losses)
    out = r1.image
    if on_stage1 is not None:
        on_stage1(out)
    if r1.interrupted:
        result.interrupted = True

    if not result.interrupted and cfg.photo_weight > 0 and stage2_iters > 0:
        t = time.perf_counter()
        lap0 = laplacian_for(content, cfg.eps)  # build (and time) it once, outside the optimiser
        result.timings["laplacian"] = time.perf_counter() - t
        del lap0
        lam = float(cfg.photo_weight)

        def photo_term(img: torch.Tensor) -> dict[str, torch.Tensor]:
            ref = (
                content
                if tuple(img.shape[-2:]) == (h, w)
                else F.interpolate(content, size=img.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
            )
            lap = laplacian_for(ref, cfg.eps).torch(img.device)
            return {"photo": lam * photorealism_loss(img, lap)}

        cfg2 = replace(cfg1, init="image", iterations=stage2_iters, scale_iterations=None, scales=cfg.stage2_scales)
        t = time.perf_counter()
        r2 = stylize_tensor(
            content,
            styles,
            cfg2,
            net=net,
            callback=callback,
            progress=progress,
            init_image=out,
            extra_loss=photo_term,
            **kwargs,
        )
        result.timings["stage2"] = time.perf_counter() - t
        out = result.stage2 = r2.image
        result.losses = dict(r2.losses)
        result.interrupted = r2.interrupted

    guide = content.to(out.device)
    if cfg.smooth != "none":
        t = time.perf_counter()
        kw = {"alpha": cfg.smooth_alpha, "eps": cfg.eps} if cfg.smooth == "exact" else {}
        out = smooth(out, guide, cfg.smooth, **kw)
        result.timings["smooth"] = time.perf_counter() - t
    if cfg.local_affine:
        t = time.perf_counter()
        out = local_affine(out, guide, f_radius=cfg.f_radius, f_edge=cfg.f_edge)
        result.timings["local_affine"] = time.perf_counter() - t
    result.timings["total"] = time.perf_counter() - t0
    result.image = out.cpu()
    return result


def photo_stylize(
    content: Any,
    style: Any,
    *,
    content_mask: Any = None,
    style_mask: Any = None,
    auto_masks: bool = True,
    segments: int = 3,
    progress: bool = False,
    return_result: bool = False,
    **options: Any,
) -> Image.Image | PhotoResult:
    """Photorealistic style transfer from paths / PIL images — the API of ``styleforge photo``.

    ``options`` are fields of :class:`PhotoConfig` (``photo_weight``,
    ``smooth``, ``local_affine``, …) or of :class:`GatysConfig`
    (``image_size``, ``iterations``, ``seed``, …); those left out keep the
    defaults of ``styleforge photo --method dpst`` (:func:`~styleforge.transfer.config.photo_config`).
    Without masks and with ``auto_masks`` (the default, as on the command line), ``segments``
    matched segments are found automatically
    (:func:`~styleforge.transfer.automask.prepare_masks`).

    Example:
        >>> from styleforge.transfer.photoreal import photo_stylize
        >>> img = photo_stylize("in.jpg", "tar.jpg", image_size=384, iterations=100)  # doctest: +SKIP
    """
    from ..io import load_input, pil_to_tensor, resize_max_side, tensor_to_pil

    pcfg = photo_config(**options)
    gcfg = pcfg.gatys
    pcfg.validate()
    gcfg.validate(1)
    c_img = resize_max_side(load_input(content, kind="content", what="content image"), gcfg.image_size)
    s_img = resize_max_side(load_input(style, what="style image"), round(gcfg.image_size * gcfg.style_scale))
    maps = prepare_masks(
        c_img, s_img, content_mask, style_mask, auto=auto_masks, segments=segments, tolerance=pcfg.mask_tolerance
    )
    cseg, sseg = maps if maps is not None else (None, None)
    res = photo_transfer(
        pil_to_tensor(c_img), pil_to_tensor(s_img), pcfg, content_seg=cseg, style_seg=sseg, progress=progress
    )
    return res if return_result else tensor_to_pil(res.image)
