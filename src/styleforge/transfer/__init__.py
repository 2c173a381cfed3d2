"""Optimisation-based transfer: pure functions from images + config to an image.

The configurations and their builders (:mod:`styleforge.transfer.config`) import no torch;
the rest is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import FastConfig, GatysConfig, PhotoConfig, fast_config, gatys_config, photo_config

__all__ = [
    "FastConfig",
    "GatysConfig",
    "PhotoConfig",
    "StylizeResult",
    "fast_config",
    "gatys_config",
    "photo_config",
    "plan_stages",
    "stylize_tensor",
]

if TYPE_CHECKING:  # pragma: no cover
    from .gatys import StylizeResult, plan_stages, stylize_tensor


def __getattr__(name: str) -> Any:
    if name in ("StylizeResult", "plan_stages", "stylize_tensor"):
        from . import gatys

        return getattr(gatys, name)
    raise AttributeError(name)
