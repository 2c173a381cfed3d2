"""Weight initialisation and normalisation layers shared by the GAN networks."""

from __future__ import annotations

__all__ = ["INIT_KINDS", "NORM_KINDS", "init_weights", "norm_layer", "conv_bias"]

import functools
from collections.abc import Callable

import torch
from torch import nn

from ..errors import InputError, suggest

INIT_KINDS = ("normal", "xavier", "kaiming", "orthogonal")
NORM_KINDS = ("batch", "instance", "none")


def norm_layer(kind: str) -> Callable[[int], nn.Module]:
    """Return a factory ``channels -> nn.Module`` for ``batch``, ``instance`` or ``none``.

    Batch norm is affine with running statistics; instance norm is neither (as in
    the pix2pix/CycleGAN reference); ``none`` is the identity.
    """
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if kind == "none":
        return lambda channels: nn.Identity()
    raise InputError(f"unknown norm {kind!r}{suggest(kind, NORM_KINDS)}; choose from: {', '.join(NORM_KINDS)}")


def conv_bias(kind: str) -> bool:
    """Convolutions carry a bias unless a batch norm with its own shift follows."""
    return kind != "batch"


@torch.no_grad()
def init_weights(
    module: nn.Module,
    kind: str = "normal",
    gain: float = 0.02,
    *,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Initialise conv/linear weights with ``kind`` (gain 0.02) and batch-norm scales ~ N(1, gain).

    Biases are zeroed.  ``generator`` makes the draw independent of the global RNG.

    Examples:
        >>> net = init_weights(nn.Conv2d(3, 8, 3), "normal", 0.02, generator=torch.Generator().manual_seed(0))
        >>> round(float(net.weight.std()), 2)
        0.02
    """
    if kind not in INIT_KINDS:
        raise InputError(f"unknown init {kind!r}{suggest(kind, INIT_KINDS)}; choose from: {', '.join(INIT_KINDS)}")
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = m.weight
            if kind == "normal":
                w.normal_(0.0, gain, generator=generator)
            elif kind == "xavier":
                fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
                std = gain * (2.0 / float(fan_in + fan_out)) ** 0.5
                w.normal_(0.0, std, generator=generator)
            elif kind == "kaiming":
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(w)
                w.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
            else:  # orthogonal, drawn on a flattened Gaussian with our generator
                flat = w.reshape(w.shape[0], -1)
                rows, cols = flat.shape
                a = torch.randn(max(rows, cols), min(rows, cols), generator=generator, dtype=torch.float64)
                q, r = torch.linalg.qr(a)
                q = q * torch.sign(torch.diagonal(r))
                if rows < cols:
                    q = q.T
                w.copy_((gain * q[:rows, :cols]).reshape(w.shape).to(w.dtype))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d) and m.affine:
            m.weight.normal_(1.0, gain, generator=generator)
            m.bias.zero_()
    return module
