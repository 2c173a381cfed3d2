"""Image-to-image generators: U-Net (pix2pix) and ResNet (Johnson et al., CycleGAN).

Both map ``(N, input_nc, H, W)`` in [-1, 1] to ``(N, output_nc, H, W)`` in [-1, 1] (tanh).
With ``pad_to_fit=True`` any H×W is accepted: the input is reflection-padded to the
next size the network can halve and double back (2**num_downs for a U-Net, 4 for a
ResNet) and the output is cropped back.  Without it a size the architecture cannot
take is refused with a clear :class:`InputError` (instead of a shape mismatch deep
in ``torch.cat``).
"""

from __future__ import annotations

__all__ = ["BlurDownsample", "BlurUpsample", "ResnetBlock", "ResnetGenerator", "UnetGenerator", "pad_to_multiple"]

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, suggest
from .init import conv_bias, norm_layer

PADDINGS = ("reflect", "replicate", "zero")
UPSAMPLES = ("deconv", "resize", "antialias")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``x`` at the bottom/right to sides divisible by ``multiple``; return it and the old (H, W).

    Reflection padding is used where the image is large enough, replication otherwise.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


class _FitMixin:
    multiple: int
    pad_to_fit: bool
    name: str

    def _fit(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        h, w = x.shape[-2:]
        if self.pad_to_fit:
            return pad_to_multiple(x, self.multiple)
        if h % self.multiple or w % self.multiple:
            raise InputError(
                f"{self.name} needs image sides divisible by {self.multiple}, got {w}×{h}; "
                f"crop/resize to a multiple of {self.multiple} or use an any-size generator (pad_to_fit)"
            )
        return x, (h, w)


class UnetBlock(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and the skip concatenation.

    As in the reference implementation, the skip connection carries the
    LeakyReLU-activated features (the reference applies that activation in place).
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        *,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "instance",
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost, self.innermost = outermost, innermost
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        self.down = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=bias)
        # Not in place: its input is an instance-norm output (a view) that the skip
        # connection keeps; in place it costs a CopySlices/as_strided backward (~20% of G).
        self.act_down = nn.LeakyReLU(0.2)
        self.act_up = nn.ReLU(inplace=True)
        self.sub = submodule
        up_in = inner_nc if innermost else inner_nc * 2
        self.up = nn.ConvTranspose2d(up_in, outer_nc, 4, 2, 1, bias=True if outermost else bias)
        self.down_norm = nn.Identity() if (outermost or innermost) else make_norm(inner_nc)
        self.up_norm = nn.Identity() if outermost else make_norm(outer_nc)
        self.dropout = nn.Dropout(0.5) if dropout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            h = self.down(x)
            assert self.sub is not None
            return torch.tanh(self.up(self.act_up(self.sub(h))))
        h = self.act_down(x)
        d = self.down_norm(self.down(h))
        if self.sub is not None:
            d = self.sub(d)
        u = self.dropout(self.up_norm(self.up(self.act_up(d))))
        return torch.cat([h, u], 1)


class UnetGenerator(_FitMixin, nn.Module):
    """The pix2pix U-Net with ``num_downs`` halvings (8 → ``unet_256``, 7 → ``unet_128``).

    Examples:
        >>> g = UnetGenerator(3, 3, num_downs=5, ngf=8, pad_to_fit=True)
        >>> g(torch.zeros(1, 3, 40, 50)).shape
        torch.Size([1, 3, 40, 50])
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        *,
        num_downs: int = 8,
        ngf: int = 64,
        norm: str = "instance",
        dropout: bool = False,
        pad_to_fit: bool = False,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise InputError(f"a U-Net needs at least 5 downsamplings, got {num_downs}")
        self.name = f"unet ({num_downs} downsamplings)"
        self.multiple, self.pad_to_fit = 2**num_downs, pad_to_fit
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        block = UnetBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = UnetBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = UnetBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = UnetBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = self._fit(x)
        y = self.model(x)
        return y[..., :h, :w]


def _pad(kind: str, amount: int) -> tuple[list[nn.Module], int]:
    if kind == "reflect":
        return [nn.ReflectionPad2d(amount)], 0
    if kind == "replicate":
        return [nn.ReplicationPad2d(amount)], 0
    if kind == "zero":
        return [], amount
    raise InputError(f"unknown padding {kind!r}{suggest(kind, PADDINGS)}; choose from: {', '.join(PADDINGS)}")


def _binomial(n: int) -> torch.Tensor:
    """The normalised 2-D binomial filter of side ``n`` (``[1, 2, 1]`` ⊗ ``[1, 2, 1]`` / 16 for 3)."""
    a = torch.ones(1, dtype=torch.float64)
    for _ in range(n - 1):
        a = torch.cat([a, torch.zeros(1, dtype=a.dtype)]) + torch.cat([torch.zeros(1, dtype=a.dtype), a])
    f = a[:, None] * a[None, :]
    return (f / f.sum()).float()


class BlurDownsample(nn.Module):
    """Anti-aliased ×½ (Zhang 2019, as CUT's generator): reflect-pad 1, 3×3 binomial blur, stride 2."""

    filt: torch.Tensor  # buffer

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", _binomial(3).expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filt.to(x.dtype), stride=2, groups=x.shape[1])


class BlurUpsample(nn.Module):
    """Anti-aliased ×2 (as CUT's generator): replicate-pad 1, transposed 4×4 binomial (×4), crop to 2H×2W."""

    filt: torch.Tensor  # buffer

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("filt", (_binomial(4) * 4).expand(channels, 1, 4, 4).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose2d(
            F.pad(x, (1, 1, 1, 1), mode="replicate"), self.filt.to(x.dtype), stride=2, padding=2, groups=x.shape[1]
        )
        return y[:, :, 1:-1, 1:-1]


class ResnetBlock(nn.Module):
    """``x + conv-norm-relu-[dropout]-conv-norm(x)`` with explicit padding."""

    def __init__(self, dim: int, *, norm: str, dropout: bool, padding: str = "reflect") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        pad, p = _pad(padding, 1)
        layers: list[nn.Module] = [*pad, nn.Conv2d(dim, dim, 3, padding=p, bias=bias), make_norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        pad, p = _pad(padding, 1)
        layers += [*pad, nn.Conv2d(dim, dim, 3, padding=p, bias=bias), make_norm(dim)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(_FitMixin, nn.Module):
    """ResNet generator: 7×7 stem, 2 stride-2 downsamplings, ``n_blocks`` residual blocks, 2 upsamplings.

    Args:
        upsample: ``"deconv"`` (transposed convolutions, the reference) or ``"resize"``
            (nearest-neighbour ×2 then a 3×3 convolution — no checkerboard artefacts), or
            ``"antialias"``: CUT's generator (stride-1 convolutions with blurred ×½ down and
            blurred ×2 up, :class:`BlurDownsample` / :class:`BlurUpsample`, same layer indices).
        padding: ``"reflect"`` (reference), ``"replicate"`` or ``"zero"``.

    Examples:
        >>> g = ResnetGenerator(3, 3, n_blocks=2, ngf=8, upsample="resize", pad_to_fit=True)
        >>> g(torch.zeros(1, 3, 30, 45)).shape
        torch.Size([1, 3, 30, 45])
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        *,
        n_blocks: int = 9,
        ngf: int = 64,
        norm: str = "instance",
        dropout: bool = False,
        padding: str = "reflect",
        upsample: str = "deconv",
        pad_to_fit: bool = False,
    ) -> None:
        super().__init__()
        if upsample not in UPSAMPLES:
            raise InputError(
                f"unknown upsample {upsample!r}{suggest(upsample, UPSAMPLES)}; choose from: {', '.join(UPSAMPLES)}"
            )
        self.name = f"resnet_{n_blocks}blocks"
        self.multiple, self.pad_to_fit = 4, pad_to_fit
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        pad, p = _pad(padding, 3)
        layers: list[nn.Module] = [
            *pad,
            nn.Conv2d(input_nc, ngf, 7, padding=p, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        aa = upsample == "antialias"
        for i in range(2):
            c = ngf * 2**i
            layers += [
                nn.Conv2d(c, c * 2, 3, stride=1 if aa else 2, padding=1, bias=bias),
                make_norm(c * 2),
                nn.ReLU(True),
            ]
            if aa:
                layers.append(BlurDownsample(c * 2))
        dim = ngf * 4
        layers += [ResnetBlock(dim, norm=norm, dropout=dropout, padding=padding) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            if upsample == "deconv":
                layers.append(nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=bias))
            elif aa:
                layers += [BlurUpsample(c), nn.Conv2d(c, c // 2, 3, padding=1, bias=bias)]
            else:
                pad1, p1 = _pad(padding, 1)
                layers += [
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    *pad1,
                    nn.Conv2d(c, c // 2, 3, padding=p1, bias=bias),
                ]
            layers += [make_norm(c // 2), nn.ReLU(True)]
        pad, p = _pad(padding, 3)
        layers += [*pad, nn.Conv2d(ngf, output_nc, 7, padding=p), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = self._fit(x)
        return self.model(x)[..., :h, :w]

    def features(self, x: torch.Tensor, layers: tuple[int, ...]) -> list[torch.Tensor]:
        """The outputs of ``self.model[i]`` for each ``i`` in ``layers`` (CUT's PatchNCE encoder features)."""
        feats: list[torch.Tensor] = []
        last = max(layers)
        for i, layer in enumerate(self.model):
            x = layer(x)
            if i in layers:
                feats.append(x)
            if i == last:
                break
        return feats
