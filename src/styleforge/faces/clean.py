"""Quality checks for aligned face crops and duplicate detection.

Every check is a pure function of an aligned crop (or of a :class:`Face`), so
the thresholds in :class:`CleanSpec` mean the same thing for every source
resolution.  What the heuristics are, honestly:

* **blur**: variance of the Laplacian of the gray crop (a sharp 256 px MT face
  scores a few hundred; a Gaussian blur of σ≈2 source pixels brings it under 40 for most faces);
* **grayscale**: mean per-pixel channel spread below a few levels;
* **too small**: the detected face box is narrower than ``min_face`` source pixels
  (the crop would be an upscaled, soft face);
* **profile / occluded**: the eye cascade did not find both eyes (turned face,
  sunglasses, hair or a hand over the eyes), or the eyes sit far off the box
  centre or too close together for a frontal face.  There is no mouth or
  skin-occlusion check: a mask over the mouth passes.
* **duplicates**: identical file bytes (SHA-256), then a 64-bit perceptual hash
  (DCT pHash via ``imagehash``) of the aligned crop within a Hamming distance;
  aligning first makes the hash robust to resizing and slight re-cropping.
"""

from __future__ import annotations

__all__ = [
    "CleanSpec",
    "blur_score",
    "color_spread",
    "quality_issue",
    "phash64",
    "hamming",
    "duplicate_groups",
]

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .detect import EYE_FALLBACK, Face


@dataclass(frozen=True)
class CleanSpec:
    """Thresholds for dropping faces (see the module docstring)."""

    min_face: int = 80
    min_blur: float = 30.0
    min_color: float = 4.0
    require_eyes: bool = True
    max_eye_offset: float = 0.12
    min_eye_ratio: float = 0.33
    dup_distance: int = 10


def blur_score(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the gray crop, measured at 256 px (higher = sharper)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    if gray.shape[0] != 256:
        gray = cv2.resize(gray, (256, 256), interpolation=cv2.INTER_AREA if gray.shape[0] > 256 else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def color_spread(crop: np.ndarray) -> float:
    """Mean over pixels of the largest difference between two channels (0 for gray)."""
    c = crop.astype(np.int16)
    return float((c.max(axis=2) - c.min(axis=2)).mean())


def quality_issue(face: Face, crop: np.ndarray, spec: CleanSpec) -> str | None:
    """The first reason to drop this face, or ``None`` to keep it.

    Reasons: ``too_small``, ``eyes_not_found``, ``profile``, ``grayscale``, ``blurry``.
    """
    x, y, w, h = face.box
    if w < spec.min_face:
        return "too_small"
    if face.eyes_found < 2:
        if spec.require_eyes:
            return "eyes_not_found"
    else:
        mid = (face.eye_left[0] + face.eye_right[0]) / 2
        expected_mid = x + (EYE_FALLBACK[0] + EYE_FALLBACK[1]) / 2 * w
        if abs(mid - expected_mid) > spec.max_eye_offset * w or face.eye_distance < spec.min_eye_ratio * w:
            return "profile"
    if color_spread(crop) < spec.min_color:
        return "grayscale"
    if blur_score(crop) < spec.min_blur:
        return "blurry"
    return None


def phash64(crop: np.ndarray) -> int:
    """64-bit DCT perceptual hash of a crop as an int."""
    import imagehash
    from PIL import Image

    h = imagehash.phash(Image.fromarray(crop), hash_size=8)
    return int("".join("1" if b else "0" for b in h.hash.flatten()), 2)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def duplicate_groups(hashes: Sequence[int], max_distance: int) -> list[list[int]]:
    """Indices grouped by near-duplicate hashes (connected components, Hamming ≤ ``max_distance``).

    Only groups with two or more members are returned, each sorted.

    Examples:
        >>> duplicate_groups([0b0000, 0b0001, 0b1111_0000, 0b0011], 1)
        [[0, 1, 3]]
    """
    n = len(hashes)
    if n < 2:
        return []
    h = np.array(hashes, dtype=np.uint64)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n - 1):
        d = np.bitwise_count(h[i + 1 :] ^ h[i])
        for j in np.nonzero(d <= max_distance)[0]:
            a, b = find(i), find(i + 1 + int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]
