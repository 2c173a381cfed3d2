import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from styleforge.data import AlignedDataset, PairedTransform
from styleforge.engine import TrainConfig, find_latest, fit, load_checkpoint
from styleforge.errors import InputError
from styleforge.gan import Pix2Pix, Pix2PixConfig

HERE = Path(__file__).resolve().parent


@pytest.fixture
def pairs(image_pairs):
    """4 A|B pairs (photo → outline, cut from the bundled images) in a temporary folder."""
    return image_pairs


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(**kw):
    return Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4, **kw), generator=torch.Generator().manual_seed(0))


def _cfg(out, **kw):
    base = dict(
        out_dir=str(out),
        n_epochs=1,
        n_epochs_decay=1,
        progress=False,
        tensorboard=False,
        n_visuals=2,
        save_every_epochs=1,
        keep_last=0,
    )
    base.update(kw)
    return TrainConfig(**base)


def _ds(root):
    return AlignedDataset(root, transform=PairedTransform(load_size=36, crop_size=32))


def _weights(model):
    return {f"{k}.{n}": t.detach().clone() for k, net in model.networks.items() for n, t in net.state_dict().items()}


def test_fit_artifacts_and_mid_epoch_resume_matches_uninterrupted_run(pairs, tmp_path):
    ref = _model()
    r = fit(ref, _ds(pairs), _cfg(tmp_path / "run"))
    assert (r.step, r.epoch) == (8, 2)
    ck = load_checkpoint(find_latest(tmp_path / "run" / "checkpoints"), kind="pix2pix")
    assert ck["epoch"] == 2 and ck["step"] == 8 and set(ck["models"]) == {"G", "D"}
    assert ck["model_config"]["netG"] == "unet_32" and ck["train_config"]["n_epochs"] == 1
    assert [h["lr_G"] for h in r.history] == pytest.approx([2e-4, 1e-4])  # linear decay over the 2nd epoch
    assert all(torch.isfinite(torch.tensor(h["G_L1"])) for h in r.history)
    assert (tmp_path / "run" / "weights" / "G.safetensors").is_file()
    html = (tmp_path / "run" / "web" / "index.html").read_text()
    assert "epoch 2" in html and "epoch_0002.png" in html and "real_A | fake_B | real_B" in html
    entries = json.loads((tmp_path / "run" / "web" / "entries.json").read_text())
    assert [e["epoch"] for e in entries] == [1, 2]
    from PIL import Image

    grid = Image.open(tmp_path / "run" / "web" / "images" / "epoch_0002.png")
    assert grid.size == (2 + 3 * 34, 2 + 2 * 34)  # 3 columns × 2 samples of 32 px

    first = _model()
    r = fit(first, _ds(pairs), _cfg(tmp_path / "b", max_steps=3))  # stops mid-epoch 1
    assert r.step == 3
    second = _model()
    r = fit(second, _ds(pairs), _cfg(tmp_path / "b"), resume="auto")
    assert r.step == 8
    wa, wb = _weights(ref), _weights(second)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["G.model.down.weight"], _weights(_model())["G.model.down.weight"])


def test_resume_with_another_architecture_is_refused(pairs, tmp_path):
    fit(_model(), _ds(pairs), _cfg(tmp_path / "run", max_steps=1))
    before = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    with pytest.raises(InputError, match="model settings differ.*ngf"):
        fit(Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=8, ndf=4)), _ds(pairs), _cfg(tmp_path / "run"), resume="auto")
    assert sorted(p.name for p in (tmp_path / "run").rglob("*")) == before


def test_sigkill_then_resume_gives_the_same_weights(pairs, tmp_path):
    script = [sys.executable, str(HERE / "tiny_train.py"), str(pairs)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run([*script, str(tmp_path / "full"), "--save-every-steps", "2"], check=True, env=env, timeout=120)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*script, str(killed), "--save-every-steps", "2", "--sleep", "0.3"], env=env)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            latest = find_latest(killed / "checkpoints")
            if latest is not None and latest.name >= "ckpt_00000004.pt":
                break
            time.sleep(0.05)
        else:
            pytest.fail("no checkpoint appeared")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "final_rank0.pt").exists()  # it really died mid-run
    stopped_at = load_checkpoint(find_latest(killed / "checkpoints"))["step"]
    assert 4 <= stopped_at < 8
    subprocess.run(
        [*script, str(killed), "--save-every-steps", "2", "--resume", "auto"], check=True, env=env, timeout=120
    )
    a = torch.load(tmp_path / "full" / "final_rank0.pt")
    b = torch.load(killed / "final_rank0.pt")
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k}"


def test_amp_dtype_for_each_device(monkeypatch):
    from styleforge.engine import trainer

    cpu = torch.device("cpu")
    assert trainer.amp_dtype_for("none", cpu) is None
    assert trainer.amp_dtype_for("fp16", cpu) is None  # fp16 autocast: CUDA only
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: True)
    assert trainer.amp_dtype_for("bf16", cpu) is torch.bfloat16
    assert trainer.amp_dtype_for("auto", cpu) is torch.bfloat16
    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: False)
    assert trainer.amp_dtype_for("bf16", cpu) is None  # emulated bf16 would be slower than fp32
    assert trainer.amp_dtype_for("auto", cpu) is None
    with pytest.raises(InputError, match="--amp"):
        TrainConfig(amp="half")
