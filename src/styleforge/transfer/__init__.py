"""Optimisation-based transfer: pure functions from images + config to an image."""

from .gatys import GatysConfig, StylizeResult, plan_stages, stylize_tensor

__all__ = ["GatysConfig", "StylizeResult", "plan_stages", "stylize_tensor"]
