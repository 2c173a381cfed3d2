"""One command at two commits, run alternately: the speed a change made, on a machine whose speed drifts.

On this VM the same command's wall time drifts by 10–20 % over minutes, so two figures taken apart
(a results file before a change, one after) cannot show a change of a few percent.  Here the
command runs from two ``git worktree`` checkouts of the repository, ``--rev-a`` and ``--rev-b``, in
turn (a, b, a, b, …; the first pair uncounted, it warms the file cache), each in a fresh process
with the same environment and this checkout's virtual environment (``PYTHONPATH`` picks the
checkout's ``src``), and the medians and each run's wall time and load average are recorded.

    python benchmarks/command_ab.py --rev-a eb6312c --rev-b HEAD --pairs 5 --name video_ab_moving \\
        -- styleforge video benchmarks/clips/moving_camera.mp4 --instant starry_night -o {out}.mp4

``{out}`` in the command is replaced by a fresh path per run (outputs are deleted).  A relative path
in the command is taken from this repository's root.  ``--frames N`` adds ``frames/s`` (N ÷ wall).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from receipts import REPO, write_results  # noqa: E402


def _rev(rev: str) -> str:
    out = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"unknown revision {rev!r}")
    return out.stdout.strip()


def _argv(cmd: list[str], out: str) -> list[str]:
    bindir = Path(sys.executable).parent
    first = str(bindir / cmd[0]) if (bindir / cmd[0]).exists() else cmd[0]
    rest = [a.replace("{out}", out) for a in cmd[1:]]
    return [first, *[str(REPO / a) if not a.startswith("-") and (REPO / a).exists() else a for a in rest]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev-a", required=True, help="the commit before (git revision)")
    ap.add_argument("--rev-b", default="HEAD", help="the commit after (default HEAD)")
    ap.add_argument("--pairs", type=int, default=5, help="counted pairs of runs (one more warms up)")
    ap.add_argument("--frames", type=int, default=0, help="frames the command writes: adds frames/s")
    ap.add_argument("--name", default=None, help="results file benchmarks/results/NAME.json (none: print only)")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- the command ({out}: a fresh output path)")
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        raise SystemExit("give the command after --")
    if args.pairs < 1:
        raise SystemExit("--pairs must be ≥ 1")
    revs = {"a": _rev(args.rev_a), "b": _rev(args.rev_b)}
    walls: dict[str, list[float]] = {"a": [], "b": []}
    loads: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="command-ab-") as tmp:
        trees = {}
        for key, rev in revs.items():
            trees[key] = Path(tmp) / f"tree-{key}"
            add = ["git", "worktree", "add", "--detach", "-f", str(trees[key]), rev]
            subprocess.run(add, cwd=REPO, check=True, capture_output=True)
            where = subprocess.run(
                [sys.executable, "-c", "import styleforge; print(styleforge.__file__)"],
                env={**os.environ, "PYTHONPATH": str(trees[key] / "src")},
                capture_output=True,
                text=True,
            ).stdout.strip()
            if not where.startswith(str(trees[key])):  # an editable install's finder would shadow PYTHONPATH
                raise SystemExit(f"styleforge is imported from {where}, not from the checkout of {rev}")
        try:
            for i in range(args.pairs + 1):
                for key in ("a", "b"):
                    out = str(Path(tmp) / f"out-{key}-{i}")
                    env = {**os.environ, "PYTHONPATH": str(trees[key] / "src")}
                    load = os.getloadavg()[0]
                    t = time.perf_counter()
                    proc = subprocess.run(_argv(cmd, out), capture_output=True, text=True, env=env, cwd=REPO)
                    wall = time.perf_counter() - t
                    if proc.returncode:
                        raise SystemExit(f"the command failed at {revs[key]}: {proc.stderr.strip()[-400:]}")
                    for p in Path(tmp).glob(f"out-{key}-{i}*"):
                        p.unlink()
                    label = "warm-up" if i == 0 else f"pair {i}"
                    print(f"  {label}  {key} ({revs[key]})  {wall:6.2f} s  load {load:.2f}", flush=True)
                    if i:
                        walls[key].append(wall)
                        loads.append((key, round(wall, 3), round(load, 2)))
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)
            subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True)
    med = {k: statistics.median(v) for k, v in walls.items()}
    ratios = [b / a for a, b in zip(walls["a"], walls["b"], strict=True)]
    figures: dict[str, object] = {
        "command": " ".join(cmd),
        "rev_a": revs["a"],
        "rev_b": revs["b"],
        "pairs": args.pairs,
        "median_wall_s": {k: round(v, 3) for k, v in med.items()},
        "ratio_b_over_a": round(med["b"] / med["a"], 4),
        "ratio_per_pair": [round(r, 4) for r in ratios],
        "b_faster_in_pairs": sum(r < 1 for r in ratios),
        "runs": [{"rev": k, "wall_s": w, "load_before": ld} for k, w, ld in loads],
    }
    if args.frames:
        figures["frames_per_second"] = {k: round(args.frames / v, 3) for k, v in med.items()}
    print(
        f"median {med['a']:.2f} s ({revs['a']}) → {med['b']:.2f} s ({revs['b']}): ×{med['b'] / med['a']:.3f}; "
        f"b faster in {figures['b_faster_in_pairs']} of {args.pairs} pairs"
        + (f"; frames/s {args.frames / med['a']:.2f} → {args.frames / med['b']:.2f}" if args.frames else "")
    )
    if args.name:
        print(f"wrote {write_results(args.name, figures, threads=os.cpu_count() or 1)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
