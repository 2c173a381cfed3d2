"""Quality of `styleforge photo` against Deep Photo Style Transfer's own results.

    .venv/bin/python benchmarks/photo_quality.py                      # fast method, every case, 512 px
    .venv/bin/python benchmarks/photo_quality.py --method dpst --cases 1,29 --iterations 60 --cache out/dpst

``--method fast`` (default) runs the fast method twice per case, with DPST's hand
masks and with automatic masks (and reports their agreement with the hand
masks: mIoU after the best one-to-one matching of labels).  ``--method dpst``
runs the optimisation (minutes a case; ``--cache DIR`` keeps its outputs and
reuses them).  The colour measure always uses the hand masks' segments.

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


def whole_colour(out: np.ndarray, style: np.ndarray) -> float:
    """Lab W2 (Gaussian) between the whole output and the whole style photo."""
    return w2_gauss(rgb_to_lab(out).reshape(-1, 3), rgb_to_lab(style).reshape(-1, 3))


def all_cases() -> list[str]:
    return sorted((p.stem[2:] for p in (DATA / "input").glob("in*.jpg")), key=int)


def main() -> None:
    from styleforge.io import load_image, pil_to_tensor, resize_max_side, tensor_to_pil
    from styleforge.transfer.automask import matched_miou
    from styleforge.transfer.fastphoto import FastConfig, fast_transfer
    from styleforge.transfer.gatys import GatysConfig
    from styleforge.transfer.photoreal import PhotoConfig, photo_transfer
    from styleforge.transfer.segmentation import check_mask_size, parse_mask

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="all", help="comma-separated case ids, or all")
    ap.add_argument("--count", type=int, default=None, help="only the first N of --cases")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--method", choices=("fast", "dpst"), default="fast")
    ap.add_argument("--segments", type=int, default=3, help="fast: clusters of the automatic masks")
    ap.add_argument(
        "--variants",
        default="hand,auto",
        help="fast: hand (DPST's masks), auto (automatic masks), lut (hand masks, the global LUT alone)",
    )
    ap.add_argument("--iterations", type=int, default=60, help="dpst: per stage")
    ap.add_argument("--scales", default="0.5,1", help="dpst: stage-1 scales")
    ap.add_argument(
        "--smooth",
        default=None,
        choices=("auto", "exact", "fast", "none"),
        help="fast: auto (exact with automatic masks, none with hand masks); dpst: none",
    )
    ap.add_argument("--cache", default=None, help="dpst: folder of cached outputs (read if present, else written)")
    ap.add_argument("--save", default=None, help="folder for our outputs")
    ap.add_argument(
        "--sheet",
        default="out/photo_quality_worst.jpg",
        help="sheet of the 3 cases with the lowest structure ratio to DPST",
    )
    ap.add_argument("--sheet-all", default=None, help="sheet of every case (small)")
    args = ap.parse_args()
    ids = (all_cases() if args.cases == "all" else args.cases.split(","))[: args.count]
    print(
        f"{len(ids)} case(s) at {args.size} px, method {args.method}, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores, torch threads {torch.get_num_threads()}",
        flush=True,
    )
    variants = args.variants.split(",") if args.method == "fast" else ["hand"]
    rows: list[dict] = []
    tiles: dict[str, list[Image.Image]] = {}
    for n in ids:
        ci = resize_max_side(load_image(DATA / "input" / f"in{n}.jpg"), args.size)
        si = resize_max_side(load_image(DATA / "style" / f"tar{n}.jpg"), args.size)
        ref = load_image(DATA / "reference" / f"best{n}_t_1000.jpg").resize(ci.size, Image.Resampling.LANCZOS)
        cl = parse_mask(check_mask_size(load_image(DATA / "seg_input" / f"in{n}.png"), ci.size, what="content mask"))
        sl = parse_mask(check_mask_size(load_image(DATA / "seg_style" / f"tar{n}.png"), si.size, what="style mask"))
        inp = np.asarray(ci, dtype=np.float64) / 255
        sty = np.asarray(si, dtype=np.float64) / 255
        dpst = np.asarray(ref, dtype=np.float64) / 255
        gin = grad_mag(luminance(inp))
        row: dict = {
            "case": n,
            "dpst": (
                gradient_ssim(grad_mag(luminance(dpst)), gin),
                colour_distance(dpst, sty, cl, sl),
                whole_colour(dpst, sty),
                0.0,
            ),
        }
        outs = {}
        for v in variants:
            t = time.perf_counter()
            if args.method == "fast":
                kw = {"content_labels": cl, "style_labels": sl} if v in ("hand", "lut") else {}
                cfg = FastConfig(segments=args.segments, smooth=args.smooth or "auto", local=v != "lut")
                res = fast_transfer(ci, si, cfg, look=False, **kw)
                ours = res.image.astype(np.float64) / 255
                if v == "auto":
                    pred = np.asarray(
                        Image.fromarray(res.content_labels.astype(np.uint8)).resize(ci.size, Image.Resampling.NEAREST)
                    )
                    row["miou"] = matched_miou(pred, cl)
            else:
                cached = Path(args.cache) / f"dpst{n}_{args.size}_{args.iterations}.png" if args.cache else None
                if cached is not None and cached.exists():
                    ours = np.asarray(load_image(cached), dtype=np.float64) / 255
                else:
                    g = GatysConfig(
                        image_size=args.size,
                        iterations=args.iterations,
                        scales=tuple(float(s) for s in args.scales.split(",")),
                        seed=0,
                    )
                    cfg = PhotoConfig(gatys=g, smooth=args.smooth or "none")
                    r = photo_transfer(pil_to_tensor(ci), pil_to_tensor(si), cfg, content_seg=cl, style_seg=sl)
                    ours = r.image[0].permute(1, 2, 0).numpy().astype(np.float64)
                    if cached is not None:
                        cached.parent.mkdir(parents=True, exist_ok=True)
                        tensor_to_pil(r.image).save(cached)
            dt = time.perf_counter() - t
            outs[v] = ours
            row[v] = (
                gradient_ssim(grad_mag(luminance(ours)), gin),
                colour_distance(ours, sty, cl, sl),
                whole_colour(ours, sty),
                dt,
            )
            if args.save:
                Path(args.save).mkdir(parents=True, exist_ok=True)
                Image.fromarray((ours * 255 + 0.5).astype(np.uint8)).save(Path(args.save) / f"{args.method}_{v}{n}.png")
        rows.append(row)
        print(
            f"case {n:>3s}: "
            + " | ".join(
                f"{v} struct {row[v][0]:.3f} colour {row[v][1]:.2f} whole {row[v][2]:.2f}"
                + (f" {row[v][3]:.1f} s" if v != "dpst" else "")
                for v in variants + ["dpst"]
            )
            + (f" | mIoU {row['miou']:.2f}" if "miou" in row else ""),
            flush=True,
        )
        h = 160
        tiles[n] = [
            im.resize((max(1, round(im.size[0] * h / im.size[1])), h), Image.Resampling.LANCZOS)
            for im in [ci, si] + [Image.fromarray((outs[v] * 255 + 0.5).astype(np.uint8)) for v in variants] + [ref]
        ]

    print(
        f"\n{'case':>5s} "
        + " ".join(f"{v + ' ' + k:>14s}" for v in variants + ["dpst"] for k in ("struct", "colour", "whole"))
        + (f" {'mIoU':>6s}" if "auto" in variants else "")
        + " "
        + " ".join(f"{v + ' s':>8s}" for v in variants)
    )
    for r in rows:
        print(
            f"{r['case']:>5s} "
            + " ".join(f"{r[v][i]:14.3f}" for v in variants + ["dpst"] for i in range(3))
            + (f" {r['miou']:6.2f}" if "miou" in r else "")
            + " "
            + " ".join(f"{r[v][3]:8.1f}" for v in variants)
        )
    med = {v: np.median(np.array([r[v] for r in rows]), axis=0) for v in variants + ["dpst"]}
    print(
        f"{'median':>5s} "
        + " ".join(f"{med[v][i]:14.3f}" for v in variants + ["dpst"] for i in range(3))
        + (f" {np.median([r['miou'] for r in rows]):6.2f}" if "auto" in variants else "")
        + " "
        + " ".join(f"{med[v][3]:8.1f}" for v in variants)
    )
    d = med["dpst"]
    for v in variants:
        ratios = np.array([r[v][0] / r["dpst"][0] for r in rows])
        worst = int(np.argmin(ratios))
        print(
            f"{v}: structure ours/DPST {med[v][0] / d[0]:.3f} (goal ≥ 1) · colour ours/DPST {med[v][1] / d[1]:.3f} "
            f"(goal ≤ 1) · whole-image colour {med[v][2] / d[2]:.3f} · cases > 20 % below DPST in structure: "
            f"{int((ratios < 0.8).sum())} (worst: case {rows[worst]['case']}, {ratios[worst]:.2f}×)"
        )
    if "auto" in variants and "hand" in variants:
        print(f"auto/hand colour (goal ≤ 1.1): {med['auto'][1] / med['hand'][1]:.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    v0 = "auto" if "auto" in variants else variants[-1]
    order = sorted(rows, key=lambda r: r[v0][0] / r["dpst"][0])
    for path, chosen in ((args.sheet, order[:3]), (args.sheet_all, rows)):
        if not path or not chosen:
            continue
        lines = [tiles[r["case"]] for r in chosen]
        width = max(sum(t.size[0] for t in line) for line in lines)
        sheet = Image.new("RGB", (width, sum(line[0].size[1] for line in lines)), "white")
        y = 0
        for line in lines:
            x = 0
            for tile in line:
                sheet.paste(tile, (x, y))
                x += tile.size[0]
            y += line[0].size[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        sheet.save(path, quality=85)
        print(
            f"wrote {path} (cases {', '.join(r['case'] for r in chosen)}: input | style | "
            + " | ".join(f"ours ({v})" for v in variants)
            + " | DPST)"
        )


if __name__ == "__main__":
    main()
