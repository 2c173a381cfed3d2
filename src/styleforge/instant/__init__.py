"""Instant styles: per-style feed-forward networks (Johnson et al.), WCT (Li et al.) and AdaIN (Huang & Belongie).

Python API::

    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    model = load_instant(["starry_night"])
    image = stylize_instant(photo, model, InstantOptions(strength=0.8))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import builtin_models

__all__ = ["InstantModel", "InstantOptions", "builtin_models", "load_instant", "stylize_instant", "tiled"]

if TYPE_CHECKING:
    from .infer import InstantModel, InstantOptions, load_instant, stylize_instant, tiled


def __getattr__(name: str) -> Any:  # torch is imported on first use, so `instant.lite` stays light
    if name in __all__:
        from . import infer

        return getattr(infer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
