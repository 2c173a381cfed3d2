"""Where styleforge caches converted weights and exported models (no heavy imports)."""

from __future__ import annotations

__all__ = ["cache_dir"]

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$STYLEFORGE_CACHE`` or ``$XDG_CACHE_HOME/styleforge`` (``~/.cache/styleforge``)."""
    env = os.environ.get("STYLEFORGE_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "styleforge"
