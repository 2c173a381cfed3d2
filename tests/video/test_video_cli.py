"""``styleforge video``: modes end to end on a tiny clip, and one line + exit 2 for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from videoclips import pan_frames, write_clip

from styleforge.cli.main import main
from styleforge.video.container import probe, read_frames


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["video", *argv, "-q"])
    return code, capsys.readouterr().err


def test_instant_video_with_audio(tmp_path: Path, make_clip, capsys) -> None:  # noqa: ANN001
    clip = make_clip(audio=True)
    code, err = run(capsys, str(clip), "--instant", "starry_night", "-o", str(tmp_path / "out.mp4"))
    assert code == 0, err
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.frames, info.has_audio) == (64, 48, 8, True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "out.mp4"]


def test_a_phone_portrait_clip_comes_out_upright(tmp_path: Path, make_clip, capsys) -> None:  # noqa: ANN001
    # stored landscape with a display rotation of -90 (as phones write): the picture is stylised
    # upright and written upright, with no rotation left for a player to apply twice
    clip = make_clip(rotation=-90)
    code, err = run(capsys, str(clip), "--instant", "starry_night", "--size", "32", "-o", str(tmp_path / "out.mp4"))
    assert code == 0, err
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.turns, info.frames) == (24, 32, 0, 8)


def test_look_size_every_and_no_consistency(tmp_path: Path, make_clip, capsys) -> None:  # noqa: ANN001
    lines = ["LUT_3D_SIZE 2"] + [f"{1 - r} {1 - g} {1 - b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)]
    (tmp_path / "negative.cube").write_text("\n".join(lines) + "\n")
    code, err = run(
        capsys,
        str(make_clip()),
        "--look",
        str(tmp_path / "negative.cube"),
        "--size",
        "32",
        "--every",
        "2",
        "--no-consistency",
        "--codec",
        "mpeg4",
        "-o",
        str(tmp_path / "neg.mkv"),
    )
    assert code == 0, err
    frames = list(read_frames(tmp_path / "neg.mkv"))
    assert len(frames) == 4 and frames[0].shape == (24, 32, 3)
    src = np.asarray(pan_frames()[2], np.float32)[::2, ::2]
    assert np.abs(frames[1].astype(np.float32) - (255 - src)).mean() < 12  # the negative of frame 2


def test_folder_of_clips(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "in").mkdir()
    for name in ("a.mp4", "b.mkv", "c.mts"):  # c: a camcorder's MPEG transport stream (AVCHD)
        write_clip(tmp_path / "in" / name, pan_frames(4))
    write_clip(tmp_path / "in" / "d.avi", pan_frames(4), audio="pcm_s16le")  # a camera's clip with its sound
    code, err = run(capsys, str(tmp_path / "in"), "--photo-style", "starry_night", "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.mp4", "b.mp4", "c.mp4", "d.mp4"]
    assert probe(tmp_path / "out" / "d.mp4").has_audio


def test_an_animated_gif_in_and_a_gif_out(tmp_path: Path, make_clip, capsys) -> None:  # noqa: ANN001
    from PIL import Image

    frames = pan_frames(6)
    anim = tmp_path / "anim.gif"
    first, *rest = (Image.fromarray(f) for f in frames)
    first.save(anim, save_all=True, append_images=rest, duration=100, loop=0)  # 10 frames/s
    code, err = run(capsys, str(anim), "--instant", "starry_night", "-o", str(tmp_path / "from_gif.mp4"))
    assert code == 0, err
    info = probe(tmp_path / "from_gif.mp4")
    assert (info.width, info.height, info.frames, float(info.fps)) == (64, 48, 6, 10.0)

    still = make_clip(name="still.mp4", frames=[frames[0]] * 5, audio=True)  # a clip that holds still
    code, err = run(capsys, str(still), "--instant", "starry_night", "-o", str(tmp_path / "out.gif"))
    assert code == 0, err
    gif = Image.open(tmp_path / "out.gif")
    assert (gif.size, gif.n_frames, gif.info.get("loop")) == ((64, 48), 5, 0)
    durations, pictures = [], []
    for i in range(gif.n_frames):
        gif.seek(i)
        durations.append(gif.info["duration"])
        pictures.append(np.asarray(gif.convert("RGB")))
    assert durations == [100] * 5  # the clip's 10 frames/s
    # one palette for the clip, and no dither: a colour of the video becomes the same colour of the GIF
    # wherever and whenever it shows (a dither or a palette per frame would give it several)
    code, err = run(capsys, str(still), "--instant", "starry_night", "--no-audio", "-o", str(tmp_path / "out.mp4"))
    assert code == 0, err
    video = np.stack(list(read_frames(tmp_path / "out.mp4"))).reshape(-1, 3).astype(np.int64)
    made = np.stack(pictures).reshape(-1, 3).astype(np.int64)
    pairs = np.unique(np.stack([video @ [65536, 256, 1], made @ [65536, 256, 1]], 1), axis=0)
    colours, counts = np.unique(pairs[:, 0], return_counts=True)
    assert len(colours) > 500 and (counts > 1).mean() < 0.01, (len(colours), (counts > 1).mean())
    assert np.abs(made - video).mean() < 6  # 256 colours for the clip
    made = next(iter(read_frames(tmp_path / "out.gif")))  # and FFmpeg reads it back as a clip
    assert made.shape == (48, 64, 3) and np.abs(made.astype(int) - pictures[0]).mean() < 1
    names = ["anim.gif", "from_gif.mp4", "out.gif", "out.mp4", "still.mp4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == names


@pytest.mark.parametrize(
    "case",
    [
        "text",
        "image",
        "still_gif",
        "audio_only",
        "zero_length",
        "missing_dir",
        "output_is_dir",
        "two_modes",
        "no_mode",
        "bad_size",
        "bad_resume_every",
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, make_clip, capsys, case: str) -> None:  # noqa: ANN001
    import av
    from PIL import Image

    clip = make_clip()
    src, out, mode = clip, tmp_path / "out.mp4", ["--instant", "starry_night"]
    if case == "text":
        src = tmp_path / "notes.mp4"
        src.write_text("not a video\n" * 50)
    elif case == "image":
        src = tmp_path / "photo.jpg"
        Image.new("RGB", (64, 48), (200, 10, 10)).save(src)
    elif case == "still_gif":  # one frame: an image, though GIF can hold a clip
        src = tmp_path / "still.gif"
        Image.new("RGB", (64, 48), (200, 10, 10)).save(src)
    elif case == "audio_only":
        src = tmp_path / "sound.m4a"
        with av.open(str(src), "w") as c:
            a = c.add_stream("aac", rate=8000)
            f = av.AudioFrame.from_ndarray(np.zeros((1, 4000), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 8000, 0
            for p in [*a.encode(f), *a.encode(None)]:
                c.mux(p)
    elif case == "zero_length":
        src = tmp_path / "zero.mkv"
        with av.open(str(src), "w") as c:
            s = c.add_stream("mpeg4", rate=10)
            s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
            c.start_encoding()
    elif case == "missing_dir":
        out = tmp_path / "no" / "such" / "out.mp4"
    elif case == "output_is_dir":
        out = tmp_path / "outdir.mp4"
        out.mkdir()
    elif case == "two_modes":
        mode = ["--instant", "starry_night", "--photo-style", "tubingen"]
    elif case == "no_mode":
        mode = []
    elif case == "bad_size":
        mode += ["--size", "4"]
    elif case == "bad_resume_every":
        mode += ["--resume-every", "0"]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, err = run(capsys, str(src), *mode, "-o", str(out))
    assert code == 2
    assert err.startswith("styleforge: error: ") and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing half-written


def test_torchrun_ranks_split_a_folder_of_clips(tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "in").mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        write_clip(tmp_path / "in" / name, pan_frames(3))
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    code, err = run(capsys, str(tmp_path / "in"), "--photo-style", "starry_night", "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b.mp4"]  # rank 1 of 2: every other clip


def test_gatys_video_end_to_end(tmp_path: Path, make_clip, capsys) -> None:  # noqa: ANN001
    clip = make_clip(frames=pan_frames(3))
    code, err = run(
        capsys,
        str(clip),
        "--style",
        "starry_night",
        "--backbone",
        "effnet-lite0",
        "--iterations",
        "3",
        "--scales",
        "none",
        "--size",
        "64",
        "-o",
        str(tmp_path / "g.mp4"),
    )
    assert code == 0, err
    assert probe(tmp_path / "g.mp4").frames == 3


def test_a_gifs_chunks_are_mp4_joined_into_the_gif() -> None:
    from styleforge.cli.video import _chunk_path

    assert _chunk_path(Path("o/out.gif"), 1, 4) == Path("o/out.chunk1of4.mp4")  # not quantised twice
    assert _chunk_path(Path("o/out.mkv"), 0, 2) == Path("o/out.chunk0of2.mkv")
