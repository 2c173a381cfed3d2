"""Raw photos → faces prepare → train cyclegan (a few steps) → makeup add on a full photo."""

import shutil

import numpy as np
import pytest
from PIL import Image

from styleforge.cli import main as cli_main
from styleforge.faces.align import AlignSpec
from styleforge.faces.translator import load_face_model


@pytest.mark.realdata
@pytest.mark.slow  # ~35 s of CPU: three processes' worth of torch set-up, training and inference
def test_prepare_train_apply(faces_dir, tmp_path, capsys):
    raw = tmp_path / "raw"
    for cls, names in (("no_makeup", ["xfsy_0068.png", "xfsy_0226.png", "vSYYZ639.png"]),
                       ("makeup", ["vFG56.png", "XMY-074.png", "vFG137.png"])):  # fmt: skip
        (raw / cls).mkdir(parents=True)
        for n in names:
            shutil.copy(faces_dir / cls / n, raw / cls / n)
    ds, run = tmp_path / "ds", tmp_path / "run"
    assert (
        cli_main.main(["faces", "prepare", str(raw), str(ds), "--size", "64", "--test-ratio", "0.3", "--workers", "1"])
        == 0
    )
    rc = cli_main.main([
        "train", "cyclegan", "--data", str(ds), "--preset", "makeup", "--netG", "resnet_6blocks", "--ngf", "4",
        "--ndf", "4", "--load-size", "64", "--crop-size", "64", "--max-steps", "2", "--out", str(run),
    ])  # fmt: skip
    assert rc == 0
    photo = tmp_path / "me.png"
    shutil.copy(faces_dir / "no_makeup" / "xfsy_0503.png", photo)
    out = tmp_path / "me_makeup.png"
    capsys.readouterr()
    ckpts = sorted((run / "checkpoints").glob("ckpt_*.pt"))
    for ckpt in (ckpts[-1], run / "weights" / "G_A.safetensors"):
        assert load_face_model(ckpt).align == AlignSpec(size=64)  # read from the run's dataset.json
        assert cli_main.main(["makeup", "add", str(photo), "--checkpoint", str(ckpt), "-o", str(out)]) == 0
        a = np.asarray(Image.open(photo).convert("RGB")).astype(int)
        b = np.asarray(Image.open(out)).astype(int)
        assert a.shape == b.shape and np.abs(a - b).mean() > 0.5  # the face changed…
        assert np.array_equal(a[:12, :12], b[:12, :12]) and np.array_equal(
            a[:12, -12:], b[:12, -12:]
        )  # …the corners did not
        out.unlink()
    assert "1 face" in capsys.readouterr().out
