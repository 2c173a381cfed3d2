"""Speed of the photorealistic pieces: Laplacian build, smoothing, local affine, whole `photo` run.

    flock /tmp/styleforge-heavy.lock .venv/bin/python benchmarks/photo_speed.py [--photo-iterations 5]

Prints wall and CPU seconds (CPU = process time over all threads; on a
shared, loaded machine the CPU column is the fairer figure) and ratios to a
baseline measured in the same run:

- Laplacian: a per-window Python loop (what a straight port of DPST's
  Matlab/Octave getLaplacian does), timed on a crop and scaled by pixel count.
- smoothing: the exact sparse solve is the baseline of the fast guided filter.
- photo: the artistic `stylize` optimisation with the same size and iterations.
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from styleforge.io import load_image, pil_to_tensor
from styleforge.transfer import matting as M

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "photo"


def timed(fn):  # noqa: ANN001, ANN201
    t, p = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - p


def loop_laplacian(img: np.ndarray, eps: float = 1e-7) -> None:
    """Baseline: one Python iteration per 3×3 window (COO triplets), like a direct port of DPST's getLaplacian."""
    import scipy.sparse as sp

    h, w, _ = img.shape
    flat = img.reshape(-1, 3)
    rows, cols, vals = [], [], []
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            idx = np.array([(y + dy) * w + x + dx for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
            win = flat[idx]
            mu = win.mean(0)
            d = win - mu
            inv = np.linalg.inv(d.T @ d / 9 + eps / 9 * np.eye(3))
            v = np.eye(9) - (1 + d @ inv @ d.T) / 9
            rows.append(np.repeat(idx, 9))
            cols.append(np.tile(idx, 9))
            vals.append(v.ravel())
    sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(h * w, h * w)).tocsr()


def image(name: str, size: tuple[int, int]) -> torch.Tensor:
    return pil_to_tensor(load_image(DATA / name).resize(size))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="1")
    ap.add_argument("--photo-size", type=int, default=512)
    ap.add_argument("--photo-iterations", type=int, default=5, help="per stage (0 skips the photo timing)")
    ap.add_argument("--skip-direct", action="store_true", help="skip the exact solve at 800×533")
    ap.add_argument("--fast", action="store_true", help="also time the fast method at 1024 px and 12 MP")
    args = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows: list[tuple[str, float, float, str]] = []

    crop = image(f"input/in{args.case}.jpg", (64, 48))[0].permute(1, 2, 0).double().numpy()
    _, lw, lc = timed(lambda: loop_laplacian(crop))
    for w, h in [(512, 384), (1024, 768)]:
        c = image(f"input/in{args.case}.jpg", (w, h))
        M.clear_cache()
        lap, tw, tc = timed(partial(M.matting_laplacian, c))
        base = lc * (w * h) / (64 * 48)
        mb = (lap.data.nbytes + lap.indices.nbytes + lap.indptr.nbytes) / 2**20
        rows.append(
            (
                f"Laplacian {w}×{h}",
                tw,
                tc,
                f"nnz {lap.nnz / 1e6:.1f}M, CSR {mb:.0f} MiB, "
                f"peak estimate {M.laplacian_nbytes(h, w) / 2**20:.0f} MiB; "
                f"per-window loop ≈ {base:.0f} s CPU → {base / tc:.0f}× faster",
            )
        )

    c = image(f"input/in{args.case}.jpg", (800, 533))
    x = image(f"reference/best{args.case}_t_1000.jpg", (800, 533))
    M.clear_cache()
    _, tw, tc = timed(lambda: M.laplacian_for(c))
    rows.append(("  (Laplacian 800×533 for smoothing)", tw, tc, ""))
    exact_c = None
    amg, tw, tc = timed(lambda: M.smooth_exact(x, c, method="amg"))
    rows.append(("exact smoothing 800×533 (pyamg-preconditioned CG)", tw, tc, "goal ≤ 5 s incl. Laplacian"))
    if not args.skip_direct:
        lu, tw, tc = timed(lambda: M.smooth_exact(x, c, method="direct"))
        exact_c = tc
        rel = float((amg.double() - lu.double()).norm() / lu.double().norm())
        rows.append(("exact smoothing 800×533 (sparse LU)", tw, tc, f"AMG-CG agrees to {rel:.1e} relative"))
    _, tw, tc = timed(lambda: M.guided_filter(x, c))
    rows.append(
        ("fast smoothing 800×533 (guided filter)", tw, tc, f"{exact_c / tc:.0f}× faster than exact" if exact_c else "")
    )
    _, tw, tc = timed(lambda: M.local_affine(x, c))
    rows.append(("local affine 800×533 (DPST post-process)", tw, tc, "f_radius 7, f_edge 0.05"))

    if args.fast:
        from styleforge.io import resize_max_side
        from styleforge.transfer.fastphoto import FastConfig, fast_transfer

        big = load_image(DATA / f"input/in{args.case}.jpg")
        st = load_image(DATA / f"style/tar{args.case}.jpg")
        for long_side in (1024, 4000):
            img = big.resize((long_side, round(long_side * big.size[1] / big.size[0])), resample=3)
            res, tw, tc = timed(partial(fast_transfer, img, st, FastConfig()))
            parts = ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items() if k != "total")
            rows.append((f"fast photo {img.size[0]}×{img.size[1]} (auto masks)", tw, tc, f"{parts} s"))

    if args.photo_iterations > 0:
        from styleforge.io import resize_max_side
        from styleforge.transfer.gatys import GatysConfig, stylize_tensor
        from styleforge.transfer.photoreal import PhotoConfig, photo_transfer
        from styleforge.transfer.segmentation import load_mask_image

        ci = resize_max_side(load_image(DATA / f"input/in{args.case}.jpg"), args.photo_size)
        si = resize_max_side(load_image(DATA / f"style/tar{args.case}.jpg"), args.photo_size)
        cs = load_mask_image(DATA / f"seg_input/in{args.case}.png", ci.size, "content mask")
        ss = load_mask_image(DATA / f"seg_style/tar{args.case}.png", si.size, "style mask")
        g = GatysConfig(image_size=args.photo_size, iterations=args.photo_iterations, scales=(1.0,), seed=0)
        M.clear_cache()
        _, bw, bc = timed(lambda: stylize_tensor(pil_to_tensor(ci), [pil_to_tensor(si)], g))
        rows.append((f"baseline: stylize {args.photo_size}px, {args.photo_iterations} it", bw, bc, ""))
        res, tw, tc = timed(
            lambda: photo_transfer(
                pil_to_tensor(ci), pil_to_tensor(si), PhotoConfig(gatys=g), content_seg=cs, style_seg=ss
            )
        )
        parts = ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items() if k != "total")
        rows.append(
            (
                f"photo {args.photo_size}px, {args.photo_iterations}+{args.photo_iterations} it",
                tw,
                tc,
                f"{tw / bw:.2f}× stylize wall; {parts} s",
            )
        )

    print(f"\n{'step':46s} {'wall s':>8s} {'cpu s':>8s}  notes")
    for name, w, cpu, note in rows:
        print(f"{name:46s} {w:8.2f} {cpu:8.2f}  {note}")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
