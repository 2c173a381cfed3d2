"""bf16 autocast for instant-style training on the CPU: the VGG16 loss and a whole training step.

Prints, for the ``fast`` network and the offline VGG16 loss (the shipped models' recipe: batch 4,
160 px crops), the median seconds of (a) the loss network's forward + backward through
``PerStyleModel.losses`` and (b) a full training step (``train_step``: generator, loss, backward,
Adam), each in fp32 and under ``--amp bf16`` (``torch.autocast("cpu", torch.bfloat16)``), measured
alternately in the same run, the ratios fp32 ÷ bf16, the load average, and whether the CPU has
native bf16 (AMX / AVX512-BF16: without it bf16 is emulated and slower).

Usage: ``python benchmarks/instant_amp.py [--reps 7] [--crop 160] [--batch 4] [--threads 2]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--crop", type=int, default=160)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch

    from styleforge.engine import StepContext
    from styleforge.instant.train import PerStyleConfig, PerStyleModel

    torch.set_num_threads(args.threads)
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    native = [f for f in ("amx_bf16", "avx512_bf16") if f in flags]
    g = torch.Generator().manual_seed(0)
    style = torch.rand(1, 3, 256, 256, generator=g)
    model = PerStyleModel(style, PerStyleConfig(arch="fast"))
    x = torch.rand(args.batch, 3, args.crop, args.crop, generator=g)
    ctx = {
        amp: StepContext(dict(model.networks), model.make_optimizers(), torch.device("cpu"), amp)
        for amp in (None, torch.bfloat16)
    }

    def loss_pass(amp: torch.dtype | None) -> None:
        y = x.clone().requires_grad_(True)  # the loss network's part only: no generator
        with torch.autocast("cpu", torch.bfloat16, enabled=amp is not None):
            loss = model.losses(x, y)["total"]
        loss.backward()

    def step(amp: torch.dtype | None) -> None:
        model.train_step({"content": x}, ctx[amp])

    print(
        f"instant training, fast net + VGG16 loss, batch {args.batch} × {args.crop} px, {args.threads} threads, "
        f"torch {torch.__version__}; native bf16: {', '.join(native) or 'no (emulated)'}; "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    for name, fn in (("VGG16 loss forward + backward", loss_pass), ("training step", step)):
        times: dict[str, list[float]] = {"fp32": [], "bf16": []}
        fn(None), fn(torch.bfloat16)  # warm-up
        for _ in range(args.reps):
            for label, amp in (("fp32", None), ("bf16", torch.bfloat16)):
                t = time.perf_counter()
                fn(amp)
                times[label].append(time.perf_counter() - t)
        m = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"{name:32s} fp32 {m['fp32']:.3f} s  bf16 {m['bf16']:.3f} s  fp32 ÷ bf16 = {m['fp32'] / m['bf16']:.2f}×  "
            f"(per rep fp32 {' '.join(f'{t:.2f}' for t in times['fp32'])}; "
            f"bf16 {' '.join(f'{t:.2f}' for t in times['bf16'])})"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
