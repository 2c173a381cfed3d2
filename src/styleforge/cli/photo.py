"""``styleforge photo`` (fast fitted colour model, or Deep Photo Style Transfer) and ``styleforge smooth``."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from ..transfer.config import FastConfig, GatysConfig, PhotoConfig, fast_config, photo_config

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger("styleforge")


def add_parser(sub: argparse._SubParsersAction) -> None:
    from .stylize import add_gatys_options

    p = sub.add_parser(
        "photo",
        help="photorealistic style transfer: give a photo another photo's look (seconds, full resolution)",
        description="Give CONTENT the look of STYLE and keep it a photograph. --method fast (default): "
        "per-segment optimal-transport colour transfer at --work-size, an edge-aware local affine model "
        "fitted to it and applied at the photo's full resolution, and a global 33³ LUT (--save-look). "
        "--method dpst: Deep Photo Style Transfer (Luan et al.), the optimisation (minutes). Without masks, "
        "segments are found automatically (matched deep-feature clusters of both photos).",
    )
    p.add_argument("content", help="content photo")
    p.add_argument("style", help="style photo (the look to copy)")
    p.add_argument("-o", "--output", required=True, help="output image (.png/.jpg)")
    p.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="redis://HOST:PORT/DB: run each photo as a job on `styleforge worker`s; -o is a folder",
    )
    p.add_argument(
        "--method",
        choices=("fast", "dpst"),
        default="fast",
        help="fast: fitted colour model, seconds (default) · dpst: the optimisation, minutes",
    )
    p.add_argument("--content-mask", default=None, help="DPST colour mask of the content (same aspect ratio)")
    p.add_argument("--style-mask", default=None, help="DPST colour mask of the style photo")
    p.add_argument(
        "--auto-masks",
        dest="auto_masks",
        action="store_true",
        default=None,
        help="find matched segments automatically (the default without masks)",
    )
    p.add_argument(
        "--no-auto-masks",
        dest="auto_masks",
        action="store_false",
        help="without masks, treat each photo as one segment",
    )
    p.add_argument(
        "--segments",
        type=int,
        default=FastConfig.segments,
        help=f"automatic masks: number of clusters (default {FastConfig.segments})",
    )
    p.add_argument("--save-masks", default=None, help="also write the (automatic or parsed) content mask here")
    p.add_argument(
        "--mask-tolerance",
        type=float,
        default=PhotoConfig.mask_tolerance,
        help="max per-channel distance (0–1) of a mask pixel to a DPST colour "
        f"(default {PhotoConfig.mask_tolerance:g})",
    )
    p.add_argument(
        "--smooth",
        choices=("exact", "fast", "none"),
        default=None,
        help="closed-form smoothing of the solved colours: exact (sparse solve), fast (guided filter) "
        "or none (default: fast method exact with automatic masks, none with given ones; dpst none)",
    )
    p.add_argument(
        "--smooth-alpha",
        type=float,
        default=None,
        help=f"α of (I + αL̃)y = x (default {PhotoConfig.smooth_alpha:g} = β 0.9999)",
    )
    f = p.add_argument_group("fast method (--method fast)")
    f.add_argument("--save-look", default=None, help="write the global colour transform as a 33³ .cube LUT")
    f.add_argument(
        "--work-size",
        type=int,
        default=FastConfig.work_size,
        help=f"long side where the colours are solved (default {FastConfig.work_size})",
    )
    f.add_argument(
        "--fit-radius",
        type=int,
        default=FastConfig.radius,
        help=f"window radius of the affine fit at --work-size ({FastConfig.radius})",
    )
    f.add_argument(
        "--fit-eps", type=float, default=FastConfig.eps, help=f"ridge of the affine fit (default {FastConfig.eps:g})"
    )
    f.add_argument(
        "--global-only",
        action="store_true",
        help="output the global LUT alone (the saved look) instead of the local affine model",
    )
    f.add_argument(
        "--strength",
        type=float,
        default=FastConfig.strength,
        help=f"blend with the photo, 0–1 (default {FastConfig.strength:g})",
    )
    d = p.add_argument_group("DPST method (--method dpst)")
    d.add_argument(
        "--lambda",
        dest="photo_weight",
        type=float,
        default=PhotoConfig.photo_weight,
        help=f"photorealism weight λ of stage 2 (DPST's scale, default {PhotoConfig.photo_weight:g}; 0 skips stage 2)",
    )
    d.add_argument(
        "--stage2-iterations",
        type=int,
        default=PhotoConfig.stage2_iterations,
        help="evaluations of stage 2 (default --iterations, else as many as stage 1 in all)",
    )
    d.add_argument(
        "--no-local-affine", dest="local_affine", action="store_false", help="skip DPST's final smooth local affine fit"
    )
    d.add_argument(
        "--f-radius",
        type=int,
        default=PhotoConfig.f_radius,
        help=f"local affine: bilateral radius (DPST -f_radius, {PhotoConfig.f_radius})",
    )
    d.add_argument(
        "--f-edge",
        type=float,
        default=PhotoConfig.f_edge,
        help=f"local affine: colour sigma (DPST -f_edge, {PhotoConfig.f_edge:g})",
    )
    d.add_argument(
        "--no-color-init",
        dest="color_init",
        action="store_false",
        help="start stage 1 from the content itself, not from a per-segment colour transfer",
    )
    d.add_argument("--style-scale", type=float, default=GatysConfig.style_scale)
    d.add_argument("--save-stage1", default=None, help="also write the stage-1 result here")
    add_gatys_options(p)
    p.set_defaults(func=run, image_size=None)  # fast: the photo's own size; dpst: GatysConfig's

    s = sub.add_parser(
        "smooth",
        help="make any image photorealistic along a photo's edges (closed-form matting smoothing)",
        description="Smooth IMAGE so it is locally an affine function of GUIDE's colours: exact = "
        "FastPhotoStyle's closed-form (I + αL̃)y = x, fast = guided filter, affine = DPST's local affine fit.",
    )
    s.add_argument("image", help="image to smooth (e.g. a stylised or GAN output)")
    s.add_argument("--guide", required=True, help="the content photo whose edges to follow")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--mode", choices=("exact", "fast", "affine"), default="exact")
    s.add_argument("--alpha", type=float, default=1e4, help="exact: α (default 1e4)")
    s.add_argument("--radius", type=int, default=None, help="fast: guided filter radius (default long side / 25)")
    s.add_argument("--gf-eps", type=float, default=1e-3, help="fast: guided filter ε (default 1e-3)")
    s.add_argument("--f-radius", type=int, default=7)
    s.add_argument("--f-edge", type=float, default=0.05)
    s.add_argument("--image-size", type=int, default=None, help="work at this long side (default: the guide's size)")
    s.add_argument("--device", default="cpu", help="cpu or cuda (exact: conjugate gradient on GPU)")
    s.set_defaults(func=run_smooth)


def _masks_option(args: argparse.Namespace) -> bool:
    """Whether to find masks automatically; checks the mask options against each other."""
    if (args.content_mask is None) != (args.style_mask is None):
        raise InputError("give both --content-mask and --style-mask, or neither")
    if args.content_mask is not None and args.auto_masks:
        raise InputError("--auto-masks finds the masks itself: drop --content-mask/--style-mask, or --auto-masks")
    return args.content_mask is None and args.auto_masks is not False


def run(args: argparse.Namespace) -> int:
    if getattr(args, "broker", None):  # the job queue (styleforge.service): one job per photo
        from ..service.client import run_cli

        return run_cli("photo", args)
    auto = _masks_option(args)
    if args.method == "fast":
        return run_fast(args, auto)
    if args.save_look:
        raise InputError("--save-look needs --method fast (the look is the fast method's fitted colour model)")
    return run_dpst(args, auto)


def fast_config_from_args(args: argparse.Namespace) -> FastConfig:
    """The command line's fast-method configuration (unset options keep :class:`FastConfig`'s defaults)."""
    return fast_config(
        work_size=args.work_size,
        radius=args.fit_radius,
        eps=args.fit_eps,
        local=not args.global_only,
        segments=args.segments,
        strength=args.strength,
        **_given(smooth=args.smooth, smooth_alpha=args.smooth_alpha),
    )


def photo_config_from_args(args: argparse.Namespace) -> PhotoConfig:
    """The command line's DPST configuration (unset options keep :class:`PhotoConfig`'s defaults)."""
    from .stylize import GATYS_OPTIONS

    gatys = {k: getattr(args, k) for k in GATYS_OPTIONS if not (k == "image_size" and args.image_size is None)}
    return photo_config(
        **gatys,
        style_scale=args.style_scale,
        photo_weight=args.photo_weight,
        stage2_iterations=args.stage2_iterations,
        local_affine=args.local_affine,
        f_radius=args.f_radius,
        f_edge=args.f_edge,
        mask_tolerance=args.mask_tolerance,
        color_init=args.color_init,
        **_given(smooth=args.smooth, smooth_alpha=args.smooth_alpha),
    )


def _given(**options: object) -> dict[str, object]:
    """The options the user set (``None``: left to the configuration's default)."""
    return {k: v for k, v in options.items() if v is not None}


def run_fast(args: argparse.Namespace, auto: bool) -> int:
    from ..io import check_output_path, load_input, resize_max_side, save_image
    from ..transfer.automask import prepare_masks
    from ..transfer.fastphoto import check_fast_memory, fast_transfer
    from ..transfer.lut import check_cube_path, write_cube

    cfg = fast_config_from_args(args)
    cfg.validate()
    if args.image_size is not None and not 16 <= args.image_size <= 16384:
        raise InputError("--image-size must be between 16 and 16384")
    target = check_output_path(args.output)
    look_path = check_cube_path(args.save_look) if args.save_look else None
    masks_path = check_output_path(args.save_masks) if args.save_masks else None
    c_img = load_input(args.content, kind="content", what="content image")
    if args.image_size is not None:
        c_img = resize_max_side(c_img, args.image_size)
    check_fast_memory(c_img.size[1], c_img.size[0])
    s_img = load_input(args.style, what="style image")
    maps = prepare_masks(
        c_img, s_img, args.content_mask, args.style_mask, work_size=cfg.work_size, tolerance=args.mask_tolerance
    )
    cl, sl = maps if maps is not None else (None, None)
    res = fast_transfer(c_img, s_img, cfg, content_labels=cl, style_labels=sl, auto=auto, look=look_path is not None)
    save_image(_pil(res.image), target)
    if look_path is not None and res.look is not None:
        write_cube(res.look, look_path)
    if masks_path is not None and res.content_labels is not None:
        save_image(_mask_image(res.content_labels), masks_path)
    log.info(
        "wrote %s%s (%s)",
        target,
        f" and {look_path}" if look_path else "",
        " ".join(f"{k} {v:.1f}s" for k, v in res.timings.items()),
    )
    return 0


def _pil(arr: Any) -> Image.Image:
    from PIL import Image

    return Image.fromarray(arr)


def _mask_image(labels: Any) -> Image.Image:
    """Label map → DPST colour mask (palette order)."""
    import numpy as np
    from PIL import Image

    from ..transfer.segmentation import PALETTE

    pal = (np.array(list(PALETTE.values())) * 255).astype(np.uint8)
    return Image.fromarray(pal[np.asarray(labels)])


def run_dpst(args: argparse.Namespace, auto: bool) -> int:
    from ..io import check_output_path, load_input, pil_to_tensor, resize_max_side, save_image
    from ..transfer.automask import prepare_masks
    from ..transfer.gatys import StageInfo
    from ..transfer.photoreal import photo_transfer

    cfg = photo_config_from_args(args)
    gcfg = cfg.gatys
    cfg.validate()
    gcfg.validate(1)
    if args.init == "image" and not args.init_image:
        raise InputError("--init image needs --init-image PATH")
    target = check_output_path(args.output)
    stage1_path = check_output_path(args.save_stage1) if args.save_stage1 else None
    masks_path = check_output_path(args.save_masks) if args.save_masks else None
    # Load and check every input before the heavy work.
    c_img = resize_max_side(load_input(args.content, kind="content", what="content image"), gcfg.image_size)
    s_img = resize_max_side(load_input(args.style, what="style image"), round(gcfg.image_size * gcfg.style_scale))
    maps = prepare_masks(
        c_img,
        s_img,
        args.content_mask,
        args.style_mask,
        auto=auto,
        segments=args.segments,
        tolerance=cfg.mask_tolerance,
    )
    cseg, sseg = maps if maps is not None else (None, None)
    if masks_path is not None and cseg is not None:
        save_image(_mask_image(cseg), masks_path)

    def callback(stage: StageInfo, step: int, losses: dict[str, float], image: torch.Tensor) -> None:
        if args.print_every and step % args.print_every == 0:
            log.info(
                "scale %d/%d iteration %d: %s",
                stage.index + 1,
                stage.count,
                step,
                " ".join(f"{k}={v:.4g}" for k, v in losses.items()),
            )

    def on_stage1(img: torch.Tensor) -> None:
        if stage1_path is not None:
            save_image(img, stage1_path)

    res = photo_transfer(
        pil_to_tensor(c_img),
        pil_to_tensor(s_img),
        cfg,
        content_seg=cseg,
        style_seg=sseg,
        callback=callback,
        progress=not args.quiet and sys.stderr.isatty(),
        on_stage1=on_stage1,
    )
    save_image(res.image, target)
    log.info(
        "wrote %s (%s; %s)",
        target,
        " ".join(f"{k}={v:.4g}" for k, v in res.losses.items()),
        " ".join(f"{k} {v:.1f}s" for k, v in res.timings.items()),
    )
    return 130 if res.interrupted else 0


def run_smooth(args: argparse.Namespace) -> int:
    from ..io import check_output_path, load_input, pil_to_tensor, resize_max_side, save_image
    from ..transfer.gatys import pick_device
    from ..transfer.matting import guided_filter, local_affine, smooth

    target = check_output_path(args.output)
    guide_img = load_input(args.guide, kind="content", what="guide image")
    if args.image_size is not None:
        if not 16 <= args.image_size <= 8192:
            raise InputError("--image-size must be between 16 and 8192")
        guide_img = resize_max_side(guide_img, args.image_size)
    img = load_input(args.image, kind="content", what="image")
    gw, gh = guide_img.size
    if abs(img.size[0] / img.size[1] - gw / gh) > 0.02 * gw / gh:
        log.info(
            "note: %s is %d×%d, the guide %d×%d: it is stretched to the guide's size",
            args.image,
            img.size[0],
            img.size[1],
            gw,
            gh,
        )
    device = pick_device(args.device)
    g = pil_to_tensor(guide_img).to(device)
    x = pil_to_tensor(img).to(device)
    if args.mode == "exact":
        out = smooth(x, g, "exact", alpha=args.alpha)
    elif args.mode == "fast":
        out = guided_filter(x, g, radius=args.radius, eps=args.gf_eps)
    else:
        out = local_affine(x, g, f_radius=args.f_radius, f_edge=args.f_edge)
    save_image(out.cpu(), target)
    log.info("wrote %s", target)
    return 0
