"""``styleforge doodle``: turn a colour-coded doodle into a painting (neural doodles)."""

from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger("styleforge")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "doodle",
        help="paint a colour-coded doodle in the style of an annotated painting (neural doodles)",
        description="Semantic style transfer (Champandard 2016): STYLE with its colour map STYLE_MAP; "
        "TARGET_MAP painted with the same colours becomes a new painting.",
    )
    p.add_argument("--style", required=True, help="style painting (path or built-in name)")
    p.add_argument("--style-map", required=True, help="colour-coded semantic map of the style (same size)")
    p.add_argument("--target-map", required=True, help="your doodle, painted with the style map's colours")
    p.add_argument("--content", default=None, help="optional content photo to keep (with --content-weight)")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--iterations", type=int, default=100, help="evaluations per scale")
    p.add_argument("--semantic-weight", type=float, default=10.0)
    p.add_argument("--style-weight", type=float, default=1.0)
    p.add_argument("--content-weight", type=float, default=0.0)
    p.add_argument("--tv-weight", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io import load_input
    from ..errors import InputError
    from ..io import check_output_path, load_image, pil_to_tensor, resize_max_side, save_image
    from ..transfer.doodle import DoodleConfig, doodle_tensor

    if not 32 <= args.image_size <= 2048:
        raise InputError(f"--image-size must be between 32 and 2048, got {args.image_size}")
    out = check_output_path(args.output)
    style_img = resize_max_side(load_input(args.style, what="style image"), args.image_size)
    smap = load_image(args.style_map, what="style map")
    if abs(smap.width / smap.height - style_img.width / style_img.height) > 0.02:
        raise InputError(f"the style map {args.style_map} must have the style image's size or aspect ratio")
    smap = smap.resize(style_img.size, 0)  # nearest: keep the map's colours exact
    tmap = resize_max_side(load_image(args.target_map, what="target map"), args.image_size)
    content = pil_to_tensor(load_input(args.content, kind="content", what="content image")) if args.content else None
    cfg = DoodleConfig(
        image_size=args.image_size, iterations=args.iterations, semantic_weight=args.semantic_weight,
        style_weight=args.style_weight, content_weight=args.content_weight, tv_weight=args.tv_weight,
        seed=args.seed, device=args.device,
    )
    res = doodle_tensor(pil_to_tensor(style_img), pil_to_tensor(smap), pil_to_tensor(tmap), cfg, content=content,
                        progress=not args.quiet and sys.stderr.isatty())
    save_image(res.image, out)
    log.info("wrote %s", out)
    return 130 if res.interrupted else 0
