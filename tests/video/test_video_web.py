"""The Video tab's adapter (no browser): output, command line, Cancel, length limit."""

from __future__ import annotations

from pathlib import Path

import pytest
from videoclips import pan_frames, write_clip

from styleforge.errors import InputError
from styleforge.video.container import probe
from styleforge.web.limits import JobCancelled
from styleforge.web.video_tab import video_job


def test_video_job_writes_the_clip_and_names_the_command(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", pan_frames(6))
    (tmp_path / "out").mkdir()
    seen: list[float] = []
    res = video_job(
        clip,
        tmp_path / "out",
        mode="instant",
        style="starry_night",
        size=64,
        on_progress=lambda f, msg, img: seen.append(f),
    )
    assert probe(res.image).frames == 6 and seen[-1] == 1.0
    assert res.command == "styleforge video clip.mp4 --instant starry_night --size 64 -o out.mp4"


def test_cancel_stops_and_leaves_nothing(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", pan_frames(6))
    out = tmp_path / "out"
    out.mkdir()
    calls = []
    with pytest.raises(JobCancelled):
        video_job(
            clip,
            out,
            mode="photo",
            style="starry_night",
            size=64,
            should_stop=lambda: calls.append(1) or len(calls) > 2,
        )
    assert list(out.iterdir()) == []


def test_length_limit(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", pan_frames(8))  # 0.8 s
    with pytest.raises(InputError, match="limit"):
        video_job(clip, tmp_path, mode="instant", style="starry_night", max_seconds=0.5)
