"""The page's HTTP API on 127.0.0.1: every mode, friendly errors, upload limits, no path traversal."""

from __future__ import annotations

import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styleforge.web import modes

# Gradio's queue statistics use a pandas option that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def _photo(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (1, 1, 3))
    y, x = np.mgrid[0:h, 0:w]
    arr = (base + np.stack([x * 3, y * 2, x + y], -1)) % 256
    return Image.fromarray(arr.astype(np.uint8))


ARTISTIC_DEFAULTS = dict(
    s1="starry_night",
    w1=1.0,
    s2="(none)",
    w2=1.0,
    s3="(none)",
    w3=1.0,
    own=None,
    preset="fast",
    size=64,
    strength=1.0,
    colors=False,
    steps=3,
)


def artistic_data(content, **kw):
    a = {**ARTISTIC_DEFAULTS, **kw}
    return [
        content,
        a["s1"],
        a["w1"],
        a["s2"],
        a["w2"],
        a["s3"],
        a["w3"],
        a["own"],
        a["preset"],
        a["size"],
        a["strength"],
        a["colors"],
        a["steps"],
    ]


def message(res) -> str:
    """The page's message of a refused job: the status line (⚠ …) or the queue's refusal."""
    if not res.success:
        return res.error or ""
    status = res.output[1] if res.output else ""
    assert status.startswith("⚠ "), status
    text = status.removeprefix("⚠ ")
    return text[:1].lower() + text[1:]  # the page starts its sentences with a capital


def test_every_available_mode_is_an_endpoint(api, web_settings):
    avail = modes.availability(web_settings.instant_models)
    assert avail["instant"] is None
    for mode in modes.MODES:
        assert (mode in api.fn) == (avail[mode] is None), mode


def test_artistic_streams_progress_and_previews(api):
    photo = api.upload_image(_photo(80, 60), "street.png")
    res = api.call("artistic", artistic_data(photo, s2="the_scream", w2=0.5, steps=4))
    assert res.success, res.error
    image, info, command = res.output
    out = api.image(image)
    assert out.size == (64, 48) and out.format == "PNG"
    assert info.startswith("Done: 64×48")
    assert command.startswith(
        "styleforge stylize street.png --style starry_night --style the_scream "
        "--style-blend-weights 1,0.5 --image-size 64 --iterations 4"
    )
    assert res.of("process_generating"), "no streamed preview"
    lines = [m["output"]["data"][1] for m in res.of("process_generating") if m.get("output", {}).get("data")]
    assert any("%" in str(x) and "elapsed" in str(x) for x in lines), lines[:3]


def test_instant_over_http(api, web_settings):
    photo = api.upload_image(_photo(96, 64), "cat.png")
    res = api.call("instant", [photo, "tiny_scream", None, 1.0, False])
    assert res.success, res.error
    assert api.image(res.output[0]).size == (96, 64)
    assert res.output[2] == "styleforge instant cat.png --style INSTANT_MODELS/tiny.safetensors -o result.png"
    own = api.upload_image(_photo(40, 40, 5), "mine.png")
    res = api.call("instant", [photo, "tiny_scream", own, 0.7, True])  # an upload is used only when chosen
    assert res.success and "--style INSTANT_MODELS/tiny.safetensors" in res.output[2], res.output
    res = api.call("instant", [photo, "my style (upload)", own, 0.7, True])
    assert res.success, res.error
    assert (
        "--style mine.png --adain-decoder INSTANT_MODELS/decoder.safetensors --strength 0.7 --original-colors"
        in res.output[2]
    )


def test_translate_and_makeup(api, sample_face):
    res = api.call("translate", [api.upload_image(_photo(90, 50), "a.png"), "tiny/p2p.safetensors", "auto", 64, None])
    assert res.success, res.error
    assert api.image(res.output[0]).size == (64, 36)
    assert "--checkpoint MODELS/tiny/p2p.safetensors" in res.output[2]

    face = api.upload(sample_face, "me.png")
    res = api.call("makeup", [face, "warm.pt2", "add", 1.0])
    assert res.success, res.error
    before = np.asarray(Image.open(sample_face).convert("RGB"), np.float32)
    after = np.asarray(api.image(res.output[0]).convert("RGB"), np.float32)
    assert after.shape == before.shape and (after[..., 0] - before[..., 0]).mean() > 2
    assert "1 face" in res.output[1]

    wall = api.upload_image(Image.new("RGB", (120, 90), (90, 90, 90)), "wall.png")
    res = api.call("makeup", [wall, "warm.pt2", "add", 1.0])
    assert "no face found" in message(res)


def test_photo_over_http(api):
    if "photo" not in api.fn:
        pytest.fail("the photo engine is part of the package: its endpoint must exist")
    res = api.call(
        "photo",
        [
            api.upload_image(_photo(80, 60), "in.png"),
            api.upload_image(_photo(50, 50, 3), "look.png"),
            None,
            None,
            64,
            1.0,
        ],
    )
    assert res.success, res.error
    assert api.image(res.output[0]).size == (64, 48)
    assert res.output[2] == "styleforge photo in.png look.png --image-size 64 --save-look look.cube -o result.png"
    assert res.output[3] is not None  # the look, for download
    res = api.call(
        "photo_dpst",
        [
            api.upload_image(_photo(80, 60, 7), "in.png"),
            api.upload_image(_photo(50, 50, 8), "look.png"),
            None,
            None,
            "fast",
            64,
            2,
        ],
    )
    assert res.success, res.error
    assert res.output[2].startswith("styleforge photo in.png look.png --method dpst --image-size 64 --iterations 2")
    half = api.upload_image(Image.new("RGB", (80, 60), (255, 255, 255)), "m.png")
    res = api.call(
        "photo",
        [
            api.upload_image(_photo(80, 60), "in.png"),
            api.upload_image(_photo(50, 50, 3), "look.png"),
            half,
            None,
            64,
            1.0,
        ],
    )
    assert "both masks" in message(res)


def test_text_file_renamed_jpg_gets_a_friendly_error(api):
    fake = api.upload(b"Dear diary, this is not a picture.\n" * 20, "holiday.jpg")
    res = api.call("artistic", artistic_data(fake))
    assert "'holiday.jpg' is not an image" in message(res)
    assert "Traceback" not in message(res) and "/tmp" not in message(res)


def test_oversize_uploads_are_refused(api, web_settings):
    too_big = bytes(int(web_settings.limits.max_upload_bytes * 1.2))
    r = api.http.post(f"{api.base}/gradio_api/upload", files=[("files", ("huge.jpg", too_big))])
    assert r.status_code == 413, r.text
    # Small in bytes, too many pixels: refused from the header, with the sizes in the message.
    wide = api.upload_image(Image.new("RGB", (2000, 1500), (1, 2, 3)), "wide.png")
    res = api.call("artistic", artistic_data(wide))
    assert "2000×1500 = 3 MP; the limit is 2 MP" in message(res)
    res = api.call("artistic", artistic_data(api.upload_image(_photo(64, 48), "ok.png"), size=4096))
    assert "512" in message(res)  # Gradio's slider bounds, then ours


@pytest.mark.parametrize("name", ["../secret.pt", "tiny/../../secret.pt", "/etc/passwd", "%2e%2e/secret.pt"])
def test_no_checkpoint_outside_models(api, name):
    photo = api.upload_image(_photo(32, 32), "a.png")
    for mode, data in (("translate", [photo, name, "auto", 64, None]), ("makeup", [photo, name, "add", 1.0])):
        res = api.call(mode, data)
        assert "not for the page" not in message(res)


def test_no_file_outside_the_upload_folder(api, web_models):
    for path in (
        "/etc/passwd",
        str(web_models / "warm.pt2"),
        str(web_models.parent / "secret.pt"),
        f"{api.upload_image(_photo(8, 8))['path']}/../../../../etc/passwd",
    ):
        forged = {"path": path, "orig_name": "x.png", "meta": {"_type": "gradio.FileData"}}
        res = api.call("artistic", artistic_data(forged))
        assert "root:" not in message(res)
    # nothing from --models (or beside it) is downloadable
    for path in ("/etc/passwd", str(web_models / "warm.pt2"), str(web_models.parent / "secret.pt")):
        for url in (
            f"{api.base}/gradio_api/file={path}",
            f"{api.base}/gradio_api/file={urllib.parse.quote(path, safe='')}",
            f"{api.base}/gradio_api/file=..%2F..%2F..%2F..%2F..{path}",
        ):
            r = api.http.get(url)
            assert r.status_code in (400, 403, 404), (url, r.status_code)
            assert b"root:" not in r.content and b"not for the page" not in r.content


@pytest.mark.parametrize("style", ["../../../etc/passwd", "/etc/hosts", "starry_night.jpg"])
def test_style_names_are_not_paths(api, style):
    res = api.call("artistic", artistic_data(api.upload_image(_photo(32, 32)), s1=style))
    message(res)


def _job_threads() -> int:
    return sum(t.name == "styleforge-job" for t in threading.enumerate())


def test_api_cancel_stops_the_optimisation(api):
    photo = api.upload_image(_photo(128, 96), "long.png")
    cancelled = []

    def cancel_on_first_progress(msg, body):
        data = (msg.get("output") or {}).get("data") or [None, ""]
        if msg.get("msg") == "process_generating" and "step" in str(data[1]) and not cancelled:
            assert _job_threads() == 1
            cancelled.append(time.monotonic())
            r = api.http.post(
                f"{api.base}/gradio_api/cancel", json={k: body[k] for k in ("session_hash", "fn_index", "event_id")}
            )
            assert r.status_code == 200

    res = api.call("artistic", artistic_data(photo, size=128, steps=500), on_message=cancel_on_first_progress)
    assert cancelled, "no progress message before the end"
    while _job_threads():
        assert time.monotonic() - cancelled[0] < 10, "the optimisation kept running after cancel"
        time.sleep(0.1)
    assert not (res.output and "Done" in res.output[1])


def test_job_timeout_and_temp_files_cleaned(web_settings):
    from dataclasses import replace

    from conftest import GradioHTTP, free_port

    from styleforge.web import create_app, launch

    settings = replace(web_settings, port=free_port(), limits=replace(web_settings.limits, job_timeout_s=1.0))
    demo = create_app(settings)
    url = launch(demo, settings, block=False)[1].rstrip("/")
    try:
        client = GradioHTTP(url)
        t0 = time.monotonic()
        res = client.call("artistic", artistic_data(client.upload_image(_photo(128, 96)), size=128, steps=500))
        assert "longer than the 1 s limit" in message(res)
        assert time.monotonic() - t0 < 30
        upload = client.upload_image(_photo(48, 40), "kept.png")
        ok = client.call("translate", [upload, "tiny/p2p.safetensors", "auto", 64, None])
        assert ok.success and "Done" in ok.output[1], (ok.error, ok.output)
        files = [Path(upload["path"]), Path(ok.output[0]["path"])]
        assert all(f.is_file() for f in files)
    finally:
        demo.close()
    assert not any(f.exists() for f in files), "uploads or results left behind after the server stopped"


def test_video_over_http(api, tmp_path):
    pytest.importorskip("av")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "video"))
    from videoclips import pan_frames, write_clip

    clip = api.upload(write_clip(tmp_path / "clip.mp4", pan_frames(6)), "clip.mp4")
    res = api.call("video", [clip, "instant", "starry_night", None, 64, 0.5])
    assert res.success, res.error
    assert res.output[1].startswith("Done: 6 frames")
    assert res.output[2] == "styleforge video clip.mp4 --instant starry_night --size 64 -o out.mp4"


def test_makeup_by_example_over_http(api, face_models, face_fixture):
    target, _ = face_fixture("two_faces")
    face = api.upload_image(Image.fromarray(target), "two.png")
    ref = api.upload_image(Image.fromarray(face_fixture("astronaut")[0]), "ref.png")
    res = api.call("makeup_transfer", [face, ref, ["lips", "eyes"], 0.9])
    assert res.success, res.error
    assert api.image(res.output[0]).size == (target.shape[1], target.shape[0]) and "2 faces" in res.output[1]
    assert (
        res.output[2]
        == "styleforge makeup transfer two.png --reference ref.png --regions lips,eyes --strength 0.9 -o result.png"
    )
    res = api.call("makeup_remove", [face, None, ["lips"], 1.0])
    assert res.success, res.error
    wall = api.upload_image(Image.new("RGB", (120, 90), (90, 90, 90)), "wall.png")
    res = api.call("makeup_transfer", [face, wall, ["lips"], 1.0])
    assert "no face found in the reference" in message(res)
