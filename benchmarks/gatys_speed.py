"""Gatys speed: the default ``styleforge stylize`` against the old default, measured for quality.

Prints, on ../shared/data content × style pairs, each run in its own subprocess
(wall seconds, CPU seconds of all threads, peak RSS, the load average beside
every figure — on a shared machine the CPU seconds and same-run ratios count):

1. **default at 512 px** — ``styleforge stylize`` with no options (the CLI's own
   config) against the old default (300 evaluations per scale, fp32): time,
   and the independent metric's content and style loss as ratios to the old
   result (goal: ≤ 60 s on 2 idle cores, both losses ≤ 1.1×);
2. **effnet-lite0 preview** — ``--backbone effnet-lite0 --image-size 512``
   (goal ≤ 10 s) with its metric beside VGG's;
3. **multi-scale vs single-scale** — seconds until coarse-to-fine (the default
   coarse stages, then a final stage of up to ``--single`` evaluations) reaches the
   style loss a single-scale run has after ¼, ½ and all of its ``--single``
   evaluations (goal ≤ 0.3× the single-scale time), and where the default
   schedule's 40 final evaluations stand;
4. **s/evaluation vs a bare backbone pass** (``--overhead``).

The independent metric (:func:`independent_losses`, the one of issue 13):
offline VGG16 with average pooling, both images at 384 px long side; content =
MSE of relu4_2; style = mean over relu1_1…relu5_1 of the MSE of Gram matrices
normalised by c·h·w.  It shares no code with the optimiser's losses.

A contact sheet (content | style | old default | new default | effnet preview)
goes to ``--sheet``.  Old-default results take minutes each; they are cached in
``--results`` and reused with ``--reuse-old``.

Usage: ``python benchmarks/gatys_speed.py [--pairs tubingen:starry_night,...] [--size 512]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PAIRS = "tubingen:starry_night,golden_gate:the_scream,chicago:composition_vii,hoovertowernight:woman-with-hat-matisse"
METRIC_SIZE = 384
METRIC_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
OLD_DEFAULT = {
    "iterations": 300,
    "scale_iterations": None,
    "amp": "none",
    "scale_detail": 0.0,
}  # before issue 13: 300 evaluations per scale, fp32, plain upsampling
#: The code of the default before issue 25 (160, 80, 40 evaluations, NCHW fp32 passes): section 0
#: (``--compare``) runs that commit's own ``src`` (``git archive``) against today's default.
BEFORE_25_REF = "5a7f898"
COMPARE_PAIRS = "tubingen:starry_night,golden_gate:the_scream,chicago:composition_vii,asset/tubingen:asset/udnie"
NS_STYLE = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _find(folder: Path, stem: str) -> Path:
    if stem.startswith("asset/"):  # a committed asset (src/styleforge/assets/{content,styles})
        folder = Path(__file__).resolve().parents[1] / "src" / "styleforge" / "assets" / folder.name
        stem = stem.removeprefix("asset/")
    hits = sorted(folder.glob(stem + ".*"))
    if not hits:
        raise SystemExit(f"no image {stem}.* in {folder}")
    return hits[0]


# --------------------------------------------------------------------------- the independent metric


def gram_chw(f):  # noqa: ANN001, ANN201
    """``(1, C, H, W)`` → Gram matrix ``F Fᵀ / (C·H·W)``."""
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def independent_losses(net, output, content, style) -> tuple[float, float]:  # noqa: ANN001
    """(content, style) loss of ``output`` (tensors in [0, 1], each already at 384 px long side).

    ``net`` is the offline VGG16 with average pooling, returning named ReLU outputs.
    """
    import torch

    with torch.no_grad():
        fo = net(output, [*METRIC_STYLE, "relu4_2"])
        fc = net(content, ["relu4_2"])
        fs = net(style, list(METRIC_STYLE))
        c = float(((fo["relu4_2"] - fc["relu4_2"]) ** 2).mean())
        s = sum(float(((gram_chw(fo[k]) - gram_chw(fs[k])) ** 2).mean()) for k in METRIC_STYLE) / len(METRIC_STYLE)
    return c, s


class Metric:
    def __init__(self) -> None:
        from styleforge.backbones import build_backbone

        self.net = build_backbone("vgg16-offline", layers=[*METRIC_STYLE, "relu4_2"], pooling="avg")

    def __call__(self, output: Path, content: Path, style: Path) -> tuple[float, float]:
        from styleforge.io import load_image, pil_to_tensor, resize_max_side

        def t(p: Path):  # noqa: ANN202
            return pil_to_tensor(resize_max_side(load_image(p), METRIC_SIZE))

        return independent_losses(self.net, t(output), t(content), t(style))


class NeuralStyleLosses:
    """Content and style losses as neural-style defines them, on the optimiser's own backbone.

    At the output's size (the style at the same long side): content = MSE of relu4_2 features,
    style = Σ over relu1_1…relu5_1 of the MSE of Gram matrices F Fᵀ / (C·H·W); max pooling, caffe
    input, unweighted (neural-style's ``-content_weight``/``-style_weight`` scale both results alike).
    VGG-19's weights cannot be fetched offline: this is the offline VGG16 the optimiser uses.
    """

    def __init__(self) -> None:
        from styleforge.backbones import build_backbone

        self.net = build_backbone("vgg16-offline", layers=[*NS_STYLE, "relu4_2"], pooling="max")

    def __call__(self, output: Path, content: Path, style: Path) -> tuple[float, float]:
        import torch

        from styleforge.io import load_image, pil_to_tensor, resize_max_side
        from styleforge.losses import content_loss, gram_matrix, style_loss

        out = pil_to_tensor(load_image(output))
        side = max(out.shape[-2:])
        c = pil_to_tensor(resize_max_side(load_image(content), side))
        s = pil_to_tensor(resize_max_side(load_image(style), side))
        with torch.no_grad():
            fo = self.net(out, [*NS_STYLE, "relu4_2"])
            fc = self.net(c, ["relu4_2"])
            fs = self.net(s, list(NS_STYLE))
            cl = float(content_loss(fo["relu4_2"], fc["relu4_2"]))
            sl = float(sum(style_loss(gram_matrix(fo[k]), gram_matrix(fs[k])) for k in NS_STYLE))
        return cl, sl


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def compare_section(args: argparse.Namespace, metric: Metric) -> None:
    """Section 0: the issue-25 default against the one before it, per pair, in the same run.

    Each pair runs both (before: the default of commit ``--before-ref``, its ``src`` extracted with
    ``git archive``; after: this checkout's CLI default, or ``--candidate`` options) in fresh
    processes, seed 0, and scores both outputs with neural-style's losses at 512 px
    (:class:`NeuralStyleLosses`) and with the independent metric.  ``--write`` records the figures
    in ``benchmarks/results/gatys_speed.json`` (``--name``).
    """
    ns = NeuralStyleLosses()
    res = Path(args.results) / "compare"
    before_src = res / f"src-{args.before_ref}"
    if not (before_src / "styleforge").is_dir():
        before_src.mkdir(parents=True, exist_ok=True)
        repo = Path(__file__).resolve().parents[1]
        tar = subprocess.run(
            ["git", "archive", args.before_ref, "src/styleforge"], cwd=repo, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "--strip-components=1", "-C", str(before_src)], input=tar, check=True)
    size_opt = ["--image-size", str(args.size)]
    cand = args.candidate.split()
    pairs: dict[str, dict] = {}
    print(
        f"compare: before = commit {args.before_ref}'s default vs after {' '.join(cand) or 'the default'} — "
        f"{args.size} px, {args.threads} threads, {_load()}",
        flush=True,
    )
    for cname, sname in (p.split(":") for p in args.compare_pairs.split(",")):
        content, style = _find(DATA / "content", cname), _find(DATA / "styles", sname)
        tag = f"{cname}__{sname}".replace("/", "-")
        base = {"content": str(content), "style": str(style), "threads": args.threads, "kind": "gatys"}
        before_png, before_json = res / "before" / f"{tag}.png", res / "before" / f"{tag}.json"
        if args.reuse_old and before_json.exists():
            before = json.loads(before_json.read_text())
        else:
            before = run({**base, "argv": size_opt, "save": str(before_png)}, src=before_src)
            before_json.parent.mkdir(parents=True, exist_ok=True)
            before_json.write_text(json.dumps(before))
        after_png = res / ("after" + "".join(ch for ch in args.candidate if ch.isalnum())) / f"{tag}.png"
        after = run({**base, "argv": [*size_opt, *cand], "save": str(after_png)})
        nb, na = ns(before_png, content, style), ns(after_png, content, style)
        mb, ma = metric(before_png, content, style), metric(after_png, content, style)
        row = {
            "before": {"wall_s": before["wall"], "cpu_s": before["cpu"], "load": before["load"],
                       "schedule": before["schedule"], "evaluations": before["evaluations"],
                       "ns_content": nb[0], "ns_style": nb[1], "metric_content": mb[0], "metric_style": mb[1]},
            "after": {"wall_s": after["wall"], "cpu_s": after["cpu"], "load": after["load"],
                      "schedule": after["schedule"], "evaluations": after["evaluations"], "stages": after["stages"],
                      "ns_content": na[0], "ns_style": na[1], "metric_content": ma[0], "metric_style": ma[1]},
            "ratio": {"wall": after["wall"] / before["wall"], "cpu": after["cpu"] / before["cpu"],
                      "ns_content": na[0] / nb[0], "ns_style": na[1] / nb[1],
                      "metric_content": ma[0] / mb[0], "metric_style": ma[1] / mb[1]},
        }  # fmt: skip
        pairs[tag] = row
        r = row["ratio"]
        print(
            f"[{tag}] before {before['schedule']} {before['wall']:.1f} s wall {before['cpu']:.1f} s CPU "
            f"(load {before['load']:.2f}) | after {after['schedule']} {after['evaluations']} evaluations "
            f"{after['wall']:.1f} s wall {after['cpu']:.1f} s CPU (load {after['load']:.2f}) | after/before: "
            f"wall {r['wall']:.2f}× neural-style content {r['ns_content']:.3f}× style {r['ns_style']:.3f}× "
            f"metric content {r['metric_content']:.3f}× style {r['metric_style']:.3f}× (goal ≤ 1.10)",
            flush=True,
        )
    med = {k: _median([p["ratio"][k] for p in pairs.values()]) for k in next(iter(pairs.values()))["ratio"]}
    walls = {w: _median([p[w]["wall_s"] for p in pairs.values()]) for w in ("before", "after")}
    loads = [p[w]["load"] for p in pairs.values() for w in ("before", "after")]
    print(
        f"median over {len(pairs)} pairs: before {walls['before']:.1f} s, after {walls['after']:.1f} s (goal ≤ 60 s); "
        + ", ".join(f"{k} {v:.3f}×" for k, v in med.items())
        + f"; worst ns style {max(p['ratio']['ns_style'] for p in pairs.values()):.3f}×, "
        f"worst ns content {max(p['ratio']['ns_content'] for p in pairs.values()):.3f}×; "
        f"load {min(loads):.2f}–{max(loads):.2f}",
        flush=True,
    )
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from receipts import write_results

        figures = {
            "size": args.size,
            "seed": 0,
            "before": f"the default of commit {args.before_ref} (its own src)"
            + (", timed in an earlier run (cached; its load is per pair)" if args.reuse_old else ", same run"),
            "after_options": args.candidate or "the default",
            "losses": "neural-style's (vgg16-offline, max pooling, at the output size) and the independent "
            "metric (VGG16 average pooling, 384 px)",
            "load_per_run": [min(loads), max(loads)],
            "median_wall_s": walls,
            "median_ratio": med,
            "pairs": pairs,
        }
        print(f"wrote {write_results(args.name, figures, threads=args.threads)}")


# --------------------------------------------------------------------------- child processes


def _child(spec: dict) -> dict:
    import torch

    from styleforge.cli.main import build_parser
    from styleforge.cli.stylize import gatys_config_from_args
    from styleforge.io import load_image, pil_to_tensor, resize_max_side, save_image
    from styleforge.transfer.gatys import stylize_tensor

    torch.set_num_threads(spec["threads"])
    content, style = Path(spec["content"]), Path(spec["style"])
    out: dict = {}
    if spec["kind"] == "bare":
        from styleforge.backbones import build_backbone
        from styleforge.transfer.gatys import amp_dtype

        size = spec["size"]
        c = pil_to_tensor(resize_max_side(load_image(content), size))
        layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
        net = build_backbone("vgg16-offline", layers=layers)
        dt = amp_dtype(spec["amp"], torch.device("cpu"))
        x = c.clone().requires_grad_(True)
        times = []
        for _ in range(spec["reps"] + 1):
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=dt or torch.bfloat16, enabled=dt is not None):
                feats = net(x.contiguous(memory_format=torch.channels_last) if dt else x, layers)
            sum(gram_chw(f.float()).sum() for f in feats.values()).backward()
            times.append(time.perf_counter() - t)
        out["sec_per_pass"] = sorted(times[1:])[len(times[1:]) // 2]
    else:
        # the CLI's own config: `styleforge stylize CONTENT --style STYLE -o X [extra options]`
        argv = ["stylize", str(content), "--style", str(style), "-o", "x.png", "--seed", "0", *spec["argv"]]
        cfg = gatys_config_from_args(build_parser().parse_args(argv))
        for k, v in spec.get("override", {}).items():
            cfg = dataclasses.replace(cfg, **{k: v})
        c = pil_to_tensor(resize_max_side(load_image(content), cfg.image_size))
        s = pil_to_tensor(resize_max_side(load_image(style), round(cfg.image_size * cfg.style_scale)))
        trace: list[tuple[float, float]] = []
        stages: dict[int, list] = {}  # stage index → [long side, evaluations, seconds since the start at its last one]

        def cb(stage, step, losses, image):  # noqa: ANN001
            stages[stage.index] = [max(stage.size), step, time.perf_counter() - t0]
            if stage.index == stage.count - 1:
                trace.append((time.perf_counter() - t0, losses["style"]))
                if losses["style"] <= spec.get("stop_below", -1.0):
                    raise KeyboardInterrupt  # reached: the optimiser stops as on Ctrl-C, keeping its best image

        # as the command does before it optimises (each commit's own CLI; its absence where a commit lacks it)
        try:
            from styleforge.precision import skip_dynamo_import
        except ImportError:
            pass
        else:
            skip_dynamo_import()  # L-BFGS's first call would import torch._dynamo: about 2 s the CLI never spends
        # timed: stylize_tensor as the CLI calls it, building the backbone from its cached weights (< 1 s)
        t0, c0, l0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
        r = stylize_tensor(c, [s], cfg, callback=cb)
        out.update(
            wall=time.perf_counter() - t0,
            cpu=time.process_time() - c0,
            load=(l0 + os.getloadavg()[0]) / 2,
            evaluations=r.evaluations,
            style=r.losses.get("style"),
            trace=trace,
            stages=[stages[k] for k in sorted(stages)],
            schedule=list(cfg.stage_iterations()),
        )
        if spec.get("save"):
            Path(spec["save"]).parent.mkdir(parents=True, exist_ok=True)
            save_image(r.image, Path(spec["save"]))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run(spec: dict, src: Path | None = None) -> dict:
    """Run one child; ``src``: import styleforge from that source tree instead of the checkout."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src is not None else None
    cmd = [sys.executable, __file__, "--child", json.dumps(spec)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _sheet(rows: list[list[Path]], labels: list[str], path: Path, height: int = 220) -> None:
    from PIL import Image, ImageDraw

    tiles = [[Image.open(p).convert("RGB") for p in row] for row in rows]
    tiles = [[im.resize((max(1, round(im.width * height / im.height)), height)) for im in row] for row in tiles]
    width = max(sum(im.width for im in row) + 4 * len(row) for row in tiles)
    sheet = Image.new("RGB", (width, 18 + len(tiles) * (height + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    x = 0
    for lab, im in zip(labels, tiles[0], strict=False):
        draw.text((x + 4, 3), lab, fill="black")
        x += im.width + 4
    for r, row in enumerate(tiles):
        x = 0
        for im in row:
            sheet.paste(im, (x, 18 + r * (height + 4)))
            x += im.width + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88)


def multi_section(base: dict, size_opt: list[str], n: int) -> None:
    """Multi- vs single-scale: when does coarse-to-fine reach the loss of ``n`` single-scale evaluations?

    The single-scale run's trace gives its style loss after k evaluations; the multi-scale run
    is the default coarse stages followed by a final stage of up to ``n`` evaluations (its
    first ``DEFAULT_FINAL_ITERATIONS`` are the default schedule's).  For k = n/4, n/2, n it
    prints the seconds each needs to reach the single-scale loss at k, and their ratio.
    """
    from styleforge.cli.main import build_parser
    from styleforge.cli.stylize import gatys_config_from_args
    from styleforge.transfer.gatys import DEFAULT_FINAL_ITERATIONS, default_scale_iterations

    cfg = gatys_config_from_args(
        build_parser().parse_args(["stylize", base["content"], "--style", base["style"], "-o", "x.png", *size_opt])
    )
    coarse = default_scale_iterations(cfg.scales)[:-1]
    sched = ",".join(str(k) for k in (*coarse, n))
    single = run({**base, "kind": "gatys", "argv": [*size_opt, "--scales", "none", "--iterations", str(n)]})
    multi = run(
        {
            **base,
            "kind": "gatys",
            "argv": [*size_opt, "--scale-iterations", sched],
            "stop_below": single["trace"][-1][1],
        }
    )  # stops once it reaches the single-scale run's final loss
    st, mt = single["trace"], multi["trace"]
    print(
        f"\nmulti- vs single-scale ({_load()}): single-scale {n} evaluations {single['wall']:.1f} s; multi-scale "
        f"--scale-iterations {sched}, stopped on reaching it: {multi['wall']:.1f} s (stages: "
        + ", ".join(f"{e}@{side}px" for side, e, _ in multi["stages"])
        + ")"
    )
    if len(mt) >= DEFAULT_FINAL_ITERATIONS:
        t_d, l_d = mt[DEFAULT_FINAL_ITERATIONS - 1]
        k_d = next((i + 1 for i, (_, ls) in enumerate(st) if ls <= l_d), None)
        print(
            f"  the default schedule ends at {t_d:.1f} s, style {l_d:.4g}: single-scale needs "
            + (
                f"{k_d} evaluations, {st[k_d - 1][0]:.1f} s (ratio {t_d / st[k_d - 1][0]:.2f})"
                if k_d
                else f"more than {n}"
            )
        )
    for k in sorted({max(1, n // 4), max(1, n // 2), n}):
        if k > len(st):
            break
        t_s, l_s = st[k - 1]
        reach = next((t for t, ls in mt if ls <= l_s), None)
        ratio = f"{reach:.1f} s = {reach / t_s:.2f}× (goal ≤ 0.30)" if reach is not None else "not reached"
        print(
            f"  single-scale after {k:4d} evaluations: {t_s:6.1f} s, style {l_s:.4g}; "
            f"multi-scale reaches it after {ratio}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default=PAIRS, help="content:style stems from ../shared/data/{content,styles}")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--single",
        type=int,
        default=600,
        help="evaluations of the single-scale run (section 3; about where its loss levels off at 512 px)",
    )
    ap.add_argument("--skip", default="", help="comma list of sections to skip: default,effnet,multi,overhead")
    ap.add_argument(
        "--schedules",
        default="",
        help="semicolon list of --scale-iterations to score on every pair (e.g. '160,80,40;100,60,30'): "
        "seconds per stage and the metric, the default's speed/quality trade-off",
    )
    ap.add_argument(
        "--schedule-args", default="", help="extra stylize options for --schedules, e.g. '--backbone effnet-lite0'"
    )
    ap.add_argument("--results", default="out/gatys_speed")
    ap.add_argument("--reuse-old", action="store_true", help="reuse cached old-default results (minutes each)")
    ap.add_argument("--no-old", action="store_true", help="run the new default only (no ratios)")
    ap.add_argument("--sheet", default="out/gatys_speed/sheet.jpg")
    ap.add_argument(
        "--compare",
        action="store_true",
        help="section 0 only: today's default against the one before issue 25 on --compare-pairs",
    )
    ap.add_argument("--compare-pairs", default=COMPARE_PAIRS, help="content:style stems; asset/NAME: a committed asset")
    ap.add_argument("--before-ref", default=BEFORE_25_REF, help="commit whose default is 'before' (--compare)")
    ap.add_argument("--candidate", default="", help="stylize options of the 'after' run (default: none)")
    ap.add_argument("--write", action="store_true", help="write benchmarks/results/NAME.json (--compare)")
    ap.add_argument("--name", default="gatys_speed", help="the results file's name (default %(default)s)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return
    if args.compare:
        compare_section(args, Metric())
        return

    import torch

    skip = set(filter(None, args.skip.split(",")))
    res = Path(args.results)
    pairs = [p.split(":") for p in args.pairs.split(",")]
    metric = Metric()
    size_opt = ["--image-size", str(args.size)]
    print(
        f"styleforge Gatys speed — {args.size} px, {args.threads} threads, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {_load()} at start"
    )
    sheet_rows: list[list[Path]] = []
    ratios: list[tuple[float, float, float]] = []
    for cname, sname in pairs:
        content, style = _find(DATA / "content", cname), _find(DATA / "styles", sname)
        base = {"content": str(content), "style": str(style), "threads": args.threads}
        tag = f"{cname}__{sname}"
        row = [content, style]
        vgg_metric = None
        if "default" not in skip:
            old_png, new_png = res / "old" / f"{tag}.png", res / "new" / f"{tag}.png"
            old = None
            if args.no_old:
                pass
            elif not (args.reuse_old and old_png.exists()):
                old = run({**base, "kind": "gatys", "argv": size_opt, "override": OLD_DEFAULT, "save": str(old_png)})
            new = run({**base, "kind": "gatys", "argv": size_opt, "save": str(new_png)})
            mn = metric(new_png, content, style)
            mo = (float("nan"), float("nan")) if args.no_old else metric(old_png, content, style)
            vgg_metric = mn
            print(f"\n[{tag}] default stylize at {args.size} px")
            if args.no_old:
                pass
            elif old is not None:
                print(
                    f"  old default {old['schedule']} fp32: {old['wall']:7.1f} s wall {old['cpu']:7.1f} s CPU "
                    f"(load {old['load']:.1f}), peak {old['peak_rss_mb']:.0f} MB; "
                    f"metric content {mo[0]:.0f} style {mo[1]:.0f}"
                )
            else:
                print(f"  old default (cached result): metric content {mo[0]:.0f} style {mo[1]:.0f}")
            print(
                f"  new default {new['schedule']} amp auto: {new['wall']:7.1f} s wall {new['cpu']:7.1f} s CPU "
                f"(load {new['load']:.1f}), peak {new['peak_rss_mb']:.0f} MB; "
                f"metric content {mn[0]:.0f} style {mn[1]:.0f}"
            )
            cpu_ratio = new["cpu"] / old["cpu"] if old is not None else float("nan")
            if not args.no_old:
                ratios.append((mn[0] / mo[0], mn[1] / mo[1], cpu_ratio))
                print(
                    f"  new/old: content {mn[0] / mo[0]:.2f}× style {mn[1] / mo[1]:.2f}× (goal ≤ 1.10), "
                    f"CPU time {cpu_ratio:.3f}×, {_load()}"
                )
            row += [new_png] if args.no_old else [old_png, new_png]
        if "effnet" not in skip:
            eff_png = res / "effnet" / f"{tag}.png"
            eff = run(
                {**base, "kind": "gatys", "argv": [*size_opt, "--backbone", "effnet-lite0"], "save": str(eff_png)}
            )
            me = metric(eff_png, content, style)
            vs = f" (VGG default: {vgg_metric[0]:.0f} / {vgg_metric[1]:.0f})" if vgg_metric else ""
            print(
                f"  effnet-lite0 preview {eff['schedule']}: {eff['wall']:.1f} s wall {eff['cpu']:.1f} s CPU "
                f"(load {eff['load']:.1f}; goal ≤ 10 s idle), peak {eff['peak_rss_mb']:.0f} MB; "
                f"metric content {me[0]:.0f} style {me[1]:.0f}{vs}"
            )
            row.append(eff_png)
        sheet_rows.append(row)
    if ratios:
        med = [sorted(r[i] for r in ratios)[len(ratios) // 2] for i in range(3)]
        print(f"\nmedian new/old over {len(ratios)} pairs: content {med[0]:.2f}× style {med[1]:.2f}× CPU {med[2]:.3f}×")
    if sheet_rows and len({len(r) for r in sheet_rows}) == 1:
        labels = ["content", "style"] + ([] if "default" in skip else [] if args.no_old else ["old default"])
        labels += ([] if "default" in skip else ["new default"]) + ([] if "effnet" in skip else ["effnet preview"])
        _sheet(sheet_rows, labels[: len(sheet_rows[0])], Path(args.sheet))
        print(f"contact sheet: {args.sheet}")

    for sched in filter(None, args.schedules.split(";")):
        for cname, sname in pairs:
            content, style = _find(DATA / "content", cname), _find(DATA / "styles", sname)
            tag = "".join(ch for ch in args.schedule_args if ch.isalnum())
            png = res / "schedules" / f"{cname}__{sname}__{sched.replace(',', '-')}{tag}.png"
            r = run(
                {
                    "content": str(content),
                    "style": str(style),
                    "threads": args.threads,
                    "kind": "gatys",
                    "argv": [*size_opt, *args.schedule_args.split(), "--scale-iterations", sched],
                    "save": str(png),
                }
            )
            mc, ms = metric(png, content, style)
            prev, parts = 0.0, []
            for side, n, end in r["stages"]:
                parts.append(f"{n}@{side}px {end - prev:.1f} s")
                prev = end
            print(
                f"[{cname}__{sname}] {args.schedule_args} --scale-iterations {sched}: "
                f"{r['wall']:.1f} s wall {r['cpu']:.1f} s CPU "
                f"({', '.join(parts)}; {_load()}); metric content {mc:.0f} style {ms:.1f}",
                flush=True,
            )

    cname, sname = pairs[0]
    base = {
        "content": str(_find(DATA / "content", cname)),
        "style": str(_find(DATA / "styles", sname)),
        "threads": args.threads,
    }
    if "multi" not in skip:
        multi_section(base, size_opt, args.single)
    if "overhead" not in skip:
        for amp in ("none", "auto"):
            bare = run({**base, "kind": "bare", "size": args.size, "reps": 3, "amp": amp})
            one = run(
                {**base, "kind": "gatys", "argv": [*size_opt, "--scales", "none", "--iterations", "10", "--amp", amp]}
            )
            per_eval = one["wall"] / one["evaluations"]
            print(
                f"  amp {amp}: bare fwd+bwd {bare['sec_per_pass']:.3f} s, one evaluation {per_eval:.3f} s "
                f"({per_eval / bare['sec_per_pass']:.2f}×), {_load()}"
            )


if __name__ == "__main__":
    main()
