"""GAN networks: generators, discriminators, initialisation (architectures only).

``GENERATORS`` and ``DISCRIMINATORS`` are explicit registries; build with
:func:`build_generator` / :func:`build_discriminator`.  The networks hold no
optimisers and no device logic.

Examples:
    >>> import torch
    >>> g = build_generator("unet_128", 3, 3, ngf=8)
    >>> g(torch.zeros(1, 3, 128, 128)).shape
    torch.Size([1, 3, 128, 128])
    >>> d = build_discriminator("basic", 6, ndf=8)
    >>> d(torch.zeros(1, 6, 64, 64)).shape
    torch.Size([1, 1, 6, 6])
"""

from __future__ import annotations

__all__ = [
    "DISCRIMINATORS",
    "GENERATORS",
    "INIT_KINDS",
    "NORM_KINDS",
    "NLayerDiscriminator",
    "PixelDiscriminator",
    "ResnetGenerator",
    "UnetGenerator",
    "build_discriminator",
    "build_generator",
    "init_weights",
    "norm_layer",
    "pad_to_multiple",
]

import functools
from typing import Any

import torch
from torch import nn

from ..errors import InputError
from ..registry import Registry
from .discriminators import NLayerDiscriminator, PixelDiscriminator
from .generators import ResnetGenerator, UnetGenerator, pad_to_multiple
from .init import INIT_KINDS, NORM_KINDS, init_weights, norm_layer

GENERATORS: Registry[nn.Module] = Registry("generator")
GENERATORS.register("unet_256", functools.partial(UnetGenerator, num_downs=8))
GENERATORS.register("unet_128", functools.partial(UnetGenerator, num_downs=7))
#: Small U-Nets for thumbnails and tests (sides divisible by 64 / 32).
GENERATORS.register("unet_64", functools.partial(UnetGenerator, num_downs=6))
GENERATORS.register("unet_32", functools.partial(UnetGenerator, num_downs=5))
#: The unet_256 architecture (same weights) that pads any input size and crops back.
GENERATORS.register("unet_any", functools.partial(UnetGenerator, num_downs=8, pad_to_fit=True))
GENERATORS.register("resnet_6blocks", functools.partial(ResnetGenerator, n_blocks=6))
GENERATORS.register("resnet_9blocks", functools.partial(ResnetGenerator, n_blocks=9))

DISCRIMINATORS: Registry[nn.Module] = Registry("discriminator")
DISCRIMINATORS.register("basic", functools.partial(NLayerDiscriminator, n_layers=3))
DISCRIMINATORS.register("n_layers", NLayerDiscriminator)
DISCRIMINATORS.register("pixel", PixelDiscriminator)

_UNET_ONLY_IGNORED = ("padding", "upsample")


def build_generator(
    name: str,
    input_nc: int,
    output_nc: int,
    *,
    ngf: int = 64,
    norm: str = "instance",
    dropout: bool = False,
    padding: str = "reflect",
    upsample: str = "deconv",
    pad_to_fit: bool | None = None,
    init: str | None = "normal",
    init_gain: float = 0.02,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Build and initialise a registered generator.

    ``padding`` and ``upsample`` apply to ResNet generators; a U-Net refuses
    non-default values rather than silently ignoring them.
    """
    factory = GENERATORS.get(name)
    kw: dict[str, Any] = {"ngf": ngf, "norm": norm, "dropout": dropout}
    if name.startswith("resnet"):
        kw.update(padding=padding, upsample=upsample)
    elif padding != "reflect" or upsample != "deconv":
        raise InputError(f"--padding/--upsample apply to ResNet generators, not {name}")
    if pad_to_fit is not None:
        kw["pad_to_fit"] = pad_to_fit
    net = factory(input_nc, output_nc, **kw)
    if init is not None:
        init_weights(net, init, init_gain, generator=generator)
    return net


def build_discriminator(
    name: str,
    input_nc: int,
    *,
    ndf: int = 64,
    n_layers: int = 3,
    norm: str = "instance",
    init: str | None = "normal",
    init_gain: float = 0.02,
    generator: torch.Generator | None = None,
    antialias: bool = False,
) -> nn.Module:
    """Build and initialise a registered discriminator (``n_layers`` is used by ``n_layers`` only;
    ``antialias``, CUT's blurred downsampling, by the PatchGANs only)."""
    factory = DISCRIMINATORS.get(name)
    kw: dict[str, Any] = {"ndf": ndf, "norm": norm}
    if name == "n_layers":
        kw["n_layers"] = n_layers
    if antialias:
        if name == "pixel":
            raise InputError("the pixel discriminator has no downsampling to anti-alias")
        kw["antialias"] = True
    net = factory(input_nc, **kw)
    if init is not None:
        init_weights(net, init, init_gain, generator=generator)
    return net
