"""The benchmark metric against an independent numpy computation on tiny tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.instant.metrics import (
    STYLE_LAYERS,
    QualityMetric,
    content_loss,
    gram,
    style_loss,
    vgg16_avg_features,
)

_CH = (64, 128, 256, 512, 512)
_BLOCKS = (2, 2, 3, 3, 3)


def _random_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    sd, cin = {}, 3
    for b, n in enumerate(_BLOCKS, start=1):
        for d in range(1, n + 1):
            cout = _CH[b - 1]
            sd[f"conv{b}_{d}.weight"] = torch.randn(cout, cin, 3, 3, generator=g) * (2.0 / (9 * cin)) ** 0.5
            sd[f"conv{b}_{d}.bias"] = torch.randn(cout, generator=g) * 0.1
            cin = cout
    return sd


def _np_conv3(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    c, h, wd = x.shape
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    cols = np.stack([p[:, i : i + h, j : j + wd] for i in range(3) for j in range(3)], axis=1)  # c, 9, h, w
    return np.einsum("oik,ikhw->ohw", w.reshape(w.shape[0], c, 9), cols) + b[:, None, None]


def _np_features(img01: np.ndarray, sd: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    h = img01[::-1] * 255.0 - np.array([103.939, 116.779, 123.68])[:, None, None]
    out = {}
    for b, n in enumerate(_BLOCKS, start=1):
        if b > 1:
            c, hh, ww = h.shape
            h = h[:, : hh // 2 * 2, : ww // 2 * 2].reshape(c, hh // 2, 2, ww // 2, 2).mean(axis=(2, 4))
        for d in range(1, n + 1):
            h = np.maximum(
                _np_conv3(h, sd[f"conv{b}_{d}.weight"].double().numpy(), sd[f"conv{b}_{d}.bias"].double().numpy()), 0
            )
            out[f"relu{b}_{d}"] = h
    return out


def _np_gram(f: np.ndarray) -> np.ndarray:
    c, h, w = f.shape
    m = f.reshape(c, -1)
    return m @ m.T / (c * h * w)


def test_features_grams_and_losses_match_numpy() -> None:
    sd = _random_weights()
    rng = np.random.default_rng(1)
    a, b = rng.random((3, 32, 32)), rng.random((3, 32, 32))
    layers = ["relu4_2", *STYLE_LAYERS]
    fa = vgg16_avg_features(torch.from_numpy(a).float()[None], sd, layers)
    fb = vgg16_avg_features(torch.from_numpy(b).float()[None], sd, layers)
    na, nb = _np_features(a, sd), _np_features(b, sd)
    for k in layers:
        np.testing.assert_allclose(fa[k][0].numpy(), na[k], rtol=2e-3, atol=2e-3 * np.abs(na[k]).max())
    want_style = np.mean([((_np_gram(na[k]) - _np_gram(nb[k])) ** 2).mean() for k in STYLE_LAYERS])
    got_style = style_loss(fa, {k: gram(fb[k]) for k in STYLE_LAYERS})
    assert got_style == pytest.approx(want_style, rel=1e-2)
    assert content_loss(fa["relu4_2"], fb["relu4_2"]) == pytest.approx(
        ((na["relu4_2"] - nb["relu4_2"]) ** 2).mean(), rel=1e-2
    )


def test_score_is_zero_for_identical_and_grows_with_difference() -> None:
    metric = QualityMetric(_random_weights())
    rng = np.random.default_rng(2)
    photo = Image.fromarray((rng.random((40, 56, 3)) * 255).astype(np.uint8))
    painting = Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8))
    c0, s0 = metric.score(photo, photo, photo)
    assert c0 == pytest.approx(0.0, abs=1e-6) and s0 == pytest.approx(0.0, abs=1e-6)
    c1, s1 = metric.score(painting, photo, photo)
    assert c1 > 0 and s1 > 0
    # nearer the painting's statistics → lower style loss
    _, s_self = metric.score(painting, photo, painting)
    _, s_photo = metric.score(photo, photo, painting)
    assert s_self < s_photo
