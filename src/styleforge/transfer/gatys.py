"""Gatys et al.'s neural algorithm of artistic style, with neural-style's options.

:func:`stylize_tensor` optimises an image so that its backbone features match
the content photo's (``content_layers``) and its Gram matrices match the style
paintings' (``style_layers``).  It runs coarse-to-fine by default
(``scales=(0.25, 0.5, 1.0)`` of ``image_size``): each stage starts from the
upsampled result of the previous one, so most iterations happen on small
images.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_FINAL_ITERATIONS",
    "ExtraLoss",
    "GatysConfig",
    "StageInfo",
    "StylizeResult",
    "amp_dtype",
    "default_scale_iterations",
    "gatys_config",
    "plan_stages",
    "stylize_tensor",
]

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import DEFAULT_LAYERS, build_backbone
from ..color import match_color, original_colors
from ..errors import InputError
from ..losses import (
    chain_gram,
    content_loss,
    gram_matrix,
    gram_style_loss,
    masked_gram_matrix,
    style_loss,
    tv_loss,
)
from .config import DEFAULT_FINAL_ITERATIONS, GatysConfig, default_scale_iterations, gatys_config

log = logging.getLogger(__name__)

#: fp32 backbone passes on the CPU take channels-last input (see :meth:`_Objective.features`).
CPU_CHANNELS_LAST = True


@dataclass
class StageInfo:
    index: int
    count: int
    size: tuple[int, int]  # (H, W)
    iterations: int


@dataclass
class StylizeResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1]
    losses: dict[str, float] = field(default_factory=dict)
    history: list[float] = field(default_factory=list)  # total loss per evaluation (final stage)
    interrupted: bool = False
    evaluations: int = 0


Callback = Callable[[StageInfo, int, dict[str, float], torch.Tensor], None]
#: Extra weighted loss terms of the image being optimised (``(1, 3, h, w)`` in [0, 1] at the stage's size).
ExtraLoss = Callable[[torch.Tensor], dict[str, torch.Tensor]]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda requested but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("--device mps requested but MPS is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise InputError(f"unknown --device {name!r}; choose auto, cpu, cuda or mps")
    return torch.device(name)


def plan_stages(cfg: GatysConfig, content_hw: tuple[int, int]) -> list[StageInfo]:
    """Sizes and iteration counts of the coarse-to-fine stages.

    Each scale runs :meth:`GatysConfig.stage_iterations` evaluations (coarse to
    fine).  Stages smaller than 128 px on the long side are skipped (too coarse
    for the deep layers).
    """
    h, w = content_hw
    scales = sorted(set(cfg.scales))
    counts = list(cfg.stage_iterations())
    if len(counts) != len(scales):
        raise InputError(f"--scale-iterations has {len(counts)} values for {len(scales)} scales")
    planned = []
    for s, n_it in zip(scales, counts, strict=True):
        long_side = round(cfg.image_size * s)
        if long_side < 128 and s != scales[-1]:
            continue
        k = long_side / max(h, w)
        planned.append(((max(8, round(h * k)), max(8, round(w * k))), int(n_it)))
    return [StageInfo(i, len(planned), size, n_it) for i, (size, n_it) in enumerate(planned)]


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the backbone passes for ``--amp`` (``None``: fp32).

    ``auto`` uses bf16 on CPUs that compute it natively (AMX or AVX512-BF16,
    ≈ 1.5–1.8× faster VGG passes) and fp32 elsewhere (CUDA already runs TF32);
    Gram matrices, losses and the optimiser stay in fp32 either way.
    """
    if amp == "bf16" and device.type in ("cpu", "cuda"):
        return torch.bfloat16
    if amp == "auto" and device.type == "cpu":
        from ..precision import cpu_has_native_bf16

        return torch.bfloat16 if cpu_has_native_bf16() else None
    return None


def resize_bilinear(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``x`` ``(N, C, H, W)`` resized to ``size`` = ``(h, w)`` (bilinear, antialiased when shrinking)."""
    hw = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == hw:
        return x
    antialias = hw[0] < x.shape[-2]
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=antialias)


def _weighted_sum(weights: Sequence[float], tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    out = weights[0] * tensors[0]
    for w, t in zip(weights[1:], tensors[1:], strict=True):
        out = out + w * t
    return out


def layer_setup(cfg: GatysConfig, net: nn.Module) -> tuple[list[str], list[str], list[float]]:
    family = "vgg"
    content_layers = list(cfg.content_layers or DEFAULT_LAYERS[family][0])
    if cfg.improved and cfg.style_layers is None:
        names: list[str] = list(getattr(net, "names", []))
        style_layers = [n for n in names if n.startswith("relu")]
    else:
        style_layers = list(cfg.style_layers or DEFAULT_LAYERS[family][1])
    if hasattr(net, "default_layers") and cfg.content_layers is None and cfg.style_layers is None:
        defaults = cast(tuple[Sequence[str], Sequence[str]], net.default_layers)
        content_layers, style_layers = list(defaults[0]), list(defaults[1])
    if cfg.style_layer_weights is not None:
        if len(cfg.style_layer_weights) != len(style_layers):
            raise InputError(f"{len(cfg.style_layer_weights)} style layer weights for {len(style_layers)} style layers")
        weights = list(cfg.style_layer_weights)
    elif cfg.improved:
        # Novak & Nikulin: geometric weights growing with depth, deepest = 1.
        n = len(style_layers)
        weights = [2.0 ** -(n - 1 - i) for i in range(n)]
        total = sum(weights)
        weights = [w * n / total for w in weights]
    else:
        weights = [1.0] * len(style_layers)
    return content_layers, style_layers, weights


class _Objective:
    """Precomputed targets and the loss of one stage."""

    def __init__(
        self,
        net: nn.Module,
        cfg: GatysConfig,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        blend: Sequence[float],
        style_masks: Sequence[torch.Tensor | None] | None,
        content_layers: list[str],
        style_layers: list[str],
        layer_weights: list[float],
        style_target_masks: Sequence[torch.Tensor | None] | None = None,
        extra_loss: ExtraLoss | None = None,
        amp: torch.dtype | None = None,
    ) -> None:
        self.net, self.cfg, self.amp = net, cfg, amp
        self.extra_loss = extra_loss
        self.content_layers, self.style_layers = content_layers, style_layers
        self.layer_weights = layer_weights
        self.shift = -1.0 if cfg.improved else 0.0
        self.layers = list(dict.fromkeys(content_layers + style_layers))
        self.masked = style_masks is not None and any(m is not None for m in style_masks)
        self.masks = [None if m is None else m.to(content) for m in (style_masks or [None] * len(styles))]
        # Layers whose features only feed plain Gram losses: with ``amp`` they stay in its dtype
        # (:func:`~styleforge.losses.gram_style_loss`, about 10 % faster per evaluation).
        plain = not self.masked and not cfg.improved and self.shift == 0.0
        self.low_precision = set(style_layers) - set(content_layers) if plain else set()
        # chain pairs: consecutive style layers with the same spatial size (improved mode)
        self.chains: list[tuple[str, str]] = []
        with torch.no_grad():
            cf = self.features(content, content_layers)
            self.content_targets = {k: v.detach() for k, v in cf.items()}
            per_style: list[dict[str, torch.Tensor]] = []
            per_chain: list[dict[tuple[str, str], torch.Tensor]] = []
            tmasks = list(style_target_masks or [None] * len(styles))
            seen: dict[int, dict[str, torch.Tensor]] = {}  # the same style tensor is run once
            for s, tm in zip(styles, tmasks, strict=True):
                if id(s) not in seen:  # the targets' Grams in float32 (once per stage)
                    seen[id(s)] = {k: v.float() for k, v in self.features(s, style_layers).items()}
                sf = seen[id(s)]
                if tm is None:
                    per_style.append({k: gram_matrix(v, shift=self.shift) for k, v in sf.items()})
                else:  # target Gram of the style image's region only (DPST's segment-matched style)
                    tm = tm.to(s)
                    per_style.append({k: masked_gram_matrix(v, tm, shift=self.shift) for k, v in sf.items()})
                if cfg.improved:
                    if not self.chains:
                        self.chains = [
                            (a, b)
                            for a, b in zip(style_layers, style_layers[1:], strict=False)
                            if sf[a].shape[-2:] == sf[b].shape[-2:]
                        ]
                    per_chain.append({(a, b): chain_gram(sf[a], sf[b], shift=self.shift) for a, b in self.chains})
            self.chain_targets: list[dict[tuple[str, str], torch.Tensor]]
            if self.masked:
                self.style_targets = per_style  # one set per style, compared inside its mask
                self.chain_targets = per_chain
            else:
                self.style_targets = [{k: _weighted_sum(blend, [g[k] for g in per_style]) for k in style_layers}]
                self.chain_targets = (
                    [{k: _weighted_sum(blend, [g[k] for g in per_chain]) for k in self.chains}] if per_chain else []
                )
        self.blend = list(blend)
        # Backbones may ask for each layer's style loss to be relative to its
        # target (‖G − G_t‖² / ‖G_t‖²) and scale the user's weights; VGG does neither.
        self.style_norms = [
            {k: 1.0 / float(g[k].pow(2).mean().clamp_min(1e-12)) for k in style_layers}
            if getattr(net, "style_normalization", None) == "target_norm"
            else {k: 1.0 for k in style_layers}
            for g in self.style_targets
        ]
        scales = getattr(net, "loss_scales", {})
        self.content_scale, self.style_scale = scales.get("content", 1.0), scales.get("style", 1.0)
        self.tv_scale = scales.get("tv", 1.0)

    def features(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Backbone features in fp32; with ``amp`` the convolutions run in that dtype (channels-last),
        and the layers of :attr:`low_precision` stay in it.

        fp32 passes on the CPU run channels-last too (:data:`CPU_CHANNELS_LAST`): oneDNN's
        convolutions skip their layout reorders; the Gram matrices read that layout as it is.
        """
        if self.amp is None:
            if CPU_CHANNELS_LAST and x.device.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            return self.net(x, layers)
        with torch.autocast(x.device.type, dtype=self.amp):
            feats = self.net(x.contiguous(memory_format=torch.channels_last), layers)
        return {k: v if k in self.low_precision else v.float() for k, v in feats.items()}

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.cfg
        feats = self.features(image, self.layers)
        c_loss = sum(content_loss(feats[k], self.content_targets[k]) for k in self.content_layers)
        s_loss = image.new_zeros(())
        for w, k in zip(self.layer_weights, self.style_layers, strict=True):
            if self.masked:
                for i, (tgt, mask) in enumerate(zip(self.style_targets, self.masks, strict=True)):
                    if mask is None:
                        continue
                    g = masked_gram_matrix(feats[k], mask, shift=self.shift)
                    s_loss = s_loss + w * self.blend[i] * self.style_norms[i][k] * style_loss(g, tgt[k])
            elif k in self.low_precision:
                s_loss = s_loss + w * self.style_norms[0][k] * gram_style_loss(feats[k], self.style_targets[0][k])
            else:
                g = gram_matrix(feats[k], shift=self.shift)
                s_loss = s_loss + w * self.style_norms[0][k] * style_loss(g, self.style_targets[0][k])
        for tgt_idx, chain_tgt in enumerate(self.chain_targets):
            for a, b in self.chains:
                if self.masked and self.masks[tgt_idx] is None:
                    continue
                wt = self.blend[tgt_idx] if self.masked else 1.0
                s_loss = s_loss + wt * style_loss(chain_gram(feats[a], feats[b], shift=self.shift), chain_tgt[(a, b)])
        terms = {
            "content": cfg.content_weight * self.content_scale * c_loss,
            "style": cfg.style_weight * self.style_scale * s_loss,
        }
        if cfg.tv_weight:
            terms["tv"] = cfg.tv_weight * self.tv_scale * tv_loss(image)
        if self.extra_loss is not None:
            terms.update(self.extra_loss(image))
        total = sum(terms.values())
        return total, terms


def _init_image(
    cfg: GatysConfig, content: torch.Tensor, init_image: torch.Tensor | None, generator: torch.Generator | None
) -> torch.Tensor:
    if cfg.init == "content":
        return content.clone()
    if cfg.init == "gray":
        return torch.full_like(content, 0.5)
    if cfg.init == "image":
        if init_image is None:
            raise InputError("--init image needs --init-image PATH")
        return resize_bilinear(init_image.to(content), tuple(content.shape[-2:]))
    # neural-style: randn * 0.001 on the caffe scale, i.e. a nearly uniform mid-gray.
    noise = torch.randn(content.shape, generator=generator, dtype=content.dtype, device="cpu").to(content.device)
    return (0.5 + 0.25 * noise).clamp(0, 1)


def stylize_tensor(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    cfg: GatysConfig = GatysConfig(),
    *,
    style_masks: Sequence[torch.Tensor | None] | None = None,
    color_mask: torch.Tensor | None = None,
    init_image: torch.Tensor | None = None,
    net: nn.Module | None = None,
    callback: Callback | None = None,
    progress: bool = False,
    style_target_masks: Sequence[torch.Tensor | None] | None = None,
    extra_loss: ExtraLoss | None = None,
) -> StylizeResult:
    """Stylise ``content`` (``(1, 3, H, W)`` in [0, 1], any size) with ``styles``.

    ``content`` should already be at the output size (``cfg.image_size`` on the
    long side); each style is used at ``image_size · style_scale``.  Masks are
    ``(1, 1, H, W)`` in [0, 1] at the content's size.  ``callback(stage, step,
    losses, image)`` is called after every evaluation.  Ctrl-C returns the
    current image with ``interrupted=True``.

    ``style_target_masks`` (one ``(1, 1, Hs, Ws)`` mask or ``None`` per style,
    at the style's size) restricts each style's target Grams to a region of
    the style image; with ``style_masks`` on the content this matches regions
    pairwise (Deep Photo Style Transfer's segmentation).  ``extra_loss(image)``
    returns extra weighted loss terms, added to the objective of every stage.
    """
    if not styles:
        raise InputError("at least one style image is needed")
    cfg.validate(len(styles))
    if style_masks is not None and len(style_masks) != len(styles):
        raise InputError(f"{len(style_masks)} style masks for {len(styles)} style images: give one per style")
    if style_target_masks is not None and len(style_target_masks) != len(styles):
        raise InputError(f"{len(style_target_masks)} style-image masks for {len(styles)} style images")
    device = pick_device(cfg.device)
    amp = amp_dtype(cfg.amp, device)
    generator = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
    if net is None:
        probe = build_backbone(cfg.backbone, layers=(), pooling=cfg.pooling, weights=cfg.weights)
        c_layers, s_layers, _ = layer_setup(cfg, probe)
        if hasattr(probe, "check_layers"):
            probe.check_layers(c_layers + s_layers)  # type: ignore[operator]
        net = build_backbone(
            cfg.backbone, layers=c_layers + s_layers, pooling=cfg.pooling, weights=cfg.weights, device=device
        )
    content_layers, style_layers, layer_weights = layer_setup(cfg, net)
    if cfg.amp == "auto" and not getattr(net, "amp_auto", True):
        amp = None  # a backbone that gains nothing from bf16
    if hasattr(net, "check_layers"):
        net.check_layers(content_layers + style_layers)  # type: ignore[operator]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    blend = list(cfg.style_blend_weights or [1.0] * len(styles))
    total_w = sum(blend)
    blend = [w / total_w for w in blend]
    content = content.to(device)
    styles = [s.to(device) for s in styles]
    if cfg.color_match:
        styles = [match_color(s, content, cfg.color_match) for s in styles]
    H, W = content.shape[-2:]
    for i, m in enumerate(style_masks or []):
        if m is not None and tuple(m.shape[-2:]) != (H, W):
            raise InputError(f"style mask {i + 1} is {m.shape[-1]}×{m.shape[-2]} but the content is {W}×{H}")
    if color_mask is not None and tuple(color_mask.shape[-2:]) != (H, W):
        raise InputError(f"color mask is {color_mask.shape[-1]}×{color_mask.shape[-2]} but the content is {W}×{H}")

    stages = plan_stages(replace(cfg, image_size=max(H, W)), (H, W))
    result = StylizeResult(image=content)
    image: torch.Tensor | None = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(s.iterations for s in stages), unit="it", dynamic_ncols=True, leave=False)
    try:
        for stage in stages:
            c_s = resize_bilinear(content, stage.size)
            scale = cfg.style_scale * max(stage.size) / max(H, W)
            s_s = []
            resized: dict[int, torch.Tensor] = {}
            for s in styles:
                k = scale * max(H, W) / max(s.shape[-2:])
                sz = (max(16, round(s.shape[-2] * k)), max(16, round(s.shape[-1] * k)))
                if id(s) not in resized:
                    resized[id(s)] = resize_bilinear(s, sz)
                s_s.append(resized[id(s)])
            tmasks_s = None
            if style_target_masks is not None:
                tmasks_s = [
                    None if m is None else resize_bilinear(m.to(device), tuple(st.shape[-2:]))
                    for m, st in zip(style_target_masks, s_s, strict=True)
                ]
            masks_s = (
                None
                if style_masks is None
                else [None if m is None else resize_bilinear(m.to(device), stage.size) for m in style_masks]
            )
            objective = _Objective(
                net,
                cfg,
                c_s,
                s_s,
                blend,
                masks_s,
                content_layers,
                style_layers,
                layer_weights,
                style_target_masks=tmasks_s,
                extra_loss=extra_loss,
                amp=amp,
            )
            if image is None:
                x0 = _init_image(cfg, c_s, None if init_image is None else init_image.to(device), generator)
            else:
                x0 = upsample_with_detail(image, c_s, cfg.scale_detail)
            image = optimise_stage(objective, x0, cfg, stage, callback, bar, result)
            if result.interrupted:
                break
    except KeyboardInterrupt:
        result.interrupted = True
        image = result.image if image is None else image
    finally:
        if bar is not None:
            bar.close()
    assert image is not None
    out = resize_bilinear(image.detach(), (H, W)).clamp(0, 1)
    if style_masks is not None and any(m is not None for m in style_masks):
        union = torch.zeros_like(out[:, :1])
        for m in style_masks:
            if m is not None:
                union = union + m.to(device)
        union = union.clamp(0, 1)
        out = union * out + (1 - union) * content
    if cfg.original_colors:
        out = original_colors(out, content, space=cfg.color_space)
    if color_mask is not None:
        cm = color_mask.to(device)
        out = cm * original_colors(out, content, space=cfg.color_space) + (1 - cm) * out
    result.image = out.cpu()
    return result


def upsample_with_detail(image: torch.Tensor, content: torch.Tensor, detail: float) -> torch.Tensor:
    """``image`` resized to ``content``'s size, plus ``detail`` × the content's band between the two sizes.

    The band is ``content − up(down(content))``: what the coarser stage never saw.

    Example:
        >>> c = torch.rand(1, 3, 32, 32)
        >>> torch.allclose(upsample_with_detail(resize_bilinear(c, (16, 16)), c, 1.0), c, atol=1e-6)
        True
    """
    size = tuple(content.shape[-2:])
    x = resize_bilinear(image, size)
    if detail:
        x = x + detail * (content - resize_bilinear(resize_bilinear(content, tuple(image.shape[-2:])), size))
    return x


def optimise_stage(
    objective: _Objective,
    x0: torch.Tensor,
    cfg: GatysConfig,
    stage: StageInfo,
    callback: Callback | None,
    bar: object | None,
    result: StylizeResult,
) -> torch.Tensor:
    # Optimise on the 0–255 scale so neural-style's learning rates keep their meaning.  L-BFGS is
    # invariant to the variables' scale except for its first step (lr / ‖g‖₁ in the variables):
    # on 0–255 that step moves pixels by ~1e-6 levels and the line search spends evaluations
    # growing it (invisible in bf16).  Variables of 0–255 / numel make that first step move a pixel
    # by ``lr`` levels on average; every later step is unchanged.
    scale = 255.0 / (x0.numel() if cfg.optimizer == "lbfgs" else 1.0)
    param = (x0.detach() * scale).contiguous().requires_grad_(True)
    if stage.iterations == 0:
        return param.detach() / scale
    evals = 0
    last: dict[str, float] = {}
    final_stage = stage.index == stage.count - 1
    # The best image evaluated so far: a line search cut short by the budget (or Ctrl-C)
    # can leave the parameter at a trial point worse than where it started.
    best_loss = math.inf
    best_losses: dict[str, float] = {}
    best_image: torch.Tensor | None = None

    def closure() -> torch.Tensor:
        nonlocal evals, last, best_loss, best_losses, best_image
        if evals >= stage.iterations:
            # L-BFGS may ask for more evaluations than we budgeted; return the last loss, no grad update.
            raise _Budget()
        optimiser.zero_grad(set_to_none=True)
        total, terms = objective(param / scale)
        total.backward()
        evals += 1
        last = {k: float(v.detach()) for k, v in terms.items()}
        last["total"] = float(total.detach())
        result.losses = last
        result.evaluations += 1
        if last["total"] < best_loss:
            best_loss, best_losses, best_image = last["total"], dict(last), param.detach().clone()
        if final_stage:
            result.history.append(last["total"])
        if bar is not None:
            bar.update(1)  # type: ignore[attr-defined]
            bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()}, refresh=False)  # type: ignore[attr-defined]
        if callback is not None:
            callback(stage, evals, last, param.detach() / scale)
        return total

    lr = cfg.learning_rate
    if cfg.optimizer == "lbfgs":
        optimiser: torch.optim.Optimizer = torch.optim.LBFGS(
            [param],
            lr=lr if lr is not None else 1.0,
            max_iter=stage.iterations,
            max_eval=stage.iterations,
            tolerance_grad=-1.0,
            tolerance_change=-1.0,
            history_size=cfg.lbfgs_history,
            line_search_fn="strong_wolfe",
        )
        try:
            optimiser.step(closure)  # type: ignore[arg-type]  # torch types closures as returning float
        except _Budget:
            pass
        except KeyboardInterrupt:
            result.interrupted = True
    else:
        optimiser = torch.optim.Adam([param], lr=lr if lr is not None else 10.0)
        try:
            for _ in range(stage.iterations):
                optimiser.step(closure)
        except _Budget:
            pass
        except KeyboardInterrupt:
            result.interrupted = True
    if not math.isfinite(last.get("total", 0.0)):
        log.warning("the loss became %s; try a smaller learning rate or style weight", last.get("total"))
    if best_image is not None:
        result.losses = best_losses
        return best_image / scale
    return param.detach() / scale


class _Budget(Exception):
    """Raised inside the closure when the evaluation budget is spent."""
