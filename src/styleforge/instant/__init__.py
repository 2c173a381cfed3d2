"""Instant styles: per-style feed-forward networks (Johnson et al.) and AdaIN (Huang & Belongie).

Python API::

    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    model = load_instant(["starry_night"])
    image = stylize_instant(photo, model, InstantOptions(strength=0.8))
"""

from __future__ import annotations

from .infer import InstantModel, InstantOptions, load_instant, stylize_instant, tiled
from .models import builtin_models

__all__ = ["InstantModel", "InstantOptions", "builtin_models", "load_instant", "stylize_instant", "tiled"]
