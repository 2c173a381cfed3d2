"""Apply a face translator to full photos: detect, align, translate, warp back, blend.

The translator is any callable ``translate(face) -> face`` on ``(1, 3, S, S)``
tensors in [0, 1] (see :mod:`styleforge.faces.translator` for loading one from
a checkpoint).  For each face:

1. the face is aligned and cropped exactly as ``faces prepare`` does (same
   :class:`AlignSpec`), so the network sees what it was trained on;
2. the translated crop is warped back with the inverse similarity transform;
3. detail restoration, a two-band (one-level Laplacian) split: only the
   network's *change* ``G(crop) − crop``, low-passed at ``detail_sigma`` crop
   pixels, is warped back and added to the photo, so the high frequencies (skin
   texture, hair, eyelashes — everything finer than a crop pixel, and the
   network's own high-frequency artefacts) stay the original's, and a 256 px
   network output does not soften a 2000 px face;
4. it is blended into the photo with a feathered mask scaled by ``strength``.
   Pixels where the mask is zero are returned byte-for-byte unchanged.

``regions`` (``lips``, ``eyes``, ``skin``; default the whole face) are
**ellipses placed from the two eye centres** with average face proportions — a
geometric heuristic, not a face parser: on a face turned or with an unusual
mouth position the lips ellipse can miss part of the lips or cover some skin.
"""

from __future__ import annotations

__all__ = ["ApplySpec", "REGIONS", "region_mask", "mesh_region_mask", "paste_back", "apply_to_image", "Translator"]

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch

from ..errors import InputError
from .align import AlignSpec, align_crop, similarity_from_eyes
from .detect import Face, FaceDetector, HaarDetector

Translator = Callable[[torch.Tensor], torch.Tensor]
REGIONS = ("face", "lips", "eyes", "skin")


@dataclass(frozen=True)
class ApplySpec:
    """How translated faces are put back.

    Args:
        align: crop framing; must match the one the model was trained with.
        strength: 0 = original photo, 1 = full translation.
        regions: subset of ``lips``, ``eyes``, ``skin`` (empty or ``face`` = whole face).
        feather: softness of the mask edge, as a fraction of the eye distance.
        detail_sigma: crop-pixel scale below which detail comes from the original
            (0 turns detail restoration off).
        min_eyes: faces where the eye detector found fewer eyes are left alone
            (a Haar box with no eye in it is often not a face: on the shared photos
            the only false box is an eye region of a turned face).
    """

    align: AlignSpec = field(default_factory=AlignSpec)
    strength: float = 1.0
    regions: tuple[str, ...] = ()
    feather: float = 0.12
    detail_sigma: float = 1.0
    min_eyes: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise InputError(f"--strength must be between 0 and 1, got {self.strength}")
        bad = [r for r in self.regions if r not in REGIONS]
        if bad:
            raise InputError(f"unknown region {bad[0]!r}; choose from {', '.join(REGIONS)}")
        if self.detail_sigma < 0 or self.feather < 0:
            raise InputError("--detail and --feather must not be negative")


def _ellipse(size: int, cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
    m = np.zeros((size, size), np.float32)
    cv2.ellipse(
        m, (round(cx * 16), round(cy * 16)), (round(ax * 16), round(ay * 16)), 0, 0, 360, 1.0, -1, cv2.LINE_AA, 4
    )
    return m


def region_mask(spec: AlignSpec, regions: Sequence[str] = (), feather: float = 0.12) -> np.ndarray:
    """Feathered ``S×S`` float mask in [0, 1] of the chosen face regions, in aligned-crop coordinates.

    Geometry (``d`` = eye distance in the crop, ``(cx, ey)`` = eye midpoint):
    face ellipse centred ``0.4 d`` below the eye line with semi-axes ``0.92 d × 1.35 d``;
    lips ``0.48 d × 0.22 d`` centred ``1.07 d`` below; each eye (lid and lower lid)
    ``0.38 d × 0.26 d`` centred slightly above the eye; skin = face − eyes − lips.
    """
    s = spec.size
    d = spec.eye_distance * s
    cx, ey = s / 2, spec.eye_y * s
    face = _ellipse(s, cx, ey + 0.4 * d, 0.92 * d, 1.35 * d)
    lips = _ellipse(s, cx, ey + 1.07 * d, 0.48 * d, 0.22 * d)
    eyes = np.maximum(
        _ellipse(s, cx - d / 2, ey - 0.06 * d, 0.38 * d, 0.26 * d),
        _ellipse(s, cx + d / 2, ey - 0.06 * d, 0.38 * d, 0.26 * d),
    )
    chosen = set(regions) or {"face"}
    if "face" in chosen:
        m = face
    else:
        m = np.zeros_like(face)
        if "lips" in chosen:
            m = np.maximum(m, lips)
        if "eyes" in chosen:
            m = np.maximum(m, eyes)
        if "skin" in chosen:
            m = np.maximum(m, np.clip(face - np.maximum(lips, eyes), 0, 1))
    if feather > 0:
        sig = feather * d
        m = cv2.GaussianBlur(m, (0, 0), sig)
    return np.clip(m, 0.0, 1.0)


def paste_back(
    image: np.ndarray,
    translated: np.ndarray,
    m: np.ndarray,
    mask: np.ndarray,
    *,
    strength: float = 1.0,
    detail_sigma: float = 1.0,
    source: np.ndarray | None = None,
) -> np.ndarray:
    """Blend a translated aligned crop back into ``image``.

    Args:
        image: ``H×W×3`` uint8 photo.
        translated: ``S×S×3`` float32 crop in [0, 1] (the network's output).
        m: the 2×3 source→crop matrix the crop was made with.
        mask: ``S×S`` float mask in [0, 1] (crop coordinates).
        strength: multiplies the mask.
        detail_sigma: crop-pixel Gaussian scale of the low/high frequency split
            (0: paste the network's output as it is).
        source: the crop the network was given (``S×S×3`` float in [0, 1]); made
            again from ``image`` and ``m`` when omitted.

    Returns:
        A new uint8 image; every pixel whose warped mask is 0 equals ``image``.
    """
    h, w = image.shape[:2]
    inv = cv2.invertAffineTransform(m)
    ys, xs = np.nonzero(mask > 0)
    if len(xs) == 0 or strength <= 0:
        return image.copy()
    # Only the mask's support (plus a pixel) is warped back and blended.
    cx0, cx1, cy0, cy1 = xs.min() - 1, xs.max() + 2, ys.min() - 1, ys.max() + 2
    corners = np.array([[cx0, cy0], [cx1, cy0], [cx0, cy1], [cx1, cy1]], np.float64) @ inv[:, :2].T + inv[:, 2]
    x0, y0 = np.floor(corners.min(0)).astype(int) - 2
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    out = image.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    # Crop→ROI transform: the inverse map shifted into the ROI.
    m_roi = m.copy()
    m_roi[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
    size = (x1 - x0, y1 - y0)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    alpha = cv2.warpAffine(
        mask.astype(np.float32), m_roi, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    alpha = alpha * float(strength)
    alpha[alpha < 0.5 / 255] = 0.0
    if not alpha.any():
        return out
    orig = image[y0:y1, x0:x1].astype(np.float32) / 255.0
    warp: dict[str, Any] = {
        "dsize": size,
        "flags": cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        "borderMode": cv2.BORDER_REFLECT,
    }
    if detail_sigma > 0:
        # Two-band split in crop space: only the network's change below detail_sigma crop
        # pixels is warped back and added, so everything finer stays the photo's own.
        src = (
            source.astype(np.float32)
            if source is not None
            else align_crop(image, m, translated.shape[0]).astype(np.float32) / 255.0
        )
        delta = cv2.GaussianBlur(
            translated.astype(np.float32) - src, (0, 0), detail_sigma, borderType=cv2.BORDER_REFLECT
        )
        result: np.ndarray = orig + cv2.warpAffine(delta, m_roi, **warp)
    else:
        result = cv2.warpAffine(translated.astype(np.float32), m_roi, **warp)
    a = alpha[..., None]
    blended = orig * (1.0 - a) + np.clip(result, 0.0, 1.0) * a
    roi = out[y0:y1, x0:x1]
    new = np.clip(blended * 255.0 + 0.5, 0, 255).astype(np.uint8)
    keep = alpha == 0
    new[keep] = roi[keep]
    out[y0:y1, x0:x1] = new
    return out


MaskFor = Callable[[Face, np.ndarray], np.ndarray]


def mesh_region_mask(regions: Sequence[str], align: AlignSpec, feather: float = 0.03) -> MaskFor:
    """``mask_for(face, m)``: the face-mesh regions (:mod:`.regions`) of a face with landmarks, drawn in
    the aligned crop made with the 2×3 matrix ``m`` (precise lips / eye shadow / brows / skin instead of
    the ellipses of :func:`region_mask`)."""
    from .regions import region_masks

    def mask_for(face: Face, m: np.ndarray) -> np.ndarray:
        if face.landmarks is None:
            raise InputError("precise regions need the face-mesh detector")
        pts = face.landmarks[:, :2].astype(np.float64) @ m[:, :2].T + m[:, 2]
        ms = region_masks(pts, (align.size, align.size), regions, feather=feather)
        return np.maximum.reduce(list(ms.values()))

    return mask_for


@torch.no_grad()
def apply_to_image(
    image: np.ndarray,
    translate: Translator,
    spec: ApplySpec = ApplySpec(),
    *,
    detector: FaceDetector | None = None,
    mask_for: MaskFor | None = None,
) -> tuple[np.ndarray, list[Face]]:
    """Translate every face of an RGB uint8 photo; returns ``(new_image, faces)``.

    ``faces`` are the faces translated (those with at least ``spec.min_eyes`` eyes
    found); with none the image is returned unchanged and ``faces`` is empty.
    ``mask_for(face, m)`` replaces the ellipse regions by a per-face mask in crop coordinates
    (see :func:`mesh_region_mask`).
    """
    det = detector or HaarDetector(min_face=0.05)
    faces = [f for f in det(image) if f.eyes_found >= spec.min_eyes]
    out = image
    mask = region_mask(spec.align, spec.regions, spec.feather)
    for f in faces:
        m = similarity_from_eyes(f.eye_left, f.eye_right, spec.align)
        crop = align_crop(image, m, spec.align.size)
        x = torch.from_numpy(crop.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        y = translate(x)
        if not isinstance(y, torch.Tensor) or y.shape != x.shape:
            raise InputError(f"the model returned {getattr(y, 'shape', type(y))} for a {tuple(x.shape)} face")
        gen = y[0].detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        src = crop.astype(np.float32) / 255.0
        fmask = mask_for(f, m) if mask_for is not None else mask
        out = paste_back(out, gen, m, fmask, strength=spec.strength, detail_sigma=spec.detail_sigma, source=src)
    return out, faces
