"""--style-scale: the measured stroke size over three settings (issue 25).

Stroke size = the luminance autocorrelation length (``instant_measures.stroke_scale``, pixels
at 512 px).  WCT on the 12 tuning pairs (``instant_heldout.txt``) and each per-style network on
the 6 tuning photos, at ``--scales`` (default 0.5, 1, 2); counts the pairs where it rises over
the three.  Writes ``benchmarks/results/instant_style_scale.json``, a sheet of the bundled
tubingen photo (WCT with udnie, the starry_night network) at the three settings to ``--sheet``
(publishable: bundled images only) and the tuning pairs' sheet to ``out/``.

    flock /tmp/heavy.lock python benchmarks/instant_style_scale.py [--sheet docs/images/instant_style_scale.jpg]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=lambda v: [float(x) for x in v.split(",")], default=[0.5, 1.0, 2.0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sheet", type=Path, default=REPO / "out" / "instant_style_scale.jpg")
    ap.add_argument("--results", default="instant_style_scale", help="results file ('none': none)")
    args = ap.parse_args(argv)
    import torch

    import instant_measures as im
    from instant_quality import PHOTO_SIZE, _fit, contact_sheet, heldout
    from styleforge.assets import BUILTIN_CONTENT, builtin_styles
    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    from styleforge.instant.models import builtin_models

    torch.set_num_threads(args.threads)
    photos, paintings = heldout()
    runs: list[tuple[str, str, Path]] = [("wct", str(sp), photos[i % len(photos)]) for i, sp in enumerate(paintings)]
    nets = sorted(n for n, e in builtin_models().items() if e.kind == "instant")
    runs += [("per-style", n, pp) for n in nets for pp in photos]
    lengths: dict[str, dict[str, list[float]]] = {}
    rows = []
    models: dict[str, object] = {}
    for kind, style, pp in runs:
        if style not in models:
            models[style] = load_instant([style])
        photo = _fit(Image.open(pp).convert("RGB"), PHOTO_SIZE)
        model = models[style]
        outs = [stylize_instant(photo, model, InstantOptions(style_scale=s)) for s in args.scales]  # type: ignore[arg-type]
        ls = [im.stroke_scale(np.asarray(o, dtype=np.float64)) for o in outs]
        lengths.setdefault(kind, {})[f"{pp.stem}__{Path(style).stem}"] = ls
        if kind == "wct":
            rows.append(
                [("photo", photo)]
                + [(f"scale {s:g}: {v:.1f} px", o) for s, v, o in zip(args.scales, ls, outs, strict=True)]
            )
        print(
            f"  {kind:9s} {pp.stem[:24]:24s} {Path(style).stem[:24]:24s} " + "  ".join(f"{v:6.2f}" for v in ls),
            flush=True,
        )
    summary = {}
    for kind, per in lengths.items():
        rising = sum(all(a < b for a, b in zip(v, v[1:], strict=False)) for v in per.values())
        med = [float(np.median([v[i] for v in per.values()])) for i in range(len(args.scales))]
        summary[kind] = {
            "pairs": len(per),
            "rising": rising,
            "median_length_px": dict(zip(map(str, args.scales), med, strict=True)),
        }
        print(
            f"{kind}: stroke length rises over {args.scales} on {rising}/{len(per)} pairs; medians "
            + " / ".join(f"{m:.1f}" for m in med)
            + f" px  (load average {os.getloadavg()[0]:.1f})"
        )
    contact_sheet(rows, REPO / "out" / "instant_style_scale_tuning.jpg", height=160)
    tub = _fit(Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB"), PHOTO_SIZE)
    public = []
    for label, style in (("WCT, udnie", str(builtin_styles()["udnie"])), ("starry_night network", "starry_night")):
        model = load_instant([style])
        cells = [
            (f"--style-scale {s:g}", stylize_instant(tub, model, InstantOptions(style_scale=s))) for s in args.scales
        ]
        public.append([(label, tub), *cells])
    sheet = contact_sheet(public, args.sheet, height=220)
    print(f"sheets: {sheet}, out/instant_style_scale_tuning.jpg")
    if args.results != "none":
        from receipts import write_results

        figures = {"scales": args.scales, "summary": summary, "per_pair": lengths}
        print(f"results: {write_results(args.results, figures, threads=args.threads)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
