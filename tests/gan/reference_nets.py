"""Independent re-writings of the reference repositories' generators (their state-dict layout).

pytorch-CycleGAN-and-pix2pix's ResNet and U-Net generators and CUT's anti-aliased ResNet, as the
published ``latest_net_G.pth`` files expect them: used by the loading tests, written here from
the layout (module order, key names, shapes), not imported from styleforge.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# -- independent reference architectures ------------------------------------------------------------
class RefBlur(nn.Module):
    """CUT's anti-aliased ×½: reflect pad 1, [1 2 1]ᵀ[1 2 1]/16 per channel, stride 2."""

    def __init__(self, c: int) -> None:
        super().__init__()
        k = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
        self.register_buffer("filt", k.repeat(c, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, [1, 1, 1, 1], mode="reflect"), self.filt, stride=2, groups=x.shape[1])


class RefBlurUp(nn.Module):
    """CUT's anti-aliased ×2: replicate pad 1, transposed conv of [1 3 3 1]ᵀ[1 3 3 1]/16, crop."""

    def __init__(self, c: int) -> None:
        super().__init__()
        a = torch.tensor([1.0, 3, 3, 1])
        self.register_buffer("filt", (torch.outer(a, a) / 16).repeat(c, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose2d(
            F.pad(x, [1, 1, 1, 1], mode="replicate"), self.filt, stride=2, padding=2, groups=x.shape[1]
        )
        return y[:, :, 1:, 1:][:, :, :-1, :-1]


def _norm(kind: str, c: int) -> nn.Module:
    return nn.BatchNorm2d(c) if kind == "batch" else nn.InstanceNorm2d(c)


class RefResBlock(nn.Module):
    def __init__(self, d: int, norm: str) -> None:
        super().__init__()
        b = norm != "batch"
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(d, d, 3, bias=b),
            _norm(norm, d),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(d, d, 3, bias=b),
            _norm(norm, d),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class RefResnet(nn.Module):
    def __init__(
        self, cin: int, cout: int, ngf: int, n_blocks: int, norm: str = "instance", antialias: bool = False
    ) -> None:
        super().__init__()
        b = norm != "batch"
        m: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ngf, 7, bias=b), _norm(norm, ngf), nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2**i
            if antialias:
                m += [nn.Conv2d(c, 2 * c, 3, 1, 1, bias=b), _norm(norm, 2 * c), nn.ReLU(True), RefBlur(2 * c)]
            else:
                m += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=b), _norm(norm, 2 * c), nn.ReLU(True)]
        m += [RefResBlock(4 * ngf, norm) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            if antialias:
                m += [RefBlurUp(c), nn.Conv2d(c, c // 2, 3, 1, 1, bias=b), _norm(norm, c // 2), nn.ReLU(True)]
            else:
                m += [
                    nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=b),
                    _norm(norm, c // 2),
                    nn.ReLU(True),
                ]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, cout, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class RefSkip(nn.Module):
    def __init__(
        self,
        outer: int,
        inner: int,
        cin: int | None = None,
        sub: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        cin = outer if cin is None else cin
        down = nn.Conv2d(cin, inner, 4, 2, 1, bias=False)
        if outermost:
            m = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            m = [
                nn.LeakyReLU(0.2, True),
                down,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer),
            ]
        else:
            m = [
                nn.LeakyReLU(0.2, True),
                down,
                nn.BatchNorm2d(inner),
                sub,
                nn.ReLU(True),
                nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False),
                nn.BatchNorm2d(outer),
            ]
        self.model = nn.Sequential(*m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)  # x changed in place


class RefUnet(nn.Module):
    def __init__(self, cin: int, cout: int, num_downs: int, ngf: int) -> None:
        super().__init__()
        b = RefSkip(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            b = RefSkip(ngf * 8, ngf * 8, sub=b)
        b = RefSkip(ngf * 4, ngf * 8, sub=b)
        b = RefSkip(ngf * 2, ngf * 4, sub=b)
        b = RefSkip(ngf, ngf * 2, sub=b)
        self.model = RefSkip(cout, ngf, cin=cin, sub=b, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def randomise(net: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(
                torch.randn(p.shape, generator=g) * (0.2 if "weight" in name else 0.05)
                + (1.0 if p.ndim == 1 and "weight" in name else 0)
            )
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return net
