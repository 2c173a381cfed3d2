"""Clips with known motion made from one photo: for tests and ``benchmarks/video.py``.

:func:`camera_clip` moves a virtual camera over a photo (pan, zoom, a wandering crop);
:func:`object_clip` moves a textured disc over a still background.  Both return the frames
and, for every frame after the first, the *exact* backward flow (frame t → t − 1) and the
mask of pixels visible in both frames — ground truth for the warping error.
"""

from __future__ import annotations

__all__ = ["Clip", "camera_clip", "loop_clip", "object_clip"]

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Clip:
    name: str
    frames: list[np.ndarray]  # (H, W, 3) uint8 RGB
    flows: list[np.ndarray | None]  # backward flow t → t−1, (H, W, 2); None for frame 0
    masks: list[np.ndarray | None]  # (H, W) float32: visible in both frames


def _camera(motion: str, t: float, photo_wh: tuple[int, int], view_wh: tuple[int, int]) -> tuple[float, float, float]:
    """Scale ``s`` and offset ``(ox, oy)``: photo point = s · frame point + o, at time ``t`` ∈ [0, 1]."""
    pw, ph = photo_wh
    vw, vh = view_wh
    base = min(pw / vw, ph / vh) * 0.7  # the view covers 70 % of the photo's limiting side
    if motion == "pan":
        s = base
        ox = (pw - vw * s) * (0.1 + 0.8 * t)
        oy = (ph - vh * s) * 0.5
    elif motion == "zoom":
        s = base * (1.0 - 0.35 * t)
        ox, oy = (pw - vw * s) / 2, (ph - vh * s) / 2
    elif motion == "crop":  # a wandering crop: a circle of the crop's corner
        s = base * 0.9
        cx, cy = (pw - vw * s) / 2, (ph - vh * s) / 2
        ox = cx + 0.35 * cx * math.cos(2 * math.pi * t)
        oy = cy + 0.35 * cy * math.sin(2 * math.pi * t)
    elif motion == "still":
        s = base
        ox, oy = (pw - vw * s) / 2, (ph - vh * s) / 2
    else:
        raise ValueError(f"unknown motion {motion!r}")
    return s, ox, oy


def camera_clip(photo: np.ndarray, motion: str, n: int = 24, size: tuple[int, int] = (256, 160)) -> Clip:
    """``n`` frames of ``size`` ``(w, h)`` looking at ``photo`` (uint8 RGB) with ``motion``
    (``pan``, ``zoom``, ``crop`` or ``still``)."""
    w, h = size
    ph, pw = photo.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    frames: list[np.ndarray] = []
    flows: list[np.ndarray | None] = []
    masks: list[np.ndarray | None] = []
    prev = None
    for i in range(n):
        s, ox, oy = _camera(motion, i / max(1, n - 1), (pw, ph), (w, h))
        m = np.array([[s, 0, ox], [0, s, oy]], np.float32)
        frames.append(
            cv2.warpAffine(
                photo,
                m,
                (w, h),
                flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP if s > 1 else cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REFLECT,
            )
        )
        if prev is None:
            flows.append(None)
            masks.append(None)
        else:
            ps, pox, poy = prev
            x1 = (s * xs + ox - pox) / ps
            y1 = (s * ys + oy - poy) / ps
            flows.append(np.stack([x1 - xs, y1 - ys], -1).astype(np.float32))
            masks.append(((x1 >= 0) & (x1 <= w - 1) & (y1 >= 0) & (y1 <= h - 1)).astype(np.float32))
        prev = (s, ox, oy)
    return Clip(motion, frames, flows, masks)


def object_clip(photo: np.ndarray, n: int = 24, size: tuple[int, int] = (256, 160), radius: int | None = None) -> Clip:
    """A disc cut from ``photo``'s centre moves left to right over a still, blurred-down view of it."""
    w, h = size
    bg = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    r = radius or h // 4
    ph, pw = photo.shape[:2]
    k = max(1, min(ph, pw) // (6 * r))
    cy, cx = ph // 2, pw // 2
    sprite = cv2.resize(
        photo[cy - 3 * r * k // 2 : cy + 3 * r * k // 2, cx - 3 * r * k // 2 : cx + 3 * r * k // 2],
        (2 * r + 1, 2 * r + 1),
        interpolation=cv2.INTER_AREA,
    )
    sprite = np.ascontiguousarray(sprite[:, ::-1])  # mirrored: not the background's own texture
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = (xx**2 + yy**2) <= r * r
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    frames: list[np.ndarray] = []
    flows: list[np.ndarray | None] = []
    masks: list[np.ndarray | None] = []
    prev_c = None
    for i in range(n):
        t = i / max(1, n - 1)
        c = (round(r + 4 + t * (w - 2 * r - 8)), round(h / 2 + 0.2 * h * math.sin(2 * math.pi * t)))
        f = bg.copy()
        y0, x0 = c[1] - r, c[0] - r
        region = f[y0 : y0 + 2 * r + 1, x0 : x0 + 2 * r + 1]
        region[disc] = sprite[disc]
        on = ((xs - c[0]) ** 2 + (ys - c[1]) ** 2) <= r * r
        frames.append(f)
        if prev_c is None:
            flows.append(None)
            masks.append(None)
        else:
            d = (prev_c[0] - c[0], prev_c[1] - c[1])
            flow = np.zeros((h, w, 2), np.float32)
            flow[on] = d
            was_on = ((xs - prev_c[0]) ** 2 + (ys - prev_c[1]) ** 2) <= r * r
            ok = on | ~was_on  # background that the disc covered a frame ago is newly visible
            # the disc's rim is antialiased by nobody: keep a 1 px margin on both edges
            rim = np.abs(np.sqrt((xs - c[0]) ** 2 + (ys - c[1]) ** 2) - r) < 1.5
            masks.append((ok & ~rim).astype(np.float32))
            flows.append(flow)
        prev_c = c
    return Clip("object", frames, flows, masks)


def loop_clip(clip: Clip, times: int) -> Clip:
    """The clip played forwards then backwards, ``times`` times (the same frames come back)."""
    seq = clip.frames + clip.frames[-2:0:-1]
    return Clip(clip.name + "-loop", seq * times, [None] * (len(seq) * times), [None] * (len(seq) * times))
