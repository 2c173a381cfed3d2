"""The measure panel of ``instant_quality.py`` (issue 25): pure functions on RGB arrays.

None of these is optimised by a styleforge method (the VGG16 Gram and content losses of
:mod:`styleforge.instant.metrics` are, and stay in the panel beside them):

* :func:`texture_distance` — Portilla–Simoncelli texture statistics (plenoptic's steerable
  pyramid, no learned weights) of the luminance, output vs painting; lower is closer;
* :func:`colour_distance` — sliced Wasserstein-1 distance between the CIE Lab pixel clouds,
  output vs painting; lower is closer;
* :func:`edge_score` — Pearson correlation of the gradient magnitudes (luminance, Gaussian
  σ = 1 px) of the output and the photo; higher keeps more of the photo's structure;
* :func:`border_ratio` — (gradient energy of the outer 6 px ÷ the next 12 px) of the output,
  divided by the same ratio of the photo at the output's size; 1 = a border like the inside,
  > 1.1 a frame;
* :func:`stroke_scale` — the luminance autocorrelation length (pixels, at 512 px on the long
  side): the radius where the radially averaged autocorrelation falls to 1/2.

Images are ``H×W×3`` uint8 or float arrays in [0, 255] (or PIL images, see :func:`as_array`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

__all__ = [
    "MEASURES",
    "as_array",
    "border_ratio",
    "colour_distance",
    "edge_score",
    "luminance",
    "stats_distance",
    "stroke_scale",
    "texture_statistics",
    "texture_distance",
]

#: name -> True when higher is better
MEASURES = {"style": False, "content": False, "texture": False, "colour": False, "edges": True, "border": False}
TEXTURE_SIZE = 256
OUTER, NEXT = 6, 12


def as_array(img: Image.Image | np.ndarray, long_side: int | None = None) -> np.ndarray:
    """RGB float64 array in [0, 255], optionally resized (LANCZOS) to ``long_side`` px."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    img = img.convert("RGB")
    if long_side is not None and max(img.size) != long_side:
        k = long_side / max(img.size)
        img = img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float64)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma in [0, 1]."""
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114) / 255.0


def _resized(a: np.ndarray, w: int, h: int) -> np.ndarray:
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).resize((w, h), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float64)


def _gradient_energy(y: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(y)
    return gx * gx + gy * gy


def _band_ratio(y: np.ndarray, outer: int = OUTER, inner: int = NEXT) -> float:
    h, w = y.shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    dist = np.minimum(np.minimum(rows, h - 1 - rows), np.minimum(cols, w - 1 - cols))
    e = _gradient_energy(y)
    out_band, next_band = e[dist < outer], e[(dist >= outer) & (dist < outer + inner)]
    return float(out_band.mean() / max(next_band.mean(), 1e-12))


def border_ratio(output: np.ndarray, photo: np.ndarray) -> float:
    """(outer 6 px ÷ next 12 px gradient energy) of ``output`` over the same ratio of ``photo``.

    ``photo`` is resized to the output's size first.  1.0: the border is like the inside
    relative to the photo; above 1.1 the output carries a frame.
    """
    h, w = output.shape[:2]
    if photo.shape[:2] != (h, w):
        photo = _resized(photo, w, h)
    return _band_ratio(luminance(output)) / max(_band_ratio(luminance(photo)), 1e-12)


def edge_score(output: np.ndarray, photo: np.ndarray, sigma: float = 1.0) -> float:
    """Correlation (−1…1) of the gradient magnitudes of ``output`` and ``photo`` (output resized to the photo)."""
    h, w = photo.shape[:2]
    if output.shape[:2] != (h, w):
        output = _resized(output, w, h)
    mags = [ndimage.gaussian_gradient_magnitude(luminance(a), sigma) for a in (output, photo)]
    a, b = (m.ravel() - m.mean() for m in mags)
    return float(a @ b / max(np.sqrt((a @ a) * (b @ b)), 1e-12))


def _rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    return np.asarray(rgb2lab(np.clip(rgb / 255.0, 0, 1)), dtype=np.float64).reshape(-1, 3)


def colour_distance(
    output: np.ndarray, painting: np.ndarray, directions: int = 64, quantiles: int = 256, seed: int = 0
) -> float:
    """Sliced Wasserstein-1 distance (Lab units) between the two images' pixel colours.

    Each image larger than 256 px on its long side is reduced to 256 px; ``directions``
    fixed random unit vectors in Lab; per direction the mean absolute difference of
    ``quantiles`` quantiles.
    """
    a, b = (_rgb_to_lab(as_array(x, min(256, max(np.shape(x)[:2])))) for x in (output, painting))
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(directions, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    q = (np.arange(quantiles) + 0.5) / quantiles
    qa, qb = np.quantile(a @ d.T, q, axis=0), np.quantile(b @ d.T, q, axis=0)
    return float(np.abs(qa - qb).mean())


@lru_cache(maxsize=2)
def _ps_model(size: int) -> Any:
    import plenoptic as po

    return po.models.PortillaSimoncelli((size, size), n_scales=4, n_orientations=4, spatial_corr_width=7)


def _square_luma(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(h, w)
    crop = rgb[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return luminance(as_array(crop, size))


def texture_statistics(rgb: np.ndarray, size: int = TEXTURE_SIZE) -> dict[str, np.ndarray]:
    """Portilla–Simoncelli statistics of the luminance of the centre square at ``size`` px, by group."""
    import torch

    model = _ps_model(size)
    x = torch.from_numpy(_square_luma(rgb, size)).float()[None, None]
    with torch.no_grad():
        stats = model.convert_to_dict(model(x))
    return {k: v.detach().double().numpy().ravel() for k, v in stats.items()}


def texture_distance(output: np.ndarray, painting: np.ndarray, size: int = TEXTURE_SIZE) -> float:
    """Mean over the statistic groups of ‖s(output) − s(painting)‖ ÷ (‖s(painting)‖ + 0.01)."""
    return stats_distance(texture_statistics(output, size), texture_statistics(painting, size))


def stats_distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Distance of two :func:`texture_statistics` results (``b`` the reference), see :func:`texture_distance`."""
    dists = []
    for k in b:
        ok = np.isfinite(a[k]) & np.isfinite(b[k])
        dists.append(np.linalg.norm(a[k][ok] - b[k][ok]) / (np.linalg.norm(b[k][ok]) + 0.01))
    return float(np.mean(dists))


def stroke_scale(output: np.ndarray, long_side: int = 512, level: float = 0.5) -> float:
    """Luminance autocorrelation length in pixels (at ``long_side`` px): where it falls to ``level``."""
    y = luminance(as_array(output, long_side))
    y = y - y.mean()
    h, w = y.shape
    f = np.fft.rfft2(y, s=(2 * h, 2 * w))  # zero-padded: a linear, not circular, autocorrelation
    ac = np.fft.irfft2(np.abs(f) ** 2, s=(2 * h, 2 * w))
    ac = np.fft.fftshift(ac)
    ac /= max(ac[h, w], 1e-12)
    rows, cols = np.indices(ac.shape)
    r = np.hypot(rows - h, cols - w).astype(np.int64)
    radial = np.bincount(r.ravel(), ac.ravel()) / np.maximum(np.bincount(r.ravel()), 1)
    below = np.nonzero(radial < level)[0]
    if below.size == 0:
        return float(len(radial))
    i = int(below[0])
    r0, r1 = radial[i - 1], radial[i]  # linear interpolation between the two radii around the level
    return float(i - 1 + (r0 - level) / max(r0 - r1, 1e-12))
