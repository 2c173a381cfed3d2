"""Does CycleGAN learn a known unpaired mapping?  PSNR/SSIM against ground truth after a fixed CPU budget.

The task is built from the real photos in ``../shared/data/more/content``:

- a fixed, invertible "film look" T: a hue rotation about the grey axis (an orthogonal
  3×3 colour matrix, 120° by default) followed by a tone curve ``y = x ** gamma`` (0.5).
  T must be strong enough that "do nothing" is a poor answer: with a mild T (60°, 0.7)
  the identity already scores 17.6 dB / SSIM 0.89, which a model after a few hundred
  steps, whose outputs are still blurry, cannot beat.  (the identity's SSIM stays 0.67–0.82 for
  hue 90–180° and gamma 0.4–0.6: it is mostly structure, which the identity keeps perfectly;
  PSNR is the figure that measures whether the colours were learnt);
- held-out test photos (never seen in training); the rest are split in two halves:
  domain A = the first half as they are, domain B = the *other* half through T.  No
  photo appears in both domains, so the pairs are truly unknown to the model;
- CycleGAN (the paper's recipe: LSGAN, λ_cyc 10, identity 0.5·λ, pools of 50, Adam 2e-4
  β1 0.5; constant LR for the first half of the planned steps, linear decay over the
  second) trains through :func:`styleforge.engine.fit` for at most ``--minutes``.  Sized
  for a CPU budget: a small generator (resnet_6blocks, ngf 16) on random ``--train-size``
  (80 px) crops of the photos at the evaluation scale — the generator is fully
  convolutional, so it is evaluated on the whole 128 px photos.  The identity loss
  matters here: with 0.1·λ and lr 4e-4 (64 px crops, 1280 steps) the generators never
  learnt to carry the photo's structure through (cycle loss flat from step 80 on);
  the paper's 0.5·λ gives them a direct reconstruction target early on;
- on the held-out photos a: PSNR/SSIM of G(a) against T(a) and of F(T(a)) against a,
  next to the identity baseline (a against T(a)), which any useful model must beat.

``--model cut`` / ``--model fastcut`` trains CUT / FastCUT instead (one generator G: A → B with
PatchNCE, the reference's recipe; ``--num-patches`` default 256); only G(a) vs T(a) is measured then.

Run it under the team's heavy-job lock::

    flock /tmp/styleforge-heavy.lock .venv/bin/python benchmarks/cyclegan_quality.py --minutes 14 --threads 1

It writes ``--out`` (run folder, default ``runs/cyclegan_quality``) and a sample grid
(``--grid``, default ``docs/images/cyclegan_quality.jpg``: a | G(a) | T(a) | T(a) | F(T(a)) | a).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data" / "more" / "content").resolve()


def hue_matrix(degrees: float) -> torch.Tensor:
    """Rotation of RGB about the grey axis (1,1,1)/√3 by ``degrees``: orthogonal, keeps greys grey."""
    t = math.radians(degrees)
    k = torch.full((3,), 1 / math.sqrt(3), dtype=torch.float64)
    K = torch.tensor([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]], dtype=torch.float64)
    return (torch.eye(3, dtype=torch.float64) + math.sin(t) * K + (1 - math.cos(t)) * K @ K).float()


def film_look(x: torch.Tensor, degrees: float = 60.0, gamma: float = 0.7) -> torch.Tensor:
    """T: ``(N, 3, H, W)`` RGB in [0, 1] → hue-rotated, tone-curved RGB in [0, 1]."""
    y = torch.einsum("ij,njhw->nihw", hue_matrix(degrees), x).clamp(0, 1)
    return y.clamp_min(1e-6) ** gamma


def to_tensor(img: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()


def to_image(x: torch.Tensor) -> Image.Image:
    return Image.fromarray((x[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))


def square(path: Path, side: int) -> Image.Image:
    """Resize the short side to ``side`` and centre-crop a square."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    s = side / min(w, h)
    img = img.resize((max(side, round(w * s)), max(side, round(h * s))), Image.Resampling.LANCZOS)
    w, h = img.size
    x, y = (w - side) // 2, (h - side) // 2
    return img.crop((x, y, x + side, y + side))


def build_task(work: Path, *, n_test: int, size: int, load: int, seed: int, degrees: float, gamma: float) -> list[Path]:
    files = sorted(p for p in DATA.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if len(files) < n_test + 4:
        raise SystemExit(f"need more photos in {DATA} (found {len(files)})")
    random.Random(seed).shuffle(files)
    test, train = files[:n_test], files[n_test:]
    half = len(train) // 2
    if work.exists():
        shutil.rmtree(work)
    for d in ("trainA", "trainB"):
        (work / d).mkdir(parents=True)
    for i, f in enumerate(train):
        img = square(f, load)
        if i < half:
            img.save(work / "trainA" / f"{i:04d}.png")
        else:
            to_image(film_look(to_tensor(img), degrees, gamma)).save(work / "trainB" / f"{i:04d}.png")
    return test


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=14.0, help="training budget (wall clock)")
    ap.add_argument("--size", type=int, default=128, help="evaluation size (photos are loaded at 1.125× this)")
    ap.add_argument("--train-size", type=int, default=80, help="random training crop size (same image scale)")
    ap.add_argument("--netG", default="resnet_6blocks")
    ap.add_argument("--ngf", type=int, default=16)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument(
        "--lambda-identity", type=float, default=0.5, help="identity loss as a fraction of λ (the paper's 0.5)"
    )
    ap.add_argument("--n-test", type=int, default=24)
    ap.add_argument("--degrees", type=float, default=120.0)
    ap.add_argument("--gamma", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "runs" / "cyclegan_quality"))
    ap.add_argument("--grid", default=str(REPO / "docs" / "images" / "cyclegan_quality.jpg"))
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--threads", type=int, help="torch CPU threads (1 is far faster on an oversubscribed machine)")
    ap.add_argument("--model", default="cyclegan", choices=["cyclegan", "cut", "fastcut"])
    ap.add_argument("--num-patches", type=int, default=256, help="CUT / FastCUT: PatchNCE locations per layer")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from styleforge.data.transforms import PairedTransform
    from styleforge.data.unaligned import UnalignedDataset
    from styleforge.engine import StepContext, TrainConfig, fit
    from styleforge.engine.metrics import psnr, ssim
    from styleforge.gan.cut import CUT, CUTConfig
    from styleforge.gan.cyclegan import CycleGAN, CycleGANConfig

    out = Path(args.out)
    work = out / "data"
    load = round(args.size * 1.125)
    test = build_task(
        work, n_test=args.n_test, size=args.size, load=load, seed=args.seed, degrees=args.degrees, gamma=args.gamma
    )
    transform = PairedTransform(preprocess="crop", crop_size=args.train_size, flip=True)
    ds = UnalignedDataset(work / "trainA", work / "trainB", transform=transform, seed=args.seed)
    if args.model == "cyclegan":
        mcfg = CycleGANConfig(
            netG=args.netG, ngf=args.ngf, ndf=args.ndf, lr=args.lr, lambda_identity=args.lambda_identity
        )

        def make(seed: int) -> CycleGAN | CUT:
            return CycleGAN(mcfg, generator=torch.Generator().manual_seed(seed), pool_seed=seed)
    else:
        ccfg = CUTConfig(
            mode=args.model, netG=args.netG, ngf=args.ngf, ndf=args.ndf, lr=args.lr, num_patches=args.num_patches
        )

        def make(seed: int) -> CycleGAN | CUT:
            return CUT(ccfg, generator=torch.Generator().manual_seed(seed))

    # Measure the step time first so that the LR schedule (constant, then linear decay over
    # the second half) fits the budget; the budget is also a hard stop.
    probe = make(99)
    ctx = StepContext(dict(probe.networks), probe.make_optimizers(), torch.device("cpu"))
    batch = torch.utils.data.default_collate([ds[(i, i)] for i in range(1)])
    for _ in range(2):
        probe.train_step(batch, ctx)
    t = time.perf_counter()
    for _ in range(4):
        probe.train_step(batch, ctx)
    s_it = (time.perf_counter() - t) / 4
    del probe, ctx
    steps = int(args.minutes * 60 / (s_it * 1.1))
    epochs = max(2, steps // len(ds))
    print(
        f"{len(ds.files_a)} A / {len(ds.files_b)} B training photos, {len(test)} held out; "
        f"{s_it:.2f} s/step → ~{steps} steps = {epochs} epochs of {len(ds)} in {args.minutes} min",
        flush=True,
    )

    model = make(args.seed)
    cfg = TrainConfig(
        out_dir=str(out),
        n_epochs=epochs // 2,
        n_epochs_decay=epochs - epochs // 2,
        max_minutes=args.minutes,
        seed=args.seed,
        save_every_epochs=max(1, epochs // 4),
        keep_last=1,
        tensorboard=False,
        progress=False,
        num_workers=0,
        n_visuals=3,
        visual_every_epochs=max(1, epochs // 8),
        device="cpu",
    )
    if out.joinpath("checkpoints").exists():
        shutil.rmtree(out / "checkpoints")
    res = fit(model, ds, cfg)
    print(f"trained {res.step} steps ({res.epoch} epochs) in {res.seconds / 60:.1f} min")

    two_way = args.model == "cyclegan"
    G_A = model.networks["G_A" if two_way else "G"].eval()
    G_B = model.networks["G_B"].eval() if two_way else G_A
    G_A.pad_to_fit = G_B.pad_to_fit = True
    rows = {"identity: T(a) vs a": [], "G(a) vs T(a)": [], "F(T(a)) vs a": [], "F(G(a)) vs a (cycle)": []}
    if not two_way:  # CUT has no B → A generator
        del rows["F(T(a)) vs a"], rows["F(G(a)) vs a (cycle)"]
    grid_rows = []
    with torch.no_grad():
        for i, f in enumerate(test):
            a = to_tensor(square(f, args.size))
            ta = film_look(a, args.degrees, args.gamma)
            ga = ((G_A(a * 2 - 1) + 1) / 2).clamp(0, 1)
            fta = ((G_B(ta * 2 - 1) + 1) / 2).clamp(0, 1)
            fga = ((G_B(ga * 2 - 1) + 1) / 2).clamp(0, 1)
            for k, (x, y) in zip(rows, ((a, ta), (ga, ta), (fta, a), (fga, a)), strict=True):
                rows[k].append((float(psnr(x, y)), float(ssim(x, y))))  # zip stops at CUT's two rows
            if i < 4:
                grid_rows.append(torch.cat([a, ga, ta, ta, fta, a] if two_way else [a, ga, ta], 3))
    print(
        f"\n{args.model}; held-out photos: {len(test)}, {args.size}×{args.size}; "
        f"T = hue {args.degrees:g}° + gamma {args.gamma:g}; "
        f"{args.netG} ngf {args.ngf}, {args.train_size} px crops, lr {args.lr:g}, identity {args.lambda_identity:g}"
    )
    print(f"{'comparison':24s} {'PSNR dB':>8s} {'SSIM':>6s}")
    figures = {}
    for k, v in rows.items():
        p, s = float(np.mean([x[0] for x in v])), float(np.mean([x[1] for x in v]))
        figures[k] = {"psnr": p, "ssim": s}
        print(f"{k:24s} {p:8.2f} {s:6.3f}")
    base = figures["identity: T(a) vs a"]
    for k in [k for k in ("G(a) vs T(a)", "F(T(a)) vs a") if k in figures]:
        print(
            f"{k}: {figures[k]['psnr'] - base['psnr']:+.2f} dB, "
            f"SSIM {figures[k]['ssim'] - base['ssim']:+.3f} vs identity"
        )
    grid = torch.cat(grid_rows, 2)
    Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
    to_image(grid).save(args.grid, quality=88)
    print(f"sample grid ({'a | G(a) | T(a) ‖ T(a) | F(T(a)) | a' if two_way else 'a | G(a) | T(a)'}): {args.grid}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"steps": res.step, "minutes": res.seconds / 60, "s_per_step": s_it, "figures": figures}, indent=1
            )
        )


if __name__ == "__main__":
    main()
