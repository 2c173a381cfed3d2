"""Eye-based similarity alignment: eyes level, face centred, fixed margin.

The aligned crop puts the midpoint of the eyes at ``(size/2, eye_y·size)`` and
makes the eye distance ``eye_distance·size`` (the MT makeup dataset framing:
whole face, some hair and chin).  The 2×3 matrix maps source pixels to crop
pixels; :func:`invert_affine` maps back (paste-back uses it).
"""

from __future__ import annotations

__all__ = ["AlignSpec", "similarity_from_eyes", "invert_affine", "transform_points", "align_crop", "eye_angle"]

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AlignSpec:
    """Framing of an aligned crop.

    Args:
        size: crop side in pixels.
        eye_distance: distance between eye centres as a fraction of ``size``
            (smaller = more margin around the face).
        eye_y: height of the eye line as a fraction of ``size``.
    """

    size: int = 256
    eye_distance: float = 0.30
    eye_y: float = 0.35

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"crop size must be at least 8 px, got {self.size}")
        if not 0.05 <= self.eye_distance <= 0.9:
            raise ValueError(f"eye_distance must be within 0.05..0.9 of the size, got {self.eye_distance}")
        if not 0.1 <= self.eye_y <= 0.9:
            raise ValueError(f"eye_y must be within 0.1..0.9 of the size, got {self.eye_y}")


def similarity_from_eyes(eye_left: tuple[float, float], eye_right: tuple[float, float], spec: AlignSpec) -> np.ndarray:
    """2×3 similarity matrix (rotation, uniform scale, translation) source → crop.

    ``eye_left`` is the eye with the smaller x; it lands at
    ``(size/2 - d/2, eye_y·size)`` and ``eye_right`` at ``(size/2 + d/2, eye_y·size)``
    with ``d = eye_distance·size``.

    Examples:
        >>> m = similarity_from_eyes((10.0, 20.0), (30.0, 20.0), AlignSpec(size=100, eye_distance=0.4, eye_y=0.5))
        >>> transform_points(m, [(10.0, 20.0), (30.0, 20.0)]).round(6).tolist()
        [[30.0, 50.0], [70.0, 50.0]]
    """
    lx, ly = eye_left
    rx, ry = eye_right
    dx, dy = rx - lx, ry - ly
    dist = math.hypot(dx, dy)
    if dist < 1e-6:
        raise ValueError("the two eye centres coincide")
    scale = spec.eye_distance * spec.size / dist
    angle = math.atan2(dy, dx)
    c, s = scale * math.cos(-angle), scale * math.sin(-angle)
    rot = np.array([[c, -s], [s, c]])
    mid = np.array([(lx + rx) / 2, (ly + ry) / 2])
    target = np.array([spec.size / 2, spec.eye_y * spec.size])
    t = target - rot @ mid
    return np.hstack([rot, t[:, None]]).astype(np.float64)


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine matrix."""
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_points(m: np.ndarray, pts: np.ndarray | list[tuple[float, float]]) -> np.ndarray:
    """Apply a 2×3 affine matrix to ``N×2`` points."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return p @ m[:, :2].T + m[:, 2]


def eye_angle(eye_left: tuple[float, float], eye_right: tuple[float, float]) -> float:
    """Angle of the eye line in degrees (0 = level, positive = right eye lower)."""
    return math.degrees(math.atan2(eye_right[1] - eye_left[1], eye_right[0] - eye_left[0]))


def align_crop(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Warp ``image`` (H×W×C uint8) into a ``size×size`` crop; outside the photo is mirrored."""
    scale = math.hypot(m[0, 0], m[1, 0])
    # Shrinking a lot with bilinear sampling aliases: shrink with INTER_AREA first
    # (fast, whole image) so the warp itself scales by about 1.
    if scale < 0.5:
        h, w = image.shape[:2]
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        m = m @ np.diag([w / nw, h / nh, 1.0])
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
