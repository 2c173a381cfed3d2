"""The Instant tab's stroke-size control (``--style-scale``): the library's default, and it reaches the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from styleforge.cli.main import build_parser
from styleforge.instant.options import MAX_STYLE_SCALE, MIN_STYLE_SCALE, InstantOptions


@pytest.fixture
def ctx(web_settings: Any) -> Any:
    from styleforge.web.common import make_context

    return make_context(web_settings)


def test_the_slider_spans_the_librarys_range_and_starts_at_its_default() -> None:
    from styleforge.web.tabs.instant import stroke_size_range

    cli = build_parser().parse_args(["instant", "x.jpg", "--style", "starry_night", "-o", "o.png"])
    assert stroke_size_range() == (MIN_STYLE_SCALE, MAX_STYLE_SCALE, InstantOptions().style_scale)
    assert cli.style_scale == InstantOptions().style_scale


def test_the_page_shows_the_slider(web_settings: Any) -> None:
    from styleforge.web import create_app

    demo = create_app(web_settings)
    found = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "instant-style-scale"]
    assert len(found) == 1
    slider = found[0]
    assert (slider.minimum, slider.maximum, slider.value) == (
        MIN_STYLE_SCALE,
        MAX_STYLE_SCALE,
        InstantOptions().style_scale,
    )
    clicks = [d for d in demo.fns.values() if d.api_name == "instant_page"]
    assert clicks and slider in clicks[0].inputs  # wired to the Stylise button
    # the API's "instant" keeps its five inputs (earlier Gradio-client callers)
    api = [d for d in demo.fns.values() if d.api_name == "instant"]
    assert api and slider not in api[0].inputs and len(api[0].inputs) == 5


def test_the_stroke_size_reaches_the_run_and_the_command(
    ctx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import styleforge.instant.infer as infer
    from styleforge.web.tabs import instant

    seen: list[InstantOptions] = []
    real = infer.stylize_instant

    def spy(image: Any, model: Any, opts: InstantOptions = InstantOptions(), **kw: Any) -> Any:
        seen.append(opts)
        return real(image, model, opts, **kw)

    monkeypatch.setattr(infer, "stylize_instant", spy)
    photo = tmp_path / "p.jpg"
    Image.new("RGB", (96, 64), (120, 90, 60)).save(photo)
    run = instant.handlers(ctx)["run"]
    out = run(str(photo), "tiny_scream", None, 1.0, False, 2.0)
    assert "Done" in str(out[1]), out
    assert seen[-1].style_scale == 2.0 and "--style-scale 2" in out[2]
    assert build_parser().parse_args(out[2].split()[1:]).style_scale == 2.0
    out = run(str(photo), "tiny_scream", None, 1.0, False)  # the default: no flag in the command
    assert seen[-1].style_scale == InstantOptions().style_scale and "--style-scale" not in out[2]
