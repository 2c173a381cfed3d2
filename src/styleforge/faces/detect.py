"""Face and eye detection with OpenCV's Haar cascades (shipped in opencv-python-headless<5).

Why Haar and not something else: on the 31 shared MT-dataset photos the
``frontalface_alt2`` cascade on a histogram-equalised image finds every frontal
face (30/30 plus the small second face in ``xfsy_0055``) and misses only one
strongly turned face, and the eye cascade then finds both eyes in every frontal
face.  MediaPipe (more accurate) needs numpy<2 and facenet-pytorch's MTCNN cannot
be installed beside torch 2.13; both weights would have to ship separately.  The
detector is an injected :class:`FaceDetector` protocol, so a better one can be
dropped in without touching alignment, cleaning or paste-back.

Conventions: images are ``H×W×3`` uint8 RGB numpy arrays; points are ``(x, y)``
in pixels; ``eye_left`` is the eye with the smaller x in the image.
"""

from __future__ import annotations

__all__ = ["Face", "FaceDetector", "HaarDetector", "EYE_FALLBACK"]

import threading
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
from cv2 import data as cv2_data  # the bundled Haar cascades' folder

#: Where the eye centres sit inside a Haar ``frontalface_alt2`` box when the eye
#: cascade fails, as fractions ``(x_left, x_right, y)`` of the box; measured as the
#: mean over the shared faces (``benchmarks/faces.py`` prints the spread).
EYE_FALLBACK = (0.262, 0.719, 0.364)


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        box: ``(x, y, w, h)`` in pixels of the source image.
        eye_left: centre of the eye with the smaller x, ``(x, y)``.
        eye_right: centre of the other eye.
        eyes_found: how many eyes the eye detector found (0, 1 or 2); with fewer
            than 2 the missing eye positions are estimated from the box.
        landmarks: the 468 face-mesh points ``(468, 3)`` in pixels when the detector
            is :class:`~styleforge.faces.facemesh.MeshDetector`, else ``None``.
        score, presence: detection score and face-mesh presence (mesh detector only).
    """

    box: tuple[int, int, int, int]
    eye_left: tuple[float, float]
    eye_right: tuple[float, float]
    eyes_found: int
    landmarks: np.ndarray | None = field(default=None, compare=False, repr=False)
    score: float = 1.0
    presence: float = 1.0

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(self.eye_right[0] - self.eye_left[0], self.eye_right[1] - self.eye_left[1]))


class FaceDetector(Protocol):
    """Anything that returns the faces of an RGB uint8 image."""

    def __call__(self, image: np.ndarray) -> list[Face]: ...


_CASCADES: dict[str, cv2.CascadeClassifier] = {}
_LOCK = threading.Lock()


def _cascade(name: str) -> cv2.CascadeClassifier:
    # CascadeClassifier objects are not thread-safe to share; one per thread-name key.
    key = f"{name}:{threading.get_ident()}"
    with _LOCK:
        c = _CASCADES.get(key)
        if c is None:
            path = cv2_data.haarcascades + f"haarcascade_{name}.xml"
            c = cv2.CascadeClassifier(path)
            if c.empty():  # pragma: no cover - broken install
                raise RuntimeError(f"OpenCV cascade {path} could not be loaded (opencv-python-headless<5 needed)")
            _CASCADES[key] = c
    return c


def _fallback_eyes(box: tuple[int, int, int, int]) -> tuple[tuple[float, float], tuple[float, float]]:
    x, y, w, h = box
    fl, fr, fy = EYE_FALLBACK
    return (x + fl * w, y + fy * h), (x + fr * w, y + fy * h)


def find_eyes(gray: np.ndarray, box: tuple[int, int, int, int]) -> tuple[tuple[float, float], tuple[float, float], int]:
    """Eye centres inside a face box of an equalised gray image.

    The upper face is resized to a fixed width so the eye cascade sees eyes of a
    known size; one candidate per half of the face is chosen, nearest to where
    eyes usually sit in a Haar box, and the pair must be roughly level.
    """
    x, y, w, h = box
    exp_l, exp_r = _fallback_eyes(box)
    y0, y1 = y + int(0.15 * h), y + int(0.62 * h)
    roi = gray[max(0, y0) : max(0, y1), max(0, x) : max(0, x + w)]
    if roi.size == 0:
        return exp_l, exp_r, 0
    scale = 120.0 / roi.shape[1]
    roi = cv2.resize(
        roi, (120, max(1, round(roi.shape[0] * scale))), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    cands = _cascade("eye").detectMultiScale(roi, 1.1, 2, minSize=(12, 12), maxSize=(44, 44))
    left: list[tuple[float, float]] = []
    right: list[tuple[float, float]] = []
    for ex, ey, ew, eh in cands:
        cx = max(0, x) + (ex + ew / 2) / scale
        cy = max(0, y0) + (ey + eh / 2) / scale
        (left if cx < x + w / 2 else right).append((cx, cy))

    def nearest(cs: list[tuple[float, float]], e: tuple[float, float]) -> tuple[float, float] | None:
        if not cs:
            return None
        c = min(cs, key=lambda p: (p[0] - e[0]) ** 2 + (p[1] - e[1]) ** 2)
        return c if np.hypot(c[0] - e[0], c[1] - e[1]) < 0.2 * w else None

    el, er = nearest(left, exp_l), nearest(right, exp_r)
    if el is not None and er is not None:
        dx, dy = er[0] - el[0], er[1] - el[1]
        if 0.2 * w < dx < 0.7 * w and abs(dy) < 0.3 * dx:
            return el, er, 2
    if el is not None:
        return el, (el[0] + (exp_r[0] - exp_l[0]), el[1]), 1
    if er is not None:
        return (er[0] - (exp_r[0] - exp_l[0]), er[1]), er, 1
    return exp_l, exp_r, 0


@dataclass(frozen=True)
class HaarDetector:
    """OpenCV Haar face detector (``frontalface_alt2``) plus eye cascade.

    Args:
        min_face: smallest face side searched, as a fraction of the image's short
            side (also at least 24 px); faces below that are never reported.
        detect_side: the image is shrunk so its long side is at most this many
            pixels before face detection (eyes are then searched at full
            resolution); keeps big photos fast.
        detect_min: the image is also shrunk so that the smallest face searched
            is this many pixels there (the cascade's window is 20 px; searching
            large faces at full resolution only costs time).
        scale_factor: ``detectMultiScale``'s scale step.
        min_neighbors: ``detectMultiScale``'s neighbour count.
    """

    min_face: float = 0.08
    min_face_px: int = 24
    detect_side: int = 640
    detect_min: int = 40
    scale_factor: float = 1.1
    min_neighbors: int = 4

    def boxes(self, gray: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes ``(x, y, w, h)`` on an equalised gray image (full-resolution pixels)."""
        h, w = gray.shape
        smallest = max(24.0, self.min_face * min(h, w), float(self.min_face_px))
        s = min(1.0, self.detect_side / max(h, w), self.detect_min / smallest)
        small = (
            cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
            if s < 1
            else gray
        )
        ms = max(20, round(smallest * s))
        found = _cascade("frontalface_alt2").detectMultiScale(
            small, self.scale_factor, self.min_neighbors, minSize=(ms, ms)
        )
        return [(round(bx / s), round(by / s), round(bw / s), round(bh / s)) for bx, by, bw, bh in found]

    def __call__(self, image: np.ndarray) -> list[Face]:
        gray = equalized_gray(image)
        faces = []
        for box in self.boxes(gray):
            el, er, n = find_eyes(gray, box)
            faces.append(Face(box=box, eye_left=el, eye_right=er, eyes_found=n))
        return sorted(faces, key=lambda f: -f.area)


def equalized_gray(image: np.ndarray) -> np.ndarray:
    """RGB uint8 → histogram-equalised gray (what both cascades are run on)."""
    return cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
