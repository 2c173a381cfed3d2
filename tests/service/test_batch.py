"""``styleforge instant|stylize|photo FOLDER --broker URL -o OUT``: a folder as jobs, resumable."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sfcluster import png

from styleforge.cli.main import main
from styleforge.errors import InputError


def photos(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"p{i}.png").write_bytes(png(seed=i))
    return folder


def test_instant_folder_over_the_queue_is_resumable(cluster: Any, tmp_path: Path, capsys: Any) -> None:
    src = photos(tmp_path / "in", 3)
    out = tmp_path / "out"
    out.mkdir()
    Image.new("RGB", (8, 8)).save(out / "p1.png")  # already done: skipped, not submitted
    argv = ["instant", str(src), "--style", "starry_night", "-o", str(out), "--broker", cluster.redis.url]
    assert main(argv) == 0
    assert sorted(p.name for p in out.glob("*.png")) == ["p0.png", "p1.png", "p2.png"]
    assert Image.open(out / "p0.png").size == (64, 48) and Image.open(out / "p1.png").size == (8, 8)
    assert "2 written" in capsys.readouterr().err
    assert json.loads((out / ".styleforge-jobs.json").read_text())["jobs"] == {}
    assert main(argv) == 0 and "0 written" in capsys.readouterr().err  # nothing left to do


def test_a_submitted_batch_is_collected_not_resubmitted(cluster: Any, tmp_path: Path) -> None:
    from styleforge.service.client import Batch
    from styleforge.service.config import ServiceConfig
    from styleforge.service.store import JobStore
    from styleforge.service.tasks import make_app

    src = photos(tmp_path / "in", 2)
    out = tmp_path / "out"
    config = ServiceConfig(cluster.redis.url)
    store = JobStore(config)
    batch = Batch(
        store,
        make_app(config),
        "instant",
        {"style": "the_scream", "strength": 1.0, "size": 1024, "original_colors": False},
        {},
        out,
    )
    files = sorted(src.iterdir())
    batch.run(files[:1], progress=False)
    ids_before = set(store.jobs_of(batch.owner))
    (out / "p0.png").unlink()  # as if interrupted before writing: the job is remembered and collected
    state = {"mode": "instant", "jobs": {"p0.png": sorted(ids_before)[0]}}
    (out / ".styleforge-jobs.json").write_text(json.dumps(state))
    written, failed = batch.run(files, progress=False)
    assert (written, failed) == (2, 0)
    assert len(set(store.jobs_of(batch.owner)) - ids_before) == 1  # only p1 was submitted


@pytest.mark.parametrize(
    "cmd",
    [
        [
            "stylize",
            "{src}",
            "--style",
            "starry_night",
            "--iterations",
            "3",
            "--image-size",
            "64",
            "--backbone",
            "effnet-lite0",
        ],
        ["photo", "{src}", "{style}", "--image-size", "64"],
    ],
)
def test_stylize_and_photo_batches(cluster: Any, tmp_path: Path, cmd: list[str]) -> None:
    src = photos(tmp_path / "in", 1)
    style = tmp_path / "style.png"
    style.write_bytes(png((48, 48), seed=9))
    out = tmp_path / "out"
    argv = [a.format(src=src, style=style) for a in cmd] + ["-o", str(out), "--broker", cluster.redis.url]
    assert main(argv) == 0
    assert Image.open(out / "p0.png").size == (64, 48)


def test_bad_batch_requests(cluster: Any, tmp_path: Path, capsys: Any) -> None:
    src = photos(tmp_path / "in", 1)
    assert main(["instant", str(src), "--style", "nope", "-o", str(tmp_path / "o"), "--broker", cluster.redis.url]) == 2
    assert "unknown style 'nope'" in capsys.readouterr().err
    assert (
        main(
            [
                "instant",
                str(src),
                "--style",
                "starry_night",
                "-o",
                str(tmp_path / "o.png"),
                "--broker",
                cluster.redis.url,
            ]
        )
        == 2
    )
    assert "output folder" in capsys.readouterr().err


def test_remote_job_runs_like_a_page_job(cluster: Any) -> None:
    """What ``serve --broker`` gives the page: progress while it runs, the image, Cancel, worker errors."""
    import threading

    from styleforge.service.client import RemoteJob
    from styleforge.service.config import ServiceConfig
    from styleforge.service.modes import JobStopped
    from styleforge.service.store import JobStore
    from styleforge.service.tasks import make_app

    config = ServiceConfig(cluster.redis.url)
    store, app = JobStore(config), make_app(config)
    content = Image.open(io.BytesIO(png()))
    seen: list[tuple[float, str]] = []
    job = RemoteJob(
        store,
        app,
        "user:page",
        "artistic",
        {"style": "starry_night", "size": 64, "iterations": 150},
        {"content": content},
    )
    out = job(on_progress=lambda f, m, _p: seen.append((f, m)))
    assert out.size == (64, 48) and store.get(job.job_id).owner == "user:page"
    assert any(0 < f < 1 and "step" in m for f, m in seen), seen
    stop = threading.Event()
    long = RemoteJob(
        store,
        app,
        "user:page",
        "artistic",
        {"style": "starry_night", "size": 64, "iterations": 1000},
        {"content": content},
    )
    threading.Timer(3.0, stop.set).start()
    with pytest.raises(JobStopped):
        long(should_stop=stop.is_set)
    assert store.get(long.job_id).state == "cancelled"
    with pytest.raises(InputError, match="not an image"):
        RemoteJob(store, app, "user:page", "instant", {"style": "the_scream"}, {"content": b"nope"})()
