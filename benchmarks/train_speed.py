"""Training speed and peak memory of pix2pix (unet_256 + 70×70 PatchGAN, batch 1) on this machine.

Each configuration runs in its own subprocess (so peak RSS is its own) for
``--iters`` timed iterations after ``--warmup``.  One iteration = one D update +
one G update.  Printed against:

- ``naive``: the reference implementation's algorithm on the same networks, measured
  in the same run (separate D(fake)/D(real) forwards, foreach Adam, toggled
  requires_grad) — the fair in-run baseline on a shared CPU;
- the reference implementation's published figure on this machine: 1.09 s/it, 1.9 GB.

A GPU section (fp32 vs bf16) runs when CUDA is present.

    python benchmarks/train_speed.py                  # 256 px, 5 iterations
    python benchmarks/train_speed.py --size 128 --iters 3 --variants naive,ours
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
    "ours": "styleforge Pix2Pix.train_step (fused D forward, fused Adam)",
    "ours_foreach": "ours with foreach Adam instead of fused",
    "ours_unfused_d": "ours with separate D(fake)/D(real) forwards",
    "ours_channels_last": "ours with channels_last on CPU",
    "ours_batchnorm": "ours with --norm batch (the reference's pix2pix default)",
}


def child(variant: str, size: int, iters: int, warmup: int, device: str, amp: str) -> dict[str, float]:
    import torch

    from styleforge.engine import StepContext
    from styleforge.gan import Pix2Pix, Pix2PixConfig
    from styleforge.gan.losses import gan_loss

    torch.manual_seed(0)
    dev = torch.device(device)
    norm = "batch" if variant == "ours_batchnorm" else "instance"
    model = Pix2Pix(Pix2PixConfig(netG="unet_256", norm=norm, dropout=True))
    channels_last = variant == "ours_channels_last" or dev.type == "cuda"
    for n in model.networks.values():
        n.to(dev)
        if channels_last:
            n.to(memory_format=torch.channels_last)
    if variant in ("naive", "ours_foreach"):
        opts = {k: torch.optim.Adam(n.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=True) for k, n in model.networks.items()}
    else:
        opts = model.make_optimizers()
    amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp) if dev.type == "cuda" else None
    ctx = StepContext(dict(model.networks), opts, dev, amp_dtype, None, channels_last)
    g = torch.Generator().manual_seed(1)
    batch = {"A": torch.rand(1, 3, size, size, generator=g) * 2 - 1, "B": torch.rand(1, 3, size, size, generator=g) * 2 - 1}
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


def run_child(variant: str, args: argparse.Namespace, device: str = "cpu", amp: str = "none") -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", variant, "--size", str(args.size), "--iters", str(args.iters),
           "--warmup", str(args.warmup), "--device", device, "--amp", amp]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--variants", default="naive,ours,ours_foreach,ours_unfused_d,ours_channels_last,ours_batchnorm")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    ap.add_argument("--amp", default="none", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.iters, args.warmup, args.device, args.amp)))
        return
    import torch

    print(f"pix2pix unet_256 + basic D, batch 1, {args.size} px, CPU threads {torch.get_num_threads()}, "
          f"load {os.getloadavg()[0]:.1f}; {args.iters} iterations after {args.warmup} warm-up")
    rows = {}
    for v in args.variants.split(","):
        rows[v] = run_child(v, args)
    base = rows.get("naive")
    print(f"\n{'variant':20s} {'s/it':>7s} {'it/s':>6s} {'peak RSS':>9s} {'vs naive':>9s} {'vs ref 1.09 s':>13s}  description")
    for v, r in rows.items():
        vs_naive = f"{base['s_per_it'] / r['s_per_it']:.2f}×" if base else "-"
        vs_ref = f"{REFERENCE_S_PER_IT / r['s_per_it']:.2f}×" if args.size == 256 else "-"
        print(f"{v:20s} {r['s_per_it']:7.3f} {1 / r['s_per_it']:6.2f} {r['peak_rss_gb']:7.2f}GB {vs_naive:>9s} {vs_ref:>13s}  {VARIANTS[v]}")
    if args.size == 256:
        print(f"\nreference implementation on this machine: {REFERENCE_S_PER_IT} s/it, {REFERENCE_RSS_GB} GB peak RSS "
              f"(goal: ≤ 0.9 s/it, ≤ {REFERENCE_RSS_GB} GB)")
    if torch.cuda.is_available():
        print("\nGPU (channels_last):")
        for amp in ("none", "bf16"):
            r = run_child("ours", args, device="cuda", amp=amp)
            print(f"  {amp:5s} {r['s_per_it'] * 1000:8.1f} ms/it  peak GPU {r['peak_gpu_gb']:.2f} GB")


if __name__ == "__main__":
    main()
