"""``styleforge photo`` (Deep Photo Style Transfer) and ``styleforge smooth`` (closed-form smoothing)."""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import InputError

log = logging.getLogger("styleforge")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from .stylize import add_gatys_options

    p = sub.add_parser(
        "photo",
        help="photorealistic style transfer: give a photo another photo's look (Deep Photo Style Transfer)",
        description="Deep Photo Style Transfer (Luan et al.): segmented style transfer, a matting-Laplacian "
        "photorealism stage, then DPST's local affine fit (and optional closed-form smoothing).",
    )
    p.add_argument("content", help="content photo")
    p.add_argument("style", help="style photo (the look to copy)")
    p.add_argument("-o", "--output", required=True, help="output image (.png/.jpg)")
    p.add_argument("--content-mask", default=None, help="DPST colour mask of the content (same size/aspect)")
    p.add_argument("--style-mask", default=None, help="DPST colour mask of the style photo")
    p.add_argument("--mask-tolerance", type=float, default=0.25,
                   help="max per-channel distance (0–1) of a mask pixel to a DPST colour (default 0.25)")
    p.add_argument("--lambda", dest="photo_weight", type=float, default=1e4,
                   help="photorealism weight λ of stage 2 (DPST's scale, default 1e4; 0 skips stage 2)")
    p.add_argument("--stage2-iterations", type=int, default=None, help="evaluations of stage 2 (default --iterations)")
    p.add_argument("--smooth", choices=("exact", "fast", "none"), default="none",
                   help="closed-form smoothing after stage 2: exact (sparse solve), fast (guided filter) or none")
    p.add_argument("--smooth-alpha", type=float, default=1e4, help="α of (I + αL̃)y = x (default 1e4 = β 0.9999)")
    p.add_argument("--no-local-affine", dest="local_affine", action="store_false",
                   help="skip DPST's final smooth local affine fit")
    p.add_argument("--f-radius", type=int, default=7, help="local affine: bilateral radius (DPST -f_radius, 7)")
    p.add_argument("--f-edge", type=float, default=0.05, help="local affine: colour sigma (DPST -f_edge, 0.05)")
    p.add_argument("--no-color-init", dest="color_init", action="store_false",
                   help="start stage 1 from the content itself, not from a per-segment colour transfer")
    p.add_argument("--style-scale", type=float, default=1.0)
    p.add_argument("--save-stage1", default=None, help="also write the stage-1 result here")
    add_gatys_options(p)
    p.set_defaults(func=run, iterations=300)

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


def run(args: argparse.Namespace) -> int:
    from ..io import load_input
    from ..io import check_output_path, pil_to_tensor, resize_max_side, save_image
    from ..transfer.gatys import StageInfo
    from ..transfer.photoreal import PhotoConfig, _seg_image, photo_transfer
    from .stylize import gatys_config_from_args

    gcfg = gatys_config_from_args(args, style_scale=args.style_scale)
    cfg = PhotoConfig(
        gatys=gcfg,
        photo_weight=args.photo_weight,
        stage2_iterations=args.stage2_iterations,
        smooth=args.smooth,
        smooth_alpha=args.smooth_alpha,
        local_affine=args.local_affine,
        f_radius=args.f_radius,
        f_edge=args.f_edge,
        mask_tolerance=args.mask_tolerance,
        color_init=args.color_init,
    )
    cfg.validate()
    gcfg.validate(1)
    if args.init == "image" and not args.init_image:
        raise InputError("--init image needs --init-image PATH")
    if (args.content_mask is None) != (args.style_mask is None):
        raise InputError("give both --content-mask and --style-mask, or neither")
    target = check_output_path(args.output)
    stage1_path = check_output_path(args.save_stage1) if args.save_stage1 else None
    # Load and check every input before the heavy work.
    c_img = resize_max_side(load_input(args.content, kind="content", what="content image"), gcfg.image_size)
    s_img = resize_max_side(load_input(args.style, what="style image"), round(gcfg.image_size * gcfg.style_scale))
    cseg = _seg_image(args.content_mask, c_img.size, "content mask")
    sseg = _seg_image(args.style_mask, s_img.size, "style mask")

    def callback(stage: StageInfo, step: int, losses: dict[str, float], image: object) -> None:
        if args.print_every and step % args.print_every == 0:
            log.info("scale %d/%d iteration %d: %s", stage.index + 1, stage.count, step,
                     " ".join(f"{k}={v:.4g}" for k, v in losses.items()))

    def on_stage1(img: object) -> None:
        if stage1_path is not None:
            save_image(img, stage1_path)  # type: ignore[arg-type]

    res = photo_transfer(
        pil_to_tensor(c_img), pil_to_tensor(s_img), cfg, content_seg=cseg, style_seg=sseg, callback=callback,
        progress=not args.quiet and sys.stderr.isatty(), on_stage1=on_stage1,
    )
    save_image(res.image, target)
    log.info("wrote %s (%s; %s)", target, " ".join(f"{k}={v:.4g}" for k, v in res.losses.items()),
             " ".join(f"{k} {v:.1f}s" for k, v in res.timings.items()))
    return 130 if res.interrupted else 0


def run_smooth(args: argparse.Namespace) -> int:
    from ..io import load_input
    from ..io import check_output_path, pil_to_tensor, resize_max_side, save_image
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
        log.info("note: %s is %d×%d, the guide %d×%d: it is stretched to the guide's size", args.image,
                 img.size[0], img.size[1], gw, gh)
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
