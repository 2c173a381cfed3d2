"""Training speed and peak memory of pix2pix (unet_256 + 70×70 PatchGAN, batch 1) on this machine.

Each configuration runs in its own subprocess (so peak RSS is its own) for
``--iters`` timed iterations after ``--warmup``.  One iteration = one D update +
one G update.  Printed against:

- ``naive``: a faithful reimplementation of the reference training step on the same
  networks, measured in the same run (same order of updates: G forward, D update, G
  update; separate D(fake)/D(real) forwards; toggled requires_grad; PyTorch's default
  Adam; no fusions) — the fair in-run baseline on a shared CPU, and the goal's ratio;
- the reference implementation's own figure, measured elsewhere (this project's first
  turn, same machine type, another load): 1.09 s/it, 1.9 GB.  Quoted, not re-measured.

A GPU section (fp32 vs bf16) runs when CUDA is present.

    python benchmarks/train_speed.py                  # 256 px, 5 iterations
    python benchmarks/train_speed.py --size 128 --iters 3 --variants naive,ours

CycleGAN (``--model cyclegan``: resnet_9blocks at 256 px, resnet_6blocks at 128 px, two
70×70 PatchGANs, LSGAN, identity loss, pools of 50; one iteration = one G + one D update)
against ``cg_naive`` (the reference step, in-run) and the reference implementation's
figures measured elsewhere (256 px: 11.4 s/it, 4.2 GB; 128 px: 2.28 s/it, 1.7 GB):

    python benchmarks/train_speed.py --model cyclegan --size 128 --iters 3

CUT / FastCUT (``--model cut``: the anti-aliased ResNet G and PatchGAN of the reference,
PatchNCE on 5 layers × 256 patches) against ``cut_naive`` / ``fastcut_naive`` (the reference
step: the key features go through G and F with a graph, as the reference does; default Adam),
and ``cg_ours`` at the same size for the goal "FastCUT ≥ 2× CycleGAN's it/s":

    python benchmarks/train_speed.py --model cut --size 128 --iters 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

REFERENCE_S_PER_IT = 1.09
REFERENCE_RSS_GB = 1.9

VARIANTS = {
    "naive": "reference algorithm, same nets (in-run baseline)",
    "ours": "styleforge defaults: fused D forward, fused Adam (channels_last on CUDA only)",
    "ours_channels_last": "ours with channels_last on CPU too",
    "ours_foreach": "ours with foreach Adam instead of fused",
    "ours_unfused_d": "ours with separate D(fake)/D(real) forwards",
    "ours_batchnorm": "ours with --norm batch (the reference's pix2pix default)",
}


CG_REFERENCE = {256: (11.4, 4.2), 128: (2.28, 1.7)}  # s/it, peak RSS GB (reference implementation, this machine)
CG_VARIANTS = {
    "cg_naive": "reference algorithm, same nets: 6 G forwards + 1 backward, separate D forwards, default Adam",
    "cg_ours": "styleforge CycleGAN.train_step (per-cycle backwards, batched forwards, fused Adam)",
    "cg_ours_unfused": "ours without batched forwards (separate identity / D forwards)",
}
CUT_VARIANTS = {
    "cut_naive": "reference CUT step, same nets: keys through G and F with a graph, default Adam",
    "cut_ours": "styleforge CUT.train_step (keys without a graph, fused Adam)",
    "fastcut_naive": "reference FastCUT step, same nets",
    "fastcut_ours": "styleforge FastCUT (CUT.train_step, mode fastcut)",
    "cg_ours": "styleforge CycleGAN at the same size (for FastCUT ≥ 2× CycleGAN)",
}


def measure(step, dev, iters: int, warmup: int) -> dict[str, float]:
    """Seconds per ``step()`` after ``warmup`` calls, peak RSS (and peak GPU memory on CUDA)."""
    import torch

    for _ in range(warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    s = (time.perf_counter() - t) / iters
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KB → GB
    out = {"s_per_it": s, "peak_rss_gb": rss, "threads": torch.get_num_threads()}
    if dev.type == "cuda":
        out["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 1024**3
    return out


def cyclegan_child(variant: str, size: int, iters: int, warmup: int, device: str, amp: str) -> dict[str, float]:
    import torch

    from styleforge.gan.cyclegan import CycleGAN, CycleGANConfig
    from styleforge.gan.losses import gan_loss

    torch.manual_seed(0)
    dev = torch.device(device)
    netG = "resnet_9blocks" if size >= 256 else "resnet_6blocks"
    model = CycleGAN(CycleGANConfig(netG=netG, fuse=variant != "cg_ours_unfused"))
    channels_last = dev.type == "cuda"
    for n in model.networks.values():
        n.to(dev)
        if channels_last:
            n.to(memory_format=torch.channels_last)
    nets = model.networks
    if variant == "cg_naive":
        opts = {
            "G": torch.optim.Adam(
                [p for k in ("G_A", "G_B") for p in nets[k].parameters()], lr=2e-4, betas=(0.5, 0.999)
            ),
            "D": torch.optim.Adam(
                [p for k in ("D_A", "D_B") for p in nets[k].parameters()], lr=2e-4, betas=(0.5, 0.999)
            ),
        }
    else:
        opts = model.make_optimizers()
    ctx, batch = context_and_batch(nets, opts, dev, amp, channels_last, size)
    G_A, G_B, D_A, D_B = (nets[k] for k in ("G_A", "G_B", "D_A", "D_B"))
    l1 = torch.nn.functional.l1_loss

    def naive_step() -> None:  # models/cycle_gan_model.py: optimize_parameters
        real_a, real_b = batch["A"].to(dev), batch["B"].to(dev)
        fake_b = G_A(real_a)
        rec_a = G_B(fake_b)
        fake_a = G_B(real_b)
        rec_b = G_A(fake_a)
        for p in [*D_A.parameters(), *D_B.parameters()]:
            p.requires_grad = False
        opts["G"].zero_grad()
        idt_a, idt_b = G_A(real_b), G_B(real_a)
        loss_g = (
            gan_loss(D_A(fake_b), True, "lsgan")
            + gan_loss(D_B(fake_a), True, "lsgan")
            + 10 * l1(rec_a, real_a)
            + 10 * l1(rec_b, real_b)
            + 5 * l1(idt_a, real_b)
            + 5 * l1(idt_b, real_a)
        )
        loss_g.backward()
        opts["G"].step()
        for p in [*D_A.parameters(), *D_B.parameters()]:
            p.requires_grad = True
        opts["D"].zero_grad()
        for D, real, fake in (
            (D_A, real_b, model.pools["A"].query(fake_b)),
            (D_B, real_a, model.pools["B"].query(fake_a)),
        ):
            loss_d = 0.5 * (gan_loss(D(real), True, "lsgan") + gan_loss(D(fake.detach()), False, "lsgan"))
            loss_d.backward()
        opts["D"].step()

    step = naive_step if variant == "cg_naive" else (lambda: model.train_step(batch, ctx))
    return measure(step, dev, iters, warmup)


def context_and_batch(nets, opts, dev, amp: str, channels_last: bool, size: int):
    """The step context (AMP on CUDA only) and one fixed random A/B batch in [-1, 1]."""
    import torch

    from styleforge.engine import StepContext

    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp) if dev.type == "cuda" else None
    ctx = StepContext(dict(nets), opts, dev, amp_dtype, None, channels_last)
    g = torch.Generator().manual_seed(1)
    return ctx, {
        "A": torch.rand(1, 3, size, size, generator=g) * 2 - 1,
        "B": torch.rand(1, 3, size, size, generator=g) * 2 - 1,
    }


def cut_child(variant: str, size: int, iters: int, warmup: int, device: str, amp: str) -> dict[str, float]:
    import torch

    from styleforge.gan.cut import CUT, CUTConfig, patch_nce_loss
    from styleforge.gan.losses import gan_loss

    torch.manual_seed(0)
    dev = torch.device(device)
    mode = variant.split("_")[0]
    netG = "resnet_9blocks" if size >= 256 else "resnet_6blocks"
    model = CUT(CUTConfig(mode=mode, netG=netG))
    channels_last = dev.type == "cuda"
    for n in model.networks.values():
        n.to(dev)
        if channels_last:
            n.to(memory_format=torch.channels_last)
    nets, c = model.networks, model.config
    if variant.endswith("naive"):
        opts = {k: torch.optim.Adam(nets[k].parameters(), lr=2e-4, betas=(0.5, 0.999)) for k in ("G", "D", "F")}
    else:
        opts = model.make_optimizers()
    ctx, batch = context_and_batch(nets, opts, dev, amp, channels_last, size)
    G, D, Fn = nets["G"], nets["D"], nets["F"]

    def nce(src: torch.Tensor, tgt: torch.Tensor, flipped: bool) -> torch.Tensor:  # models/cut_model.py
        feat_q = G.features(tgt, c.nce_layers)
        if flipped:
            feat_q = [torch.flip(f, [3]) for f in feat_q]
        feat_k = G.features(src, c.nce_layers)  # with a graph, detached inside the loss
        k_pool, ids = Fn(feat_k, c.num_patches)
        q_pool, _ = Fn(feat_q, c.num_patches, ids)
        return sum(
            patch_nce_loss(q, k, c.nce_T).mean() * c.lambda_nce for q, k in zip(q_pool, k_pool, strict=True)
        ) / len(c.nce_layers)

    def naive_step() -> None:  # models/cut_model.py: optimize_parameters
        real_a, real_b = batch["A"].to(dev), batch["B"].to(dev)
        real = torch.cat([real_a, real_b]) if c.nce_idt else real_a
        flipped = bool(c.flip_equivariance) and bool(torch.rand(()) < 0.5)
        if flipped:
            real = torch.flip(real, [3])
        fake = G(real)
        fake_b = fake[:1]
        for p in D.parameters():
            p.requires_grad = True
        opts["D"].zero_grad()
        loss_d = 0.5 * (gan_loss(D(fake_b.detach()), False, "lsgan") + gan_loss(D(real_b), True, "lsgan"))
        loss_d.backward()
        opts["D"].step()
        for p in D.parameters():
            p.requires_grad = False
        opts["G"].zero_grad()
        opts["F"].zero_grad()
        loss_nce = nce(real_a, fake_b, flipped)
        if c.nce_idt:
            loss_nce = 0.5 * (loss_nce + nce(real_b, fake[1:], flipped))
        loss_g = gan_loss(D(fake_b), True, "lsgan") + loss_nce
        loss_g.backward()
        opts["G"].step()
        opts["F"].step()

    step = naive_step if variant.endswith("naive") else (lambda: model.train_step(batch, ctx))
    return measure(step, dev, iters, warmup)


def cut_main(args: argparse.Namespace) -> None:
    import torch

    variants = args.variants if args.variants.split(",")[0] in CUT_VARIANTS else ",".join(CUT_VARIANTS)
    netG = "resnet_9blocks" if args.size >= 256 else "resnet_6blocks"
    print(
        f"CUT / FastCUT {netG} (anti-aliased) + basic D, batch 1, {args.size} px, CPU threads "
        f"{torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}; {args.iters} iterations after {args.warmup} "
        f"warm-up, best of {args.repeat}"
    )
    rows: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for v in variants.split(","):
            r = run_child(v, args)
            if v not in rows or r["s_per_it"] < rows[v]["s_per_it"]:
                rows[v] = {**r, "peak_rss_gb": max(r["peak_rss_gb"], rows.get(v, r)["peak_rss_gb"])}
    print(f"\n{'variant':14s} {'s/it':>7s} {'it/s':>6s} {'peak RSS':>9s} {'vs naive':>9s}  description")
    for v, r in rows.items():
        base = rows.get(v.replace("_ours", "_naive")) if v.endswith("_ours") and not v.startswith("cg") else None
        vs = f"{base['s_per_it'] / r['s_per_it']:.2f}×" if base else "-"
        print(
            f"{v:14s} {r['s_per_it']:7.3f} {1 / r['s_per_it']:6.2f} {r['peak_rss_gb']:7.2f}GB "
            f"{vs:>9s}  {CUT_VARIANTS[v]}"
        )
    if "fastcut_ours" in rows and "cg_ours" in rows:
        ratio = rows["cg_ours"]["s_per_it"] / rows["fastcut_ours"]["s_per_it"]
        print(
            f"\nFastCUT / CycleGAN it/s (both ours, this run): {ratio:.2f}× (goal ≥ 2×); "
            f"load now {os.getloadavg()[0]:.1f}"
        )
    if torch.cuda.is_available():
        print("\nGPU (channels_last):")
        for amp in ("none", "bf16"):
            r = run_child("fastcut_ours", args, device="cuda", amp=amp)
            print(f"  fastcut {amp:5s} {r['s_per_it'] * 1000:8.1f} ms/it  peak GPU {r['peak_gpu_gb']:.2f} GB")


def cyclegan_main(args: argparse.Namespace) -> None:
    import torch

    variants = args.variants if args.variants.startswith("cg_") else ",".join(CG_VARIANTS)
    netG = "resnet_9blocks" if args.size >= 256 else "resnet_6blocks"
    print(
        f"CycleGAN {netG} + 2× basic D, batch 1, {args.size} px, CPU threads {torch.get_num_threads()}, "
        f"load {os.getloadavg()[0]:.1f}; {args.iters} iterations after {args.warmup} warm-up, best of {args.repeat}"
    )
    rows = {v: run_child(v, args) for v in variants.split(",")}
    base = rows.get("cg_naive")
    ref = CG_REFERENCE.get(args.size)
    ref_col = f"vs quoted {ref[0]}" if ref else "vs quoted"
    print(f"\n{'variant':16s} {'s/it':>7s} {'it/s':>6s} {'peak RSS':>9s} {'vs naive':>9s} {ref_col:>13s}  description")
    for v, r in rows.items():
        vs_naive = f"{base['s_per_it'] / r['s_per_it']:.2f}×" if base else "-"
        vs_ref = f"{ref[0] / r['s_per_it']:.2f}×" if ref else "-"
        print(
            f"{v:16s} {r['s_per_it']:7.3f} {1 / r['s_per_it']:6.2f} {r['peak_rss_gb']:7.2f}GB {vs_naive:>9s} "
            f"{vs_ref:>13s}  {CG_VARIANTS[v]}"
        )
    if ref:
        print(
            f"\nreference implementation, measured elsewhere (not in this run): {ref[0]} s/it, {ref[1]} GB peak RSS; "
            f"the goal is ≥ 1.2× cg_naive's it/s in this run"
        )
    if torch.cuda.is_available():
        print("\nGPU (channels_last):")
        for amp in ("none", "bf16"):
            r = run_child("cg_ours", args, device="cuda", amp=amp)
            print(f"  {amp:5s} {r['s_per_it'] * 1000:8.1f} ms/it  peak GPU {r['peak_gpu_gb']:.2f} GB")


def child(variant: str, size: int, iters: int, warmup: int, device: str, amp: str) -> dict[str, float]:
    import torch

    if variant.startswith("cg_"):
        return cyclegan_child(variant, size, iters, warmup, device, amp)
    if variant.startswith(("cut_", "fastcut_")):
        return cut_child(variant, size, iters, warmup, device, amp)

    from styleforge.gan import Pix2Pix, Pix2PixConfig
    from styleforge.gan.losses import gan_loss

    torch.manual_seed(0)
    dev = torch.device(device)
    norm = "batch" if variant == "ours_batchnorm" else "instance"
    model = Pix2Pix(Pix2PixConfig(netG="unet_256", norm=norm, dropout=True))
    channels_last = variant == "ours_channels_last" or (variant.startswith("ours") and dev.type == "cuda")
    for n in model.networks.values():
        n.to(dev)
        if channels_last:
            n.to(memory_format=torch.channels_last)
    if variant == "naive":  # the reference's torch.optim.Adam(...): PyTorch's default implementation
        opts = {k: torch.optim.Adam(n.parameters(), lr=2e-4, betas=(0.5, 0.999)) for k, n in model.networks.items()}
    elif variant == "ours_foreach":
        opts = {
            k: torch.optim.Adam(n.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=True)
            for k, n in model.networks.items()
        }
    else:
        opts = model.make_optimizers()
    ctx, batch = context_and_batch(model.networks, opts, dev, amp, channels_last, size)
    G, D = model.networks["G"], model.networks["D"]
    if variant == "ours_unfused_d":
        object.__setattr__(model.config, "fuse_d", False)  # two D forwards; networks unchanged

    def naive_step() -> None:
        real_a, real_b = batch["A"].to(dev), batch["B"].to(dev)
        fake_b = G(real_a)
        for p in D.parameters():
            p.requires_grad = True
        opts["D"].zero_grad()
        fake_ab = torch.cat((real_a, fake_b), 1)
        loss_d_fake = gan_loss(D(fake_ab.detach()), False)
        loss_d_real = gan_loss(D(torch.cat((real_a, real_b), 1)), True)
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        opts["D"].step()
        for p in D.parameters():
            p.requires_grad = False
        opts["G"].zero_grad()
        loss_g = gan_loss(D(fake_ab), True) + torch.nn.functional.l1_loss(fake_b, real_b) * 100
        loss_g.backward()
        opts["G"].step()

    step = naive_step if variant == "naive" else (lambda: model.train_step(batch, ctx))
    return measure(step, dev, iters, warmup)


def run_child(variant: str, args: argparse.Namespace, device: str = "cpu", amp: str = "none") -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--size",
        str(args.size),
        "--iters",
        str(args.iters),
        "--warmup",
        str(args.warmup),
        "--device",
        device,
        "--amp",
        amp,
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="run the variant list N times, keep each one's best")
    ap.add_argument("--variants", default="naive,ours,ours_channels_last,ours_foreach,ours_unfused_d,ours_batchnorm")
    ap.add_argument("--model", default="pix2pix", choices=["pix2pix", "cyclegan", "cut"])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    ap.add_argument("--amp", default="none", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.iters, args.warmup, args.device, args.amp)))
        return
    if args.model == "cyclegan":
        cyclegan_main(args)
        return
    if args.model == "cut":
        cut_main(args)
        return
    import torch

    print(
        f"pix2pix unet_256 + basic D, batch 1, {args.size} px, CPU threads {torch.get_num_threads()}, "
        f"load {os.getloadavg()[0]:.1f}; {args.iters} iterations after {args.warmup} warm-up, best of {args.repeat}"
    )
    rows: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):  # interleaved, so a burst of load on a shared CPU hits every variant
        for v in args.variants.split(","):
            r = run_child(v, args)
            if v not in rows or r["s_per_it"] < rows[v]["s_per_it"]:
                rows[v] = {**r, "peak_rss_gb": max(r["peak_rss_gb"], rows.get(v, r)["peak_rss_gb"])}
    base = rows.get("naive")
    print(
        f"\n{'variant':20s} {'s/it':>7s} {'it/s':>6s} {'peak RSS':>9s} {'vs naive':>9s} "
        f"{'vs quoted 1.09':>14s}  description"
    )
    for v, r in rows.items():
        vs_naive = f"{base['s_per_it'] / r['s_per_it']:.2f}×" if base else "-"
        vs_ref = f"{REFERENCE_S_PER_IT / r['s_per_it']:.2f}×" if args.size == 256 else "-"
        print(
            f"{v:20s} {r['s_per_it']:7.3f} {1 / r['s_per_it']:6.2f} {r['peak_rss_gb']:7.2f}GB {vs_naive:>9s} "
            f"{vs_ref:>13s}  {VARIANTS[v]}"
        )
    if args.size == 256:
        print(
            f"\nreference implementation, measured elsewhere (not in this run): {REFERENCE_S_PER_IT} s/it, "
            f"{REFERENCE_RSS_GB} GB peak RSS; the goal is ≥ 1.2× naive's it/s in this run with ≤ its memory"
        )
    if torch.cuda.is_available():
        print("\nGPU (channels_last):")
        for amp in ("none", "bf16"):
            r = run_child("ours", args, device="cuda", amp=amp)
            print(f"  {amp:5s} {r['s_per_it'] * 1000:8.1f} ms/it  peak GPU {r['peak_gpu_gb']:.2f} GB")


if __name__ == "__main__":
    main()
