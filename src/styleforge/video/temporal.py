"""Temporal consistency: a blind blending pass over any per-frame stylisation.

In the spirit of Lai et al. (ECCV 2018, *Learning Blind Video Temporal Consistency*) without
their network: each new stylised frame ``s_t`` is pulled towards the previous *output* warped
into the current frame by the *input*'s optical flow, where the flow is reliable
(forward–backward check)::

    o_t = s_t + k · m_t · (warp(o_{t-1}) − s_t)

band by band, keeping the strokes' local contrast (:func:`blend_detail`; a plain average of
strokes that do not line up exactly would wash them out and raise the style loss).
``k`` (``--consistency``, default 0.5) is the strength, ``m_t`` the reliability mask; where the
warped input matches within the noise the weight is ``--hold`` (default 0.95) instead of ``k``
(:func:`hold_weight`), and pixels whose input did not change get zero motion.  The
output is an exponentially weighted mean of the recent per-frame results carried along the
motion: a frame ``j`` steps back weighs ``≤ holdʲ``, so nothing accumulates — a still or looping
clip converges to its per-frame result instead of drifting (darkening, blurring).  The
previous output is kept in float, so 8-bit rounding does not accumulate either.
"""

from __future__ import annotations

__all__ = ["Hint", "TemporalBlender", "blend", "blend_detail", "hold_weight", "still_weight"]

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
    weight: np.ndarray | None = None  # (H, W) blending weight of the consistency pass (None: strength · mask)


def blend(stylized: np.ndarray, warped: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """``s + k·m·(w − s)``: pure, float32."""
    w = (strength * mask)[..., None].astype(np.float32)
    return stylized + w * (warped - stylized)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def blend_detail(
    stylized: np.ndarray,
    warped: np.ndarray,
    mask: np.ndarray,
    strength: float,
    *,
    levels: int = 3,
    max_gain: float = 3.0,
) -> np.ndarray:
    """:func:`blend` that keeps the texture's contrast (pure, float32).

    Averaging two renderings whose brush strokes do not line up exactly lowers the local
    contrast of the strokes (and raises the style loss).  Here each band of a Laplacian
    pyramid (``levels`` bands: strokes of 1–2, 2–4, 4–8 pixels) is blended on its own and
    rescaled so that its local energy (over 7×7 pixels of its level) is the same blend of the
    two inputs' energies — Heitz & Neyret's variance-preserving blending, with the correlation
    measured instead of assumed.  The base below the coarsest band is blended plainly.  Where
    the two inputs agree (a still clip) every gain is exactly 1 and the pyramid gives the
    input back: nothing drifts.
    """
    w = (strength * mask).astype(np.float32)
    cur = np.concatenate([stylized.astype(np.float32), warped.astype(np.float32)], -1)  # one filter call for two
    bands: list[np.ndarray] = []
    for _ in range(levels):
        h, wd = cur.shape[:2]
        if min(h, wd) < 8:
            break
        low = cv2.pyrDown(cur)
        up = cv2.pyrUp(low, dstsize=(wd, h))
        det_s, det_w = cur[..., :3] - up[..., :3], cur[..., 3:] - up[..., 3:]
        wl = w[..., None]
        det = det_s + wl * (det_w - det_s)
        e = cv2.boxFilter(
            np.stack([(det_s**2).sum(-1), (det_w**2).sum(-1), (det**2).sum(-1)], -1),
            -1,
            (7, 7),
            borderType=cv2.BORDER_REFLECT,
        )
        target = e[..., 0] + w * (e[..., 1] - e[..., 0])
        gain = np.clip(np.sqrt(np.clip(target, 0, None) / np.maximum(e[..., 2], 1e-8)), 1.0, max_gain)
        bands.append(gain[..., None] * det)
        cur = low
        w = np.asarray(cv2.resize(w, (low.shape[1], low.shape[0]), interpolation=cv2.INTER_AREA), np.float32)
    out = cur[..., :3] + w[..., None] * (cur[..., 3:] - cur[..., :3])
    for band in reversed(bands):
        out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0])) + band
    return out


StylizeFn = Callable[[np.ndarray, "Hint | None"], np.ndarray]


def still_weight(cur: np.ndarray, prev: np.ndarray, *, tau: float = 3.0) -> np.ndarray:
    """How still each pixel is, from two gray frames (uint8): 1 where the input changed by less than
    ``tau`` levels (after a small blur), falling to 0 at ``2·tau``; pure, ``(H, W)`` float32."""
    d = cv2.GaussianBlur(cv2.absdiff(cur, prev).astype(np.float32), (0, 0), 1.5)
    return np.clip(2.0 - d / tau, 0.0, 1.0)


def hold_weight(
    mask: np.ndarray, residual: np.ndarray, strength: float, hold: float, *, noise: float = 6.0
) -> np.ndarray:
    """Blending weight per pixel: ``m · max(k, hold · exp(−(r / noise)²))`` (pure).

    ``residual`` is ``|cur − warp(prev)|`` of the input (levels, blurred): where the warped input
    matches within the sensor/compression noise the previous output is held with ``hold``;
    where it does not (a person walking in, a flow error) the weight falls back to ``k`` and the
    reliability mask ``m`` decides, so nothing trails behind moving things.
    """
    w = np.float32(strength) * mask
    if hold > 0:
        w = np.maximum(w, np.float32(hold) * mask * np.exp(-((residual / noise) ** 2)))
    return w.astype(np.float32, copy=False)


class TemporalBlender:
    """Carries the previous frame and output from one call to the next.

    On top of the flow-guided blending, two things make real footage hold still:

    * **still pixels get zero motion**: where the input did not change (:func:`still_weight`),
      DIS's flow (noisy on flat, noisy areas: walls, floors) is replaced by zero, so the
      previous output is not shifted by a pixel or two;
    * **the held weight** (:func:`hold_weight`): where the warped input matches, the previous
      output is kept with ``hold`` (default 0.95) instead of ``k``.

    Flow, masks and weights are computed at ``flow_size`` (long side) and upsampled.
    """

    def __init__(
        self,
        strength: float = 0.5,
        *,
        flow_size: int | None = 640,
        preset: str = "fast",
        needs_hint: bool = False,
        keep_detail: bool = True,
        hold: float = 0.0,
    ) -> None:
        if not 0.0 <= strength < 1.0:
            from ..errors import InputError

            raise InputError(f"--consistency must be in [0, 1), got {strength}")
        if not 0.0 <= hold < 1.0:
            from ..errors import InputError

            raise InputError(f"--hold must be in [0, 1), got {hold}")
        self.strength, self.flow_size, self.preset = strength, flow_size, preset
        self.needs_hint, self.keep_detail, self.hold = needs_hint, keep_detail, hold
        self.prev_gray: np.ndarray | None = None
        self.prev_out: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return self.strength > 0 or self.needs_hint

    def seed(self, frame: np.ndarray, output: np.ndarray) -> None:
        """Continue after ``frame`` whose output was ``output`` (``--resume``, a chunk's overlap)."""
        self.prev_gray = self._small(gray(frame))
        self.prev_out = output.astype(np.float32) / (255.0 if output.dtype == np.uint8 else 1.0)

    def _small(self, g: np.ndarray) -> np.ndarray:
        h, w = g.shape[:2]
        if not self.flow_size or max(h, w) <= self.flow_size:
            return g
        k = self.flow_size / max(h, w)
        return cv2.resize(g, (max(8, round(w * k)), max(8, round(h * k))), interpolation=cv2.INTER_AREA)

    def motion(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(backward flow, reliability mask, blending weight) at the frame's size, against the previous frame.

        Updates the previous frame.

        Pure in the inputs apart from the stored previous frame: it may run ahead of the stylizer
        (another thread), since it needs the input frames only.
        """
        g = self._small(gray(frame))
        prev, self.prev_gray = self.prev_gray, g
        if prev is None or prev.shape != g.shape:
            return None
        back, fwd = flow_pair(g, prev, max_side=None, preset=self.preset)
        still = still_weight(g, prev)
        if self.hold > 0:
            moving = (1.0 - still)[..., None]
            back *= moving
            fwd *= moving
        mask = reliable_mask(back, fwd, frames=(g, prev))
        if self.strength > 0:
            residual = cv2.GaussianBlur(
                cv2.absdiff(g.astype(np.float32), warp(prev.astype(np.float32), back, cubic=False)), (0, 0), 1.5
            )
            weight = hold_weight(mask, residual, self.strength, self.hold)
        else:
            weight = mask * 0
        h, w = frame.shape[:2]
        if (g.shape[1], g.shape[0]) != (w, h):
            sx, sy = w / g.shape[1], h / g.shape[0]
            back = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR)
            back[..., 0] *= sx
            back[..., 1] *= sy
            weight = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
        return back, mask, weight

    def __call__(
        self,
        frame: np.ndarray,
        stylize: StylizeFn,
        motion: tuple[np.ndarray, np.ndarray, np.ndarray] | None | str = "now",
    ) -> np.ndarray:
        """Stylise ``frame`` (``(H, W, 3)`` uint8) → ``(H, W, 3)`` float32 in [0, 1]
        (``motion``: :meth:`motion` of this frame, computed ahead; ``"now"``: compute it here)."""
        if not self.active or getattr(stylize, "per_pixel", False):  # a colour map cannot add flicker
            return np.clip(stylize(frame, None), 0, 1).astype(np.float32, copy=False)
        if isinstance(motion, str):
            motion = self.motion(frame)
        hint = None
        if motion is not None and self.prev_out is not None and self.prev_out.shape[:2] == frame.shape[:2]:
            back, mask, weight = motion
            hint = Hint(warp(self.prev_out, back), mask, weight)
        out = np.clip(stylize(frame, hint), 0, 1).astype(np.float32, copy=False)
        if hint is not None and self.strength > 0:
            mix = blend_detail if self.keep_detail else blend
            out = np.clip(
                mix(
                    out,
                    hint.warped,
                    hint.weight if hint.weight is not None else hint.mask,
                    1.0 if hint.weight is not None else self.strength,
                ),
                0,
                1,
            )
        self.prev_out = out
        return out
