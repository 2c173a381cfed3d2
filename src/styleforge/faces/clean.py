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
* **duplicates**: identical file bytes (SHA-256), then :func:`face_hash` — DCT
  pHashes (``imagehash``) of the aligned crop and of an upright context square
  around the face, 128 bits in all — within a summed Hamming distance
  (``dup_distance``, default 22 of 128; chosen on the shared faces, see
  ``benchmarks/faces.py``).
"""

from __future__ import annotations

__all__ = [
    "CleanSpec",
    "blur_score",
    "color_spread",
    "quality_issue",
    "phash64",
    "face_hash",
    "context_crop",
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
    dup_distance: int = 22


def blur_score(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the gray crop (higher = sharper); crops of another size are resized to 256 px,
    but ``faces prepare`` always measures on a 256 px crop of the source (an upscaled small crop reads blurry)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    if gray.shape[0] != 256:
        gray = cv2.resize(gray, (256, 256), interpolation=cv2.INTER_AREA if gray.shape[0] > 256 else cv2.INTER_LINEAR)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def color_spread(crop: np.ndarray) -> float:
    """Mean over pixels of the largest difference between two channels (0 for gray)."""
    c = crop[::2, ::2].astype(np.int16)  # every 4th pixel is plenty for a mean
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    return float((np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)).mean())


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
    try:
        import imagehash
    except ImportError:  # pragma: no cover - depends on the install
        from ..errors import StyleforgeError

        raise StyleforgeError("duplicate detection needs imagehash: pip install 'styleforge[faces]'") from None
    from PIL import Image

    h = imagehash.phash(Image.fromarray(crop), hash_size=8)
    return int("".join("1" if b else "0" for b in h.hash.flatten()), 2)


def context_crop(
    image: np.ndarray, box: tuple[int, int, int, int], *, scale: float = 1.5, size: int = 128
) -> np.ndarray:
    """Upright square around a face box (``scale`` × its width), resized to ``size``, borders mirrored."""
    x, y, w, h = box
    k = size / (scale * w)
    m = np.array([[k, 0.0, size / 2 - (x + w / 2) * k], [0.0, k, size / 2 - (y + h / 2) * k]])
    if k < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), 0.3 / k)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def face_hash(image: np.ndarray, face: Face, crop: np.ndarray) -> int:
    """128-bit duplicate key of one face: pHash of the aligned crop (high 64 bits) and
    of an upright 1.5× context square around the face box (low 64 bits).

    The two halves fail differently — the aligned crop moves with eye-detection
    jitter, the context square with re-cropping and box jitter — so their summed
    Hamming distance separates copies from different faces better than either
    (``benchmarks/faces.py``).  Both are face-specific, so two faces of one
    group photo do not look like duplicates.
    """
    return (phash64(crop) << 64) | phash64(context_crop(image, face.box))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two hashes."""
    return (a ^ b).bit_count()


def duplicate_groups(hashes: Sequence[int], max_distance: int) -> list[list[int]]:
    """Indices grouped around leaders within Hamming distance ``max_distance``.

    Items are taken in the given order (put the copy to keep first): each item
    not yet in a group leads a new group that takes every later ungrouped item
    within ``max_distance`` *of the leader*.  Unlike connected components this
    does not chain different faces together through a series of similar ones.
    Only groups with two or more members are returned, each sorted.

    Examples:
        >>> duplicate_groups([0b0000, 0b0001, 0b1111_0000, 0b0011], 1)
        [[0, 1]]
        >>> duplicate_groups([0b0001, 0b0000, 0b0011], 1)
        [[0, 1, 2]]
    """
    n = len(hashes)
    if n < 2:
        return []
    words = max(1, (max(int(x).bit_length() for x in hashes) + 63) // 64)
    mask = (1 << 64) - 1
    h = np.array([[(int(x) >> (64 * k)) & mask for k in range(words)] for x in hashes], dtype=np.uint64)
    group = np.full(n, -1)
    out = []
    for i in range(n):
        if group[i] >= 0:
            continue
        dist = np.bitwise_count(h ^ h[i]).sum(axis=1)
        near = np.nonzero((dist <= max_distance) & (group < 0))[0]
        group[near] = i
        if len(near) > 1:
            out.append(sorted(int(j) for j in near))
    return out
