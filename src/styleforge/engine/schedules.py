"""Learning-rate policies: ``linear`` (pix2pix/CycleGAN), ``step``, ``cosine``, ``plateau``.

All but ``plateau`` are pure functions of the epoch, stepped once per epoch.
"""

from __future__ import annotations

__all__ = ["LR_POLICIES", "linear_factor", "make_scheduler"]

import functools
from collections.abc import Callable
from typing import Any

import torch

from ..errors import InputError, suggest

LR_POLICIES = ("linear", "step", "cosine", "plateau", "constant")


def linear_factor(epoch: int, *, n_epochs: int, n_epochs_decay: int) -> float:
    """Constant for ``n_epochs``, then linear decay towards 0 over ``n_epochs_decay`` (reference formula).

    Examples:
        >>> [round(linear_factor(e, n_epochs=2, n_epochs_decay=3), 2) for e in range(5)]
        [1.0, 1.0, 0.75, 0.5, 0.25]
    """
    return 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)


def step_factor(epoch: int, *, step_epochs: int, gamma: float) -> float:
    return gamma ** (epoch // max(1, step_epochs))


def cosine_factor(epoch: int, *, total: int) -> float:
    import math

    return 0.5 * (1 + math.cos(math.pi * min(epoch, total) / max(1, total)))


def _constant(epoch: int) -> float:
    return 1.0


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    policy: str,
    *,
    n_epochs: int,
    n_epochs_decay: int,
    step_epochs: int = 50,
    gamma: float = 0.1,
    patience: int = 5,
    factor: float = 0.2,
) -> Any:
    """An epoch-stepped scheduler for ``policy`` (``plateau`` steps with a metric)."""
    fn: Callable[[int], float]
    if policy == "linear":
        fn = functools.partial(linear_factor, n_epochs=n_epochs, n_epochs_decay=n_epochs_decay)
    elif policy == "step":
        fn = functools.partial(step_factor, step_epochs=step_epochs, gamma=gamma)
    elif policy == "cosine":
        fn = functools.partial(cosine_factor, total=n_epochs + n_epochs_decay)
    elif policy == "constant":
        fn = _constant
    elif policy == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=factor, patience=patience, threshold=0.01
        )
    else:
        raise InputError(
            f"unknown LR policy {policy!r}{suggest(policy, LR_POLICIES)}; choose from: {', '.join(LR_POLICIES)}"
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)
