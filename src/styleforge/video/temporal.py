"""Temporal consistency: a blind blending pass over any per-frame stylisation.

In the spirit of Lai et al. (ECCV 2018, *Learning Blind Video Temporal Consistency*) without
their network: each new stylised frame ``s_t`` is pulled towards the previous *output* warped
into the current frame by the *input*'s optical flow, where the flow is reliable
(forward–backward check)::

    o_t = s_t + k · m_t · (warp(o_{t-1}) − s_t)

band by band, keeping the strokes' local contrast (:func:`blend_detail`; a plain average of
strokes that do not line up exactly would wash them out and raise the style loss).
``k`` (``--consistency``, default 0.5) is the strength, ``m_t`` the reliability mask.  The
output is an exponentially weighted mean of the recent per-frame results carried along the
motion: a frame ``j`` steps back weighs ``≤ kʲ``, so nothing accumulates — a still or looping
clip converges to its per-frame result instead of drifting (darkening, blurring).  The
previous output is kept in float, so 8-bit rounding does not accumulate either.
"""

from __future__ import annotations

__all__ = ["Hint", "TemporalBlender", "blend", "blend_detail"]

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .flow import flow_pair, gray, reliable_mask, warp


@dataclass
class Hint:
    """What a stylizer may use from the previous frame (Gatys: Ruder et al.'s temporal loss)."""

    warped: np.ndarray  # previous output warped into this frame, (H, W, 3) float32 in [0, 1]
    mask: np.ndarray  # (H, W) float32 in [0, 1]: where the flow is reliable


def blend(stylized: np.ndarray, warped: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """``s + k·m·(w − s)``: pure, float32."""
    w = (strength * mask)[..., None].astype(np.float32)
    return stylized + w * (warped - stylized)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def blend_detail(stylized: np.ndarray, warped: np.ndarray, mask: np.ndarray, strength: float, *,
                 sigmas: tuple[float, ...] = (1.0,), max_gain: float = 2.0) -> np.ndarray:
    """:func:`blend` that keeps the texture's contrast (pure, float32).

    Averaging two renderings whose brush strokes do not line up exactly lowers the local
    contrast of the strokes (and raises the style loss).  Here each band of a difference-of-
    Gaussians stack (``sigmas``) is blended on its own and rescaled so that its local energy
    (over 3σ) is the same blend of the two inputs' energies — Heitz & Neyret's
    variance-preserving blending, with the correlation measured instead of assumed.  The
    base below the coarsest band is blended plainly.  Where the two inputs agree (a still
    clip) every gain is exactly 1: nothing drifts.
    """
    w = (strength * mask)[..., None].astype(np.float32)
    out = np.zeros_like(stylized, dtype=np.float32)
    cur_s, cur_w = stylized.astype(np.float32), warped.astype(np.float32)
    for sigma in sigmas:
        low_s, low_w = _smooth(cur_s, sigma), _smooth(cur_w, sigma)
        det_s, det_w = cur_s - low_s, cur_w - low_w
        det = det_s + w * (det_w - det_s)
        e_s = _smooth((det_s**2).sum(-1), 3 * sigma)
        e_w = _smooth((det_w**2).sum(-1), 3 * sigma)
        e_d = _smooth((det**2).sum(-1), 3 * sigma)
        target = e_s + w[..., 0] * (e_w - e_s)
        gain = np.clip(np.sqrt(np.clip(target, 0, None) / np.maximum(e_d, 1e-8)), 1.0, max_gain)
        out += gain[..., None] * det
        cur_s, cur_w = low_s, low_w
    return out + cur_s + w * (cur_w - cur_s)


StylizeFn = Callable[[np.ndarray, "Hint | None"], np.ndarray]


class TemporalBlender:
    """Carries the previous frame and output from one call to the next."""

    def __init__(self, strength: float = 0.5, *, flow_size: int | None = 640, preset: str = "fast",
                 needs_hint: bool = False, keep_detail: bool = True) -> None:
        if not 0.0 <= strength < 1.0:
            from ..errors import InputError

            raise InputError(f"--consistency must be in [0, 1), got {strength}")
        self.strength, self.flow_size, self.preset = strength, flow_size, preset
        self.needs_hint, self.keep_detail = needs_hint, keep_detail
        self.prev_gray: np.ndarray | None = None
        self.prev_out: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self.strength > 0 or self.needs_hint

    def seed(self, frame: np.ndarray, output: np.ndarray) -> None:
        """Continue after ``frame`` whose output was ``output`` (``--resume``)."""
        self.prev_gray = gray(frame)
        self.prev_out = output.astype(np.float32) / (255.0 if output.dtype == np.uint8 else 1.0)

    def __call__(self, frame: np.ndarray, stylize: StylizeFn) -> np.ndarray:
        """Stylise ``frame`` (``(H, W, 3)`` uint8) → ``(H, W, 3)`` float32 in [0, 1]."""
        if not self.active or getattr(stylize, "per_pixel", False):  # a colour map cannot add flicker
            return np.clip(stylize(frame, None), 0, 1).astype(np.float32, copy=False)
        g = gray(frame)
        hint = None
        if self.prev_gray is not None and self.prev_out is not None and self.prev_gray.shape == g.shape:
            back, fwd = flow_pair(g, self.prev_gray, max_side=self.flow_size, preset=self.preset)
            hint = Hint(warp(self.prev_out, back), reliable_mask(back, fwd, frames=(g, self.prev_gray)))
        out = np.clip(stylize(frame, hint), 0, 1).astype(np.float32, copy=False)
        if hint is not None and self.strength > 0:
            mix = blend_detail if self.keep_detail else blend
            out = np.clip(mix(out, hint.warped, hint.mask, self.strength), 0, 1)
        self.prev_gray, self.prev_out = g, out
        return out
