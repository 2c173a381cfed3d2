"""``styleforge doodle``: turn a colour-coded doodle into a painting (neural doodles)."""

from __future__ import annotations

import argparse
import logging
import sys

from ..transfer.config import DoodleConfig

log = logging.getLogger("styleforge")


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    d = DoodleConfig()
    p.add_argument("--image-size", type=int, default=d.image_size)
    p.add_argument("--iterations", type=int, default=d.iterations, help="evaluations per scale")
    p.add_argument("--semantic-weight", type=float, default=d.semantic_weight)
    p.add_argument("--style-weight", type=float, default=d.style_weight)
    p.add_argument("--content-weight", type=float, default=d.content_weight)
    p.add_argument("--tv-weight", type=float, default=d.tv_weight)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> DoodleConfig:
    """``styleforge doodle``'s configuration (unset options keep :class:`DoodleConfig`'s defaults)."""
    return DoodleConfig(
        image_size=args.image_size,
        iterations=args.iterations,
        semantic_weight=args.semantic_weight,
        style_weight=args.style_weight,
        content_weight=args.content_weight,
        tv_weight=args.tv_weight,
        seed=args.seed,
        device=args.device,
    )


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..io import check_output_path, load_image, load_input, pil_to_tensor, resize_max_side, save_image
    from ..transfer.doodle import doodle_tensor

    cfg = config_from_args(args)
    cfg.validate()
    out = check_output_path(args.output)
    style_img = resize_max_side(load_input(args.style, what="style image"), cfg.image_size)
    smap = load_image(args.style_map, what="style map")
    if abs(smap.width / smap.height - style_img.width / style_img.height) > 0.02:
        raise InputError(f"the style map {args.style_map} must have the style image's size or aspect ratio")
    smap = smap.resize(style_img.size, 0)  # nearest: keep the map's colours exact
    tmap = resize_max_side(load_image(args.target_map, what="target map"), cfg.image_size)
    content = pil_to_tensor(load_input(args.content, kind="content", what="content image")) if args.content else None
    res = doodle_tensor(
        pil_to_tensor(style_img),
        pil_to_tensor(smap),
        pil_to_tensor(tmap),
        cfg,
        content=content,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    save_image(res.image, out)
    log.info("wrote %s", out)
    return 130 if res.interrupted else 0
