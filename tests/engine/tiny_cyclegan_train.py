"""Helper script for the unpaired engine tests (kill-and-resume, 2-process DDP): a tiny CycleGAN or CUT run.

    python tiny_cyclegan_train.py DATA OUT [--model cyclegan|cut|fastcut] [--resume auto] [--sleep S]
        [--epochs N] [--save-every-steps K] [--max-steps N]

DATA holds trainA/ and trainB/.  Under torchrun-style variables (RANK, WORLD_SIZE, ...)
every rank writes OUT/final_rank<r>.pt with its networks and image pools (CycleGAN).
"""

from __future__ import annotations

import argparse
import os

import torch
from tiny_train import Slow  # this script's folder is on sys.path

from styleforge.data.transforms import PairedTransform
from styleforge.data.unaligned import UnalignedDataset
from styleforge.engine import TrainConfig, fit
from styleforge.gan.cut import CUT, CUTConfig
from styleforge.gan.cyclegan import CycleGAN, CycleGANConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--resume")
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--save-every-steps", type=int, default=0)
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--model", default="cyclegan", choices=["cyclegan", "cut", "fastcut"])
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = UnalignedDataset.from_root(args.data, transform=PairedTransform(load_size=36, crop_size=32))
    if args.model == "cyclegan":
        model = CycleGAN(
            CycleGANConfig(netG="resnet_6blocks", ngf=4, ndf=4, pool_size=3), generator=torch.Generator().manual_seed(0)
        )
    else:
        model = CUT(
            CUTConfig(mode=args.model, netG="resnet_6blocks", ngf=4, ndf=4, num_patches=64),
            generator=torch.Generator().manual_seed(0),
        )
    cfg = TrainConfig(
        out_dir=args.out,
        n_epochs=1,
        n_epochs_decay=args.epochs - 1,
        save_every_steps=args.save_every_steps,
        save_every_epochs=1,
        keep_last=0,
        progress=False,
        tensorboard=False,
        n_visuals=2,
        max_steps=args.max_steps,
    )
    fit(model, Slow(ds, args.sleep), cfg, resume=args.resume)
    rank = int(os.environ.get("RANK", 0))
    pools = model.extra_state() if hasattr(model, "extra_state") else {}
    torch.save(
        {"nets": {k: n.state_dict() for k, n in model.networks.items()}, "pools": pools},
        os.path.join(args.out, f"final_rank{rank}.pt"),
    )


if __name__ == "__main__":
    main()
