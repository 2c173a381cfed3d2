"""The WCT decoders' training loop as it was before it moved onto the engine (commit 766b3c1's
``instant/recon.py`` ``train``), reduced to its steps: the reference that the engine version must
reproduce (same seed, same crops, same losses, same weights).  Test helper, not a test module."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def old_loop(
    content_dirs: list[str],
    *,
    levels: list[str],
    widths: list[float],
    crop: int,
    batch_size: int,
    lr: float,
    feature_weight: float,
    steps: int,
    seed: int = 0,
    style_dirs: list[str] | None = None,
    wct_weight: float = 0.0,
) -> tuple[list[float], dict[str, torch.Tensor]]:
    """Per-step losses and the decoders' final state dict of the old loop (fp32, CPU, fresh start)."""
    from styleforge.backbones import build_backbone
    from styleforge.instant.recon import _batch, fit_linear_decoder, load_photos, transfer_targets
    from styleforge.nets.wct import ReconDecoder

    torch.manual_seed(seed)
    dev = torch.device("cpu")
    enc = build_backbone("vgg16-offline", layers=levels, device=dev)
    decs = torch.nn.ModuleDict({lv: ReconDecoder(lv, w) for lv, w in zip(levels, widths, strict=True)}).to(dev)
    opt = torch.optim.Adam(decs.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    photos = load_photos(content_dirs, set(), short=max(crop * 2, 256))
    paintings = load_photos(style_dirs, set(), short=max(crop * 2, 256)) if style_dirs and wct_weight > 0 else []
    trained = list(levels)
    if "relu1_1" in decs:
        fit_x = _batch(photos, 24, crop, torch.Generator().manual_seed(777))
        with torch.no_grad():
            fit_linear_decoder(decs["relu1_1"], enc(fit_x, ["relu1_1"])["relu1_1"], fit_x)
        decs["relu1_1"].requires_grad_(False)
        trained.remove("relu1_1")
    losses: list[float] = []
    for _ in range(steps):
        x = _batch(photos, batch_size, crop, g)
        with torch.no_grad():
            f = {k: v.float() for k, v in enc(x, levels).items()}
        ys = {lv: decs[lv](f[lv], size=x.shape[-2:]).float() for lv in trained}
        loss: Any = sum(F.mse_loss(y, x) for y in ys.values()) * 10.0
        terms = [(lv, ys[lv], f[lv], feature_weight) for lv in trained]
        if paintings:
            with torch.no_grad():
                fs = {k: v.float() for k, v in enc(_batch(paintings, len(x), crop, g), trained).items()}
            moved = {lv: transfer_targets(f[lv], fs[lv]) for lv in trained}
            terms += [(lv, decs[lv](moved[lv], size=x.shape[-2:]).float(), moved[lv], wct_weight) for lv in trained]
        terms = [t for t in terms if t[3] > 0]
        if terms:
            fy = enc(torch.cat([y for _, y, _, _ in terms]), trained)
            for i, (lv, _, target, weight) in enumerate(terms):
                part = fy[lv][i * len(x) : (i + 1) * len(x)].float()
                loss = loss + weight * F.mse_loss(part, target) / target.pow(2).mean().clamp_min(1e-6)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses, {k: v.detach().clone() for k, v in decs.state_dict().items()}
