"""Matting Laplacian (Levin et al.), photorealism loss, closed-form smoothing, local affine fit.

The matting Laplacian ``L`` of an image ``I`` (Levin, Lischinski & Weiss,
*A closed-form solution to natural image matting*) has, for every ``3×3``
window ``w_k`` and every pair ``i, j`` in it, the contribution
``δ_ij − (1 + (I_i − μ_k)ᵀ (Σ_k + ε/|w_k| I₃)⁻¹ (I_j − μ_k)) / |w_k|``.
An output ``V`` that is *locally an affine function of the input's colours*
has ``Vᵀ L V ≈ 0``: this is Deep Photo Style Transfer's photorealism term.

Everything here is vectorised: window statistics come from numpy stride
tricks, the ``(4r+1)²`` non-zero bands of ``L`` are accumulated with array
slices and turned straight into CSR (no Python loop over pixels).

Functions:

- :func:`matting_laplacian` → ``scipy.sparse.csr_matrix`` (``HW × HW``);
  :func:`laplacian_for` caches it per content image and size and also gives
  the torch sparse version (:class:`Laplacian`).
- :func:`photorealism_loss` ``Σ_c V_cᵀ L V_c`` with the analytic gradient
  ``2 L V`` (works on CPU and CUDA tensors).
- :func:`smooth_exact` solves ``(I + α L̃) y = x`` (FastPhotoStyle's
  closed-form smoothing, ``L̃`` the normalised Laplacian); :func:`guided_filter`
  is the fast approximation.
- :func:`local_affine` is DPST's "smooth local affine" post-process.
"""

from __future__ import annotations

__all__ = [
    "Laplacian",
    "clear_cache",
    "guided_filter",
    "laplacian_for",
    "laplacian_nbytes",
    "local_affine",
    "matting_laplacian",
    "max_side_for_memory",
    "photorealism_loss",
    "smooth",
    "smooth_exact",
    "smoothing_matrix",
    "to_torch_csr",
    "window_counts",
]

import hashlib
import logging
import math
import os
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..errors import InputError
from .config import MATTING_EPS, SMOOTH_MODES

log = logging.getLogger(__name__)

EPS = MATTING_EPS  # DPST / Levin et al.
BYTES_PER_PIXEL_PER_BAND = 8 + 12 + 17 + 12  # bands f64, CSR (f64+i32), build temporaries, torch copy (f32+i64)


# --------------------------------------------------------------------------- memory


def laplacian_nbytes(height: int, width: int, radius: int = 1) -> int:
    """Estimated peak memory (bytes) to build the Laplacian of an ``H×W`` image
    and keep its scipy and torch copies."""
    bands = (4 * radius + 1) ** 2
    n = height * width
    window = (2 * radius + 1) ** 2
    chunk_vals = min(n, _CHUNK_PIXELS) * window * window * 8 * 3  # vals + 2 temporaries of one chunk
    return n * bands * BYTES_PER_PIXEL_PER_BAND + chunk_vals


def available_bytes() -> int:
    env = os.environ.get("STYLEFORGE_LAPLACIAN_MAX_BYTES")
    if env:
        return int(float(env))
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 * 3 // 4
    except OSError:
        pass
    return 8 << 30


def max_side_for_memory(height: int, width: int, budget: int, radius: int = 1) -> int:
    """The largest long side (same aspect ratio) whose Laplacian fits in ``budget`` bytes."""
    lo, hi = 8, max(height, width)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        k = mid / max(height, width)
        if laplacian_nbytes(max(1, round(height * k)), max(1, round(width * k)), radius) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_memory(height: int, width: int, radius: int = 1, budget: int | None = None) -> None:
    """Raise :class:`InputError` (saying which size fits) if the Laplacian would not fit."""
    budget = available_bytes() if budget is None else budget
    need = laplacian_nbytes(height, width, radius)
    if need > budget:
        fits = max_side_for_memory(height, width, budget, radius)
        raise InputError(
            f"the matting Laplacian of a {width}×{height} image needs ≈ {need / 2**30:.1f} GiB but only "
            f"{budget / 2**30:.1f} GiB is available: use an image size of at most {fits} px on the long side "
            f"(--image-size {fits}), or --smooth fast which needs no Laplacian"
        )


# --------------------------------------------------------------------------- construction

_CHUNK_PIXELS = 1 << 18  # window rows are processed in chunks of about this many windows


def _as_hwc(image: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu().double()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ValueError("one image at a time")
            t = t[0]
        if t.dim() == 3 and t.shape[0] in (1, 3) and t.shape[-1] not in (1, 3):
            t = t.permute(1, 2, 0)
        elif t.dim() == 3 and t.shape[0] in (1, 3) and t.shape[-1] in (1, 3) and t.shape[0] != t.shape[-1]:
            t = t.permute(1, 2, 0)
        arr = t.numpy()
    else:
        arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ValueError(f"expected an (H, W, C) image, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def band_offsets(radius: int = 1) -> list[tuple[int, int]]:
    """The ``(dy, dx)`` offsets of the non-zero bands of ``L``, in CSR column order."""
    d = 2 * radius
    return [(dy, dx) for dy in range(-d, d + 1) for dx in range(-d, d + 1)]


def _inv_sym(m: np.ndarray) -> np.ndarray:
    """Inverse of a stack of symmetric 3×3 matrices (adjugate formula, vectorised)."""
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 1], m[..., 1, 2], m[..., 2, 2]
    A = d * f - e * e
    B = c * e - b * f
    C = b * e - c * d
    D = a * f - c * c
    E = b * c - a * e
    G = a * d - b * b
    det = a * A + b * B + c * C
    out = np.stack([A, B, C, B, D, E, C, E, G], axis=-1).reshape(m.shape)
    return out / det[..., None, None]


def laplacian_bands(image: np.ndarray | torch.Tensor, eps: float = EPS, radius: int = 1) -> np.ndarray:
    """The matting Laplacian as ``(B, H, W)`` bands: ``band[b, y, x] = L[(y, x), (y, x) + offsets[b]]``.

    ``image`` is ``(H, W, C)`` in [0, 1] (numpy) or a ``(1, C, H, W)`` tensor.
    """
    img = _as_hwc(image)
    h, w, c = img.shape
    k = 2 * radius + 1
    n = k * k
    offsets = band_offsets(radius)
    index = {o: i for i, o in enumerate(offsets)}
    aff = np.zeros((len(offsets), h, w))  # the affinity W, accumulated per band
    if h < k or w < k:
        raise InputError(f"image too small for the matting Laplacian ({w}×{h}, needs ≥ {k}×{k})")
    hc, wc = h - k + 1, w - k + 1
    chw = np.ascontiguousarray(img.transpose(2, 0, 1))  # (C, H, W)
    pos = [(a // k, a % k) for a in range(n)]
    rows_per_chunk = max(1, _CHUNK_PIXELS // max(wc, 1))
    reg = (eps / n) * np.eye(c)
    for y0 in range(0, hc, rows_per_chunk):
        y1 = min(hc, y0 + rows_per_chunk)
        # the window's pixel a of every window centre in rows y0..y1: plain slices, (C, h', Wc) each
        wi = [chw[:, y0 + ya : y1 + ya, xa : xa + wc] for ya, xa in pos]
        mu = sum(wi) / n
        d = [x - mu for x in wi]
        cov = np.empty((y1 - y0, wc, c, c))
        for i in range(c):
            for j in range(i, c):
                cov[..., i, j] = cov[..., j, i] = sum(x[i] * x[j] for x in d) / n
        inv = _inv_sym(cov + reg) if c == 3 else np.linalg.inv(cov + reg)
        inv = np.ascontiguousarray(inv.transpose(2, 3, 0, 1))  # (C, C, h', Wc)
        xs = [np.einsum("ipq,ijpq->jpq", x, inv) for x in d]  # (I_a − μ)ᵀ (Σ + ε/n)⁻¹
        for a, (ya, xa) in enumerate(pos):
            for b in range(a, n):
                yb, xb = pos[b]
                v = (1.0 + np.einsum("jpq,jpq->pq", xs[a], d[b])) / n
                aff[index[(yb - ya, xb - xa)], y0 + ya : y1 + ya, xa : xa + wc] += v
                if b != a:  # symmetric pair: W_ba = W_ab, stored on pixel b's row
                    aff[index[(ya - yb, xa - xb)], y0 + yb : y1 + yb, xb : xb + wc] += v
    lap = -aff
    centre = index[(0, 0)]
    lap[centre] += aff.sum(axis=0)  # degree: Σ_j W_ij (= number of windows containing i)
    return lap


def _bands_to_csr(bands: np.ndarray, radius: int = 1) -> sp.csr_matrix:
    nb, h, w = bands.shape
    offsets = band_offsets(radius)
    idx_dtype = np.int32 if h * w * nb < 2**31 else np.int64
    dy = np.array([o[0] for o in offsets])
    dx = np.array([o[1] for o in offsets])
    ys, xs = np.arange(h), np.arange(w)
    vy = ((ys[:, None] + dy[None]) >= 0) & ((ys[:, None] + dy[None]) < h)  # (H, B)
    vx = ((xs[:, None] + dx[None]) >= 0) & ((xs[:, None] + dx[None]) < w)  # (W, B)
    valid = (vy[:, None, :] & vx[None, :, :]).reshape(-1)
    cols = (np.arange(h * w, dtype=idx_dtype)[:, None] + (dy * w + dx).astype(idx_dtype)[None]).reshape(-1)
    data = np.ascontiguousarray(np.moveaxis(bands, 0, -1)).reshape(-1)
    counts = (vy[:, None, :] & vx[None, :, :]).sum(axis=2).reshape(-1)
    indptr = np.zeros(h * w + 1, dtype=idx_dtype)
    np.cumsum(counts, out=indptr[1:])
    return sp.csr_matrix((data[valid], cols[valid], indptr), shape=(h * w, h * w))


def matting_laplacian(
    image: np.ndarray | torch.Tensor, eps: float = EPS, radius: int = 1, *, check: bool = True
) -> sp.csr_matrix:
    """Levin et al.'s matting Laplacian of ``image`` as a ``(HW, HW)`` CSR matrix.

    Pixels are numbered row-major (``y · W + x``).  ``L`` is symmetric,
    positive semi-definite and its rows sum to 0 (constant images are in its
    null space).

    Example:
        >>> img = np.random.default_rng(0).random((6, 5, 3))
        >>> L = matting_laplacian(img)
        >>> L.shape, bool(abs(L.sum(axis=1)).max() < 1e-9)
        ((30, 30), True)
    """
    img = _as_hwc(image)
    if check:
        check_memory(img.shape[0], img.shape[1], radius)
    return _bands_to_csr(laplacian_bands(img, eps, radius), radius)


# --------------------------------------------------------------------------- cache + torch


def to_torch_csr(
    mat: sp.csr_matrix, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
        t = torch.sparse_csr_tensor(
            torch.from_numpy(mat.indptr.astype(np.int64)),
            torch.from_numpy(mat.indices.astype(np.int64)),
            torch.from_numpy(mat.data).to(dtype),
            size=mat.shape,
            check_invariants=False,
        )
    return t.to(device)


@dataclass
class Laplacian:
    """A matting Laplacian with its torch copies (one per device, built on demand)."""

    csr: sp.csr_matrix
    size: tuple[int, int]  # (H, W)
    _torch: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    def torch(self, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``L`` as a torch sparse CSR tensor on ``device``."""
        key = f"{torch.device(device)}:{dtype}"
        if key not in self._torch:
            self._torch[key] = to_torch_csr(self.csr, device, dtype)
        return self._torch[key]


_CACHE: OrderedDict[tuple, Laplacian] = OrderedDict()
_CACHE_SIZE = 4


def _key(image: torch.Tensor, eps: float, radius: int) -> tuple:
    arr = (image.detach().cpu().float().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return (hashlib.sha1(arr.tobytes()).hexdigest(), tuple(image.shape), eps, radius)


def laplacian_for(image: torch.Tensor, eps: float = EPS, radius: int = 1) -> Laplacian:
    """The (cached) matting Laplacian of a ``(1, 3, H, W)`` image in [0, 1].

    The cache holds the last few images by content hash and size, so the
    stages and the smoothing of one run build it once.
    """
    key = _key(image, eps, radius)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    h, w = image.shape[-2:]
    lap = Laplacian(matting_laplacian(image, eps, radius), (int(h), int(w)))
    _CACHE[key] = lap
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return lap


def clear_cache() -> None:
    """Forget the cached Laplacians."""
    _CACHE.clear()


class _Quadratic(torch.autograd.Function):
    """``Σ_c V_cᵀ L V_c`` with gradient ``2 L V`` (``L`` symmetric)."""

    @staticmethod
    def forward(ctx, v: torch.Tensor, lap: torch.Tensor) -> torch.Tensor:
        lv = torch.sparse.mm(lap, v) if lap.layout != torch.strided else lap @ v
        ctx.save_for_backward(lv)
        return (v * lv).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (lv,) = ctx.saved_tensors
        return 2.0 * grad * lv, None


def photorealism_loss(image: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
    """DPST's photorealism term ``Σ_c V_c[O]ᵀ L V_c[O]`` of a ``(1, C, H, W)`` image.

    ``laplacian`` is ``(HW, HW)`` (torch sparse CSR/COO or dense) on the image's
    device.  With ``V`` in [0, 1] this is DPST's scale: its λ = 10⁴ keeps its
    meaning next to neural-style's content and style losses.
    """
    n, c, h, w = image.shape
    if n != 1:
        raise ValueError("photorealism_loss takes one image")
    v = image[0].reshape(c, h * w).t()  # (HW, C)
    if laplacian.dtype != v.dtype:
        laplacian = laplacian.to(v.dtype)
    return _Quadratic.apply(v, laplacian)


# --------------------------------------------------------------------------- smoothing


def window_counts(height: int, width: int, radius: int = 1) -> np.ndarray:
    """Number of ``(2r+1)²`` windows containing each pixel (the affinity's row sums), flattened."""

    def count(n: int) -> np.ndarray:
        i = np.arange(n)
        lo, hi = radius, n - 1 - radius
        return np.clip(i + radius, lo, hi) - np.clip(i - radius, lo, hi) + 1

    return np.outer(count(height), count(width)).ravel().astype(np.float64)


_DEGREE = 9.0  # windows per interior pixel (3×3): D of the affinity away from the border


def smoothing_matrix(guide: torch.Tensor, alpha: float = 1e4, eps: float = EPS) -> sp.csr_matrix:
    """``I + (α/9) L`` for the (cached) matting Laplacian ``L`` of ``guide``.

    FastPhotoStyle solves ``(I + α D^-½ L D^-½) y = x``; inside the image
    ``D = 9``, so the two agree there, but only the unnormalised form keeps
    constant images exactly constant up to the border.
    """
    h, w = guide.shape[-2:]
    lap = laplacian_for(guide, eps).csr
    return (sp.identity(int(h) * int(w), format="csr") + (alpha / _DEGREE) * lap).tocsr()


def smooth_exact(
    image: torch.Tensor,
    guide: torch.Tensor,
    *,
    alpha: float = 1e4,
    method: str = "auto",
    tol: float = 1e-3,
    max_iter: int = 1000,
    eps: float = EPS,
) -> torch.Tensor:
    """FastPhotoStyle's closed-form smoothing: solve ``(I + α L/9) y = x`` per channel.

    ``L`` is the matting Laplacian of ``guide`` (the content photo), so ``y``
    stays close to ``x`` while pixels with similar guide colours in a
    neighbourhood get similar outputs.  ``α = β/(1−β)`` on FastPhotoStyle's
    scale (its normalised Laplacian ``D^-½ L D^-½`` is ``L/9`` inside the
    image): the default ``10⁴`` is its ``β = 0.9999``.

    Args:
        image: ``(1, 3, H, W)`` in [0, 1], the image to smooth (resized to the guide).
        guide: ``(1, 3, H, W)`` in [0, 1], the content photo; its device picks the solver.
        method: ``"direct"`` (scipy sparse LU, exact), ``"amg"`` (conjugate gradient with
            pyamg's smoothed-aggregation preconditioner, near-null space {1, R, G, B}),
            ``"cg"`` (Jacobi-preconditioned conjugate gradient in torch, started from the
            guided filter, stops at relative residual ``tol``; fast on a GPU) or ``"auto"``
            (cg on GPU, direct on CPU).
    Returns:
        ``(1, 3, H, W)`` in [0, 1] on ``image``'s device.
    """
    h, w = (int(v) for v in guide.shape[-2:])
    x = _fit(image, (h, w)).to(guide.device)
    if method == "auto":
        method = _default_solver(guide.device.type)
    a = smoothing_matrix(guide, alpha, eps)
    if method == "amg":
        out = _amg_solve(a, x, guide, tol, max_iter).reshape(1, 3, h, w)
    elif method == "direct":
        import scipy.sparse.linalg as spla

        rhs = x[0].detach().cpu().double().reshape(3, h * w).t().numpy()  # (HW, 3)
        lu = spla.splu(a.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        out = torch.from_numpy(lu.solve(rhs).T.reshape(1, 3, h, w).copy())
    elif method == "cg":
        out = _pcg(a, x, guided_filter(x, guide), tol, max_iter).reshape(1, 3, h, w)
    else:
        raise InputError(f"unknown smoothing solver {method!r}; choose auto, amg, direct or cg")
    return out.to(image.dtype).clamp(0, 1).to(image.device)


def _default_solver(device_type: str) -> str:
    """``cg`` on a GPU, the sparse LU on CPU: measured (``benchmarks/photo_speed.py``) faster on CPU
    than pyamg's preconditioned CG, at 256 px (0.95 vs 2.0 s CPU) and at 800×533 (32 vs 37 s CPU)."""
    return "direct" if device_type == "cpu" else "cg"


def _amg_solve(a: sp.csr_matrix, b: torch.Tensor, guide: torch.Tensor, tol: float, max_iter: int) -> torch.Tensor:
    """Conjugate gradient preconditioned by pyamg's smoothed-aggregation multigrid; returns ``(3, HW)``.

    The near-null space handed to the aggregation is ``{1, R, G, B}`` of the guide:
    the matting Laplacian annihilates exactly the locally affine functions of the
    guide's colours, so these are the smooth error modes the coarse levels must
    represent (with constants alone CG needs > 100 iterations, with them ≈ 50).
    Started from the guided filter; stops at relative residual ``tol·10⁻²``
    (the solution then agrees with the sparse LU to ≈ ``tol``).
    """
    import pyamg

    g = guide[0].detach().cpu().double().reshape(3, -1).t().numpy()
    near_null = np.hstack([np.ones((g.shape[0], 1)), g])
    ml = pyamg.smoothed_aggregation_solver(a, B=near_null, symmetry="symmetric", smooth=None, max_coarse=500)
    rhs = b[0].detach().cpu().double().reshape(3, -1).t().numpy()
    x0 = guided_filter(b, guide)[0].detach().cpu().double().reshape(3, -1).t().numpy()
    cols = [ml.solve(rhs[:, c], x0=x0[:, c], tol=tol * 1e-2, accel="cg", maxiter=max_iter) for c in range(3)]
    return torch.from_numpy(np.stack(cols)).float()


def _pcg(a: sp.csr_matrix, b: torch.Tensor, x0: torch.Tensor, tol: float, max_iter: int) -> torch.Tensor:
    """Jacobi-preconditioned CG for the 3 channels at once; returns ``(3, HW)``."""
    dev = b.device
    dtype = torch.float64 if dev.type == "cpu" else torch.float32
    mat = to_torch_csr(a, dev, dtype)
    dinv = torch.from_numpy(1.0 / a.diagonal()).to(device=dev, dtype=dtype)[:, None]
    rhs = b[0].reshape(3, -1).t().to(dtype).contiguous()
    x = x0[0].reshape(3, -1).t().to(dtype).contiguous()
    r = rhs - mat @ x
    z = dinv * r
    p = z.clone()
    rz = (r * z).sum(0)
    bn = rhs.norm(dim=0).clamp_min(1e-12)
    for _ in range(max_iter):
        if float((r.norm(dim=0) / bn).max()) < tol:
            break
        ap = mat @ p
        step = rz / (p * ap).sum(0)
        x += step * p
        r -= step * ap
        z = dinv * r
        rz_new = (r * z).sum(0)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x.t().float()


def _fit(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    hw = (int(size[0]), int(size[1]))
    if tuple(image.shape[-2:]) == hw:
        return image
    return F.interpolate(image, size=hw, mode="bilinear", align_corners=False, antialias=True)


def _inv3(m: torch.Tensor) -> torch.Tensor:
    """Inverse of ``(..., 3, 3)`` symmetric matrices (adjugate formula, vectorised)."""
    a, b, c = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    d, e, f = m[..., 1, 1], m[..., 1, 2], m[..., 2, 2]
    A, B, C = d * f - e * e, c * e - b * f, b * e - c * d
    D, E, G = a * f - c * c, b * c - a * e, a * d - b * b
    det = a * A + b * B + c * C
    return torch.stack([A, B, C, B, D, E, C, E, G], dim=-1).reshape(m.shape) / det[..., None, None]


def affine_fit(
    out: torch.Tensor, guide: torch.Tensor, radius: int, reg: float, *, per_pixel_reg: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-window least-squares affine map ``guide → out``: ``out ≈ A guide + b``.

    ``out``/``guide`` are ``(C, H, W)`` / ``(3, H, W)``; returns ``A`` ``(C, 3, H, W)``
    and ``b`` ``(C, H, W)`` for the window centred on each pixel (clipped at the
    border).  The ridge is ``reg`` on the covariance (guided filter), or
    ``reg / n`` (DPST's ridge on the window sums) when ``per_pixel_reg``.
    """
    h, w = guide.shape[-2:]
    cp = out.shape[0]
    mean_i = box_mean(guide[None], radius)[0]
    mean_p = box_mean(out[None], radius)[0]
    ii = torch.stack([guide[a] * guide[b] for a in range(3) for b in range(3)])
    ip = torch.stack([guide[a] * out[b] for a in range(3) for b in range(cp)])
    boxes = box_mean(torch.cat([ii, ip])[None], radius)[0]
    cov_ii = boxes[:9] - (mean_i[:, None] * mean_i[None, :]).reshape(9, h, w)
    cov_ip = boxes[9:] - (mean_i[:, None] * mean_p[None, :]).reshape(3 * cp, h, w)
    if per_pixel_reg:
        k = 2 * radius + 1
        ones = torch.ones(1, 1, h, w, dtype=guide.dtype, device=guide.device)
        n = F.avg_pool2d(F.pad(ones, (radius,) * 4), k, stride=1)[0, 0] * (k * k)
        eps = reg / n
    else:
        eps = torch.full((h, w), reg, dtype=guide.dtype, device=guide.device)
    sig = cov_ii.reshape(3, 3, h, w).permute(2, 3, 0, 1) + eps[..., None, None] * torch.eye(
        3, dtype=guide.dtype, device=guide.device
    )
    inv = _inv3(sig)  # (H, W, 3, 3)
    a = torch.einsum("hwij,jchw->cihw", inv, cov_ip.reshape(3, cp, h, w))  # (Cp, 3, H, W)
    b = mean_p - torch.einsum("cihw,ihw->chw", a, mean_i)
    return a, b


def box_mean(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a ``(2r+1)²`` window, windows clipped at the border (cumulative sums)."""
    h, w = x.shape[-2:]
    c = torch.cumsum(torch.cumsum(F.pad(x, (1, 0, 1, 0)), dim=-2), dim=-1)
    ys = torch.arange(h, device=x.device)
    xs = torch.arange(w, device=x.device)
    y0, y1 = (ys - r).clamp(0, h), (ys + r + 1).clamp(0, h)
    x0, x1 = (xs - r).clamp(0, w), (xs + r + 1).clamp(0, w)
    s = (
        c[..., y1[:, None], x1[None, :]]
        - c[..., y0[:, None], x1[None, :]]
        - c[..., y1[:, None], x0[None, :]]
        + c[..., y0[:, None], x0[None, :]]
    )
    area = ((y1 - y0)[:, None] * (x1 - x0)[None, :]).to(x.dtype)
    return s / area


def guided_filter(
    image: torch.Tensor, guide: torch.Tensor, radius: int | None = None, eps: float = 1e-3
) -> torch.Tensor:
    """He et al.'s colour guided filter: ``image`` made locally affine in ``guide``'s colours.

    The fast alternative to :func:`smooth_exact` (FastPhotoStyle's ``--fast``).
    ``radius`` defaults to about 1/25 of the long side (35 px at 900 px).
    """
    h, w = guide.shape[-2:]
    if radius is None:
        radius = max(2, round(max(h, w) / 25))
    p = _fit(image, (h, w)).to(guide.device).double()[0]
    g = guide.double()[0]
    a, b = affine_fit(p, g, radius, eps, per_pixel_reg=False)
    cp = p.shape[0]
    a_m = box_mean(a.reshape(1, cp * 3, h, w), radius)[0].reshape(cp, 3, h, w)
    b_m = box_mean(b[None], radius)[0]
    q = torch.einsum("cihw,ihw->chw", a_m, g) + b_m
    return q[None].clamp(0, 1).to(image.dtype).to(image.device)


def local_affine(
    image: torch.Tensor,
    guide: torch.Tensor,
    *,
    f_radius: int = 7,
    f_edge: float = 0.05,
    patch: int = 3,
    reg: float = 1e-3,
) -> torch.Tensor:
    """DPST's "smooth local affine" post-process.

    For every pixel, fit the affine colour map ``guide → image`` over a
    ``patch×patch`` window (ridge ``reg`` on the window sums, as DPST), smooth
    the 12 coefficients with a joint bilateral filter guided by ``guide``
    (radius ``f_radius``, spatial σ = ``f_radius/3``, colour σ = ``f_edge``),
    and apply them to ``guide``.  The result is, pixel by pixel, an affine
    function of the content, so it keeps the content's edges exactly.
    """
    h, w = guide.shape[-2:]
    out = _fit(image, (h, w)).to(guide.device).double()[0]
    g = guide.double()[0]
    a, b = affine_fit(out, g, (patch - 1) // 2, reg, per_pixel_reg=True)
    coef = torch.cat([a.reshape(9, h, w), b]).float()
    sm = _joint_bilateral(coef, guide[0].float(), f_radius, f_radius / 3.0, f_edge).double()
    y = torch.einsum("cihw,ihw->chw", sm[:9].reshape(3, 3, h, w), g) + sm[9:]
    return y[None].clamp(0, 1).to(image.dtype).to(image.device)


def _joint_bilateral(x: torch.Tensor, guide: torch.Tensor, radius: int, sigma_s: float, sigma_r: float) -> torch.Tensor:
    """Joint bilateral filter of ``(C, H, W)`` maps, weights from a ``(3, H, W)`` guide.

    Offsets whose spatial weight is below 1 % (outside the disc of radius
    ``σ_s·√(2 ln 100)``) are skipped; everything else is accumulated in place.
    """
    c, h, w = x.shape
    pad = radius
    xp = F.pad(x[None], (pad, pad, pad, pad))[0]
    gp = F.pad(guide[None], (pad, pad, pad, pad), mode="replicate")[0]
    valid = F.pad(torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device), (pad, pad, pad, pad))[0, 0]
    acc = torch.zeros_like(x)
    wsum = torch.zeros(h, w, dtype=x.dtype, device=x.device)
    inv_s = 1.0 / (2 * sigma_s * sigma_s)
    inv_r = 1.0 / (2 * sigma_r * sigma_r) / guide.shape[0]
    cutoff = math.log(100.0) / inv_s
    diff = torch.empty(h, w, dtype=x.dtype, device=x.device)
    buf = torch.empty_like(guide)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dx * dx + dy * dy > cutoff:
                continue
            ys, xs = pad + dy, pad + dx
            gs = gp[:, ys : ys + h, xs : xs + w]
            torch.sub(gs, guide, out=buf)
            torch.sum(buf.square_(), dim=0, out=diff)
            wt = diff.mul_(-inv_r).exp_().mul_(math.exp(-(dx * dx + dy * dy) * inv_s))
            wt.mul_(valid[ys : ys + h, xs : xs + w])
            acc.addcmul_(xp[:, ys : ys + h, xs : xs + w], wt)
            wsum.add_(wt)
    return acc / wsum


def smooth(image: torch.Tensor, guide: torch.Tensor, mode: str = "exact", **kwargs: float) -> torch.Tensor:
    """Dispatch to :func:`smooth_exact` (``"exact"``), :func:`guided_filter` (``"fast"``) or identity."""
    if mode == "exact":
        h, w = guide.shape[-2:]
        check_memory(int(h), int(w))
        return smooth_exact(image, guide, **kwargs)  # type: ignore[arg-type]
    if mode == "fast":
        return guided_filter(image, guide, **kwargs)  # type: ignore[arg-type]
    if mode == "none":
        return _fit(image, tuple(guide.shape[-2:])).to(guide.device)
    raise InputError(f"unknown --smooth {mode!r}; choose {', '.join(SMOOTH_MODES)}")
