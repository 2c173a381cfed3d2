from __future__ import annotations

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
    r = stylize_tensor(c2, [s], cfg, net=net, callback=lambda st, i, l, im: seen.append((st.index, tuple(im.shape[-2:]))))
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
    assert torch.allclose(rgb_to_yuv(r.image)[:, 1:], rgb_to_yuv(c)[:, 1:], atol=0.03)
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
