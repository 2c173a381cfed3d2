"""Feature backbones with named layers: VGG16/19 and EfficientNet-Lite0.

:func:`build_backbone` is the one entry point: ``build_backbone("vgg16-offline",
layers=[...])`` returns a frozen module ``net(x, layers) -> {name: feature}``
whose input is an RGB batch in [0, 1].
"""

from __future__ import annotations

__all__ = ["BACKBONES", "DEFAULT_LAYERS", "Backbone", "build_backbone"]

from collections.abc import Sequence
from typing import Protocol

import torch

from ..errors import InputError
from ..registry import Registry
from .vgg import VGGFeatures, layer_names, load_vgg_weights


class Backbone(Protocol):
    """What losses need from a feature extractor."""

    names: list[str]

    def __call__(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]: ...

    def check_layers(self, layers: Sequence[str]) -> None: ...


#: Default (content layers, style layers) per backbone family.
DEFAULT_LAYERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "vgg": (("relu4_2",), ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")),
}

BACKBONES: Registry[torch.nn.Module] = Registry("backbone")


def _deepest(arch: str, layers: Sequence[str]) -> str | None:
    order = layer_names(arch)
    known = [n for n in layers if n in order]
    unknown = [n for n in layers if n not in order]
    if unknown:
        # Build the full net so check_layers reports the valid names.
        VGGFeatures(arch).check_layers(unknown)
    return max(known, key=order.index) if known else None


def _vgg_factory(source: str):  # noqa: ANN202
    def build(*, layers: Sequence[str] = (), pooling: str = "max", weights: str | None = None) -> VGGFeatures:
        arch, sd, norm = load_vgg_weights(weights or source)
        return VGGFeatures(arch, sd, normalization=norm, last_layer=_deepest(arch, layers), pooling=pooling)

    return build


for _name in ("vgg16-offline", "vgg16", "vgg19", "random16", "random19"):
    BACKBONES.register(_name, _vgg_factory(_name))


def _effnet(*, layers: Sequence[str] = (), pooling: str = "max", weights: str | None = None) -> torch.nn.Module:
    from .effnet import EfficientNetLite0Features

    if weights is not None:
        raise InputError("--weights applies to VGG backbones only")
    return EfficientNetLite0Features(layers=layers)


BACKBONES.register("effnet-lite0", _effnet)


def build_backbone(
    name: str = "vgg16-offline",
    *,
    layers: Sequence[str] = (),
    pooling: str = "max",
    weights: str | None = None,
    device: str | torch.device = "cpu",
) -> torch.nn.Module:
    """Build a frozen backbone truncated after the deepest of ``layers``.

    ``weights`` (a local file) overrides the source of a VGG backbone; its
    architecture (VGG16 or VGG19) is detected from the file.
    """
    net = BACKBONES.build(name, layers=layers, pooling=pooling, weights=weights)
    return net.to(device)
