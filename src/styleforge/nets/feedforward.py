"""Johnson et al.'s feed-forward style network (``TransformerNet``).

Perceptual Losses for Real-Time Style Transfer and Super-Resolution (ECCV
2016), with the later fixes everyone adopted: reflection padding, instance
normalisation (Ulyanov et al.) and nearest upsampling followed by a
convolution instead of transposed convolutions (no checkerboard artefacts,
Odena et al.).  Input and output are RGB images in [0, 1] of any size.

Two sizes are registered in :data:`TRANSFORMER_CONFIGS`:

* ``johnson`` — the paper's network: 32-64-128 channels, 5 residual blocks;
* ``small`` — a CPU variant: 16-32-64 channels, 3 residual blocks
  (0.22× the multiply-accumulates) that starts as the identity (``input_skip``), so
  that a training of a few hundred steps keeps the photo's structure;
* ``fast`` — the built-in models' network: 16-32-48 channels, a tapered
  decoder (16 then 8 channels) and 5×5 outer kernels, 2.85 G MACs (5.7 GFLOPs,
  0.09× ``johnson``; ``benchmarks/model_flops.py``) at 512×384 (0.08–0.10 s on 2 CPU cores,
  faster than Magenta's 26-style net).
"""

from __future__ import annotations

__all__ = ["TRANSFORMER_CONFIGS", "TransformerConfig", "TransformerNet"]

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture of a :class:`TransformerNet`."""

    channels: tuple[int, int, int] = (32, 64, 128)
    n_residual: int = 5
    kernel_in: int = 9
    kernel_out: int = 9
    #: Start as the identity: the last convolution is zero-initialised and adds
    #: to the input's logit, so a short (CPU) training only has to learn the style
    #: change, not to rebuild the photo.
    input_skip: bool = False
    #: Widths of the two upsampling stages; ``None`` mirrors the encoder (``c2, c1``).
    up_channels: tuple[int, int] | None = None
    #: ``input_skip`` clamps the input to ``[eps, 1 − eps]`` before its logit.  A tiny eps keeps
    #: the identity exact but saturates the sigmoid on dark and bright areas (no gradient: they
    #: stay black, untextured); 0.05 keeps ≥ 5 % of the gradient there.
    skip_eps: float = 1e-3

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["up_channels"] = list(self.up_channels) if self.up_channels else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> TransformerConfig:
        g: dict[str, Any] = dict(d)
        c1, c2, c3 = (int(c) for c in g.get("channels", (32, 64, 128)))
        up = g.get("up_channels")
        ups = (int(up[0]), int(up[1])) if up else None
        return cls(
            channels=(c1, c2, c3),
            n_residual=int(g.get("n_residual", 5)),
            kernel_in=int(g.get("kernel_in", 9)),
            kernel_out=int(g.get("kernel_out", 9)),
            input_skip=bool(g.get("input_skip", False)),
            up_channels=ups,
            skip_eps=float(g.get("skip_eps", 1e-3)),
        )


TRANSFORMER_CONFIGS: dict[str, TransformerConfig] = {
    "johnson": TransformerConfig(),
    "small": TransformerConfig(channels=(16, 32, 64), n_residual=3, input_skip=True),
    "fast": TransformerConfig(
        channels=(16, 32, 48),
        n_residual=3,
        kernel_in=5,
        kernel_out=5,
        input_skip=True,
        up_channels=(16, 8),
        skip_eps=0.05,
    ),
}


class ConvLayer(nn.Sequential):
    """Reflection pad → convolution (→ instance norm → ReLU)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, *, norm: bool = True, relu: bool = True) -> None:
        layers: list[nn.Module] = [nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride)]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(ConvLayer(ch, ch, 3), ConvLayer(ch, ch, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest ×2 upsampling to an exact size, then a convolution (no checkerboards)."""

    def __init__(self, cin: int, cout: int, k: int = 3) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, k)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


class TransformerNet(nn.Module):
    """Image → stylised image, both ``(N, 3, H, W)`` RGB in [0, 1]; any ``H, W ≥ 4``.

    Example:
        >>> net = TransformerNet(TRANSFORMER_CONFIGS["small"])
        >>> net(torch.rand(1, 3, 37, 50)).shape
        torch.Size([1, 3, 37, 50])
    """

    def __init__(self, config: TransformerConfig = TransformerConfig()) -> None:
        super().__init__()
        self.config = config
        c1, c2, c3 = config.channels
        u2, u1 = config.up_channels or (c2, c1)
        self.down = nn.ModuleList(
            [ConvLayer(3, c1, config.kernel_in), ConvLayer(c1, c2, 3, 2), ConvLayer(c2, c3, 3, 2)]
        )
        self.res = nn.Sequential(*[ResidualBlock(c3) for _ in range(config.n_residual)])
        self.up1 = UpsampleConv(c3, u2)
        self.up2 = UpsampleConv(u2, u1)
        self.out = ConvLayer(u1, 3, config.kernel_out, norm=False, relu=False)
        if config.input_skip:
            last = self.out[1]
            assert isinstance(last, nn.Conv2d) and last.bias is not None
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h0 = self.down[0](x)
        h1 = self.down[1](h0)
        h = self.res(self.down[2](h1))
        h = self.up1(h, (h1.shape[-2], h1.shape[-1]))
        h = self.up2(h, (h0.shape[-2], h0.shape[-1]))
        o = self.out(h)
        if self.config.input_skip:
            eps = self.config.skip_eps
            x = x.clamp(eps, 1 - eps)
            o = o + torch.log(x / (1 - x))  # the input's logit: sigmoid(o) = x at initialisation
        return torch.sigmoid(o)
