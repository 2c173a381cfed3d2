"""A small ``.cube`` (Adobe/Resolve 3-D LUT) reader and trilinear applier for ``video --look``.

Self-contained until the photo looks of the photo issue land in the library; then
:class:`~.stylizers.LookStylizer` should use theirs.
"""

from __future__ import annotations

__all__ = ["Lut", "apply_lut", "read_cube"]

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Lut:
    table: np.ndarray  # (N, N, N, 3) float32 indexed [b, g, r] (red varies fastest in the file)
    domain_min: np.ndarray  # (3,)
    domain_max: np.ndarray  # (3,)
    title: str = ""


def read_cube(path: str | os.PathLike[str]) -> Lut:
    """Parse a ``.cube`` file (``LUT_3D_SIZE``, optional ``DOMAIN_MIN``/``DOMAIN_MAX``, ``TITLE``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"look not found: {p}")
    try:
        lines = p.read_text(errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"look {p} is not a readable .cube file ({e})") from None
    size, title = 0, ""
    lo, hi = np.zeros(3, np.float32), np.ones(3, np.float32)
    rows: list[list[float]] = []
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, rest = line.partition(" ")
        try:
            if key == "TITLE":
                title = rest.strip().strip('"')
            elif key == "LUT_3D_SIZE":
                size = int(rest)
            elif key == "LUT_1D_SIZE":
                raise InputError(f"look {p} is a 1-D LUT; only 3-D .cube LUTs are supported")
            elif key == "DOMAIN_MIN":
                lo = np.array([float(v) for v in rest.split()], np.float32)
            elif key == "DOMAIN_MAX":
                hi = np.array([float(v) for v in rest.split()], np.float32)
            elif key[0].isdigit() or key[0] in "-+.":
                vals = [float(v) for v in line.split()]
                if len(vals) != 3:
                    raise ValueError("expected three numbers")
                rows.append(vals)
            else:
                continue  # other keywords (LUT_3D_INPUT_RANGE, …) are ignored
        except ValueError as e:
            raise InputError(f"look {p}, line {n}: cannot parse {raw.strip()!r} ({e})") from None
    if not 2 <= size <= 256:
        raise InputError(f"look {p} has no valid LUT_3D_SIZE (a .cube file?)")
    if len(rows) != size**3:
        raise InputError(f"look {p} has {len(rows)} entries for LUT_3D_SIZE {size} (expected {size ** 3})")
    if lo.shape != (3,) or hi.shape != (3,) or np.any(hi <= lo):
        raise InputError(f"look {p} has an invalid DOMAIN_MIN/DOMAIN_MAX")
    table = np.asarray(rows, np.float32).reshape(size, size, size, 3)
    return Lut(table, lo, hi, title)


def apply_lut(lut: Lut, rgb: np.ndarray) -> np.ndarray:
    """Trilinear lookup of ``(..., 3)`` float RGB in [0, 1] → ``(..., 3)`` float32 in [0, 1]."""
    n = lut.table.shape[0]
    x = (rgb.astype(np.float32) - lut.domain_min) / (lut.domain_max - lut.domain_min)
    x = np.clip(x, 0, 1) * (n - 1)
    i0 = np.minimum(np.floor(x).astype(np.int32), n - 2)
    f = x - i0
    r0, g0, b0 = i0[..., 0], i0[..., 1], i0[..., 2]
    fr, fg, fb = f[..., 0:1], f[..., 1:2], f[..., 2:3]
    t = lut.table
    out = np.zeros(rgb.shape, np.float32)
    for db, wb in ((0, 1 - fb), (1, fb)):
        for dg, wg in ((0, 1 - fg), (1, fg)):
            for dr, wr in ((0, 1 - fr), (1, fr)):
                out += wb * wg * wr * t[b0 + db, g0 + dg, r0 + dr]
    return np.clip(out, 0, 1)
