"""pix2pix (Isola et al., CVPR 2017): conditional GAN for paired image-to-image translation.

The recipe is the paper's: a U-Net generator with dropout, a conditional 70×70
PatchGAN that sees (input, output) pairs, the vanilla GAN loss plus λ·L1 with
λ = 100, Adam lr 2e-4 β1 0.5, weights ~ N(0, 0.02), batch 1 with instance norm.
One :meth:`Pix2Pix.train_step` updates D on (real, fake) pairs, then G against
the *updated* D, as the reference does.

The model plugs into :func:`styleforge.engine.fit` (see ``engine/__init__.py``).
"""

from __future__ import annotations

__all__ = ["PRESETS", "Pix2Pix", "Pix2PixConfig", "Pix2PixPreset"]

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from ..data.transforms import colorization_to_rgb
from ..errors import InputError
from ..nets import build_discriminator, build_generator
from .losses import GAN_MODES, gan_loss, gradient_penalty

_C = TypeVar("_C")

KIND = "pix2pix"


@dataclass(frozen=True)
class Pix2PixConfig:
    """Architecture and loss hyper-parameters (saved in every checkpoint)."""

    netG: str = "unet_256"
    netD: str = "basic"
    n_layers_D: int = 3
    ngf: int = 64
    ndf: int = 64
    norm: str = "instance"
    dropout: bool = True
    init: str = "normal"
    init_gain: float = 0.02
    input_nc: int = 3
    output_nc: int = 3
    upsample: str = "deconv"
    padding: str = "reflect"
    gan_mode: str = "vanilla"
    lambda_l1: float = 100.0
    #: 0 trains G with L1 alone (no discriminator): the "L1 only" ablation of the paper.
    lambda_gan: float = 1.0
    lambda_gp: float = 10.0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    #: ``"rgb"``, or ``"lab"`` for colorization (A = L, B = ab).
    color_space: str = "rgb"
    #: One D forward on [fake; real] (exact with per-sample norms; ignored with batch norm).
    fuse_d: bool = True

    def __post_init__(self) -> None:
        if self.gan_mode not in GAN_MODES:
            raise InputError(f"unknown GAN mode {self.gan_mode!r}; choose from: {', '.join(GAN_MODES)}")
        if self.color_space not in ("rgb", "lab"):
            raise InputError(f"color_space must be 'rgb' or 'lab', got {self.color_space!r}")
        if self.lambda_l1 < 0 or self.lambda_gan < 0:
            raise InputError("loss weights must be >= 0")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pix2PixConfig:
        return config_from_dict(cls, d, "pix2pix")


def config_from_dict(cls: type[_C], d: Mapping[str, Any], what: str) -> _C:
    """A model config dataclass from a checkpoint's dict; unknown keys are a one-line error."""
    unknown = set(d) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise InputError(f"unknown {what} config keys: {', '.join(sorted(unknown))}")
    return cls(**d)


class TrainContext(Protocol):
    """What the engine hands to ``train_step`` (see :class:`styleforge.engine.StepContext`)."""

    nets: Mapping[str, nn.Module]
    optimizers: Mapping[str, torch.optim.Optimizer]
    device: torch.device

    def autocast(self) -> AbstractContextManager[Any]: ...
    def input(self, x: torch.Tensor) -> torch.Tensor: ...
    def backward(self, loss: torch.Tensor) -> None: ...
    def step(self, optimizer: torch.optim.Optimizer) -> None: ...


@contextlib.contextmanager
def frozen(net: nn.Module) -> Iterator[None]:
    """Switch off ``requires_grad`` of ``net``'s parameters, restoring each flag afterwards."""
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(net.parameters(), flags, strict=True):
            p.requires_grad_(f)


@torch.no_grad()
def eval_forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``net(x)`` in eval mode without gradients, restoring the train/eval mode afterwards."""
    was = net.training
    net.eval()
    try:
        return net(x)
    finally:
        net.train(was)


class Pix2Pix:
    """pix2pix networks and training step.

    Attributes:
        networks: the plain (unwrapped) ``{"G": ..., "D": ...}``; ``D`` is absent
            when ``lambda_gan == 0``.
    """

    kind = KIND
    #: The loss the ``plateau`` LR policy watches.
    monitor = "G_L1"

    def __init__(self, config: Pix2PixConfig = Pix2PixConfig(), *, generator: torch.Generator | None = None) -> None:
        self.config = c = config
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        self.networks: dict[str, nn.Module] = {
            "G": build_generator(
                c.netG,
                c.input_nc,
                c.output_nc,
                ngf=c.ngf,
                norm=c.norm,
                dropout=c.dropout,
                padding=c.padding,
                upsample=c.upsample,
                init=c.init,
                init_gain=c.init_gain,
                generator=g,
            )
        }
        if c.lambda_gan > 0:
            self.networks["D"] = build_discriminator(
                c.netD,
                c.input_nc + c.output_nc,
                ndf=c.ndf,
                n_layers=c.n_layers_D,
                norm=c.norm,
                init=c.init,
                init_gain=c.init_gain,
                generator=g,
            )

    # -- engine protocol -------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        opts: dict[str, torch.optim.Optimizer] = {}
        for name, net in self.networks.items():
            params = list(net.parameters())
            # The fused kernel (one pass over the weights) is the fastest Adam on CPU and CUDA.
            fused = all(p.device.type in ("cpu", "cuda") for p in params)
            opts[name] = torch.optim.Adam(params, lr=c.lr, betas=(c.beta1, c.beta2), fused=fused)
        return opts

    def train_step(self, batch: Mapping[str, Any], ctx: TrainContext) -> dict[str, torch.Tensor]:
        """One D update then one G update; returns detached losses."""
        c = self.config
        real_a = ctx.input(batch["A"])
        real_b = ctx.input(batch["B"])
        G = ctx.nets["G"]
        opt_g = ctx.optimizers["G"]
        out: dict[str, torch.Tensor] = {}
        with ctx.autocast():
            fake_b = G(real_a)
        if "D" in self.networks:
            D, opt_d = ctx.nets["D"], ctx.optimizers["D"]
            opt_d.zero_grad(set_to_none=True)
            with ctx.autocast():
                fake_pair = torch.cat([real_a, fake_b.detach()], 1)
                real_pair = torch.cat([real_a, real_b], 1)
                if c.fuse_d and c.norm != "batch":
                    # Per-sample normalisation: one forward on [fake; real] is exactly
                    # two forwards, and a single DDP forward per backward.
                    pred_fake, pred_real = D(torch.cat([fake_pair, real_pair], 0)).chunk(2)
                else:  # batch statistics must not mix real and fake
                    pred_fake, pred_real = D(fake_pair), D(real_pair)
                loss_d_fake = gan_loss(pred_fake.float(), False, c.gan_mode)
                loss_d_real = gan_loss(pred_real.float(), True, c.gan_mode)
                loss_d = 0.5 * (loss_d_fake + loss_d_real)
                if c.gan_mode == "wgangp":
                    gp = gradient_penalty(self.networks["D"], real_pair, fake_pair, weight=c.lambda_gp)
                    loss_d = loss_d + gp
                    out["D_gp"] = gp.detach()
            ctx.backward(loss_d)
            ctx.step(opt_d)
            out["D_real"], out["D_fake"] = loss_d_real.detach(), loss_d_fake.detach()
        opt_g.zero_grad(set_to_none=True)
        with ctx.autocast():
            l1 = F.l1_loss(fake_b.float(), real_b.float())
            out["G_L1"] = l1.detach()
            loss_g = c.lambda_l1 * l1
            if "D" in self.networks:
                D_plain = self.networks["D"]  # D's weights are identical on all ranks: no DDP here
                with frozen(D_plain):
                    pred = D_plain(torch.cat([real_a, fake_b], 1))
                    loss_g_gan = gan_loss(pred.float(), True, c.gan_mode)
                loss_g = loss_g + c.lambda_gan * loss_g_gan
                out["G_GAN"] = loss_g_gan.detach()
        ctx.backward(loss_g)
        ctx.step(opt_g)
        return out

    @torch.no_grad()
    def visuals(self, batch: Mapping[str, Any], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """``{"real_A", "fake_B", "real_B"}`` as RGB in [0, 1] (G in eval mode: dropout off)."""
        G = self.networks["G"]
        was_training = G.training
        G.eval()
        try:
            real_a = batch["A"].to(device)
            fake_b = G(real_a).float()
        finally:
            G.train(was_training)
        return {
            "real_A": self.to_rgb(real_a, None),
            "fake_B": self.to_rgb(fake_b, real_a),
            "real_B": self.to_rgb(batch["B"].to(device), real_a),
        }

    def to_rgb(self, x: torch.Tensor, source: torch.Tensor | None) -> torch.Tensor:
        """Network-space tensor in [-1, 1] → displayable RGB in [0, 1].

        In Lab mode ``x`` is L (1 channel) or ab (2 channels, combined with the L of ``source``).
        """
        x = x.float().cpu()
        if self.config.color_space == "lab":
            if x.shape[1] == 1:
                return ((x + 1) / 2).clamp(0, 1).expand(-1, 3, -1, -1)
            assert source is not None
            return colorization_to_rgb(source.float().cpu(), x)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return ((x[:, :3] + 1) / 2).clamp(0, 1)

    @classmethod
    def from_checkpoint_config(cls, d: Mapping[str, Any]) -> Pix2Pix:
        return cls(Pix2PixConfig.from_dict(d))


@dataclass(frozen=True)
class Pix2PixPreset:
    """The paper's settings for one of its datasets."""

    direction: str
    n_epochs: int
    n_epochs_decay: int
    batch_size: int
    load_size: int = 286
    crop_size: int = 256
    preprocess: str = "resize_and_crop"
    flip: bool = True
    norm: str = "instance"
    url: str = ""
    note: str = ""


_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"

#: Paper / reference settings (Isola et al. 2017, section 4 and appendix 6.3; reference scripts).
PRESETS: dict[str, Pix2PixPreset] = {
    "facades": Pix2PixPreset("BtoA", 100, 100, 1, url=_URL.format("facades"), note="labels → photo, 400 images"),
    "maps": Pix2PixPreset("AtoB", 100, 100, 1, url=_URL.format("maps"), note="aerial → map; BtoA for map → aerial"),
    "cityscapes": Pix2PixPreset("BtoA", 100, 100, 1, url=_URL.format("cityscapes"), note="labels → photo"),
    "edges2shoes": Pix2PixPreset(
        "AtoB",
        5,
        10,
        4,
        load_size=256,
        preprocess="crop",
        flip=False,
        url=_URL.format("edges2shoes"),
        note="15 epochs, batch 4, no jitter",
    ),
    "night2day": Pix2PixPreset("AtoB", 8, 9, 4, url=_URL.format("night2day"), note="17 epochs, batch 4"),
}
