"""``styleforge train cyclegan``: unpaired translation on the shared engine (one process or torchrun).

Examples::

    styleforge datasets download horse2zebra -o datasets/                 # needs internet
    styleforge train cyclegan --data datasets/horse2zebra --preset horse2zebra --out runs/h2z
    styleforge train cyclegan --data-a photos/summer --data-b photos/winter --netG resnet_6blocks \\
        --load-size 143 --crop-size 128 --out runs/s2w --max-minutes 60
    styleforge train cyclegan --data datasets/horse2zebra --out runs/h2z --resume auto
    torchrun --nproc_per_node=4 -m styleforge.cli.main train cyclegan --data faces/ --preset makeup --out runs/makeup
    styleforge translate --checkpoint runs/h2z/weights/G_A.safetensors horses/ -o zebras/
    styleforge translate --checkpoint runs/h2z/checkpoints/ckpt_00001000.pt --direction BtoA zebras/ -o horses/
"""

from __future__ import annotations

__all__ = ["PRESET_NAMES", "add_cyclegan_parser", "add_unpaired_data_args", "domains_from_args", "run_cyclegan"]

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("styleforge.train")

#: Names of :data:`styleforge.gan.cyclegan.PRESETS` (listed here so ``--help`` needs no torch import).
PRESET_NAMES = ("apple2orange", "horse2zebra", "makeup", "monet2photo", "summer2winter_yosemite")


def channels_arg(s: str) -> int | str:
    if s == "auto":
        return s
    if s in ("1", "3"):
        return int(s)
    raise argparse.ArgumentTypeError(f"must be 1, 3 or auto, not {s!r}")


def add_unpaired_data_args(p: argparse.ArgumentParser) -> None:
    """Two image folders (domains A and B) and their preprocessing: CycleGAN's and CUT's."""
    g = p.add_argument_group("data")
    g.add_argument("--data", help="dataset folder with trainA/ trainB/ (or A/ B/)")
    g.add_argument("--data-a", help="domain A folder (instead of --data)")
    g.add_argument("--data-b", help="domain B folder (instead of --data)")
    g.add_argument("--phase", default="train", help="--data subfolders {phase}A/{phase}B (default %(default)s)")
    g.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB", help="BtoA swaps the domains")
    g.add_argument("--serial-batches", action="store_true", help="pair A[i] with B[i] instead of a random B")
    g.add_argument("--preprocess", choices=["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"])
    g.add_argument("--load-size", type=int)
    g.add_argument("--crop-size", type=int)
    g.add_argument("--no-flip", action="store_true", default=None)


def add_cyclegan_parser(sub: Any) -> None:
    from .options import add_engine_args

    p = sub.add_parser(
        "cyclegan",
        help="unpaired translation (Zhu et al. 2017)",
        description="Train CycleGAN with the paper's recipe: ResNet generators + 70×70 PatchGANs, LSGAN, "
        "cycle loss λ=10, identity 0.5·λ, image pools of 50, Adam 2e-4 β1 0.5, constant then linear LR.\n\n"
        + (__doc__ or "").split("Examples::", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--preset", choices=PRESET_NAMES, help="the paper's settings for one of its datasets, or the makeup recipe"
    )
    add_unpaired_data_args(p)
    m = p.add_argument_group("cyclegan model")
    m.add_argument("--netG", help="resnet_9blocks (default), resnet_6blocks, unet_256, unet_128, unet_any")
    m.add_argument("--netD", default="basic", help="basic (70×70 PatchGAN), n_layers, pixel")
    m.add_argument("--n-layers-D", type=int, default=3)
    m.add_argument("--ngf", type=int, default=64)
    m.add_argument("--ndf", type=int, default=64)
    m.add_argument("--norm", default="instance", choices=["instance", "batch", "none"])
    m.add_argument("--dropout", action="store_true", help="dropout in the generators (off in the paper)")
    m.add_argument("--init", default="normal", choices=["normal", "xavier", "kaiming", "orthogonal"])
    m.add_argument("--init-gain", type=float, default=0.02)
    m.add_argument("--gan-mode", default="lsgan", choices=["lsgan", "vanilla", "wgangp"])
    m.add_argument("--lambda-A", type=float, default=10.0, help="cycle loss weight A→B→A")
    m.add_argument("--lambda-B", type=float, default=10.0, help="cycle loss weight B→A→B")
    m.add_argument("--lambda-identity", type=float, help="identity loss as a fraction of λ (default 0.5; 0 = off)")
    m.add_argument("--pool-size", type=int, default=50, help="past fakes per discriminator (0 = none)")
    m.add_argument("--lr", type=float, default=2e-4)
    m.add_argument("--beta1", type=float, default=0.5)
    m.add_argument("--input-nc", type=channels_arg, default="auto", help="channels of domain A: 1, 3 or auto (default)")
    m.add_argument(
        "--output-nc", type=channels_arg, default="auto", help="channels of domain B: 1, 3 or auto (default)"
    )
    m.add_argument(
        "--upsample",
        default="deconv",
        choices=["deconv", "resize"],
        help="resize = nearest ×2 + conv, against checkerboard artefacts (ResNet generators)",
    )
    m.add_argument("--padding", default="reflect", choices=["reflect", "replicate", "zero"], help="ResNet generators")
    add_engine_args(p, out_default="runs/cyclegan")
    p.set_defaults(func=run_cyclegan)


def domains_from_args(args: argparse.Namespace) -> tuple[Path, Path]:
    """The two domain folders of :func:`add_unpaired_data_args`'s options."""
    from ..gan.training import unpaired_domains

    return unpaired_domains(args.data, args.data_a, args.data_b, phase=args.phase, direction=args.direction)


def run_cyclegan(args: argparse.Namespace) -> int:
    from ..gan.training import train_cyclegan, unpaired_defaults
    from .options import data_options, train_config_from_args

    cfg = train_config_from_args(args, unpaired_defaults(args.preset))
    model = {
        "netG": args.netG,
        "netD": args.netD,
        "n_layers_D": args.n_layers_D,
        "ngf": args.ngf,
        "ndf": args.ndf,
        "norm": args.norm,
        "dropout": args.dropout,
        "init": args.init,
        "init_gain": args.init_gain,
        "upsample": args.upsample,
        "padding": args.padding,
        "gan_mode": args.gan_mode,
        "lambda_A": args.lambda_A,
        "lambda_B": args.lambda_B,
        "lambda_identity": args.lambda_identity,
        "pool_size": args.pool_size,
        "lr": args.lr,
        "beta1": args.beta1,
    }
    result = train_cyclegan(
        domains_from_args(args), cfg, data=data_options(args), model=model, preset=args.preset, resume=args.resume
    )
    if result.already_finished:
        return 0
    log.info(
        "trained %d steps (%d epochs) in %.0f s; checkpoint %s; generators %s; report %s",
        result.step,
        result.epoch,
        result.seconds,
        result.checkpoint,
        Path(cfg.out_dir) / "weights",
        Path(cfg.out_dir) / "web" / "index.html",
    )
    return 0
