"""scripts/gpu_recipe.py: its commands, and a tiny CPU run end to end."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _recipe():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("gpu_recipe", REPO / "scripts" / "gpu_recipe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_commands_split_the_budget_and_scale_up(tmp_path) -> None:  # noqa: ANN001
    r = _recipe()
    args = argparse.Namespace(
        minutes=100.0,
        wct_share=0.5,
        styles=["starry_night", "the_scream"],
        data=str(tmp_path),
        device="cuda",
        out=str(tmp_path / "o"),
        tiny=False,
    )
    cmds = r.commands(args)
    assert len(cmds) == 4  # WCT decoders, two styles, the benchmark
    wct = cmds[0]
    assert wct[wct.index("--max-minutes") + 1] == "50" and wct[wct.index("--crop") + 1] == "256"
    assert "relu3_1" in wct and wct[wct.index("--device") + 1] == "cuda" and "--exclude-file" in wct
    assert wct[wct.index("--sizes") + 1 : wct.index("--sizes") + 4] == ["288", "384", "0"] and "--style-dir" in wct
    # the inference settings it records are the shipped network's
    from styleforge.instant.models import load_wct_net

    shipped = load_wct_net()[0]
    assert wct[wct.index("--feedback") + 1] == "relu2_1=1" and shipped.feedback == {"relu2_1": 1.0}
    assert [int(v) or None for v in r.WCT_SIZES] == shipped.sizes and list(r.WCT_PASSES) == shipped.levels
    assert cmds[1][cmds[1].index("--max-minutes") + 1] == "25" and "starry_night" in cmds[1]
    assert "--wct-weights" in cmds[3] and "--pairs" not in cmds[3]
    assert r.main(["--minutes", "0", "--out", str(tmp_path / "x")]) == 2


@pytest.mark.slow
@pytest.mark.realdata
def test_tiny_cpu_run_end_to_end(tmp_path, shared_data) -> None:  # noqa: ANN001
    r = _recipe()
    out = tmp_path / "recipe"
    rc = r.main(
        [
            "--tiny",
            "--minutes",
            "1",
            "--styles",
            "starry_night",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--data",
            str(shared_data),
        ]
    )
    assert rc == 0
    assert (out / "wct" / "weights" / "wct.safetensors").is_file()
    assert (out / "starry_night" / "weights" / "T.safetensors").is_file()
    figures = json.loads((out / "instant_quality.json").read_text())
    assert "wct" in figures["summary"] and (out / "instant_quality.jpg").is_file()
