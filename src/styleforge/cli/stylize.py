"""``styleforge stylize`` (Gatys artistic style) and ``styleforge styles``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..transfer.config import AMPS, INITS, OPTIMIZERS, GatysConfig, final_iterations, gatys_config
from .options import content_targets
from .options import floats as _floats
from .options import names as _names
from .options import scales as _scales

log = logging.getLogger("styleforge")


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def add_gatys_options(p: argparse.ArgumentParser) -> None:
    """The neural-style options, shared by ``stylize``, ``photo --method dpst`` and ``video --style``.

    Their defaults are :class:`~styleforge.transfer.config.GatysConfig`'s (read, never restated).
    """
    d = GatysConfig()
    g = p.add_argument_group("optimisation (neural-style's names and meanings)")
    g.add_argument("--content-weight", type=float, default=d.content_weight)
    g.add_argument("--style-weight", type=float, default=d.style_weight)
    g.add_argument("--tv-weight", type=float, default=d.tv_weight)
    g.add_argument("--content-layers", type=_names, default=d.content_layers, help="comma list, default relu4_2")
    g.add_argument("--style-layers", type=_names, default=d.style_layers, help="comma list, default relu1_1,…,relu5_1")
    g.add_argument(
        "--style-layer-weights", type=_floats, default=d.style_layer_weights, help="one weight per style layer"
    )
    g.add_argument(
        "--image-size",
        type=int,
        default=d.image_size,
        help=f"long side of the output in pixels (default {d.image_size})",
    )
    g.add_argument(
        "--iterations",
        "--num-iterations",
        type=int,
        default=d.iterations,
        help="evaluations per scale (default: the backbone's schedule over the default scales, "
        f"{','.join(map(str, d.stage_iterations()))}, i.e. {final_iterations(d.backbone)} at full size and "
        "twice as many at each halving; "
        f"{','.join(map(str, GatysConfig(backbone='effnet-lite0').stage_iterations()))} with effnet-lite0)",
    )
    g.add_argument(
        "--scales",
        type=_scales,
        default=d.scales,
        help=f"coarse-to-fine fractions of --image-size (default {','.join(f'{s:g}' for s in d.scales)}; "
        "'none' = single scale)",
    )
    g.add_argument(
        "--scale-iterations",
        type=_ints,
        default=d.scale_iterations,
        help="evaluations per scale, coarse to fine (e.g. 200,100,40); overrides --iterations",
    )
    g.add_argument(
        "--scale-detail",
        type=float,
        default=d.scale_detail,
        help="at each change of scale, add this fraction of the photo's detail the coarser scale "
        f"could not hold to the upsampled result (0 = plain upsampling; default {d.scale_detail:g})",
    )
    g.add_argument(
        "--amp",
        choices=AMPS,
        default=d.amp,
        help=f"backbone passes in bf16: auto = on CPUs with native bf16 (AMX/AVX512-BF16); none = fp32 "
        f"(default {d.amp})",
    )
    g.add_argument("--init", choices=INITS, default=d.init)
    g.add_argument("--init-image", default=None, help="image for --init image")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    g.add_argument(
        "--learning-rate", type=float, default=d.learning_rate, help="default 1 (lbfgs) or 10 (adam, 0–255 scale)"
    )
    g.add_argument("--pooling", choices=("max", "avg"), default=d.pooling)
    g.add_argument(
        "--backbone",
        default=d.backbone,
        help=f"{d.backbone} (default, works offline), vgg19 / vgg16 (torchvision download), "
        "effnet-lite0 (fast CPU preview)",
    )
    g.add_argument(
        "--weights", default=d.weights, help="local VGG weights (.pth torchvision or caffe layout, .safetensors)"
    )
    g.add_argument("--device", default=d.device, help="auto, cpu, cuda or mps")
    g.add_argument("--save-every", type=int, default=0, help="save an intermediate image every N evaluations")
    g.add_argument("--print-every", type=int, default=0, help="log the losses every N evaluations")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


#: GatysConfig fields that the shared options above set (the rest come from each command's own options).
GATYS_OPTIONS = (
    "content_weight",
    "style_weight",
    "tv_weight",
    "content_layers",
    "style_layers",
    "style_layer_weights",
    "image_size",
    "iterations",
    "scales",
    "scale_iterations",
    "amp",
    "scale_detail",
    "init",
    "optimizer",
    "learning_rate",
    "pooling",
    "seed",
    "backbone",
    "weights",
    "device",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stylize",
        help="paint a photo in the style of one or more paintings (Gatys et al.)",
        description="Artistic style transfer by optimisation (Gatys et al.), with neural-style's options.",
    )
    p.add_argument("content", nargs="+", help="content image(s), a folder, or the built-in 'tubingen'")
    p.add_argument(
        "--style",
        action="append",
        default=None,
        help="style image path or built-in name (repeat for several; see `styleforge styles`)",
    )
    p.add_argument(
        "--instant",
        action="append",
        default=None,
        metavar="STYLE",
        help="instant style instead of optimisation: a built-in instant model (see "
        "`styleforge instant-styles`), trained weights, or any image (WCT); see `styleforge instant -h`",
    )
    p.add_argument("-o", "--output", required=True, help="output image (or folder for several contents)")
    p.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="redis://HOST:PORT/DB: run each photo as a job on `styleforge worker`s; -o is a folder",
    )
    p.add_argument("--style-blend-weights", type=_floats, default=None, help="one weight per --style")
    p.add_argument("--style-scale", type=float, default=GatysConfig.style_scale)
    p.add_argument(
        "--style-mask",
        action="append",
        default=None,
        help="one mask per --style: white = this style here; elsewhere the content is kept",
    )
    p.add_argument("--original-colors", action="store_true", help="transfer luminance only, keep the photo's colours")
    p.add_argument("--color-space", choices=("yuv", "yiq"), default=GatysConfig.color_space)
    p.add_argument(
        "--color-match",
        choices=("histogram", "mean-cov"),
        default=None,
        help="recolour the style to the photo's colours before transfer",
    )
    p.add_argument("--color-mask", default=None, help="keep the photo's colours only in the white region")
    p.add_argument(
        "--improved",
        action="store_true",
        help="Novak & Nikulin's improvements: all layers, geometric weights, shifted Grams, chains",
    )
    add_gatys_options(p)
    from .instant import add_instant_options

    add_instant_options(p, with_original_colors=False)
    p.set_defaults(func=run)

    s = sub.add_parser("styles", help="list the built-in styles")
    s.set_defaults(func=run_styles)


def run_styles(args: argparse.Namespace) -> int:
    from ..assets import builtin_styles

    for name, path in builtin_styles().items():
        print(f"{name:24s} {path}")
    return 0


def gatys_config_from_args(args: argparse.Namespace, **extra: Any) -> GatysConfig:
    """The command line's :class:`GatysConfig`: the shared options plus a command's ``extra`` fields."""
    return gatys_config(**{k: getattr(args, k) for k in GATYS_OPTIONS}, **extra)


def config_from_args(args: argparse.Namespace) -> GatysConfig:
    """``styleforge stylize``'s configuration: the shared options and the command's own."""
    return gatys_config_from_args(
        args,
        style_blend_weights=args.style_blend_weights,
        style_scale=args.style_scale,
        original_colors=args.original_colors,
        color_space=args.color_space,
        color_match=args.color_match,
        improved=args.improved,
    )


def run(args: argparse.Namespace) -> int:
    if getattr(args, "broker", None):  # the job queue (styleforge.service): one job per photo
        from ..service.client import run_cli

        return run_cli("instant" if args.instant else "artistic", args)
    if args.instant:  # feed-forward / AdaIN: milliseconds instead of an optimisation (and no torch import)
        from .instant import run_with_args

        if args.style:
            raise InputError("give either --style (optimisation) or --instant (feed-forward), not both")
        args.size = args.size or args.image_size
        return run_with_args(args.content, args.instant, args.output, args)

    import torch

    from ..io import load_input, load_mask, pil_to_tensor, resize_max_side, save_image
    from ..precision import skip_dynamo_import
    from ..transfer.gatys import StageInfo, pick_device, stylize_tensor

    skip_dynamo_import()  # the CLI never compiles: L-BFGS need not import torch._dynamo (≈ 2 s of a preview)

    if not args.style:
        raise InputError("give --style STYLE (or --instant STYLE for an instant style)")
    cfg = config_from_args(args)
    cfg.validate(len(args.style))
    if args.init == "image" and not args.init_image:
        raise InputError("--init image needs --init-image PATH")
    if args.style_mask is not None and len(args.style_mask) != len(args.style):
        raise InputError(f"{len(args.style_mask)} --style-mask for {len(args.style)} --style: give one mask per style")

    files, targets = content_targets(args.content, args.output)
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:  # torchrun: each rank takes its share of the files, on its own GPU
        files, targets = files[rank::world], targets[rank::world]
        if cfg.device in ("auto", "cuda") and torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))

    # Load and check every input before any heavy work.
    style_size = round(cfg.image_size * cfg.style_scale)
    styles = [pil_to_tensor(resize_max_side(load_input(s, what="style image"), style_size)) for s in args.style]
    init = pil_to_tensor(load_input(args.init_image, kind="content", what="init image")) if args.init_image else None
    contents = [
        resize_max_side(load_input(str(f), kind="content", what="content image"), cfg.image_size) for f in files
    ]
    pick_device(cfg.device)

    interrupted = False
    for content_img, target in zip(contents, targets, strict=True):
        masks = None
        if args.style_mask:
            masks = [load_mask(m, content_img.size, what="style mask") for m in args.style_mask]
        cm = load_mask(args.color_mask, content_img.size, what="color mask") if args.color_mask else None
        c = pil_to_tensor(content_img)

        def callback(
            stage: StageInfo, step: int, losses: dict[str, float], image: torch.Tensor, _t: Path = target
        ) -> None:
            if args.print_every and step % args.print_every == 0:
                log.info(
                    "scale %d/%d iteration %d: %s",
                    stage.index + 1,
                    stage.count,
                    step,
                    " ".join(f"{k}={v:.4g}" for k, v in losses.items()),
                )
            if args.save_every and step % args.save_every == 0:
                save_image(image, _t.with_name(f"{_t.stem}_s{stage.index + 1}_{step:04d}{_t.suffix}"))

        result = stylize_tensor(
            c,
            styles,
            cfg,
            style_masks=masks,
            color_mask=cm,
            init_image=init,
            callback=callback,
            progress=not args.quiet and sys.stderr.isatty(),
        )
        save_image(result.image, target)
        log.info("wrote %s (%s)", target, " ".join(f"{k}={v:.4g}" for k, v in result.losses.items()))
        if result.interrupted:
            interrupted = True
            log.info("interrupted: saved the current image to %s", target)
            break
    return 130 if interrupted else 0
