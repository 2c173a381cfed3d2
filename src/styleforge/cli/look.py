"""``styleforge look apply LOOK.cube IMG… -o OUT/``: apply a saved look (3D LUT) at full resolution."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..errors import InputError

log = logging.getLogger("styleforge")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "look",
        help="apply a saved look (.cube 3D LUT, e.g. from `styleforge photo --save-look`) to photos",
        description="Looks are 3D colour LUTs in the .cube format (Resolve, Photoshop, ffmpeg lut3d).",
    )
    lsub = p.add_subparsers(dest="look_command", metavar="ACTION")
    a = lsub.add_parser(
        "apply",
        help="apply LOOK to images or folders of images, at full resolution",
        description="Apply LOOK (a 3D .cube LUT, trilinear) to every image; folders are expanded.",
    )
    a.add_argument("look", help="the .cube file")
    a.add_argument("images", nargs="+", help="images and/or folders")
    a.add_argument(
        "-o",
        "--output",
        required=True,
        help="output folder (created if its parent exists), or a file name for a single image",
    )
    a.add_argument("--strength", type=float, default=1.0, help="blend with the original, 0–1 (default 1)")
    a.add_argument("--recursive", action="store_true", help="look into sub-folders too")
    a.set_defaults(func=run_apply)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _inputs(items: list[str], recursive: bool) -> list[Path]:
    from ..io import IMAGE_EXTENSIONS, list_images

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = list_images(p, recursive=recursive)
            if not found:
                raise InputError(f"no images in folder {p}")
            out += found
        elif not p.exists():
            raise InputError(f"image not found: {p}")
        elif p.suffix.lower() not in IMAGE_EXTENSIONS:
            raise InputError(f"not an image file: {p}")
        else:
            out.append(p)
    return out


def run_apply(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from ..io import check_output_path, load_image, save_image
    from ..transfer.fastphoto import apply_look
    from ..transfer.lut import read_cube

    if not 0.0 <= args.strength <= 1.0:
        raise InputError("--strength must be between 0 and 1")
    look = read_cube(args.look)  # a file that is not a LUT stops here, before anything is written
    inputs = _inputs(args.images, args.recursive)
    out = Path(args.output)
    single_file = len(inputs) == 1 and out.suffix != "" and not out.is_dir()
    if single_file:
        targets = [check_output_path(out)]
    else:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} is a file: give a folder for several images")
        if not out.exists():
            if not (out.parent if str(out.parent) else Path(".")).is_dir():
                raise InputError(f"output folder's parent does not exist: {out.parent}")
        names = [p.name for p in inputs]
        if len(set(names)) != len(names):
            raise InputError("two inputs have the same file name; they would overwrite each other in the output folder")
        targets = [out / n for n in names]
    for src in inputs:  # read every header first: a broken file is reported before anything is written
        try:
            with Image.open(src) as im:
                im.size  # noqa: B018
        except Exception:
            raise InputError(f"{src} is not an image (unrecognised format)") from None
    if not single_file:
        out.mkdir(exist_ok=True)
    for src, dst in zip(inputs, targets, strict=True):
        img = np.asarray(load_image(src, what="image"))
        save_image(Image.fromarray(apply_look(look, img, strength=args.strength)), dst)
        log.info("wrote %s", dst)
    return 0
