"""``--refine N``: the instant result polished by N Gatys evaluations on EfficientNet-Lite0."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from styleforge.cli.main import main
from styleforge.errors import InputError
from styleforge.instant.refine import refine, style_image_for


def test_style_image_for_built_in_networks_and_images(tmp_path) -> None:  # noqa: ANN001
    assert style_image_for("starry_night").name == "starry_night.jpg"  # the painting recorded with the network
    assert style_image_for("shipwreck").name == "shipwreck.jpg"  # a built-in painting (arbitrary network)
    w = tmp_path / "T.safetensors"
    w.write_bytes(b"")
    with pytest.raises(InputError, match="--refine-style"):
        style_image_for(str(w))


def test_refine_moves_towards_the_style_and_keeps_the_size(one_thread) -> None:  # noqa: ANN001
    rng = np.random.default_rng(0)
    photo = Image.fromarray(np.full((40, 56, 3), 128, np.uint8))
    style = Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8))
    out = refine(photo, photo, style, iterations=5)
    assert out.size == photo.size
    assert np.asarray(out, dtype=float).std() > np.asarray(photo, dtype=float).std()  # texture appeared
    assert refine(photo, photo, style, iterations=0) is photo
    with pytest.raises(InputError, match="--refine"):
        refine(photo, photo, style, iterations=-1)


def test_cli_refine_and_its_bad_input(tmp_path, capsys, one_thread) -> None:  # noqa: ANN001
    out = tmp_path / "r.png"
    assert (
        main(
            ["stylize", "tubingen", "--instant", "starry_night", "--image-size", "64", "--refine", "2", "-o", str(out)]
        )
        == 0
    )
    assert Image.open(out).size == (64, 48)
    bad = tmp_path / "bad.png"
    assert main(["instant", "tubingen", "--style", "starry_night", "--refine", "-1", "-o", str(bad)]) == 2
    assert main(["instant", "tubingen", "--style", "starry_night", "--refine-style", "shipwreck", "-o", str(bad)]) == 2
    assert (
        main(
            ["instant", "tubingen", "--style", "starry_night", "--style", "the_scream", "--refine", "3", "-o", str(bad)]
        )
        == 2
    )
    assert not bad.exists()
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "Traceback" not in err
