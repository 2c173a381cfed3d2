"""GAN models for paired and unpaired translation (each plugs into :func:`styleforge.engine.fit`)."""

from __future__ import annotations

__all__ = ["GAN_MODES", "PRESETS", "Pix2Pix", "Pix2PixConfig", "gan_loss", "gradient_penalty"]

from .losses import GAN_MODES, gan_loss, gradient_penalty
from .pix2pix import PRESETS, Pix2Pix, Pix2PixConfig
