"""MediaPipe's 468-point face mesh around the ported network, and a :class:`FaceDetector` on top.

From MediaPipe's graphs (``face_detection_front_detection_to_roi.pbtxt``, ``face_landmark_cpu.pbtxt``,
Apache-2.0), reimplemented:

* ROI from a BlazeFace detection: the box centre, rotation so the eye keypoints (0 → 1) are level
  (target angle 0), square on the long side, scaled ×1.5;
* the rotated ROI warped corners-to-corners into 192×192 (bilinear, border replicate), values in [0, 1];
* landmarks ``/192`` rotated and scaled back into the image (z scaled by the ROI width);
* face presence = ``sigmoid(second output)``, kept when ≥ 0.5.

:class:`MeshDetector` returns :class:`~styleforge.faces.detect.Face` objects with the 468 landmarks
(pixels, ``(468, 3)``; z in pixels too) and eye centres from the eye contours.
"""

from __future__ import annotations

__all__ = ["LEFT_EYE", "RIGHT_EYE", "FaceMesh", "MeshDetector", "Roi", "roi_from_detection"]

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .blazeface import BlazeFace, Detection
from .detect import Face
from .runtime import FaceNet

SIZE = 192
# Eye contours (MediaPipe FACEMESH_RIGHT_EYE / FACEMESH_LEFT_EYE, the subject's right / left).
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)


@dataclass(frozen=True)
class Roi:
    """A rotated square crop in pixels: centre, side lengths and rotation (radians, MediaPipe's sign)."""

    cx: float
    cy: float
    w: float
    h: float
    rotation: float

    def corners(self) -> np.ndarray:
        """The 4 corners in ``cv2.boxPoints`` order (bottom-left, top-left, top-right, bottom-right)."""
        return cv2.boxPoints(((self.cx, self.cy), (self.w, self.h), math.degrees(self.rotation))).astype(np.float32)

    def matrix(self, size: int = SIZE) -> np.ndarray:
        """3×3 image → ``size``² crop map (as ``ImageToTensorCalculator`` builds it)."""
        dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
        return cv2.getPerspectiveTransform(self.corners(), dst)


def _normalize_radians(a: float) -> float:
    return a - 2 * math.pi * math.floor((a + math.pi) / (2 * math.pi))


def roi_from_detection(det: Detection, h: int, w: int, scale: float = 1.5) -> Roi:
    """``DetectionsToRects`` (rotation from keypoints 0 → 1) + ``RectTransformation`` (square_long, ×scale)."""
    x, y, bw, bh = det.box
    (x0, y0), (x1, y1) = det.keypoints[0] * (w, h), det.keypoints[1] * (w, h)
    rot = _normalize_radians(0.0 - math.atan2(-(y1 - y0), x1 - x0))
    side = max(bw * w, bh * h) * scale
    return Roi((x + bw / 2) * w, (y + bh / 2) * h, side, side, rot)


class FaceMesh:
    """``landmarks(image, roi) -> (points (468, 3) in pixels, presence)``."""

    def __init__(self, backend: str = "auto") -> None:
        self.net = FaceNet("face_landmark", backend)

    def crop(self, image: np.ndarray, roi: Roi) -> np.ndarray:
        return cv2.warpPerspective(
            image, roi.matrix(), (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 192, 192, 3)`` uint8 crops → raw landmarks ``(N, 468, 3)`` in crop pixels and presence ``(N,)``."""
        x = crops.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1.0 / 255.0)
        lm, flag = self.net(x)
        pts = lm.reshape(len(crops), 468, 3)
        pres = 1.0 / (1.0 + np.exp(-flag.reshape(-1).astype(np.float64)))
        return pts, pres

    @staticmethod
    def project(pts: np.ndarray, roi: Roi) -> np.ndarray:
        """Crop-pixel landmarks → image pixels (``LandmarkProjectionCalculator``)."""
        n = pts / SIZE - np.array([0.5, 0.5, 0.0], np.float32)
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        x = (c * n[:, 0] - s * n[:, 1]) * roi.w + roi.cx
        y = (s * n[:, 0] + c * n[:, 1]) * roi.h + roi.cy
        return np.stack([x, y, n[:, 2] * roi.w], 1).astype(np.float32)

    def __call__(self, image: np.ndarray, rois: list[Roi]) -> list[tuple[np.ndarray, float]]:
        if not rois:
            return []
        crops = np.stack([self.crop(image, r) for r in rois])
        pts, pres = self.run(crops)
        return [(self.project(p, r), float(q)) for p, r, q in zip(pts, rois, pres, strict=True)]


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = points[:, :2].min(0)
    x1, y1 = points[:, :2].max(0)
    return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))


class MeshDetector:
    """BlazeFace + face mesh as a :class:`~styleforge.faces.detect.FaceDetector`.

    Args:
        threshold: BlazeFace score threshold (MediaPipe's ``min_detection_confidence``).
        presence: face-mesh presence threshold (profiles / occluded faces score low).
        max_faces: at most this many faces (highest detection score first, as MediaPipe).
    """

    def __init__(
        self, threshold: float = 0.5, presence: float = 0.5, max_faces: int = 8, backend: str = "auto"
    ) -> None:
        self.detector = BlazeFace(threshold, backend=backend)
        self.mesh = FaceMesh(backend)
        self.presence = presence
        self.max_faces = max_faces

    def __call__(self, image: np.ndarray) -> list[Face]:
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("MeshDetector needs an H×W×3 RGB image")
        h, w = image.shape[:2]
        dets = self.detector(image)[: self.max_faces]
        rois = [roi_from_detection(d, h, w) for d in dets]
        faces = []
        for d, (pts, pres) in zip(dets, self.mesh(image, rois), strict=True):
            if pres < self.presence:
                continue
            a = pts[list(RIGHT_EYE), :2].mean(0)
            b = pts[list(LEFT_EYE), :2].mean(0)
            el, er = (a, b) if a[0] <= b[0] else (b, a)
            faces.append(
                Face(
                    box=_box(pts),
                    eye_left=(float(el[0]), float(el[1])),
                    eye_right=(float(er[0]), float(er[1])),
                    eyes_found=2,
                    landmarks=pts,
                    score=d.score,
                    presence=pres,
                )
            )
        return sorted(faces, key=lambda f: -f.area)
