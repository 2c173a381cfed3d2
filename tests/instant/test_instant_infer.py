"""Instant inference: built-in models, controls, tiling seams, ONNX parity, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.cli.main import main
from styleforge.errors import InputError
from styleforge.instant import InstantOptions, builtin_models, load_instant, stylize_instant, tiled
from styleforge.instant.models import ASSET_DIR
from styleforge.io import load_image, pil_to_tensor

PER_STYLE = [n for n, e in builtin_models().items() if e.kind == "instant"]
A, B = (PER_STYLE + PER_STYLE)[:2]  # two shipped per-style models (the same one twice if only one)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    from styleforge.assets import BUILTIN_CONTENT

    return load_image(BUILTIN_CONTENT["tubingen"]).resize((160, 120), Image.Resampling.LANCZOS)


def test_manifest_lists_shipped_fp16_weights() -> None:
    data = json.loads((ASSET_DIR / "manifest.json").read_text())
    models = builtin_models()
    assert set(data["models"]) == set(models)
    assert len([m for m in models.values() if m.kind == "instant"]) >= 4
    assert len([m for m in models.values() if m.kind == "adain"]) == 1
    assert len([m for m in models.values() if m.kind == "wct"]) == 1
    for name, entry in models.items():
        info = data["models"][name]
        assert {"data", "steps", "command"} <= set(info), name
        if entry.kind == "instant":
            assert "style" in info and entry.file.with_suffix(".onnx").is_file(), name  # torch-free fast path
        assert entry.file.stat().st_size < 8_000_000
        from safetensors import safe_open

        with safe_open(str(entry.file), framework="pt") as f:
            assert all(f.get_tensor(k).dtype == torch.float16 for k in f.keys())


@pytest.mark.parametrize("name", PER_STYLE)
def test_builtin_models_stylise(photo: Image.Image, name: str) -> None:
    model = load_instant([name], backend="torch")
    out = stylize_instant(photo, model)
    x, y = pil_to_tensor(photo), pil_to_tensor(out)
    assert y.shape == x.shape
    assert float((y - x).abs().mean()) > 0.05  # really changed
    assert float(y.std()) > 0.05  # not a flat image
    # the structure of the photo survives: coarse luminance (8×8 blocks) of photo and result correlate
    lx, ly = (torch.nn.functional.avg_pool2d(t.mean(1, keepdim=True), 8).flatten() for t in (x, y))
    assert float(torch.corrcoef(torch.stack([lx, ly]))[0, 1]) > 0.2


def test_strength_and_original_colors(photo: Image.Image) -> None:
    model = load_instant(["starry_night"], backend="torch")
    x = pil_to_tensor(photo)
    zero = pil_to_tensor(stylize_instant(photo, model, InstantOptions(strength=0.0)))
    assert float((zero - x).abs().max()) <= 1 / 255 + 1e-6
    full = pil_to_tensor(stylize_instant(photo, model))
    half = pil_to_tensor(stylize_instant(photo, model, InstantOptions(strength=0.5)))
    assert torch.allclose(half, (full + x) / 2, atol=2 / 255)
    from styleforge.color import rgb_to_yuv

    kept = pil_to_tensor(stylize_instant(photo, model, InstantOptions(original_colors=True)))
    uv_err = (rgb_to_yuv(kept)[:, 1:] - rgb_to_yuv(x)[:, 1:]).abs().mean()
    assert float(uv_err) < 0.02 < float((rgb_to_yuv(full)[:, 1:] - rgb_to_yuv(x)[:, 1:]).abs().mean())


def test_style_interpolation_and_mask(photo: Image.Image) -> None:
    model = load_instant([A, B], backend="torch")
    a = pil_to_tensor(stylize_instant(photo, model, InstantOptions(style_weights=(1.0, 0.0))))
    b = pil_to_tensor(stylize_instant(photo, model, InstantOptions(style_weights=(0.0, 1.0))))
    mid = pil_to_tensor(stylize_instant(photo, model, InstantOptions(style_weights=(1.0, 1.0))))
    assert torch.allclose(mid, (a + b) / 2, atol=2 / 255)
    mask = torch.zeros(1, 1, 120, 160)
    mask[..., :, :80] = 1
    m = pil_to_tensor(stylize_instant(photo, model, mask=mask))
    assert torch.allclose(m[..., :, :80], a[..., :, :80], atol=2 / 255)
    assert torch.allclose(m[..., :, 80:], b[..., :, 80:], atol=2 / 255)


def test_tiling_with_a_local_function_is_exact_away_from_nothing() -> None:
    """A pointwise function gives the same result tiled or whole, seams included (weights sum to 1)."""
    x = torch.rand(1, 3, 150, 230)
    y = tiled(lambda t: t.sqrt(), x, tile=64, overlap=16)
    assert torch.allclose(y, x.sqrt(), atol=1e-6)


def test_tiled_network_agrees_with_whole_image() -> None:
    from styleforge.assets import BUILTIN_CONTENT

    img = load_image(BUILTIN_CONTENT["tubingen"]).resize((384, 288), Image.Resampling.LANCZOS)
    model = load_instant(["starry_night"], backend="torch")
    whole = pil_to_tensor(stylize_instant(img, model, InstantOptions(tile=0)))
    tiles = pil_to_tensor(stylize_instant(img, model, InstantOptions(tile=256, overlap=64)))
    diff = (whole - tiles).abs()
    assert float(diff.mean()) < 0.06  # instance norm sees per-tile statistics: close, not equal
    # no visible seam: the error along the tile borders is no larger than elsewhere
    col = diff[..., :, 128 - 8 : 128 + 8].mean()
    assert float(col) < 2.5 * float(diff.mean()) + 0.01


def test_onnx_matches_torch(tmp_path, photo: Image.Image) -> None:  # noqa: ANN001
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from styleforge.instant.onnx import export_onnx

    model = load_instant([B], backend="torch")
    path = export_onnx(model, tmp_path / "scream.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = pil_to_tensor(photo.resize((97, 61)))  # odd size: dynamic axes work
    ref = model.per_style[0].net(x).detach()
    got = torch.from_numpy(sess.run(None, {"image": x.numpy()})[0])
    assert got.shape == ref.shape
    assert float((got - ref).abs().max()) < 1e-3


def test_auto_backend_uses_onnxruntime_when_installed() -> None:
    pytest.importorskip("onnxruntime")
    assert load_instant(["starry_night"], backend="auto").backend == "onnxruntime"
    assert load_instant(["starry_night"], backend="torch").backend == "torch"


def test_bad_options() -> None:
    with pytest.raises(InputError, match="--strength"):
        InstantOptions(strength=1.5).validate(1)
    with pytest.raises(InputError, match="--style-weights has 1 values for 2"):
        InstantOptions(style_weights=(1.0,)).validate(2)
    with pytest.raises(InputError, match="--tile"):
        InstantOptions(tile=10).validate(1)
    with pytest.raises(InputError, match="unknown built-in style 'starry_nigth'.*did you mean"):
        load_instant(["starry_nigth"])


def test_cli_instant_and_stylize_instant(tmp_path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "a.png"
    assert main(["instant", "tubingen", "--style", "starry_night", "--size", "96", "-o", str(out)]) == 0
    assert Image.open(out).size == (96, 72)
    out2 = tmp_path / "b.jpg"
    assert (
        main(["stylize", "tubingen", "--instant", B, "--image-size", "80", "-o", str(out2), "--original-colors"]) == 0
    )
    assert Image.open(out2).size == (80, 60)
    # errors: one line, exit 2, nothing written
    bad = tmp_path / "c.png"
    assert main(["stylize", "tubingen", "-o", str(bad)]) == 2
    assert main(["instant", "tubingen", "--style", "starry_night", "--strength", "2", "-o", str(bad)]) == 2
    assert main(["instant", "tubingen", "--style", "starry_night", "--mask", str(out), "-o", str(bad)]) == 2
    assert main(["instant", str(tmp_path / "missing.jpg"), "--style", "starry_night", "-o", str(bad)]) == 2
    assert not bad.exists()
    err = capsys.readouterr().err
    assert err.count("error:") == 4 and "Traceback" not in err


def test_cli_folder_in_folder_out(tmp_path) -> None:  # noqa: ANN001
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        Image.fromarray(np.full((40, 56, 3), 60 * i + 40, np.uint8)).save(src / f"p{i}.jpg")
    out = tmp_path / "out"
    assert main(["instant", str(src), "--style", B, "-o", str(out), "--backend", "torch"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png"]


def _has_adain() -> bool:
    return any(e.kind == "adain" for e in builtin_models().values())


def _edges(t: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude of the luminance, pooled over 4×4 cells (the picture's structure)."""
    g = t.mean(1, keepdim=True)
    e = (g[..., :-1, 1:] - g[..., :-1, :-1]).abs() + (g[..., 1:, :-1] - g[..., :-1, :-1]).abs()
    return torch.nn.functional.avg_pool2d(e, 4).flatten()


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


@pytest.mark.skipif(not _has_adain(), reason="no built-in AdaIN decoder shipped")
def test_builtin_adain_keeps_the_photo_and_takes_the_style(photo: Image.Image) -> None:
    """The shipped decoder: the photo's structure, the style's colours, alpha moves between them.

    (A short CPU training: its alpha-0 reconstruction is rough — luminance correlation ≈ 0.25 with
    the photo — so the structure is checked on edges, where it holds.)
    """
    from styleforge.assets import builtin_styles

    styles = builtin_styles()
    style = styles["shipwreck"]
    model = load_instant([str(style)], backend="torch", arbitrary="adain")
    assert model.kinds == ["adain"]
    x = pil_to_tensor(photo)
    full = pil_to_tensor(stylize_instant(photo, model))
    none = pil_to_tensor(stylize_instant(photo, model, InstantOptions(alpha=0.0)))
    assert full.shape == x.shape
    # alpha 0 decodes the photo's own features: closer to the photo than the stylised result
    assert float((none - x).abs().mean()) < float((full - x).abs().mean())
    other = pil_to_tensor(load_image(styles["composition_vii"]).resize(photo.size))
    assert _corr(_edges(full), _edges(x)) > 0.2 + _corr(_edges(full), _edges(other))  # this photo's structure
    s = pil_to_tensor(load_image(style).resize(photo.size))
    mean_dist = lambda a: float((a.mean((2, 3)) - s.mean((2, 3))).abs().sum())  # noqa: E731
    assert mean_dist(full) < 0.7 * mean_dist(x)  # the style's colours
    starry = pil_to_tensor(stylize_instant(photo, load_instant([str(styles["starry_night"])], backend="torch")))
    assert float((starry - full).abs().mean()) > 0.05  # another style, another picture
