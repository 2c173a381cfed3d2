"""A finished run stays finished: ``--resume auto`` after ``--max-steps`` or the last epoch is a no-op that says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from PIL import Image

from styleforge.data import AlignedDataset, PairedTransform
from styleforge.data.unaligned import UnalignedDataset
from styleforge.engine import TrainConfig, fit
from styleforge.gan import Pix2Pix, Pix2PixConfig
from styleforge.gan.cut import CUT, CUTConfig
from styleforge.gan.cyclegan import CycleGAN, CycleGANConfig

pytestmark = pytest.mark.usefixtures("one_thread")
T = PairedTransform(load_size=36, crop_size=32)


def _pairs(root: Path) -> AlignedDataset:
    root.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(3):
        Image.fromarray((torch.rand(32, 64, 3, generator=g) * 255).byte().numpy()).save(root / f"{i}.png")
    return AlignedDataset(root, transform=T)


def _unpaired(root: Path) -> UnalignedDataset:
    g = torch.Generator().manual_seed(0)
    for side in "AB":
        (root / side).mkdir(parents=True)
        for i in range(3):
            Image.fromarray((torch.rand(40, 40, 3, generator=g) * 255).byte().numpy()).save(root / side / f"{i}.png")
    return UnalignedDataset(root / "A", root / "B", transform=T)


MODELS = {
    "pix2pix": (lambda: Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4)), _pairs),
    "cyclegan": (lambda: CycleGAN(CycleGANConfig(netG="resnet_6blocks", ngf=4, ndf=4, pool_size=2)), _unpaired),
    "cut": (lambda: CUT(CUTConfig(netG="resnet_6blocks", ngf=4, ndf=4, num_patches=16)), _unpaired),
}


def _cfg(out: Path, **kw: object) -> TrainConfig:
    base: dict[str, object] = dict(
        out_dir=str(out),
        n_epochs=1,
        n_epochs_decay=1,
        progress=False,
        tensorboard=False,
        n_visuals=1,
        save_every_epochs=1,
        keep_last=0,
    )
    return TrainConfig(**(base | kw))  # type: ignore[arg-type]


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_resume_after_max_steps_or_last_epoch_is_a_no_op(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make, data = MODELS[kind]
    ds = data(tmp_path / "data")
    out = tmp_path / "run"
    assert fit(make(), ds, _cfg(out, max_steps=2)).step == 2
    before = _snapshot(out)
    with caplog.at_level(logging.INFO, logger="styleforge.engine"):
        r = fit(make(), ds, _cfg(out, max_steps=2), resume="auto")
    assert r.already_finished and r.step == 2
    assert "already finished (step 2 of --max-steps 2)" in caplog.text
    assert _snapshot(out) == before  # no step, no checkpoint, no export, no report rewritten
    r = fit(make(), ds, _cfg(out, max_steps=4), resume="auto")  # a larger budget continues
    assert not r.already_finished and r.step == 4
    r = fit(make(), ds, _cfg(out), resume="auto")  # to the end of the 2 epochs (3 items each)
    assert r.step == 6 and r.epoch == 2
    before = _snapshot(out)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="styleforge.engine"):
        r = fit(make(), ds, _cfg(out, max_minutes=5.0), resume="auto")
    assert r.already_finished and "already finished (epoch 2 of 2)" in caplog.text
    assert _snapshot(out) == before


@pytest.mark.slow  # the offline VGG16 is converted into a fresh test cache first
def test_report_shows_kid_vgg16_with_four_samples(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(4):
        Image.fromarray((torch.rand(32, 64, 3, generator=g) * 255).byte().numpy()).save(root / f"{i}.png")
    model = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4))
    fit(
        model, AlignedDataset(root, transform=T), _cfg(tmp_path / "run", n_visuals=4, report_kid=True, n_epochs_decay=0)
    )
    assert "KID-VGG16 (4 samples)" in (tmp_path / "run" / "web" / "index.html").read_text()
