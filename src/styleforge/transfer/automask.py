"""Automatic matched segmentation of a content photo and a style photo (no hand-drawn masks).

:func:`auto_masks` clusters the deep features of *both* photos jointly (offline
VGG16 ``relu3_1`` + ``relu4_1``, a little Lab colour and height in the image),
so a cluster id names the same kind of region in each (sky, buildings, people,
vegetation ...).  Clusters that are (almost) absent from the style photo give
their content pixels to the nearest remaining cluster; borders are snapped to
the photos' edges with a colour guided filter on the cluster probabilities.
The label maps plug into :func:`~styleforge.transfer.segmentation.pair_masks`
like parsed DPST masks.  :func:`matched_miou` compares two segmentations after
the best one-to-one matching of their labels.
"""

from __future__ import annotations

__all__ = ["AUTO_MASK_SIZE", "auto_masks", "kmeans", "matched_miou", "prepare_masks"]

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .segmentation import fit_labels, label_maps, work_size_of

LAYERS = ("relu3_1", "relu4_1")
COLOUR_WEIGHT = 0.0
PER_IMAGE = True
HEIGHT_WEIGHT = 0.3
DIMS = 8
#: Long side (px) at which :func:`prepare_masks` finds automatic masks.
AUTO_MASK_SIZE = 256


def kmeans(x: torch.Tensor, k: int, *, iters: int = 25, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means++ then Lloyd iterations on ``(N, D)`` rows; returns ``(labels (N,), centres (k, D))``."""
    g = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    centres = [x[torch.randint(n, (1,), generator=g)][0]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = d2 / d2.sum().clamp_min(1e-12)
        i = torch.multinomial(p, 1, generator=g)
        centres.append(x[i][0])
        d2 = torch.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    c = torch.stack(centres)
    labels = torch.zeros(n, dtype=torch.long)
    for _ in range(iters):
        labels = torch.cdist(x, c).argmin(1)
        new = torch.zeros_like(c).index_add_(0, labels, x)
        counts = torch.bincount(labels, minlength=k).to(x.dtype)[:, None]
        c = torch.where(counts > 0, new / counts.clamp_min(1), c)
    return labels, c


def _features(net: torch.nn.Module, img: torch.Tensor) -> torch.Tensor:
    """``(D, h, w)`` per-pixel descriptor at 1/4 of ``img``'s size."""
    from ..color import rgb_to_lab

    with torch.no_grad():
        feats = net(img, list(LAYERS))
    size = feats[LAYERS[0]].shape[-2:]
    parts = []
    for name in LAYERS:
        f = F.interpolate(feats[name], size=size, mode="bilinear", align_corners=False)[0]
        parts.append(f / f.norm(dim=0, keepdim=True).clamp_min(1e-6))
    lab = rgb_to_lab(F.interpolate(img.double(), size=size, mode="area")).float()[0]
    parts.append(lab * torch.tensor([0.5, 1.0, 1.0]).view(3, 1, 1) * (COLOUR_WEIGHT / 100.0))
    ys = torch.linspace(0, 1, size[0]).view(1, -1, 1).expand(1, *size)
    parts.append(HEIGHT_WEIGHT * ys)
    return torch.cat(parts)


def _snap(prob: torch.Tensor, guide: torch.Tensor, radius: int) -> np.ndarray:
    """Labels at ``guide``'s size from ``(k, h, w)`` cluster probabilities, borders on the guide's edges."""
    from .matting import guided_filter

    up = F.interpolate(prob[None], size=guide.shape[-2:], mode="bilinear", align_corners=False)
    sm = guided_filter(up.double(), guide.double(), radius=radius, eps=1e-2)
    return sm[0].argmax(0).numpy().astype(np.int64)


def auto_masks(
    content: torch.Tensor,
    style: torch.Tensor,
    *,
    segments: int = 3,
    net: torch.nn.Module | None = None,
    min_fraction: float = 0.02,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Matched label maps ``(content (H, W), style (Hs, Ws))`` with labels ``0..segments−1``.

    ``content``/``style`` are ``(1, 3, H, W)`` in [0, 1] (≈ 256 px is plenty).
    Every label of the content map is present in the style map.
    """
    if net is None:
        from ..backbones import build_backbone

        net = build_backbone("vgg16-offline", layers=LAYERS)
    fc, fs = _features(net, content.float()), _features(net, style.float())
    (d, hc, wc), (_, hs, ws) = fc.shape, fs.shape
    xc, xs = fc.reshape(d, -1).t().double(), fs.reshape(d, -1).t().double()
    if PER_IMAGE:  # remove each photo's own offset (lighting, colour cast) so clusters follow content, not photo
        xc = (xc - xc.mean(0)) / xc.std(0).clamp_min(1e-6)
        xs = (xs - xs.mean(0)) / xs.std(0).clamp_min(1e-6)
    x = torch.cat([xc, xs])
    mean = x.mean(0)
    u, s, v = torch.linalg.svd(x - mean, full_matrices=False)
    z = ((x - mean) @ v[: min(DIMS, d)].t()).float()
    labels, centres = kmeans(z, segments, seed=seed)
    ls = labels[hc * wc :]
    s_frac = torch.bincount(ls, minlength=segments).double() / ls.numel()
    keep = s_frac >= min_fraction
    if not bool(keep.any()):
        keep[s_frac.argmax()] = True
    dist = torch.cdist(z, centres)
    dist[:, ~keep] = float("inf")
    # soft assignments for the snapping (a sharp softmax of the negative distances)
    temp = dist[torch.isfinite(dist)].std().clamp_min(1e-6) * 0.25
    prob = torch.softmax(-dist / temp, dim=1)
    pc = prob[: hc * wc].t().reshape(segments, hc, wc)
    ps = prob[hc * wc :].t().reshape(segments, hs, ws)
    radius_c = max(2, round(max(content.shape[-2:]) / 64))
    radius_s = max(2, round(max(style.shape[-2:]) / 64))
    cl = _snap(pc, content[0:1], radius_c)
    sl = _snap(ps, style[0:1], radius_s)
    missing = set(np.unique(cl)) - set(np.unique(sl))
    if missing:  # a snapped content label vanished from the style: join the nearest remaining one
        present = sorted(set(np.unique(sl)))
        for k in missing:
            near = min(present, key=lambda j: float(((centres[k] - centres[j]) ** 2).sum()))
            cl[cl == k] = near
    return _relabel(cl, sl)


def _relabel(cl: np.ndarray, sl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber labels ``0..n−1`` by decreasing content area (stable, reproducible colours)."""
    ids, counts = np.unique(cl, return_counts=True)
    order = list(ids[np.argsort(-counts, kind="stable")]) + [k for k in np.unique(sl) if k not in ids]
    lut = np.full(max(int(cl.max()), int(sl.max())) + 1, -1, dtype=np.int64)
    for new, old in enumerate(order):
        lut[old] = new
    return lut[cl], lut[sl]


def matched_miou(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean IoU over ``truth``'s labels after the best one-to-one matching of ``pred``'s labels
    (Hungarian); a truth label left unmatched counts as 0."""
    from scipy.optimize import linear_sum_assignment

    if pred.shape != truth.shape:
        raise ValueError(f"shapes differ: {pred.shape} vs {truth.shape}")
    p_ids, t_ids = np.unique(pred), np.unique(truth)
    iou = np.zeros((len(t_ids), len(p_ids)))
    for i, t in enumerate(t_ids):
        tm = truth == t
        for j, p in enumerate(p_ids):
            pm = pred == p
            inter = np.logical_and(tm, pm).sum()
            iou[i, j] = inter / max(np.logical_or(tm, pm).sum(), 1)
    r, c = linear_sum_assignment(-iou)
    return float(iou[r, c].sum() / len(t_ids))


def prepare_masks(
    content: Image.Image,
    style: Image.Image,
    content_mask: Any = None,
    style_mask: Any = None,
    *,
    work_size: int | None = None,
    auto: bool = False,
    segments: int = 3,
    tolerance: float = 0.25,
    net: torch.nn.Module | None = None,
    what: tuple[str, str] = ("content mask", "style mask"),
) -> tuple[np.ndarray, np.ndarray] | None:
    """The photo modes' segment label maps, for the command line, the API and the web page alike.

    With both DPST colour masks (paths or PIL images): their parsed, paired label maps
    (:func:`~styleforge.transfer.segmentation.label_maps`).  Without masks and with ``auto``:
    :func:`auto_masks` of both photos at :data:`AUTO_MASK_SIZE` px.  Otherwise ``None``.
    The maps are at each photo's size brought down to ``work_size`` (the photo's own size
    when ``None``).  Bad masks raise :class:`~styleforge.errors.InputError` before any heavy work.
    """
    maps = label_maps(
        content.size, style.size, content_mask, style_mask, work_size=work_size, tolerance=tolerance, what=what
    )
    if maps is not None or not auto:
        return maps
    from ..io import pil_to_tensor, resize_max_side

    def small(img: Image.Image) -> torch.Tensor:
        return pil_to_tensor(resize_max_side(img.convert("RGB"), min(AUTO_MASK_SIZE, max(img.size))))

    cl, sl = auto_masks(small(content), small(style), segments=segments, net=net)
    (cw, ch), (sw, sh) = work_size_of(content.size, work_size), work_size_of(style.size, work_size)
    return fit_labels(cl, (ch, cw)), fit_labels(sl, (sh, sw))
