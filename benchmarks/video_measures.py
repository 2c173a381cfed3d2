"""Measures of a stylised clip against its input (pure numpy / OpenCV; used by ``benchmarks/video.py``).

The consistency pass (:mod:`styleforge.video.temporal`) uses OpenCV's DIS flow; nothing here does:
E_warp is computed with **Farnebäck's** flow and our own forward–backward check, so the measure is
not the method's own.  Every function takes ``(H, W, 3)`` uint8 RGB frames.

* :func:`still_flicker` — mean ``|o_t − o_{t−1}|`` (levels, 0–255) over the pixels whose input
  changed by less than 3 levels on every channel (no flow needed);
* :func:`e_warp` — mean over the flow-reliable pixels of ``‖o_t − warp(o_{t−1})‖²`` (images in
  [0, 1]; Lai et al. 2018), with Farnebäck's flow of the *input*;
* :func:`motion_mask` — the pixels where the input moved (changed by more than 24 levels);
* :func:`edge_score` — structure of the input kept in the output on a mask: correlation of the
  two gradient magnitudes (1 = the same edges);
* :func:`ghosting` — on the motion mask, how far the output stays from the current per-frame
  picture, relative to how far the previous per-frame picture is: 0 = no trail of what was there
  before, 1 = the previous picture left in place.
"""

from __future__ import annotations

__all__ = [
    "e_warp",
    "edge_score",
    "farneback",
    "flicker_series",
    "ghosting",
    "motion_mask",
    "moving_edges",
    "seam_flicker",
    "still_flicker",
]

from collections.abc import Sequence

import cv2
import numpy as np


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def still_flicker(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], *, threshold: int = 3) -> float:
    """Mean ``|o_t − o_{t−1}|`` (0–255, over channels) on pixels whose input changed by < ``threshold``
    levels on every channel, pooled over the clip; 0 when no pixel qualifies."""
    total, count = 0.0, 0
    for t in range(1, min(len(inputs), len(outputs))):
        still = np.abs(inputs[t].astype(np.int16) - inputs[t - 1].astype(np.int16)).max(-1) < threshold
        n = int(still.sum())
        if n == 0:
            continue
        d = np.abs(outputs[t].astype(np.int16) - outputs[t - 1].astype(np.int16)).mean(-1)
        total += float(d[still].sum())
        count += n
    return total / count if count else 0.0


def flicker_series(outputs: Sequence[np.ndarray], inputs: Sequence[np.ndarray] | None = None) -> list[float]:
    """Mean ``|o_t − o_{t−1}|`` (0–255) of each frame against the one before (the first: 0); with
    ``inputs``, over the pixels whose input changed by < 3 levels only (:func:`still_flicker`, frame by frame)."""
    out = [0.0]
    for t in range(1, len(outputs)):
        d = np.abs(outputs[t].astype(np.int16) - outputs[t - 1].astype(np.int16))
        if inputs is None:
            out.append(float(d.mean()))
            continue
        still = np.abs(inputs[t].astype(np.int16) - inputs[t - 1].astype(np.int16)).max(-1) < 3
        out.append(float(d.mean(-1)[still].mean()) if still.any() else 0.0)
    return out


def seam_flicker(
    outputs: Sequence[np.ndarray], seams: Sequence[int], inputs: Sequence[np.ndarray] | None = None
) -> tuple[float, float]:
    """(worst flicker on the frames ``seams`` and the one after each, median flicker of the clip);
    ``inputs``: the still-area flicker (:func:`flicker_series`)."""
    series = flicker_series(outputs, inputs)
    at = [series[i] for s in seams for i in (s, s + 1) if 0 < i < len(series)]
    return (max(at) if at else 0.0), float(np.median(series[1:])) if len(series) > 1 else 0.0


def farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Farnebäck flow from gray ``a`` to gray ``b``: ``a(p) ≈ b(p + f(p))``, ``(H, W, 2)`` float32."""
    return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 4, 7, 1.5, 0)


def _remap(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _reliable(back: np.ndarray, fwd: np.ndarray) -> np.ndarray:
    """Forward–backward consistency (Sundaram et al.) and points that stay in the frame → bool ``(H, W)``."""
    h, w = back.shape[:2]
    f_at = _remap(fwd, back)
    s = back + f_at
    ok = (s**2).sum(-1) <= 0.01 * ((back**2).sum(-1) + (f_at**2).sum(-1)) + 0.5
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    px, py = xs + back[..., 0], ys + back[..., 1]
    return ok & (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)


def e_warp(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], *, flows: list | None = None) -> float:
    """Mean over frames of E_warp(o_t, o_{t−1}) with Farnebäck's flow of the inputs (``flows``: a list
    to fill with / read from the ``(backward, mask)`` pairs, so several outputs share one flow)."""
    errs = []
    for t in range(1, min(len(inputs), len(outputs))):
        if flows is not None and len(flows) >= t:
            back, mask = flows[t - 1]
        else:
            g1, g0 = _gray(inputs[t]), _gray(inputs[t - 1])
            back, fwd = farneback(g1, g0), farneback(g0, g1)
            mask = _reliable(back, fwd)
            if flows is not None:
                flows.append((back, mask))
        cur = outputs[t].astype(np.float32) / 255
        prev = _remap(outputs[t - 1].astype(np.float32) / 255, back)
        d = ((cur - prev) ** 2).mean(-1)
        n = int(mask.sum())
        if n:
            errs.append(float(d[mask].mean()))
    return float(np.mean(errs)) if errs else 0.0


def motion_mask(prev_in: np.ndarray, cur_in: np.ndarray, *, threshold: int = 24) -> np.ndarray:
    """Pixels where the input moved: ``|cur − prev|`` of the 5×5-blurred grays above ``threshold`` levels."""
    a = cv2.GaussianBlur(_gray(prev_in), (5, 5), 0).astype(np.int16)
    b = cv2.GaussianBlur(_gray(cur_in), (5, 5), 0).astype(np.int16)
    return np.abs(b - a) > threshold


def _grad(img: np.ndarray) -> np.ndarray:
    g = cv2.GaussianBlur(_gray(img).astype(np.float32), (0, 0), 1.0)
    return cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))


def edge_score(output: np.ndarray, inp: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Correlation of the gradient magnitudes of ``output`` and ``inp`` on ``mask`` (all pixels if None)."""
    a, b = _grad(output), _grad(inp)
    if mask is not None:
        a, b = a[mask], b[mask]
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def moving_edges(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray]) -> float:
    """Mean :func:`edge_score` on the motion masks of the clip (frames with ≥ 0.2 % moving pixels)."""
    scores = []
    for t in range(1, min(len(inputs), len(outputs))):
        m = motion_mask(inputs[t - 1], inputs[t])
        if m.mean() >= 0.002:
            scores.append(edge_score(outputs[t], inputs[t], m))
    return float(np.mean(scores)) if scores else float("nan")


def ghosting(inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], per_frame: Sequence[np.ndarray]) -> float:
    """On the motion masks: mean ``|o_t − s_t|`` / mean ``|s_{t−1} − s_t|`` (``s``: the per-frame output)."""
    num, den = 0.0, 0.0
    for t in range(1, min(len(inputs), len(outputs), len(per_frame))):
        m = motion_mask(inputs[t - 1], inputs[t])
        if m.mean() < 0.002:
            continue
        s, s0, o = (x.astype(np.float32) for x in (per_frame[t], per_frame[t - 1], outputs[t]))
        num += float(np.abs(o - s).mean(-1)[m].sum())
        den += float(np.abs(s0 - s).mean(-1)[m].sum())
    return num / den if den > 0 else float("nan")
