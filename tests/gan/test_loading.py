"""``load_translator``: a freshly trained tiny pix2pix, from its checkpoint and its exported weights."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from styleforge.data import AlignedDataset, PairedTransform
from styleforge.engine import TrainConfig, fit
from styleforge.errors import InputError
from styleforge.gan import Pix2Pix, Pix2PixConfig
from styleforge.gan.loading import load_translator


def test_checkpoint_and_weights_give_the_trained_generator(image_pairs, tmp_path):
    model = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4), generator=torch.Generator().manual_seed(0))
    ds = AlignedDataset(image_pairs, transform=PairedTransform(load_size=36, crop_size=32))
    cfg = TrainConfig(
        out_dir=str(tmp_path / "run"),
        n_epochs=1,
        n_epochs_decay=0,
        max_steps=2,
        progress=False,
        tensorboard=False,
        n_visuals=1,
        lr_policy="constant",
    )
    fit(model, ds, cfg)
    g = model.networks["G"].eval()
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ((g(x * 2 - 1) + 1) / 2).clamp(0, 1)
    ckpt = sorted((tmp_path / "run" / "checkpoints").glob("ckpt_*.pt"))[-1]
    for path in (tmp_path / "run" / "weights" / "G.safetensors", ckpt):
        tr = load_translator(path)
        torch.testing.assert_close(tr.tensor(x), want, atol=1e-5, rtol=0)
    out = load_translator(ckpt)(Image.new("RGB", (37, 29), (90, 140, 200)))  # a PIL image of any size
    assert out.shape == (1, 3, 29, 37) and 0 <= float(out.min()) and float(out.max()) <= 1
    with pytest.raises(InputError, match="not found"):
        load_translator(tmp_path / "missing.pt")
