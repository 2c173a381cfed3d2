"""Gatys quality: our results beside jcjohnson/neural-style's published outputs.

Runs ``styleforge stylize`` (the CLI, default settings unless given) on the
content/style pairs of ``../shared/data/reference/neural-style`` and writes a
side-by-side sheet: content | style | styleforge | neural-style (VGG-19, 1000
iterations, 512 px).  Also prints the style and content losses of both results
measured with the same backbone (VGG16 offline), so the comparison is numeric too.

Usage: ``python benchmarks/gatys_quality.py --out docs/images/gatys_vs_neural_style.jpg``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PAIRS = {  # reference file: (content, style)
    "tubingen_starry.png": ("tubingen.jpg", "starry_night.jpg"),
    "tubingen_scream.png": ("tubingen.jpg", "the_scream.jpg"),
    "tubingen_shipwreck.png": ("tubingen.jpg", "shipwreck.jpg"),
    "tubingen_seated_nude.png": ("tubingen.jpg", "seated-nude.jpg"),
    "golden_gate_scream.png": ("golden_gate.jpg", "the_scream.jpg"),
}


def losses(net, content, style, image):  # noqa: ANN001, ANN201
    import torch

    from styleforge.losses import content_loss, gram_matrix, style_loss

    with torch.no_grad():
        lay_s = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
        fi = net(image, lay_s + ["relu4_2"])
        fc = net(content, ["relu4_2"])
        fs = net(style, lay_s)
        c = float(content_loss(fi["relu4_2"], fc["relu4_2"]))
        s = float(sum(style_loss(gram_matrix(fi[k]), gram_matrix(fs[k])) for k in lay_s))
    return c, s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--pairs", default="tubingen_starry.png,tubingen_scream.png,tubingen_shipwreck.png,tubingen_seated_nude.png"
    )
    ap.add_argument("--results", default="out/gatys_quality", help="where our results are written (or reused)")
    ap.add_argument("--out", default="out/gatys_vs_neural_style.jpg")
    ap.add_argument("--reuse", action="store_true", help="reuse existing results instead of running")
    ap.add_argument("extra", nargs="*", help="extra stylize options after --, e.g. -- --image-size 384")
    args = ap.parse_args()

    from PIL import Image, ImageDraw

    from styleforge.backbones import build_backbone
    from styleforge.io import load_image, pil_to_tensor, resize_max_side

    res_dir = Path(args.results)
    res_dir.mkdir(parents=True, exist_ok=True)
    net = build_backbone("vgg16-offline", layers=["relu5_1"])
    rows = []
    print(f"{'pair':<28} {'time s':>7} {'content ours':>13} {'content ref':>12} {'style ours':>11} {'style ref':>10}")
    for ref_name in args.pairs.split(","):
        content_f, style_f = PAIRS[ref_name]
        ours = res_dir / ref_name
        t = 0.0
        if not (args.reuse and ours.exists()):
            t0 = time.time()
            cmd = [
                sys.executable,
                "-m",
                "styleforge",
                "stylize",
                str(DATA / "content" / content_f),
                "--style",
                str(DATA / "styles" / style_f),
                "-o",
                str(ours),
                "--seed",
                "0",
                "-q",
                *args.extra,
            ]
            subprocess.run(cmd, check=True)
            t = time.time() - t0
        ref = load_image(DATA / "reference" / "neural-style" / ref_name)
        mine = load_image(ours)
        size = 384
        c = pil_to_tensor(resize_max_side(load_image(DATA / "content" / content_f), size))
        s = pil_to_tensor(resize_max_side(load_image(DATA / "styles" / style_f), size))
        lo = losses(net, c, s, pil_to_tensor(mine.resize((c.shape[-1], c.shape[-2]))))
        lr = losses(net, c, s, pil_to_tensor(ref.resize((c.shape[-1], c.shape[-2]))))
        print(f"{ref_name:<28} {t:>7.1f} {lo[0]:>13.4g} {lr[0]:>12.4g} {lo[1]:>11.4g} {lr[1]:>10.4g}")
        h = 200
        tiles = [load_image(DATA / "content" / content_f), load_image(DATA / "styles" / style_f), mine, ref]
        tiles = [im.resize((round(im.width * h / im.height), h), Image.Resampling.LANCZOS) for im in tiles]
        rows.append(tiles)
    width = max(sum(t.width for t in r) + 6 * (len(r) - 1) for r in rows)
    sheet = Image.new("RGB", (width, 24 + len(rows) * 206), "white")
    d = ImageDraw.Draw(sheet)
    x = 0
    for label, tile in zip(
        ("content", "style", "styleforge (VGG16 offline)", "neural-style (VGG19)"), rows[0], strict=False
    ):
        d.text((x + 4, 6), label, fill="black")
        x += tile.width + 6
    for i, r in enumerate(rows):
        x = 0
        for tile in r:
            sheet.paste(tile, (x, 24 + i * 206))
            x += tile.width + 6
    sheet.save(args.out, quality=88)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
