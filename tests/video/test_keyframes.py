"""Keyframes: one frame in N stylised, the others carried along the flow (TemporalBlender.render)."""

from __future__ import annotations

import numpy as np
import pytest
from videoclips import pan_frames

from styleforge.errors import InputError
from styleforge.video.pipeline import VideoOptions, stylize_frames
from styleforge.video.temporal import TemporalBlender, propagate


class Counting:
    """A deterministic 'stylisation' that counts its calls and flickers (a new tint per call)."""

    name = "counting"
    uses_hint = False
    keyframes = 2

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
        self.calls += 1
        x = frame.astype(np.float32) / 255
        return np.clip(x * (0.8 + 0.05 * (self.calls % 3)), 0, 1)


def test_propagate_takes_the_carried_picture_where_reliable_else_the_next_keyframe() -> None:
    carried = np.zeros((2, 2, 3), np.float32)
    filled = np.ones((2, 2, 3), np.float32)
    carry = np.array([[1, 0], [0, 0.5]], np.float32)
    fill = np.array([[1, 1], [0, 1]], np.float32)
    out = propagate(carried, carry, filled, fill)
    assert np.allclose(out[..., 0], [[0, 1], [0.5, 0.5]])  # neither reliable, no residuals: half of each
    assert np.array_equal(propagate(carried, carry, None, None), carried)


@pytest.mark.parametrize("detail", [False, True])
def test_propagate_with_detail_keeps_the_strokes_contrast_where_it_mixes(detail: bool) -> None:
    rng = np.random.default_rng(0)
    carried, filled = (rng.random((64, 64, 3), np.float32) for _ in range(2))  # two stroke patterns
    carry = np.zeros((64, 64), np.float32)
    carry[:, :32] = 1.0  # reliable on the left
    carry[:, 32:] = 0.5  # half and half on the right
    fill = np.ones((64, 64), np.float32)
    out = propagate(carried, carry, filled, fill, detail=detail)
    # where the carried picture is reliable it comes out as it went in (still areas stay still), away
    # from the mixed area by more than the coarsest band's reach (about 16 pixels, with ``detail``)
    assert np.abs(out[:, :8] - carried[:, :8]).max() < 1e-4
    # where two uncorrelated patterns are mixed half and half, a plain mix halves their variance
    ratio = out[:, 40:].var() / carried[:, 40:].var()
    if detail:
        assert ratio > 0.8, ratio
    else:
        assert ratio < 0.6, ratio


@pytest.mark.parametrize("every", [2, 3])
def test_only_keyframes_are_stylised_and_every_frame_comes_out(every: int) -> None:
    frames = pan_frames(9)
    st = Counting()
    outs = list(stylize_frames(frames, st, VideoOptions(flow_size=None, keyframes=every)))
    assert len(outs) == 9 and all(o.shape == frames[0].shape and o.dtype == np.uint8 for o in outs)
    # keyframes: 0, every, 2·every, … and the last frame
    keys = set(range(0, 9, every)) | {8}
    assert st.calls == len(keys)


def test_the_default_comes_from_the_mode_and_one_means_every_frame() -> None:
    frames = pan_frames(6)
    st = Counting()
    list(stylize_frames(frames, st, VideoOptions(flow_size=None)))  # the mode's default: 2
    assert st.calls == 4  # frames 0, 2, 4, 5
    st = Counting()
    list(stylize_frames(frames, st, VideoOptions(flow_size=None, keyframes=1)))
    assert st.calls == 6
    st = Counting()
    list(stylize_frames(frames, st, VideoOptions(flow_size=None, consistency=0)))  # per-frame: all
    assert st.calls == 6


def test_a_still_clip_does_not_flicker_between_keyframes() -> None:
    frames = [pan_frames(1)[0]] * 7
    b = TemporalBlender(0.5, flow_size=None, hold=0.95)
    st = Counting()
    items = [(f, b.motion(f, both=True), i == 6) for i, f in enumerate(frames)]
    outs = list(b.render(items, st, every=2))
    assert len(outs) == 7
    for t in (1, 3, 5):  # carried frames: the previous output, unchanged
        assert np.abs(outs[t] - outs[t - 1]).max() < 1e-3


def test_a_moving_clip_between_keyframes_follows_the_motion() -> None:
    """A carried frame is the previous output moved with the picture, not left in place (no trail).

    Four pixels a frame: a pixel whose input changes by under 3 levels gets zero motion by design
    (DIS's flow on flat areas is noise), which a smooth texture drifting slower than that shows."""
    frames = pan_frames(5, (96, 64), step=4)
    b = TemporalBlender(0.5, flow_size=None, hold=0.95)
    st = lambda f, hint: f.astype(np.float32) / 255  # noqa: E731  (identity: the output should be the input)
    items = [(f, b.motion(f, both=True), i == 4) for i, f in enumerate(frames)]
    outs = list(b.render(items, st, every=2))
    inner = (slice(8, -8), slice(8, -8))
    for t in (1, 3):
        err = np.abs(outs[t][inner] - frames[t][inner] / 255).mean()
        stale = np.abs(outs[t - 1][inner] - frames[t][inner] / 255).mean()
        assert err < 0.3 * stale


def test_keyframes_are_refused_for_a_mode_that_needs_the_previous_output() -> None:
    class Hinted(Counting):
        name = "hinted"
        uses_hint = True

    with pytest.raises(InputError, match="--keyframes"):
        VideoOptions(keyframes=2).key_every(Hinted())
    assert VideoOptions().key_every(Hinted()) == 1
    with pytest.raises(InputError, match="--keyframes"):
        VideoOptions(keyframes=0).validate()


@pytest.mark.parametrize("start", [0, 1, 4, 7])
def test_keyframes_keep_their_place_in_a_resumed_run_or_a_chunk(start: int) -> None:
    """A run that starts at frame ``start`` (``--resume``, ``--frames``) stylises the frames the whole run does."""
    frames = pan_frames(12)
    seen: list[int] = []

    def st(frame: np.ndarray, hint: object) -> np.ndarray:
        seen.append(next(i for i, f in enumerate(frames) if np.array_equal(f, frame)))
        return frame.astype(np.float32) / 255

    b = TemporalBlender(0.5, flow_size=None, hold=0.95)
    b.seed(frames[start - 1] if start else frames[0], frames[start - 1] if start else frames[0])
    b.motion(frames[start - 1] if start else frames[0])
    items = [(frames[i], b.motion(frames[i], both=True), i == 11) for i in range(start, 12)]
    list(b.render(items, st, every=2, start=start))
    assert seen == [i for i in range(start, 12) if i % 2 == 0 or i == 11]


@pytest.mark.parametrize(("every", "start"), [(2, 0), (2, 1), (3, 0), (3, 2)])
def test_the_forward_direction_only_where_it_is_used_gives_the_same_frames(every: int, start: int) -> None:
    """``needs_forward``: motions without the forward direction on the other frames change nothing."""
    from styleforge.video.temporal import needs_forward

    assert [needs_forward(i, 2) for i in range(4)] == [True, False, True, False]
    assert [needs_forward(i, 3) for i in range(6)] == [True, False, True, True, False, True]
    assert not needs_forward(4, 1)
    frames = pan_frames(11, step=3)

    def run(lean: bool) -> list[np.ndarray]:
        b = TemporalBlender(0.5, flow_size=None, hold=0.95)
        items = []
        for i, f in enumerate(frames):
            m = b.motion(f, both=True, forward=not lean or needs_forward(start + i, every))
            items.append((f, m, i == len(frames) - 1))
        if lean:  # the motions really are leaner on the frames that skip it
            assert any(m is not None and m.fwd is None and m.carry is not None for _, m, _ in items)
        return list(b.render(items, Counting(), every, start=start))

    full, lean = run(False), run(True)
    assert len(full) == len(lean) == 11
    assert all(np.array_equal(a, b) for a, b in zip(full, lean, strict=True))
