"""Border frames of every instant path on the tuning pairs (issue 25: ratio ≤ 1.1 on every pair).

The border ratio (``instant_measures.border_ratio``): gradient energy of the outer 6 px ÷ the
next 12 px of the output, over the same ratio of the photo.  WCT and AdaIN on the 12 tuning
pairs (``instant_heldout.txt``, photos at 512 px); each per-style network with and without its
palette pass on the 6 tuning photos.  Writes ``benchmarks/results/instant_border.json``.

    python benchmarks/instant_border.py [--style-scale 1] [--results none]
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
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--style-scale", type=float, default=1.0)
    ap.add_argument("--results", default="instant_border", help="results file name ('none': write none)")
    args = ap.parse_args(argv)
    import torch

    import instant_measures as im
    from instant_quality import PHOTO_SIZE, _fit, heldout
    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    from styleforge.instant.models import builtin_models

    torch.set_num_threads(args.threads)
    photos, paintings = heldout()
    pairs = [(photos[i % len(photos)], paintings[i]) for i in range(len(paintings))]
    ratios: dict[str, dict[str, float]] = {}

    def score(label: str, key: str, out: Image.Image, photo: Image.Image) -> None:
        r = im.border_ratio(np.asarray(out, dtype=np.float64), np.asarray(photo, dtype=np.float64))
        ratios.setdefault(label, {})[key] = r

    kinds = {e.kind for e in builtin_models().values()}
    for kind in ("wct", "adain"):
        if kind not in kinds:
            continue
        for pp, sp in pairs:
            photo = _fit(Image.open(pp).convert("RGB"), PHOTO_SIZE)
            model = load_instant([str(sp)], arbitrary=kind)
            out = stylize_instant(photo, model, InstantOptions(style_scale=args.style_scale))
            score(kind, f"{pp.stem}__{sp.stem}", out, photo)
        print(f"  {kind:28s} " + " ".join(f"{v:.2f}" for v in ratios[kind].values()), flush=True)
    for name in sorted(n for n, e in builtin_models().items() if e.kind == "instant"):
        model = load_instant([name])
        for palette in (True, False):
            label = f"{name}{'' if palette else '-raw'}"
            for pp in photos:
                photo = _fit(Image.open(pp).convert("RGB"), PHOTO_SIZE)
                opts = InstantOptions(palette=palette, style_scale=args.style_scale)
                score(label, pp.stem, stylize_instant(photo, model, opts), photo)
            print(f"  {label:28s} " + " ".join(f"{v:.2f}" for v in ratios[label].values()), flush=True)
    worst = {k: max(v.values()) for k, v in ratios.items()}
    print(f"\nlargest border ratio per path (goal ≤ 1.1), load average {os.getloadavg()}:")
    for k, v in worst.items():
        print(f"  {k:28s} {v:.2f}{'' if v <= 1.1 else '   > 1.1'}")
    if args.results != "none":
        from receipts import write_results

        figures = {
            "style_scale": args.style_scale,
            "max": worst,
            "per_pair": ratios,
            "all_within_1.1": all(v <= 1.1 for v in worst.values()),
        }
        print(f"results: {write_results(args.results, figures, threads=args.threads)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
