from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from videoclips import count_network_runs, pan_frames

from styleforge.errors import InputError
from styleforge.video.container import probe, read_frames
from styleforge.video.pipeline import VideoOptions, partial_paths, render_video, stylize_frames, stylize_video


class Tint:
    """A cheap deterministic stylizer for the pipeline tests."""

    name = "tint"
    uses_hint = False

    def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
        x = frame.astype(np.float32) / 255
        return np.clip(x[..., ::-1] * 0.9 + 0.05, 0, 1)


def test_stylize_frames_yields_uint8_frames_of_the_input_size() -> None:
    outs = list(stylize_frames(pan_frames(4), Tint(), VideoOptions(consistency=0)))
    assert len(outs) == 4 and outs[0].dtype == np.uint8 and outs[0].shape == (48, 64, 3)
    want = (np.clip(pan_frames(4)[2][..., ::-1] / 255 * 0.9 + 0.05, 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.abs(outs[2].astype(int) - want).max() <= 1


def test_stylize_video_reads_the_file_with_the_options(make_clip) -> None:  # noqa: ANN001
    outs = list(stylize_video(make_clip(), Tint(), VideoOptions(size=32, every=2)))
    assert len(outs) == 4 and outs[0].shape == (24, 32, 3)


def test_render_keeps_fps_duration_audio_and_removes_the_partial(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    out = tmp_path / "out.mp4"
    res = render_video(make_clip(audio=True), out, Tint(), VideoOptions())
    info = probe(out)
    assert res.frames == 8 and info.frames == 8 and info.fps == 10 and info.has_audio
    assert abs(info.duration - 0.8) < 0.06
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "out.mp4"]
    # --every 2 keeps the duration at half the frame rate
    res = render_video(tmp_path / "clip.mp4", tmp_path / "every.mkv", Tint(), VideoOptions(every=2))
    info = probe(tmp_path / "every.mkv")
    assert res.frames == 4 and abs(info.duration - 0.8) < 0.11


def _packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def test_interrupt_leaves_a_playable_partial_and_resume_copies_it(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    clip = make_clip(frames=pan_frames(30))  # 10 fps, gop=1.0: keyframes at frames 0, 10, 20
    out = tmp_path / "out.mp4"
    opts = VideoOptions(consistency=0.7)

    def stop_after_25(done: int, total: int, frame: np.ndarray) -> None:
        if done == 25:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_video(clip, out, Tint(), opts, on_frame=stop_after_25, gop=1.0)
    partial, recipe = partial_paths(out)
    assert not out.exists() and partial.exists() and json.loads(recipe.read_text())["mode"] == "tint"
    assert len(list(read_frames(partial, tolerant=True))) == 25  # closed cleanly: every finished frame plays
    before = _packets(partial)
    with pytest.raises(InputError, match="--resume"):
        render_video(clip, out, Tint(), opts)  # refuses to overwrite the interrupted work
    with pytest.raises(InputError, match="other settings .*--consistency"):
        render_video(clip, out, Tint(), VideoOptions(consistency=0.5), resume=True)
    assert _packets(partial) == before  # a refused resume loses nothing
    res = render_video(clip, out, Tint(), opts, resume=True, gop=1.0)
    assert res.resumed_from == 20 and res.frames == 30  # cut at the last keyframe, frame 20
    assert not partial.exists() and not recipe.exists()
    assert _packets(out)[:20] == before[:20]  # the finished frames were copied, not re-encoded
    resumed = list(read_frames(out))
    render_video(clip, tmp_path / "fresh.mp4", Tint(), opts, gop=1.0)
    fresh = list(read_frames(tmp_path / "fresh.mp4"))  # the run that was never interrupted
    assert len(resumed) == 30
    diffs = [np.abs(a.astype(int) - b).mean() for a, b in zip(resumed, fresh, strict=True)]
    # the copied frames exactly; then the held picture continues from the decoded last frame (its codec loss)
    assert max(diffs[:20]) == 0 and max(diffs) < 5, diffs


def test_frames_renders_a_range_with_its_audio(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    clip = make_clip(frames=pan_frames(12), audio=True)
    res = render_video(clip, tmp_path / "part.mp4", Tint(), VideoOptions(consistency=0, frames=(4, 9)))
    got = list(read_frames(tmp_path / "part.mp4"))
    want = list(stylize_frames(pan_frames(12)[4:9], Tint(), VideoOptions(consistency=0)))
    assert res.frames == 5 and len(got) == 5 and probe(tmp_path / "part.mp4").has_audio
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(got, want, strict=True)) < 6
    with pytest.raises(InputError, match="beyond"):
        render_video(clip, tmp_path / "p2.mp4", Tint(), VideoOptions(frames=(40, 50)))


def test_bad_inputs_write_nothing(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    import av

    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as c:  # a valid container with a video stream and no frames
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    with pytest.raises(InputError, match="no video stream"):
        render_video(empty, tmp_path / "o1.mp4", Tint())
    with av.open(str(tmp_path / "empty.mkv"), "w") as c:
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        c.start_encoding()
    with pytest.raises(InputError, match="no video frames"):
        render_video(tmp_path / "empty.mkv", tmp_path / "o1.mp4", Tint())
    with pytest.raises(InputError, match="beyond the end"):
        render_video(make_clip(), tmp_path / "o2.mp4", Tint(), VideoOptions(start=5))
    with pytest.raises(InputError, match="limit"):
        render_video(make_clip(), tmp_path / "o3.mp4", Tint(), max_seconds=0.5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "empty.mkv", "empty.mp4"]


class Recorder(Tint):
    """Tint, noting which thread stylised each frame (by the frame's first pixel value)."""

    keyframes = 2

    def __init__(self, uses_hint: bool = False) -> None:
        import threading

        self.uses_hint = uses_hint
        self.threads: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
        import threading

        with self._lock:
            self.threads.append(threading.current_thread().name)
        return super().__call__(frame, hint)


def test_keyframes_are_stylised_ahead_in_their_own_thread_with_the_same_pixels(
    tmp_path: Path,
    make_clip,  # noqa: ANN001
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from styleforge.video.pipeline import StylizeAhead

    clip = make_clip(frames=pan_frames(9))
    ahead = Recorder()
    res = render_video(clip, tmp_path / "a.mp4", ahead, VideoOptions(keyframes=2))
    assert res.frames == 9
    # frames 0, 2, 4, 6, 8 are keyframes (8: the last one): all made in the style thread
    assert len(ahead.threads) == 5 and all(t.startswith("styleforge-style") for t in ahead.threads)
    # a stylizer that wants the previous output is never run ahead
    hinted = Recorder(uses_hint=True)
    render_video(clip, tmp_path / "h.mp4", hinted, VideoOptions())
    assert hinted.threads and not any(t.startswith("styleforge-style") for t in hinted.threads)
    # the same pictures as stylising each keyframe when it is reached
    from styleforge.video.container import FrameWriter

    plain = FrameWriter(tmp_path / "plain.mp4", 64, 48, 10)
    for f in stylize_frames(read_frames(clip), Tint(), VideoOptions(keyframes=2)):
        plain.write(f)
    plain.close()
    made, want = list(read_frames(tmp_path / "a.mp4")), list(read_frames(tmp_path / "plain.mp4"))
    assert len(made) == len(want) == 9
    assert all(np.array_equal(m, w) for m, w in zip(made, want, strict=True))  # through the same encoder
    # offered frames are taken from the thread; a frame not offered (or a copy of one) is stylised on the spot
    st = Recorder()
    with ThreadPoolExecutor(1, thread_name_prefix="styleforge-style") as pool:
        a = StylizeAhead(st, pool, every=2)
        frames = pan_frames(3)
        for i, f in enumerate(frames, 1):  # indices 1, 2, 3: only 2 is a keyframe
            a.offer(f, i)
        out = a(frames[1], None)
        again = a(frames[1].copy(), None)
    assert np.array_equal(out, Tint()(frames[1], None)) and np.array_equal(again, out)
    assert st.threads[0].startswith("styleforge-style") and st.threads[1] == "MainThread"
    assert len(st.threads) == 2


def test_fit_times_fall_on_keyframes_spread_over_the_whole_clip() -> None:
    from styleforge.video.pipeline import fit_times

    times = fit_times(1.0, 80, 20.0, 4, 2)
    idx = [round((t - 1.0) * 20) for t in times]
    assert idx == [10, 30, 50, 70]  # evenly spread, each a multiple of the keyframe stride
    for frames, k, stride in ((60, 4, 2), (7, 4, 3), (3, 5, 2), (1, 4, 2), (0, 4, 2), (107, 6, 1)):
        idx = [round(t * 10) for t in fit_times(0.0, frames, 10.0, k, stride)]
        assert len(idx) == k and idx == sorted(idx)
        assert all(i % stride == 0 and 0 <= i < max(frames, 1) for i in idx), (frames, k, stride, idx)


def test_the_clip_fit_costs_no_network_run_of_its_own(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    from styleforge.video.stylizers import InstantStylizer

    n = 12
    clip = make_clip(frames=pan_frames(n))
    st = InstantStylizer("starry_night")
    assert st.fits_clip
    runs = count_network_runs(st)
    res = render_video(clip, tmp_path / "out.mp4", st, VideoOptions(keyframes=2))
    assert res.frames == n
    keyframes = {i for i in range(n) if i % 2 == 0} | {n - 1}
    # the fit ran the network on four of the keyframes; the render took those outputs instead of running it again
    assert len(runs) == len(keyframes), (len(runs), sorted(keyframes))
