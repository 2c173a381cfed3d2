"""Quality of `styleforge photo` against Deep Photo Style Transfer's own results.

    flock /tmp/styleforge-heavy.lock .venv/bin/python benchmarks/photo_quality.py --count 8 --size 256 --iterations 60

For each case of ../shared/data/photo (input, style, seg_input, seg_style,
reference = DPST's final result), at ``--size`` px on the long side:

- **structure** (higher is better): SSIM between the luminance-gradient
  magnitudes of the output and of the input photo;
- **colour** (lower is better): per-segment distance between the Lab colour
  distributions of the output (content-mask region) and of the style photo
  (style-mask region) — the 2-Wasserstein distance of Gaussians with their
  means and covariances, averaged with the segments' area weights.

Both are computed for ours and for DPST's reference (resized to the same
size); the table gives each case and the medians.  ``--save DIR`` writes
the outputs; ``--sheet PATH`` a side-by-side (input | style | ours | DPST).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from styleforge.engine.metrics import ssim

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "photo"
DEFAULT_CASES = "1,29,41,10,16,28,54,56"  # varied: skylines, seasons, night, one-region cases


def luminance(x: np.ndarray) -> np.ndarray:
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def grad_mag(y: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(y)[None, None].double()
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)[None, None] / 8
    gx = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), kx)
    gy = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), kx.transpose(-1, -2))
    return torch.sqrt(gx**2 + gy**2)[0, 0].numpy()


def gradient_ssim(a: np.ndarray, b: np.ndarray, win: int = 7) -> float:
    """SSIM (the project's one: 7×7 box window) of two gradient-magnitude maps; data range = their max."""
    ta, tb = (torch.from_numpy(v)[None, None].double() for v in (a, b))
    rng = max(float(ta.max()), float(tb.max()), 1e-6)
    return float(ssim(ta, tb, data_range=rng, window=win, sigma=None)[0])


def rgb_to_lab(x: np.ndarray) -> np.ndarray:
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def _sqrtm(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def w2_gauss(a: np.ndarray, b: np.ndarray) -> float:
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a.T), np.cov(b.T)
    sb = _sqrtm(cb)
    cross = _sqrtm(sb @ ca @ sb)
    return float(np.sqrt(max(((ma - mb) ** 2).sum() + np.trace(ca + cb - 2 * cross), 0.0)))


def colour_distance(out: np.ndarray, style: np.ndarray, cl: np.ndarray, sl: np.ndarray) -> float:
    lo, ls = rgb_to_lab(out), rgb_to_lab(style)
    total, weight = 0.0, 0.0
    for k in np.unique(cl):
        mo, ms = cl == k, sl == k
        if mo.sum() < 10 or ms.sum() < 10:
            continue
        wgt = mo.mean()
        total += wgt * w2_gauss(lo[mo], ls[ms])
        weight += wgt
    return total / max(weight, 1e-9)


def main() -> None:
    from styleforge.io import load_image, pil_to_tensor, resize_max_side, save_image, tensor_to_pil
    from styleforge.transfer.gatys import GatysConfig
    from styleforge.transfer.photoreal import PhotoConfig, photo_transfer
    from styleforge.transfer.segmentation import check_mask_size, parse_mask

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=DEFAULT_CASES, help="comma-separated case ids")
    ap.add_argument("--count", type=int, default=None, help="only the first N of --cases")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iterations", type=int, default=60, help="per stage")
    ap.add_argument("--scales", default="0.5,1", help="stage-1 scales")
    ap.add_argument("--smooth", default="none", choices=("exact", "fast", "none"))
    ap.add_argument("--lambda", dest="lam", type=float, default=1e4)
    ap.add_argument("--no-color-init", dest="color_init", action="store_false")
    ap.add_argument("--save", default=None, help="folder for our outputs")
    ap.add_argument("--sheet", default=None, help="side-by-side image of the first --sheet-cases cases")
    ap.add_argument("--sheet-cases", type=int, default=1)
    args = ap.parse_args()
    ids = args.cases.split(",")[: args.count]
    print(f"{len(ids)} case(s) at {args.size} px, {args.iterations}+{args.iterations} iterations, "
          f"load average {os.getloadavg()[0]:.1f}")
    g = GatysConfig(image_size=args.size, iterations=args.iterations,
                    scales=tuple(float(s) for s in args.scales.split(",")), seed=0)
    cfg = PhotoConfig(gatys=g, smooth=args.smooth, photo_weight=args.lam, color_init=args.color_init)
    rows = []
    sheet_rows = []
    for n in ids:
        t = time.perf_counter()
        ci = resize_max_side(load_image(DATA / "input" / f"in{n}.jpg"), args.size)
        si = resize_max_side(load_image(DATA / "style" / f"tar{n}.jpg"), args.size)
        ref = load_image(DATA / "reference" / f"best{n}_t_1000.jpg").resize(ci.size, Image.Resampling.LANCZOS)
        cs = check_mask_size(load_image(DATA / "seg_input" / f"in{n}.png"), ci.size, what="content mask")
        ss = check_mask_size(load_image(DATA / "seg_style" / f"tar{n}.png"), si.size, what="style mask")
        cl, sl = parse_mask(cs), parse_mask(ss)
        res = photo_transfer(pil_to_tensor(ci), pil_to_tensor(si), cfg, content_seg=cl, style_seg=sl)
        ours = res.image[0].permute(1, 2, 0).numpy().astype(np.float64)
        inp = np.asarray(ci, dtype=np.float64) / 255
        sty = np.asarray(si, dtype=np.float64) / 255
        dpst = np.asarray(ref, dtype=np.float64) / 255
        gin = grad_mag(luminance(inp))
        row = (n, gradient_ssim(grad_mag(luminance(ours)), gin), gradient_ssim(grad_mag(luminance(dpst)), gin),
               colour_distance(ours, sty, cl, sl), colour_distance(dpst, sty, cl, sl), time.perf_counter() - t)
        rows.append(row)
        print(f"case {n:>3s}: structure ours {row[1]:.3f} DPST {row[2]:.3f} | colour ours {row[3]:.2f} "
              f"DPST {row[4]:.2f} | {row[5]:.0f} s", flush=True)
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            save_image(res.image, Path(args.save) / f"ours{n}.png")
        if args.sheet and len(sheet_rows) < args.sheet_cases:
            h = ci.size[1]
            tiles = [ci, si.resize((round(si.size[0] * h / si.size[1]), h)), tensor_to_pil(res.image), ref]
            sheet_rows.append(tiles)
    a = np.array([r[1:5] for r in rows])
    med = np.median(a, axis=0)
    print(f"\n{'case':>6s} {'struct ours':>12s} {'struct DPST':>12s} {'colour ours':>12s} {'colour DPST':>12s}")
    for r in rows:
        print(f"{r[0]:>6s} {r[1]:12.3f} {r[2]:12.3f} {r[3]:12.2f} {r[4]:12.2f}")
    print(f"{'median':>6s} {med[0]:12.3f} {med[1]:12.3f} {med[2]:12.2f} {med[3]:12.2f}")
    print(f"structure (SSIM of luminance gradients, higher better): ours/DPST = {med[0] / med[1]:.3f}")
    print(f"colour (Lab W2 to the style per segment, lower better): ours/DPST = {med[2] / med[3]:.3f}")
    if args.sheet and sheet_rows:
        width = max(sum(t.size[0] for t in r) for r in sheet_rows)
        height = sum(r[0].size[1] for r in sheet_rows)
        sheet = Image.new("RGB", (width, height), "white")
        y = 0
        for r in sheet_rows:
            x = 0
            for tile in r:
                sheet.paste(tile, (x, y))
                x += tile.size[0]
            y += r[0].size[1]
        sheet.save(args.sheet, quality=85)
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
