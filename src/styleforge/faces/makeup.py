"""Makeup by example and makeup removal, with no training: face mesh + regions + Lab layers.

Transfer (after Guo & Sim, "Digital Face Makeup by Example", CVPR 2009), for every face of the photo:

1. a working crop around the face (faces with an inter-ocular distance (IOD) above ``work_iod``
   pixels are processed downscaled; only the *change* is upscaled and added to the full-resolution
   photo, so the photo's own fine detail stays);
2. each reference face is warped onto the face's geometry, piecewise affine over a Delaunay
   triangulation of the 468 landmarks;
3. in CIE Lab, per region:

   * ``skin`` (foundation): a bounded share of the difference of the two mean skin tones (the
     person's own tone mostly stays) plus a bounded local low-frequency layer (normalised Gaussian,
     sigma 0.25 IOD, only where both faces show skin) — blush and contour move over, the face's
     texture and fine shading stay;
   * ``eyes`` (eye shadow, liner) and ``brows``: the same at a finer scale (0.05 / 0.04 IOD),
     relative to each face's mean skin tone, so the reference's shadow is drawn on top of the face's
     own skin (and on top of the foundation layer when both are chosen); shadow may lighten a lid only
     a little and brows are only darkened or tinted (bounds in ``LAYER_RANGE``);
   * ``lips``: the lightness is split into a structure layer (guided filter, edge-preserving) and a
     detail layer; the structure's and the colour's mean and spread inside the lips are matched to
     the reference lips (gloss highlights and lip lines stay, as they ride on the face's own layers);

4. several references mix with weights (layers and lip statistics are weighted averages); each region
   blends with its own strength through feathered masks (:mod:`.regions`).

Removal (:func:`remove`) pulls the eye-shadow area's low-frequency colour toward the person's own bare
skin around it (lightness half-way, so natural eye shading stays) and the lips toward a natural lip
colour derived from that skin (skin + a fixed pink offset), keeping texture; it cannot take off
foundation (nothing in one photo says what the bare skin looked like).
"""

from __future__ import annotations

__all__ = [
    "MakeupSpec",
    "Reference",
    "guided_filter",
    "parse_regions",
    "parse_strength",
    "piecewise_affine_map",
    "prepare_reference",
    "region_delta_masks",
    "remove",
    "transfer",
]

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InputError
from .detect import Face, FaceDetector
from .regions import REGIONS, inter_ocular, region_masks

#: How far (Lab units) the local skin layer may depart from the foundation tone shift.
SKIN_LOCAL = np.array([6.0, 5.0, 5.0], np.float32)
#: Foundation keeps the person's own skin tone mostly: this fraction of the difference between the two
#: mean skin colours (Lab) moves over, at most FOUNDATION_MAX — a foundation matches its wearer; turning
#: a darker face pale (or the reverse) is not makeup.
FOUNDATION_TONE = np.array([0.3, 0.5, 0.5], np.float32)
FOUNDATION_MAX = np.array([5.0, 6.0, 6.0], np.float32)
#: Bounds of the eye-shadow and brow layers (Lab). Shadow may lighten a lid a little (highlighter) but
#: not turn a deep-set, shaded eye into a pale patch; brow pencil darkens or tints, it cannot lighten hair.
LAYER_RANGE = {
    "eyes": (np.array([-40.0, -40.0, -40.0], np.float32), np.array([8.0, 40.0, 40.0], np.float32)),
    "brows": (np.array([-30.0, -10.0, -10.0], np.float32), np.array([0.0, 10.0, 10.0], np.float32)),
}
#: The skin (foundation) edge is this many times softer than the other regions' (no visible border).
SKIN_FEATHER = 4.0
#: A natural (bare) lip colour relative to the person's skin, in Lab: darker and redder.
BARE_LIP_OFFSET = np.array([-12.0, 14.0, 3.0], np.float32)


@dataclass(frozen=True)
class MakeupSpec:
    """How makeup is moved.

    Args:
        strength: per region in [0, 1]; regions not listed are left alone.
        feather: mask-edge softness, fraction of the IOD.
        work_iod: faces larger than this (IOD in pixels) are processed at this size.
    """

    strength: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(REGIONS, 1.0))
    feather: float = 0.03
    work_iod: float = 110.0

    def __post_init__(self) -> None:
        for k, v in self.strength.items():
            if k not in REGIONS:
                raise InputError(f"unknown region {k!r}; choose from {', '.join(REGIONS)}")
            if not 0.0 <= v <= 1.0:
                raise InputError(f"strength for {k} must be between 0 and 1, got {v}")
        if self.feather < 0 or self.work_iod <= 8:
            raise InputError("feather must be ≥ 0 and work_iod > 8")


def parse_regions(text: str | None) -> tuple[str, ...]:
    """``"lips,eyes"`` → ``("lips", "eyes")``; empty → all regions."""
    names = tuple(r.strip() for r in (text or "").split(",") if r.strip())
    for r in names:
        if r not in REGIONS:
            raise InputError(f"unknown region {r!r}; choose from {', '.join(REGIONS)}")
    return names or REGIONS


def parse_strength(text: str | float | None, regions: Sequence[str] = REGIONS) -> dict[str, float]:
    """``"0.8"`` or ``"lips=0.9,eyes=0.6"`` → strength per chosen region (unnamed chosen regions get 1,
    or the bare number if one is given)."""
    out = dict.fromkeys(regions, 1.0)
    if text is None or text == "":
        return out
    if isinstance(text, (int, float)):
        return dict.fromkeys(regions, float(text))
    default = None
    per: dict[str, float] = {}
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        key, eq, val = part.partition("=")
        try:
            if eq:
                k = key.strip()
                if k not in REGIONS:
                    raise InputError(f"unknown region {k!r} in --strength; choose from {', '.join(REGIONS)}")
                per[k] = float(val)
            else:
                default = float(part)
        except ValueError:
            raise InputError(f"--strength: {part!r} is not a number (use 0.8 or lips=0.9,eyes=0.6)") from None
    if default is not None:
        out = dict.fromkeys(regions, default)
    for k, v in per.items():
        if k in out or not regions:
            out[k] = v
    for k, v in out.items():
        if not 0.0 <= v <= 1.0:
            raise InputError(f"--strength for {k} must be between 0 and 1, got {v}")
    return out


# --------------------------------------------------------------------------- maths
def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (gray guide): edge-preserving smoothing of ``src``."""
    k = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, k, borderType=cv2.BORDER_REFLECT)

    mi, ms = box(guide), box(src)
    cov = box(guide * src) - mi * ms
    var = box(guide * guide) - mi * mi
    a = cov / (var + eps)
    b = ms - a * mi
    return box(a) * guide + box(b)


def _skin_like(lab: np.ndarray, mean: np.ndarray, tol: float = 8.0) -> np.ndarray:
    """1 at the skin mean, a Gaussian fall-off with sigma ``tol`` in chroma and ``2.5·tol`` in lightness."""
    dl = (lab[..., 0] - mean[0]) / (2.5 * tol)
    dc = np.hypot(lab[..., 1] - mean[1], lab[..., 2] - mean[2]) / tol
    return np.exp(-0.5 * (dl * dl + dc * dc)).astype(np.float32)


def _blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; wide kernels run on a downscaled copy (sigma ≥ 3 px there), which is what keeps
    the 0.25-IOD skin layer cheap on large faces."""
    if sigma <= 4:
        return cv2.GaussianBlur(x, (0, 0), sigma)
    h, w = x.shape[:2]
    f = sigma / 3.0
    small = cv2.resize(x, (max(1, round(w / f)), max(1, round(h / f))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _window(m: np.ndarray, margin: float) -> tuple[slice, slice] | None:
    """The bounding window of a mask's support grown by ``margin`` pixels (``None`` when empty)."""
    ys, xs = np.nonzero(m.any(1)), np.nonzero(m.any(0))
    if not len(ys[0]):
        return None
    g = int(np.ceil(margin))
    h, w = m.shape[:2]
    return slice(max(0, ys[0][0] - g), min(h, ys[0][-1] + g + 1)), slice(
        max(0, xs[0][0] - g), min(w, xs[0][-1] + g + 1)
    )


def _masked_blur(x: np.ndarray, m: np.ndarray, sigma: float) -> np.ndarray:
    """Normalised convolution: Gaussian mean of ``x`` over the mask's support (no leaking from outside)."""
    mm = _blur(m, sigma)
    xm = _blur(x * m[..., None], sigma)
    return xm / np.maximum(mm, 1e-4)[..., None]


def piecewise_affine_map(
    dst_pts: np.ndarray, src_pts: np.ndarray, shape: tuple[int, int], step: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense ``(map_x, map_y, inside)`` for ``cv2.remap``: each pixel of an ``shape`` image inside the
    triangulated hull of ``dst_pts`` goes to the same barycentric spot of the matching triangle of
    ``src_pts`` (Delaunay on ``dst_pts``); evaluated every ``step`` pixels and interpolated (exact
    up to the triangle edges, since the map is piecewise linear)."""
    from scipy.spatial import Delaunay

    h, w = shape
    tri = Delaunay(dst_pts[:, :2].astype(np.float64))
    gh, gw = -(-h // step), -(-w // step)
    off = (step - 1) / 2.0
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float64) * step + off
    q = np.stack([gx.ravel(), gy.ravel()], 1)
    s = tri.find_simplex(q)
    inside = s >= 0
    s0 = np.where(inside, s, 0)
    t = tri.transform[s0]
    b2 = np.einsum("nij,nj->ni", t[:, :2], q - t[:, 2])
    bary = np.concatenate([b2, 1 - b2.sum(1, keepdims=True)], 1)
    src = np.einsum("ni,nij->nj", bary, src_pts[:, :2].astype(np.float64)[tri.simplices[s0]])
    mx = src[:, 0].reshape(gh, gw).astype(np.float32)
    my = src[:, 1].reshape(gh, gw).astype(np.float32)
    ins = inside.reshape(gh, gw).astype(np.float32)
    if step > 1:
        big = (gw * step, gh * step)
        mx = cv2.resize(mx, big, interpolation=cv2.INTER_LINEAR)[:h, :w]
        my = cv2.resize(my, big, interpolation=cv2.INTER_LINEAR)[:h, :w]
        ins = cv2.resize(ins, big, interpolation=cv2.INTER_LINEAR)[:h, :w]
    return mx, my, ins >= 0.999


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)


def _rgb(lab: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)


# --------------------------------------------------------------------------- crops
@dataclass
class FaceCrop:
    """A face's working crop: ``rgb`` float32 [0, 1], ``lab``, ``points`` (468×2) in crop pixels,
    ``box`` ``(x0, y0, x1, y1)`` in the source image, ``iod`` in crop pixels."""

    rgb: np.ndarray
    lab: np.ndarray
    points: np.ndarray
    box: tuple[int, int, int, int]
    iod: float


def face_crop(image: np.ndarray, landmarks: np.ndarray | None, work_iod: float, margin: float = 0.25) -> FaceCrop:
    """The working crop of a face from its mesh ``landmarks`` (a face without them: ``ValueError``)."""
    if landmarks is None:
        raise ValueError("face_crop needs the face's mesh landmarks")
    h, w = image.shape[:2]
    p = landmarks[:, :2]
    lo, hi = p.min(0), p.max(0)
    pad = (hi - lo) * margin
    x0, y0 = np.floor(np.maximum(lo - pad, 0)).astype(int)
    x1, y1 = np.ceil(np.minimum(hi + pad, (w, h))).astype(int)
    if x1 - x0 < 8 or y1 - y0 < 8:
        raise InputError("face too small to process")
    s = min(1.0, work_iod / max(inter_ocular(landmarks), 1e-3))
    cw, ch = max(8, round((x1 - x0) * s)), max(8, round((y1 - y0) * s))
    roi = image[y0:y1, x0:x1]
    crop = roi if (cw, ch) == (x1 - x0, y1 - y0) else cv2.resize(roi, (cw, ch), interpolation=cv2.INTER_AREA)
    rgb = crop.astype(np.float32) / 255.0
    pts = (p - (x0, y0)) * ((cw / (x1 - x0)), (ch / (y1 - y0)))
    return FaceCrop(rgb, _lab(rgb), pts.astype(np.float32), (int(x0), int(y0), int(x1), int(y1)), inter_ocular(pts))


def _hard(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Binary support of unfeathered masks (the under-eye band, drawn at 0.6, is inside)."""
    return {k: (v > 0.3).astype(np.float32) for k, v in masks.items()}


def _mean_std(lab: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sel = lab[m > 0.5]
    if len(sel) < 4:
        return lab.reshape(-1, 3).mean(0), np.ones(3, np.float32)
    return sel.mean(0), sel.std(0) + 1e-3


@dataclass
class Reference:
    """A made-up reference face ready to transfer: its crop, hard region masks and statistics."""

    crop: FaceCrop
    masks: dict[str, np.ndarray]
    weight: float = 1.0
    skin_mean: np.ndarray = field(init=False)
    lips_stats: tuple[np.ndarray, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.skin_mean = _mean_std(self.crop.lab, self.masks["skin"])[0]
        self.lips_stats = _mean_std(self.crop.lab, self.masks["lips"])


def prepare_reference(
    image: np.ndarray,
    detector: FaceDetector,
    *,
    weight: float = 1.0,
    work_iod: float = 110.0,
    name: str = "the reference",
) -> Reference:
    """Find the reference's largest face (``InputError`` when there is none) and prepare it."""
    faces = [f for f in detector(image) if f.landmarks is not None]
    if not faces:
        raise InputError(f"no face found in {name}; nothing written")
    crop = face_crop(image, faces[0].landmarks, work_iod)
    return Reference(crop, _hard(region_masks(crop.points, crop.lab.shape[:2], REGIONS, feather=0.0)), weight)


def region_delta_masks(
    crop: FaceCrop, regions: Sequence[str], feather: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(soft, hard)`` masks of the regions (and skin, always needed for statistics) on a crop."""
    raw = region_masks(crop.points, crop.lab.shape[:2], set(regions) | {"skin"}, feather=0.0)
    hard = _hard(raw)
    soft = {}
    for k, v in raw.items():
        sig = feather * crop.iod * (SKIN_FEATHER if k == "skin" else 1.0)
        soft[k] = _blur(v, sig) if sig > 0.3 else v
    return soft, hard


def _transfer_face(crop: FaceCrop, refs: Sequence[Reference], spec: MakeupSpec) -> tuple[np.ndarray, np.ndarray]:
    """New Lab crop for one face and the blend mask (where it may differ)."""
    regions = [r for r, v in spec.strength.items() if v > 0]
    soft, hard = region_delta_masks(crop, regions, spec.feather)
    t = crop.lab
    d = crop.iod
    t_skin = _mean_std(t, hard["skin"])[0]
    total = sum(r.weight for r in refs)
    delta = {k: np.zeros_like(t) for k in ("skin", "eyes", "brows")}
    lip_mu = np.zeros(3, np.float32)
    lip_sd = np.zeros(3, np.float32)
    for ref in refs:
        w = ref.weight / total
        mx, my, inside = piecewise_affine_map(crop.points, ref.crop.points, t.shape[:2], step=4)
        warped = cv2.remap(ref.crop.lab, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        offset = ref.skin_mean - t_skin
        for k, sigma in (("skin", 0.25), ("eyes", 0.05), ("brows", 0.04)):
            if k not in regions:
                continue
            m = hard[k] * inside
            if k == "skin":
                # only where both faces show skin (not hair, a headband, glasses): foundation tone
                # (the shift of the mean skin colour) plus a bounded local layer (blush, contour)
                valid = m * _skin_like(t, t_skin) * _skin_like(warped, ref.skin_mean)
                local = _masked_blur(warped, valid, sigma * d) - _masked_blur(t, valid, sigma * d) - offset
                # fade the local layer where little of the neighbourhood was skin in both faces
                support = np.clip(_blur(valid, sigma * d) / np.maximum(_blur(m, sigma * d), 1e-4), 0, 1)
                tone = np.clip(offset * FOUNDATION_TONE, -FOUNDATION_MAX, FOUNDATION_MAX)
                diff = tone + np.clip(local, -SKIN_LOCAL, SKIN_LOCAL) * support[..., None]
                diff = diff * _skin_like(t, t_skin)[..., None]
                delta[k] += w * diff * (_blur(m, sigma * d) > 1e-3)[..., None]
            else:  # small regions: work in their window only
                win = _window(hard[k], 3 * sigma * d + 2)
                if win is None:
                    continue
                mw = m[win]
                diff = _masked_blur(warped[win], mw, sigma * d) - _masked_blur(t[win], mw, sigma * d) - offset
                lo, hi = LAYER_RANGE[k]
                delta[k][win] += w * np.clip(diff, lo, hi) * (_blur(mw, sigma * d) > 1e-3)[..., None]
        if "lips" in regions:
            mu, sd = ref.lips_stats
            lip_mu += w * mu
            lip_sd += w * sd
    out = t.copy()
    for k in ("skin", "eyes", "brows"):
        if k in regions:
            out += spec.strength[k] * soft[k][..., None] * delta[k]
    if "lips" in regions:
        out = _lips_to(out, t, hard["lips"], soft["lips"] * spec.strength["lips"], lip_mu, lip_sd, d)
    alpha = np.maximum.reduce([soft[k] * spec.strength[k] for k in regions] + [np.zeros(t.shape[:2], np.float32)])
    return out, alpha


def _lips_to(
    out: np.ndarray, t: np.ndarray, hard: np.ndarray, alpha: np.ndarray, mu_r: np.ndarray, sd_r: np.ndarray, iod: float
) -> np.ndarray:
    """Match the lips' structure-lightness and colour statistics to ``(mu_r, sd_r)``; blend by ``alpha``."""
    r = max(1, round(0.03 * iod))
    win = _window((alpha > 0) | (hard > 0), 4 * r + 2)
    if hard.sum() < 4 or win is None:
        return out
    tw = t[win]
    L = tw[..., 0] / 100.0
    structure = guided_filter(L, L, r, 1e-3) * 100.0
    detail = tw[..., 0] - structure
    base = np.concatenate([structure[..., None], tw[..., 1:]], -1)
    mu_t, sd_t = _mean_std(base, hard[win])
    ratio = np.clip(sd_r / sd_t, 0.5, 1.6)
    new = (base - mu_t) * ratio + mu_r
    new[..., 0] += detail
    a = alpha[win][..., None]
    out = out.copy()
    out[win] = out[win] * (1 - a) + new * a
    return out


def _paste(image: np.ndarray, crop: FaceCrop, new_lab: np.ndarray, alpha: np.ndarray, out: np.ndarray) -> None:
    """Add the crop's change (upscaled to the face's full resolution) to ``out`` in place.

    The change is rounded to int16 in the crop, warped (bilinear) only over the window that changes,
    and added in place with saturation, so a 12-MP photo costs one warp and one addition of the face
    area; pixels whose change is zero keep their exact bytes."""
    delta = (np.clip(_rgb(new_lab), 0, 1) - crop.rgb) * (alpha > 1e-3)[..., None] * 255.0
    x0, y0, x1, y1 = crop.box
    ys, xs = np.nonzero(np.abs(delta).max(-1) >= 0.5)
    if len(xs) == 0:
        return
    # the changed part of the crop, one crop pixel of margin, mapped to full-resolution pixels
    ch, cw = delta.shape[:2]
    sx, sy = (x1 - x0) / cw, (y1 - y0) / ch
    cx0, cy0 = max(0, xs.min() - 1), max(0, ys.min() - 1)
    cx1, cy1 = min(cw, xs.max() + 2), min(ch, ys.max() + 2)
    fx0, fy0 = x0 + int(np.floor(cx0 * sx)), y0 + int(np.floor(cy0 * sy))
    fx1, fy1 = min(x1, x0 + int(np.ceil(cx1 * sx))), min(y1, y0 + int(np.ceil(cy1 * sy)))
    d16 = np.round(delta).astype(np.int16)
    if (cw, ch) != (x1 - x0, y1 - y0):
        # full-res pixel centre u ↔ crop (u + 0.5) / s − 0.5: warp only the changed window
        m = np.array([[1 / sx, 0, (fx0 - x0 + 0.5) / sx - 0.5], [0, 1 / sy, (fy0 - y0 + 0.5) / sy - 0.5]], np.float32)
        d16 = cv2.warpAffine(
            d16,
            m,
            (fx1 - fx0, fy1 - fy0),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    else:
        d16 = d16[cy0:cy1, cx0:cx1]
        fx0, fy0, fx1, fy1 = x0 + cx0, y0 + cy0, x0 + cx1, y0 + cy1
    roi = out[fy0:fy1, fx0:fx1]
    cv2.add(roi, d16, dst=roi, dtype=cv2.CV_8U)  # in place, saturating; zero change keeps the bytes


def _faces(image: np.ndarray, detector: FaceDetector) -> list[Face]:
    return [f for f in detector(image) if f.landmarks is not None]


def transfer(
    image: np.ndarray, references: Sequence[Reference], spec: MakeupSpec = MakeupSpec(), *, detector: FaceDetector
) -> tuple[np.ndarray, list[Face]]:
    """Move the references' makeup onto every face of an RGB uint8 photo; returns ``(new, faces)``.
    Pixels outside the chosen regions are returned byte-for-byte unchanged."""
    if not references:
        raise InputError("give at least one --reference")
    faces = _faces(image, detector)
    out = image.copy()
    for f in faces:
        crop = face_crop(image, f.landmarks, spec.work_iod)
        new, alpha = _transfer_face(crop, references, spec)
        _paste(image, crop, new, alpha, out)
    return out, faces


def remove(
    image: np.ndarray, spec: MakeupSpec = MakeupSpec(), *, detector: FaceDetector
) -> tuple[np.ndarray, list[Face]]:
    """Training-free makeup removal (eye shadow and lipstick toward the person's own bare skin)."""
    faces = _faces(image, detector)
    out = image.copy()
    regions = [r for r in ("eyes", "lips") if spec.strength.get(r, 0) > 0]
    for f in faces:
        crop = face_crop(image, f.landmarks, spec.work_iod)
        soft, hard = region_delta_masks(crop, regions, spec.feather)
        t = crop.lab
        d = crop.iod
        new = t.copy()
        alpha = np.zeros(t.shape[:2], np.float32)
        if "eyes" in regions:
            skin_local = _masked_blur(t, hard["skin"], 0.3 * d)
            low = _masked_blur(t, hard["eyes"], 0.05 * d)
            pull = (skin_local - low) * np.array([0.5, 1.0, 1.0], np.float32)
            a = soft["eyes"] * spec.strength["eyes"]
            new += a[..., None] * pull
            alpha = np.maximum(alpha, a)
        if "lips" in regions:
            skin_mu = _mean_std(t, hard["skin"])[0]
            _, sd_t = _mean_std(t, hard["lips"])
            target_mu = skin_mu + BARE_LIP_OFFSET
            target_sd = sd_t * np.array([1.0, 0.7, 0.7], np.float32)
            a = soft["lips"] * spec.strength["lips"]
            new = _lips_to(new, t, hard["lips"], a, target_mu, target_sd, d)
            alpha = np.maximum(alpha, a)
        _paste(image, crop, new, alpha, out)
    return out, faces
