import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from styleforge.cli import main as cli_main
from styleforge.errors import InputError
from styleforge.faces.align import AlignSpec
from styleforge.faces.translator import load_face_model, load_translator


class Warm(nn.Module):
    """A stand-in 'makeup' generator in [-1, 1] space: more red, less blue."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([(x[:, :1] + 0.4).clamp(-1, 1), x[:, 1:2], (x[:, 2:] - 0.3).clamp(-1, 1)], 1)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    p = tmp_path_factory.mktemp("ckpt") / "warm.pt2"
    torch.export.save(torch.export.export(Warm(), (torch.zeros(1, 3, 256, 256),)), str(p))
    return p


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("styleforge.cli.makeup",))
    return cli_main.main


def test_makeup_add_full_photo(cli, scripted, sample_face, tmp_path, capsys):
    src = tmp_path / "me.jpg"
    Image.open(sample_face).convert("RGB").resize((500, 500)).save(src, quality=95)
    out = tmp_path / "out.png"
    assert cli(["makeup", "add", str(src), "--checkpoint", str(scripted), "-o", str(out), "--strength", "0.8"]) == 0
    assert "1 face" in capsys.readouterr().out
    a = np.asarray(Image.open(src).convert("RGB")).astype(int)
    b = np.asarray(Image.open(out)).astype(int)
    assert a.shape == b.shape
    assert (b[200:300, 200:300, 0] - a[200:300, 200:300, 0]).mean() > 15  # the face got warmer
    assert np.array_equal(a[:20, :20], b[:20, :20]) and np.array_equal(a[-15:, :20], b[-15:, :20])  # background untouched
    # regions: lips only leaves the forehead alone
    out2 = tmp_path / "lips.png"
    assert cli(["makeup", "add", str(src), "--checkpoint", str(scripted), "-o", str(out2), "--regions", "lips"]) == 0
    c = np.asarray(Image.open(out2)).astype(int)
    assert np.abs(c[120:160, 200:300] - a[120:160, 200:300]).max() == 0
    assert np.abs(c - a).sum() > 0


def test_makeup_no_face_writes_nothing(cli, scripted, tmp_path, capsys, sample_face):
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 300, 3), 90, np.uint8)).save(wall)
    out = tmp_path / "o.png"
    assert cli(["makeup", "remove", str(wall), "--checkpoint", str(scripted), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no face found" in err and "nothing written" in err and "Traceback" not in err
    assert not out.exists()
    # several photos into a folder: the one with a face is written, the other reported, exit 2
    face = tmp_path / "face.png"
    shutil.copy(sample_face, face)
    folder = tmp_path / "outdir"
    assert cli(["makeup", "remove", str(wall), str(face), "--checkpoint", str(scripted), "-o", str(folder)]) == 2
    assert sorted(p.name for p in folder.iterdir()) == ["face.png"]
    # bad inputs: one line, exit 2
    assert cli(["makeup", "add", str(tmp_path / "missing.jpg"), "--checkpoint", str(scripted), "-o", str(out)]) == 2
    assert cli(["makeup", "add", str(face), "--checkpoint", str(tmp_path / "none.pt"), "-o", str(out)]) == 2
    assert cli(["makeup", "add", str(face), "--checkpoint", str(scripted), "-o", str(out), "--regions", "nose"]) == 2
    assert not out.exists()


def test_loader_engine_checkpoint_and_safetensors(tmp_path):
    from styleforge import nets
    from safetensors.torch import save_file

    cfg = {"netG": "resnet_6blocks", "ngf": 8, "norm": "instance", "input_nc": 3, "output_nc": 3}
    g_a = nets.build_generator("resnet_6blocks", 3, 3, ngf=8, generator=torch.Generator().manual_seed(1))
    g_b = nets.build_generator("resnet_6blocks", 3, 3, ngf=8, generator=torch.Generator().manual_seed(2))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        want_a = (g_a.eval()(x * 2 - 1) + 1) / 2
        want_b = (g_b.eval()(x * 2 - 1) + 1) / 2
    ck = tmp_path / "last.pt"
    torch.save({"format": "styleforge-checkpoint", "version": 1, "model_config": cfg,
                "models": {"G_A": g_a.state_dict(), "G_B": g_b.state_dict(), "D_A": {}}}, ck)  # fmt: skip
    torch.testing.assert_close(load_translator(ck, "AtoB")(x), want_a.clamp(0, 1))
    torch.testing.assert_close(load_translator(ck, "BtoA")(x), want_b.clamp(0, 1))
    st = tmp_path / "g.safetensors"

    save_file({f"G_B.{k}": v.contiguous() for k, v in g_b.state_dict().items()}, str(st), metadata={"config": json.dumps(cfg)})
    torch.testing.assert_close(load_translator(st, "BtoA")(x), want_b.clamp(0, 1))
    with pytest.raises(InputError, match="no AtoB generator"):
        load_translator(st, "AtoB")
    # the engine's own export: one network per file, name and config in the metadata
    from styleforge.engine import export_safetensors

    export_safetensors(g_a.state_dict(), tmp_path / "G_A.safetensors", metadata={"network": "G_A", "model_config": cfg})
    torch.testing.assert_close(load_translator(tmp_path / "G_A.safetensors", "AtoB")(x), want_a.clamp(0, 1))
    with pytest.raises(InputError, match="--direction AtoB"):
        load_translator(tmp_path / "G_A.safetensors", "BtoA")
    # the training run's framing and domain swap travel with the checkpoint
    ds = tmp_path / "ds"
    (ds / "trainA").mkdir(parents=True)
    (ds / "dataset.json").write_text(json.dumps({"spec": {"align": {"size": 96, "eye_distance": 0.28, "eye_y": 0.4}}}))
    torch.save({"model_config": cfg, "extra_config": {"data_A": str(ds / "trainA"), "direction": "BtoA"},
                "models": {"G_A": g_a.state_dict(), "G_B": g_b.state_dict()}}, ck)  # fmt: skip
    fm = load_face_model(ck, "AtoB")
    assert fm.align == AlignSpec(size=96, eye_distance=0.28, eye_y=0.4)
    torch.testing.assert_close(fm.translate(x), want_b.clamp(0, 1))  # swapped domains: 'add' is its G_B
    torch.save({"model_config": cfg, "extra_config": {"crop_size": 128}, "models": {"G": g_a.state_dict()}}, ck)
    assert load_face_model(ck, "BtoA").align == AlignSpec(size=128)
    torch.save({"model_config": {**cfg, "ngf": 16}, "models": {"G": g_a.state_dict()}}, ck)
    with pytest.raises(InputError, match="does not match"):
        load_translator(ck, "AtoB")
    (tmp_path / "junk.pt").write_bytes(b"garbage")
    with pytest.raises(InputError, match="could not be read"):
        load_translator(tmp_path / "junk.pt")
