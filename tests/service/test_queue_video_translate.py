"""``serve --broker``: the Video and Translate tabs' jobs on the queue (web/remote.py), and ``video`` in the API.

The clip, an uploaded style and a model of ``--models`` travel through Redis (stored once by their
SHA-256, bounded, expiring), never a shared path: the workers run in another working directory.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
import torch
from PIL import Image
from sfcluster import png, submit, wait_job

pytest.importorskip("av")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "video"))
from videoclips import pan_frames, write_clip  # noqa: E402

from styleforge.service.config import ServiceConfig  # noqa: E402
from styleforge.video.container import probe  # noqa: E402
from styleforge.web import WebSettings, modes, video_tab  # noqa: E402
from styleforge.web.limits import JobCancelled  # noqa: E402
from styleforge.web.remote import install  # noqa: E402


@pytest.fixture
def remote(cluster: Any) -> Iterator[redis.Redis]:
    uninstall = install(WebSettings(broker=cluster.redis.url), ServiceConfig(cluster.redis.url))
    try:
        yield redis.Redis.from_url(cluster.redis.url)
    finally:
        uninstall()


def page_jobs(r: redis.Redis, fn: str) -> dict[str, dict[bytes, bytes]]:
    out = {}
    for key in r.scan_iter(match="sf:job:*"):
        h = r.hgetall(key)
        if h.get(b"mode") == b"page" and json.loads(h[b"options"])["fn"] == fn:
            out[key.decode().rsplit(":", 1)[1]] = h
    return out


def test_the_video_tab_runs_on_a_heavy_worker_and_its_clip_travels_through_redis(
    remote: redis.Redis, tmp_path: Path, cluster: Any
) -> None:
    # 40 frames: the page polls every 0.2 s, and a clip of a few tiny frames can finish between two polls
    clip = write_clip(tmp_path / "holiday.mp4", pan_frames(40, size=(96, 64)))
    style = tmp_path / "mine.png"
    Image.open(io.BytesIO(png((80, 64), seed=3))).save(style)
    out = tmp_path / "results"
    out.mkdir()
    seen: list[tuple[float, str, Any]] = []
    res = video_tab.video_job(
        clip,
        out,
        mode="instant",
        style=style,  # an uploaded style image: a file of this server, sent through Redis as well
        size=96,
        clip_label="holiday.mp4",
        style_label="mine.png",
        on_progress=lambda f, m, p: seen.append((f, m, p)),
        should_stop=lambda: False,
        deadline=time.monotonic() + 120,
    )
    path = Path(res.image)
    assert path.parent == out and path.suffix == ".mp4" and probe(path).frames == 40  # the result came back
    assert res.command == "styleforge video holiday.mp4 --instant mine.png --size 96 -o out.mp4"
    assert "40 frames" in res.info
    assert seen and any(m.startswith("frame ") for _, m, _ in seen)  # progress reached the page
    jobs = page_jobs(remote, "video_job")
    assert len(jobs) == 1
    ((_job_id, h),) = jobs.items()
    assert h[b"state"] == b"done" and h[b"cls"] == b"heavy" and b":" in h[b"finished_by"]
    kwargs = json.loads(h[b"options"])["kwargs"]
    assert "out_dir" not in kwargs and str(tmp_path) not in json.dumps(kwargs)  # no path of this machine travels
    assert set(kwargs["clip"]["$file"]) == {"sha", "name"} and kwargs["clip"]["$file"]["name"] == "holiday.mp4"
    stored = remote.get(f"sf:file:{kwargs['clip']['$file']['sha']}")
    assert stored == clip.read_bytes() and 0 < remote.ttl(f"sf:file:{kwargs['clip']['$file']['sha']}") <= 3600
    assert (cluster.workdir / "files" / kwargs["clip"]["$file"]["sha"] / "holiday.mp4").is_file()  # the worker's copy


def test_cancel_stops_the_video_job_on_the_worker(remote: redis.Redis, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "long.mp4", pan_frames(40, size=(96, 64)))
    stop = threading.Event()
    seen: list[float] = []

    def progress(f: float, m: str, p: Any) -> None:
        seen.append(f)
        if m.startswith("frame "):
            stop.set()  # cancel as soon as the worker reports a frame

    t0 = time.monotonic()
    with pytest.raises(JobCancelled):
        video_tab.video_job(
            clip,
            tmp_path,
            mode="gatys",  # seconds per frame: the job is still running when Cancel comes
            style="starry_night",
            size=64,
            on_progress=progress,
            should_stop=stop.is_set,
            deadline=time.monotonic() + 120,
        )
    assert time.monotonic() - t0 < 90
    gatys = [h for h in page_jobs(remote, "video_job").values() if b'"gatys"' in h[b"options"]]
    assert len(gatys) == 1 and gatys[0][b"state"] == b"cancelled"
    assert not list(tmp_path.glob("video-*.mp4"))  # nothing half-done on the server


def _tiny_pix2pix(path: Path) -> Path:
    from styleforge.engine import export_safetensors
    from styleforge.gan.pix2pix import Pix2Pix, Pix2PixConfig

    cfg = Pix2PixConfig(netG="unet_32", ngf=4, lambda_gan=0.0, dropout=False)
    model = Pix2Pix(cfg, generator=torch.Generator().manual_seed(1))
    path.parent.mkdir(parents=True, exist_ok=True)
    export_safetensors(
        model.networks["G"].state_dict(),
        path,
        metadata={"kind": "pix2pix", "network": "G", "model_config": dataclasses.asdict(cfg)},
    )
    return path


def test_translate_with_a_model_of_the_server_runs_on_a_fast_worker(
    remote: redis.Redis, tmp_path: Path, cluster: Any
) -> None:
    ckpt = _tiny_pix2pix(tmp_path / "models" / "tiny" / "p2p.safetensors")
    photo = Image.open(io.BytesIO(png((64, 48)))).convert("RGB")
    there = modes.translate(photo, ckpt, checkpoint_label="tiny/p2p.safetensors", size=64, content_label="a.png")
    here = modes.translate.__wrapped_remote__(  # type: ignore[attr-defined]
        photo, ckpt, checkpoint_label="tiny/p2p.safetensors", size=64, content_label="a.png"
    )
    assert (
        there.command == here.command == ("styleforge translate a.png --checkpoint MODELS/tiny/p2p.safetensors -o out/")
    )
    assert there.image.size == (64, 48)
    diff = np.abs(np.asarray(there.image, np.int16) - np.asarray(here.image, np.int16))
    assert diff.max() <= 1  # the same network on the worker (its copy of the file): the same picture
    jobs = page_jobs(remote, "translate")
    assert len(jobs) == 1 and all(h[b"state"] == b"done" and h[b"cls"] == b"fast" for h in jobs.values())
    sha = json.loads(next(iter(jobs.values()))[b"options"])["kwargs"]["checkpoint"]["$file"]["sha"]
    assert remote.get(f"sf:file:{sha}") == ckpt.read_bytes()
    # a second call sends no second copy and reuses the worker's file
    modes.translate(photo, ckpt, checkpoint_label="tiny/p2p.safetensors", size=64)
    assert len(list(remote.scan_iter(match="sf:file:*"))) >= 1 and len(page_jobs(remote, "translate")) == 2
    # a failure is the worker's message, in the page's words
    with pytest.raises(modes.InputError, match="direction"):
        modes.translate(photo, ckpt, checkpoint_label="x", direction="sideways")


def test_video_through_the_http_api(front_ends: Any, cluster: Any, tmp_path: Path) -> None:
    fe = front_ends()
    clip = write_clip(tmp_path / "clip.mp4", pan_frames(5)).read_bytes()
    with fe.client("alice") as c:
        r = c.post(
            "/v1/jobs",
            data={"mode": "video", "options": json.dumps({"style": "the_scream", "size": 64})},
            files={"content": ("clip.mp4", clip, "video/mp4")},
        )
        assert r.status_code == 202 and r.json()["class"] == "heavy", r.text
        job = wait_job(c, r.json()["id"], timeout=120)
        assert job["state"] == "done", job
        got = c.get(job["result_url"])
        assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
        assert got.headers["content-disposition"].endswith('.mp4"')
        (tmp_path / "out.mp4").write_bytes(got.content)
        assert probe(tmp_path / "out.mp4").frames == 5
        bad = submit(c, "video", json.dumps({"style": "the_scream", "method": "oil"}), content=clip)
        assert bad.status_code == 400 and "method must be one of" in bad.json()["error"]
        nostyle = submit(c, "video", "{}", content=clip)
        assert nostyle.status_code == 400 and "needs a style" in nostyle.json()["error"]
        notvideo = submit(c, "video", json.dumps({"style": "the_scream"}), content=png())
        assert notvideo.status_code == 202
        failed = wait_job(c, notvideo.json()["id"], timeout=60)
        assert failed["state"] == "failed" and failed["error"].startswith("the content upload is not a video"), failed
        assert "/tmp" not in failed["error"]
