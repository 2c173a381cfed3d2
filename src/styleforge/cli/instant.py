"""Instant styles: ``styleforge instant``, ``styleforge export onnx``, ``styleforge train instant|adain``.

Examples::

    styleforge instant photo.jpg --style starry_night -o out.png
    styleforge instant photos/ --style the_scream --strength 0.7 --original-colors -o out/
    styleforge instant photo.jpg --style painting.jpg --alpha 0.8 -o out.png          # any style image (WCT)
    styleforge stylize photo.jpg --instant starry_night --refine 30 -o out.png        # + 30 Gatys evaluations
    styleforge instant photo.jpg --style a.jpg --style b.jpg --style-weights 0.3,0.7 -o out.png
    styleforge instant photo.jpg --style a.jpg --style b.jpg --mask sky.png -o out.png
    styleforge train instant --style starry_night --content-dir photos/ --max-minutes 30
    styleforge train adain --content-dir photos/ --style-dir paintings/ --max-minutes 60
    styleforge export onnx starry_night -o starry_night.onnx
"""

from __future__ import annotations

__all__ = [
    "add_instant_options",
    "add_parser",
    "add_train_adain_parser",
    "add_train_instant_parser",
    "run_instant",
    "run_with_args",
]

import argparse
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError
from .options import content_targets
from .options import floats as _floats

log = logging.getLogger("styleforge")


def add_instant_options(p: argparse.ArgumentParser, *, with_original_colors: bool = True) -> None:
    """Test-time controls shared by ``instant`` and ``stylize --instant``."""
    from ..instant.options import AUTO_TILE, AUTO_TILE_PIXELS, InstantOptions

    g = p.add_argument_group("instant styles")
    g.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="0–1: blend the stylised image with the photo (per-style models; default 1)",
    )
    g.add_argument(
        "--alpha", type=float, default=None, help="image styles (WCT / AdaIN): content/style trade-off 0–1 (default 1)"
    )
    g.add_argument("--style-weights", type=_floats, default=None, help="interpolate several --style with these weights")
    g.add_argument("--mask", default=None, help="two styles: the first where the mask is white, the second elsewhere")
    g.add_argument(
        "--size",
        type=int,
        default=None,
        help="long side of the output (default: the photo's own)",
    )
    g.add_argument(
        "--tile",
        type=int,
        default=None,
        help=f"process in tiles of this many pixels with overlap (default: tiles of {AUTO_TILE} px above "
        f"{AUTO_TILE_PIXELS / 1e6:.1f} Mpixel)",
    )
    g.add_argument(
        "--overlap", type=int, default=InstantOptions.overlap, help="tile overlap in pixels (default %(default)s)"
    )
    g.add_argument(
        "--no-palette",
        dest="palette",
        action="store_false",
        help="one per-style network: skip the palette pass (its painting's colours and first-layer "
        "statistics after the network; a quarter of the network's time)",
    )
    try:  # `stylize` already has Gatys' --style-scale (the same meaning): --instant then shares it
        g.add_argument(
            "--style-scale",
            type=float,
            default=1.0,
            help="stroke size, as neural-style's -style_scale: 2 paints strokes twice as large, 0.5 half "
            "(WCT/AdaIN: the painting's working size; per-style networks: the photo's; 0.25–4, "
            "default 1)",
        )
    except argparse.ArgumentError:
        pass
    g.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto = onnxruntime when installed, else torch",
    )
    g.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    g.add_argument(
        "--adain-decoder",
        default=None,
        help="trained arbitrary-style weights (.safetensors: AdaIN decoder or WCT decoders) for image styles",
    )
    g.add_argument(
        "--arbitrary",
        choices=("auto", "wct", "adain"),
        default="auto",
        help="built-in network for image styles: auto (= wct, multi-level whitening–colouring), or adain",
    )
    g.add_argument(
        "--refine",
        type=int,
        default=0,
        metavar="N",
        help="polish the instant result with N Gatys evaluations at full size on effnet-lite0 (e.g. 10–30)",
    )
    g.add_argument(
        "--refine-style",
        default=None,
        metavar="IMAGE",
        help="style image for --refine (default: the painting recorded with the model, or the style image)",
    )
    if with_original_colors:
        g.add_argument("--original-colors", action="store_true", help="keep the photo's colours (luminance-only)")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "instant",
        help="instant styles: feed-forward networks (built-in or trained) and WCT / AdaIN with any style image",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("content", nargs="+", help="photo(s), a folder, or the built-in 'tubingen'")
    p.add_argument(
        "--style",
        action="append",
        required=True,
        help="built-in instant style (see --list), trained weights (.safetensors), or any image (WCT)",
    )
    p.add_argument("-o", "--output", required=True, help="output image (or folder for several photos)")
    p.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="redis://HOST:PORT/DB: run each photo as a job on `styleforge worker`s; -o is a folder",
    )
    p.add_argument("--list", action="store_true", help=argparse.SUPPRESS)
    add_instant_options(p)
    p.set_defaults(func=run_instant)

    ls = sub.add_parser("instant-styles", help="list the built-in instant styles")
    ls.set_defaults(func=run_list)

    e = sub.add_parser("export", help="export a model (ONNX)")
    esub = e.add_subparsers(dest="format", metavar="FORMAT")
    o = esub.add_parser("onnx", help="export an instant model to ONNX (per-style net, or AdaIN encoder+decoder)")
    o.add_argument("model", help="built-in instant style name, 'adain', or a trained .safetensors")
    o.add_argument("-o", "--output", required=True, help="output .onnx file")
    o.add_argument("--opset", type=int, default=17)
    o.add_argument("--fp16", action="store_true", help="store fp16 weights (smaller; onnxruntime CPU runs fp32 faster)")
    o.set_defaults(func=run_export)
    e.set_defaults(func=lambda args: (e.print_help(), 2)[1])


def run_list(args: argparse.Namespace) -> int:
    from ..instant.models import builtin_models

    for name, entry in builtin_models().items():
        print(f"{name:24s} {entry.kind:9s} {entry.description}")
    return 0


def _lite_eligible(styles: list[str], args: argparse.Namespace) -> bool:
    """Whether the options allow the torch-free runner (it may still be missing: :func:`_lite_runner`)."""
    return not (
        len(styles) != 1
        or args.backend == "torch"
        or args.mask
        or args.alpha is not None
        or args.style_weights
        or getattr(args, "original_colors", False)
        or args.tile
        or args.adain_decoder
        or getattr(args, "refine", 0)
    )


def _lite_runner(styles: list[str], args: argparse.Namespace) -> Any:
    """The torch-free runner (:mod:`styleforge.instant.lite`) when it gives the same picture, else ``None``."""
    if not _lite_eligible(styles, args):
        return None
    from ..instant.fastpath import lite_runner_for

    return lite_runner_for(styles[0], threads=args.threads, palette=args.palette)


def _wct_eligible(styles: list[str], args: argparse.Namespace) -> bool:
    """Whether the options allow the torch-free WCT runner (:mod:`styleforge.instant.wctlite`):
    one style image, the built-in WCT decoders, and none of the options it does not implement."""
    return not (
        len(styles) != 1
        or args.backend == "torch"
        or args.mask
        or args.style_weights
        or getattr(args, "original_colors", False)
        or args.tile
        or args.adain_decoder
        or getattr(args, "refine", 0)
        or getattr(args, "arbitrary", "auto") not in ("auto", "wct")
    )


def _wct_runner(styles: list[str], args: argparse.Namespace) -> tuple[Any, Path] | None:
    """``(runner, style image path)`` for a style image on the torch-free WCT path, else ``None``
    (a per-style network, another arbitrary method, no onnxruntime, or the VGG16 cache not written yet)."""
    if not _wct_eligible(styles, args):
        return None
    from ..assets import resolve_image
    from ..instant.models import builtin_models, weights_for

    if weights_for(styles[0]) is not None:
        return None
    if getattr(args, "arbitrary", "auto") == "auto" and not any(e.kind == "wct" for e in builtin_models().values()):
        return None  # auto = AdaIN without the WCT weights
    try:
        style = resolve_image(styles[0], kind="style")
    except InputError:
        return None  # the full path reports it
    from ..instant.wctlite import wct_runner_for

    runner = wct_runner_for(threads=args.threads)
    return None if runner is None else (runner, style)


def _load_in_background(files: list[Path], size: int | None) -> Any:
    """Decode (and shrink to ``size``) the photos on a second thread while the runner is set up
    (PIL and onnxruntime release the GIL); returns a function that joins and returns them (or raises)."""
    import threading

    from ..assets import resolve_image
    from ..io import load_image, resize_max_side

    done: dict[str, Any] = {}

    def work() -> None:
        try:
            images = [load_image(resolve_image(str(f), kind="content"), what="content image") for f in files]
            done["images"] = [resize_max_side(im, size) if size else im for im in images]
        except BaseException as e:  # re-raised on the main thread
            done["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()

    def result() -> list[Any]:
        t.join()
        if "error" in done:
            raise done["error"]
        return list(done["images"])

    return result


def run_with_args(content: list[str], styles: list[str], output: str, args: argparse.Namespace) -> int:
    """Shared by ``instant`` and ``stylize --instant``."""
    import time

    from ..instant.options import InstantOptions

    opts = InstantOptions(
        strength=args.strength,
        alpha=args.alpha,
        style_weights=args.style_weights,
        size=args.size,
        tile=args.tile,
        overlap=args.overlap,
        original_colors=getattr(args, "original_colors", False),
        backend=args.backend,
        palette=args.palette,
        style_scale=getattr(args, "style_scale", 1.0),
    )
    opts.validate(len(styles))
    refine_style = _refine_style(styles, args)
    files, targets = content_targets(content, output)
    pending = _load_in_background(files, args.size) if _lite_eligible(styles, args) else None
    lite = _lite_runner(styles, args)
    if lite is not None and pending is not None:  # one per-style ONNX network: no torch import (≈1.3 s saved)
        from ..io import save_image

        images = pending()  # already shrunk to --size: the runner's own resize is then a no-op
        rest: list[tuple[Path, Path]] = []
        for f, img, target in zip(files, images, targets, strict=True):
            if not lite.handles(img, args.size):  # tiny or huge (tiled): the full path
                rest.append((f, target))
                continue
            t0 = time.perf_counter()
            out = lite(img, strength=args.strength, size=args.size, style_scale=opts.style_scale)
            save_image(out, target)
            log.info("wrote %s (%dx%d, %.2f s, onnxruntime)", target, out.width, out.height, time.perf_counter() - t0)
        if not rest:
            return 0
        files, targets = [f for f, _ in rest], [t for _, t in rest]
    elif lite is None and _wct_eligible(styles, args):
        files, targets = _run_wct_lite(files, targets, styles, args, opts)
        if not files:
            return 0
    return _run_full(files, targets, styles, opts, args, refine_style)


def _run_wct_lite(
    files: list[Path], targets: list[Path], styles: list[str], args: argparse.Namespace, opts: Any
) -> tuple[list[Path], list[Path]]:
    """A style image through the torch-free WCT runner (no torch import); returns the photos it left
    to the full path (all of them when the runner is unavailable, tiny or huge ones otherwise)."""
    import time

    from ..instant.lite import LiteRunner

    found = _wct_runner(styles, args)
    if found is None:
        return files, targets
    runner, style_file = found
    from ..assets import resolve_image
    from ..io import load_image, save_image

    painting = load_image(style_file, what="style image")
    alpha = args.alpha if args.alpha is not None else args.strength
    images = [load_image(resolve_image(str(f), kind="content"), what="content image") for f in files]  # all, first
    rest: list[tuple[Path, Path]] = []
    for f, img, target in zip(files, images, targets, strict=True):
        if not LiteRunner.handles(img, args.size):
            rest.append((f, target))
            continue
        t0 = time.perf_counter()
        out = runner(img, painting, style_file=style_file, strength=alpha, size=args.size, style_scale=opts.style_scale)
        save_image(out, target)
        log.info("wrote %s (%dx%d, %.2f s, WCT onnxruntime)", target, out.width, out.height, time.perf_counter() - t0)
    return [f for f, _ in rest], [t for _, t in rest]


def _refine_style(styles: list[str], args: argparse.Namespace) -> Path | None:
    """The style image of ``--refine`` (checked before any heavy work), or ``None`` without it."""
    n = getattr(args, "refine", 0) or 0
    if n == 0:
        if getattr(args, "refine_style", None):
            raise InputError("--refine-style needs --refine N")
        return None
    from ..assets import resolve_image
    from ..instant.refine import MAX_REFINE, style_image_for

    if not 0 < n <= MAX_REFINE:
        raise InputError(f"--refine must be between 0 and {MAX_REFINE} evaluations, got {n}")
    if args.refine_style:
        return resolve_image(args.refine_style)
    if len(styles) != 1:
        raise InputError("--refine with several styles needs --refine-style IMAGE")
    return style_image_for(styles[0])


def _run_full(
    files: list[Path],
    targets: list[Path],
    styles: list[str],
    opts: Any,
    args: argparse.Namespace,
    refine_style: Path | None = None,
) -> int:
    import time

    import torch

    from ..instant import load_instant, stylize_instant
    from ..io import load_input, load_mask, save_image

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_instant(
        styles, backend=args.backend, adain_decoder=args.adain_decoder, arbitrary=getattr(args, "arbitrary", "auto")
    )
    images = [load_input(str(f), kind="content", what="content image") for f in files]
    painting = load_input(str(refine_style), what="style image") if refine_style is not None else None
    for img, target in zip(images, targets, strict=True):
        mask = load_mask(args.mask, img.size, what="mask") if args.mask else None
        t0 = time.perf_counter()
        out = stylize_instant(img, model, opts, mask=mask, refine=args.refine if painting else 0, refine_style=painting)
        save_image(out, target)
        log.info("wrote %s (%dx%d, %.2f s, %s)", target, out.width, out.height, time.perf_counter() - t0, model.backend)
    return 0


def run_instant(args: argparse.Namespace) -> int:
    if getattr(args, "broker", None):  # the job queue (styleforge.service): one job per photo
        from ..service.client import run_cli

        return run_cli("instant", args)
    return run_with_args(args.content, args.style, args.output, args)


def run_export(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..instant import load_instant
    from ..instant.onnx import export_onnx

    out = Path(args.output)  # not an image: check_output_path would refuse .onnx
    if out.suffix.lower() != ".onnx":
        raise InputError(f"the ONNX output must end in .onnx: {out}")
    if not out.resolve().parent.is_dir():
        raise InputError(f"output folder does not exist: {out.parent}")
    model = load_instant([args.model], backend="torch")
    export_onnx(model, out, opset=args.opset, fp16=args.fp16)
    log.info("wrote %s", out)
    return 0


# -- training ---------------------------------------------------------------------------


def _command_line() -> str:
    return "styleforge " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def add_train_instant_parser(sub: Any) -> None:
    from .options import add_engine_args

    p = sub.add_parser(
        "instant",
        help="a per-style feed-forward network (Johnson et al. 2016)",
        description="Train a feed-forward network that paints any photo in one style, with perceptual "
        "losses on the offline VGG16 (content relu3_3; Gram style relu1_2, relu2_2, relu3_3, relu4_1).",
    )
    p.add_argument("--style", required=True, help="built-in style name or a style image")
    p.add_argument("--content-dir", action="append", required=True, help="folder of photos (repeatable)")
    p.add_argument(
        "--arch",
        default="fast",
        help="fast (default: the built-in models' CPU network), small, or johnson (the paper's 32-64-128 network)",
    )
    p.add_argument(
        "--loss-net",
        default="vgg16-offline",
        help="vgg16-offline (default, quality) or effnet-lite0 (~20× cheaper loss, for CPU budgets)",
    )
    p.add_argument("--crop", type=int, default=256, help="training crop size (default %(default)s)")
    p.add_argument("--style-size", type=int, default=384, help="style image long side (default %(default)s)")
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=4.0)
    p.add_argument("--tv-weight", type=float, default=1e-8)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--init-from",
        default=None,
        help="start from another model's weights (a built-in name or .safetensors): converges faster",
    )
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    add_engine_args(p, out_default="runs/instant")
    p.set_defaults(func=run_train_instant, amp="auto")


def add_train_adain_parser(sub: Any) -> None:
    from .options import add_engine_args

    p = sub.add_parser(
        "adain",
        help="an AdaIN decoder for arbitrary styles (Huang & Belongie 2017)",
        description="Train the AdaIN decoder (VGG16 encoder to relu4_1, mirrored decoder) on photos and paintings.",
    )
    p.add_argument("--content-dir", action="append", required=True, help="folder of photos (repeatable)")
    p.add_argument("--style-dir", action="append", required=True, help="folder of paintings/textures (repeatable)")
    p.add_argument("--decoder", default="vgg", help="vgg (the paper's widths) or small (half width, CPU)")
    p.add_argument("--crop", type=int, default=256, help="training crop size (default %(default)s)")
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--init-from", default=None, help="start from a decoder's weights (.safetensors or 'adain')")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    add_engine_args(p, out_default="runs/adain")
    p.set_defaults(func=run_train_adain, amp="auto")


_TRAIN_DEFAULTS = {"n_epochs": 1000, "n_epochs_decay": 0, "batch_size": 4}


def _train_config(args: argparse.Namespace) -> Any:
    from dataclasses import replace

    from .options import train_config_from_args

    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    cfg = train_config_from_args(args, _TRAIN_DEFAULTS)
    if args.n_epochs_decay is None and args.lr_policy == "linear":
        cfg = replace(cfg, lr_policy="constant")  # stop by --max-steps/--max-minutes, not by LR decay
    return cfg


def run_train_instant(args: argparse.Namespace) -> int:
    from ..engine import fit
    from ..instant.data import CropDataset, collect_images
    from ..instant.models import init_state_from
    from ..instant.train import PerStyleConfig, PerStyleModel
    from ..io import load_input, pil_to_tensor, resize_max_side

    cfg = _train_config(args)
    files = collect_images(args.content_dir)
    style = pil_to_tensor(resize_max_side(load_input(args.style, what="style image"), args.style_size))
    init = init_state_from(args.init_from, "instant") if args.init_from else None
    mcfg = PerStyleConfig(
        arch=args.arch,
        loss_net=args.loss_net,
        content_weight=args.content_weight,
        style_weight=args.style_weight,
        tv_weight=args.tv_weight,
        lr=args.lr,
        style_size=args.style_size,
    )
    model = PerStyleModel(
        style, mcfg, style_name=Path(args.style).stem if Path(args.style).exists() else args.style, init_state=init
    )
    dataset = CropDataset(files, args.crop, seed=args.seed)
    extra = {
        "content_dirs": list(args.content_dir),
        "images": len(files),
        "crop": args.crop,
        "init_from": args.init_from,
        "command": _command_line(),
    }
    result = fit(model, dataset, cfg, resume=args.resume, extra_config=extra)
    log.info(
        "trained %d steps in %.0f s; weights %s",
        result.step,
        result.seconds,
        Path(cfg.out_dir) / "weights" / "T.safetensors",
    )
    return 0


def run_train_adain(args: argparse.Namespace) -> int:
    from ..engine import fit
    from ..instant.data import ContentStyleDataset, collect_images
    from ..instant.models import init_state_from
    from ..instant.train import AdaINConfig, AdaINModel

    cfg = _train_config(args)
    files = collect_images(args.content_dir)
    styles = collect_images(args.style_dir, what="style")
    init = init_state_from(args.init_from, "adain") if args.init_from else None
    model = AdaINModel(AdaINConfig(decoder=args.decoder, style_weight=args.style_weight, lr=args.lr), init_state=init)
    dataset = ContentStyleDataset(files, styles, args.crop, seed=args.seed)
    extra = {
        "content_dirs": list(args.content_dir),
        "style_dirs": list(args.style_dir),
        "images": len(files),
        "styles": len(styles),
        "crop": args.crop,
        "init_from": args.init_from,
        "command": _command_line(),
    }
    result = fit(model, dataset, cfg, resume=args.resume, extra_config=extra)
    log.info(
        "trained %d steps in %.0f s; weights %s",
        result.step,
        result.seconds,
        Path(cfg.out_dir) / "weights" / "decoder.safetensors",
    )
    return 0
