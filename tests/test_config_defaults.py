"""Each mode's configuration is the same whichever front end builds it, and equals the config's own defaults.

One function per front end returns the configuration that front end would run with for the
user's options; a test per mode compares them.  To add a front end (the web page), add its
builder to that mode's entry of :data:`FRONT_ENDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from styleforge.cli.main import build_parser
from styleforge.transfer.config import DoodleConfig, FastConfig, GatysConfig, PhotoConfig


def _photo() -> Image.Image:
    return Image.new("RGB", (48, 32), (120, 90, 60))


# -- the command line: parse argv as `styleforge ...` does, build the config as the command does ----------
def cli_gatys(*argv: str) -> GatysConfig:
    from styleforge.cli.stylize import config_from_args

    return config_from_args(build_parser().parse_args(["stylize", "x.jpg", "--style", "s.jpg", "-o", "o.png", *argv]))


def cli_photo(*argv: str) -> PhotoConfig:
    from styleforge.cli.photo import photo_config_from_args

    return photo_config_from_args(
        build_parser().parse_args(["photo", "a.jpg", "b.jpg", "-o", "o.png", "--method", "dpst", *argv])
    )


def cli_fast(*argv: str) -> FastConfig:
    from styleforge.cli.photo import fast_config_from_args

    return fast_config_from_args(build_parser().parse_args(["photo", "a.jpg", "b.jpg", "-o", "o.png", *argv]))


def cli_doodle(*argv: str) -> DoodleConfig:
    from styleforge.cli.doodle import config_from_args

    return config_from_args(
        build_parser().parse_args(
            ["doodle", "--style", "s.jpg", "--style-map", "m.png", "--target-map", "t.png", "-o", "o.png", *argv]
        )
    )


# -- the Python API: run the public function up to the optimisation and catch the config it passes --------
def api_gatys(monkeypatch: pytest.MonkeyPatch, **options: Any) -> GatysConfig:
    import styleforge
    import styleforge.api

    seen: list[GatysConfig] = []

    def fake(content: Any, styles: Any, cfg: GatysConfig, **kw: Any) -> str:
        seen.append(cfg)
        return "result"

    monkeypatch.setattr(styleforge.api, "stylize_tensor", fake)
    assert styleforge.stylize(_photo(), _photo(), return_result=True, **options) == "result"
    return seen[0]


def api_photo(monkeypatch: pytest.MonkeyPatch, **options: Any) -> PhotoConfig:
    from styleforge.transfer import photoreal

    seen: list[PhotoConfig] = []

    def fake(content: Any, style: Any, cfg: PhotoConfig, **kw: Any) -> str:
        seen.append(cfg)
        return "result"

    monkeypatch.setattr(photoreal, "photo_transfer", fake)
    assert photoreal.photo_stylize(_photo(), _photo(), auto_masks=False, return_result=True, **options) == "result"
    return seen[0]


# -- the web page: the tab's adapter (styleforge.web.modes) up to the optimisation, the page's choices --------
class _Caught(Exception):
    """Raised by a stand-in optimisation once it has the configuration."""


def _catch(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, seen: list[Any], run: Callable[[], Any]) -> Any:
    def fake(content: Any, style: Any, cfg: Any, **kw: Any) -> None:
        seen.append(cfg)
        raise _Caught

    monkeypatch.setattr(module, name, fake)
    with pytest.raises(_Caught):
        run()
    return seen[0]


def web_gatys(monkeypatch: pytest.MonkeyPatch, **options: Any) -> GatysConfig:
    from styleforge.transfer import gatys
    from styleforge.web import modes

    monkeypatch.setattr(modes, "_gatys_net", lambda backbone, device: None)
    preset = "fast" if options.pop("backbone", None) == "effnet-lite0" else "balanced"
    size, seed = options.pop("image_size", GatysConfig().image_size), options.pop("seed", None)
    iterations = options.pop("iterations", None)
    return _catch(
        monkeypatch,
        gatys,
        "stylize_tensor",
        [],
        lambda: modes.artistic(
            _photo(),
            [(_photo(), 1.0)],
            preset=preset,
            size=size,
            seed=seed,
            iterations=iterations,
            device=GatysConfig().device,
            config=options,
        ),
    )


def web_photo(monkeypatch: pytest.MonkeyPatch, **options: Any) -> PhotoConfig:
    from styleforge.transfer import automask, photoreal
    from styleforge.web import modes

    monkeypatch.setattr(modes, "_gatys_net", lambda backbone, device: None)
    monkeypatch.setattr(automask, "prepare_masks", lambda *a, **kw: None)
    smooth = options.pop("smooth", PhotoConfig().smooth)
    size, seed = options.pop("image_size", GatysConfig().image_size), options.pop("seed", None)
    return _catch(
        monkeypatch,
        photoreal,
        "photo_transfer",
        [],
        lambda: modes.photo(
            _photo(),
            _photo(),
            smoothing="off" if smooth == "none" else smooth,
            size=size,
            seed=seed,
            device=GatysConfig().device,
            config=options,
        ),
    )


#: mode → front end → builder(monkeypatch, cli argv, api options) → config
Builder = Callable[[pytest.MonkeyPatch, tuple[str, ...], dict[str, Any]], Any]
FRONT_ENDS: dict[str, dict[str, Builder]] = {
    "gatys": {
        "cli": lambda mp, argv, kw: cli_gatys(*argv),
        "api": lambda mp, argv, kw: api_gatys(mp, **kw),
        "web": lambda mp, argv, kw: web_gatys(mp, **kw),
    },
    "photo": {
        "cli": lambda mp, argv, kw: cli_photo(*argv),
        "api": lambda mp, argv, kw: api_photo(mp, **kw),
        "web": lambda mp, argv, kw: web_photo(mp, **kw),
    },
    "fast": {"cli": lambda mp, argv, kw: cli_fast(*argv)},
    "doodle": {"cli": lambda mp, argv, kw: cli_doodle(*argv)},
}


def built(mode: str, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    return {name: build(monkeypatch, argv, kw) for name, build in FRONT_ENDS[mode].items()}


def test_gatys_defaults_are_the_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    got = built("gatys", monkeypatch)
    assert got == {name: GatysConfig() for name in got}
    assert GatysConfig().stage_iterations() == (160, 80, 40) and GatysConfig().amp == "auto"
    assert GatysConfig().scale_detail == 1.0


def test_gatys_effnet_schedule_is_the_backbones_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from styleforge.transfer.gatys import plan_stages

    got = built("gatys", monkeypatch, ("--backbone", "effnet-lite0"), backbone="effnet-lite0")
    assert got == {name: GatysConfig(backbone="effnet-lite0") for name in got}
    for cfg in got.values():  # 48 + 24 + 12 evaluations, not 300 per scale
        assert [s.iterations for s in plan_stages(cfg, (384, 512))] == [48, 24, 12]


def test_gatys_user_options_reach_the_config_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    got = built(
        "gatys",
        monkeypatch,
        ("--iterations", "7", "--amp", "none", "--scales", "0.5,1", "--seed", "3"),
        iterations=7,
        amp="none",
        scales=[0.5, 1.0],
        seed=3,
    )
    assert got == {name: GatysConfig(iterations=7, amp="none", scales=(0.5, 1.0), seed=3) for name in got}


def test_photo_defaults_are_the_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    got = built("photo", monkeypatch)
    assert got == {name: PhotoConfig() for name in got}
    cfg = PhotoConfig()  # the optimisation defaults of artistic transfer, not 3 × 300 evaluations in fp32
    assert cfg.gatys == GatysConfig() and cfg.gatys.stage_iterations() == (160, 80, 40) and cfg.stage2() == 280


def test_photo_user_options_reach_the_config_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    got = built(
        "photo",
        monkeypatch,
        ("--lambda", "50", "--smooth", "fast", "--image-size", "256"),
        photo_weight=50.0,
        smooth="fast",
        image_size=256,
    )
    want = PhotoConfig(gatys=GatysConfig(image_size=256), photo_weight=50.0, smooth="fast")
    assert got == {name: want for name in got}


def test_fast_photo_defaults_are_the_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    got = built("fast", monkeypatch)
    assert got == {name: FastConfig() for name in got}
    got = built("fast", monkeypatch, ("--smooth", "none", "--work-size", "128"))
    assert got == {name: FastConfig(smooth="none", work_size=128) for name in got}


def test_doodle_defaults_are_the_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    got = built("doodle", monkeypatch)
    assert got == {name: DoodleConfig() for name in got}
    got = built("doodle", monkeypatch, ("--iterations", "9"))
    assert got == {name: DoodleConfig(iterations=9) for name in got}
