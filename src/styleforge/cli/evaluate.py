"""``styleforge evaluate``: PSNR, SSIM and L1 of translations against their targets, and KID-VGG16.

Two ways::

    styleforge evaluate --checkpoint runs/x/weights/G.safetensors --data datasets/facades --phase test
    styleforge evaluate --pred results/ --target targets/        # matching file names

Distribution metrics (translations as a set against the targets as a set):

* ``KID-VGG16`` (by default): clean-fid's KID formula on the offline VGG16's pooled ``relu5_3``
  features — an offline proxy, comparable only with other KID-VGG16 figures;
* ``FID`` and ``KID`` as pytorch-fid / clean-fid compute them, with ``--fid-weights`` pointing to
  pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (styleforge cannot ship or download it).
"""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import InputError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="PSNR/SSIM/L1 of a translator on a paired test set",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", help="checkpoint or weights to evaluate on --data")
    p.add_argument("--data", help="paired dataset (A|B images or A/ B/ folders)")
    p.add_argument("--phase", default="test")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="default: the direction the model was trained with")
    p.add_argument("--load-size", type=int, help="resize pairs to this square size first (default: keep size)")
    p.add_argument("--pred", help="folder of predictions (with --target)")
    p.add_argument("--target", help="folder of targets with the same file names")
    p.add_argument("--save", metavar="OUTDIR", help="also write the translations here")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    p.add_argument(
        "--fid-weights", metavar="FILE", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth: adds FID and KID"
    )
    p.add_argument("--no-kid", action="store_true", help="skip KID-VGG16 (the offline distribution proxy)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.checkpoint and args.data:
        from ..gan.evaluate import evaluate_checkpoint
        from .options import data_root

        result = evaluate_checkpoint(
            args.checkpoint,
            data_root(args),
            direction=args.direction,
            load_size=args.load_size,
            save_dir=args.save,
            kid_vgg16=not args.no_kid,
            fid_weights=args.fid_weights,
        )
    elif args.pred and args.target:
        from ..engine.evaluation import evaluate_folders

        result = evaluate_folders(args.pred, args.target, kid_vgg16=not args.no_kid, fid_weights=args.fid_weights)
    else:
        raise InputError("give --checkpoint and --data, or --pred and --target")
    line = f"n={int(result['n'])}  PSNR {result['psnr']:.2f} dB  SSIM {result['ssim']:.4f}  L1 {result['l1']:.4f}"
    if "kid_vgg16" in result:
        line += f"  KID-VGG16 {result['kid_vgg16']:.4f} (offline proxy)"
    if "fid" in result:
        line += f"  FID {result['fid']:.2f}  KID {result['kid']:.4f}"
    print(line)
    if args.json:
        from ..io import atomic_path

        with atomic_path(args.json) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=1))
    return 0
