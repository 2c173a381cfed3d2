"""benchmarks/instant_measures.py: each measure on synthetic images where the answer is known."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

REPO = Path(__file__).resolve().parents[2]


def _load():  # noqa: ANN202
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("instant_measures", REPO / "benchmarks" / "instant_measures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


M = _load()
RNG = np.random.default_rng(0)


def _noise(h: int = 160, w: int = 200, sigma: float = 2.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = ndimage.gaussian_filter(rng.normal(size=(h, w, 3)), (sigma, sigma, 0))
    n = (n - n.min()) / (n.max() - n.min())
    return n * 255.0


def test_border_ratio_is_one_on_the_photo_and_high_on_a_frame() -> None:
    photo = _noise()
    assert M.border_ratio(photo, photo) == pytest.approx(1.0)
    framed = photo.copy()
    framed[:3] = framed[-3:] = 0.0  # a dark 3-px band: strong edges inside the outer 6 px
    framed[:, :3] = framed[:, -3:] = 0.0
    assert M.border_ratio(framed, photo) > 1.5
    flat_border = photo.copy()
    flat_border[:6] = flat_border[-6:] = 128.0  # a flat band: less energy than the inside
    flat_border[:, :6] = flat_border[:, -6:] = 128.0
    assert M.border_ratio(flat_border, photo) < 0.9


def test_edge_score_keeps_structure_and_drops_with_noise_or_shift() -> None:
    photo = _noise(sigma=3.0)
    assert M.edge_score(photo, photo) == pytest.approx(1.0)
    unrelated = _noise(sigma=3.0, seed=5)
    assert abs(M.edge_score(unrelated, photo)) < 0.2
    recoloured = photo[..., ::-1] * 0.5 + 40  # another palette, same structure
    assert M.edge_score(recoloured, photo) > M.edge_score(unrelated, photo) + 0.5


def test_colour_distance_zero_on_itself_and_grows_with_a_shift() -> None:
    img = _noise()
    assert M.colour_distance(img, img) == pytest.approx(0.0, abs=1e-9)
    shuffled = img.reshape(-1, 3)[RNG.permutation(img.shape[0] * img.shape[1])].reshape(img.shape)
    assert M.colour_distance(shuffled, img) < 0.5  # the same colours in another arrangement
    small, big = np.clip(img + [20, 0, 0], 0, 255), np.clip(img + [80, 0, 0], 0, 255)
    assert 1.0 < M.colour_distance(small, img) < M.colour_distance(big, img)


def test_texture_distance_prefers_the_same_texture() -> None:
    fine, fine2, coarse = _noise(sigma=1.0, seed=1), _noise(sigma=1.0, seed=2), _noise(sigma=6.0, seed=3)
    assert M.texture_distance(fine2, fine) < 0.5 * M.texture_distance(coarse, fine)


def test_stroke_scale_grows_with_the_blob_size() -> None:
    scales = [M.stroke_scale(_noise(256, 256, sigma=s)) for s in (1.0, 3.0, 9.0)]
    assert scales[0] < scales[1] < scales[2]
    assert scales[2] > 2 * scales[1] > 0
