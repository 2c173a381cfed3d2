"""Helper script for the engine tests (kill-and-resume, 2-process DDP): a tiny pix2pix run.

python tiny_train.py DATA OUT [--resume auto] [--sleep S] [--epochs N] [--save-every-steps K]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from styleforge.data import AlignedDataset, PairedTransform
from styleforge.engine import TrainConfig, fit
from styleforge.gan import Pix2Pix, Pix2PixConfig


class Slow(torch.utils.data.Dataset):
    def __init__(self, ds, sleep):
        self.ds, self.sleep = ds, sleep

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, key):
        time.sleep(self.sleep)
        return self.ds[key]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--resume")
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--save-every-steps", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = AlignedDataset(args.data, transform=PairedTransform(load_size=36, crop_size=32))
    model = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4), generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(
        out_dir=args.out,
        n_epochs=1,
        n_epochs_decay=args.epochs - 1,
        batch_size=args.batch_size,
        save_every_steps=args.save_every_steps,
        save_every_epochs=1,
        keep_last=0,
        progress=False,
        tensorboard=False,
        n_visuals=2,
    )
    fit(model, Slow(ds, args.sleep), cfg, resume=args.resume)
    rank = int(os.environ.get("RANK", 0))
    torch.save({k: n.state_dict() for k, n in model.networks.items()}, os.path.join(args.out, f"final_rank{rank}.pt"))


if __name__ == "__main__":
    main()
