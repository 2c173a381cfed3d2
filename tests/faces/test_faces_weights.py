"""Face-model weights: fetch errors, hash checks, one-line hint when absent."""

from __future__ import annotations

import zipfile

import pytest

from styleforge.cli.main import main
from styleforge.errors import InputError
from styleforge.faces import weights


def test_missing_models_say_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))
    weights._LOADED.clear()
    with pytest.raises(InputError, match="styleforge weights fetch faces"):
        weights.load_graph("face_landmark")


def test_damaged_model_is_refused(face_models, tmp_path, monkeypatch):
    weights._LOADED.clear()
    data = (face_models / "face_landmark.safetensors").read_bytes()
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))  # a private cache with a damaged copy
    p = weights.faces_dir() / "face_landmark.safetensors"
    p.parent.mkdir(parents=True)
    p.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(InputError, match="sha256"):
        weights.load_graph("face_landmark")


def test_load_checks_hash_and_graph(face_models):
    weights._LOADED.clear()
    consts, graph = weights.load_graph("face_detection_short_range")
    assert graph["source"] == "mediapipe==0.10.21"
    ops = {o["op"] for o in graph["ops"]}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "PAD", "MAX_POOL_2D", "RESHAPE", "CONCATENATION"} <= ops
    assert "DEQUANTIZE" not in ops  # folded into float16 constants
    assert all(v.dtype.kind == "f" for v in consts.values())


def test_fetch_rejects_a_wrong_wheel(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr(weights.MODELS["face_landmark"].member, b"not a model")
        z.writestr(weights.MODELS["face_detection_short_range"].member, b"not a model")
    with pytest.raises(InputError, match="sha256"):
        weights.fetch_faces(tmp_path, log=lambda *_: None)
    empty = tmp_path / "other"
    empty.mkdir()
    with pytest.raises(InputError, match="no mediapipe"):
        weights.fetch_faces(empty, log=lambda *_: None)


def test_cli_fetch_with_a_broken_wheel_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "mediapipe-0.10.21-x.whl"
    bad.write_bytes(b"no zip")
    assert main(["weights", "fetch", "faces", "--wheel", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable wheel" in err[0]


def test_onnx_needs_a_verified_file(face_models, tmp_path, monkeypatch):
    from styleforge.faces.runtime import FaceNet

    assert FaceNet("face_landmark").backend == "onnx"  # the default when onnxruntime and the file are there
    data = (face_models / "face_landmark.safetensors").read_bytes()
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))
    (tmp_path / "faces").mkdir()
    (tmp_path / "faces" / "face_landmark.safetensors").write_bytes(data)
    (tmp_path / "faces" / "face_landmark.onnx").write_bytes(b"tampered")
    (tmp_path / "faces" / "onnx.json").write_text('{"face_landmark": "0"}')
    assert FaceNet("face_landmark").backend == "torch"  # hash mismatch: falls back
    with pytest.raises(InputError, match="weights fetch faces"):
        FaceNet("face_landmark", backend="onnx")
