"""``styleforge doodle``: a painting, its colour map and a new doodle → a picture of the doodle."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from styleforge.assets import builtin_styles
from styleforge.cli.main import main

pytestmark = pytest.mark.usefixtures("one_thread")


def _map(size: tuple[int, int], split: float, *, vertical: bool) -> Image.Image:
    """Two regions: blue (sky) before ``split`` of the width/height, green after."""
    w, h = size
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 1] = 255
    if vertical:
        arr[:, : round(w * split)] = (0, 0, 255)
    else:
        arr[: round(h * split)] = (0, 0, 255)
    return Image.fromarray(arr)


def test_doodle_paints_each_region_from_its_part_of_the_painting(tmp_path, capsys):
    # a collage: The Scream's orange sky above The Starry Night's blue sky, and its map
    style = Image.new("RGB", (64, 52))
    style.paste(
        Image.open(builtin_styles()["the_scream"]).convert("RGB").crop((0, 0, 800, 330)).resize((64, 26)), (0, 0)
    )
    style.paste(
        Image.open(builtin_styles()["starry_night"]).convert("RGB").crop((0, 0, 800, 330)).resize((64, 26)), (0, 26)
    )
    style.save(tmp_path / "style.png")
    _map(style.size, 0.5, vertical=False).save(tmp_path / "style_map.png")  # blue region above, green below
    target = _map((48, 48), 0.5, vertical=True)  # the doodle: blue region left, green region right
    target.save(tmp_path / "doodle.png")
    out = tmp_path / "out.png"
    argv = [
        "doodle",
        "--style",
        str(tmp_path / "style.png"),
        "--style-map",
        str(tmp_path / "style_map.png"),
        "--target-map",
        str(tmp_path / "doodle.png"),
        "-o",
        str(out),
        "--image-size",
        "48",
        "--iterations",
        "20",
        "--seed",
        "0",
        "-q",
    ]
    assert main(argv) == 0
    img = np.asarray(Image.open(out).convert("RGB"), np.float32)
    assert img.shape == (48, 48, 3)
    warmth = lambda a: float(a[..., 0].mean() - a[..., 2].mean())  # noqa: E731 - red minus blue
    s = np.asarray(style, np.float32)
    assert warmth(s[:26]) > 100 and warmth(s[26:]) < -50  # orange above, blue below
    # each side of the doodle takes the colours of its region of the painting: the left (mapped to
    # the orange sky) is warmer than the right (mapped to the blue one)
    assert warmth(img[:, :20]) > warmth(img[:, 28:]) + 15
    # a map with another aspect ratio than the painting: one line, exit 2, nothing written
    _map((40, 40), 0.5, vertical=False).save(tmp_path / "bad_map.png")
    bad = tmp_path / "bad.png"
    assert main([*argv[:4], str(tmp_path / "bad_map.png"), *argv[5:7], "-o", str(bad), *argv[9:]]) == 2
    assert "aspect ratio" in capsys.readouterr().err and not bad.exists()
