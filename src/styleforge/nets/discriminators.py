"""Conditional discriminators: PatchGAN (``basic`` = 70×70, ``n_layers``) and PixelGAN (1×1).

They return a map of logits ``(N, 1, H', W')``: one real/fake score per patch.
"""

from __future__ import annotations

__all__ = ["NLayerDiscriminator", "PixelDiscriminator"]

import torch
from torch import nn

from .init import conv_bias, norm_layer


class NLayerDiscriminator(nn.Module):
    """PatchGAN with ``n_layers`` stride-2 convolutions (3 → the 70×70 receptive field).

    Examples:
        >>> d = NLayerDiscriminator(6, ndf=8)
        >>> d(torch.zeros(1, 6, 64, 64)).shape
        torch.Size([1, 1, 6, 6])
    """

    def __init__(
        self, input_nc: int, *, ndf: int = 64, n_layers: int = 3, norm: str = "instance", antialias: bool = False
    ) -> None:
        """``antialias``: CUT's variant, stride-1 convolutions each followed by a blurred ×½."""
        super().__init__()
        from .generators import BlurDownsample

        make_norm, bias = norm_layer(norm), conv_bias(norm)
        s = 1 if antialias else 2
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, s, 1), nn.LeakyReLU(0.2, True)]
        if antialias:
            layers.append(BlurDownsample(ndf))
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, s, 1, bias=bias),
                make_norm(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
            if antialias:
                layers.append(BlurDownsample(ndf * mult))
        prev, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=bias),
            make_norm(ndf * mult),
            nn.LeakyReLU(0.2, True),
        ]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1×1 PatchGAN (PixelGAN): judges every pixel on its own colour.

    Examples:
        >>> PixelDiscriminator(6, ndf=8)(torch.zeros(1, 6, 5, 7)).shape
        torch.Size([1, 1, 5, 7])
    """

    def __init__(self, input_nc: int, *, ndf: int = 64, norm: str = "instance") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.model = nn.Sequential(
            nn.Conv2d(input_nc, ndf, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias),
            make_norm(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
