"""``styleforge train MODEL ...``: train a model with the shared engine (one process or torchrun).

Each model is one entry of :data:`MODELS`: a function that adds its subparser
(and sets ``func``).  Engine options (:func:`add_engine_args`) and data options
(:func:`add_data_args`) are shared, so ``train cyclegan`` is added as another entry.

Examples::

    styleforge train pix2pix --data datasets/facades --preset facades --out runs/facades
    styleforge train pix2pix --data datasets/facades --out runs/facades --resume auto
    torchrun --nproc_per_node=4 -m styleforge.cli.main train pix2pix --data ... --out ...
"""

from __future__ import annotations

__all__ = ["MODELS", "add_data_args", "add_engine_args", "add_parser", "run_pix2pix", "train_config_from_args"]

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .options import add_data_args, add_engine_args, data_options, data_root, train_config_from_args

log = logging.getLogger("styleforge.train")


# -- pix2pix ----------------------------------------------------------------------------
#: Names of :data:`styleforge.gan.pix2pix.PRESETS` (listed here so ``--help`` needs no torch import).
PIX2PIX_PRESETS = ("cityscapes", "edges2shoes", "facades", "maps", "night2day")


def add_pix2pix_parser(sub: Any) -> None:
    p = sub.add_parser(
        "pix2pix",
        help="paired translation (Isola et al. 2017)",
        description="Train pix2pix with the paper's recipe: U-Net + 70×70 PatchGAN, GAN + 100·L1, "
        "Adam 2e-4 β1 0.5, batch 1, instance norm.",
    )
    p.add_argument("--preset", choices=PIX2PIX_PRESETS, help="the paper's settings for one of its datasets")
    add_data_args(p)
    g = p.add_argument_group("pix2pix model")
    g.add_argument(
        "--netG",
        default="unet_256",
        help="unet_256, unet_128, unet_any, unet_64, unet_32, resnet_9blocks, resnet_6blocks",
    )
    g.add_argument("--netD", default="basic", help="basic (70×70 PatchGAN), n_layers, pixel")
    g.add_argument("--n-layers-D", type=int, default=3)
    g.add_argument("--ngf", type=int, default=64)
    g.add_argument("--ndf", type=int, default=64)
    g.add_argument("--norm", choices=["instance", "batch", "none"])
    g.add_argument("--no-dropout", action="store_true")
    g.add_argument("--init", default="normal", choices=["normal", "xavier", "kaiming", "orthogonal"])
    g.add_argument("--init-gain", type=float, default=0.02)
    g.add_argument("--gan-mode", default="vanilla", choices=["vanilla", "lsgan", "wgangp"])
    g.add_argument("--lambda-l1", type=float, default=100.0)
    g.add_argument("--lambda-gan", type=float, default=1.0, help="0 = L1 only (no discriminator)")
    g.add_argument("--lr", type=float, default=2e-4)
    g.add_argument("--beta1", type=float, default=0.5)
    g.add_argument("--input-nc", type=int, default=3, choices=[1, 3])
    g.add_argument("--output-nc", type=int, default=3, choices=[1, 3])
    g.add_argument("--upsample", default="deconv", choices=["deconv", "resize"], help="ResNet generators only")
    g.add_argument("--colorization", action="store_true", help="plain photos: learn L → ab (Lab)")
    add_engine_args(p, out_default="runs/pix2pix")
    p.set_defaults(func=run_pix2pix)


def run_pix2pix(args: argparse.Namespace) -> int:
    from ..gan.training import pix2pix_defaults, train_pix2pix

    cfg = train_config_from_args(args, pix2pix_defaults(args.preset))
    model = {
        "netG": args.netG,
        "netD": args.netD,
        "n_layers_D": args.n_layers_D,
        "ngf": args.ngf,
        "ndf": args.ndf,
        "norm": args.norm,
        "dropout": not args.no_dropout,
        "init": args.init,
        "init_gain": args.init_gain,
        "upsample": args.upsample,
        "gan_mode": args.gan_mode,
        "lambda_l1": args.lambda_l1,
        "lambda_gan": args.lambda_gan,
        "lr": args.lr,
        "beta1": args.beta1,
    }
    result = train_pix2pix(
        data_root(args),
        cfg,
        data=data_options(args),
        model=model,
        preset=args.preset,
        colorization=bool(args.colorization),
        resume=args.resume,
    )
    if result.already_finished:
        return 0
    log.info(
        "trained %d steps (%d epochs) in %.0f s; checkpoint %s; report %s",
        result.step,
        result.epoch,
        result.seconds,
        result.checkpoint,
        Path(cfg.out_dir) / "web" / "index.html",
    )
    return 0


#: ``styleforge train <name>``: one parser-adding function per trainable model.
def add_cyclegan_parser(sub: Any) -> None:
    from .train_cyclegan import add_cyclegan_parser as add

    add(sub)


def add_cut_parsers(sub: Any) -> None:
    from .train_cut import add_cut_parsers as add

    add(sub)


def _instant() -> Any:  # instant styles: per-style networks and AdaIN (cli/instant.py)
    from . import instant

    return instant


MODELS: dict[str, Callable[[Any], None]] = {
    "pix2pix": add_pix2pix_parser,
    "cyclegan": add_cyclegan_parser,
    "cut": add_cut_parsers,  # cut and fastcut
    "instant": lambda sub: _instant().add_train_instant_parser(sub),
    "adain": lambda sub: _instant().add_train_adain_parser(sub),
}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a model (pix2pix, ...)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="model", metavar="MODEL")
    for add in MODELS.values():
        add(sub)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
