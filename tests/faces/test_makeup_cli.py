import json
import shutil

import cv2
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
    assert np.array_equal(a[:20, :20], b[:20, :20]) and np.array_equal(
        a[-15:, :20], b[-15:, :20]
    )  # background untouched
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
    from safetensors.torch import save_file

    from styleforge import nets

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

    save_file(
        {f"G_B.{k}": v.contiguous() for k, v in g_b.state_dict().items()}, str(st), metadata={"config": json.dumps(cfg)}
    )
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


# ----------------------------------------------------------------------------- training-free (face mesh)
def _painted_reference(path, face_fixture):
    from styleforge.faces.regions import region_masks

    img, ref = face_fixture("astronaut")
    h, w = img.shape[:2]
    m = region_masks(ref["mesh"][0][:, :2] * (w, h), (h, w), ("lips",))["lips"][..., None]
    Image.fromarray(
        np.clip(img * (1 - 0.8 * m) + 0.8 * m * np.array([200, 20, 40]) + 0.5, 0, 255).astype(np.uint8)
    ).save(path)
    return path


def test_makeup_transfer_cli(cli, face_models, face_fixture, tmp_path, capsys):
    ref = _painted_reference(tmp_path / "ref.png", face_fixture)
    src = tmp_path / "two.png"
    Image.fromarray(face_fixture("two_faces")[0]).save(src)
    out = tmp_path / "out.png"
    assert (
        cli(
            [
                "makeup",
                "transfer",
                str(src),
                "--reference",
                str(ref),
                "-o",
                str(out),
                "--regions",
                "lips,eyes",
                "--strength",
                "lips=0.9,eyes=0.5",
            ]
        )
        == 0
    )
    assert "2 faces" in capsys.readouterr().out
    a = np.asarray(Image.open(src)).astype(int)
    b = np.asarray(Image.open(out)).astype(int)
    assert a.shape == b.shape and np.abs(a - b).max() > 30 and np.array_equal(a[:8], b[:8])
    # two references with weights, and training-free removal
    out2 = tmp_path / "mix.png"
    assert (
        cli(
            [
                "makeup",
                "transfer",
                str(src),
                "--reference",
                str(ref),
                "--reference",
                str(src),
                "--reference-weights",
                "0.7,0.3",
                "-o",
                str(out2),
            ]
        )
        == 0
    )
    out3 = tmp_path / "removed.png"
    assert cli(["makeup", "remove", str(ref), "-o", str(out3)]) == 0
    assert out2.exists() and out3.exists()


def test_makeup_transfer_bad_input_is_one_line(cli, face_models, face_fixture, tmp_path, capsys):
    ref = _painted_reference(tmp_path / "ref.png", face_fixture)
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 300, 3), 90, np.uint8)).save(wall)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    out = tmp_path / "o.png"
    cases = [
        (["makeup", "transfer", str(wall), "--reference", str(ref)], "no face found in"),
        (["makeup", "transfer", str(ref), "--reference", str(wall)], "no face found in reference"),
        (["makeup", "transfer", str(text), "--reference", str(ref)], "notes.jpg"),
        (["makeup", "transfer", str(ref), "--reference", str(text)], "notes.jpg"),
        (["makeup", "transfer", str(ref)], "needs --reference"),
        (["makeup", "add", str(ref)], "needs --checkpoint"),
        (["makeup", "transfer", str(ref), "--reference", str(ref), "--strength", "lips=2"], "between 0 and 1"),
        (
            ["makeup", "transfer", str(ref), "--reference", str(ref), "--reference-weights", "1,2"],
            "one per --reference",
        ),
    ]
    for argv, msg in cases:
        assert cli(argv + ["-o", str(out)]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and msg in err[0], (argv, err)
        assert not out.exists()


def test_makeup_transfer_without_models_says_what_to_run(cli, face_fixture, tmp_path, capsys, monkeypatch):
    from styleforge.faces import weights

    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(weights, "_LOADED", {})
    ref = _painted_reference(tmp_path / "ref.png", face_fixture)
    out = tmp_path / "o.png"
    assert cli(["makeup", "transfer", str(ref), "--reference", str(ref), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "styleforge weights fetch faces" in err[0] and not out.exists()


def test_makeup_model_only_inside_mesh_regions(cli, scripted, face_models, face_fixture, tmp_path):
    from styleforge.faces.facemesh import MeshDetector
    from styleforge.faces.regions import region_masks

    img = face_fixture("astronaut")[0]
    src = tmp_path / "a.png"
    Image.fromarray(img).save(src)
    out = tmp_path / "lips.png"
    assert cli(["makeup", "add", str(src), "--checkpoint", str(scripted), "-o", str(out), "--regions", "lips"]) == 0
    diff = np.abs(np.asarray(Image.open(out)).astype(int) - img).max(-1)
    changed = diff > 0
    f = MeshDetector()(img)[0]
    lips = region_masks(f.landmarks, img.shape[:2], ("lips",), feather=0.0)["lips"] > 0
    near = cv2.dilate(lips.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert changed[lips].mean() > 0.9 and not changed[~near].any()


def test_makeup_transfer_runs_without_torch(face_models, face_fixture, tmp_path):
    """With the ONNX copies and onnxruntime, `makeup transfer` never imports torch."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("onnxruntime")
    ref = _painted_reference(tmp_path / "ref.png", face_fixture)
    out = tmp_path / "o.png"
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from styleforge.cli.main import main\n"
        f"sys.exit(main(['makeup', 'transfer', {str(ref)!r}, '--reference', {str(ref)!r}, '-o', {str(out)!r}]))"
    )
    src = Path(__file__).resolve().parents[2] / "src"
    env = dict(os.environ, PYTHONPATH=str(src), STYLEFORGE_CACHE=str(face_models.parent), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.exists() and "1 face" in r.stdout


def test_model_removal_only_inside_the_mesh_regions(cli, scripted, face_models, face_fixture, tmp_path):
    from styleforge.faces.facemesh import LEFT_EYE, RIGHT_EYE, MeshDetector
    from styleforge.faces.regions import region_masks

    img = face_fixture("astronaut")[0]
    src = tmp_path / "a.png"
    Image.fromarray(img).save(src)
    out = tmp_path / "bare.png"
    assert cli(["makeup", "remove", str(src), "--checkpoint", str(scripted), "-o", str(out)]) == 0
    diff = np.abs(np.asarray(Image.open(out)).astype(int) - img).max(-1)
    changed = diff > 0
    f = MeshDetector()(img)[0]
    masks = region_masks(f.landmarks, img.shape[:2], feather=0.0)
    inside = np.maximum.reduce(list(masks.values())) > 0
    near = cv2.dilate(inside.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    eyes = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(eyes, [np.round(f.landmarks[list(e), :2]).astype(np.int32) for e in (RIGHT_EYE, LEFT_EYE)], 1)
    core = cv2.erode(eyes, np.ones((3, 3), np.uint8)) > 0
    assert changed[inside].mean() > 0.5 and not changed[~near].any()
    assert diff[core].mean() < 0.25 * diff[inside].mean()  # eyeballs: only the feathered edge reaches them
