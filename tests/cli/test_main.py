"""The ``styleforge`` entry point: an optional extra that is not installed is one line, exit 2."""

from __future__ import annotations

import sys

from PIL import Image

from styleforge.cli.main import OPTIONAL_MODULES, main


def test_missing_extra_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    src = tmp_path / "photos"
    src.mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(src / "a.png")
    monkeypatch.setitem(sys.modules, "cv2", None)  # as if opencv were not installed
    out = tmp_path / "edges"
    assert main(["datasets", "prepare", "edges", str(src), "-o", str(out), "--size", "32"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "styleforge: error: this command needs 'cv2': pip install 'styleforge[opencv]'"
    assert not out.exists() or not any(out.iterdir())


def test_optional_modules_are_extras_of_the_package():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for module, extra in OPTIONAL_MODULES.items():
        assert extra in project["optional-dependencies"], (module, extra)
    assert "opencv" not in base and "gradio" not in base and "onnxruntime" not in base
