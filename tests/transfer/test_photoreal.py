"""Deep Photo Style Transfer: colour masks, the two stages, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.cli.main import main
from styleforge.errors import InputError
from styleforge.transfer.gatys import GatysConfig
from styleforge.transfer.photoreal import PhotoConfig, photo_transfer
from styleforge.transfer.segmentation import NAMES, PALETTE, check_mask_size, pair_masks, parse_mask


def colour_mask(names: list[str], h: int = 24, w: int = 36, noise: float = 0.0) -> Image.Image:
    """Vertical stripes of the given DPST colours, with an anti-aliased (blended) border."""
    arr = np.zeros((h, w, 3))
    edges = np.linspace(0, w, len(names) + 1).round().astype(int)
    for name, a, b in zip(names, edges[:-1], edges[1:], strict=True):
        arr[:, a:b] = PALETTE[name]
    for b in edges[1:-1]:  # blend across each border, as a resized mask would
        arr[:, b] = (arr[:, b - 1] + arr[:, b + 1]) / 2
    arr = np.clip(arr + noise * np.random.default_rng(0).standard_normal(arr.shape), 0, 1)
    return Image.fromarray((arr * 255).round().astype(np.uint8))


@pytest.mark.parametrize("name", NAMES)
def test_every_dpst_colour_is_parsed(name):
    other = "white" if name != "white" else "black"
    labels = parse_mask(colour_mask([name, other], noise=0.03))
    assert set(np.unique(labels)) == {NAMES.index(name), NAMES.index(other)}
    assert (labels[:, :17] == NAMES.index(name)).all()


def test_antialiased_border_colour_is_not_a_segment():
    # black|white blends to grey on the border: grey must not become a region
    labels = parse_mask(colour_mask(["black", "white", "black"]))
    assert NAMES.index("grey") not in labels
    assert labels.shape == (24, 36)


def test_unknown_colours_and_mismatched_masks_are_errors():
    orange = Image.new("RGB", (20, 20), (255, 128, 0))
    with pytest.raises(InputError, match="match none of DPST's mask colours"):
        parse_mask(orange)
    content = parse_mask(colour_mask(["red", "blue"]))
    style = parse_mask(colour_mask(["red", "green"]))
    with pytest.raises(InputError, match="blue.*content mask but not in the style mask"):
        pair_masks(content, style)
    # a colour only in the style is ignored (nothing to paint with it), or refused with strict
    pairs = pair_masks(parse_mask(colour_mask(["red"])), style)
    assert [p.name for p in pairs] == ["red"]
    with pytest.raises(InputError, match="green"):
        pair_masks(parse_mask(colour_mask(["red"])), style, strict=True)


def test_mask_size_checks():
    m = colour_mask(["red", "blue"], 24, 36)
    assert check_mask_size(m, (72, 48), what="mask").size == (72, 48)  # same aspect: nearest resize
    with pytest.raises(InputError, match="aspect ratio"):
        check_mask_size(m, (36, 36), what="content mask")


def _sky_mask(size: tuple[int, int], sky: float) -> Image.Image:
    """Blue (sky) above ``sky`` of the height, red (ground) below: DPST's colour-mask format."""
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[: round(h * sky), :, 2] = 255
    arr[round(h * sky) :, :, 0] = 255
    return Image.fromarray(arr)


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    """The DPST example layout (input/, style/, seg_input/, seg_style/) made from the bundled images."""
    from styleforge.assets import BUILTIN_CONTENT, builtin_styles
    from styleforge.io import load_image, resize_max_side

    d = tmp_path_factory.mktemp("photo")
    for sub in ("input", "style", "seg_input", "seg_style"):
        (d / sub).mkdir()
    c = resize_max_side(load_image(BUILTIN_CONTENT["tubingen"]), 160)
    s = resize_max_side(load_image(builtin_styles()["starry_night"]), 160)
    c.save(d / "input" / "in29.jpg", quality=95)
    s.save(d / "style" / "tar29.jpg", quality=95)
    _sky_mask(c.size, 0.3).save(d / "seg_input" / "in29.png")
    _sky_mask(s.size, 0.6).save(d / "seg_style" / "tar29.png")
    _sky_mask((c.size[0], c.size[0]), 0.3).save(d / "seg_input" / "in1.png")  # another aspect ratio
    return d


@pytest.fixture(scope="module")
def photos(photo_dir):
    from styleforge.io import load_image, pil_to_tensor, resize_max_side

    d = photo_dir
    c = resize_max_side(load_image(d / "input" / "in29.jpg"), 40)
    s = resize_max_side(load_image(d / "style" / "tar29.jpg"), 40)
    cm = Image.open(d / "seg_input" / "in29.png").convert("RGB").resize(c.size, Image.Resampling.NEAREST)
    sm = Image.open(d / "seg_style" / "tar29.png").convert("RGB").resize(s.size, Image.Resampling.NEAREST)
    return pil_to_tensor(c), pil_to_tensor(s), cm, sm


def test_two_stages_with_masks_lower_the_photorealism_loss(photos):
    from styleforge.transfer.matting import laplacian_for, photorealism_loss

    c, s, cm, sm = photos
    g = GatysConfig(image_size=40, iterations=10, scales=(1.0,), seed=0)
    cfg = PhotoConfig(gatys=g, local_affine=False, photo_weight=1e7)  # λ's effect grows with the pixel count
    res = photo_transfer(c, s, cfg, content_seg=cm, style_seg=sm)
    assert res.segments == ["blue", "red"]
    assert res.image.shape == c.shape and torch.isfinite(res.image).all()
    assert "photo" in res.losses and res.stage1 is not None and res.stage2 is not None
    lap = laplacian_for(c).torch()
    assert photorealism_loss(res.stage2, lap) < photorealism_loss(res.stage1, lap)
    assert (res.stage1 - c).abs().mean() > 0.01  # stage 1 did change the photo
    # the final local affine fit keeps the content's edges: it is lower still
    fin = photo_transfer(c, s, PhotoConfig(gatys=g, photo_weight=0), content_seg=cm, style_seg=sm)
    assert photorealism_loss(fin.image, lap) < photorealism_loss(fin.stage1, lap)


def test_photo_and_smooth_cli(tmp_path, photo_dir):
    d = photo_dir
    out = tmp_path / "out.png"
    argv = [
        "photo",
        str(d / "input" / "in29.jpg"),
        str(d / "style" / "tar29.jpg"),
        "-o",
        str(out),
        "--image-size",
        "40",
        "--iterations",
        "3",
        "--scales",
        "none",
        "--smooth",
        "fast",
        "-q",
        "--method",
        "dpst",
        "--content-mask",
        str(d / "seg_input" / "in29.png"),
        "--style-mask",
        str(d / "seg_style" / "tar29.png"),
    ]
    assert main(argv) == 0
    assert Image.open(out).size[0] == 40
    sm = tmp_path / "sm.png"
    assert (
        main(["smooth", str(out), "--guide", str(d / "input" / "in29.jpg"), "--image-size", "40", "-o", str(sm)]) == 0
    )
    assert Image.open(sm).size == Image.open(out).size


def test_cli_bad_input_writes_nothing(tmp_path, photo_dir, capsys):
    d = photo_dir
    out = tmp_path / "bad.png"
    base = [
        "photo",
        str(d / "input" / "in29.jpg"),
        str(d / "style" / "tar29.jpg"),
        "-o",
        str(out),
        "--image-size",
        "40",
        "--iterations",
        "1",
        "--method",
        "dpst",
    ]
    assert main(base + ["--content-mask", str(d / "seg_input" / "in29.png")]) == 2
    assert "both" in capsys.readouterr().err
    assert (
        main(
            base
            + ["--content-mask", str(d / "seg_input" / "in1.png"), "--style-mask", str(d / "seg_style" / "tar29.png")]
        )
        == 2
    )
    assert "aspect ratio" in capsys.readouterr().err
    no_blue = tmp_path / "red.png"
    Image.open(d / "seg_style" / "tar29.png").convert("RGB").point(lambda v: 255 if v > 128 else 0).save(no_blue)
    red_only = Image.new("RGB", Image.open(no_blue).size, (255, 0, 0))
    red_only.save(no_blue)
    assert main(base + ["--content-mask", str(d / "seg_input" / "in29.png"), "--style-mask", str(no_blue)]) == 2
    assert "blue" in capsys.readouterr().err
    assert main(base + ["--lambda", "-1"]) == 2
    assert not out.exists()


def test_segment_color_transfer_matches_each_region_mean():
    from styleforge.transfer.photoreal import segment_color_transfer

    g = torch.Generator().manual_seed(3)
    content = torch.rand(1, 3, 16, 20, generator=g) * 0.3 + 0.2
    style = torch.rand(1, 3, 12, 12, generator=g) * 0.2
    style[..., :6, :] += 0.7  # top half of the style is bright
    cm = [torch.zeros(1, 1, 16, 20), torch.zeros(1, 1, 16, 20)]
    cm[0][..., :, :10] = 1
    cm[1][..., :, 10:] = 1
    sm = [torch.zeros(1, 1, 12, 12), torch.zeros(1, 1, 12, 12)]
    sm[0][..., :6, :] = 1
    sm[1][..., 6:, :] = 1
    out = segment_color_transfer(content, style, cm, sm)
    for c, s in zip(cm, sm, strict=True):
        mo = (out * c).sum((2, 3)) / c.sum()
        ms = (style * s).sum((2, 3)) / s.sum()
        assert torch.allclose(mo, ms, atol=0.02)


def test_photo_stylize_api_from_paths(photo_dir):
    """``photo_stylize``: paths and masks in, a PIL image of the content's shape out, segments used."""
    from styleforge.transfer.photoreal import photo_stylize

    d = photo_dir
    kw = dict(
        content_mask=d / "seg_input" / "in29.png",
        style_mask=d / "seg_style" / "tar29.png",
        image_size=40,
        iterations=4,
        scales=(1.0,),
        seed=0,
    )
    res = photo_stylize(d / "input" / "in29.jpg", d / "style" / "tar29.jpg", return_result=True, **kw)
    assert res.segments == ["blue", "red"] and res.image.shape == (1, 3, 30, 40)
    img = photo_stylize(str(d / "input" / "in29.jpg"), str(d / "style" / "tar29.jpg"), **kw)
    assert isinstance(img, Image.Image) and img.size == (40, 30)
    photo = np.asarray(Image.open(d / "input" / "in29.jpg").convert("RGB").resize(img.size), np.float32)
    assert np.abs(np.asarray(img, np.float32) - photo).mean() > 2  # it did restyle the photo
    with pytest.raises(InputError, match="unknown option"):
        photo_stylize(d / "input" / "in29.jpg", d / "style" / "tar29.jpg", bogus=1)
