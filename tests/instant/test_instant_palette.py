"""The palette pass after a per-style network: the numpy maths, its torch twin, and both inference paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.backbones.vgg import load_vgg_weights
from styleforge.color import mean_cov_match
from styleforge.engine import export_safetensors
from styleforge.instant import InstantOptions, load_instant, stylize_instant
from styleforge.instant.fastpath import load_palette, painting_for
from styleforge.instant.metrics import QualityMetric
from styleforge.instant.models import (
    builtin_models,
    load_wct_net,
    load_weights,
    package_weights,
)
from styleforge.instant.palette import (
    apply_palette,
    encode,
    encode_neighbourhoods,
    neighbourhoods,
    palette_from_painting,
)
from styleforge.io import pil_to_tensor, resize_max_side
from styleforge.nets.feedforward import TRANSFORMER_CONFIGS, TransformerNet


def _weights() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """VGG16's conv1_1 and the built-in WCT bundle's relu1_1 decoder."""
    _, vgg, _ = load_vgg_weights("vgg16-offline")
    assert vgg is not None
    wct = next(e.file for e in builtin_models().values() if e.kind == "wct")
    sd, _ = load_weights(wct)
    return (
        (vgg["conv1_1.weight"].numpy(), vgg["conv1_1.bias"].numpy()),
        (sd["relu1_1.body.0.1.weight"].numpy(), sd["relu1_1.body.0.1.bias"].numpy()),
    )


def _array(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


@pytest.fixture(scope="module")
def starry() -> tuple[np.ndarray, object]:
    painting = _array(resize_max_side(Image.open(builtin_styles()["starry_night"]), 512))
    enc, dec = _weights()
    return painting, palette_from_painting(painting, enc, dec)


def test_numpy_pass_is_rgb_matching_then_the_wct_relu1_1_pass(starry: tuple[np.ndarray, object]) -> None:
    painting, _ = starry
    wct_samples = 1 << 16  # WCTNet's statistics grid (the pass defaults to a sparser one)
    pal = palette_from_painting(painting, *_weights(), max_samples=wct_samples)
    photo = resize_max_side(Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB"), 200)
    ours = apply_palette(_array(photo), pal, max_samples=wct_samples)
    # the same maths with torch: styleforge.color's mean/covariance match, then WCTNet's relu1_1 pass in fp32
    net, _ = load_wct_net(amp="none")
    net.levels, net.sizes, net.feedback = ["relu1_1"], [None], {}
    p = torch.from_numpy(painting).permute(2, 0, 1)[None]
    x = mean_cov_match(pil_to_tensor(photo), p)
    with torch.inference_mode():
        ref = net.stylize_stats(x, [net.style_stats(p)])[0].permute(1, 2, 0).numpy()
    diff = np.abs(ours - ref)
    assert diff.mean() < 2e-3 and diff.max() < 0.03, (diff.mean(), diff.max())
    assert np.abs(ours - _array(photo)).mean() > 0.05  # and the pass did change the picture


def _random_palette(seed: int, painting: tuple[int, int]) -> tuple[np.random.Generator, object]:
    """A pass with random weights on a random painting of ``painting`` (h, w), and the generator after it."""
    rng = np.random.default_rng(seed)
    enc = (rng.normal(0, 1, (64, 3, 3, 3)).astype(np.float32), rng.normal(0, 10, 64).astype(np.float32))
    dec = (rng.normal(0, 0.5, (3, 64, 3, 3)).astype(np.float32), rng.normal(0, 0.1, 3).astype(np.float32))
    return rng, palette_from_painting(rng.random((*painting, 3), dtype=np.float32), enc, dec)


def test_gathered_neighbourhoods_encode_as_the_padded_image_does() -> None:
    rng, pal = _random_palette(2, (20, 30))
    img = rng.random((9, 13, 3), dtype=np.float32)
    ys, xs = np.divmod(np.arange(9 * 13), 13)  # every pixel: the corners and edges reflect
    nb = img.reshape(-1, 3)[neighbourhoods(9, 13, ys, xs)]
    assert nb.shape == (9 * 13, 9, 3) and np.array_equal(nb[:, 4], img.reshape(-1, 3))
    assert np.array_equal(nb[0, 0], img[1, 1])  # the top-left pixel's upper-left tap, reflected
    np.testing.assert_allclose(encode_neighbourhoods(nb, pal), encode(img, pal, ys, xs), rtol=1e-6, atol=1e-4)


def test_strips_and_the_whole_image_give_the_same_pixels() -> None:
    rng, pal = _random_palette(1, (40, 50))
    img = rng.random((37, 29, 3), dtype=np.float32)
    whole = apply_palette(img, pal, strip=1000)
    for strip in (1, 2, 5):
        np.testing.assert_allclose(apply_palette(img, pal, strip=strip), whole, atol=1e-5)
    assert apply_palette(img, pal).shape == img.shape


def test_the_pass_takes_the_paintings_colours(starry: tuple[np.ndarray, object]) -> None:
    painting, pal = starry
    rng = np.random.default_rng(2)
    red = np.clip(rng.normal(0, 0.1, (96, 128, 3)) + [0.8, 0.2, 0.1], 0, 1).astype(np.float32)
    out = apply_palette(red, pal)  # type: ignore[arg-type]
    before = np.abs(red.mean((0, 1)) - painting.mean((0, 1))).sum()
    after = np.abs(out.mean((0, 1)) - painting.mean((0, 1))).sum()
    assert after < 0.25 * before, (before, after)


def test_palette_lowers_the_independent_style_loss_of_a_shipped_network() -> None:
    photo = resize_max_side(Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB"), 256)
    painting = Image.open(builtin_styles()["starry_night"]).convert("RGB")
    model = load_instant(["starry_night"], backend="torch")
    with_pass = stylize_instant(photo, model, InstantOptions(backend="torch"))
    without = stylize_instant(photo, model, InstantOptions(backend="torch", palette=False))
    metric = QualityMetric()
    (c1, s1), (c0, s0) = metric.score(with_pass, photo, painting), metric.score(without, photo, painting)
    assert s1 < 0.8 * s0, (s1, s0)
    assert c1 < 1.2 * c0, (c1, c0)


def test_painting_for_builtin_and_trained_networks(tmp_path: Path) -> None:
    entry = builtin_models()["starry_night"]
    assert painting_for(entry.file) == builtin_styles()["starry_night"]
    net = TransformerNet(TRANSFORMER_CONFIGS["fast"])
    cfg = {"net": TRANSFORMER_CONFIGS["fast"].to_dict()}
    named = export_safetensors(
        net.state_dict(),
        tmp_path / "a.safetensors",
        metadata={"kind": "instant", "model_config": {**cfg, "style": "the-scream"}},
    )
    other = export_safetensors(
        net.state_dict(),
        tmp_path / "b.safetensors",
        metadata={"kind": "instant", "model_config": {**cfg, "style": "my_cat"}},
    )
    assert painting_for(named) == builtin_styles()["the_scream"]
    assert painting_for(other) is None and load_palette(other) is None


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A packaged network that records a built-in painting (so it gets the palette pass)."""
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("pal")
    torch.manual_seed(3)
    net = TransformerNet(TRANSFORMER_CONFIGS["fast"])
    with torch.no_grad():
        net.out[1].weight.normal_(0, 0.05)
    cfg = {"net": TRANSFORMER_CONFIGS["fast"].to_dict(), "style": "starry_night"}
    src = export_safetensors(
        net.state_dict(), root / "T.safetensors", metadata={"kind": "instant", "model_config": cfg}
    )
    package_weights(src, "mine", {"style": "starry_night", "steps": 1}, folder=root / "assets")
    return root / "assets" / "mine.safetensors"


@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_lite_and_full_paths_apply_the_same_pass(packaged: Path, strength: float) -> None:
    from styleforge.instant.lite import LiteRunner, onnx_file_for

    photo = resize_max_side(Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB"), 160)
    pal = load_palette(packaged, _weights()[0])  # conv1_1 given: this test's cache may not hold VGG16's file
    assert pal is not None
    runner = LiteRunner(onnx_file_for(packaged), threads=1, palette=pal)
    lite = np.asarray(runner(photo, strength=strength), np.int16)
    model = load_instant([str(packaged)], backend="torch")
    full = np.asarray(stylize_instant(photo, model, InstantOptions(strength=strength, backend="torch")), np.int16)
    raw = np.asarray(
        stylize_instant(photo, model, InstantOptions(strength=strength, backend="torch", palette=False)), np.int16
    )
    assert np.abs(lite - full).max() <= 2
    assert np.abs(full - raw).mean() > 5  # the pass ran on both paths
    # a tiled run gets one pass over the stitched tiles (one set of statistics: no seams)
    tiles = InstantOptions(strength=strength, backend="torch", tile=96, overlap=16)
    tiled = np.asarray(stylize_instant(photo, model, tiles), np.int16)
    stitched = stylize_instant(photo, model, InstantOptions(backend="torch", tile=96, overlap=16, palette=False))
    once = apply_palette(_array(stitched), pal) * 255
    once = strength * once + (1 - strength) * _array(photo) * 255
    assert np.abs(tiled - once).max() <= 3  # the reference passes an 8-bit rounded copy


def test_unreadable_files_give_no_palette_instead_of_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path / "cache"))
    starry = builtin_models()["starry_night"].file
    assert load_palette(starry) is None  # no converted VGG16 weights in this cache yet: the full path makes them
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "vgg16-offline-conv.safetensors").write_bytes(b"not a safetensors file")
    assert load_palette(starry) is None
    broken = tmp_path / "T.safetensors"
    broken.write_bytes(b"\x00" * 64)
    assert painting_for(broken) is None


def test_onnxruntime_convolutions_give_the_numpy_pixels(starry: tuple[np.ndarray, object]) -> None:
    pytest.importorskip("onnxruntime")
    from styleforge.instant.lite import PALETTE_GRAPH, palette_conv_runner
    from styleforge.instant.onnx import build_palette_graph

    assert PALETTE_GRAPH.is_file()
    img, pal = starry
    runner = palette_conv_runner(1)
    assert runner is not None
    ours = apply_palette(img, pal, runner=runner)  # type: ignore[arg-type]
    ref = apply_palette(img, pal, strip=7)  # type: ignore[arg-type]
    assert ours.shape == ref.shape and np.abs(ours - ref).max() < 1e-4
    rebuilt = build_palette_graph(Path(pytest.importorskip("tempfile").mkdtemp()) / "p.onnx")
    assert rebuilt.read_bytes() == PALETTE_GRAPH.read_bytes()  # the shipped graph is what the builder makes


def test_single_threaded_blas_is_scoped_and_keeps_the_pixels(starry: tuple[np.ndarray, object]) -> None:
    from styleforge.instant.palette import blas_threads, pass_maps, single_threaded_blas

    img, pal = starry
    before = blas_threads()
    with single_threaded_blas():
        assert blas_threads() in (None, 1)
    assert blas_threads() == before
    x, w, b = pass_maps(img, pal)  # type: ignore[arg-type]
    assert x.shape == img.shape and w.shape == (3, 64, 3, 3) and b.shape == (3,)
