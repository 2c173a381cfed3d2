"""--style-scale (neural-style's -style_scale): larger strokes for WCT and the per-style networks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.errors import InputError
from styleforge.instant import InstantOptions, load_instant, stylize_instant

REPO = Path(__file__).resolve().parents[2]
SCALES = (0.5, 1.0, 2.0)


def _stroke_scale():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("instant_measures", REPO / "benchmarks" / "instant_measures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.stroke_scale


def _photo() -> Image.Image:
    img = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    return img.resize((384, round(384 * img.height / img.width)), Image.Resampling.LANCZOS)


@pytest.mark.parametrize("style", ["udnie", "starry_night"])
def test_strokes_grow_with_the_style_scale(style: str) -> None:
    torch.set_num_threads(1)
    measure = _stroke_scale()
    # an image style (WCT) and a built-in per-style network
    model = load_instant([str(builtin_styles()["udnie"])] if style == "udnie" else [style])
    photo = _photo()
    outs = [stylize_instant(photo, model, InstantOptions(style_scale=s)) for s in SCALES]
    assert all(o.size == photo.size for o in outs)
    lengths = [measure(np.asarray(o, dtype=np.float64), long_side=384) for o in outs]
    assert lengths[0] < lengths[1] < lengths[2], lengths
    assert np.abs(np.asarray(outs[0], float) - np.asarray(outs[2], float)).mean() > 5  # visibly different


def test_style_scale_one_is_the_default() -> None:
    model = load_instant(["starry_night"])
    photo = _photo()
    a = stylize_instant(photo, model, InstantOptions())
    b = stylize_instant(photo, model, InstantOptions(style_scale=1.0))
    assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("bad", [0.0, 0.1, 5.0])
def test_out_of_range_scales_are_refused(bad: float) -> None:
    with pytest.raises(InputError, match="--style-scale"):
        InstantOptions(style_scale=bad).validate(1)


def test_the_cli_refuses_a_bad_scale_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "styleforge",
            "instant",
            "tubingen",
            "--style",
            "starry_night",
            "--style-scale",
            "9",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--style-scale" in proc.stderr
    assert not out.exists()


def test_the_cli_paints_with_a_scale(tmp_path: Path) -> None:
    outs = []
    for s in ("1", "2"):
        out = tmp_path / f"o{s}.png"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "styleforge",
                "instant",
                "tubingen",
                "--style",
                "starry_night",
                "--size",
                "256",
                "--style-scale",
                s,
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(np.asarray(Image.open(out), dtype=np.float64))
    assert outs[0].shape == outs[1].shape and np.abs(outs[0] - outs[1]).mean() > 5
