"""``serve --broker``: the page's job functions run on the workers (web/remote.py), the tabs unchanged."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from PIL import Image
from sfcluster import png

from styleforge.service.config import ServiceConfig
from styleforge.web import WebSettings, modes
from styleforge.web.limits import JobCancelled
from styleforge.web.remote import install


@pytest.fixture
def remote(cluster: Any) -> Iterator[redis.Redis]:
    config = ServiceConfig(cluster.redis.url)
    uninstall = install(WebSettings(broker=cluster.redis.url), config)
    try:
        yield redis.Redis.from_url(cluster.redis.url)
    finally:
        uninstall()


def page_jobs(r: redis.Redis) -> dict[str, dict[bytes, bytes]]:
    out = {}
    for key in r.scan_iter(match="sf:job:*"):
        h = r.hgetall(key)
        if h.get(b"mode") == b"page":
            out[key.decode().rsplit(":", 1)[1]] = h
    return out


def test_page_jobs_run_on_workers(remote: redis.Redis) -> None:
    before = set(page_jobs(remote))
    photo = Image.open(io.BytesIO(png())).convert("RGB")
    seen: list[tuple[float, str]] = []
    res = modes.artistic(
        photo,
        [("starry_night", 1.0)],
        size=64,
        preset="fast",
        iterations=3,
        on_progress=lambda f, m, p: seen.append((f, m)),
        should_stop=lambda: False,
        deadline=time.monotonic() + 120,
    )
    assert isinstance(res, modes.ModeResult) and res.image.size == (64, 48)
    assert res.command.startswith("styleforge stylize") and "×" in res.info  # the page's own texts, from the worker
    assert seen  # progress reached the page
    look = modes.photo_fast(photo, Image.open(io.BytesIO(png(seed=5))).convert("RGB"), size=64)
    assert look.file is not None and look.file.name == "look.cube" and "LUT_3D_SIZE" in look.file.read_text()
    jobs = {k: v for k, v in page_jobs(remote).items() if k not in before}
    assert len(jobs) == 2 and all(h[b"state"] == b"done" for h in jobs.values())
    assert {h[b"cls"] for h in jobs.values()} == {b"heavy", b"fast"}
    assert all(b":" in h[b"finished_by"] for h in jobs.values())  # a worker process stored them


def test_cancel_and_local_only_calls(remote: redis.Redis, tmp_path: Any) -> None:
    photo = Image.open(io.BytesIO(png())).convert("RGB")
    stop = threading.Event()
    threading.Timer(3.0, stop.set).start()
    with pytest.raises(JobCancelled):
        modes.artistic(
            photo,
            [("starry_night", 1.0)],
            size=64,
            preset="fast",
            iterations=1000,
            should_stop=stop.is_set,
            deadline=time.monotonic() + 120,
        )
    cancelled = [h for h in page_jobs(remote).values() if h[b"state"] == b"cancelled"]
    assert cancelled
    before = set(page_jobs(remote))
    here = modes.instant(photo, style="starry_night", models=tmp_path)  # a folder of this server: runs here
    assert here.image.size == (64, 48) and set(page_jobs(remote)) == before
    there = modes.instant(photo, style="starry_night")
    assert there.image.size == (64, 48) and len(set(page_jobs(remote)) - before) == 1
