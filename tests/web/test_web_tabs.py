"""The tabs' handlers without a browser: the bad-input matrix, downloads, Cancel, live progress.

Each tab module (``styleforge.web.tabs.*``) gives its event functions through ``handlers(ctx)``;
these tests call them as Gradio would, with uploaded files' paths and a stand-in request.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import shlex
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "video"))
from videoclips import pan_frames, write_clip  # noqa: E402

BAD_WORDS = re.compile(r"Traceback|\b\w+(Error|Exception)\b|/tmp|/work|--[a-z]")


def _request(session: str = "s1") -> Any:
    return SimpleNamespace(session_hash=session)


def _photo(w: int = 96, h: int = 72, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    arr = (rng.integers(0, 255, (1, 1, 3)) + np.stack([x * 3, y * 2, x + y], -1)) % 256
    return Image.fromarray(arr.astype(np.uint8))


@pytest.fixture(scope="module")
def ctx(web_settings):
    from styleforge.web.common import make_context

    return make_context(web_settings)


@pytest.fixture(scope="module")
def files(tmp_path_factory, web_settings) -> dict[str, Path]:
    """The CLI's bad inputs, as uploads: text named .jpg, 1×1, huge, 16-bit PNG, CMYK JPEG, fake and long clips."""
    d = tmp_path_factory.mktemp("uploads")
    out = {
        "good": d / "in20.jpg",
        "text": d / "holiday.jpg",
        "tiny": d / "dot.png",
        "huge": d / "wide.png",
        "png16": d / "deep.png",
        "cmyk": d / "print.jpg",
        "fake_mp4": d / "film.mp4",
        "long_mp4": d / "long.mp4",
        "clip": d / "clip.mp4",
    }
    _photo().save(out["good"], quality=95)
    out["text"].write_text("Dear diary, this is not a picture.\n" * 20)
    Image.new("RGB", (1, 1), (200, 30, 30)).save(out["tiny"])
    side = int((web_settings.limits.max_pixels * 1.5) ** 0.5)
    Image.new("RGB", (side, side), (10, 20, 30)).save(out["huge"])
    arr16 = (np.indices((72, 96)).sum(0) * 400).astype(np.uint16)
    Image.fromarray(arr16).save(out["png16"])
    assert Image.open(out["png16"]).mode.startswith("I")
    _photo(96, 72, 3).convert("CMYK").save(out["cmyk"], quality=95)
    out["fake_mp4"].write_bytes(b"\x00\x00\x00\x18ftypisom" + b"not really a film " * 50)
    n_long = int(web_settings.limits.max_video_seconds * 10) + 10  # 10 fps
    write_clip(out["long_mp4"], pan_frames(n_long, size=(32, 24)))
    write_clip(out["clip"], pan_frames(6))
    return out


def _last(results: Any) -> tuple[Any, ...]:
    """The final outputs of a handler (a tuple, or the last update of a generator)."""
    if isinstance(results, tuple):
        return results
    updates = list(results)
    assert updates
    return updates[-1]


def _message(out: tuple[Any, ...]) -> str:
    status = str(out[1])
    assert not BAD_WORDS.search(status), f"the page would show {status!r}"
    return status


# --------------------------------------------------------------------------- structure
def test_create_app_only_assembles_the_tabs():
    from styleforge.web import app
    from styleforge.web.tabs import TABS

    lines = inspect.getsource(app.create_app).splitlines()
    assert len(lines) <= 100, len(lines)
    assert len(inspect.getsource(app).splitlines()) <= 100
    import importlib

    for module, _title in TABS:
        tab = importlib.import_module(f"styleforge.web.tabs.{module}")
        assert callable(tab.build) and callable(tab.handlers), module


def test_availability_follows_the_installed_packages(monkeypatch, web_settings):
    """A mode whose optional package is missing is reported, and its tab says so instead of its controls."""
    import importlib.util

    from conftest import free_port

    from styleforge.web import create_app, modes

    real = importlib.util.find_spec
    assert modes.availability(web_settings.instant_models) == {m: None for m in modes.MODES}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("av", "cv2") else real(name, *a))
    avail = modes.availability(web_settings.instant_models)
    assert "PyAV" in avail["video"] and "opencv" in avail["makeup"]
    assert avail["artistic"] is None and avail["instant"] is None
    with pytest.raises(modes.ModeUnavailable, match="needs opencv"):
        modes.makeup_by_example(_photo(), None, action="remove")
    demo = create_app(dataclasses.replace(web_settings, port=free_port()))
    try:
        cfg = demo.get_config_file()
        apis = {d.get("api_name") for d in cfg["dependencies"]}
        assert "video" not in apis and "makeup_transfer" not in apis and "artistic" in apis
        texts = " ".join(str(c.get("props", {}).get("value", "")) for c in cfg["components"])
        assert "needs PyAV" in texts and "needs opencv" in texts
    finally:
        demo.close()


def test_web_builds_the_library_configuration():
    """The page's Gatys settings are the library's: only what the page sets differs from GatysConfig()."""
    from styleforge.transfer.gatys import GatysConfig
    from styleforge.web import modes

    seen: dict[str, Any] = {}
    import styleforge.transfer.gatys as g

    real = g.stylize_tensor

    def spy(content, styles, cfg, **kw):
        seen["cfg"] = cfg
        return real(content, styles, cfg, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(g, "stylize_tensor", spy)
    try:
        modes.artistic(_photo(64, 48), [("starry_night", 1.0)], size=64, preset="balanced", iterations=1)
    finally:
        mp.undo()
    cfg, base = seen["cfg"], GatysConfig()
    differ = {f.name for f in dataclasses.fields(GatysConfig) if getattr(cfg, f.name) != getattr(base, f.name)}
    assert differ <= {"image_size", "iterations", "scales", "backbone", "seed", "device", "style_weight"}, differ
    assert cfg.amp == base.amp and cfg.scale_detail == base.scale_detail


# --------------------------------------------------------------------------- bad inputs
IMAGE_CASES = {  # upload → what the tab says (None: accepted)
    "text": "is not an image",
    "tiny": "only 1×1 pixels",
    "huge": "too large",
    "png16": None,
    "cmyk": None,
}


def _tab_call(tab: str, ctx: Any, photo: str) -> tuple[Any, ...]:
    from styleforge.web.tabs import artistic, instant, makeup, translate
    from styleforge.web.tabs import photo as photo_tab

    if tab == "instant":
        return _last(instant.handlers(ctx)["run"](photo, "tiny_scream", None, 1.0, False))
    if tab == "artistic":
        return _last(
            artistic.handlers(ctx)["run"](
                photo, "starry_night", 1.0, "(none)", 1.0, "(none)", 1.0, None, "fast", 64, 1.0, False, 1, _request()
            )
        )
    if tab == "photo":
        return _last(photo_tab.handlers(ctx)["run"](photo, photo, None, None, 64, 1.0))
    if tab == "photo_dpst":
        return _last(photo_tab.handlers(ctx)["run_dpst"](photo, photo, None, None, "off", 64, 1, _request()))
    if tab == "translate":
        return _last(translate.handlers(ctx)["run"](photo, "tiny/p2p.safetensors", "auto", 64, None))
    if tab == "makeup":
        return _last(makeup.handlers(ctx)["remove"](photo, None, ["lips"], 1.0))
    raise AssertionError(tab)


@pytest.mark.parametrize("tab", ["instant", "artistic", "photo", "photo_dpst", "translate", "makeup"])
@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_bad_images_get_the_pages_words(tab, case, ctx, files, face_models):
    out = _tab_call(tab, ctx, str(files[case]))
    msg = _message(out)
    expected = IMAGE_CASES[case]
    if expected is None:  # converted and used (makeup: no face in a gradient, said plainly)
        assert "Done" in msg or (tab == "makeup" and "No face found" in msg), msg
    else:
        assert msg.startswith("⚠") and expected in msg, msg
        assert files[case].name in msg or case == "huge", msg


@pytest.mark.parametrize("case", list(IMAGE_CASES) + ["fake_mp4"])
def test_uploads_are_checked_when_they_arrive(case, ctx, files):
    from styleforge.web.common import check_upload

    msg = check_upload(str(files[case]), ctx.limits, what="photo")
    assert not BAD_WORDS.search(msg), msg
    expected = IMAGE_CASES.get(case, "is not an image")
    assert (msg == "") if expected is None else (expected in msg), msg


@pytest.mark.parametrize(
    "case, expected",
    [
        ("fake_mp4", "is not a video we can read"),
        ("text", "is not a video we can read"),
        ("long_mp4", "takes clips up to"),
        ("clip", None),
    ],
)
def test_video_tab_checks_clips_at_upload_and_on_run(case, expected, ctx, files, tmp_path):
    from styleforge.web.tabs import video

    h = video.handlers(ctx, tmp_path)
    cleared, msg = h["check_clip"](str(files[case]))
    assert not BAD_WORDS.search(msg), msg
    out = _last(h["run"](str(files[case]), "instant", "starry_night", None, 64, 0.0, _request()))
    status = _message(out)
    if expected is None:
        assert msg == "" and "Done" in status, (msg, status)
        assert out[3].endswith(".mp4") and Path(out[3]).is_file()
    else:
        assert cleared is None and expected in msg and files[case].name in msg, msg
        assert expected in status and "--" not in status, status


def test_video_tab_takes_an_uploaded_style(ctx, files, tmp_path):
    from styleforge.web.common import OWN
    from styleforge.web.tabs import video

    own = tmp_path / "my_look.png"
    _photo(64, 64, 9).save(own)
    out = _last(video.handlers(ctx, tmp_path)["run"](str(files["clip"]), "photo", OWN, str(own), 64, 0.0, _request()))
    assert "Done" in _message(out)
    assert out[2] == "styleforge video clip.mp4 --photo-style my_look.png --size 64 --no-consistency -o out.mp4"


def test_errors_never_show_paths_flags_or_class_names():
    from styleforge.errors import InputError
    from styleforge.web.common import page_message

    assert (
        page_message(InputError("the clip is 14.0 s long; the limit is 10 s (use --start/--duration)"))
        == "The clip is 14.0 s long; the limit is 10 s"
    )
    assert (
        page_message(InputError("input /tmp/gradio/abc123/film.mp4 is not a video"))
        == "Input 'film.mp4' is not a video"
    )
    msg = page_message(RuntimeError("max_pool2d: output size is too small at /work/x.py"))
    assert "RuntimeError" not in msg and "/" not in msg and "try again" in msg


# --------------------------------------------------------------------------- phone photos
def test_heic_is_accepted_and_12_megapixels_are_resized(web_settings, tmp_path):
    import pillow_heif

    from styleforge.io import register_heif
    from styleforge.web.common import make_context
    from styleforge.web.limits import Limits
    from styleforge.web.tabs import instant

    assert register_heif()
    heic = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(_photo(120, 90)).save(str(heic), quality=90)
    big = tmp_path / "phone.jpg"
    _photo(4000, 3000).save(big, quality=80)  # 12 MP, a few MB
    ctx = make_context(dataclasses.replace(web_settings, limits=Limits(max_side=1024)))
    run = instant.handlers(ctx)["run"]
    out = run(str(heic), "tiny_scream", None, 1.0, False)
    assert "Done" in _message(out) and Image.open(out[0]).size == (120, 90)
    out = run(str(big), "tiny_scream", None, 1.0, False)
    assert "Done" in _message(out) and Image.open(out[0]).size == (1024, 768)


# --------------------------------------------------------------------------- downloads
def test_downloads_are_named_pngs_with_the_command_and_no_exif(ctx, files, tmp_path):
    from styleforge.cli.main import build_parser
    from styleforge.web.tabs import artistic, instant

    photo = tmp_path / "in20.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (48.0, 31.0, 12.0)}  # GPS
    _photo().save(photo, exif=exif.tobytes())
    assert Image.open(photo).getexif().get(0x010F) == "PhoneMaker"
    out = _last(
        artistic.handlers(ctx)["run"](
            str(photo), "the_scream", 1.0, "(none)", 1.0, "(none)", 1.0, None, "fast", 64, 1.0, False, 2, _request()
        )
    )
    assert "Done" in _message(out)
    path, command = Path(out[0]), out[2]
    assert path.name == "in20_the_scream.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(path)
    assert img.format == "PNG" and "exif" not in img.info and not img.getexif()
    assert b"PhoneMaker" not in path.read_bytes() and b"GPS" not in path.read_bytes()
    chunk = img.text["styleforge:command"]
    assert chunk == command
    parser = build_parser()
    assert vars(parser.parse_args(shlex.split(chunk)[1:])) == vars(parser.parse_args(shlex.split(command)[1:]))
    out = instant.handlers(ctx)["run"](str(photo), "tiny_scream", None, 1.0, False)
    assert Path(out[0]).name == "in20_instant_tiny_scream.png"
    assert Image.open(out[0]).text["styleforge:command"] == out[2]


# --------------------------------------------------------------------------- long jobs
def _drive(gen: Any, *, on_update: Any = None) -> list[tuple[float, tuple[Any, ...]]]:
    seen = []
    for upd in gen:
        seen.append((time.monotonic(), upd))
        if on_update is not None:
            on_update(upd)
    return seen


@pytest.mark.parametrize("tab", ["artistic", "photo_dpst", "video"])
def test_cancel_ends_in_a_clear_cancelled_state(tab, ctx, files, tmp_path):
    from styleforge.web.tabs import artistic, photo, video

    if tab == "artistic":
        h = artistic.handlers(ctx)
        gen = h["run"](
            str(files["good"]),
            "starry_night",
            1.0,
            "(none)",
            1.0,
            "(none)",
            1.0,
            None,
            "balanced",
            128,
            1.0,
            False,
            500,
            _request(tab),
        )
    elif tab == "photo_dpst":
        h = photo.handlers(ctx)
        gen = h["run_dpst"](str(files["good"]), str(files["cmyk"]), None, None, "fast", 128, 500, _request(tab))
    else:
        h = video.handlers(ctx, tmp_path)
        gen = h["run"](str(_clip(tmp_path, 80)), "gatys", "starry_night", None, 64, 0.5, _request(tab))
    before = set(ctx.downloads().rglob("*.png"))
    answer: list[tuple[Any, ...]] = []

    def on_update(upd: tuple[Any, ...]) -> None:  # Cancel once the job has really started
        if not answer and re.search(r"(step|frame) [1-9]", str(upd[1])):
            answer.append(h["cancel"](_request(tab)))

    seen = _drive(gen, on_update=on_update)
    assert answer, [u[1] for _, u in seen][:5]
    assert answer[0][0] is None and answer[0][1].startswith("**Cancelled.**"), answer
    last = seen[-1][1]
    assert last[0] is None and "Cancelled" in last[1] and last[2] == ""
    assert not any(t.name == "styleforge-job" and t.is_alive() for t in threading.enumerate())
    assert set(ctx.downloads().rglob("*.png")) == before, "a half-done picture was kept"
    assert h["cancel"](_request(tab))[1] == "Nothing to cancel."


def _clip(tmp_path: Path, n: int) -> Path:
    p = tmp_path / f"clip{n}.mp4"
    if not p.exists():
        write_clip(p, pan_frames(n, size=(64, 48), step=1))
    return p


def _elapsed(line: str) -> float:
    m = re.search(r"(?:(\d+):(\d\d)|(\d+) s) elapsed", line)
    assert m, line
    return int(m.group(1)) * 60 + int(m.group(2)) if m.group(1) else float(m.group(3))


def _check_live(seen: list[tuple[float, tuple[Any, ...]]]) -> None:
    lines = [u[1] for _, u in seen[:-1]]
    assert all(line.startswith("Running · ") for line in lines), lines[:3]
    pct = [int(m.group(1)) for line in lines if (m := re.search(r"· (\d+) % ·", line))]
    assert pct == sorted(pct), "the percentage went back"
    el = [_elapsed(line) for line in lines]
    assert el == sorted(el), "the elapsed counter went back"
    shots = [t for t, u in seen if isinstance(u[0], Image.Image)]
    assert len(shots) >= 2
    gaps = np.diff([seen[0][0], *shots])
    assert gaps.max() <= 2.5, f"the live picture waited {gaps.max():.1f} s"


def _eta_error(seen: list[tuple[float, tuple[Any, ...]]]) -> float:
    """|estimate − real remainder| / real remainder, read at the first update past half-way
    (runs of ~10 s or more: the page rounds to whole seconds)."""
    end = seen[-1][0]
    for t, upd in seen:
        m = re.search(r"· (\d+) % · about (?:(\d+):(\d\d)|(\d+) s) left", str(upd[1]))
        if m and int(m.group(1)) >= 50:
            est = int(m.group(2)) * 60 + int(m.group(3)) if m.group(2) else float(m.group(4))
            real = end - t
            return abs(est - real) / max(real, 1.0)
    raise AssertionError("no estimate past half-way")


def test_artistic_live_picture_progress_line_and_honest_estimate(ctx, files):
    from styleforge.web.tabs import artistic

    gen = artistic.handlers(ctx)["run"](
        str(files["good"]),
        "starry_night",
        1.0,
        "(none)",
        1.0,
        "(none)",
        1.0,
        None,
        "balanced",
        192,
        1.0,
        False,
        0,
        _request("live"),
    )  # VGG16's schedule
    seen = _drive(gen)
    assert "Done" in seen[-1][1][1]
    _check_live(seen)
    err = _eta_error(seen)
    print(f"estimate error at half-way: {err:.0%} of the real remainder; run {seen[-1][0] - seen[0][0]:.1f} s")
    assert err <= 0.35, f"the estimate at half-way was off by {err:.0%}"


def test_video_live_frames_and_honest_estimate(ctx, tmp_path):
    from styleforge.web.tabs import video

    # 9.5 s at 10 fps (the tab's longest), at a size that makes the run last ~10 s or more: the page rounds the
    # estimate to whole seconds, so a short run's remainder (2 s at 320 px) is off by a quarter from rounding alone
    clip = write_clip(tmp_path / "walk.mp4", pan_frames(95, size=(512, 384), step=1))
    seen = _drive(
        video.handlers(ctx, tmp_path)["run"](str(clip), "instant", "starry_night", None, 512, 0.5, _request("v"))
    )
    assert "Done" in seen[-1][1][1]
    _check_live(seen)
    [print(f"{t - seen[0][0]:6.2f} {type(u[0]).__name__} {str(u[1])[:80]}") for t, u in seen[:12]]
    err = _eta_error(seen)
    print(f"estimate error at half-way: {err:.0%} of the real remainder; run {seen[-1][0] - seen[0][0]:.1f} s")
    assert err <= 0.35, f"the estimate at half-way was off by {err:.0%}"


@pytest.mark.parametrize("overhead_px", [8_000, 16_384, 30_000])
@pytest.mark.parametrize("preset, size", [("balanced", 384), ("fast", 512), ("best", 256)])
def test_artistic_estimate_at_half_way_on_a_fake_clock(preset, size, overhead_px):
    """The real plan of each preset; each step takes (its pixels + a fixed part) on a fake clock, after a
    set-up of a few steps: the estimate read at half-way is within ±35 % of the real remainder."""
    import torch

    from styleforge.transfer.gatys import plan_stages
    from styleforge.web import modes
    from styleforge.web.common import Eta

    stages = plan_stages(modes.artistic_config(preset, image_size=size), (size * 3 // 4, size))
    now = [0.0]
    seen: list[tuple[float, float]] = []
    callback = modes.step_callback(stages, lambda f, m, p: seen.append((now[0], f)), None, None, 1e9)
    step_s = 1e-5  # seconds per pixel of work
    now[0] += 40 * step_s * (size * size)  # loading the network, the first pass
    for st in stages:
        for k in range(1, st.iterations + 1):
            now[0] += step_s * (st.size[0] * st.size[1] + overhead_px)
            callback(st, k, {}, torch.zeros(1, 3, 4, 4))
    end = now[0]
    clock = [0.0]
    eta = Eta(lambda: clock[0])
    for t, f in seen:
        clock[0] = t
        left = eta.remaining(f)
        if f >= 0.5:
            assert left is not None and abs(left - (end - t)) <= 0.35 * (end - t), (left, end - t)
            return
    raise AssertionError("never half-way")


def test_eta_with_a_fake_clock():
    from styleforge.web.common import Eta, progress_line

    now = [100.0]
    eta = Eta(lambda: now[0])
    now[0] += 5.0  # set-up: loading the network
    assert eta.remaining(0.05) is None  # the first report only starts the rate
    now[0] += 9.0  # 0.45 of the work in 9 s: 20 s for all of it
    assert eta.remaining(0.5) == pytest.approx(10.0)
    assert (
        progress_line("scale 2/3, step 4/40", 0.5, eta.elapsed(), 10.0)
        == "Running · scale 2/3, step 4/40 · 50 % · about 10 s left · 14 s elapsed"
    )


def test_dpst_stage_labels_do_not_restart():
    from styleforge.web import modes

    msgs: list[str] = []
    modes.photo(
        _photo(64, 48),
        _photo(48, 48, 4),
        size=64,
        iterations=2,
        smoothing="off",
        on_progress=lambda f, m, p: msgs.append(m),
    )
    phases = [m.split(" (")[0] for m in msgs]
    assert phases[0] == "painting" and phases[-1] == "photo realism", msgs
    first_real = phases.index("photo realism")
    assert set(phases[first_real:]) == {"photo realism"} and set(phases[:first_real]) == {"painting"}, msgs
    assert "(2/2)" in msgs[-1]
