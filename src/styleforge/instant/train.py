"""Training recipes for instant styles, as models for :func:`styleforge.engine.fit`.

* :class:`PerStyleModel` — Johnson et al.: a :class:`TransformerNet` learns
  to paint any photo in one style.  Loss on the frozen offline VGG16: content
  (``relu3_3``), Gram style (``relu1_2``, ``relu2_2``, ``relu3_3``, ``relu4_1``)
  and total variation.  Each layer's style loss is relative to its target
  Gram (``‖G − G_s‖² / ‖G_s‖²``) and the content loss relative to the
  photo's features, so the weights need no per-style retuning.
* :class:`AdaINModel` — Huang & Belongie: a decoder learns to invert AdaIN'd
  ``relu4_1`` features; loss = content (``relu4_1`` against the AdaIN target)
  + style weight · Σ (mean, std) distances at ``relu1_1 … relu4_1``.

Both plug into the engine (resume, checkpoints, TensorBoard, HTML report,
torchrun); the frozen VGG is not one of their ``networks``.
"""

from __future__ import annotations

__all__ = ["AdaINConfig", "AdaINModel", "PerStyleConfig", "PerStyleModel"]

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import build_backbone
from ..losses import gram_matrix, tv_loss
from ..nets.adain import DECODER_CONFIGS, ENCODER_LAYERS, Decoder, adain, feature_stats
from ..nets.feedforward import TRANSFORMER_CONFIGS, TransformerNet


@dataclass(frozen=True)
class PerStyleConfig:
    """Settings of a per-style (Johnson) network and its loss."""

    arch: str = "small"
    #: ``vgg16-offline`` (quality) or ``effnet-lite0`` (~20× cheaper loss: CPU training budgets).
    loss_net: str = "vgg16-offline"
    content_layers: tuple[str, ...] | None = None  # None: the loss network's defaults (LOSS_LAYERS)
    style_layers: tuple[str, ...] | None = None
    content_weight: float = 1.0
    style_weight: float = 4.0
    tv_weight: float = 1e-8
    lr: float = 1e-3  # 3e-3 overshoots the relative Gram loss on VGG
    style_size: int = 384  # long side of the style image for its Gram targets

    def layers(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self.loss_net not in LOSS_LAYERS:
            from ..errors import InputError, suggest

            raise InputError(
                f"unknown --loss-net {self.loss_net!r}{suggest(self.loss_net, LOSS_LAYERS)}; "
                f"choose {', '.join(LOSS_LAYERS)}"
            )
        c, s = LOSS_LAYERS[self.loss_net]
        return self.content_layers or c, self.style_layers or s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["content_layers"], d["style_layers"] = (list(x) for x in self.layers())
        return d


#: Default (content, style) layers per loss network.
LOSS_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "vgg16-offline": (("relu3_3",), ("relu1_2", "relu2_2", "relu3_3", "relu4_1")),
    "effnet-lite0": (("block5_expand",), ("stem", "block1_expand", "block3_expand", "block5_expand", "block8_expand")),
}


def _full_precision(t: torch.Tensor) -> Any:
    """Autocast off (statistics and distances in fp32 inside a mixed-precision step)."""
    return torch.autocast(t.device.type, enabled=False)


def _step(ctx: Any, net: str, terms_fn: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """One optimiser step of network ``net`` on ``terms_fn()["total"]`` (forward under the run's autocast)."""
    opt = ctx.optimizers[net]
    opt.zero_grad(set_to_none=True)
    with ctx.autocast():
        terms = terms_fn()
    ctx.backward(terms["total"])
    ctx.step(opt)
    return {k: v.detach() for k, v in terms.items()}


def _relative_mse(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖x − t‖² / ‖t‖² per sample, averaged over the batch."""
    dims = tuple(range(1, x.dim()))
    return ((x - target).pow(2).sum(dims) / target.pow(2).sum(dims).clamp_min(1e-12)).mean()


class PerStyleModel:
    """Johnson et al.'s per-style network for :func:`styleforge.engine.fit`."""

    kind = "instant"
    monitor = "total"

    def __init__(
        self,
        style: torch.Tensor,
        cfg: PerStyleConfig = PerStyleConfig(),
        *,
        style_name: str = "style",
        init_state: dict[str, torch.Tensor] | None = None,
        loss_net: nn.Module | None = None,
    ) -> None:
        if cfg.arch not in TRANSFORMER_CONFIGS:
            from ..errors import InputError, suggest

            raise InputError(
                f"unknown --arch {cfg.arch!r}{suggest(cfg.arch, TRANSFORMER_CONFIGS)}; "
                f"choose {', '.join(TRANSFORMER_CONFIGS)}"
            )
        self.cfg, self.style_name = cfg, style_name
        self.net = TransformerNet(TRANSFORMER_CONFIGS[cfg.arch])
        if init_state is not None:
            self.net.load_state_dict({k: v.float() for k, v in init_state.items()})
        self.networks: dict[str, nn.Module] = {"T": self.net}
        self.content_layers, self.style_layers = (list(x) for x in cfg.layers())
        self.layers = list(dict.fromkeys(self.content_layers + self.style_layers))
        self.vgg = loss_net if loss_net is not None else build_backbone(cfg.loss_net, layers=self.layers)
        with torch.no_grad():
            feats = self.vgg(style, self.style_layers)
            self.style_grams = {k: gram_matrix(v) for k, v in feats.items()}

    def config_dict(self) -> dict[str, Any]:
        return {**self.cfg.to_dict(), "style": self.style_name, "net": TRANSFORMER_CONFIGS[self.cfg.arch].to_dict()}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        device = next(self.net.parameters()).device
        self.vgg.to(device)
        self.style_grams = {k: v.to(device) for k, v in self.style_grams.items()}
        return {"T": torch.optim.Adam(self.net.parameters(), lr=self.cfg.lr)}

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss terms of output ``y`` for input photos ``x`` (both in [0, 1]).

        The VGG passes follow the caller's autocast (bf16 on AMX CPUs and on CUDA); the Gram
        matrices and distances are computed in fp32.
        """
        cfg = self.cfg
        with torch.no_grad():
            target = self.vgg(x, self.content_layers)
        feats = self.vgg(y, self.layers)
        with _full_precision(y):
            content = y.new_zeros((), dtype=torch.float32)
            for k in self.content_layers:
                content = content + _relative_mse(feats[k].float(), target[k].float())
            style = y.new_zeros((), dtype=torch.float32)
            for k in self.style_layers:
                g = gram_matrix(feats[k].float())
                style = style + _relative_mse(g, self.style_grams[k].expand_as(g))
            tv = tv_loss(y.float()) / y.shape[0]
            total = cfg.content_weight * content + cfg.style_weight * style + cfg.tv_weight * tv
        return {"total": total, "content": content.detach(), "style": style.detach(), "tv": tv.detach()}

    def train_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, torch.Tensor]:
        x = ctx.input(batch["content"])
        return _step(ctx, "T", lambda: self.losses(x, ctx.nets["T"](x)))

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        was = self.net.training
        self.net.eval()
        x = batch["content"].to(device)
        y = self.net(x)
        self.net.train(was)
        return {"photo": x.cpu(), "stylised": y.cpu()}


@dataclass(frozen=True)
class AdaINConfig:
    """Settings of an AdaIN decoder and its loss (the paper's style weight is 10)."""

    decoder: str = "vgg"
    style_weight: float = 10.0
    lr: float = 1e-4
    layers: tuple[str, ...] = field(default=ENCODER_LAYERS)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["layers"] = list(self.layers)
        return d


class AdaINModel:
    """Huang & Belongie's AdaIN decoder for :func:`styleforge.engine.fit`."""

    kind = "adain"
    monitor = "total"

    def __init__(
        self,
        cfg: AdaINConfig = AdaINConfig(),
        *,
        encoder: nn.Module | None = None,
        init_state: dict[str, torch.Tensor] | None = None,
    ) -> None:
        if cfg.decoder not in DECODER_CONFIGS:
            from ..errors import InputError

            raise InputError(f"unknown --decoder {cfg.decoder!r}; choose {', '.join(DECODER_CONFIGS)}")
        self.cfg = cfg
        self.decoder = Decoder(DECODER_CONFIGS[cfg.decoder])
        if init_state is not None:
            self.decoder.load_state_dict({k: v.float() for k, v in init_state.items()})
        self.networks: dict[str, nn.Module] = {"decoder": self.decoder}
        self.encoder = encoder if encoder is not None else build_backbone("vgg16-offline", layers=cfg.layers)

    def config_dict(self) -> dict[str, Any]:
        return {**self.cfg.to_dict(), "net": DECODER_CONFIGS[self.cfg.decoder].to_dict()}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self.encoder.to(next(self.decoder.parameters()).device)
        return {"decoder": torch.optim.Adam(self.decoder.parameters(), lr=self.cfg.lr)}

    def losses(
        self, decoder: nn.Module, content: torch.Tensor, style: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        layers = list(self.cfg.layers)
        last = layers[-1]
        with torch.no_grad():
            f_c = self.encoder(content, [last])[last].float()
            f_s = {k: v.float() for k, v in self.encoder(style, layers).items()}
            with _full_precision(f_c):
                t = adain(f_c, *feature_stats(f_s[last]))
        g = decoder(t)
        f_g = self.encoder(g, layers)
        with _full_precision(g):
            content_l = F.mse_loss(f_g[last].float(), t.float())
            style_l = g.new_zeros((), dtype=torch.float32)
            for k in layers:
                (gm, gs), (sm, ss) = feature_stats(f_g[k].float()), feature_stats(f_s[k].float())
                style_l = style_l + F.mse_loss(gm, sm) + F.mse_loss(gs, ss)
            total = content_l + self.cfg.style_weight * style_l
        return {"total": total, "content": content_l.detach(), "style": style_l.detach()}, g

    def train_step(self, batch: dict[str, torch.Tensor], ctx: Any) -> dict[str, torch.Tensor]:
        c, s = ctx.input(batch["content"]), ctx.input(batch["style"])
        return _step(ctx, "decoder", lambda: self.losses(ctx.nets["decoder"], c, s)[0])

    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        was = self.decoder.training
        self.decoder.eval()
        c, s = batch["content"].to(device), batch["style"].to(device)
        last = self.cfg.layers[-1]
        t = adain(self.encoder(c, [last])[last], *feature_stats(self.encoder(s, [last])[last]))
        g = self.decoder(t, size=(c.shape[-2], c.shape[-1])).clamp(0, 1)
        self.decoder.train(was)
        return {"photo": c.cpu(), "style": s.cpu(), "stylised": g.cpu()}
