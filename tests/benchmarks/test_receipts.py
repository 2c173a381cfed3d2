"""benchmarks/receipts.py: the results-file schema every benchmark writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import receipts  # noqa: E402


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    path = receipts.write_results(
        "demo",
        {"speed": {"512": 0.25}, "note": "x"},
        threads=2,
        directory=tmp_path,
        command="python benchmarks/demo.py --reps 1",
    )
    assert path == tmp_path / "demo.json"
    assert not list(tmp_path.glob("*.tmp"))  # written through a temp file and renamed
    data = receipts.load_results("demo", tmp_path)
    assert data["schema"] == receipts.SCHEMA and data["name"] == "demo" and data["threads"] == 2
    assert data["command"] == "python benchmarks/demo.py --reps 1"
    assert len(data["load_average"]) == 3 and data["cpu"]
    assert receipts.figure("demo", "speed.512", tmp_path) == 0.25
    with pytest.raises(KeyError, match="speed.1024"):
        receipts.figure("demo", "speed.1024", tmp_path)


def test_a_figure_with_nothing_to_measure_is_written_as_null(tmp_path: Path) -> None:
    # (no moving pixels: a ratio of two NaNs) — strict JSON has no NaN
    path = receipts.write_results(
        "demo", {"edges": {"ratio": float("nan")}, "n": [1.5, float("inf")]}, threads=1, directory=tmp_path
    )
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    data = receipts.load_results("demo", tmp_path)
    assert data["figures"] == {"edges": {"ratio": None}, "n": [1.5, None]}


def test_a_file_without_the_schema_fields_is_refused(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text(json.dumps({"results": {"a": 1}}))
    with pytest.raises(ValueError, match="lacks schema"):
        receipts.load_results("old", tmp_path)


def test_the_command_is_relative_to_the_repository() -> None:
    cmd = receipts.command_line([str(REPO / "benchmarks" / "video.py"), "--modes", "instant"])
    assert cmd == "python benchmarks/video.py --modes instant"


def test_cpu_features_name_the_vector_units() -> None:
    avx2 = "processor\t: 0\nflags\t\t: fpu sse4_2 avx fma avx2\nbugs\t\t: spectre\n"
    zen4 = "flags\t\t: fpu avx avx2 avx512f avx512_vnni avx512_bf16\nflags\t\t: other\n"
    assert receipts.cpu_features(avx2) == "avx2"
    assert receipts.cpu_features(zen4) == "avx512 vnni bf16"
    assert receipts.cpu_features("model name\t: a CPU without flags\n") == "other"
