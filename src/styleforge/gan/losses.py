"""GAN objectives as pure functions: vanilla (BCE on logits), LSGAN, WGAN-GP.

Examples:
    >>> import torch
    >>> round(float(gan_loss(torch.zeros(1, 1, 2, 2), True, "vanilla")), 4)  # -log(sigmoid(0))
    0.6931
    >>> float(gan_loss(torch.full((1, 1, 2, 2), 0.5), False, "lsgan"))
    0.25
    >>> float(gan_loss(torch.tensor([1.0, 3.0]), True, "wgangp"))
    -2.0
"""

from __future__ import annotations

__all__ = ["GAN_MODES", "gan_loss", "gradient_penalty"]

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import InputError, suggest

GAN_MODES = ("vanilla", "lsgan", "wgangp")


def gan_loss(pred: torch.Tensor, target_is_real: bool, mode: str = "vanilla") -> torch.Tensor:
    """Loss of discriminator logits ``pred`` against the label real/fake.

    - ``vanilla``: binary cross-entropy with logits (the original GAN / pix2pix);
    - ``lsgan``: mean squared error to 1 or 0 (CycleGAN);
    - ``wgangp``: ``-mean(pred)`` for real, ``mean(pred)`` for fake (pair with :func:`gradient_penalty`).
    """
    if mode == "vanilla":
        target = torch.ones_like(pred) if target_is_real else torch.zeros_like(pred)
        return F.binary_cross_entropy_with_logits(pred, target)
    if mode == "lsgan":
        return ((pred - (1.0 if target_is_real else 0.0)) ** 2).mean()
    if mode == "wgangp":
        return -pred.mean() if target_is_real else pred.mean()
    raise InputError(f"unknown GAN mode {mode!r}{suggest(mode, GAN_MODES)}; choose from: {', '.join(GAN_MODES)}")


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    weight: float = 10.0,
    constant: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``weight · E[(‖∇D(x̂)‖₂ − constant)²]`` on random interpolates x̂ of real and fake.

    ``fake`` is detached; the result is differentiable w.r.t. the critic's parameters.
    """
    alpha = torch.rand(real.shape[0], 1, 1, 1, generator=generator, device="cpu").to(real)
    x = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return weight * ((norms - constant) ** 2).mean()
