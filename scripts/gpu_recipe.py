"""GPU recipe for the instant path: trainings at the papers' scale for a time budget, then the benchmark.

One command when a GPU is lent (it also runs on CPU with ``--tiny``, as the test does)::

    python scripts/gpu_recipe.py --minutes 120 --out runs/gpu          # CUDA when available
    python scripts/gpu_recipe.py --tiny --out /tmp/recipe              # CPU smoke run (seconds of training)

1. WCT decoders (Li et al. 2017, the shipped passes relu3_1 … relu1_1, 256-px crops, batch 8,
   pixel + feature loss + transfer consistency on paintings; the benchmark's held-out images excluded) —
   ``python -m styleforge.instant.recon``, ``--wct-share`` of the minutes;
2. each built-in per-style network retrained (Johnson et al.: 256-px crops, batch 4) with
   ``styleforge train instant``, the rest of the minutes split between the styles;
3. ``benchmarks/instant_quality.py`` with the new WCT decoders (contact sheet and JSON in ``--out``).

Every command is printed before it runs and written to ``--out/commands.txt``; each training
resumes from its run folder when the script is run again.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STYLES = ("starry_night", "the_scream", "composition_vii", "woman-with-hat-matisse")
#: The shipped WCT network's passes, their work sizes (0: full size) and decoder feedback, as in the package's manifest.
WCT_PASSES, WCT_SIZES, WCT_FEEDBACK = ("relu3_1", "relu2_1", "relu1_1"), ("288", "384", "0"), ("relu2_1=1",)


def _run(cmd: list[str], log: Path) -> int:
    line = " ".join(shlex.quote(c) for c in cmd)
    print(f"$ {line}", flush=True)
    with open(log, "a") as fh:
        fh.write(line + "\n")
    t0 = time.time()
    rc = subprocess.call(cmd, cwd=REPO)
    print(f"  → exit {rc} after {time.time() - t0:.0f} s", flush=True)
    return rc


def commands(args: argparse.Namespace) -> list[list[str]]:
    """The recipe's commands for ``args`` (pure: the test checks them)."""
    py = sys.executable
    data, out = Path(args.data), Path(args.out)
    photos = [
        "--content-dir",
        str(data / "more" / "content"),
        "--content-dir",
        str(data / "content"),
        "--content-dir",
        str(data / "photo" / "input"),
    ]
    device = args.device
    if device == "auto":
        try:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            device = "cpu"
    wct_min = args.minutes * args.wct_share
    style_min = args.minutes * (1 - args.wct_share) / len(args.styles)
    tiny = args.tiny
    paintings = ["--style-dir", str(data / "more" / "styles"), "--style-dir", str(data / "styles")]
    wct = [
        py,
        "-m",
        "styleforge.instant.recon",
        *photos,
        *paintings,
        "--wct-weight",
        "1",
        "--exclude-file",
        str(REPO / "benchmarks" / "instant_heldout.txt"),
        "--levels",
        *WCT_PASSES,
        "--passes",
        *WCT_PASSES,
        "--sizes",
        *WCT_SIZES,
        "--feedback",
        *WCT_FEEDBACK,
        "--crop",
        "32" if tiny else "256",
        "--batch-size",
        "2" if tiny else "8",
        "--lr",
        "1e-3",
        "--max-minutes",
        f"{wct_min:g}",
        "--device",
        device,
        "--out",
        str(out / "wct"),
    ]
    if tiny:
        wct += ["--max-steps", "1", "--eval-every", "1"]
    cmds = [wct]
    for style in args.styles:
        c = [
            py,
            "-m",
            "styleforge",
            "train",
            "instant",
            "--style",
            style,
            *photos,
            "--arch",
            "fast",
            "--crop",
            "32" if tiny else "256",
            "--batch-size",
            "2" if tiny else "4",
            "--lr",
            "1e-3",
            "--num-workers",
            "0" if tiny else "4",
            "--no-progress",
            "--amp",
            "auto",
            "--device",
            device,
            "--max-minutes",
            f"{style_min:g}",
            "--out",
            str(out / style.replace("-", "_")),
        ]
        c += (
            ["--max-steps", "1", "--n-epochs", "1", "--n-epochs-decay", "0"]
            if tiny
            else ["--n-epochs", "40", "--n-epochs-decay", "20"]
        )
        cmds.append(c)
    bench = [
        py,
        str(REPO / "benchmarks" / "instant_quality.py"),
        "--data",
        str(data),
        "--wct-weights",
        str(out / "wct" / "weights" / "wct.safetensors"),
        "--sheet",
        str(out / "instant_quality.jpg"),
        "--json",
        str(out / "instant_quality.json"),
        "--cache",
        str(out / "gatys_cache"),
    ]
    if tiny:
        bench += ["--pairs", "1", "--no-gatys", "--no-refine", "--no-builtin", "--reps", "1", "--sizes", "256"]
    cmds.append(bench)
    return cmds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=120.0, help="training budget in all (default %(default)s)")
    ap.add_argument("--wct-share", type=float, default=0.5, help="share of the minutes for the WCT decoders")
    ap.add_argument("--styles", nargs="*", default=list(STYLES), help="built-in per-style networks to retrain")
    ap.add_argument("--data", default=str((REPO / ".." / "shared" / "data").resolve()))
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cuda, cpu")
    ap.add_argument("--out", default=str(REPO / "runs" / "gpu_recipe"))
    ap.add_argument("--tiny", action="store_true", help="one step per training, one benchmark pair (a CPU smoke run)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = ap.parse_args(argv)
    if not 0 <= args.wct_share <= 1 or args.minutes <= 0:
        print("error: --minutes must be > 0 and --wct-share between 0 and 1", file=sys.stderr)
        return 2
    if not Path(args.data).is_dir():
        print(f"error: data folder not found: {args.data}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for cmd in commands(args):
        if args.dry_run:
            print(" ".join(shlex.quote(c) for c in cmd))
            continue
        rc = _run(cmd, out / "commands.txt")
        if rc != 0:
            print(f"error: step failed (exit {rc}): {cmd[1:4]}", file=sys.stderr)
            return rc
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
