from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from videoclips import pan_frames

from styleforge.errors import InputError
from styleforge.video.container import (
    FrameWriter,
    audio_plan,
    check_video_output,
    finalize,
    frame_size,
    pick_codec,
    probe,
    read_frames,
)


def test_probe_reads_size_rate_duration_and_audio(make_clip) -> None:  # noqa: ANN001
    info = probe(make_clip(audio=True))
    assert (info.width, info.height, info.fps) == (64, 48, Fraction(10))
    assert abs(info.duration - 0.8) < 0.05 and info.frames == 8 and info.has_audio


def test_probe_refuses_what_is_not_a_video(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    (tmp_path / "notes.mp4").write_text("hello, not a video\n" * 20)
    with pytest.raises(InputError, match="is not a video"):
        probe(tmp_path / "notes.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="empty file"):
        probe(tmp_path / "empty.mp4")
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "still.png")
    with pytest.raises(InputError, match="is an image"):
        probe(tmp_path / "still.png")
    with pytest.raises(InputError, match="not found"):
        probe(tmp_path / "missing.mp4")


def test_read_frames_start_duration_every_skip_and_size(make_clip) -> None:  # noqa: ANN001
    clip = make_clip()
    all_frames = list(read_frames(clip))
    assert len(all_frames) == 8 and all_frames[0].shape == (48, 64, 3)
    assert len(list(read_frames(clip, start=0.3))) == 5
    assert len(list(read_frames(clip, start=0.2, duration=0.4))) == 4
    assert len(list(read_frames(clip, every=3))) == 3  # frames 0, 3, 6
    assert len(list(read_frames(clip, every=3, skip=2))) == 1
    small = next(read_frames(clip, size=(32, 24)))
    assert small.shape == (24, 32, 3)
    orig = pan_frames()
    assert np.abs(all_frames[5].astype(int) - orig[5]).mean() < 8  # the pixels survive the codec


@pytest.mark.parametrize(("rotation", "turns"), [(-90, 3), (90, 1), (180, 2)])
def test_a_rotated_clip_is_read_upright(make_clip, rotation: int, turns: int) -> None:  # noqa: ANN001
    # a phone's portrait clip: landscape pictures and a display rotation; players show them turned
    stored = pan_frames()
    stored[0][:8, :8] = (255, 0, 0)  # a red corner, top left as stored
    clip = make_clip(frames=stored, rotation=rotation)
    info = probe(clip)
    assert info.turns == turns
    assert (info.width, info.height) == ((48, 64) if turns % 2 else (64, 48))
    first = next(read_frames(clip))
    assert first.shape[:2] == (info.height, info.width)
    assert np.abs(first.astype(int) - np.rot90(stored[0], turns)).mean() < 8
    small = next(read_frames(clip, size=frame_size(info.width, info.height, 32)))
    assert small.shape[:2] == ((32, 24) if turns % 2 else (24, 32))


def test_frame_size_is_even_and_keeps_the_aspect() -> None:
    assert frame_size(640, 480, None) == (640, 480)
    assert frame_size(641, 479, None) == (640, 478)
    assert frame_size(1920, 1080, 480) == (480, 270 - 0)  # 270 is even
    assert frame_size(1280, 720, 101) == (100, 56)


def test_codec_fallback() -> None:
    assert pick_codec("mpeg4") == "mpeg4"
    assert pick_codec("auto") in ("libx264", "libopenh264", "mpeg4")
    assert pick_codec("openh264") in ("libopenh264", "mpeg4")  # falls back when missing
    with pytest.raises(InputError, match="codec"):
        pick_codec("prores")


def test_check_video_output(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        check_video_output(tmp_path / "nowhere" / "out.mp4")
    with pytest.raises(InputError, match="format"):
        check_video_output(tmp_path / "out.png")
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(InputError, match="folder"):
        check_video_output(tmp_path / "dir.mp4")
    assert check_video_output(tmp_path / "ok.mkv") == tmp_path / "ok.mkv"


KILLED = r"""
import os, sys
import numpy as np
from fractions import Fraction
sys.path.insert(0, sys.argv[2])
from videoclips import pan_frames
from styleforge.video.container import FrameWriter
w = FrameWriter(sys.argv[1], 64, 48, Fraction(10), codec=sys.argv[3])
for f in pan_frames(8):
    w.write(f)
os._exit(9)  # killed: no close(), no trailer
"""


@pytest.mark.parametrize("codec", ["auto", "mpeg4"])
def test_a_killed_writer_leaves_a_playable_file(tmp_path: Path, codec: str) -> None:
    out = tmp_path / "killed.mp4"
    r = subprocess.run([sys.executable, "-c", KILLED, str(out), str(Path(__file__).parent), codec], timeout=60)
    assert r.returncode == 9
    frames = list(read_frames(out, tolerant=True))
    assert len(frames) >= 7  # all but (at most) the frame whose fragment was still open
    assert np.abs(frames[3].astype(int) - pan_frames(8)[3]).mean() < 8


def test_finalize_keeps_audio_and_duration(tmp_path: Path, make_clip) -> None:  # noqa: ANN001
    src = make_clip(audio=True)
    part = tmp_path / "part.mp4"
    with FrameWriter(part, 64, 48, Fraction(10)) as w:
        for f in pan_frames(8):
            w.write(f)
    out = finalize(part, tmp_path / "final.mp4", audio_from=src)
    info = probe(out)
    assert info.has_audio and abs(info.duration - 0.8) < 0.06 and info.fps == 10
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def _variable_rate_clip(path: Path) -> Path:
    """2 s at 30 frames/s, then 2 s at 15 (a phone in dim light); each frame a bar as long as its time."""
    import av

    times = [i / 30 for i in range(60)] + [2 + i / 15 for i in range(30)]
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=30)
        s.width, s.height, s.pix_fmt = 160, 32, "yuv420p"
        s.codec_context.time_base = Fraction(1, 600)
        s.codec_context.bit_rate = 1_000_000
        for t in times:
            img = np.zeros((32, 160, 3), np.uint8)
            img[:, : round(t / 4 * 160)] = 255
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = round(t * 600), Fraction(1, 600)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def test_a_variable_rate_clip_is_read_on_its_full_rate_clock_in_time(tmp_path: Path) -> None:
    """Played at its average rate (23 frames/s) the first half would run slow and the second fast,
    the sound drifting by up to 0.6 s; on a 30 frames/s clock each frame stays until the next."""
    clip = _variable_rate_clip(tmp_path / "phone.mp4")
    info = probe(clip)
    frames = list(read_frames(clip))
    assert 118 <= len(frames) <= 120  # 4 s at 30 frames/s (90 frames in the file)
    assert info.fps == 30 and info.frames == len(frames)  # chunks and --frames count on it: none lost
    assert info.duration == len(frames) / 30
    shown = np.array([(f[16, :, 0] > 128).sum() / 160 * 4 for f in frames])  # the time each frame shows
    assert np.abs(shown - np.arange(len(frames)) / 30).max() < 1.5 / 30  # within a frame and a half
    later = list(read_frames(clip, start=2.5, duration=1.0))
    assert len(later) == 30 and abs((later[0][16, :, 0] > 128).sum() / 160 * 4 - 2.5) < 1.5 / 30


def test_a_constant_rate_clip_comes_out_frame_for_frame(make_clip) -> None:  # noqa: ANN001
    frames = pan_frames(12)
    got = list(read_frames(make_clip(frames=frames)))
    assert len(got) == 12
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(got, frames, strict=True)) < 8


_SWATCHES = np.array([(200, 30, 30), (30, 180, 40), (40, 60, 200)], np.uint8)  # red, green, blue


def _swatches(w: int, h: int) -> np.ndarray:
    return np.repeat(_SWATCHES, w // 3, axis=0)[None].repeat(h, axis=0)


def _centres(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return img[h // 2, [w // 6, w // 2, 5 * w // 6]].astype(int)


def test_output_says_its_colour_matrix_so_players_show_the_colours_written(tmp_path: Path) -> None:
    """Untagged, FFmpeg decodes BT.601 and an HD player BT.709: the green 25 levels apart."""
    import av
    from av.video.reformatter import Colorspace

    out = tmp_path / "hd.mp4"
    with FrameWriter(out, 1278, 720, Fraction(10), codec="mpeg4") as w:
        w.write(_swatches(1278, 720))
    with av.open(str(out)) as c:
        cc = c.streams.video[0].codec_context
        assert (cc.colorspace, cc.color_primaries, cc.color_trc) == (1, 1, 1)  # BT.709
        frame = next(c.decode(video=0))
        as_a_player_shows_it = frame.reformat(format="rgb24", src_colorspace=Colorspace.ITU709).to_ndarray()
    assert np.abs(_centres(as_a_player_shows_it) - _SWATCHES).max() <= 4
    assert np.abs(_centres(next(read_frames(out))) - _SWATCHES).max() <= 4


def test_an_untagged_hd_clip_is_read_as_players_show_it(tmp_path: Path) -> None:
    import av
    from av.video.reformatter import Colorspace

    clip = tmp_path / "camera.mp4"
    with av.open(str(clip), "w") as c:  # BT.709 pictures, as an HD camera writes them, without the tag
        s = c.add_stream("mpeg4", rate=10)
        s.width, s.height, s.pix_fmt = 1278, 720, "yuv420p"
        s.codec_context.bit_rate = 4_000_000
        f = av.VideoFrame.from_ndarray(_swatches(1278, 720), format="rgb24")
        f = f.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709)
        f.colorspace, f.pts, f.time_base = 2, 0, Fraction(1, 10)
        for p in [*s.encode(f), *s.encode(None)]:
            c.mux(p)
    assert np.abs(_centres(next(read_frames(clip))) - _SWATCHES).max() <= 4


def test_an_interlaced_clip_is_deinterlaced_so_its_combs_are_not_painted(tmp_path: Path) -> None:
    """A camcorder's interlaced clip: each frame holds two fields taken 1/50 s apart, so a moving
    edge is a comb of alternate lines; read as it is, the network paints the comb as strokes."""
    import av

    clip = tmp_path / "camcorder.mp4"
    with av.open(str(clip), "w") as c:
        s = c.add_stream("libx264", rate=25, options={"x264-params": "interlaced=1:tff=1"})
        s.width, s.height, s.pix_fmt = 160, 96, "yuv420p"
        for i in range(8):
            img = np.zeros((96, 160, 3), np.uint8)
            img[0::2, i * 8 : i * 8 + 40] = 255  # the top field
            img[1::2, i * 8 + 4 : i * 8 + 44] = 255  # the bottom field, half a frame later
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    with av.open(str(clip)) as c:
        assert next(c.decode(video=0)).interlaced_frame

    def combing(f: np.ndarray) -> float:  # alternate lines that differ
        return float(np.abs(np.diff(f[:, :, 0].astype(int), axis=0)).mean())

    frames = list(read_frames(clip))
    assert len(frames) == 8
    assert max(combing(f) for f in frames) < 1.0  # read as it is: 12.8
    assert len(list(read_frames(clip, start=0.16))) == 4


def test_audio_is_copied_where_players_play_it_else_encoded_to_aac() -> None:
    assert audio_plan("mp4", "aac") == audio_plan("mp4", "opus") == audio_plan("mov", "pcm_s16le") == "copy"
    assert audio_plan("matroska", "vorbis") == audio_plan("matroska", "pcm_s24le") == "copy"
    assert audio_plan("mp4", "pcm_s16le") == audio_plan("mp4", "vorbis") == audio_plan("mov", "vorbis") == "aac"


@pytest.mark.parametrize(("suffix", "codec"), [(".mp4", "aac"), (".mov", "pcm_s16le"), (".mkv", "pcm_s16le")])
def test_a_cameras_pcm_audio_is_kept_in_every_output(tmp_path: Path, make_clip, suffix: str, codec: str) -> None:  # noqa: ANN001
    """An ``.avi`` with PCM sound (old cameras, the issue's clip.avi): MP4 cannot hold PCM, so
    its sound is encoded to AAC there, not dropped; MOV and Matroska keep it as it is."""
    import av

    src = make_clip("camera.avi", frames=pan_frames(10), audio="pcm_s16le")
    part = tmp_path / "part.mp4"
    with FrameWriter(part, 64, 48, Fraction(10)) as w:
        for f in pan_frames(6):
            w.write(f)
    out = finalize(part, tmp_path / f"final{suffix}", audio_from=src, start=0.2, duration=0.6)
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == codec
        sound = np.concatenate([f.to_ndarray().astype(np.float64).ravel() for f in c.decode(audio=0)])
    sound /= 32768.0 if codec.startswith("pcm") else 1.0
    seconds, block = sound.size / 8000, 1024 / 8000  # AAC codes 1024 samples at a time, and primes one block
    assert 0.6 - block < seconds < 0.6 + 2 * block, seconds  # the 0.6 s that go with the frames kept
    assert 0.1 < np.sqrt(np.mean(sound**2)) < 0.2  # the tone (0.2 peak), not silence
    assert len(list(read_frames(out))) == 6


def test_ffmpeg_log_stays_off_so_closing_a_threaded_decoder_cannot_deadlock(make_clip) -> None:  # noqa: ANN001
    """A log level routes FFmpeg's decoder threads through a GIL-taking callback: closing a
    frame-threaded decoder mid-stream then hung CI's ``--resume`` and ``--frames`` runs."""
    import threading

    import av

    av.logging.set_level(av.logging.FATAL)  # as the video module once did (or another library may)
    clip = make_clip()
    frames = read_frames(clip)
    assert next(frames).ndim == 3 and av.logging.get_level() is None
    done: list[bool] = []

    def abandon() -> None:
        next(frames)
        frames.close()  # type: ignore[attr-defined]  # mid-stream
        done.append(True)

    th = threading.Thread(target=abandon, daemon=True)
    th.start()
    th.join(60)
    assert done == [True]


def _keyframes(path: Path) -> list[int]:
    import av

    with av.open(str(path)) as c:
        return [i for i, p in enumerate(c.demux(c.streams.video[0])) if p.size and p.is_keyframe]


@pytest.mark.parametrize("codec", ["auto", "mpeg4"])
def test_keyframes_every_gop_seconds_and_after_checkpoint_seconds_of_work(
    tmp_path: Path, codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    from styleforge.video import container

    now = [0.0]  # the writer's clock: seconds of work, advanced by the test (the wall clock varies with load)
    monkeypatch.setattr(container, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    base = np.random.default_rng(0).integers(0, 255, (48, 64, 3)).astype(np.uint8)

    def write(work: float = 0.0, **kw: float) -> list[int]:
        out = tmp_path / "k.mp4"
        with FrameWriter(out, 64, 48, Fraction(10), codec=codec, **kw) as w:
            for i in range(40):
                w.write(np.roll(base, i, 1))  # a slow pan: no scene cut
                now[0] += work
        return _keyframes(out)

    assert write() == [0]  # 4 s of video, quick work: no keyframe that would make still areas pulse
    assert write(gop=1.0) == [0, 10, 20, 30]
    # slow work (1/64 s a frame): a keyframe once 1/8 s of it would be lost, i.e. every 8 frames
    assert write(1 / 64, checkpoint=1 / 8) == [0, 8, 16, 24, 32]
