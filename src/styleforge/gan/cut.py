"""CUT and FastCUT (Park, Efros, Zhang, Zhu, ECCV 2020): unpaired translation with PatchNCE.

One generator ``G`` (A → B), one PatchGAN ``D`` (judges domain B) and a small projection
network ``F`` (a 2-layer MLP per encoder layer, 256-d, L2-normalised outputs).  The PatchNCE
loss makes each patch of ``G(x)`` closer to the patch of ``x`` at the same place than to
the other patches of ``x``: features of layers 0, 4, 8, 12, 16 of the generator's encoder,
256 random locations per layer, InfoNCE at temperature 0.07 with the other locations of the
same image as negatives.

Recipes (the reference's defaults): **CUT** — λ_NCE 1, identity NCE on domain B images
(``NCE(G(y), y)``, averaged with the main term), 400 epochs (200 + 200 decay); **FastCUT** —
λ_NCE 10, no identity term, flip-equivariance (half the steps translate a mirrored input and
mirror its features back), 200 epochs (150 + 50).  Both: LSGAN, λ_GAN 1, Adam 2e-4 β (0.5,
0.999) for G, D and F, xavier init (gain 0.02), instance norm, no dropout, no image pool, the
anti-aliased ResNet generator and PatchGAN (blurred ×½ / ×2), batch 1.

One :meth:`CUT.train_step` is the reference's order: G translates (``[x; y]`` in one forward
with the identity term), D is updated on that fake, then G and F are updated (D frozen).
``F``'s MLPs are sized from the generator's feature channels when the model is built (the
reference sizes them on the first batch from the same shapes), so resume and DDP need no
special first step.  The key features ``G_enc(x)`` are computed without a graph: the
reference detaches them inside the loss, so the gradients are the same.

Examples:
    >>> m = CUT(CUTConfig(mode="fastcut", netG="resnet_6blocks", ngf=4, ndf=4))
    >>> sorted(m.networks), m.config.lambda_nce, m.config.nce_idt
    (['D', 'F', 'G'], 10.0, False)
"""

from __future__ import annotations

__all__ = ["CUT", "CUTConfig", "PatchSampler", "patch_nce_loss", "sample_patches"]

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from ..nets import build_discriminator, build_generator, init_weights
from .cyclegan import to_float32, to_rgb
from .losses import GAN_MODES, gan_loss
from .pix2pix import TrainContext, config_from_dict, eval_forward, frozen

KIND = "cut"
MODES = {
    "cut": {"lambda_nce": 1.0, "nce_idt": True, "flip_equivariance": False},
    "fastcut": {"lambda_nce": 10.0, "nce_idt": False, "flip_equivariance": True},
}
#: Epochs at constant LR + epochs of decay, per mode (the reference's defaults).
EPOCHS = {"cut": (200, 200), "fastcut": (150, 50)}


def patch_nce_loss(feat_q: torch.Tensor, feat_k: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """PatchNCE per query patch ``(B·P,)`` for L2-normalised features ``(B, P, C)``.

    Query ``i`` of image ``b``: positive ``k_i``, negatives the other keys of the same image;
    the (meaningless) self-pair in the negative block is set to ``-10`` as in the reference
    (so it stays in the softmax with weight ``e^{-10/τ}``).  Keys get no gradient.
    """
    b, p, _ = feat_q.shape
    k = feat_k.detach()
    l_pos = (feat_q * k).sum(-1, keepdim=True)
    l_neg = torch.bmm(feat_q, k.transpose(1, 2))
    eye = torch.eye(p, dtype=torch.bool, device=feat_q.device)
    l_neg = l_neg.masked_fill(eye, -10.0)
    logits = torch.cat([l_pos, l_neg], 2).flatten(0, 1) / tau
    return F.cross_entropy(logits, torch.zeros(b * p, dtype=torch.long, device=feat_q.device), reduction="none")


def _l2(x: torch.Tensor) -> torch.Tensor:
    return x / (x.pow(2).sum(-1, keepdim=True).sqrt() + 1e-7)


def sample_patches(
    feats: Sequence[torch.Tensor],
    num_patches: int,
    ids: Sequence[torch.Tensor] | None = None,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``(B, C, H, W)`` maps → ``(B, P, C)`` features at ``P`` random locations (the same for every
    image of the batch, and ``ids`` reuses another call's locations); returns them and the locations."""
    out, used = [], []
    for i, f in enumerate(feats):
        flat = f.permute(0, 2, 3, 1).flatten(1, 2)
        idx = ids[i] if ids is not None else torch.randperm(flat.shape[1], device=f.device)[:num_patches]
        out.append(flat[:, idx])
        used.append(idx)
    return out, used


class PatchSampler(nn.Module):
    """CUT's ``F`` (``mlp_sample``): per layer ``Linear(C, nc) → ReLU → Linear(nc, nc)``, then L2 norm."""

    def __init__(self, channels: Sequence[int], nc: int = 256) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, nc), nn.ReLU(), nn.Linear(nc, nc)) for c in channels)

    def forward(
        self,
        feats: Sequence[torch.Tensor],
        num_patches: int,
        ids: Sequence[torch.Tensor] | None = None,
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        sampled, used = sample_patches(feats, num_patches, ids)
        return [_l2(mlp(x)) for mlp, x in zip(self.mlps, sampled, strict=True)], used


@dataclass(frozen=True)
class CUTConfig:
    """Architecture and loss hyper-parameters; ``None`` takes the ``mode``'s default."""

    mode: str = "cut"
    netG: str = "resnet_9blocks"
    netD: str = "basic"
    n_layers_D: int = 3
    ngf: int = 64
    ndf: int = 64
    norm: str = "instance"
    init: str = "xavier"
    init_gain: float = 0.02
    input_nc: int = 3
    output_nc: int = 3
    #: Blurred down/up sampling in G and D (the reference's default; ``False`` = strided convolutions).
    antialias: bool = True
    gan_mode: str = "lsgan"
    lambda_gan: float = 1.0
    lambda_nce: float | None = None
    nce_idt: bool | None = None
    flip_equivariance: bool | None = None
    nce_layers: tuple[int, ...] = (0, 4, 8, 12, 16)
    num_patches: int = 256
    netF_nc: int = 256
    nce_T: float = 0.07
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"CUT mode must be cut or fastcut, not {self.mode!r}")
        for k, v in MODES[self.mode].items():
            if getattr(self, k) is None:
                object.__setattr__(self, k, v)
        object.__setattr__(self, "nce_layers", tuple(int(i) for i in self.nce_layers))
        if not self.netG.startswith("resnet"):
            raise InputError(f"CUT needs a ResNet generator (its encoder layers feed PatchNCE), not {self.netG}")
        if self.gan_mode not in GAN_MODES:
            raise InputError(f"unknown GAN mode {self.gan_mode!r}; choose from: {', '.join(GAN_MODES)}")
        if self.num_patches < 1 or self.nce_T <= 0 or (self.lambda_nce or 0) < 0:
            raise InputError("--num-patches must be >= 1, --nce-T > 0 and --lambda-nce >= 0")
        if self.nce_idt and self.input_nc != self.output_nc:
            raise InputError(
                "the identity NCE term feeds G images of domain B: it needs equal channel counts "
                "(use --no-nce-idt, or --input-nc/--output-nc)"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CUTConfig:
        return config_from_dict(cls, d, "cut")


def _nce_weight(c: CUTConfig) -> float:
    """λ_NCE (the mode's value once the config is built)."""
    return float(c.lambda_nce or 0.0)


def _plain(net: nn.Module) -> nn.Module:
    return getattr(net, "module", net)


class CUT:
    """CUT / FastCUT networks and training step (plugs into :func:`styleforge.engine.fit`)."""

    kind = KIND
    monitor = "NCE"

    def __init__(self, config: CUTConfig = CUTConfig(), *, generator: torch.Generator | None = None) -> None:
        self.config = c = config
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        G = build_generator(
            c.netG,
            c.input_nc,
            c.output_nc,
            ngf=c.ngf,
            norm=c.norm,
            upsample="antialias" if c.antialias else "deconv",
            init=c.init,
            init_gain=c.init_gain,
            generator=g,
        )
        if max(c.nce_layers) >= len(G.model):  # type: ignore[arg-type]
            raise InputError(f"--nce-layers go up to {len(G.model) - 1} for {c.netG}")  # type: ignore[arg-type]
        D = build_discriminator(
            c.netD,
            c.output_nc,
            ndf=c.ndf,
            n_layers=c.n_layers_D,
            norm=c.norm,
            init=c.init,
            init_gain=c.init_gain,
            generator=g,
            antialias=c.antialias,
        )
        with torch.no_grad():
            chans = [f.shape[1] for f in G.features(torch.zeros(1, c.input_nc, 16, 16), c.nce_layers)]  # type: ignore[operator]
        Fnet = init_weights(PatchSampler(chans, c.netF_nc), c.init, c.init_gain, generator=g)
        self.networks: dict[str, nn.Module] = {"G": G, "D": D, "F": Fnet}

    # -- engine protocol -------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.config)

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        opts: dict[str, torch.optim.Optimizer] = {}
        for name in ("G", "D", "F"):
            params = list(self.networks[name].parameters())
            fused = all(p.device.type in ("cpu", "cuda") for p in params)
            opts[name] = torch.optim.Adam(params, lr=c.lr, betas=(c.beta1, c.beta2), fused=fused)
        return opts

    def nce(self, G: nn.Module, Fnet: nn.Module, src: torch.Tensor, tgt: torch.Tensor, flipped: bool) -> torch.Tensor:
        """λ_NCE · mean over layers of the mean PatchNCE between ``tgt = G(src)`` and ``src``."""
        c = self.config
        # the generator's encoder (layer indices → features)
        enc = cast(Callable[[torch.Tensor, Sequence[int]], list[torch.Tensor]], _plain(G).features)
        feat_q = enc(tgt, c.nce_layers)
        if flipped:
            feat_q = [torch.flip(f, [3]) for f in feat_q]
        with torch.no_grad():
            feat_k, ids = _plain(Fnet)(enc(src, c.nce_layers), c.num_patches)
        feat_q, _ = Fnet(feat_q, c.num_patches, ids)
        total = torch.zeros((), device=src.device)
        for q, k in zip(feat_q, feat_k, strict=True):
            total = total + patch_nce_loss(to_float32(q), to_float32(k), c.nce_T).mean() * _nce_weight(c)
        return total / len(c.nce_layers)

    def train_step(self, batch: Mapping[str, Any], ctx: TrainContext) -> dict[str, torch.Tensor]:
        """G translates, D steps on that fake, then G and F step (D frozen); returns detached losses."""
        c = self.config
        real_a, real_b = ctx.input(batch["A"]), ctx.input(batch["B"])
        G, D, Fnet = (ctx.nets[k] for k in ("G", "D", "F"))
        n = real_a.shape[0]
        idt = bool(c.nce_idt) and _nce_weight(c) > 0 and real_a.shape[1:] == real_b.shape[1:]
        real = torch.cat([real_a, real_b], 0) if idt else real_a
        flipped = bool(c.flip_equivariance) and bool(torch.rand(()) < 0.5)
        if flipped:
            real = torch.flip(real, [3])
        out: dict[str, torch.Tensor] = {}
        with ctx.autocast():
            fake = G(real)
        fake_b, idt_b = fake[:n], (fake[n:] if idt else None)

        # -- D on the fresh fake --------------------------------------------------------
        opt_d = ctx.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        with ctx.autocast():
            l_fake = gan_loss(to_float32(D(fake_b.detach())), False, c.gan_mode)
            l_real = gan_loss(to_float32(D(real_b)), True, c.gan_mode)
            loss_d = 0.5 * (l_fake + l_real)
        ctx.backward(loss_d)
        ctx.step(opt_d)
        out["D_real"], out["D_fake"] = l_real.detach(), l_fake.detach()

        # -- G and F (D frozen) ---------------------------------------------------------
        opt_g, opt_f = ctx.optimizers["G"], ctx.optimizers["F"]
        opt_g.zero_grad(set_to_none=True)
        opt_f.zero_grad(set_to_none=True)
        d_plain = self.networks["D"]
        with ctx.autocast():
            if c.lambda_gan > 0:
                with frozen(d_plain):
                    loss_gan = gan_loss(to_float32(d_plain(fake_b)), True, c.gan_mode) * c.lambda_gan
            else:
                loss_gan = torch.zeros((), device=real_a.device)
            loss_nce = (
                self.nce(G, Fnet, real_a, fake_b, flipped)
                if _nce_weight(c) > 0
                else torch.zeros((), device=real_a.device)
            )
            nce_both = loss_nce
            if idt_b is not None:
                loss_nce_y = self.nce(G, Fnet, real_b, idt_b, flipped)
                nce_both = 0.5 * (loss_nce + loss_nce_y)
                out["NCE_Y"] = loss_nce_y.detach()
            loss_g = loss_gan + nce_both
        ctx.backward(loss_g)
        ctx.step(opt_g)
        ctx.step(opt_f)
        out["G_GAN"], out["NCE"] = loss_gan.detach(), loss_nce.detach()
        return out

    def translate(self, x: torch.Tensor) -> torch.Tensor:
        """G in eval mode on a network-space batch."""
        return eval_forward(self.networks["G"], x)

    @torch.no_grad()
    def visuals(self, batch: Mapping[str, Any], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """``real_A | fake_B | real_B [| idt_B]`` as RGB in [0, 1]."""
        real_a, real_b = batch["A"].to(device), batch["B"].to(device)
        v = {"real_A": real_a, "fake_B": self.translate(real_a), "real_B": real_b}
        if self.config.nce_idt:
            v["idt_B"] = self.translate(real_b)
        return {k: to_rgb(t) for k, t in v.items()}

    @classmethod
    def from_checkpoint_config(cls, d: Mapping[str, Any]) -> CUT:
        return cls(CUTConfig.from_dict(d))
