"""No border frame (issue 25): the outer pixels of an instant output are like its inside.

The measure is ``benchmarks/instant_measures.border_ratio``: (gradient energy of the outer
6 px ÷ the next 12 px) of the output over the same ratio of the photo; a frame gives > 1.1.
Bundled images only (the tubingen photo and the built-in paintings).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.instant import InstantOptions, load_instant, stylize_instant
from styleforge.instant.models import builtin_models

REPO = Path(__file__).resolve().parents[2]
LIMIT = 1.1


def _measures():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("instant_measures", REPO / "benchmarks" / "instant_measures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


M = _measures()


def _photo(size: int = 384) -> Image.Image:
    img = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    k = size / max(img.size)
    return img.resize((round(img.width * k), round(img.height * k)), Image.Resampling.LANCZOS)


def _ratio(out: Image.Image, photo: Image.Image) -> float:
    return M.border_ratio(np.asarray(out, dtype=np.float64), np.asarray(photo, dtype=np.float64))


ARBITRARY = [k for k in ("wct", "adain") if k in {e.kind for e in builtin_models().values()}]
PAINTINGS = ["udnie", "the_scream", "contrast_of_forms", "shipwreck"]


@pytest.mark.parametrize("kind", ARBITRARY)
def test_arbitrary_networks_draw_no_frame(kind: str) -> None:
    torch.set_num_threads(1)
    photo = _photo()
    styles = builtin_styles()
    ratios = {}
    for name in PAINTINGS:
        model = load_instant([str(styles[name])], arbitrary=kind)
        ratios[name] = _ratio(stylize_instant(photo, model, InstantOptions()), photo)
    assert max(ratios.values()) <= LIMIT, f"{kind}: border ratios {ratios}"


PER_STYLE = sorted(n for n, e in builtin_models().items() if e.kind == "instant")


@pytest.mark.parametrize("palette", [True, False])
def test_per_style_networks_draw_no_frame(palette: bool) -> None:
    torch.set_num_threads(1)
    photo = _photo()
    ratios = {
        n: _ratio(stylize_instant(photo, load_instant([n]), InstantOptions(palette=palette)), photo) for n in PER_STYLE
    }
    assert max(ratios.values()) <= LIMIT, f"palette={palette}: border ratios {ratios}"


def test_the_measure_sees_a_frame() -> None:
    photo = _photo()
    framed = np.asarray(photo, dtype=np.float64).copy()
    framed[:2], framed[-2:], framed[:, :2], framed[:, -2:] = 255.0, 255.0, 255.0, 255.0
    assert M.border_ratio(framed, np.asarray(photo, dtype=np.float64)) > LIMIT
