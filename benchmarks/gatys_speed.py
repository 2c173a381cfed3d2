"""Gatys speed and memory: styleforge's optimiser against a bare backbone pass.

Prints, for the offline VGG16 on ../shared/data images:

* seconds per L-BFGS evaluation, against a bare forward + backward of the same
  truncated backbone on the same image (the goal: ≤ 1.10×, no waste around it);
* single-scale vs coarse-to-fine: time for multi-scale to reach the style loss
  of a single-scale run (goal ≤ 0.3×), final losses;
* peak RSS of each run (each in its own subprocess; goal ≤ 1.5 GB at 512 px);
* a plain PyTorch Gatys loop (the tutorial's: ``torch.optim.LBFGS`` over a closure, same VGG16,
  layers and weights, one scale) — seconds per evaluation, the peer of ours measured in the same run;
* an ``effnet-lite0`` preview at 512 px (goal ≤ 10 s);
* with CUDA: 512 px, 500 iterations, seconds (neural-style: 22 s on a Titan X).

Usage: ``python benchmarks/gatys_speed.py [--sizes 256,512] [--iterations 60] [--no-preview]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _child(spec: dict) -> dict:
    import torch

    from styleforge.backbones import build_backbone
    from styleforge.io import load_image, pil_to_tensor, resize_max_side
    from styleforge.transfer.gatys import GatysConfig, stylize_tensor

    device = spec.get("device", "cpu")
    size = spec["size"]
    c = pil_to_tensor(resize_max_side(load_image(DATA / "content" / spec["content"]), size))
    s = pil_to_tensor(resize_max_side(load_image(DATA / "styles" / spec["style"]), size))
    out: dict = {}
    if spec["kind"] == "bare":
        layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
        net = build_backbone("vgg16-offline", layers=layers, device=device)
        x = c.to(device).clone().requires_grad_(True)
        times = []
        for _ in range(spec["reps"] + 1):
            t = time.perf_counter()
            feats = net(x, layers)
            sum(f.sum() for f in feats.values()).backward()
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        out["sec_per_pass"] = sorted(times[1:])[len(times[1:]) // 2]
    elif spec["kind"] == "plain":  # the textbook loop: LBFGS over a closure, Gram losses written out
        import torch.nn.functional as F

        from styleforge.backbones import DEFAULT_LAYERS

        cfg = GatysConfig(image_size=size)
        content_layers, style_layers = (list(v) for v in DEFAULT_LAYERS["vgg"][:2])
        net = build_backbone("vgg16-offline", layers=[*style_layers, *content_layers], device=device)

        def gram(f: torch.Tensor) -> torch.Tensor:
            b, ch, h, w = f.shape
            f = f.reshape(b * ch, h * w)
            return f @ f.t() / (ch * h * w)

        with torch.no_grad():
            c_t = {k: v.detach() for k, v in net(c.to(device), content_layers).items()}
            s_t = {k: gram(v).detach() for k, v in net(s.to(device), style_layers).items()}
        img = c.to(device).clone().requires_grad_(True)
        opt = torch.optim.LBFGS([img], lr=1, max_iter=spec["iterations"], history_size=50,
                                tolerance_grad=-1, tolerance_change=-1)
        evals = []

        def closure() -> torch.Tensor:
            opt.zero_grad()
            feats = net(img, [*style_layers, *content_layers])
            loss = cfg.content_weight * sum(F.mse_loss(feats[k], c_t[k]) for k in content_layers)
            loss = loss + cfg.style_weight * sum(F.mse_loss(gram(feats[k]), s_t[k]) for k in style_layers)
            loss.backward()
            evals.append(time.perf_counter())
            return loss

        t0 = time.perf_counter()
        opt.step(closure)
        if device == "cuda":
            torch.cuda.synchronize()
        out.update(total=time.perf_counter() - t0, evaluations=len(evals),
                   sec_per_eval_final=(evals[-1] - evals[0]) / max(1, len(evals) - 1))
    else:
        cfg = GatysConfig(
            image_size=size,
            iterations=spec["iterations"],
            scales=tuple(spec["scales"]),
            seed=0,
            backbone=spec.get("backbone", "vgg16-offline"),
            device=device,
        )
        trace: list[tuple[float, int, float]] = []
        t0 = time.perf_counter()

        def cb(stage, step, losses, image):  # noqa: ANN001
            if stage.index == stage.count - 1:
                trace.append((time.perf_counter() - t0, step, losses["style"]))

        # build the backbone outside the timed region, as a warm session would
        probe = stylize_tensor(c, [s], GatysConfig(image_size=size, iterations=1, scales=(1.0,),
                                                   backbone=cfg.backbone, device=device))
        del probe
        t0 = time.perf_counter()
        r = stylize_tensor(c, [s], cfg, callback=cb)
        if device == "cuda":
            torch.cuda.synchronize()
        total = time.perf_counter() - t0
        final = trace
        out.update(
            total=total,
            evaluations=r.evaluations,
            sec_per_eval_final=(final[-1][0] - final[0][0]) / max(1, len(final) - 1) if len(final) > 1 else float("nan"),
            content=r.losses.get("content"),
            style=r.losses.get("style"),
            trace=trace,
        )
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def run(spec: dict) -> dict:
    p = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--iterations", type=int, default=60, help="single-scale evaluations (and per multi-scale stage)")
    ap.add_argument("--content", default="tubingen.jpg")
    ap.add_argument("--style", default="starry_night.jpg")
    ap.add_argument("--no-preview", action="store_true", help="skip the effnet-lite0 preview run")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return

    import torch

    base = {"content": args.content, "style": args.style}
    print(f"styleforge Gatys benchmark — {args.content} × {args.style}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'size':>5} {'run':<22} {'s/eval':>8} {'total s':>8} {'content':>10} {'style':>10} {'peak MB':>8}")
    for size in [int(s) for s in args.sizes.split(",")]:
        bare = run({**base, "kind": "bare", "size": size, "reps": 5})
        single = run({**base, "kind": "gatys", "size": size, "iterations": args.iterations, "scales": [1.0]})
        # multi-scale: the same budget per stage; stop measuring once it reaches the single-scale style loss
        multi = run({**base, "kind": "gatys", "size": size, "iterations": args.iterations,
                     "scales": [0.25, 0.5, 1.0]})
        print(f"{size:>5} {'bare fwd+bwd':<22} {bare['sec_per_pass']:>8.3f} {'':>8} {'':>10} {'':>10} {bare['peak_rss_mb']:>8.0f}")
        for name, r in (("single-scale", single), ("multi-scale 0.25/0.5/1", multi)):
            print(f"{size:>5} {name:<22} {r['sec_per_eval_final']:>8.3f} {r['total']:>8.1f} "
                  f"{r['content']:>10.4g} {r['style']:>10.4g} {r['peak_rss_mb']:>8.0f}")
        target = single["style"]
        reach = next((t for t, _, st in multi["trace"] if st <= target), None)
        overhead = single["sec_per_eval_final"] / bare["sec_per_pass"]
        print(f"      ratio s/eval ÷ bare pass: {overhead:.2f}× (goal ≤ 1.10)")
        plain = run({**base, "kind": "plain", "size": size, "iterations": args.iterations})
        print(f"{size:>5} {'plain PyTorch loop':<22} {plain['sec_per_eval_final']:>8.3f} {plain['total']:>8.1f} "
              f"{'':>10} {'':>10} {plain['peak_rss_mb']:>8.0f}")
        print(f"      ours ÷ plain loop, s/eval: {single['sec_per_eval_final'] / plain['sec_per_eval_final']:.2f}×")
        if reach is not None:
            # trace times count from the start of the whole multi-scale run
            print(f"      multi-scale reaches single-scale style loss {target:.4g} after {reach:.1f} s "
                  f"= {reach / single['total']:.2f}× single-scale time (goal ≤ 0.30)")
        else:
            print(f"      multi-scale final style loss {multi['style']:.4g} vs single {target:.4g}: "
                  f"not reached within {args.iterations} final-stage evaluations")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.no_preview:
        return
    eff = run({**base, "kind": "gatys", "size": 512, "iterations": 100, "scales": [1.0], "backbone": "effnet-lite0"})
    print(f"effnet-lite0 preview 512 px, 100 evaluations: {eff['total']:.1f} s (goal ≤ 10 s), peak {eff['peak_rss_mb']:.0f} MB")
    if torch.cuda.is_available():
        g = run({**base, "kind": "gatys", "size": 512, "iterations": 500, "scales": [1.0], "device": "cuda"})
        print(f"CUDA {torch.cuda.get_device_name()}: 512 px, 500 iterations: {g['total']:.1f} s "
              f"(neural-style: 22 s on a Titan X; goal < 5 s on an H100), {g['peak_cuda_mb']:.0f} MB")
    else:
        print("CUDA: not available on this machine (GPU section skipped)")


if __name__ == "__main__":
    main()
