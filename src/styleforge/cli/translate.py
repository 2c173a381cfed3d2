"""``styleforge translate --checkpoint CKPT INPUT... -o OUTDIR``: apply a trained translator.

Accepts a training checkpoint (``.pt``) or exported weights (``.safetensors``),
image files and folders, any image size (the generator pads and crops back).
Loading is :func:`styleforge.gan.loading.load_translator`.
"""

from __future__ import annotations

__all__ = ["add_parser", "collect_inputs", "run"]

import argparse
import logging
from pathlib import Path
from typing import Any

from ..errors import InputError

log = logging.getLogger("styleforge.translate")


def collect_inputs(inputs: list[str]) -> list[Path]:
    from ..io import list_images

    files: list[Path] = []
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise InputError(f"no images in folder {p}")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"input not found: {p}")
    return files


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("translate", help="translate images with a trained pix2pix/CycleGAN model",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--checkpoint", required=True, help="training checkpoint (.pt) or exported weights (.safetensors)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder (created)")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="for two-way models (CycleGAN)")
    p.add_argument("--ab-input", choices=["left", "right"], help="inputs are A|B pairs: translate this half")
    p.add_argument("--size", type=int, help="resize so the long side is SIZE first")
    p.add_argument("--format", default="png", choices=["png", "jpg"])
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..io import load_image, resize_max_side, save_image

    files = collect_inputs(args.inputs)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError(f"output is a file, not a folder: {out}")
    from ..gan.loading import load_translator

    tr = load_translator(args.checkpoint, direction=args.direction)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    tr.net.to(device)
    images = []
    for f in files:  # read everything first: a bad input writes nothing
        img = load_image(f)
        if args.ab_input:
            w, h = img.size
            if w % 2:
                raise InputError(f"{f} is {w} px wide (odd): not an A|B pair")
            img = img.crop((0, 0, w // 2, h) if args.ab_input == "left" else (w // 2, 0, w, h))
        if args.size:
            img = resize_max_side(img, args.size)
        images.append((f, img))
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for f, img in images:
        name = f.stem if f.stem not in seen else f"{f.parent.name}_{f.stem}"
        seen.add(name)
        save_image(tr(img, device), out / f"{name}.{args.format}")
    log.info("translated %d image(s) into %s", len(images), out)
    return 0
