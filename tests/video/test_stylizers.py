from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from videoclips import count_network_runs, pan_frames

from styleforge.errors import InputError
from styleforge.transfer.lut import apply_lut, read_cube
from styleforge.video.stylizers import (
    GatysStylizer,
    InstantStylizer,
    LookStylizer,
    PhotoStylizer,
    TranslatorStylizer,
    affine_color_map,
    make_stylizer,
)
from styleforge.video.temporal import Hint


def write_cube(path: Path, fn, n: int = 5) -> Path:  # noqa: ANN001
    lines = ['TITLE "test"', f"LUT_3D_SIZE {n}"]
    g = np.linspace(0, 1, n)
    for b in g:
        for gg in g:
            for r in g:
                lines.append(" ".join(f"{v:.6f}" for v in fn(np.array([r, gg, b]))))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cube_identity_and_a_channel_swap(tmp_path: Path) -> None:
    x = np.random.default_rng(0).random((8, 8, 3)).astype(np.float32)
    ident = read_cube(write_cube(tmp_path / "id.cube", lambda c: c))
    assert np.allclose(apply_lut(ident, x), x, atol=1e-5)
    swap = read_cube(write_cube(tmp_path / "swap.cube", lambda c: c[::-1]))  # linear: exact under trilinear
    assert np.allclose(apply_lut(swap, x), x[..., ::-1], atol=1e-5)
    look = LookStylizer(str(tmp_path / "swap.cube"), strength=0.5)
    frame = (x * 255).astype(np.uint8)
    f = frame.astype(np.float32) / 255
    assert np.allclose(look(frame, None), 0.5 * f[..., ::-1] + 0.5 * f, atol=1e-5)


def test_affine_color_map_matches_mean_and_covariance() -> None:
    rng = np.random.default_rng(3)
    src = rng.random((500, 3))
    tgt = rng.random((400, 3)) @ np.array([[0.5, 0.1, 0], [0, 0.3, 0.2], [0.1, 0, 0.4]]) + 0.2
    a, b = affine_color_map(src, tgt)
    y = src @ a.T + b
    assert np.allclose(y.mean(0), tgt.mean(0), atol=1e-4)
    assert np.allclose(np.cov(y.T), np.cov(tgt.T), atol=1e-3)


def test_photo_style_uses_one_map_for_the_whole_clip() -> None:
    frames = pan_frames(3)
    p = PhotoStylizer("starry_night")
    out0 = p(frames[0], None)
    m = p.map
    p(frames[2], None)
    assert p.map is m  # fitted once: the same colour map on every frame
    assert abs(float(out0[..., 2].mean()) - float(p.style[..., 2].mean())) < 0.05  # the painting's blue


def test_instant_goes_through_the_instant_api() -> None:
    s = InstantStylizer("starry_night")
    frame = pan_frames(1, (64, 48))[0]
    out = s(frame, None)
    assert out.shape == (48, 64, 3) and out.dtype == np.float32
    from PIL import Image

    from styleforge.instant import load_instant, stylize_instant

    want = np.asarray(stylize_instant(Image.fromarray(frame), load_instant(["starry_night"]))).astype(np.float32) / 255
    assert np.abs(out - want).mean() < 0.01


def test_instant_reuses_the_clip_fits_network_outputs_once() -> None:
    s = InstantStylizer("starry_night")
    assert s.fits_clip  # onnxruntime and the offline VGG16 are dependencies: the torch-free pass
    frames = pan_frames(3, (64, 48))
    runs = count_network_runs(s)
    s.fit_clip([frames[0], frames[2]])
    assert len(runs) == 2
    fitted = s(frames[2].copy(), None)  # the same pixels (another array): the fit's output, no run
    assert len(runs) == 2
    s(frames[1], None)
    again = s(frames[2], None)  # given back once only
    assert len(runs) == 4
    assert np.array_equal(fitted, again)


def test_checkpoint_goes_through_load_translator(tmp_path: Path) -> None:
    from styleforge.engine import export_safetensors
    from styleforge.gan.loading import load_translator
    from styleforge.gan.pix2pix import Pix2Pix, Pix2PixConfig

    cfg = Pix2PixConfig(netG="unet_32", ngf=4, lambda_gan=0.0, dropout=False)
    model = Pix2Pix(cfg, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "g.safetensors"
    export_safetensors(
        model.networks["G"].state_dict(),
        path,
        metadata={"kind": "pix2pix", "network": "G", "model_config": dataclasses.asdict(cfg)},
    )
    frame = pan_frames(1, (64, 48))[0]
    out = TranslatorStylizer(str(path))(frame, None)
    want = load_translator(path).tensor(torch.from_numpy(frame.astype(np.float32) / 255).permute(2, 0, 1)[None])
    assert np.allclose(out, want[0].permute(1, 2, 0).numpy(), atol=1e-5)


def test_gatys_warm_start_follows_the_warped_previous_frame() -> None:
    from styleforge.transfer.gatys import GatysConfig

    cfg = GatysConfig(iterations=4, scales=(1.0,), image_size=64, seed=0, backbone="effnet-lite0")  # light: 0.3 s
    g = GatysStylizer(["starry_night"], cfg, warm_iterations=3, temporal_weight=1e6)
    frame = pan_frames(1, (64, 48))[0]
    first = g(frame, None)
    assert first.shape == (48, 64, 3)
    target = np.full_like(first, 0.5)
    warm = g(frame, Hint(target, np.ones((48, 64), np.float32)))
    # a huge temporal weight and the warped frame as the start: the result stays at it
    assert np.abs(warm - target).mean() < 0.05 < np.abs(first - target).mean()


def test_make_stylizer_wants_exactly_one_mode() -> None:
    with pytest.raises(InputError, match="exactly one"):
        make_stylizer()
    with pytest.raises(InputError, match="exactly one"):
        make_stylizer(instant="starry_night", look="x.cube")
