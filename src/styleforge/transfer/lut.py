"""3D colour look-up tables: ``.cube`` files, trilinear application, least-squares fitting.

A :class:`Lut3D` maps an RGB colour in [0, 1] to another through an ``N×N×N``
lattice (default 33³), interpolated trilinearly — the format of Adobe's
*Cube LUT Specification 1.0*, read by Resolve, Photoshop and ffmpeg's
``lut3d`` filter:

- optional ``TITLE "..."``, ``DOMAIN_MIN r g b`` / ``DOMAIN_MAX r g b``
  (default 0 0 0 / 1 1 1), ``LUT_3D_SIZE N`` (2–256), comments after ``#``;
- then ``N³`` lines ``R G B``, **red varying fastest**, then green, then blue.

``table[b, g, r]`` holds the output for the input ``(r, g, b) / (N − 1)``
(the file's order).  :func:`fit_lut` finds the table whose trilinear
interpolation best reproduces given colour pairs (with a smoothness term so
colours that never occur follow their neighbours and a global affine trend).
"""

from __future__ import annotations

__all__ = ["Lut3D", "apply_lut", "check_cube_path", "fit_lut", "identity_lut", "read_cube", "write_cube"]

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import InputError

MAX_SIZE = 256


@dataclass(frozen=True)
class Lut3D:
    """``table`` ``(N, N, N, 3)`` indexed ``[b, g, r]``; inputs are scaled from the domain to [0, 1]."""

    table: np.ndarray
    title: str = ""
    domain_min: tuple[float, float, float] = (0.0, 0.0, 0.0)
    domain_max: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return apply_lut(self, rgb)


def identity_lut(size: int = 33) -> Lut3D:
    """The lattice of the identity map (``table[b, g, r] = (r, g, b)/(N−1)``)."""
    v = np.linspace(0.0, 1.0, size)
    b, g, r = np.meshgrid(v, v, v, indexing="ij")
    return Lut3D(np.stack([r, g, b], axis=-1))


def lattice_colours(size: int) -> np.ndarray:
    """The ``N³`` input colours of the lattice in file order, ``(N³, 3)`` RGB."""
    return identity_lut(size).table.reshape(-1, 3)


# --------------------------------------------------------------------------- files


def check_cube_path(path: str | os.PathLike[str]) -> Path:
    """Check that a look can be written at ``path``: its folder exists and it ends in ``.cube``."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder does not exist: {parent}")
    if p.suffix.lower() != ".cube":
        raise InputError(f"a look is saved as a .cube file, not {p.suffix or '(no extension)'!r}: {p}")
    return p


def write_cube(lut: Lut3D, path: str | os.PathLike[str]) -> Path:
    """Write ``lut`` as a ``.cube`` file atomically (6 decimals, red fastest)."""
    from ..io import atomic_path

    p = check_cube_path(path)
    lines = []
    if lut.title:
        lines.append(f'TITLE "{lut.title.replace(chr(34), chr(39))}"')
    lines.append(f"LUT_3D_SIZE {lut.size}")
    if lut.domain_min != (0.0, 0.0, 0.0) or lut.domain_max != (1.0, 1.0, 1.0):
        lines.append("DOMAIN_MIN " + " ".join(f"{v:.6f}" for v in lut.domain_min))
        lines.append("DOMAIN_MAX " + " ".join(f"{v:.6f}" for v in lut.domain_max))
    data = np.clip(lut.table.reshape(-1, 3), 0.0, 1.0)
    body = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in data.tolist())
    with atomic_path(p) as tmp:
        tmp.write_text("\n".join(lines) + "\n" + body + "\n", encoding="ascii")
    return p


def read_cube(path: str | os.PathLike[str]) -> Lut3D:
    """Read a 3D ``.cube`` LUT; anything else is an :class:`InputError` naming the problem."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"look file not found: {p}")
    if p.stat().st_size > 64 << 20:
        raise InputError(f"{p} is not a .cube LUT (larger than 64 MB)")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError):
        raise InputError(f"{p} is not a .cube LUT (not a text file)") from None
    size = None
    title = ""
    dmin, dmax = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    rows: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key = line.split()[0].upper()
        if key == "TITLE":
            title = line[5:].strip().strip('"')
        elif key == "LUT_3D_SIZE":
            try:
                size = int(line.split()[1])
            except (IndexError, ValueError):
                raise InputError(f"{p}:{n}: bad LUT_3D_SIZE line") from None
            if not 2 <= size <= MAX_SIZE:
                raise InputError(f"{p}: LUT_3D_SIZE {size} is outside 2–{MAX_SIZE}")
        elif key == "LUT_1D_SIZE":
            raise InputError(f"{p} is a 1D LUT; a look needs a 3D LUT (LUT_3D_SIZE)")
        elif key in ("DOMAIN_MIN", "DOMAIN_MAX"):
            try:
                vals = tuple(float(v) for v in line.split()[1:4])
            except ValueError:
                raise InputError(f"{p}:{n}: bad {key} line") from None
            if len(vals) != 3:
                raise InputError(f"{p}:{n}: {key} needs three numbers")
            if key == "DOMAIN_MIN":
                dmin = vals
            else:
                dmax = vals
        elif key[0].isalpha():
            continue  # other keywords (e.g. LUT_IN_VIDEO_RANGE) do not change a [0, 1] table
        else:
            rows.append(line)
    if size is None:
        raise InputError(f"{p} is not a .cube LUT (no LUT_3D_SIZE line)")
    if len(rows) != size**3:
        raise InputError(f"{p}: LUT_3D_SIZE {size} needs {size**3} rows of R G B, found {len(rows)}")
    try:
        data = np.array([[float(v) for v in r.split()] for r in rows])
    except ValueError:
        raise InputError(f"{p}: the table has a value that is not a number") from None
    if data.ndim != 2 or data.shape[1] != 3:
        raise InputError(f"{p}: every table row must have three numbers (R G B)")
    if not np.isfinite(data).all():
        raise InputError(f"{p}: the table has non-finite values")
    if any(a >= b for a, b in zip(dmin, dmax, strict=True)):
        raise InputError(f"{p}: DOMAIN_MIN must be below DOMAIN_MAX")
    return Lut3D(data.reshape(size, size, size, 3), title, dmin, dmax)


# --------------------------------------------------------------------------- application


def _corners(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Base lattice index ``(M, 3)`` (r, g, b) and fractions ``(M, 3)`` of each colour."""
    pos = np.clip(rgb, 0.0, 1.0) * (size - 1)
    base = np.minimum(np.floor(pos), size - 2).astype(np.int64)
    return base, pos - base


def apply_lut(lut: Lut3D, rgb: np.ndarray, *, chunk: int = 1 << 20) -> np.ndarray:
    """Trilinear interpolation of ``lut`` at the colours ``rgb`` (``(..., 3)`` in [0, 1]; float32 out).

    Works in chunks of ``chunk`` pixels, so a 12-megapixel image needs a few
    tens of MB beyond its input and output.
    """
    shape = rgb.shape
    if shape[-1] != 3:
        raise ValueError(f"expected (..., 3) colours, got {shape}")
    flat = rgb.reshape(-1, 3)
    out = np.empty(flat.shape, dtype=np.float32)
    n = lut.size
    lo = np.asarray(lut.domain_min, dtype=np.float64)
    span = np.asarray(lut.domain_max, dtype=np.float64) - lo
    tab = lut.table.reshape(-1, 3).astype(np.float32)
    for s in range(0, flat.shape[0], chunk):
        x = flat[s : s + chunk].astype(np.float64)
        if not (lo == 0).all() or not (span == 1).all():
            x = (x - lo) / span
        base, f = _corners(x, n)
        f = f.astype(np.float32)
        acc = np.zeros((x.shape[0], 3), dtype=np.float32)
        for db in (0, 1):
            wb = f[:, 2] if db else 1 - f[:, 2]
            for dg in (0, 1):
                wg = wb * (f[:, 1] if dg else 1 - f[:, 1])
                for dr in (0, 1):
                    w = wg * (f[:, 0] if dr else 1 - f[:, 0])
                    idx = ((base[:, 2] + db) * n + base[:, 1] + dg) * n + base[:, 0] + dr
                    acc += w[:, None] * tab[idx]
        out[s : s + chunk] = acc
    return out.reshape(shape)


# --------------------------------------------------------------------------- fitting


def _weights(rgb: np.ndarray, size: int) -> sp.csr_matrix:
    """Sparse ``(M, N³)`` trilinear weights of the colours ``rgb`` ``(M, 3)``."""
    base, f = _corners(rgb, size)
    m = rgb.shape[0]
    rows, cols, vals = [], [], []
    for db in (0, 1):
        wb = f[:, 2] if db else 1 - f[:, 2]
        for dg in (0, 1):
            wg = wb * (f[:, 1] if dg else 1 - f[:, 1])
            for dr in (0, 1):
                rows.append(np.arange(m))
                cols.append(((base[:, 2] + db) * size + base[:, 1] + dg) * size + base[:, 0] + dr)
                vals.append(wg * (f[:, 0] if dr else 1 - f[:, 0]))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, size**3))


def _lattice_laplacian(size: int) -> sp.csr_matrix:
    """Graph Laplacian of the lattice (6-neighbourhood)."""
    d1 = sp.diags([np.ones(size - 1)], [1], shape=(size, size))
    d1 = d1 - sp.identity(size)
    d1 = d1.tocsr()[:-1]  # (N−1, N) forward differences
    eye = sp.identity(size, format="csr")
    grads = [sp.kron(sp.kron(eye, eye), d1), sp.kron(sp.kron(eye, d1), eye), sp.kron(sp.kron(d1, eye), eye)]
    return sum((g.T @ g for g in grads), sp.csr_matrix((size**3, size**3))).tocsr()


def fit_lut(
    src: np.ndarray,
    dst: np.ndarray,
    size: int = 33,
    *,
    smoothness: float = 1e-4,
    prior: float = 1e-3,
    max_samples: int = 200_000,
    seed: int = 0,
    title: str = "",
) -> Lut3D:
    """The ``size³`` LUT whose trilinear interpolation maps ``src`` colours closest to ``dst``.

    Minimises ``‖W t − dst‖² + smoothness · ‖∇(t − a)‖² + prior · ‖t − a‖²`` over the
    lattice values ``t`` (``W`` the trilinear weights, ``∇`` lattice differences,
    ``a`` the least-squares global affine map of ``src → dst``, which fills the
    colours the samples never visit).  ``src``/``dst`` are ``(..., 3)`` in [0, 1].
    """
    x = np.asarray(src, dtype=np.float64).reshape(-1, 3)
    y = np.asarray(dst, dtype=np.float64).reshape(-1, 3)
    if x.shape != y.shape or x.shape[0] == 0:
        raise ValueError("src and dst need the same number of colours (at least one)")
    if x.shape[0] > max_samples:
        pick = np.random.default_rng(seed).choice(x.shape[0], max_samples, replace=False)
        x, y = x[pick], y[pick]
    m = x.shape[0]
    xa = np.hstack([x, np.ones((m, 1))])
    coef, *_ = np.linalg.lstsq(xa, y, rcond=None)
    lat = lattice_colours(size)
    trend = np.hstack([lat, np.ones((lat.shape[0], 1))]) @ coef
    w = _weights(x, size)
    per_node = m / size**3  # samples per lattice node: the terms keep their balance at any N and M
    scale = (size - 1) ** 2  # smoothness per unit colour distance, independent of N
    lap = (smoothness * scale * per_node) * _lattice_laplacian(size)
    a = (w.T @ w) + lap + (prior * per_node) * sp.identity(size**3)
    rhs = w.T @ y + lap @ trend + (prior * per_node) * trend  # smoothness acts on the deviation from the trend
    import scipy.sparse.linalg as spla

    a = a.tocsr()
    dinv = 1.0 / a.diagonal()
    pre = spla.LinearOperator(a.shape, matvec=lambda v: dinv * v.ravel())
    t = np.stack([spla.cg(a, rhs[:, c], x0=trend[:, c], rtol=1e-4, maxiter=2000, M=pre)[0] for c in range(3)], axis=1)
    return Lut3D(np.clip(t, 0.0, 1.0).reshape(size, size, size, 3), title)


def cube_bytes(size: int) -> int:
    """Approximate size of a written ``.cube`` file."""
    return size**3 * 27 + 64


def lut_error(lut: Lut3D, src: np.ndarray, dst: np.ndarray) -> float:
    """RMS error (0–1 scale) of ``lut`` on colour pairs."""
    d = apply_lut(lut, np.asarray(src).reshape(-1, 3)) - np.asarray(dst).reshape(-1, 3)
    return float(math.sqrt(np.mean(d.astype(np.float64) ** 2)))
