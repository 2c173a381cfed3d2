"""``styleforge train cut|fastcut``: contrastive unpaired translation on the shared engine.

Examples::

    styleforge train fastcut --data datasets/horse2zebra --out runs/h2z-fastcut
    styleforge train cut --data-a photos/summer --data-b photos/winter --load-size 143 --crop-size 128 \\
        --netG resnet_6blocks --out runs/s2w-cut --max-minutes 60
    styleforge train cut --data datasets/horse2zebra --out runs/h2z-cut --resume auto
    torchrun --nproc_per_node=4 -m styleforge.cli.main train fastcut --data datasets/horse2zebra --out runs/h2z
    styleforge translate --checkpoint runs/h2z-cut/weights/G.safetensors horses/ -o zebras/
"""

from __future__ import annotations

__all__ = ["add_cut_parsers", "run_cut"]

import argparse
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("styleforge.train")


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {s!r}")


def add_cut_parsers(sub: Any) -> None:
    from .options import add_engine_args, floats
    from .train_cyclegan import PRESET_NAMES, add_unpaired_data_args, channels_arg

    for mode, summary in (
        ("cut", "CUT: λ_NCE 1 with identity NCE on domain B, 200+200 epochs"),
        ("fastcut", "FastCUT: λ_NCE 10, no identity term, flip-equivariance, 150+50 epochs"),
    ):
        p = sub.add_parser(
            mode,
            help=f"unpaired translation with PatchNCE (Park et al. 2020; {summary.split(':')[0]})",
            description=f"Train {summary}. PatchNCE on layers 0,4,8,12,16 of the anti-aliased ResNet generator's "
            "encoder, 256 patches, 256-d MLP heads, τ 0.07; LSGAN; Adam 2e-4 β (0.5, 0.999); xavier init.\n\n"
            + (__doc__ or "").split("Examples::", 1)[1],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--preset", choices=PRESET_NAMES, help="a CycleGAN dataset's preprocessing (epochs stay CUT's)")
        add_unpaired_data_args(p)
        m = p.add_argument_group(f"{mode} model")
        m.add_argument("--netG", default="resnet_9blocks", choices=["resnet_9blocks", "resnet_6blocks"])
        m.add_argument("--netD", default="basic", help="basic (70×70 PatchGAN) or n_layers")
        m.add_argument("--n-layers-D", type=int, default=3)
        m.add_argument("--ngf", type=int, default=64)
        m.add_argument("--ndf", type=int, default=64)
        m.add_argument("--norm", default="instance", choices=["instance", "batch", "none"])
        m.add_argument("--init", default="xavier", choices=["normal", "xavier", "kaiming", "orthogonal"])
        m.add_argument("--init-gain", type=float, default=0.02)
        m.add_argument("--no-antialias", action="store_true", help="strided convolutions instead of blurred ×½ / ×2")
        m.add_argument("--gan-mode", default="lsgan", choices=["lsgan", "vanilla", "wgangp"])
        m.add_argument("--lambda-gan", type=float, default=1.0)
        m.add_argument("--lambda-nce", type=float, help=f"PatchNCE weight (default {1.0 if mode == 'cut' else 10.0})")
        m.add_argument("--nce-idt", type=_bool, help=f"identity NCE on domain B (default {mode == 'cut'})")
        m.add_argument("--flip-equivariance", type=_bool, help=f"(default {mode == 'fastcut'})")
        m.add_argument(
            "--nce-layers", type=floats, default=(0, 4, 8, 12, 16), help="encoder layers (default 0,4,8,12,16)"
        )
        m.add_argument("--num-patches", type=int, default=256)
        m.add_argument("--netF-nc", type=int, default=256)
        m.add_argument("--nce-T", type=float, default=0.07)
        m.add_argument("--lr", type=float, default=2e-4)
        m.add_argument("--beta1", type=float, default=0.5)
        m.add_argument("--beta2", type=float, default=0.999)
        m.add_argument(
            "--input-nc", type=channels_arg, default="auto", help="channels of domain A: 1, 3 or auto (default)"
        )
        m.add_argument(
            "--output-nc", type=channels_arg, default="auto", help="channels of domain B: 1, 3 or auto (default)"
        )
        add_engine_args(p, out_default=f"runs/{mode}")
        p.set_defaults(func=run_cut, cut_mode=mode)


def run_cut(args: argparse.Namespace) -> int:
    from ..gan.training import train_cut, unpaired_defaults
    from .options import data_options, train_config_from_args
    from .train_cyclegan import domains_from_args

    cfg = train_config_from_args(args, unpaired_defaults(args.preset, mode=args.cut_mode))
    model = {
        "netG": args.netG,
        "netD": args.netD,
        "n_layers_D": args.n_layers_D,
        "ngf": args.ngf,
        "ndf": args.ndf,
        "norm": args.norm,
        "init": args.init,
        "init_gain": args.init_gain,
        "antialias": not args.no_antialias,
        "gan_mode": args.gan_mode,
        "lambda_gan": args.lambda_gan,
        "lambda_nce": args.lambda_nce,
        "nce_idt": args.nce_idt,
        "flip_equivariance": args.flip_equivariance,
        "nce_layers": tuple(int(i) for i in args.nce_layers),
        "num_patches": args.num_patches,
        "netF_nc": args.netF_nc,
        "nce_T": args.nce_T,
        "lr": args.lr,
        "beta1": args.beta1,
        "beta2": args.beta2,
    }
    result = train_cut(
        domains_from_args(args),
        cfg,
        mode=args.cut_mode,
        data=data_options(args),
        model=model,
        preset=args.preset,
        resume=args.resume,
    )
    if result.already_finished:
        return 0
    log.info(
        "trained %d steps (%d epochs) in %.0f s; checkpoint %s; generator %s; report %s",
        result.step,
        result.epoch,
        result.seconds,
        result.checkpoint,
        Path(cfg.out_dir) / "weights" / "G.safetensors",
        Path(cfg.out_dir) / "web" / "index.html",
    )
    return 0
