"""BlazeFace (MediaPipe's short-range face detector) around the ported network.

What the ``.tflite`` does not contain is reimplemented from MediaPipe's graph configuration
(``face_detection_short_range.pbtxt``, Apache-2.0):

* input: the whole image letterboxed (aspect kept, centred, zero border) into 128×128, values
  scaled to [−1, 1];
* SSD anchors: 4 layers, strides 8, 16, 16, 16, fixed anchor size, offset 0.5 — 2 anchors per cell
  on the 16×16 grid and 6 on the 8×8 grid (896);
* decoding: ``x, y, w, h`` and 6 keypoints ``/128`` relative to the anchor centre, score
  ``sigmoid(clip(raw, ±100))``, threshold 0.5;
* weighted non-maximum suppression (IoU > 0.3 → averaged by score);
* letterbox removal back to image-relative coordinates.

Keypoints (subject's view): 0 right eye, 1 left eye, 2 nose tip, 3 mouth, 4 right ear, 5 left ear.
"""

from __future__ import annotations

__all__ = ["BlazeFace", "Detection", "decode", "letterbox_matrix", "ssd_anchors", "weighted_nms"]

from dataclasses import dataclass

import cv2
import numpy as np

from .runtime import FaceNet

SIZE = 128


@dataclass(frozen=True)
class Detection:
    """A face box in image-relative coordinates (``xmin, ymin, w, h`` in [0, 1]), 6 keypoints (6×2) and a score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float


def ssd_anchors(size: int = SIZE, strides: tuple[int, ...] = (8, 16, 16, 16)) -> np.ndarray:
    """Anchor centres ``(N, 2)`` (x, y in [0, 1]) as MediaPipe's ``SsdAnchorsCalculator`` makes them
    with ``fixed_anchor_size`` (so only centres matter): 2 anchors per layer sharing a stride."""
    out = []
    i = 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        per_cell = 2 * (j - i)  # one aspect ratio + the interpolated scale, per layer
        n = int(np.ceil(size / strides[i]))
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        c = np.stack([xs, ys], -1).reshape(-1, 1, 2).repeat(per_cell, 1).reshape(-1, 2)
        out.append(c)
        i = j
    return np.concatenate(out).astype(np.float32)


ANCHORS = ssd_anchors()


def decode(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(896, 16)`` regressors and ``(896,)`` logits →
    ``(boxes (K, 4) xmin ymin w h, keypoints (K, 6, 2), scores (K,))`` in the 128-px tensor's
    relative coordinates, for the anchors scoring at least ``threshold``."""
    scores = (1.0 / (1.0 + np.exp(-np.clip(raw_scores.astype(np.float64), -100.0, 100.0)))).astype(np.float32)
    keep = scores >= threshold
    r = raw_boxes[keep] / SIZE
    a = ANCHORS[keep]
    cx, cy = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1]
    w, h = r[:, 2], r[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, w, h], 1)
    kps = r[:, 4:].reshape(-1, 6, 2) + a[:, None, :]
    return boxes, kps, scores[keep]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y1 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, iou: float = 0.3
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-maximum suppression: the best remaining box and every box overlapping
    it by IoU > ``iou`` are averaged (weights = scores); the result keeps the best score."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while len(order):
        top = order[0]
        sim = _iou(boxes[top], boxes[order])
        cand = order[sim > iou]
        cand = cand if len(cand) else order[:1]
        w = scores[cand][:, None]
        box = (boxes[cand] * w).sum(0) / w.sum()
        kp = (kps[cand].reshape(len(cand), -1) * w).sum(0).reshape(6, 2) / w.sum()
        out.append((box, kp, float(scores[top])))
        order = order[sim <= iou]
    return out


def letterbox_matrix(h: int, w: int, size: int = SIZE) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The 3×3 perspective map image → ``size``² tensor that MediaPipe's ``ImageToTensorCalculator``
    uses with ``keep_aspect_ratio`` (a centred square ROI of the long side, corners to corners), and
    the letterbox padding ``(left, top, right, bottom)`` as fractions of the tensor."""
    side = float(max(h, w))
    cx, cy = w / 2.0, h / 2.0
    src = cv2.boxPoints(((cx, cy), (side, side), 0.0)).astype(np.float32)
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    px, py = (1 - w / side) / 2, (1 - h / side) / 2
    return m, (px, py, px, py)


class BlazeFace:
    """Short-range BlazeFace: ``detect(image) -> list[Detection]`` for an RGB uint8 image."""

    def __init__(self, threshold: float = 0.5, iou: float = 0.3, backend: str = "auto") -> None:
        self.net = FaceNet("face_detection_short_range", backend)
        self.threshold = threshold
        self.iou = iou

    def tensor(self, image: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float]]:
        h, w = image.shape[:2]
        m, pad = letterbox_matrix(h, w)
        t = cv2.warpPerspective(
            image, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        x = t.transpose(2, 0, 1)[None].astype(np.float32) * np.float32(2.0 / 255.0) - np.float32(1.0)
        return x, pad

    def __call__(self, image: np.ndarray) -> list[Detection]:
        x, (pl, pt, pr, pb) = self.tensor(image)
        reg, cls = self.net(x)
        boxes, kps, scores = decode(reg[0], cls[0, :, 0], self.threshold)
        dets = []
        for box, kp, score in weighted_nms(boxes, kps, scores, self.iou):
            sx, sy = 1 - pl - pr, 1 - pt - pb
            b = ((box[0] - pl) / sx, (box[1] - pt) / sy, box[2] / sx, box[3] / sy)
            k = np.stack([(kp[:, 0] - pl) / sx, (kp[:, 1] - pt) / sy], 1)
            dets.append(Detection((float(b[0]), float(b[1]), float(b[2]), float(b[3])), k.astype(np.float32), score))
        return dets
