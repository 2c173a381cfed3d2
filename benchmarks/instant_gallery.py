"""Side-by-side picture of the built-in instant styles on tubingen (for the README).

    python benchmarks/instant_gallery.py -o docs/images/instant_styles.jpg [--height 240]

Row 1: the photo and each built-in per-style network; row 2: the style paintings and,
when a built-in AdaIN decoder is shipped, AdaIN with each painting.  Prints the seconds
per image of each network at the gallery's size.
"""

from __future__ import annotations

import argparse
import sys
import time

from PIL import Image, ImageDraw


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--output", default="docs/images/instant_styles.jpg")
    ap.add_argument("--height", type=int, default=240)
    ap.add_argument("--size", type=int, default=512, help="long side the networks run at")
    args = ap.parse_args()

    from styleforge.assets import BUILTIN_CONTENT, builtin_styles
    from styleforge.instant import InstantOptions, builtin_models, load_instant, stylize_instant
    from styleforge.io import load_image, save_image

    photo = load_image(BUILTIN_CONTENT["tubingen"])
    models = builtin_models()
    per_style = [n for n, e in models.items() if e.kind == "instant"]
    has_adain = any(e.kind == "adain" for e in models.values())
    opts = InstantOptions(size=args.size)

    def fit(im: Image.Image) -> Image.Image:
        return im.resize((round(im.width * args.height / im.height), args.height), Image.Resampling.LANCZOS)

    top = [("photo", fit(photo))]
    bottom: list[tuple[str, Image.Image]] = [("", Image.new("RGB", top[0][1].size, "white"))]
    paintings = builtin_styles()
    for name in per_style:
        model = load_instant([name], backend="torch")
        t = time.perf_counter()
        out = stylize_instant(photo, model, opts)
        print(f"{name:26s} per-style {time.perf_counter() - t:6.2f} s at {out.width}x{out.height}")
        top.append((name, fit(out)))
        style_img = load_image(paintings[name]) if name in paintings else None
        if has_adain and style_img is not None:
            model = load_instant([str(paintings[name])], backend="torch")
            t = time.perf_counter()
            out = stylize_instant(photo, model, opts)
            print(f"{name:26s} AdaIN     {time.perf_counter() - t:6.2f} s")
            bottom.append((f"AdaIN: {name}", fit(out)))
        elif style_img is not None:
            thumb = style_img.copy()
            thumb.thumbnail((top[-1][1].width, args.height))
            bottom.append((f"style: {name}", thumb))
    rows = [top, bottom] if len(bottom) > 1 else [top]
    if has_adain:  # the paintings themselves as a third row
        thumbs = [("", Image.new("RGB", top[0][1].size, "white"))]
        for name in per_style:
            if name in paintings:
                im = load_image(paintings[name])
                im.thumbnail((top[1][1].width, args.height))
                thumbs.append((f"style: {name}", im))
        rows.insert(1, thumbs)
    pad = 6
    width = max(sum(im.width + pad for _, im in r) for r in rows) + pad
    sheet = Image.new("RGB", (width, len(rows) * (args.height + pad + 14) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    y = pad
    for r in rows:
        x = pad
        for label, im in r:
            sheet.paste(im, (x, y + 14))
            draw.text((x + 2, y + 1), label, fill="black")
            x += im.width + pad
        y += args.height + pad + 14
    save_image(sheet, args.output, quality=85)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
