"""CycleGAN (Zhu et al., ICCV 2017): unpaired translation with cycle consistency.

Two generators, ``G_A``: A → B and ``G_B``: B → A, and two 70×70 PatchGANs,
``D_A`` (judges domain B: real B vs G_A's fakes) and ``D_B`` (judges domain A), as
in the reference.  The recipe is the paper's: LSGAN loss, cycle loss λ = 10 both
ways, identity loss 0.5·λ, a pool of 50 past fakes per discriminator, Adam lr 2e-4
β1 0.5, weights ~ N(0, 0.02), batch 1 with instance norm; the engine's ``linear``
LR policy keeps the LR for N epochs and decays it to 0 over N more.

One :meth:`CycleGAN.train_step` is one generator update (discriminators frozen)
followed by one discriminator update on pooled fakes, the reference's order.

How it differs from the reference (the same maths, less time and memory):

- the generator loss is a sum of two cycles; each cycle (``A→B→A`` with its GAN and
  identity terms, then ``B→A→B``) gets its own backward and the gradients
  accumulate.  Only one cycle's activations are alive at a time, and under DDP each
  wrapped generator runs exactly one forward per backward (the first backward runs
  under ``no_sync``, so gradients are still all-reduced once per step);
- with per-sample normalisation (instance norm, or none) a generator's translation
  and its identity mapping are one batched forward, and each discriminator judges
  ``[real; fake]`` in one forward — exactly equal to separate forwards;
- the frozen discriminators of the generator step are the plain (unwrapped)
  modules: their weights are the same on every rank and need no gradient.

The model plugs into :func:`styleforge.engine.fit` (see ``engine/__init__.py``).

Examples:
    >>> m = CycleGAN(CycleGANConfig(netG="resnet_6blocks", ngf=8, ndf=8))
    >>> sorted(m.networks)
    ['D_A', 'D_B', 'G_A', 'G_B']
"""

from __future__ import annotations

__all__ = [
    "PRESETS",
    "CycleGAN",
    "CycleGANConfig",
    "CycleGANPreset",
    "cycle_loss",
    "identity_loss",
]

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..nets import build_discriminator, build_generator
from .image_pool import ImagePool
from .losses import GAN_MODES, gan_loss, gradient_penalty
from .pix2pix import TrainContext, config_from_dict, eval_forward, frozen

KIND = "cyclegan"


def to_float32(x: torch.Tensor) -> torch.Tensor:
    """Losses in at least float32 (autocast outputs may be fp16/bf16)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def cycle_loss(reconstructed: torch.Tensor, real: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """``weight · ‖F(G(x)) − x‖₁`` (mean absolute error).

    Examples:
        >>> float(cycle_loss(torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)))
        5.0
    """
    return weight * F.l1_loss(to_float32(reconstructed), to_float32(real))


def identity_loss(mapped: torch.Tensor, real: torch.Tensor, weight: float = 10.0, ratio: float = 0.5) -> torch.Tensor:
    """``ratio · weight · ‖G(y) − y‖₁``: a generator fed an image of its target domain should keep it.

    Examples:
        >>> float(identity_loss(torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)))
        5.0
    """
    return ratio * weight * F.l1_loss(to_float32(mapped), to_float32(real))


@dataclass(frozen=True)
class CycleGANConfig:
    """Architecture and loss hyper-parameters (saved in every checkpoint).

    ``input_nc`` is the channel count of domain A, ``output_nc`` that of domain B.
    """

    netG: str = "resnet_9blocks"
    netD: str = "basic"
    n_layers_D: int = 3
    ngf: int = 64
    ndf: int = 64
    norm: str = "instance"
    dropout: bool = False
    init: str = "normal"
    init_gain: float = 0.02
    input_nc: int = 3
    output_nc: int = 3
    #: ``deconv`` (reference) or ``resize`` (nearest ×2 + conv: no checkerboard artefacts); ResNet only.
    upsample: str = "deconv"
    padding: str = "reflect"
    gan_mode: str = "lsgan"
    lambda_A: float = 10.0
    lambda_B: float = 10.0
    #: Identity loss weight as a fraction of λ (0 switches it off).
    lambda_identity: float = 0.5
    lambda_gp: float = 10.0
    pool_size: int = 50
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    #: Batched forwards where that is exact (per-sample norms); ``False`` = the reference's separate forwards.
    fuse: bool = True

    def __post_init__(self) -> None:
        if self.gan_mode not in GAN_MODES:
            raise InputError(f"unknown GAN mode {self.gan_mode!r}; choose from: {', '.join(GAN_MODES)}")
        if min(self.lambda_A, self.lambda_B, self.lambda_identity) < 0:
            raise InputError("loss weights must be >= 0")
        if self.pool_size < 0:
            raise InputError(f"--pool-size must be >= 0, got {self.pool_size}")
        if self.input_nc not in (1, 3) or self.output_nc not in (1, 3):
            raise InputError("--input-nc/--output-nc must be 1 or 3")
        if self.lambda_identity > 0 and self.input_nc != self.output_nc:
            raise InputError(
                f"domain A has {self.input_nc} channel(s) but domain B has {self.output_nc}: the identity loss "
                f"feeds each generator images of its output domain, so it needs equal channel counts; "
                f"use --lambda-identity 0 (or --input-nc/--output-nc to convert the images)"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CycleGANConfig:
        return config_from_dict(cls, d, "cyclegan")

    @property
    def per_sample_norm(self) -> bool:
        return self.norm != "batch"


def _no_sync(nets: list[nn.Module], enabled: bool) -> contextlib.ExitStack:
    """Enter ``no_sync()`` of every DDP-wrapped net (gradient accumulation without all-reduce)."""
    stack = contextlib.ExitStack()
    if enabled:
        for n in nets:
            no_sync = getattr(n, "no_sync", None)  # DDP-wrapped networks only
            if no_sync is not None:
                stack.enter_context(no_sync())
    return stack


class CycleGAN:
    """CycleGAN networks, image pools and training step.

    Attributes:
        networks: the plain ``{"G_A", "G_B", "D_A", "D_B"}`` (G_A: A→B, D_A judges domain B).
        pools: ``{"A": pool of G_A's fakes (for D_A), "B": pool of G_B's fakes (for D_B)}``.
    """

    kind = KIND
    #: The loss the ``plateau`` LR policy watches.
    monitor = "cycle_A"

    def __init__(
        self, config: CycleGANConfig = CycleGANConfig(), *, generator: torch.Generator | None = None, pool_seed: int = 0
    ) -> None:
        self.config = c = config
        g = generator if generator is not None else torch.Generator().manual_seed(0)

        def gen(cin: int, cout: int) -> nn.Module:
            return build_generator(
                c.netG,
                cin,
                cout,
                ngf=c.ngf,
                norm=c.norm,
                dropout=c.dropout,
                padding=c.padding,
                upsample=c.upsample,
                init=c.init,
                init_gain=c.init_gain,
                generator=g,
            )

        def disc(cin: int) -> nn.Module:
            return build_discriminator(
                c.netD,
                cin,
                ndf=c.ndf,
                n_layers=c.n_layers_D,
                norm=c.norm,
                init=c.init,
                init_gain=c.init_gain,
                generator=g,
            )

        self.networks: dict[str, nn.Module] = {
            "G_A": gen(c.input_nc, c.output_nc),
            "G_B": gen(c.output_nc, c.input_nc),
            "D_A": disc(c.output_nc),
            "D_B": disc(c.input_nc),
        }
        self.pools = {
            "A": ImagePool(c.pool_size, generator=torch.Generator().manual_seed(2 * pool_seed)),
            "B": ImagePool(c.pool_size, generator=torch.Generator().manual_seed(2 * pool_seed + 1)),
        }

    # -- engine protocol -------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """One Adam for both generators and one for both discriminators (as the reference)."""
        c = self.config
        opts: dict[str, torch.optim.Optimizer] = {}
        for name, keys in (("G", ("G_A", "G_B")), ("D", ("D_A", "D_B"))):
            params = [p for k in keys for p in self.networks[k].parameters()]
            fused = all(p.device.type in ("cpu", "cuda") for p in params)
            opts[name] = torch.optim.Adam(params, lr=c.lr, betas=(c.beta1, c.beta2), fused=fused)
        return opts

    def extra_state(self) -> dict[str, Any]:
        """The image pools (saved in checkpoints for an exact resume)."""
        return {k: p.state_dict() for k, p in self.pools.items()}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        for k, p in self.pools.items():
            p.load_state_dict(state[k])

    def train_step(self, batch: Mapping[str, Any], ctx: TrainContext) -> dict[str, torch.Tensor]:
        """One generator update (D frozen) then one discriminator update; returns detached losses."""
        c = self.config
        real_a, real_b = ctx.input(batch["A"]), ctx.input(batch["B"])
        G_A, G_B, D_A, D_B = (ctx.nets[k] for k in ("G_A", "G_B", "D_A", "D_B"))
        out: dict[str, torch.Tensor] = {}
        idt = c.lambda_identity > 0
        fuse = c.fuse and c.per_sample_norm
        # Batched forwards need equal sizes (preprocess none/scale_width can give A and B different sizes).
        idt_fused = idt and fuse and real_a.shape == real_b.shape

        # -- generators: one backward per cycle, gradients accumulate ---------------
        def half(
            g_fwd: nn.Module,
            g_back: nn.Module,
            d_plain: nn.Module,
            real_src: torch.Tensor,
            real_dst: torch.Tensor,
            lam_src: float,
            lam_dst: float,
            tag: str,
        ) -> tuple[torch.Tensor, torch.Tensor]:
            # tag "A": G_A maps A→B, G_B reconstructs A; D_A judges the fake B.
            with ctx.autocast():
                if idt_fused:
                    fake, same = g_fwd(torch.cat([real_src, real_dst], 0)).chunk(2)
                else:
                    fake, same = g_fwd(real_src), None
                rec = g_back(fake)
                with frozen(d_plain):
                    loss_gan = gan_loss(to_float32(d_plain(fake)), True, c.gan_mode)
                loss_cyc = cycle_loss(rec, real_src, lam_src)
                loss = loss_gan + loss_cyc
                if same is not None:
                    loss_idt = identity_loss(same, real_dst, lam_dst, c.lambda_identity)
                    loss = loss + loss_idt
                    out[f"idt_{tag}"] = loss_idt.detach()
            out[f"G_{tag}"], out[f"cycle_{tag}"] = loss_gan.detach(), loss_cyc.detach()
            return loss, fake.detach()

        fakes: dict[str, torch.Tensor] = {}

        def pass_a() -> None:
            loss, fakes["B"] = half(G_A, G_B, self.networks["D_A"], real_a, real_b, c.lambda_A, c.lambda_B, "A")
            ctx.backward(loss)

        def pass_b() -> None:
            loss, fakes["A"] = half(G_B, G_A, self.networks["D_B"], real_b, real_a, c.lambda_B, c.lambda_A, "B")
            ctx.backward(loss)

        def pass_idt() -> None:  # separate identity forwards (batch norm, or fuse=False)
            with ctx.autocast():
                loss_a = identity_loss(G_A(real_b), real_b, c.lambda_B, c.lambda_identity)
                loss_b = identity_loss(G_B(real_a), real_a, c.lambda_A, c.lambda_identity)
            out["idt_A"], out["idt_B"] = loss_a.detach(), loss_b.detach()
            ctx.backward(loss_a + loss_b)

        passes: list[Callable[[], None]] = [pass_a, pass_b] + ([pass_idt] if idt and not idt_fused else [])
        opt_g = ctx.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        for i, run_pass in enumerate(passes):
            with _no_sync([G_A, G_B], i < len(passes) - 1):
                run_pass()
        ctx.step(opt_g)

        # -- discriminators on pooled fakes ---------------------------------------------
        opt_d = ctx.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        loss_d = torch.zeros(
            (), device=real_a.device, dtype=torch.float64 if real_a.dtype == torch.float64 else torch.float32
        )
        for tag, D, name, real, fake in (
            ("A", D_A, "D_A", real_b, self.pools["A"].query(fakes["B"])),
            ("B", D_B, "D_B", real_a, self.pools["B"].query(fakes["A"])),
        ):
            with ctx.autocast():
                if fuse and real.shape == fake.shape:
                    pred_real, pred_fake = D(torch.cat([real, fake], 0)).chunk(2)
                else:
                    pred_real, pred_fake = D(real), D(fake)
                l_real = gan_loss(to_float32(pred_real), True, c.gan_mode)
                l_fake = gan_loss(to_float32(pred_fake), False, c.gan_mode)
                loss_dn = 0.5 * (l_real + l_fake)
                if c.gan_mode == "wgangp":
                    gp = gradient_penalty(self.networks[name], real, fake, weight=c.lambda_gp)
                    loss_dn = loss_dn + gp
                    out[f"D_{tag}_gp"] = gp.detach()
            out[f"D_{tag}"] = loss_dn.detach()
            loss_d = loss_d + loss_dn
        ctx.backward(loss_d)
        ctx.step(opt_d)
        return out

    @torch.no_grad()
    def translate(self, x: torch.Tensor, direction: str = "AtoB") -> torch.Tensor:
        """Apply G_A (``AtoB``) or G_B (``BtoA``) in eval mode to a network-space batch."""
        return eval_forward(self.networks["G_A" if direction == "AtoB" else "G_B"], x)

    @torch.no_grad()
    def visuals(self, batch: Mapping[str, Any], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Both sides as RGB in [0, 1]: ``real_A, fake_B, rec_A, idt_B | real_B, fake_A, rec_B, idt_A``.

        ``idt_B`` = G_B(real_A) (should equal real_A), ``idt_A`` = G_A(real_B); they are
        shown when the identity loss is on.
        """
        real_a, real_b = batch["A"].to(device), batch["B"].to(device)
        fake_b = self.translate(real_a, "AtoB")
        fake_a = self.translate(real_b, "BtoA")
        v = {"real_A": real_a, "fake_B": fake_b, "rec_A": self.translate(fake_b, "BtoA")}
        if self.config.lambda_identity > 0:
            v["idt_B"] = self.translate(real_a, "BtoA")
        v |= {"real_B": real_b, "fake_A": fake_a, "rec_B": self.translate(fake_a, "AtoB")}
        if self.config.lambda_identity > 0:
            v["idt_A"] = self.translate(real_b, "AtoB")
        return {k: to_rgb(t) for k, t in v.items()}

    @classmethod
    def from_checkpoint_config(cls, d: Mapping[str, Any]) -> CycleGAN:
        return cls(CycleGANConfig.from_dict(d))


def to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Network-space ``(N, 1|3, H, W)`` in [-1, 1] → displayable RGB in [0, 1] on the CPU."""
    x = x.float().cpu()
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return ((x[:, :3] + 1) / 2).clamp(0, 1)


@dataclass(frozen=True)
class CycleGANPreset:
    """Settings for one dataset (the paper's, or the makeup recipe)."""

    n_epochs: int = 100
    n_epochs_decay: int = 100
    batch_size: int = 1
    load_size: int = 286
    crop_size: int = 256
    preprocess: str = "resize_and_crop"
    flip: bool = True
    netG: str = "resnet_9blocks"
    lambda_identity: float = 0.5
    url: str = ""
    note: str = ""


_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"

#: Paper / reference settings (Zhu et al. 2017 §4 and appendix 7; the reference's train scripts).
PRESETS: dict[str, CycleGANPreset] = {
    "horse2zebra": CycleGANPreset(
        url=_URL.format("horse2zebra"),
        note="1067 horses / 1334 zebras; the paper used no identity loss here (add --lambda-identity 0 for that)",
    ),
    "apple2orange": CycleGANPreset(url=_URL.format("apple2orange"), note="ImageNet apples / oranges"),
    "summer2winter_yosemite": CycleGANPreset(url=_URL.format("summer2winter_yosemite"), note="Flickr Yosemite photos"),
    "monet2photo": CycleGANPreset(
        url=_URL.format("monet2photo"),
        note="A = Monet paintings; identity loss 0.5·λ keeps the colours (paper §5.2)",
    ),
    #: Faces aligned and cropped at 256 px by ``styleforge faces prepare`` (A = no makeup, B = makeup):
    #: little jitter so eyes and lips stay where the alignment put them, identity loss on to keep
    #: skin tone and identity, fewer epochs because a face set has ~2-3 k images (~250 k steps).
    "makeup": CycleGANPreset(
        n_epochs=50,
        n_epochs_decay=50,
        load_size=268,
        crop_size=256,
        note="256 px aligned faces from `styleforge faces prepare` (A = no_makeup, B = makeup)",
    ),
}
