"""The shipped WCT network (the default for image styles): loads, keeps the photo, takes the style."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.errors import InputError
from styleforge.instant import InstantOptions, builtin_models, load_instant, stylize_instant
from styleforge.instant.models import load_arbitrary_net, load_wct_net
from styleforge.io import load_image, pil_to_tensor
from styleforge.nets.wct import covariance_stats, wct

HAS_WCT = any(e.kind == "wct" for e in builtin_models().values())
pytestmark = pytest.mark.skipif(not HAS_WCT, reason="no built-in WCT decoders shipped")


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return load_image(BUILTIN_CONTENT["tubingen"]).resize((128, 96), Image.Resampling.LANCZOS)


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(-10 * torch.log10(((a - b) ** 2).mean()))


def test_manifest_entry_records_how_it_was_made() -> None:
    entry = next(e for e in builtin_models().values() if e.kind == "wct")
    assert {"data", "steps", "seconds", "command"} <= set(entry.info)
    assert "held-out" in entry.info["data"] and "--exclude-file benchmarks/instant_heldout.txt" in entry.info["command"]
    assert entry.file.stat().st_size < 15_000_000


def test_default_for_image_styles_with_alpha_weights_and_mask(photo: Image.Image, one_thread) -> None:  # noqa: ANN001
    styles = builtin_styles()
    model = load_instant([str(styles["shipwreck"])], backend="torch")
    assert model.kinds == ["wct"]
    x = pil_to_tensor(photo)
    full = pil_to_tensor(stylize_instant(photo, model))
    none = pil_to_tensor(stylize_instant(photo, model, InstantOptions(alpha=0.0)))
    assert full.shape == x.shape
    assert _psnr(none, x) > 14  # alpha 0: the decoders give the photo back (up to their reconstruction error)
    assert _psnr(none, x) > _psnr(full, x) + 2
    # the painting's palette: the output's mean colour moves towards the painting's
    paint = pil_to_tensor(load_image(styles["shipwreck"]))
    mean = lambda t: t.mean(dim=(0, 2, 3))  # noqa: E731
    assert float((mean(full) - mean(paint)).abs().sum()) < float((mean(x) - mean(paint)).abs().sum())
    # two styles: weights and a mask
    two = load_instant([str(styles["shipwreck"]), str(styles["starry_night"])], backend="torch")
    a = pil_to_tensor(stylize_instant(photo, two, InstantOptions(style_weights=(1.0, 0.0))))
    assert _psnr(a, full) > 25  # weight 0 for the second style = the first alone
    m = torch.zeros(1, 1, 96, 128)
    m[..., :, :64] = 1
    masked = pil_to_tensor(stylize_instant(photo, two, mask=m))
    assert masked.shape == x.shape


def test_arbitrary_choice_and_bad_weights(tmp_path) -> None:  # noqa: ANN001
    assert type(load_arbitrary_net(method="wct")[0]).__name__ == "WCTNet"
    assert type(load_arbitrary_net(method="adain")[0]).__name__ == "AdaINNet"
    with pytest.raises(InputError, match="unknown arbitrary-style method"):
        load_arbitrary_net(method="sanet")
    adain = next(e.file for e in builtin_models().values() if e.kind == "adain")
    with pytest.raises(InputError, match="not WCT decoders"):
        load_wct_net(adain)


def test_shipped_feedback_brings_the_decoded_features_closer_to_the_transfer(photo: Image.Image, one_thread) -> None:  # noqa: ANN001
    net, meta = load_wct_net()
    assert (
        net.feedback and "--feedback" in next(e for e in builtin_models().values() if e.kind == "wct").info["command"]
    )
    lv, eta = next(iter(net.feedback.items()))
    style = pil_to_tensor(load_image(builtin_styles()["starry_night"]).resize((128, 101)))
    x = pil_to_tensor(photo)
    with torch.inference_mode():
        f = net._enc(x, [lv])[lv].float()
        t = wct(f, covariance_stats(net._enc(style, [lv])[lv].float()))
        miss = lambda y: float((net._enc(y, [lv])[lv].float() - t).pow(2).mean() / t.pow(2).mean())  # noqa: E731
        y0 = net._dec(lv, t, tuple(x.shape[-2:]))
        y1 = net._feedback(lv, t, y0, eta)
    assert miss(y1) < 0.95 * miss(y0)
