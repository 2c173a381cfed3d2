"""pix2pix quality under a fixed CPU budget: does it learn, and does the GAN term help?

Two paired tasks, each trained twice for the same wall-clock budget — pix2pix
(GAN + 100·L1) and the paper's "L1 only" ablation — then evaluated on held-out
pairs with PSNR / SSIM against the target, next to the identity baseline
(output = input):

1. ``people2outline`` (``../shared/data/paired/people2outline``): cut-out photo of
   people → outline drawing; 40 train / 10 test pairs.
2. ``photo2edges`` (synthetic, exact ground truth): photos from
   ``../shared/data/more/content`` → their Canny edge map (OpenCV, σ=1 blur,
   thresholds 100/200); the last 24 photos are held out.

Networks are the paper's unet_128 + 70×70 PatchGAN at half width (ngf = ndf = 32)
so that a CPU budget buys a few hundred steps; batch 1, instance norm, Adam 2e-4 β1 0.5,
constant LR.  Prints a table, writes ``--json`` and sample grids (input | L1 only |
pix2pix | target) into ``--images``.

    python benchmarks/pix2pix_quality.py --minutes 2          # 4 runs × 2 min
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from styleforge.data import AlignedDataset, PairedTransform
from styleforge.data.prepare import canny_edges
from styleforge.engine import TrainConfig, fit, image_grid
from styleforge.engine.metrics import psnr, ssim
from styleforge.gan import Pix2Pix, Pix2PixConfig
from styleforge.io import list_images, load_image, save_image, tensor_to_pil

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def make_edges_task(root: Path, n_test: int = 24) -> tuple[Path, Path]:
    """photo|edges pairs: train at 144 px (random 128 crops), test at 128 px (exact Canny of the test image)."""
    files = list_images(DATA / "more" / "content")
    train, test = root / "train", root / "test"
    train.mkdir(parents=True)
    test.mkdir(parents=True)
    for i, f in enumerate(files):
        img = load_image(f)
        side = min(img.size)
        img = img.crop(
            ((img.width - side) // 2, (img.height - side) // 2, (img.width + side) // 2, (img.height + side) // 2)
        )
        size, folder = (128, test) if i >= len(files) - n_test else (144, train)
        img = img.resize((size, size), Image.Resampling.LANCZOS)
        pair = Image.new("RGB", (2 * size, size))
        pair.paste(img, (0, 0))
        pair.paste(canny_edges(img), (size, 0))
        pair.save(folder / f"{f.stem}.png")
    return train, test


def train(
    name: str, data: Path, cfg: Pix2PixConfig, minutes: float, out: Path, transform: PairedTransform
) -> tuple[Pix2Pix, int]:
    ds = AlignedDataset(data, transform=transform)
    model = Pix2Pix(cfg, generator=torch.Generator().manual_seed(0))
    tc = TrainConfig(
        out_dir=str(out / name),
        n_epochs=100000,
        n_epochs_decay=0,
        lr_policy="constant",
        max_minutes=minutes,
        save_every_epochs=10**9,
        tensorboard=False,
        progress=False,
        n_visuals=0,
        seed=0,
        device="cpu",
    )
    r = fit(model, ds, tc)
    return model, r.step


@torch.no_grad()
def evaluate(model: Pix2Pix | None, test: Path, size: int) -> tuple[dict[str, float], list[torch.Tensor]]:
    ds = AlignedDataset(
        test, transform=PairedTransform(preprocess="resize_and_crop", load_size=size, crop_size=size, flip=False)
    )
    ps, ss, outs = [], [], []
    for i in range(len(ds)):
        item = ds[i]
        x, y = item["A"][None], (item["B"][None] + 1) / 2
        if model is None:
            pred = (x + 1) / 2  # identity
        else:
            G = model.networks["G"].eval()
            pred = (G(x).clamp(-1, 1) + 1) / 2
        ps.append(float(psnr(pred, y)))
        ss.append(float(ssim(pred, y)))
        outs.append(torch.cat([(x + 1) / 2, pred, y]))
    return {"psnr": sum(ps) / len(ps), "ssim": sum(ss) / len(ss), "n": len(ps)}, outs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=2.0, help="training budget per run (4 runs)")
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--json", default="benchmarks/results/pix2pix_quality.json")
    ap.add_argument("--images", default="docs/images")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice; 1 on a busy shared CPU)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    work = Path(tempfile.mkdtemp(prefix="pix2pix_quality_"))
    results: dict[str, dict[str, object]] = {}
    grids = {}
    try:
        edges_train, edges_test = make_edges_task(work / "edges")
        tasks = {
            "people2outline": (
                DATA / "paired" / "people2outline" / "train",
                DATA / "paired" / "people2outline" / "test",
                PairedTransform(load_size=143, crop_size=128),
            ),
            "photo2edges": (edges_train, edges_test, PairedTransform(preprocess="crop", crop_size=128)),
        }
        for task, (tr, te, transform) in tasks.items():
            ident, samples = evaluate(None, te, 128)
            results[f"{task}/identity"] = {**ident, "steps": 0}
            cols = {"input": [s[0] for s in samples], "target": [s[2] for s in samples]}
            for label, lam_gan in (("L1 only", 0.0), ("pix2pix", 1.0)):
                cfg = Pix2PixConfig(netG="unet_128", ngf=args.ngf, ndf=args.ngf, lambda_gan=lam_gan)
                t = time.perf_counter()
                model, steps = train(f"{task}_{label.replace(' ', '_')}", tr, cfg, args.minutes, work, transform)
                m, samples = evaluate(model, te, 128)
                results[f"{task}/{label}"] = {**m, "steps": steps, "seconds": round(time.perf_counter() - t)}
                cols[label] = [s[1] for s in samples]
                print(
                    f"{task:15s} {label:8s} {steps:5d} steps  PSNR {m['psnr']:6.2f}  SSIM {m['ssim']:.4f}", flush=True
                )
            k = min(4, len(cols["input"]))
            grids[task] = image_grid({c: torch.stack(cols[c][:k]) for c in ("input", "L1 only", "pix2pix", "target")})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"\npix2pix quality, {args.minutes:g} min budget per run, unet_128 ngf {args.ngf}, 128 px, "
        f"{torch.get_num_threads()} thread(s), load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'task':16s} {'model':9s} {'steps':>6s} {'PSNR dB':>8s} {'SSIM':>7s}")
    for key, r in results.items():
        task, model = key.split("/")
        print(f"{task:16s} {model:9s} {r['steps']:6d} {r['psnr']:8.2f} {r['ssim']:7.4f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(
        json.dumps({"minutes_per_run": args.minutes, "ngf": args.ngf, "results": results}, indent=1)
    )
    Path(args.images).mkdir(parents=True, exist_ok=True)
    for task, g in grids.items():
        save_image(tensor_to_pil(g), Path(args.images) / f"pix2pix_{task}.jpg", quality=85)


if __name__ == "__main__":
    main()
