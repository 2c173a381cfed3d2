"""The ``styleforge video`` process on the committed real clips (benchmarks/clips): a SIGKILL and
``--resume``, bad input, chunks joined with their seams blended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CLIPS = REPO / "benchmarks" / "clips"
sys.path.insert(0, str(REPO / "benchmarks"))

from styleforge.video.container import probe, read_frames  # noqa: E402
from video_measures import seam_flicker  # noqa: E402


def styleforge(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run(
        [sys.executable, "-m", "styleforge", *args], capture_output=True, text=True, env=env, timeout=300, **kw
    )  # type: ignore[call-overload]


def packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def keyframes(path: Path) -> list[int]:
    import av

    with av.open(str(path)) as c:
        return [i for i, p in enumerate(c.demux(c.streams.video[0])) if p.size and p.is_keyframe]


def _written(partial: Path) -> tuple[int, int]:
    """(frames, last keyframe) of a partial file being written; (0, 0) while its last fragment is torn.
    Waiting for both, not for a number of frames: how many frames 0.1 s of work makes depends on the machine."""
    import av

    try:
        keys = keyframes(partial)
        return sum(1 for _ in read_frames(partial, tolerant=True)), keys[-1] if keys else 0
    except (av.FFmpegError, IndexError):
        return 0, 0


def one_line_error(res: subprocess.CompletedProcess[str]) -> str:
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    return lines[0]


def test_sigkill_then_resume_copies_the_finished_frames(tmp_path: Path) -> None:
    clip = CLIPS / "people_still.mp4"  # 60 frames at 10 fps
    out = tmp_path / "out.mp4"
    partial, recipe = tmp_path / "out.partial.mp4", tmp_path / "out.partial.json"
    args = ["video", str(clip), "--instant", "starry_night", "--size", "192", "--resume-every", "0.1", "-o", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "styleforge", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            n, key = _written(partial) if partial.exists() else (0, 0)
            if n >= 24 and key >= 6:  # 24 frames written, and a keyframe at 6 or later
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # the process, not an in-process stop
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    kept = json.loads(recipe.read_text())
    assert kept["settings"]["styles"] == ["starry_night"] and kept["options"]["hold"] > 0
    assert kept["clip_state"]["palette"]["rgb_a"]  # the clip-level colour fit is kept with the recipe
    before = packets(partial)
    cut = keyframes(partial)[-1]  # the last keyframe of the killed run: one at least every 0.1 s of work
    assert len(before) >= 24 and cut >= 6
    # every option that changes the pictures is checked: one line, exit 2, nothing lost
    for other in (["--hold", "0.5"], ["--strength", "0.8"], ["--crf", "23"], ["--flow-size", "320"]):
        line = one_line_error(styleforge(*args, *other, "--resume"))
        assert "other settings" in line
        assert packets(partial) == before and recipe.read_text() == json.dumps(kept, indent=1)
    res = styleforge(*args, "--resume")
    assert res.returncode == 0, res.stderr
    assert not partial.exists() and not recipe.exists()
    final = packets(out)
    assert len(final) == 60 and final[:cut] == before[:cut]  # copied, not re-encoded
    frames = list(read_frames(out))
    assert len(frames) == 60 and frames[-1].shape == (108, 192, 3)
    fresh_out = tmp_path / "fresh.mp4"
    assert styleforge(*args[:-1], str(fresh_out)).returncode == 0
    fresh = list(read_frames(fresh_out))
    # the resumed frames continue the picture: no jump at the cut beyond the uninterrupted run's change and
    # the codec's error (the resumed run starts from the decoded picture; two encodings of the same frame
    # lie this far apart at 192 px)
    jump = np.abs(frames[cut].astype(int) - frames[cut - 1]).mean()
    codec = np.abs(frames[cut - 1].astype(int) - fresh[cut - 1]).mean()
    assert jump <= 1.5 * np.abs(fresh[cut].astype(int) - fresh[cut - 1]).mean() + 2 + codec
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(frames, fresh, strict=True)) < 6


def test_bad_input_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    import av

    data = (CLIPS / "people_still.mp4").read_bytes()
    trunc = tmp_path / "truncated.mp4"
    trunc.write_bytes(data[: len(data) * 4 // 10])
    assert "truncated" in one_line_error(
        styleforge("video", str(trunc), "--instant", "starry_night", "-o", str(tmp_path / "a.mp4"))
    )
    audio = tmp_path / "audio_only.m4a"
    with av.open(str(audio), "w", format="mp4") as c:  # a clip without a video stream
        s = c.add_stream("aac", rate=8000)
        x = (0.1 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440)).astype(np.float32)[None]
        f = av.AudioFrame.from_ndarray(x, format="fltp", layout="mono")
        f.sample_rate, f.pts = 8000, 0
        for p in [*s.encode(f), *s.encode(None)]:
            c.mux(p)
    assert "no video stream" in one_line_error(
        styleforge("video", str(audio), "--instant", "starry_night", "-o", str(tmp_path / "b.mp4"))
    )
    assert "--frames" in one_line_error(
        styleforge(
            "video",
            str(CLIPS / "face.mp4"),
            "--instant",
            "starry_night",
            "--frames",
            "9:3",
            "-o",
            str(tmp_path / "c.mp4"),
        )
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio_only.m4a", "truncated.mp4"]


def test_two_chunks_joined_with_the_audio_and_no_seam(tmp_path: Path) -> None:
    clip = CLIPS / "moving_camera.mp4"  # 80 frames at 20 fps, with AAC audio
    parts = []
    for i, rng in enumerate(("0:44", "36:80")):
        p = tmp_path / f"part{i}.mp4"
        res = styleforge(
            "video", str(clip), "--instant", "starry_night", "--size", "192", "--frames", rng, "-o", str(p)
        )
        assert res.returncode == 0, res.stderr
        parts.append(p)
    assert [sum(1 for _ in read_frames(p)) for p in parts] == [44, 44]
    out = tmp_path / "joined.mp4"
    res = styleforge("video", "join", str(parts[1]), str(parts[0]), "-o", str(out))  # any order
    assert res.returncode == 0, res.stderr
    info = probe(out)
    frames = list(read_frames(out))
    assert len(frames) == 80 and info.has_audio and abs(info.duration - 4.0) < 0.1
    worst, median = seam_flicker(frames, list(range(36, 45)))
    assert worst <= 1.5 * median, (worst, median)
    # a chunk of another clip (or other settings) is refused: one line, exit 2
    other = tmp_path / "other.mp4"
    assert (
        styleforge(
            "video",
            str(CLIPS / "face.mp4"),
            "--instant",
            "starry_night",
            "--size",
            "192",
            "--frames",
            "0:5",
            "-o",
            str(other),
        ).returncode
        == 0
    )
    assert "another clip or with other settings" in one_line_error(
        styleforge("video", "join", str(parts[0]), str(other), "-o", str(tmp_path / "bad.mp4"))
    )
    assert not (tmp_path / "bad.mp4").exists()
