"""``styleforge translate --checkpoint CKPT INPUT... -o OUTDIR``: apply a trained translator.

Accepts a training checkpoint (``.pt``), exported weights (``.safetensors``) or a reference
repository's ``latest_net_G.pth``, image files and folders, any image size (the generator pads
and crops back).  ``--pretrained NAME`` uses a published model instead (downloaded once into
the cache; names in README "Pretrained models").  Loading is
:func:`styleforge.gan.loading.load_translator`.

Examples::

    styleforge translate --pretrained horse2zebra photo.jpg -o out/
    styleforge translate --pretrained facades_label2photo_pix2pix labels/ -o photos/
    styleforge translate --checkpoint latest_net_G.pth photo.jpg -o out/
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
    p = subparsers.add_parser(
        "translate",
        help="translate images with a trained pix2pix/CycleGAN model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--checkpoint",
        help="training checkpoint (.pt), exported weights (.safetensors) or a reference latest_net_G.pth",
    )
    src.add_argument(
        "--pretrained",
        metavar="NAME",
        help="a published pix2pix / CycleGAN / CUT model, e.g. horse2zebra (downloaded once into the cache)",
    )
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

    if args.pretrained:
        from ..gan.pretrained import pretrained_path, resolve

        resolve(args.pretrained)  # an unknown name fails before any download
        ckpt = pretrained_path(args.pretrained)
    else:
        ckpt = args.checkpoint
    tr = load_translator(ckpt, direction=args.direction)
    device = torch.device(
        "cuda"
        if args.device == "auto" and torch.cuda.is_available()
        else ("cpu" if args.device == "auto" else args.device)
    )
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
