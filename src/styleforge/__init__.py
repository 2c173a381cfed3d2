"""styleforge: image style transfer and image-to-image translation."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

__all__ = ["__version__", "stylize"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import stylize


def __getattr__(name: str) -> Any:
    # Lazy: importing styleforge must not import torch or touch the filesystem.
    if name == "stylize":
        from .api import stylize

        return stylize
    raise AttributeError(name)
