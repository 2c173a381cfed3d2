"""The palette pass: a per-style network's output given its painting's colours (numpy only).

The shipped per-style networks were trained for CPU minutes, and their colours are
the weakest part (a dark green sky for Starry Night, flat black shadows for The
Scream).  The pass corrects them after the network, in two closed-form steps:

1. the RGB mean and covariance of the output are mapped onto the painting's (the
   symmetric square-root map of :func:`styleforge.color.mean_cov_match`);
2. one WCT level at ``relu1_1`` (Li et al. 2017): the offline VGG16's first
   convolution, whitening of the output's 64 channels, colouring with the
   painting's, and the shipped WCT bundle's ``relu1_1`` decoder (one convolution,
   fitted to reconstruct).  As in :class:`styleforge.nets.wct.WCTNet`, the affine
   map is folded into the decoder; here the decoder's 3×3 taps are also applied
   after its channel projection (``f @ W`` once, then nine shifted adds), so the
   pass costs two small matrix products per pixel.

It needs no torch: the CLI's torch-free path and the video stylizer run it with
numpy, on images of any size (row strips), with the statistics taken on at most
16 384 pixels drawn at random (fixed seed).  The maths only: :mod:`.fastpath` finds a
network's painting and weights.  Measured in ``benchmarks/instant_quality.py`` (the
built-in table: each network with and without the pass); figures in the README.
"""

from __future__ import annotations

__all__ = [
    "ConvRunner",
    "Palette",
    "apply_palette",
    "encode",
    "encode_neighbourhoods",
    "graph_encoder",
    "moments",
    "neighbourhoods",
    "palette_from_painting",
    "pass_closed_forms",
    "pass_maps",
    "sym_power",
    "blas_threads",
    "single_threaded_blas",
]

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

#: Runs the pass's two convolutions on ``x`` ``(1, 3, H, W)`` RGB in [0, 1]: reflection pad → conv
#: ``enc`` (64×3×3×3, bias) → ReLU → reflection pad → conv ``dec`` (3×64×3×3, bias) → clip [0, 1]
#: (:func:`graph_encoder` gives ``enc`` for RGB input; the ONNX graph of :mod:`.lite` is one).
ConvRunner = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
#: The relu1_1 decoder's input scale (:attr:`styleforge.nets.wct.ReconDecoder.IN_SCALE`).
_IN_SCALE = 0.01
#: Statistics from at most this many pixels, drawn at random (64×64 moments need no more).
MAX_SAMPLES = 1 << 14
_EPS = 1e-5
_STRIP_PIXELS = 1 << 16  # pixels per strip of the full-size pass (its 64-channel features stay in cache)


@dataclass(frozen=True)
class Palette:
    """A painting's statistics and the weights of the pass (all float32 numpy arrays)."""

    rgb_mean: np.ndarray  # (3,)
    rgb_cov: np.ndarray  # (3, 3)
    feat_mean: np.ndarray  # (64,) relu1_1 of the painting
    feat_cov: np.ndarray  # (64, 64)
    enc_w: np.ndarray  # (64, 3, 3, 3) VGG16 conv1_1, caffe BGR input
    enc_b: np.ndarray  # (64,)
    dec_w: np.ndarray  # (3, 64, 3, 3) the WCT bundle's relu1_1 decoder
    dec_b: np.ndarray  # (3,)
    rgb_root: np.ndarray | None = None  # rgb_cov^½ (the colouring matrices, once per painting)
    feat_root: np.ndarray | None = None  # feat_cov^½


@lru_cache(maxsize=1)
def _openblas() -> Any:
    """numpy's bundled OpenBLAS (ctypes), or ``None`` (another BLAS, or not found)."""
    import ctypes
    import glob
    import os

    libs = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)  # the copy numpy already loaded (same path, same handle)
            get, put = lib.scipy_openblas_get_num_threads64_, lib.scipy_openblas_set_num_threads64_
        except (OSError, AttributeError):
            continue
        get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
        return get, put
    return None


def blas_threads() -> int | None:
    """The threads numpy's OpenBLAS uses now, or ``None`` when it is not OpenBLAS."""
    blas = _openblas()
    return None if blas is None else int(blas[0]())


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """numpy's BLAS on one thread inside the block (best effort; restored after).

    The pass's linear algebra is small (64×64 eigendecompositions, 16 k×64 moments); with
    OpenBLAS's threads waking next to onnxruntime's on two cores each call took ~50 ms
    instead of 0.3 ms (the whole CLI command 0.2 s slower).
    """
    blas = _openblas()
    if blas is None:
        yield
        return
    get, put = blas
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)


def _sample(h: int, w: int, max_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel rows and columns for the statistics: every pixel, or ``max_samples`` drawn at random.

    Random (fixed seed), not a regular grid: a grid's stride can alias with the regular
    stroke pattern a network paints, and bias the covariance.
    """
    if h * w <= max_samples:
        return np.divmod(np.arange(h * w), w)
    return np.divmod(np.random.default_rng(0).integers(0, h * w, max_samples), w)


def sym_power(cov: np.ndarray, power: float) -> np.ndarray:
    """``cov^power`` with the eigenvalue floor of :func:`styleforge.nets.wct.wct_affine`."""
    vals, vecs = np.linalg.eigh(cov.astype(np.float64) + _EPS * np.eye(cov.shape[0]))
    vals = np.maximum(vals, vals.max() * 1e-5 + _EPS)
    return (vecs * vals**power) @ vecs.T


def moments(rows: np.ndarray, *, in_place: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (biased) covariance of ``(N, C)`` rows (float32 products, float64 results);
    ``in_place``: ``rows`` (float32, a scratch array) is centred where it is."""
    mean = rows.mean(axis=0, dtype=np.float64)
    if in_place:
        rows -= mean.astype(np.float32)
        c = rows
    else:
        c = rows - mean.astype(np.float32)
    return mean, (c.T @ c).astype(np.float64) / max(1, len(rows))


def _caffe_values(rgb: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] (channels last) → caffe's BGR, 0–255, mean subtracted (float32)."""
    return rgb[..., ::-1].astype(np.float32) * 255.0 - _CAFFE_MEAN_BGR


def _relu1_1(patches: np.ndarray, p: Palette) -> np.ndarray:
    """conv1_1 + ReLU on ``(N, 27)`` tap-major patches of caffe values → ``(N, 64)``."""
    f = patches @ _enc_matrix(p)
    f += p.enc_b
    return np.maximum(f, 0.0, out=f)


def _caffe(img: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB in [0, 1] → caffe's BGR, 0–255, mean subtracted, reflection-padded by one pixel.

    Reflection, not zeros: a zero-padded conv1_1 gives the outer pixels other features,
    which the whitening–colouring turned into a frame (issue 25: border ratio 1.28 → ≤ 1.1).
    """
    x = _caffe_values(img)
    if min(x.shape[:2]) < 2:
        return np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
    return np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="reflect")


def _patches(xp: np.ndarray, rows: slice | np.ndarray, cols: slice | np.ndarray | None = None) -> np.ndarray:
    """3×3 neighbourhoods of the padded input → ``(N, 27)``, tap-major: at the pixels ``rows`` × ``cols``
    (slices), or at the points ``(rows[i], cols[i])`` (index arrays)."""
    if isinstance(rows, np.ndarray):
        assert isinstance(cols, np.ndarray)
        out = np.empty((len(rows), 9, 3), np.float32)
        for t in range(9):
            out[:, t] = xp[rows + t // 3, cols + t % 3]
        return out.reshape(-1, 27)
    h, w = xp.shape[0] - 2, xp.shape[1] - 2
    r0, r1, rs = rows.indices(h)
    c0, c1, cs = (cols if isinstance(cols, slice) else slice(None)).indices(w)
    taps = [xp[r0 + dy : r1 + dy : rs, c0 + dx : c1 + dx : cs] for dy in range(3) for dx in range(3)]
    grid = np.empty(taps[0].shape[:2] + (9, 3), np.float32)
    for t, a in enumerate(taps):
        grid[:, :, t] = a
    return grid.reshape(-1, 27)


def _enc_matrix(p: Palette) -> np.ndarray:
    """conv1_1 as a ``(27, 64)`` matrix over tap-major patches."""
    return np.ascontiguousarray(p.enc_w.transpose(2, 3, 1, 0).reshape(27, 64))


def encode(
    img: np.ndarray,
    p: Palette,
    rows: slice | np.ndarray = slice(None),
    cols: slice | np.ndarray | None = None,
    *,
    padded: np.ndarray | None = None,
) -> np.ndarray:
    """relu1_1 features of ``(H, W, 3)`` RGB in [0, 1] → ``(N, 64)``, at the pixels or points of
    :func:`_patches` (``padded``: ``img`` already through :func:`_caffe`)."""
    return _relu1_1(_patches(_caffe(img) if padded is None else padded, rows, cols), p)


def _stats(img: np.ndarray, p: Palette, max_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """RGB and relu1_1 (mean, covariance) of ``img`` (on :func:`_sample`'s pixels)."""
    ys, xs = _sample(img.shape[0], img.shape[1], max_samples)
    rm, rc = moments(img[ys, xs])
    fm, fc = moments(encode(img, p, ys, xs))
    return rm, rc, fm, fc


def palette_from_painting(
    painting: np.ndarray,
    enc: tuple[np.ndarray, np.ndarray],
    dec: tuple[np.ndarray, np.ndarray],
    max_samples: int = MAX_SAMPLES,
) -> Palette:
    """The pass for one painting (``(H, W, 3)`` RGB in [0, 1]) with conv1_1 ``enc`` and the relu1_1 decoder ``dec``."""
    f32 = [np.asarray(a, dtype=np.float32) for a in (*enc, *dec)]
    p = Palette(
        np.zeros(3, np.float32),
        np.eye(3, dtype=np.float32),
        np.zeros(64, np.float32),
        np.eye(64, dtype=np.float32),
        *f32,
    )
    with single_threaded_blas():
        rm, rc, fm, fc = _stats(painting, p, max_samples)
    rc32, fc32 = rc.astype(np.float32), fc.astype(np.float32)
    with single_threaded_blas():
        roots = sym_power(rc32, 0.5), sym_power(fc32, 0.5)
    return Palette(
        rm.astype(np.float32),
        rc32,
        fm.astype(np.float32),
        fc32,
        f32[0],
        f32[1],
        f32[2],
        f32[3],
        rgb_root=roots[0],
        feat_root=roots[1],
    )


def graph_encoder(p: Palette) -> tuple[np.ndarray, np.ndarray]:
    """conv1_1 for RGB input in [0, 1]: caffe's BGR flip, ×255 and mean folded into its weights and bias."""
    w = p.enc_w.astype(np.float64)[:, ::-1] * 255.0  # (64, 3 RGB, 3, 3)
    b = p.enc_b.astype(np.float64) - np.einsum(
        "ocij,c->o", p.enc_w.astype(np.float64), _CAFFE_MEAN_BGR.astype(np.float64)
    )
    return np.ascontiguousarray(w, dtype=np.float32), b.astype(np.float32)


def pass_maps(img: np.ndarray, p: Palette, max_samples: int = MAX_SAMPLES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pass's closed forms for ``img``: the RGB-mapped image and the decoder with the relu1_1 map folded in.

    Returns ``x`` ``(H, W, 3)`` (step 1, RGB mean and covariance → the painting's), and the
    decoder's weights ``(3, 64, 3, 3)`` and bias ``(3,)`` that decode ``A f + b`` from the
    relu1_1 features ``f`` of ``x`` (step 2).
    """
    with single_threaded_blas():
        return _pass_maps(img, p, max_samples)


def _pass_maps(img: np.ndarray, p: Palette, max_samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    h, w = img.shape[:2]
    # 1. RGB mean and covariance → the painting's
    ys, xs = _sample(h, w, max_samples)
    rm, rc = moments(img[ys, xs])
    rgb_root = p.rgb_root if p.rgb_root is not None else sym_power(p.rgb_cov, 0.5)
    a = rgb_root @ sym_power(rc, -0.5)
    x = ((img.reshape(-1, 3) - rm) @ a.T + p.rgb_mean).astype(np.float32).clip(0, 1).reshape(h, w, 3)
    # 2. relu1_1 whitening and colouring, folded into the decoder: t = A f + b
    _, _, fm, fc = _stats(x, p, max_samples)
    A = (p.feat_root if p.feat_root is not None else sym_power(p.feat_cov, 0.5)) @ sym_power(fc, -0.5)
    b = p.feat_mean - A @ fm
    dec = p.dec_w.astype(np.float64)  # (3, 64, 3, 3)
    weight = np.einsum("ojkl,ji->oikl", dec, A) * _IN_SCALE
    bias = p.dec_b + _IN_SCALE * dec.sum(axis=(2, 3)) @ b
    return x, weight.astype(np.float32), bias.astype(np.float32)


def neighbourhoods(h: int, w: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Flat indices ``(N, 9)`` into an ``(H, W)`` image of the 3×3 neighbourhoods (tap-major, reflected
    at the borders, as :func:`_caffe` pads) of the points ``(ys[i], xs[i])``; tap 4 is the point."""

    def reflect(i: np.ndarray, n: int) -> np.ndarray:
        i = np.abs(i)
        return np.where(i >= n, 2 * n - 2 - i, i)

    rows = [reflect(ys + d - 1, h) * w for d in range(3)]
    cols = [reflect(xs + d - 1, w) for d in range(3)]
    return np.stack([rows[t // 3] + cols[t % 3] for t in range(9)], axis=1)


def encode_neighbourhoods(nb: np.ndarray, p: Palette) -> np.ndarray:
    """relu1_1 features ``(N, 64)`` of ``(N, 9, 3)`` RGB 3×3 neighbourhoods in [0, 1] (tap-major, as
    :func:`neighbourhoods` gathers them): what :func:`encode` gives at those points."""
    return _relu1_1(_caffe_values(nb).reshape(-1, 27), p)


@lru_cache(maxsize=8)
def _neighbour_index(h: int, w: int, max_samples: int) -> np.ndarray:
    """:func:`neighbourhoods` of :func:`_sample`'s pixels: what :func:`_patches` reads from
    :func:`_caffe`'s padded copy."""
    idx = neighbourhoods(h, w, *_sample(h, w, max_samples))
    idx.flags.writeable = False
    return idx


def pass_closed_forms(
    y: np.ndarray, p: Palette, max_samples: int = MAX_SAMPLES
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`pass_maps` from the sampled pixels alone, for the network's output ``y`` ``(1, 3, H, W)``.

    Returns the RGB map ``x = clip(a y + c, 0, 1)`` as ``a`` ``(3, 3)`` and ``c`` ``(3,)``, and the
    decoder's weights ``(3, 64, 3, 3)`` and bias ``(3,)`` (as :func:`pass_maps`).  Nothing is computed
    at full size: the relu1_1 statistics of ``x`` come from ``y``'s reflection-padded neighbourhoods
    of the sampled pixels, mapped and clipped there (the values :func:`pass_maps` reads from its
    full-size ``x``).  The full-size work (the map, both convolutions) is the runtime graph's
    (:class:`styleforge.instant.lite.PassRunner`).  Needs ``H``, ``W`` ≥ 2.
    """
    with single_threaded_blas():
        return _pass_closed_forms(y, p, max_samples)


def _pass_closed_forms(
    y: np.ndarray, p: Palette, max_samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    h, w = y.shape[-2:]
    planes = y.reshape(3, h * w)
    idx = _neighbour_index(h, w, max_samples)  # (N, 9); tap 4 is the pixel itself
    nb = np.take(planes, idx, axis=1)  # (3, N, 9) (take: a third of fancy indexing's time)
    # 1. RGB mean and covariance → the painting's
    rm, rc = moments(np.ascontiguousarray(nb[:, :, 4].T))
    rgb_root = p.rgb_root if p.rgb_root is not None else sym_power(p.rgb_cov, 0.5)
    a = rgb_root @ sym_power(rc, -0.5)
    c = p.rgb_mean - a @ rm
    # 2. relu1_1 statistics of the mapped image, on the neighbourhoods of the same pixels
    a32, c32 = a.astype(np.float32), c.astype(np.float32)
    x = np.tensordot(a32, nb, axes=1)  # (3, N, 9): pass_maps' x there (in float32)
    x += c32[:, None, None]
    np.clip(x, 0.0, 1.0, out=x)
    enc_w, enc_b = _graph_encoder_cached(p)  # rows channel-major, as x's patches
    f = x.transpose(1, 0, 2).reshape(-1, 27) @ enc_w
    f += enc_b
    fm, fc = moments(np.maximum(f, 0.0, out=f), in_place=True)
    A = (p.feat_root if p.feat_root is not None else sym_power(p.feat_cov, 0.5)) @ sym_power(fc, -0.5)
    b = p.feat_mean - A @ fm
    dec = p.dec_w.astype(np.float64)
    weight = np.einsum("ojkl,ji->oikl", dec, A) * _IN_SCALE
    bias = p.dec_b + _IN_SCALE * dec.sum(axis=(2, 3)) @ b
    return a32, c32, weight.astype(np.float32), bias.astype(np.float32)


def _graph_encoder_cached(p: Palette) -> tuple[np.ndarray, np.ndarray]:
    """:func:`graph_encoder` as a ``(27, 64)`` matrix over channel-major RGB patches (row ``9·c + t``),
    and its bias (kept per palette)."""
    key = id(p.enc_w)
    hit = _ENC_CACHE.get(key)
    if hit is None or hit[0] is not p.enc_w:
        w, b = graph_encoder(p)
        hit = (p.enc_w, np.ascontiguousarray(w.transpose(1, 2, 3, 0).reshape(27, -1)), b)
        _ENC_CACHE.clear()
        _ENC_CACHE[key] = hit
    return hit[1], hit[2]


_ENC_CACHE: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def apply_palette(
    img: np.ndarray,
    p: Palette,
    *,
    max_samples: int = MAX_SAMPLES,
    strip: int | None = None,
    runner: ConvRunner | None = None,
) -> np.ndarray:
    """The pass on ``(H, W, 3)`` RGB in [0, 1] → the same shape, float32 in [0, 1] (``strip``: rows at a time).

    ``runner``: run the two full-size convolutions there (onnxruntime, :mod:`.lite`) instead of
    in numpy; the statistics and closed forms stay here.
    """
    img = np.ascontiguousarray(img, dtype=np.float32)
    h, w = img.shape[:2]
    strip = strip or max(8, _STRIP_PIXELS // max(1, w))
    if h < 3 or w < 3:
        return img.copy()
    x, weight, bias = pass_maps(img, p, max_samples)
    if runner is not None:
        enc_w, enc_b = graph_encoder(p)
        y = runner(np.ascontiguousarray(x.transpose(2, 0, 1)[None]), enc_w, enc_b, weight, bias)
        return np.ascontiguousarray(y[0].transpose(1, 2, 0))
    proj_all = weight.transpose(1, 2, 3, 0).reshape(64, 27).astype(np.float32)  # (64 in, tap-major 9 × 3 out)
    xp = _caffe(x)
    out = np.empty_like(x)
    for r0 in range(0, h, strip):
        r1 = min(h, r0 + strip)
        lo, hi = max(0, r0 - 1), min(h, r1 + 1)  # the decoder's 3×3 needs one feature row each side
        g = (encode(x, p, slice(lo, hi), padded=xp) @ proj_all).reshape(hi - lo, w, 9, 3)
        g = np.pad(g, ((1 if r0 == 0 else 0, 1 if r1 == h else 0), (1, 1), (0, 0), (0, 0)), mode="reflect")
        acc = np.zeros((r1 - r0, w, 3), np.float32)
        for t in range(9):
            dy, dx = divmod(t, 3)
            acc += g[dy : dy + r1 - r0, dx : dx + w, t]
        out[r0:r1] = acc + bias
    return out.clip(0, 1)
