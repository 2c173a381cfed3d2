"""Thin ``nn.Module`` wrappers around :mod:`styleforge.losses.functional`."""

from __future__ import annotations

__all__ = ["ContentLoss", "GramMatrix", "StyleLoss", "TotalVariation"]

import torch
from torch import nn

from . import functional as LF


class GramMatrix(nn.Module):
    def __init__(self, shift: float = 0.0) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return LF.gram_matrix(features, shift=self.shift)


class ContentLoss(nn.Module):
    """Weighted feature reconstruction loss against a stored target."""

    target: torch.Tensor  # buffer

    def __init__(self, target: torch.Tensor, weight: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())
        self.weight = weight

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.weight * LF.content_loss(features, self.target)


class StyleLoss(nn.Module):
    """Weighted Gram loss against the Gram matrix of stored target features."""

    target: torch.Tensor  # buffer

    def __init__(self, target_features: torch.Tensor, weight: float = 1.0, shift: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("target", LF.gram_matrix(target_features.detach(), shift=shift))
        self.weight, self.shift = weight, shift

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.weight * LF.style_loss(LF.gram_matrix(features, shift=self.shift), self.target)


class TotalVariation(nn.Module):
    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = weight

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.weight * LF.tv_loss(image)
