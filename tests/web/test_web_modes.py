"""The page's mode adapters, called directly with tiny inputs (no server)."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.errors import InputError
from styleforge.web import modes
from styleforge.web.limits import JobCancelled, JobTimeout


def _photo(w: int = 64, h: int = 48) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], -1).astype(np.uint8)
    return Image.fromarray(arr)


def test_availability_names_every_mode():
    avail = modes.availability()
    assert set(avail) == set(modes.MODES)
    assert avail["artistic"] is None  # Gatys is part of every install
    for _mode, reason in avail.items():
        assert reason is None or "not available in this install" in reason


def test_artistic_progress_previews_and_command():
    seen: list[tuple[float, str, Image.Image | None]] = []
    res = modes.artistic(
        _photo(),
        [("starry_night", 1.0)],
        size=64,
        preset="fast",
        iterations=3,
        on_progress=lambda f, m, p: seen.append((f, m, p)),
        preview_every=0.0,
    )
    assert res.image.size == (64, 48)
    fracs = [f for f, _, _ in seen]
    assert fracs == sorted(fracs) and fracs[-1] == pytest.approx(1.0) and len(fracs) == 3
    assert all(isinstance(p, Image.Image) for _, _, p in seen)
    assert "styleforge stylize photo.jpg --style starry_night --image-size 64 --iterations 3" in res.command
    assert "--backbone effnet-lite0" in res.command and res.command.endswith("-o result.png")
    assert "64×48" in res.info


def test_artistic_command_reproduces_the_result(tmp_path, monkeypatch):
    """The printed command, run through the CLI, gives the page's picture."""
    from styleforge.cli.main import main

    content = tmp_path / "photo.png"
    _photo(72, 56).save(content)
    own_style = tmp_path / "mine.png"
    _photo(40, 40).transpose(Image.Transpose.ROTATE_90).save(own_style)
    res = modes.artistic(
        Image.open(content),
        [("the_scream", 0.7), (Image.open(own_style), 0.3)],
        size=64,
        preset="fast",
        iterations=4,
        strength=2.0,
        original_colors=True,
        content_label="photo.png",
        style_labels=["the_scream", "mine.png"],
    )
    assert "--style-blend-weights 0.7,0.3" in res.command and "--style-weight 200" in res.command
    assert "--original-colors" in res.command
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(res.command)[1:] + ["--quiet"]) == 0
    cli = np.asarray(Image.open(tmp_path / "result.png"), dtype=np.float32)
    web = np.asarray(res.image, dtype=np.float32)
    assert cli.shape == web.shape
    assert np.abs(cli - web).mean() < 1.0  # same maths; only thread-order rounding may differ


def test_artistic_cancel_and_timeout():
    with pytest.raises(JobCancelled):
        modes.artistic(_photo(), [("starry_night", 1.0)], size=64, iterations=50, should_stop=lambda: True)
    with pytest.raises(JobTimeout):
        modes.artistic(_photo(), [("starry_night", 1.0)], size=64, iterations=50, deadline=0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"styles": [("../../etc/passwd", 1.0)]}, "unknown style"),
        ({"styles": [("/etc/hosts", 1.0)]}, "unknown style"),
        ({"styles": []}, "at least one style"),
        ({"styles": [("starry_night", 0.0)]}, "not all zero"),
        ({"preset": "turbo"}, "unknown preset"),
        ({"size": 10_000}, "image-size"),
        ({"strength": 0.0}, "strength"),
    ],
)
def test_artistic_bad_inputs(kwargs, match):
    args = {"styles": [("starry_night", 1.0)], "size": 64, "iterations": 1, **kwargs}
    with pytest.raises(InputError, match=match):
        modes.artistic(_photo(), **args)


@pytest.fixture(scope="module")
def pix2pix_weights(tmp_path_factory) -> Path:
    from styleforge.engine import export_safetensors
    from styleforge.gan.pix2pix import Pix2Pix, Pix2PixConfig

    cfg = Pix2PixConfig(netG="unet_32", ngf=4, lambda_gan=0.0, dropout=False)
    model = Pix2Pix(cfg, generator=torch.Generator().manual_seed(1))
    path = tmp_path_factory.mktemp("models") / "tiny_p2p.safetensors"
    export_safetensors(
        model.networks["G"].state_dict(),
        path,
        metadata={"kind": "pix2pix", "network": "G", "model_config": dataclasses.asdict(cfg)},
    )
    return path


def test_translate_matches_the_cli_translator(pix2pix_weights):
    from styleforge.gan.loading import load_translator
    from styleforge.io import resize_max_side, tensor_to_pil

    if modes.availability()["translate"]:
        pytest.fail("the translate engine is part of the package and must be available")
    img = _photo(100, 60)
    res = modes.translate(img, pix2pix_weights, checkpoint_label="tiny_p2p.safetensors", size=64)
    want = tensor_to_pil(load_translator(pix2pix_weights)(resize_max_side(img, 64)))
    assert res.image.size == (64, 38)
    assert np.array_equal(np.asarray(res.image), np.asarray(want))
    assert res.command == "styleforge translate photo.jpg --checkpoint MODELS/tiny_p2p.safetensors --size 64 -o out/"
    with pytest.raises(InputError):
        modes.translate(img, pix2pix_weights, checkpoint_label="x", direction="sideways")


class _Warm(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [-1, 1] → [-1, 1]: redder
        return torch.cat([(x[:, :1] + 0.5).clamp(-1, 1), x[:, 1:]], 1)


def test_makeup_on_a_face_and_no_face(tmp_path, sample_face):
    ckpt = tmp_path / "warm.pt2"
    torch.export.save(torch.export.export(_Warm(), (torch.zeros(1, 3, 256, 256),)), str(ckpt))
    face = Image.open(sample_face).convert("RGB")
    res = modes.makeup(face, ckpt, checkpoint_label="warm.pt2", strength=0.8)
    before, after = np.asarray(face, np.float32), np.asarray(res.image, np.float32)
    assert after.shape == before.shape
    assert (after[..., 0] - before[..., 0]).mean() > 2  # the face got redder
    assert res.command == "styleforge makeup add photo.jpg --checkpoint MODELS/warm.pt2 --strength 0.8 -o result.png"
    with pytest.raises(InputError, match="no face found"):
        modes.makeup(Image.new("RGB", (200, 150), (90, 90, 90)), ckpt, checkpoint_label="warm.pt2")
    with pytest.raises(InputError, match="strength"):
        modes.makeup(face, ckpt, checkpoint_label="warm.pt2", strength=2)


def test_photo_with_masks_progress_and_command():
    if modes.availability()["photo"]:
        pytest.fail("the photo engine is part of the package and must be available")
    content, style = _photo(64, 48), _photo(40, 40).transpose(Image.Transpose.ROTATE_90)
    top = Image.new("RGB", (64, 48), (255, 255, 255))
    top.paste((0, 0, 255), (0, 0, 64, 24))
    stop = Image.new("RGB", (40, 40), (255, 255, 255))
    stop.paste((0, 0, 255), (0, 0, 40, 20))
    seen: list[float] = []
    res = modes.photo(
        content,
        style,
        content_mask=top,
        style_mask=stop,
        size=64,
        iterations=2,
        smoothing="fast",
        on_progress=lambda f, m, p: seen.append(f),
        content_label="in.png",
        style_label="look.png",
        mask_labels=("in_mask.png", "look_mask.png"),
    )
    assert res.image.size == (64, 48)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    assert res.command == (
        "styleforge photo in.png look.png --method dpst --content-mask in_mask.png "
        "--style-mask look_mask.png --image-size 64 --iterations 2 --smooth fast --seed 0 -o result.png"
    )
    with pytest.raises(InputError, match="both masks"):
        modes.photo(content, style, content_mask=top, size=64, iterations=1)
    with pytest.raises(InputError, match="smoothing"):
        modes.photo(content, style, smoothing="blur", size=64, iterations=1)
    with pytest.raises(JobCancelled):
        modes.photo(content, style, size=64, iterations=50, should_stop=lambda: True)


def test_photo_fast_with_and_without_masks_gives_a_look(tmp_path):
    from styleforge.transfer.lut import read_cube

    content, style = _photo(96, 64), _photo(40, 40).transpose(Image.Transpose.ROTATE_90)
    top = Image.new("RGB", (96, 64), (255, 255, 255))
    top.paste((0, 0, 255), (0, 0, 96, 32))
    stop = Image.new("RGB", (40, 40), (255, 255, 255))
    stop.paste((0, 0, 255), (0, 0, 40, 20))
    res = modes.photo_fast(
        content,
        style,
        content_mask=top,
        style_mask=stop,
        size=64,
        content_label="in.png",
        style_label="look.png",
        mask_labels=("m.png", "s.png"),
        look_dir=tmp_path,
    )
    assert res.image.size == (64, 43)
    assert res.command == (
        "styleforge photo in.png look.png --content-mask m.png --style-mask s.png "
        "--image-size 64 --save-look look.cube -o result.png"
    )
    assert read_cube(res.file).size == 33
    plain = modes.photo_fast(content, style, size=1000, look_dir=tmp_path)  # no masks: automatic; never enlarged
    assert plain.image.size == (96, 64) and plain.file == tmp_path / "look.cube"
    with pytest.raises(InputError, match="both masks"):
        modes.photo_fast(content, style, content_mask=top)


def test_instant_per_style_and_own_style(instant_models):
    from styleforge.instant import InstantOptions, load_instant, stylize_instant

    avail = modes.availability(instant_models)
    assert avail["instant"] is None
    styles = modes.instant_styles(instant_models)
    assert styles["tiny_scream"] == "the_scream" and "starry_night" in styles  # AdaIN offers the paintings

    img = _photo(90, 60)
    res = modes.instant(img, style="tiny_scream", size=64, strength=0.5, models=instant_models)
    want = stylize_instant(
        img, load_instant([str(instant_models / "tiny.safetensors")]), InstantOptions(strength=0.5, size=64)
    )
    assert res.image.size == (64, 43)
    assert np.array_equal(np.asarray(res.image), np.asarray(want))
    assert res.command == (
        "styleforge instant photo.jpg --style INSTANT_MODELS/tiny.safetensors --strength 0.5 --size 64 -o result.png"
    )

    painting = modes.instant(img, style="starry_night", models=instant_models, original_colors=True)
    assert painting.image.size == (90, 60)  # not shrunk: smaller than the size limit
    assert painting.command == "styleforge instant photo.jpg --style starry_night --original-colors -o result.png"
    mine = modes.instant(img, style_image=_photo(30, 30).rotate(90), style_label="mine.png", models=instant_models)
    assert mine.image.size == (90, 60) and "--style mine.png" in mine.command
    assert "--adain-decoder INSTANT_MODELS/decoder.safetensors" in mine.command  # the folder's decoder, not a built-in
    assert not np.array_equal(np.asarray(mine.image), np.asarray(painting.image))

    with pytest.raises(InputError, match="unknown instant style"):
        modes.instant(img, style="../../etc/passwd", models=instant_models)
    with pytest.raises(InputError, match="strength"):
        modes.instant(img, style="tiny_scream", strength=3, models=instant_models)


def test_instant_polish_and_builtin_wct_for_own_style(instant_models):
    img = _photo(72, 48)
    polished = modes.instant(img, style="tiny_scream", size=48, models=instant_models, refine=5)
    plain = modes.instant(img, style="tiny_scream", size=48, models=instant_models)
    assert polished.image.size == plain.image.size == (48, 32)
    assert polished.command.endswith("--size 48 --refine 5 -o result.png")
    if any(e.kind == "wct" for e in modes._instant_entries(None).values()):
        mine = modes.instant(img, style_image=_photo(30, 30), style_label="mine.png")  # the built-in WCT network
        assert mine.command == "styleforge instant photo.jpg --style mine.png -o result.png"
        assert modes._arbitrary_files(None)[-1].name == "wct.safetensors"
        assert modes._arbitrary_files(instant_models)[-1].name == "decoder.safetensors"  # the folder's wins


def test_unavailable_modes_say_so():
    avail = modes.availability()
    for mode, call in (
        ("instant", lambda: modes.instant(_photo(), style="starry_night")),
        ("photo", lambda: modes.photo(_photo(), _photo())),
    ):
        if avail[mode] is None:
            continue  # landed: covered by its own tests below
        with pytest.raises(modes.ModeUnavailable, match="not available in this install"):
            call()


def test_makeup_by_example_needs_no_model(face_models, face_fixture):
    img, ref = face_fixture("astronaut")
    h, w = img.shape[:2]
    from styleforge.faces.regions import region_masks

    m = region_masks(ref["mesh"][0][:, :2] * (w, h), (h, w), ("lips",))["lips"][..., None]
    made_up = Image.fromarray(
        np.clip(img * (1 - 0.8 * m) + 0.8 * m * np.array([200, 20, 40]) + 0.5, 0, 255).astype(np.uint8)
    )
    target = Image.fromarray(face_fixture("two_faces")[0])
    res = modes.makeup_by_example(target, made_up, regions=["lips"], strength=0.8, reference_label="red.png")
    assert (
        res.command
        == "styleforge makeup transfer photo.jpg --reference red.png --regions lips --strength 0.8 -o result.png"
    )
    assert res.info.startswith("2 faces") and res.image.size == target.size
    assert np.abs(np.asarray(res.image).astype(int) - np.asarray(target).astype(int)).max() > 20
    removed = modes.makeup_by_example(made_up, None, action="remove", regions=["lips"])
    assert removed.command.startswith("styleforge makeup remove photo.jpg --regions lips")
    with pytest.raises(InputError, match="no face found in the reference"):
        modes.makeup_by_example(target, Image.new("RGB", (200, 150), (90, 90, 90)))
    with pytest.raises(InputError, match="no face found in this photo"):
        modes.makeup_by_example(Image.new("RGB", (200, 150), (90, 90, 90)), made_up)
    with pytest.raises(InputError, match="reference photo"):
        modes.makeup_by_example(target, None)
