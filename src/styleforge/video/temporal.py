"""Temporal consistency: a blind blending pass over any per-frame stylisation.

In the spirit of Lai et al. (ECCV 2018, *Learning Blind Video Temporal Consistency*) without
their network: each new stylised frame ``s_t`` is pulled towards the previous *output* warped
into the current frame by the *input*'s optical flow, where the flow is reliable
(forward–backward check)::

    o_t = s_t + k · m_t · (warp(o_{t-1}) − s_t)

band by band, keeping the strokes' local contrast (:func:`blend_detail`; a plain average of
strokes that do not line up exactly would wash them out and raise the style loss).
``k`` (``--consistency``, default 0.5) is the strength, ``m_t`` the reliability mask; where the
input stays within the noise of what the output shows the weight is ``--hold`` (default 0.99) instead of ``k``
(:func:`hold_weight`), and pixels whose input did not change get zero motion.  The
output is an exponentially weighted mean of the recent per-frame results carried along the
motion: a frame ``j`` steps back weighs ``≤ holdʲ``, so nothing accumulates — a still or looping
clip converges to its per-frame result instead of drifting (darkening, blurring).  The
previous output is kept in float, so 8-bit rounding does not accumulate either.
"""

from __future__ import annotations

__all__ = [
    "Hint",
    "Motion",
    "TemporalBlender",
    "blend",
    "blend_detail",
    "carry_detail",
    "confidence",
    "hold_weight",
    "propagate",
    "still_weight",
    "verifiable",
]

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .flow import flow_pair, gray, reliable_mask, warp


@dataclass
class Hint:
    """What a stylizer may use from the previous frame (Gatys: Ruder et al.'s temporal loss)."""

    warped: np.ndarray  # previous output warped into this frame, (H, W, 3) float32 in [0, 1]
    mask: np.ndarray  # (H, W) float32 in [0, 1]: where the flow is reliable
    weight: np.ndarray | None = None  # (H, W) blending weight of the consistency pass (None: strength · mask)


@dataclass
class Motion:
    """What the consistency pass knows about a frame against the one before it, at the frame's size.

    ``carry`` and ``res_b`` are there only with keyframes (:meth:`TemporalBlender.render` with
    ``every > 1``), ``fwd``, ``fwd_conf`` and ``res_f`` only on the frames that need them (:func:`needs_forward`).
    """

    back: np.ndarray  # (H, W, 2) flow cur → prev
    mask: np.ndarray  # (H, W) where ``back`` is reliable
    weight: np.ndarray  # (H, W) blending weight of a stylised frame
    carry: np.ndarray | None = None  # (H, W) confidence that warp(previous output, back) is this frame's
    fwd: np.ndarray | None = None  # (H, W, 2) flow prev → cur, on the previous frame's pixels
    fwd_conf: np.ndarray | None = None  # (H, W) on the previous frame: confidence that warp(this, fwd) is it
    res_b: np.ndarray | None = None  # (H, W) |cur − warp(prev, back)| (levels, blurred)
    res_f: np.ndarray | None = None  # (H, W) on the previous frame: |prev − warp(cur, fwd)|

    def __iter__(self) -> Iterator[np.ndarray]:  # back, mask, weight = motion
        return iter((self.back, self.mask, self.weight))


def confidence(mask: np.ndarray, residual: np.ndarray, *, tau: float = 10.0) -> np.ndarray:
    """How far a warp can stand in for a frame: ``m · clip(2 − r/τ, 0, 1)`` (pure): full where the
    flow is reliable and the warped input matches within ``τ`` levels, none beyond ``2τ``."""
    return (mask * np.clip(2.0 - residual / np.float32(tau), 0.0, 1.0)).astype(np.float32, copy=False)


def propagate(
    carried: np.ndarray,
    carry: np.ndarray,
    filled: np.ndarray | None,
    fill: np.ndarray | None,
    res_b: np.ndarray | None = None,
    res_f: np.ndarray | None = None,
    *,
    noise: float = 24.0,
    detail: bool = False,
) -> np.ndarray:
    """A frame between keyframes, made of warps only (pure, float32).

    ``carried``: the previous output warped into this frame (confidence ``carry``); ``filled``:
    the next keyframe's stylisation warped back into it (confidence ``fill``).  The carried
    picture wins where it is reliable (still areas stay exactly still); elsewhere the next
    keyframe's (what the previous output could not show: uncovered background, a person walking
    in); where neither is reliable, whichever warped input matches better (``res_b``/``res_f``).
    ``detail``: the carried picture goes in as a keyframe's does (:func:`blend_detail`), so where
    the two are mixed their strokes keep their contrast (a plain mix of two stroke patterns that do
    not line up washes both out: on a real moving camera, style loss 1.18× the per-frame output's
    against 1.15×).  Still areas then stay still to float rounding beyond the coarsest band's reach
    (about 16 pixels) from a mixed pixel; nearer, the coarse bands of the mix reach them, as a keyframe's do.
    """
    a = carry[..., None]
    if filled is None or fill is None:
        return carried
    if res_b is not None and res_f is not None:
        eb = np.exp(-((res_b / np.float32(noise)) ** 2)) + np.float32(1e-3)
        ef = np.exp(-((res_f / np.float32(noise)) ** 2)) + np.float32(1e-3)
        pick = (eb / (eb + ef))[..., None]
        fallback = filled + pick * (carried - filled)
    else:
        fallback = 0.5 * (filled + carried)
    x = fallback + fill[..., None] * (filled - fallback)
    if detail:
        return blend_detail(x, carried, carry, 1.0)
    return (x + a * (carried - x)).astype(np.float32, copy=False)


def blend(stylized: np.ndarray, warped: np.ndarray, mask: np.ndarray, strength: float) -> np.ndarray:
    """``s + k·m·(w − s)``: pure, float32."""
    w = (strength * mask)[..., None].astype(np.float32)
    return stylized + w * (warped - stylized)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One level of a Laplacian pyramid: ``(x`` reduced to half size, ``x``'s finest band ``)``."""
    h, w = x.shape[:2]
    low = cv2.pyrDown(x)
    return np.asarray(low, np.float32), cv2.subtract(x, cv2.pyrUp(low, dstsize=(w, h)))


def _collapse(base: np.ndarray, bands: list[np.ndarray]) -> np.ndarray:
    """The picture whose Laplacian pyramid is ``bands`` (finest first) over ``base``."""
    for band in reversed(bands):
        base = cv2.pyrUp(base, dstsize=(band.shape[1], band.shape[0])) + band
    return base


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
    w = (np.float32(strength) * mask).astype(np.float32, copy=False)
    a = np.ascontiguousarray(stylized, np.float32)
    b = np.ascontiguousarray(warped, np.float32)
    bands: list[np.ndarray] = []
    for _ in range(levels):
        if min(a.shape[:2]) < 8:
            break
        (la, det_s), (lb, det_w) = _split(a), _split(b)
        det = det_s + w[..., None] * (det_w - det_s)
        e = cv2.boxFilter(  # local energies of the two bands and of their blend, over 7×7 pixels
            cv2.merge([cv2.transform(x * x, _ONES) for x in (det_s, det_w, det)]),
            -1,
            (7, 7),
            borderType=cv2.BORDER_REFLECT,
        )
        e_s, e_w, e_b = cv2.split(e)
        target = e_s + w * (e_w - e_s)
        gain = np.sqrt(np.maximum(target, 0) / np.maximum(e_b, 1e-8))
        np.clip(gain, 1.0, max_gain, out=gain)
        det *= gain[..., None]
        bands.append(det)
        a, b = la, lb
        w = np.asarray(cv2.resize(w, (la.shape[1], la.shape[0]), interpolation=cv2.INTER_AREA), np.float32)
    return _collapse(a + w[..., None] * (b - a), bands)


_ONES = np.ones((1, 3), np.float32)  # cv2.transform with it: the sum over the 3 channels


def _band_energy(det: np.ndarray) -> np.ndarray:
    """Local energy of a 3-channel band over 7×7 pixels (the sum over the channels)."""
    return np.asarray(cv2.boxFilter(cv2.transform(det * det, _ONES), -1, (7, 7), borderType=cv2.BORDER_REFLECT))


def carry_detail(img: np.ndarray, flow: np.ndarray, *, levels: int = 3, max_gain: float = 3.0) -> np.ndarray:
    """``warp(img, flow)`` whose strokes keep the contrast they had in ``img`` (pure, float32).

    Resampling at sub-pixel positions changes the bands' contrast a little (bicubic weights
    fade the finest band and ring in the next); carried along the flow frame after frame (a
    moving camera, keyframes) the strokes fade or ring.  Here each band of a Laplacian pyramid
    of the warped picture is rescaled so that its local energy (7×7 pixels of its level) is the
    energy ``img`` had at the pixel the flow points to (gains within ``[1/max_gain, max_gain]``).
    Where the flow is zero the warp is exact and every gain is 1: still areas stay still.
    """
    out = warp(img, flow)
    if not np.any(flow):
        return out
    a = np.ascontiguousarray(img, np.float32)
    b = np.ascontiguousarray(out, np.float32)
    fl = np.ascontiguousarray(flow, np.float32)
    bands: list[np.ndarray] = []
    for _ in range(levels):
        if min(a.shape[:2]) < 8:
            break
        (la, det_a), (lb, det_b) = _split(a), _split(b)
        target = warp(_band_energy(det_a), fl, cubic=False)
        gain = np.sqrt((np.maximum(target, 0) + 1e-8) / (_band_energy(det_b) + 1e-8))
        np.clip(gain, 1.0 / max_gain, max_gain, out=gain)
        bands.append(det_b * gain[..., None])
        a, b = la, lb
        fl = np.asarray(cv2.resize(fl, (la.shape[1], la.shape[0]), interpolation=cv2.INTER_AREA), np.float32) * 0.5
    return _collapse(b, bands)


StylizeFn = Callable[[np.ndarray, "Hint | None"], np.ndarray]


def still_weight(cur: np.ndarray, prev: np.ndarray, *, tau: float = 3.0) -> np.ndarray:
    """How still each pixel is, from two gray frames (uint8): 1 where the input changed by less than
    ``tau`` levels (after a small blur), falling to 0 at ``2·tau``; pure, ``(H, W)`` float32."""
    d = cv2.GaussianBlur(cv2.absdiff(cur, prev).astype(np.float32), (0, 0), 1.5)
    return np.clip(2.0 - d / tau, 0.0, 1.0)


#: for this many frames after a pixel stops moving it is held with at most ``SETTLE_HOLD``
#: (:meth:`TemporalBlender.motion`): what was carried onto it gives way to the fresh stylisation.
#: (Not held at all for 4 frames: the same on a wall a hand crossed, but a moving camera's pixels,
#: which stop and start, flickered 0.29× the per-frame output's instead of 0.20×.)
SETTLE = 8
SETTLE_HOLD = 0.9


def verifiable(g: np.ndarray, still: np.ndarray, *, noise: float = 6.0) -> np.ndarray:
    """How far a pixel's motion can be checked by the input, ``(H, W)`` float32 in [0, 1] (pure).

    1 where the pixel is ``still`` (its motion is zero, exactly).  Where it moves, the input's local
    gradient (levels per pixel, ``g`` gray float32) over ``noise``: a flow that is one pixel off
    changes the warped input by about the gradient, so on a flat, moving area (a plain wall behind a
    fast, blurred hand) no residual can refute a wrong flow, and strokes carried along it would be
    dragged across the wall and then held there.
    """
    h, w = g.shape[:2]
    # at half size (0.6 ms instead of 6.6 at 640×360: this runs on every frame, in the flow's thread)
    small = cv2.resize(g, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    # np.sqrt, not cv2.magnitude: OpenCV's SIMD square root rounds differently with the arrays'
    # alignment, and the same frames must give the same pictures (resume, chunks, keyframes ahead)
    grad = cv2.resize(cv2.GaussianBlur(np.sqrt(gx * gx + gy * gy), (0, 0), 1.0), (w, h), interpolation=cv2.INTER_LINEAR)
    # Sobel's 3×3 sums 8× the gradient, per small pixel: 16× the full-size levels per pixel
    tex = np.clip(grad * np.float32(1 / (16 * noise)), 0.0, 1.0)
    return (still + (1.0 - still) * tex).astype(np.float32, copy=False)


def hold_weight(
    mask: np.ndarray,
    residual: np.ndarray,
    strength: float,
    hold: float | np.ndarray,
    *,
    noise: float = 6.0,
    sharpness: float = 8.0,
) -> np.ndarray:
    """Blending weight per pixel: ``m · max(k, hold · exp(−(r / noise)^sharpness))`` (pure; ``hold``
    a number or a per-pixel map, e.g. scaled by :func:`verifiable`).

    ``residual`` is how far the input moved away from what the held output shows (levels, blurred:
    :meth:`TemporalBlender.motion`).  Within the sensor/compression noise the previous output is
    held with the full ``hold`` — the top is flat (``sharpness`` 8), so the re-patterned noise of a
    compressed clip's next I-frame (1–3 levels everywhere) does not let a fresh picture in; beyond
    it (a person walking in, a flow error, a fade that has added up) the weight falls to ``k``
    within a few levels and the reliability mask ``m`` decides, so nothing trails behind moving things.
    """
    w = np.float32(strength) * mask
    h = np.asarray(hold, dtype=np.float32)
    if np.any(h > 0):
        r = residual / np.float32(noise)
        w = np.maximum(w, h * mask * np.exp(-(r ** np.float32(sharpness))))
    return w.astype(np.float32, copy=False)


def is_keyframe(index: int, every: int) -> bool:
    """Whether the frame at ``index`` (counted from the clip's first kept frame) is stylised with
    ``--keyframes every`` (:meth:`TemporalBlender.render` adds the first, the last, and frames without motion)."""
    return index % every == 0


def needs_forward(index: int, every: int) -> bool:
    """Whether :meth:`TemporalBlender.render` warps a later keyframe back over the frame at ``index``
    (its motion's forward direction): keyframes (``index`` a multiple of ``every``) and every frame
    between two keyframes but the first (with ``--keyframes 2``: the keyframes only)."""
    return every > 1 and index % every != 1


class TemporalBlender:
    """Carries the previous frame and output from one call to the next.

    On top of the flow-guided blending, two things make real footage hold still:

    * **still pixels get zero motion**: where the input did not change (:func:`still_weight`),
      DIS's flow (noisy on flat, noisy areas: walls, floors) is replaced by zero, so the
      previous output is not shifted by a pixel or two;
    * **the held weight** (:func:`hold_weight`): where the input stays within the noise of what
      the output shows (carried along the flow), the previous output is kept with ``hold``
      (``--hold``, default 0.99) instead of ``k``, in proportion to how well the input can check
      the pixel's motion (:func:`verifiable`: fully where it is still or textured).

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
        self.shown: np.ndarray | None = None  # the input the held output shows (gray, flow size)
        self.age: np.ndarray | None = None  # frames since each pixel last moved (flow size)

    @property
    def active(self) -> bool:
        return self.strength > 0 or self.needs_hint

    def seed(self, frame: np.ndarray, output: np.ndarray) -> None:
        """Continue after ``frame`` whose output was ``output`` (``--resume``, a chunk's overlap)."""
        self.prev_gray = self._small(gray(frame))
        self.shown = None  # the frame itself
        self.age = None  # settled
        self.prev_out = output.astype(np.float32) / (255.0 if output.dtype == np.uint8 else 1.0)

    def _small(self, g: np.ndarray) -> np.ndarray:
        h, w = g.shape[:2]
        if not self.flow_size or max(h, w) <= self.flow_size:
            return g
        k = self.flow_size / max(h, w)
        return cv2.resize(g, (max(8, round(w * k)), max(8, round(h * k))), interpolation=cv2.INTER_AREA)

    def motion(self, frame: np.ndarray, *, both: bool = False, forward: bool = True) -> Motion | None:
        """:class:`Motion` of ``frame`` against the previous frame, at the frame's size (``None``
        for the first one); ``both``: what :meth:`render` needs with keyframes (``carry``, ``res_b``)
        and, unless ``forward`` is false, the forward direction too (``fwd``, ``fwd_conf``, ``res_f``:
        used to warp a later keyframe back over this frame; :func:`needs_forward` says which frames).

        Updates the previous frame.  Pure in the inputs apart from the stored previous frame: it
        may run ahead of the stylizer (another thread), since it needs the input frames only.
        """
        g = self._small(gray(frame))
        prev, self.prev_gray = self.prev_gray, g
        if prev is None or prev.shape != g.shape:
            return None
        back, fwd = flow_pair(g, prev, max_side=None, preset=self.preset)
        g32, p32 = g.astype(np.float32), prev.astype(np.float32)
        raw_b = cv2.absdiff(g32, warp(p32, back, cubic=False))
        mask = reliable_mask(back, fwd, residual=raw_b)  # whether the flow DIS found can be trusted
        forward = both and forward
        if forward:
            raw_f = cv2.absdiff(p32, warp(g32, fwd, cubic=False))
            mask_f = reliable_mask(fwd, back, residual=raw_f)
        if self.hold > 0:
            # still pixels get zero motion, which is exact: they are reliable whatever DIS found there
            # (checking the zeroed field instead would see motion boundaries around every still patch).
            # Not DIS's flow there, nor its average around: on flat areas it is noise that the input
            # cannot refute, and carrying the strokes with it scrambles them (a real moving camera:
            # still-area flicker 1.0× and E_warp 0.86× the per-frame output's, against 0.19× and 0.50×;
            # DIS's flow only for still pixels amid moving ones: 0.36× and 0.53×).  All or nothing: a
            # field scaled down by a soft weight would be a wrong motion.
            still = (still_weight(g, prev) >= 0.5).astype(np.float32)
            moving = (1.0 - still)[..., None]
            back *= moving
            fwd *= moving
            mask = np.maximum(mask, still)
            raw_b = cv2.absdiff(g32, warp(p32, back, cubic=False))
            if forward:
                mask_f = np.maximum(mask_f, still)
                raw_f = cv2.absdiff(p32, warp(g32, fwd, cubic=False))
        residual = cv2.GaussianBlur(raw_b, (0, 0), 1.5)
        if self.strength > 0 and self.hold > 0:
            # held against the input the output shows, not against the previous frame: noise that
            # steps (a compressed clip's next I-frame) is judged once, not followed 5 % a frame; a
            # slow fade adds up until it exceeds the noise, so the output lags it by a few levels
            # at most instead of drifting further behind (a fade of 0.5 levels a frame: ≈ 4 levels)
            ref = self.shown if self.shown is not None and self.shown.shape == g32.shape else p32
            ref = warp(ref, back, cubic=False)
            # held only where the motion can be checked (still pixels, or moving ones with texture),
            # and less in the frames after a pixel stops moving: what was carried there while it
            # moved (strokes dragged along beside a fast hand) gives way to the fresh stylisation
            # before it is held
            age = self.age if self.age is not None and self.age.shape == g.shape else np.full(g.shape, SETTLE, np.int32)
            self.age = age = np.where(still > 0.5, np.minimum(age + 1, SETTLE), 0).astype(np.int32)
            settling = (age > 0) & (age < SETTLE)
            hold = np.where(
                settling, np.float32(min(self.hold, SETTLE_HOLD)), np.float32(self.hold) * verifiable(g32, still)
            )
            weight = hold_weight(mask, cv2.GaussianBlur(cv2.absdiff(g32, ref), (0, 0), 1.5), self.strength, hold)
            self.shown = ref + (1.0 - weight) * (g32 - ref)
        elif self.strength > 0:
            weight = hold_weight(mask, residual, self.strength, self.hold)
        else:
            weight = mask * 0
        h, w = frame.shape[:2]
        m = Motion(back, mask, weight)
        if both:
            m.carry, m.res_b = confidence(mask, residual), residual
        if forward:
            res_f = cv2.GaussianBlur(raw_f, (0, 0), 1.5)
            m.fwd, m.fwd_conf, m.res_f = fwd, confidence(mask_f, res_f), res_f
        if (g.shape[1], g.shape[0]) != (w, h):
            sx, sy = w / g.shape[1], h / g.shape[0]

            def up(x: np.ndarray | None, flow: bool = False) -> np.ndarray | None:
                if x is None:
                    return None
                y = cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR)
                if flow:
                    y[..., 0] *= sx
                    y[..., 1] *= sy
                return y

            m = Motion(
                *(up(x, flow=k in ("back", "fwd")) for k, x in vars(m).items())  # type: ignore[arg-type]
            )
        return m

    def __call__(
        self,
        frame: np.ndarray,
        stylize: StylizeFn,
        motion: Motion | tuple[np.ndarray, np.ndarray, np.ndarray] | None | str = "now",
    ) -> np.ndarray:
        """Stylise ``frame`` (``(H, W, 3)`` uint8) → ``(H, W, 3)`` float32 in [0, 1]
        (``motion``: :meth:`motion` of this frame, computed ahead; ``"now"``: compute it here)."""
        if not self.active:
            return np.clip(stylize(frame, None), 0, 1).astype(np.float32, copy=False)
        if isinstance(motion, str):
            motion = self.motion(frame)
        return self._key(frame, stylize, motion)

    def _key(
        self,
        frame: np.ndarray,
        stylize: StylizeFn,
        motion: Motion | tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        stylized: np.ndarray | None = None,
    ) -> np.ndarray:
        """A stylised frame blended with the previous output (``stylized``: already stylised, no hint)."""
        hint = None
        if motion is not None and self.prev_out is not None and self.prev_out.shape[:2] == frame.shape[:2]:
            back, mask, weight = motion
            hint = Hint(self._carry(self.prev_out, back), mask, weight)
        out = stylized if stylized is not None else np.clip(stylize(frame, hint), 0, 1).astype(np.float32, copy=False)
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

    def _carry(self, img: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """The previous output carried along ``flow``: with its strokes' contrast kept
        (:func:`carry_detail`) unless it has none (a colour map)."""
        if self.keep_detail:
            return carry_detail(img, flow)
        return warp(img, flow)

    def render(
        self,
        items: Iterable[tuple[np.ndarray, Motion | None, bool]],
        stylize: StylizeFn,
        every: int = 1,
        *,
        start: int = 0,
    ) -> Iterator[np.ndarray]:
        """Outputs of ``(frame, motion, last)`` in order, stylising one frame in ``every`` (keyframes).

        With ``every > 1`` (motions computed with ``both=True``), the frames between two keyframes
        are not stylised: each is :func:`propagate`'d from the previous output (carried along the
        backward flow) and the *next* keyframe's stylisation (warped back along the forward flows),
        then the keyframe is blended with the last of them as usual.  The first and last frames and
        any frame without motion are keyframes, and so is every frame whose index (counted from
        ``start``, the index of the first item: a resumed run, a chunk) is a multiple of ``every``, so
        a resumed run or a chunk stylises the frames the uninterrupted run does.  A mode that uses the previous output
        (``uses_hint``) cannot be stylised ahead of it: every frame is then a keyframe.
        """
        if every <= 1 or not self.active or getattr(stylize, "uses_hint", False):
            for frame, motion, _ in items:
                yield self(frame, stylize, motion)
            return
        pending: list[tuple[np.ndarray, Motion]] = []
        for i, (frame, motion, last) in enumerate(items, start):
            key = last or motion is None or motion.carry is None or self.prev_out is None or is_keyframe(i, every)
            if not key and motion is not None:
                pending.append((frame, motion))
                continue
            stylized = np.clip(stylize(frame, None), 0, 1).astype(np.float32, copy=False)
            if pending:
                yield from self._between(pending, stylized, motion)
                pending = []
            if motion is not None:  # the held picture was carried over ``every`` frames with nothing fresh:
                # weight^every keeps the memory (in frames) of --keyframes 1, so strokes are not averaged
                # over twice as many frames
                motion = replace(motion, weight=motion.weight**every)
            yield self._key(frame, stylize, motion, stylized)

    def _between(
        self, pending: list[tuple[np.ndarray, Motion]], stylized: np.ndarray, nxt: Motion | None
    ) -> Iterator[np.ndarray]:
        """The frames ``pending`` before a keyframe stylised as ``stylized`` (whose motion is ``nxt``)."""
        fills: list[tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]] = []
        f_img: np.ndarray | None = stylized
        f_conf: np.ndarray | None = None
        f_res: np.ndarray | None = None
        for _, m in reversed(pending):  # the keyframe's picture, warped back one frame at a time
            if nxt is None or nxt.fwd is None or nxt.fwd_conf is None or f_img is None:
                f_img = f_conf = f_res = None
            else:
                f_img = warp(f_img, nxt.fwd)
                f_conf = nxt.fwd_conf if f_conf is None else nxt.fwd_conf * warp(f_conf, nxt.fwd, cubic=False)
                f_res = (
                    nxt.res_f
                    if f_res is None or nxt.res_f is None
                    else np.maximum(nxt.res_f, warp(f_res, nxt.fwd, cubic=False))
                )
            fills.append((f_img, f_conf, f_res))
            nxt = m
        fills.reverse()
        for (_, m), (f_img, f_conf, f_res) in zip(pending, fills, strict=True):
            assert self.prev_out is not None and m.carry is not None
            out = propagate(
                self._carry(self.prev_out, m.back), m.carry, f_img, f_conf, m.res_b, f_res, detail=self.keep_detail
            )
            self.prev_out = np.clip(out, 0, 1)
            yield self.prev_out
