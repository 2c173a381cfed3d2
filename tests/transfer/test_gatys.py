from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.backbones import build_backbone
from styleforge.color import rgb_to_yuv
from styleforge.errors import InputError
from styleforge.io import load_image, pil_to_tensor, resize_max_side
from styleforge.transfer.gatys import GatysConfig, plan_stages, stylize_tensor


@pytest.fixture(scope="module")
def images():
    c = pil_to_tensor(resize_max_side(load_image(BUILTIN_CONTENT["tubingen"]), 64))
    s = pil_to_tensor(resize_max_side(load_image(builtin_styles()["starry_night"]), 64))
    s2 = pil_to_tensor(resize_max_side(load_image(builtin_styles()["the_scream"]), 64))
    return c, s, s2


@pytest.fixture(scope="module")
def net():
    return build_backbone("vgg16-offline", layers=["relu5_1"])


def small(**kw) -> GatysConfig:
    base = dict(image_size=64, iterations=12, scales=(1.0,), seed=0)
    base.update(kw)
    return GatysConfig(**base)


def test_plan_stages():
    stages = plan_stages(GatysConfig(image_size=1024, iterations=100), (768, 1024))
    assert [s.size for s in stages] == [(192, 256), (384, 512), (768, 1024)]
    assert all(s.iterations == 100 for s in stages)
    assert [s.size for s in plan_stages(GatysConfig(image_size=256), (192, 256))] == [(96, 128), (192, 256)]
    assert len(plan_stages(GatysConfig(scales=(1.0,)), (10, 20))) == 1


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loss_falls_and_is_deterministic(images, net, optimizer):
    c, s, _ = images
    cfg = small(optimizer=optimizer, init="random")
    r1 = stylize_tensor(c, [s], cfg, net=net)
    r2 = stylize_tensor(c, [s], cfg, net=net)
    assert r1.evaluations == 12 and len(r1.history) == 12
    assert min(r1.history) < 0.7 * r1.history[0]
    assert r1.losses["total"] == min(r1.history)  # the best evaluated image is returned
    assert torch.equal(r1.image, r2.image)
    assert r1.image.shape == c.shape and 0 <= float(r1.image.min()) and float(r1.image.max()) <= 1


def test_multiscale_runs_every_stage(images, net):
    c, s, _ = images
    seen = []
    cfg = small(scales=(0.5, 1.0), iterations=3, image_size=256)
    c2 = torch.nn.functional.interpolate(c, scale_factor=4, mode="bilinear")
    r = stylize_tensor(
        c2, [s], cfg, net=net, callback=lambda st, i, loss, im: seen.append((st.index, tuple(im.shape[-2:])))
    )
    assert {x[0] for x in seen} == {0, 1} and seen[0][1] == (96, 128) and seen[-1][1] == (192, 256)
    assert r.image.shape == c2.shape


def test_blend_weights_and_mismatch(images, net):
    c, s, s2 = images
    r = stylize_tensor(c, [s, s2], small(style_blend_weights=(3.0, 1.0), iterations=3), net=net)
    assert r.evaluations == 3
    with pytest.raises(InputError, match="2 style image"):
        stylize_tensor(c, [s, s2], small(style_blend_weights=(1.0,)), net=net)


def test_style_mask_keeps_content_outside(images, net):
    c, s, _ = images
    m = torch.zeros(1, 1, *c.shape[-2:])
    m[..., : c.shape[-1] // 2] = 1
    r = stylize_tensor(c, [s], small(iterations=5, init="random"), style_masks=[m], net=net)
    right = (slice(None), slice(None), slice(None), slice(c.shape[-1] // 2, None))
    assert torch.allclose(r.image[right], c[right], atol=1e-6)
    assert (r.image[..., : c.shape[-1] // 2] - c[..., : c.shape[-1] // 2]).abs().mean() > 0.02
    with pytest.raises(InputError, match="style mask 1 is"):
        stylize_tensor(c, [s], small(), style_masks=[torch.ones(1, 1, 5, 5)], net=net)


def test_original_colors_and_color_mask(images, net):
    c, s, _ = images
    r = stylize_tensor(c, [s], small(iterations=5, original_colors=True), net=net)
    assert (r.image - c).abs().mean() > 0.01  # the luminance did change
    # the photo's chroma is kept wherever the recoloured pixel is not clipped to [0, 1]
    inside = ((r.image > 0.002) & (r.image < 0.998)).all(1, keepdim=True).expand(-1, 2, -1, -1)
    assert inside.float().mean() > 0.9
    chroma_err = (rgb_to_yuv(r.image)[:, 1:] - rgb_to_yuv(c)[:, 1:]).abs()
    assert float(chroma_err[inside].max()) < 1e-3
    cm = torch.zeros(1, 1, *c.shape[-2:])
    r2 = stylize_tensor(c, [s], small(iterations=5), color_mask=cm, net=net)
    r3 = stylize_tensor(c, [s], small(iterations=5), net=net)
    assert torch.allclose(r2.image, r3.image, atol=1e-6)  # empty colour mask changes nothing


def test_improved_mode_and_color_match(images):
    c, s, _ = images
    r = stylize_tensor(c, [s], small(iterations=4, improved=True, color_match="mean-cov", backbone="vgg16-offline"))
    assert r.evaluations == 4 and r.history[-1] < r.history[0]


def test_interrupt_returns_current_image(images, net):
    c, s, _ = images

    def cb(stage, step, losses, image):
        if step == 3:
            raise KeyboardInterrupt

    r = stylize_tensor(c, [s], small(iterations=10), net=net, callback=cb)
    assert r.interrupted and r.evaluations == 3 and r.image.shape == c.shape


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(image_size=0), "between"),
        (dict(image_size=100000), "between"),
        (dict(optimizer="sgd"), "unknown optimizer"),
        (dict(scales=(0.0, 1.0)), "scales"),
        (dict(content_layers=("relu9_1",)), "unknown vgg16 layer"),
        (dict(style_layer_weights=(1.0,)), "style layer weights"),
    ],
)
def test_bad_config(images, kw, msg):
    c, s, _ = images
    with pytest.raises(InputError, match=msg):
        stylize_tensor(c, [s], small(**kw))


# --- speed: schedules, bf16 passes, the first L-BFGS step (bundled images, no ../shared) ---------


@pytest.fixture(scope="module")
def bundled():
    from styleforge.assets import resolve_image

    c = pil_to_tensor(resize_max_side(load_image(resolve_image("tubingen", kind="content")), 64))
    s = pil_to_tensor(resize_max_side(load_image(resolve_image("starry_night")), 64))
    return c, s


def test_scale_iterations_per_stage_and_default_schedule():
    from styleforge.transfer.gatys import default_scale_iterations

    cfg = GatysConfig(image_size=1024, scale_iterations=(160, 80, 40))
    assert [(s.size, s.iterations) for s in plan_stages(cfg, (768, 1024))] == [
        ((192, 256), 160),
        ((384, 512), 80),
        ((768, 1024), 40),
    ]
    # a stage under 128 px is skipped together with its count
    assert [s.iterations for s in plan_stages(GatysConfig(image_size=256, scale_iterations=(9, 7, 5)), (192, 256))] == [
        7,
        5,
    ]
    assert default_scale_iterations((0.25, 0.5, 1.0), final=40) == (160, 80, 40)
    assert default_scale_iterations((1.0, 0.5), final=30) == (60, 30)  # coarse to fine, sorted
    with pytest.raises(InputError, match="3 scales"):
        GatysConfig(scale_iterations=(10, 10)).validate(1)
    with pytest.raises(InputError, match="amp"):
        GatysConfig(amp="fp8").validate(1)


def test_cli_schedule_keeps_iterations_meaning():
    from styleforge.cli.main import build_parser
    from styleforge.cli.stylize import gatys_config_from_args
    from styleforge.transfer.gatys import default_scale_iterations

    p = build_parser()
    cfg = gatys_config_from_args(p.parse_args(["stylize", "x.jpg", "--style", "s", "-o", "o.png"]))
    assert cfg.stage_iterations() == default_scale_iterations(cfg.scales) == (160, 80, 40) and cfg.amp == "auto"
    cfg = gatys_config_from_args(
        p.parse_args(["stylize", "x.jpg", "--style", "s", "-o", "o.png", "--iterations", "100"])
    )
    assert cfg.scale_iterations is None and cfg.stage_iterations() == (100, 100, 100)  # explicit: per scale
    cfg = gatys_config_from_args(
        p.parse_args(
            ["stylize", "x.jpg", "--style", "s", "-o", "o.png", "--scale-iterations", "5,4,3", "--amp", "none"]
        )
    )
    assert cfg.stage_iterations() == (5, 4, 3) and cfg.amp == "none"
    cfg = gatys_config_from_args(
        p.parse_args(["stylize", "x.jpg", "--style", "s", "-o", "o.png", "--backbone", "effnet-lite0"])
    )
    assert cfg.stage_iterations() == (48, 24, 12)
    cfg = gatys_config_from_args(
        p.parse_args(
            ["stylize", "x.jpg", "--style", "s", "-o", "o.png", "--backbone", "effnet-lite0", "--scales", "0.5,1"]
        )
    )
    assert cfg.stage_iterations() == (24, 12)  # the backbone's schedule follows the scales
    cfg = gatys_config_from_args(p.parse_args(["stylize", "x.jpg", "--style", "s", "-o", "o.png"]))
    assert cfg.scale_detail == 1.0
    plain = p.parse_args(["stylize", "x.jpg", "--style", "s", "-o", "o.png", "--scale-detail", "0"])
    assert gatys_config_from_args(plain).scale_detail == 0.0


def test_finer_stage_starts_with_the_photo_detail_the_coarse_one_lacked(images):
    from styleforge.transfer.gatys import resize_bilinear, upsample_with_detail

    c = images[0]
    coarse = resize_bilinear(c, (c.shape[-2] // 2, c.shape[-1] // 2))
    plain = upsample_with_detail(coarse, c, 0.0)
    assert torch.equal(plain, resize_bilinear(coarse, tuple(c.shape[-2:])))
    full = upsample_with_detail(coarse, c, 1.0)
    assert float((full - c).abs().max()) < 1e-5  # the content's own coarse version gets all its detail back
    half = upsample_with_detail(coarse, c, 0.5)
    assert torch.allclose(half, (plain + full) / 2, atol=1e-6)
    # a stylised coarse image keeps its colours: only the missing band is added
    painted = coarse * 0.5 + 0.25
    out = upsample_with_detail(painted, c, 1.0)
    assert torch.allclose(resize_bilinear(out, tuple(coarse.shape[-2:])), painted, atol=0.08)
    with pytest.raises(InputError, match="scale-detail"):
        GatysConfig(scale_detail=3.0).validate(1)


def test_stylize_carries_the_detail_into_the_finer_stage(net):
    # a full-size stage of 0 evaluations returns its start: the upsampled coarse result (+ the detail)
    c = pil_to_tensor(resize_max_side(load_image(BUILTIN_CONTENT["tubingen"]), 256))
    s = pil_to_tensor(resize_max_side(load_image(builtin_styles()["starry_night"]), 128))
    out = {
        d: stylize_tensor(
            c, [s], small(image_size=256, scales=(0.5, 1.0), scale_iterations=(3, 0), scale_detail=d), net=net
        ).image
        for d in (0.0, 1.0)
    }
    high = lambda x: x - torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)  # noqa: E731
    err = {d: float((high(o) - high(c)).abs().mean()) for d, o in out.items()}
    assert err[1.0] < 0.5 * err[0.0]  # the photo's edges are there from the start


def test_amp_dtype_follows_the_cpu(monkeypatch):
    from styleforge import precision
    from styleforge.transfer.gatys import amp_dtype

    cpu = torch.device("cpu")
    assert amp_dtype("none", cpu) is None and amp_dtype("bf16", cpu) is torch.bfloat16
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert amp_dtype("auto", cpu) is torch.bfloat16
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert amp_dtype("auto", cpu) is None  # emulated bf16 would be slower than fp32


def test_bf16_loss_and_gradient_close_to_fp32(bundled, net):
    from styleforge.transfer.gatys import _Objective, layer_setup

    c, s = bundled
    cfg = GatysConfig(image_size=64)
    cl, sl, lw = layer_setup(cfg, net)
    x = (0.7 * c + 0.3 * torch.rand(c.shape, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    out = {}
    for amp in (None, torch.bfloat16):
        obj = _Objective(net, cfg, c, [s], [1.0], None, cl, sl, lw, amp=amp)
        total, terms = obj(x)
        (g,) = torch.autograd.grad(total, x)
        out[amp] = (float(total.detach()), {k: float(v.detach()) for k, v in terms.items()}, g)
    (t32, terms32, g32), (t16, terms16, g16) = out[None], out[torch.bfloat16]
    assert abs(t16 - t32) / t32 < 0.02
    assert all(abs(terms16[k] - terms32[k]) / terms32[k] < 0.03 for k in terms32)
    assert torch.nn.functional.cosine_similarity(g16.flatten(), g32.flatten(), dim=0) > 0.98


def test_bf16_passes_keep_only_the_plain_gram_layers_in_bf16(bundled, net):
    from styleforge.transfer.gatys import _Objective, layer_setup

    c, s = bundled
    cfg = GatysConfig(image_size=64)
    cl, sl, lw = layer_setup(cfg, net)
    obj = _Objective(net, cfg, c, [s], [1.0], None, cl, sl, lw, amp=torch.bfloat16)
    feats = obj.features(c, obj.layers)
    assert obj.low_precision == set(sl) - set(cl) != set()
    assert {k for k, v in feats.items() if v.dtype == torch.bfloat16} == obj.low_precision
    assert all(feats[k].dtype == torch.float32 for k in cl)  # the content MSE stays float32
    assert all(g.dtype == torch.float32 for g in obj.style_targets[0].values())
    mask = torch.ones_like(c[:, :1])
    masked = _Objective(net, cfg, c, [s], [1.0], [mask], cl, sl, lw, amp=torch.bfloat16)
    improved = _Objective(net, replace(cfg, improved=True), c, [s], [1.0], None, cl, sl, lw, amp=torch.bfloat16)
    assert masked.low_precision == improved.low_precision == set()  # masks and shifts upcast first
    assert _Objective(net, cfg, c, [s], [1.0], None, cl, sl, lw, amp=None).features(c, sl)[sl[0]].dtype == torch.float32


@pytest.mark.parametrize("amp", ["none", "bf16"])
def test_first_lbfgs_steps_make_progress(bundled, net, amp):
    # L-BFGS's first step is lr/‖g‖₁ in the optimised variables; on the 0–255 scale that moved
    # pixels by ~1e-6 levels (flat loss for ~6 evaluations; in bf16 the loss blew up).
    c, s = bundled
    hist = []
    r = stylize_tensor(
        c, [s], small(iterations=6, amp=amp), net=net, callback=lambda st, i, losses, im: hist.append(losses["total"])
    )
    assert all(math.isfinite(h) for h in hist)
    assert min(hist[:4]) < 0.9 * hist[0]
    assert r.losses["total"] < 0.6 * hist[0]


def test_channels_last_cpu_passes_match_nchw(images, net, monkeypatch):
    # the fp32 CPU passes run channels-last (speed); the optimisation follows the NCHW one
    from styleforge.transfer import gatys

    c, s, _ = images
    cfg = small(iterations=6, amp="none")
    monkeypatch.setattr(gatys, "CPU_CHANNELS_LAST", False)
    ref = stylize_tensor(c, [s], cfg, net=net)
    monkeypatch.setattr(gatys, "CPU_CHANNELS_LAST", True)
    seen: list[bool] = []
    real = net.forward

    def spy(x, layers):
        seen.append(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous())
        return real(x, layers)

    monkeypatch.setattr(net, "forward", spy)
    got = stylize_tensor(c, [s], cfg, net=net)
    assert seen and all(seen)
    assert got.losses["total"] == pytest.approx(ref.losses["total"], rel=1e-3)
    diff = (got.image - ref.image).abs()  # rounding only: under 1/255 anywhere, far less on average
    assert diff.max() < 4e-3 and diff.mean() < 5e-4
