"""Optical flow between video frames (OpenCV's DIS), warping, occlusion masks and the warping error.

Conventions: images are ``(H, W)`` or ``(H, W, C)`` numpy arrays; a flow ``f`` from ``a`` to
``b`` is ``(H, W, 2)`` float32 (x, y) with ``a(p) ≈ b(p + f(p))`` — what
``cv2.DISOpticalFlow.calc(a, b)`` returns.  :func:`warp` ``(b, f)`` then brings ``b`` into
``a``'s frame.  All functions are pure apart from the cached DIS objects.
"""

from __future__ import annotations

__all__ = ["dis_flow", "flow_pair", "gray", "reliable_mask", "warp", "warp_error"]

import threading
from typing import Any

import cv2
import numpy as np

_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}
_LOCAL = threading.local()


def _dis(preset: str) -> Any:
    cache = getattr(_LOCAL, "dis", None)
    if cache is None:
        cache = _LOCAL.dis = {}
    if preset not in cache:
        cache[preset] = cv2.DISOpticalFlow_create(_PRESETS[preset])  # type: ignore[attr-defined]
    return cache[preset]


def gray(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB (uint8 or float in [0, 1]) → ``(H, W)`` uint8 luma."""
    if rgb.dtype != np.uint8:
        rgb = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def dis_flow(a: np.ndarray, b: np.ndarray, *, max_side: int | None = 640, preset: str = "fast") -> np.ndarray:
    """DIS flow from gray ``a`` to gray ``b`` (uint8, same size), computed at most at ``max_side``
    pixels on the long side and scaled back to the full size."""
    h, w = a.shape[:2]
    k = 1.0 if not max_side or max(h, w) <= max_side else max_side / max(h, w)
    if k < 1:
        size = (max(8, round(w * k)), max(8, round(h * k)))
        a_s = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        b_s = cv2.resize(b, size, interpolation=cv2.INTER_AREA)
    else:
        a_s, b_s = a, b
    f = _dis(preset).calc(np.ascontiguousarray(a_s), np.ascontiguousarray(b_s), None)
    if k < 1:
        sx, sy = w / f.shape[1], h / f.shape[0]
        f = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
        f[..., 0] *= sx
        f[..., 1] *= sy
    return f.astype(np.float32, copy=False)


def flow_pair(cur: np.ndarray, prev: np.ndarray, **kw: object) -> tuple[np.ndarray, np.ndarray]:
    """(backward flow cur → prev, forward flow prev → cur) of two gray frames."""
    return dis_flow(cur, prev, **kw), dis_flow(prev, cur, **kw)  # type: ignore[arg-type]


_GRIDS: dict[tuple[int, int], np.ndarray] = {}


def _grid2(h: int, w: int) -> np.ndarray:
    """Pixel coordinates, ``(H, W, 2)`` float32 (x, y) (cached per size, read-only)."""
    g = _GRIDS.get((h, w))
    if g is None:
        g = np.empty((h, w, 2), np.float32)
        g[..., 0] = np.arange(w, dtype=np.float32)
        g[..., 1] = np.arange(h, dtype=np.float32)[:, None]
        g.flags.writeable = False
        if len(_GRIDS) > 16:
            _GRIDS.clear()
        _GRIDS[(h, w)] = g
    return g


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    g = _grid2(h, w)
    return g[..., 0], g[..., 1]


def warp(img: np.ndarray, flow: np.ndarray, *, cubic: bool = True) -> np.ndarray:
    """Sample ``img`` at ``p + flow(p)`` (bicubic, borders replicated): ``img`` brought into
    the frame the flow starts from.  Bicubic blurs less than bilinear when warps repeat."""
    h, w = flow.shape[:2]
    interp = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return _remap(img, _grid2(h, w) + flow, interp)


def _remap(img: np.ndarray, at: np.ndarray, interp: int = cv2.INTER_LINEAR) -> np.ndarray:
    """``img`` sampled at the ``(H, W, 2)`` float32 coordinates ``at`` (borders replicated)."""
    out = cv2.remap(img, at, None, interp, borderMode=cv2.BORDER_REPLICATE)  # type: ignore[call-overload]
    return np.asarray(out)


def reliable_mask(
    backward: np.ndarray,
    forward: np.ndarray,
    *,
    boundary: float = 0.05,
    soften: int = 3,
    frames: tuple[np.ndarray, np.ndarray] | None = None,
    photometric: float = 32.0,
    residual: np.ndarray | None = None,
) -> np.ndarray:
    """Where the backward flow (cur → prev) can be trusted: ``(H, W)`` float32 in [0, 1].

    Sundaram et al.'s forward–backward check (as used by Ruder et al.): following the
    backward flow and then the forward flow must come back, ``|b + f(p + b)|² ≤
    0.01 (|b|² + |f(p + b)|²) + 0.5``; motion boundaries (``|∇b|² > 0.01 |b|² + 0.002``)
    and points that leave the frame are unreliable too.  ``soften`` blurs the binary mask's
    edges over that many pixels so blending leaves no seams.  ``frames`` ``(cur, prev)`` (gray) or
    ``residual`` (``|cur − warp(prev, backward)|``, levels, if already computed) add a photometric check.
    """
    h, w = backward.shape[:2]
    at = _grid2(h, w) + backward  # where each pixel comes from
    f_at = _remap(forward, at)
    s = backward + f_at
    b2 = _sq(backward)
    ok = _sq(s) <= 0.01 * (b2 + _sq(f_at)) + 0.5
    gx = cv2.Sobel(backward, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)  # central differences
    gy = cv2.Sobel(backward, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    ok &= _sq(gx) + _sq(gy) <= 0.01 * b2 + boundary
    if residual is None and frames is not None:
        cur, prev = frames
        prev_at = _remap(prev.astype(np.float32), at)
        residual = np.abs(cur.astype(np.float32) - prev_at)
    if residual is not None:  # the flow must also explain the pixels: |cur − warp(prev)| ≤ photometric (0–255)
        ok &= residual <= photometric
    ok &= (at[..., 0] >= 0) & (at[..., 0] <= w - 1) & (at[..., 1] >= 0) & (at[..., 1] <= h - 1)
    m = ok.astype(np.float32)
    if soften > 0:
        m = cv2.erode(m, np.ones((3, 3), np.uint8))
        m = cv2.blur(m, (2 * soften + 1, 2 * soften + 1))
    return m


def _sq(v: np.ndarray) -> np.ndarray:
    """``|v|²`` of an ``(H, W, 2)`` field → ``(H, W)`` (elementwise: numpy's einsum takes 8× as long here)."""
    s = np.square(v)
    return s[..., 0] + s[..., 1]


def warp_error(cur: np.ndarray, prev: np.ndarray, backward: np.ndarray, mask: np.ndarray) -> float:
    """E_warp: mean over reliable pixels of ``‖cur − warp(prev, backward)‖²`` (per channel,
    images in [0, 1]; Lai et al. 2018)."""
    cur = cur.astype(np.float32) / (255.0 if cur.dtype == np.uint8 else 1.0)
    prev = prev.astype(np.float32) / (255.0 if prev.dtype == np.uint8 else 1.0)
    d = ((cur - warp(prev, backward)) ** 2).mean(-1)
    total = float(mask.sum())
    return float((d * mask).sum() / total) if total > 0 else 0.0
