"""Datasets, paired transforms and dataset preparation for image-to-image translation."""

from __future__ import annotations

__all__ = ["AlignedDataset", "PREPROCESS_MODES", "PairedTransform", "colorization_to_rgb", "to_model_tensor"]

from .aligned import AlignedDataset
from .transforms import PREPROCESS_MODES, PairedTransform, colorization_to_rgb, to_model_tensor
