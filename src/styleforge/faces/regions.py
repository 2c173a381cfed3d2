"""Face regions from the 468 face-mesh landmarks: lips, eye shadow, brows, skin.

Contours are MediaPipe's (``face_mesh_connections.py``, Apache-2.0) as closed index loops:

* ``lips`` — outer lip contour minus the inner mouth (teeth and tongue stay untouched);
* ``eyes`` — eye shadow: from the upper lash line to the lower edge of the brow, plus a thin band
  under the lower lash line, minus the eye opening (eyeball, iris);
* ``brows`` — the two brow polygons, slightly grown (the mesh's brow contour is thin);
* ``skin`` — the face oval (its top raised toward the hairline) minus the eye openings, brows
  and lips (the eyelids are skin too: the eye-shadow layer is added on top of the foundation
  layer there).

Masks are float32 in [0, 1], drawn with 1/16-px accuracy and feathered with a Gaussian whose
sigma is a fraction of the inter-ocular distance (IOD), so a lipstick edge is soft by a pixel or
two on a small face and stays proportionate on a large one.
"""

from __future__ import annotations

__all__ = ["FACE_OVAL", "LIPS_INNER", "LIPS_OUTER", "REGIONS", "inter_ocular", "region_masks"]

from collections.abc import Iterable

import cv2
import numpy as np

from .facemesh import LEFT_EYE, RIGHT_EYE

REGIONS = ("lips", "eyes", "brows", "skin")

LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
# Upper / lower lash lines, outer → inner corner; brow lower edges, inner → outer.
RIGHT_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
#: Depth of the band under the lower lash line (fraction of the IOD) and its weight in the eyes mask.
UNDER_EYE = 0.06
UNDER_EYE_WEIGHT = 0.6
RIGHT_BROW_LOW = (55, 65, 52, 53, 46)
LEFT_BROW_LOW = (285, 295, 282, 283, 276)


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the two eye-contour centres (pixels)."""
    a = landmarks[list(RIGHT_EYE), :2].mean(0)
    b = landmarks[list(LEFT_EYE), :2].mean(0)
    return float(np.hypot(*(a - b)))


def forehead_oval(p: np.ndarray, d: float, lift: float = 0.4) -> np.ndarray:
    """The face-oval polygon with its upper part raised by up to ``lift``·IOD toward the hairline (the
    mesh's oval stops mid-forehead); points are pushed along the chin→forehead axis in proportion to
    their height above the eye line."""
    oval = p[list(FACE_OVAL)].copy()
    up = p[10] - p[152]
    up /= max(np.hypot(*up), 1e-6)
    eye_mid = (p[list(RIGHT_EYE)].mean(0) + p[list(LEFT_EYE)].mean(0)) / 2
    top = float((p[10] - eye_mid) @ up)
    h = np.clip(((oval - eye_mid) @ up) / max(top, 1e-6), 0, 1)
    return oval + (lift * d * h)[:, None] * up


def _poly(shape: tuple[int, int], pts: Iterable[np.ndarray]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    polys = [np.round(np.asarray(p, np.float64) * 16).astype(np.int32) for p in pts]
    cv2.fillPoly(m, polys, 255, cv2.LINE_AA, 4)
    return m.astype(np.float32) / 255.0


def _grow(m: np.ndarray, px: float) -> np.ndarray:
    r = max(1, int(round(px)))
    return cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))


def region_masks(
    landmarks: np.ndarray, shape: tuple[int, int], regions: Iterable[str] = REGIONS, feather: float = 0.03
) -> dict[str, np.ndarray]:
    """``{region: H×W float32 mask}`` for the chosen regions of one face.

    Args:
        landmarks: ``(468, 2+)`` mesh points in the pixels of an image of size ``shape``.
        shape: ``(H, W)``.
        feather: Gaussian sigma of the mask edges as a fraction of the IOD.
    """
    p = landmarks[:, :2].astype(np.float64)
    d = inter_ocular(landmarks)

    def pick(idx: Iterable[int]) -> np.ndarray:
        return p[list(idx)]

    openings = _poly(shape, [pick(RIGHT_EYE), pick(LEFT_EYE)])
    mouth = _poly(shape, [pick(LIPS_INNER)])
    out: dict[str, np.ndarray] = {}
    wanted = set(regions)
    if "lips" in wanted:
        out["lips"] = np.clip(_poly(shape, [pick(LIPS_OUTER)]) - mouth, 0, 1)
    if "eyes" in wanted or "skin" in wanted:
        lids, bands = [], []
        mouth_c = p[list(LIPS_OUTER)].mean(0)
        for upper, lower, brow in ((RIGHT_UPPER, RIGHT_LOWER, RIGHT_BROW_LOW), (LEFT_UPPER, LEFT_LOWER, LEFT_BROW_LOW)):
            up, low, br = pick(upper), pick(lower), pick(brow)
            # lid: lash line up to 85 % of the way to the brow's lower edge
            br_i = np.array(
                [np.interp(np.linspace(0, 1, len(up)), np.linspace(0, 1, len(br)), br[::-1][:, k]) for k in (0, 1)]
            ).T
            lid_top = up + 0.85 * (br_i - up)
            lids.append(np.concatenate([up, lid_top[::-1]]))
            # a thin band under the lower lash line, along the face's own "down" (rotated faces too)
            v = up[-1] - up[0]
            down = np.array([-v[1], v[0]]) / max(np.hypot(*v), 1e-6)
            down = down if down @ (mouth_c - up.mean(0)) > 0 else -down
            bands.append(np.concatenate([low, (low + UNDER_EYE * d * down)[::-1]]))
        # the band counts at UNDER_EYE_WEIGHT: a reference's lower liner should not read as a bruise
        eyes = np.maximum(_poly(shape, lids), UNDER_EYE_WEIGHT * _poly(shape, bands))
        eyes = np.clip(eyes - _grow(openings, 0.01 * d), 0, 1)
        if "eyes" in wanted:
            out["eyes"] = eyes
    brows = _grow(_poly(shape, [pick(RIGHT_BROW), pick(LEFT_BROW)]), 0.02 * d)
    if "brows" in wanted:
        out["brows"] = brows
    if "skin" in wanted:
        hole = np.maximum.reduce([_grow(openings, 0.03 * d), brows, _grow(_poly(shape, [pick(LIPS_OUTER)]), 0.02 * d)])
        oval = _poly(shape, [forehead_oval(p, d)])
        out["skin"] = np.clip(oval - hole, 0, 1)
    sig = feather * d
    if sig > 0.3:
        out = {k: cv2.GaussianBlur(v, (0, 0), sig) for k, v in out.items()}
    return out
