"""Neural doodles: semantic style transfer with patch (MRF) losses.

Champandard, *Semantic Style Transfer and Turning Two-Bit Doodles into Fine
Artworks* (2016): the style painting comes with a colour-coded semantic map;
the user paints a target map with the same colours; each 3×3 patch of the
generated image's features — with the (weighted) semantic channels appended —
is matched to the most similar patch of the painting (Li & Wand's MRF loss),
so each region borrows texture from the matching region of the painting.
"""

from __future__ import annotations

__all__ = ["DoodleConfig", "doodle_tensor", "map_to_channels"]

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import build_backbone
from ..errors import InputError
from ..losses import content_loss, masked_gram_matrix, mrf_loss, style_loss, tv_loss
from .config import DoodleConfig, GatysConfig
from .gatys import StageInfo, StylizeResult, optimise_stage, pick_device, resize_bilinear


def map_to_channels(
    style_map: torch.Tensor, target_map: torch.Tensor, *, max_colors: int = 16
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour-coded maps → one-hot channel stacks over the style map's colours.

    Colours are quantised to 4 bits per channel; target pixels take the nearest
    style colour.  Colours covering < 0.5 % of the style map are merged into
    their nearest neighbour (JPEG fringes).
    """
    q = (style_map[0] * 15).round().reshape(3, -1).t()  # (P, 3)
    colors, counts = torch.unique(q, dim=0, return_counts=True)
    keep = counts >= max(1, int(0.005 * q.shape[0]))
    colors = colors[keep]
    if len(colors) > max_colors:
        raise InputError(f"the style map has {len(colors)} colours; at most {max_colors} regions are supported")
    if len(colors) == 0:
        raise InputError("the style map is empty")
    colors = colors / 15.0

    def onehot(m: torch.Tensor) -> torch.Tensor:
        px = m[0].reshape(3, -1).t()
        idx = torch.cdist(px, colors).argmin(1)
        return F.one_hot(idx, len(colors)).t().reshape(len(colors), *m.shape[-2:])[None].float()

    t_px = target_map[0].reshape(3, -1).t()
    far = torch.cdist(t_px, colors).min(1).values > 0.25
    if far.float().mean() > 0.05:
        raise InputError(
            "the target map uses colours that are not in the style map; paint with the style map's colours"
        )
    return onehot(style_map), onehot(target_map)


class _DoodleObjective:
    def __init__(
        self,
        net: nn.Module,
        cfg: DoodleConfig,
        style: torch.Tensor,
        style_sem: torch.Tensor,
        target_sem: torch.Tensor,
        content: torch.Tensor | None,
    ) -> None:
        self.net, self.cfg = net, cfg
        self.layers = list(
            dict.fromkeys(cfg.style_layers + cfg.region_layers + (cfg.content_layers if content is not None else ()))
        )
        self.target_sem: dict[str, torch.Tensor] = {}
        self.patches: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            sf = net(style, list(cfg.style_layers))
            for k, f in sf.items():
                scale = cfg.semantic_weight * f.abs().mean()
                s_sem = F.interpolate(style_sem, size=f.shape[-2:], mode="area") * scale
                self.target_sem[k] = scale
                self.patches[k] = F.unfold(torch.cat([f, s_sem], 1), cfg.patch_size)[0].t().contiguous()
            self.t_sem = target_sem
            # Per-region Gram targets at the shallow layers: region r of the output
            # gets the colour statistics of region r of the painting.
            self.region_targets: dict[str, list[torch.Tensor | None]] = {}
            rf = net(style, list(cfg.region_layers)) if cfg.region_layers else {}
            for k, f in rf.items():
                m = F.interpolate(style_sem, size=f.shape[-2:], mode="area")
                self.region_targets[k] = [
                    masked_gram_matrix(f, m[:, r : r + 1]) if float(m[:, r].sum()) > 0 else None
                    for r in range(m.shape[1])
                ]
            self.content_targets = (
                {k: v.detach() for k, v in net(content, list(cfg.content_layers)).items()}
                if content is not None
                else {}
            )

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.cfg
        feats = self.net(image, self.layers)
        s = image.new_zeros(())
        for k in cfg.style_layers:
            f = feats[k]
            sem = F.interpolate(self.t_sem, size=f.shape[-2:], mode="area") * self.target_sem[k]
            s = s + mrf_loss(torch.cat([f, sem], 1), self.patches[k], patch_size=cfg.patch_size)
        terms = {"style": cfg.style_weight * s}
        if self.region_targets and cfg.region_weight:
            rl = image.new_zeros(())
            for k, targets in self.region_targets.items():
                m = F.interpolate(self.t_sem, size=feats[k].shape[-2:], mode="area")
                for r, tgt in enumerate(targets):
                    if tgt is not None and float(m[:, r].sum()) > 0:
                        rl = rl + style_loss(masked_gram_matrix(feats[k], m[:, r : r + 1]), tgt)
            terms["region"] = cfg.region_weight * rl
        if self.content_targets and cfg.content_weight:
            c_loss = image.new_zeros(())
            for k, t in self.content_targets.items():
                c_loss = c_loss + content_loss(feats[k], t)
            terms["content"] = cfg.content_weight * c_loss
        if cfg.tv_weight:
            terms["tv"] = cfg.tv_weight * tv_loss(image)
        return sum(terms.values()), terms  # type: ignore[return-value]


def doodle_tensor(
    style: torch.Tensor,
    style_map: torch.Tensor,
    target_map: torch.Tensor,
    cfg: DoodleConfig = DoodleConfig(),
    *,
    content: torch.Tensor | None = None,
    net: nn.Module | None = None,
    progress: bool = False,
) -> StylizeResult:
    """Paint ``target_map`` with the textures of ``style`` region by region.

    ``style_map`` must have ``style``'s size; the output has ``target_map``'s size.
    """
    if style_map.shape[-2:] != style.shape[-2:]:
        raise InputError(
            f"the style map is {style_map.shape[-1]}×{style_map.shape[-2]} but the style is "
            f"{style.shape[-1]}×{style.shape[-2]}: they must match"
        )
    if content is not None and content.shape[-2:] != target_map.shape[-2:]:
        content = resize_bilinear(content, tuple(target_map.shape[-2:]))
    device = pick_device(cfg.device)
    if net is None:
        net = build_backbone(
            cfg.backbone,
            layers=cfg.style_layers + cfg.region_layers + cfg.content_layers,
            pooling=cfg.pooling,
            device=device,
        )
    net.check_layers(list(cfg.style_layers + cfg.region_layers + cfg.content_layers))  # type: ignore[operator]
    s_sem, t_sem = map_to_channels(style_map, target_map, max_colors=cfg.max_colors)
    style, s_sem, t_sem = style.to(device), s_sem.to(device), t_sem.to(device)
    H, W = target_map.shape[-2:]
    gen = torch.Generator().manual_seed(cfg.seed) if cfg.seed is not None else None
    gcfg = GatysConfig(optimizer="lbfgs", lbfgs_history=50)
    sizes = [
        (max(24, round(H * s)), max(24, round(W * s))) for s in sorted(cfg.scales)
    ]  # ≥ 24 px: 3×3 patches on relu4_1 (÷8)
    result = StylizeResult(image=torch.zeros(1, 3, H, W))
    image: torch.Tensor | None = None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.iterations * len(sizes), unit="it", leave=False)
    try:
        for i, size in enumerate(sizes):
            k = size[0] / H
            st_size = (max(24, round(style.shape[-2] * k)), max(24, round(style.shape[-1] * k)))
            obj = _DoodleObjective(
                net,
                cfg,
                resize_bilinear(style, st_size),
                F.interpolate(s_sem, size=st_size, mode="nearest"),
                F.interpolate(t_sem, size=size, mode="nearest"),
                None if content is None else resize_bilinear(content.to(device), size),
            )
            if image is None:
                noise = torch.rand((1, 3, *size), generator=gen).to(device)
                image = 0.5 + 0.2 * (noise - 0.5)
            else:
                image = resize_bilinear(image, size)
            stage = StageInfo(i, len(sizes), size, cfg.iterations)
            image = optimise_stage(obj, image, gcfg, stage, None, bar, result)  # type: ignore[arg-type]
            if result.interrupted:
                break
    finally:
        if bar is not None:
            bar.close()
    assert image is not None
    result.image = resize_bilinear(image, (H, W)).clamp(0, 1).cpu()
    return result
