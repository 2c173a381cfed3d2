"""The Python API (``styleforge.stylize``) with tiny budgets: real optimisation, checked results."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import styleforge
from styleforge.assets import builtin_styles
from styleforge.errors import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_stylize_lowers_the_loss_and_takes_the_style_colours():
    tiny = dict(image_size=48, iterations=12, scales=(1.0,), seed=0, init="content")
    res = styleforge.stylize("tubingen", "starry_night", return_result=True, **tiny)
    assert res.image.shape == (1, 3, 36, 48) and res.evaluations >= 8
    assert res.history[-1] < 0.5 * res.history[0]  # L-BFGS did its work
    img = styleforge.stylize("tubingen", builtin_styles()["starry_night"], **tiny)  # a path works too
    assert isinstance(img, Image.Image) and img.size == (48, 36)
    photo = np.asarray(
        Image.open(builtin_styles()["starry_night"].parents[1] / "content" / "tubingen.jpg")
        .convert("RGB")
        .resize(img.size),
        np.float32,
    )
    style = np.asarray(Image.open(builtin_styles()["starry_night"]).convert("RGB"), np.float32)
    out = np.asarray(img, np.float32)
    blue = lambda a: float(a[..., 2].mean() - a[..., 0].mean())  # noqa: E731 - The Starry Night is blue
    assert blue(style) > 20 and blue(out) > blue(photo) + 5


def test_stylize_keeps_original_colours_and_refuses_unknown_options():
    tiny = dict(image_size=40, iterations=6, scales=(1.0,), seed=0)
    img = np.asarray(styleforge.stylize("tubingen", "the_scream", original_colors=True, **tiny), np.float32)
    assert img.shape == (30, 40, 3) and img.std() > 5
    with pytest.raises(InputError, match="unknown option.*imagesize"):
        styleforge.stylize("tubingen", "the_scream", imagesize=40)
