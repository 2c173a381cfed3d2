"""``styleforge train instant|adain`` and ``styleforge export onnx`` from the command line, tiny budgets."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.cli.main import main
from styleforge.engine import load_safetensors

pytestmark = pytest.mark.usefixtures("one_thread")
TRAIN = ["--num-workers", "0", "--no-progress", "--no-tensorboard", "--batch-size", "2", "--max-steps", "2"]


@pytest.fixture
def folders(tmp_path):
    """Two small photo folders (the bundled photo and paintings, 64 px) for content and style."""
    photos, paintings = tmp_path / "photos", tmp_path / "paintings"
    for folder, paths in (
        (photos, [BUILTIN_CONTENT["tubingen"], builtin_styles()["shipwreck"]]),
        (paintings, [builtin_styles()["the_scream"], builtin_styles()["composition_vii"]]),
    ):
        folder.mkdir()
        for p in paths:
            img = Image.open(p).convert("RGB")
            img.thumbnail((64, 64))
            img.save(folder / f"{p.stem}.png")
    return photos, paintings


def test_train_instant_then_stylise_and_export(folders, tmp_path):
    photos, _ = folders
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "instant",
                "--style",
                "starry_night",
                "--content-dir",
                str(photos),
                "--out",
                str(run),
                "--arch",
                "small",
                "--crop",
                "32",
                "--style-size",
                "48",
                *TRAIN,
            ]
        )
        == 0
    )
    weights = run / "weights" / "T.safetensors"
    _, meta = load_safetensors(weights)
    assert meta["kind"] == "instant" and '"style": "starry_night"' in meta["model_config"]
    assert sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1].name == "ckpt_00000002.pt"
    out = tmp_path / "out.png"
    assert (
        main(
            [
                "instant",
                str(photos / "tubingen.png"),
                "--style",
                str(weights),
                "-o",
                str(out),
                "--backend",
                "torch",
                "--no-palette",
            ]
        )
        == 0
    )  # the network alone (the palette pass is not in the ONNX graph)
    assert Image.open(out).size == Image.open(photos / "tubingen.png").size
    onnx_path = tmp_path / "mine.onnx"
    assert main(["export", "onnx", str(weights), "-o", str(onnx_path)]) == 0
    ort = pytest.importorskip("onnxruntime")  # dev extra
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    x = np.asarray(Image.open(photos / "tubingen.png").convert("RGB"), np.float32).transpose(2, 0, 1)[None] / 255
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    torch_out = np.asarray(Image.open(out).convert("RGB"), np.float32).transpose(2, 0, 1)[None] / 255
    assert y.shape == torch_out.shape and np.abs(np.clip(y, 0, 1) - torch_out).max() < 2 / 255  # same network


def test_train_adain_decoder_then_use_it(folders, tmp_path):
    photos, paintings = folders
    run = tmp_path / "adain"
    assert (
        main(
            [
                "train",
                "adain",
                "--content-dir",
                str(photos),
                "--style-dir",
                str(paintings),
                "--out",
                str(run),
                "--decoder",
                "small",
                "--crop",
                "32",
                *TRAIN,
            ]
        )
        == 0
    )
    decoder = run / "weights" / "decoder.safetensors"
    _, meta = load_safetensors(decoder)
    assert meta["kind"] == "adain"
    out = tmp_path / "out.png"
    assert (
        main(
            [
                "instant",
                str(photos / "tubingen.png"),
                "--style",
                str(paintings / "the_scream.png"),
                "--adain-decoder",
                str(decoder),
                "--backend",
                "torch",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert Image.open(out).size == Image.open(photos / "tubingen.png").size


def test_export_builtin_style_and_bad_input(tmp_path, capsys):
    out = tmp_path / "scream.onnx"
    assert main(["export", "onnx", "the_scream", "-o", str(out)]) == 0
    import onnx

    onnx.checker.check_model(str(out))
    assert main(["export", "onnx", "no_such_style", "-o", str(tmp_path / "x.onnx")]) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "x.onnx").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
