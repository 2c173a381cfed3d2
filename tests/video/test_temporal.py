from __future__ import annotations

import cv2
import numpy as np
import pytest
from videoclips import pan_frames

from styleforge.errors import InputError
from styleforge.video.flow import warp, warp_error
from styleforge.video.synthetic import camera_clip
from styleforge.video.temporal import TemporalBlender, blend, blend_detail, carry_detail


def flicker(seed: int = 0):  # noqa: ANN201
    """A per-frame 'stylisation' that flickers: a random tint and noise on every call."""
    rng = np.random.default_rng(seed)

    def f(frame: np.ndarray, hint: object) -> np.ndarray:
        x = frame.astype(np.float32) / 255
        return np.clip(x * rng.uniform(0.8, 1.0, 3) + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32)

    return f


def test_blend_is_the_documented_formula() -> None:
    s = np.zeros((2, 2, 3), np.float32)
    w = np.ones((2, 2, 3), np.float32)
    m = np.array([[1, 0], [0.5, 1]], np.float32)
    out = blend(s, w, m, 0.6)
    assert np.allclose(out[..., 0], [[0.6, 0], [0.3, 0.6]])


def test_blend_detail_keeps_contrast_and_changes_nothing_where_inputs_agree() -> None:
    rng = np.random.default_rng(5)
    a, b = (np.clip(0.5 + 0.15 * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32) for _ in range(2))
    m = np.ones((64, 64), np.float32)
    assert np.allclose(blend_detail(a, a, m, 0.7), a, atol=1e-5)  # no drift on a still clip
    plain, kept = blend(a, b, m, 0.5), blend_detail(a, b, m, 0.5, levels=2)
    assert plain.std() < 0.8 * a.std()  # averaging two uncorrelated textures washes them out …
    assert kept.std() > 0.9 * a.std()  # … the band-wise blend keeps their contrast
    assert abs(float(kept.mean()) - float(plain.mean())) < 0.01


def test_consistency_cuts_the_warping_error_of_a_flickering_stylisation() -> None:
    photo = np.asarray(np.random.default_rng(2).integers(0, 255, (120, 160, 3)), np.uint8)
    photo = cv2.GaussianBlur(np.ascontiguousarray(np.repeat(np.repeat(photo, 4, 0), 4, 1)), (0, 0), 1.5)
    clip = camera_clip(photo, "pan", n=8, size=(96, 64))
    errs = {}
    for k in (0.0, 0.7):
        b = TemporalBlender(k, flow_size=None)
        f = flicker()
        outs = [b(fr, f) for fr in clip.frames]
        errs[k] = np.mean([warp_error(outs[i], outs[i - 1], clip.flows[i], clip.masks[i]) for i in range(1, 8)])
    assert errs[0.7] < 0.5 * errs[0.0]


@pytest.mark.parametrize("loop", [False, True])
def test_no_drift_on_a_still_or_looping_clip(loop: bool) -> None:
    """A still clip converges to its per-frame result; a looping one comes back to it, no darker, no blurrier."""
    frames = pan_frames(5, (64, 48), step=2)
    seq = [frames[0]] * 40 if not loop else (frames + frames[-2:0:-1]) * 6
    stylise = lambda fr, hint: (fr.astype(np.float32) / 255) ** 1.5  # deterministic per frame  # noqa: E731
    b = TemporalBlender(0.9, flow_size=None)
    outs = [b(fr, stylise) for fr in seq]
    per_frame = [stylise(fr, None) for fr in seq]
    period = 1 if not loop else 8
    first, last = outs[period * 2], outs[-period]  # the same input frame, early and late
    assert abs(float(last.mean()) - float(per_frame[-period].mean())) < 0.01  # no darkening
    assert abs(float(last.mean()) - float(first.mean())) < 0.01
    sharp = lambda x: float(np.abs(np.diff(x, axis=1)).mean())  # noqa: E731
    assert sharp(last) > 0.85 * sharp(per_frame[-period])  # no blur build-up


def test_strength_is_checked() -> None:
    with pytest.raises(InputError, match="consistency"):
        TemporalBlender(1.0)


def test_per_pixel_colour_maps_are_held_where_the_input_is_still() -> None:
    class Map:
        per_pixel = True

        def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
            return frame.astype(np.float32) / 255

    rng = np.random.default_rng(3)
    still = rng.integers(40, 200, (48, 64, 3)).astype(np.float32)
    frames = [np.clip(still + rng.normal(0, 1.0, still.shape), 0, 255).astype(np.uint8) for _ in range(12)]
    b = TemporalBlender(0.5, flow_size=None, hold=0.95, keep_detail=False)
    outs = [b(f, Map()) for f in frames]
    own = np.mean([np.abs(frames[t].astype(np.float32) - frames[t - 1]).mean() / 255 for t in range(6, 12)])
    held = np.mean([np.abs(outs[t] - outs[t - 1]).mean() for t in range(6, 12)])
    assert held < 0.4 * own  # sensor noise through a colour map no longer flickers
    assert np.abs(outs[-1] - still / 255).mean() < 0.01  # and the picture is the map's, not a drift


def _texture(sigma: float, h: int = 96, w: int = 128, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = cv2.GaussianBlur(rng.random((h, w, 3)).astype(np.float32), (0, 0), sigma)
    return (x - x.min()) / (x.max() - x.min())


def _fine(x: np.ndarray) -> float:
    return float(np.abs(x - cv2.GaussianBlur(x, (0, 0), 1.0))[16:-16, 16:-16].mean())


def _pan(img: np.ndarray, steps: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """``img`` carried ``steps`` times along a sub-pixel pan: plainly warped, and with :func:`carry_detail`."""
    flow = np.zeros(img.shape[:2] + (2,), np.float32)
    flow[..., 0], flow[..., 1] = 0.4, -0.3
    plain, kept = img, img
    for _ in range(steps):
        plain, kept = warp(plain, flow), np.clip(carry_detail(kept, flow), 0, 1)
    return plain, kept


def test_carry_detail_keeps_the_finest_strokes_along_a_subpixel_pan() -> None:
    img = _texture(0.5)
    plain, kept = _pan(img)
    assert _fine(plain) < 0.7 * _fine(img)  # bicubic resampling, twelve times, fades the finest strokes …
    assert _fine(kept) > 1.15 * _fine(plain)  # … carried with their energy, much less


def test_carry_detail_does_not_let_bicubic_ringing_grow() -> None:
    img = _texture(1.2)
    plain, kept = _pan(img)
    assert plain.std() > 1.15 * img.std()  # bicubic overshoot amplifies mid frequencies, warp after warp …
    assert abs(kept.std() / img.std() - 1) < 0.03  # … the carried bands keep the energy they had


def test_carry_detail_is_exact_where_nothing_moves() -> None:
    img = _texture(0.8)
    flow = np.zeros(img.shape[:2] + (2,), np.float32)
    assert np.array_equal(carry_detail(img, flow), img)
    flow[:20, :20] = 0.5  # a moving corner leaves the rest untouched
    out = carry_detail(img, flow)
    assert np.abs(out[48:, 64:] - img[48:, 64:]).max() < 1e-5


class _Identity:
    per_pixel = True

    def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
        return frame.astype(np.float32) / 255


def test_a_slow_fade_is_followed_within_the_noise_not_left_behind() -> None:
    """The hold compares the input with what the output shows, not with the previous frame: a fade of
    half a level a frame never exceeds the noise frame to frame, but it adds up."""
    rng = np.random.default_rng(5)
    still = rng.integers(40, 180, (48, 64, 3)).astype(np.float32)
    frames = [np.clip(still + 0.5 * t + rng.normal(0, 1.0, still.shape), 0, 255).astype(np.uint8) for t in range(60)]
    b = TemporalBlender(0.5, flow_size=None, hold=0.99, keep_detail=False)
    outs = [b(f, _Identity()) for f in frames]
    lag = [float((frames[t].astype(np.float32) / 255 - outs[t]).mean() * 255) for t in (20, 40, 59)]
    assert max(lag) < 6, lag  # a held output that followed frame differences would lag by ≈ 50 levels


def test_noise_that_steps_is_not_followed() -> None:
    """A compressed clip's next I-frame re-draws the noise of a still scene (1–2 levels everywhere):
    the held output does not take it in, now or over the frames after."""
    rng = np.random.default_rng(6)
    still = rng.integers(40, 180, (48, 64, 3)).astype(np.float32)
    a, c = still + rng.integers(-2, 3, still.shape), still + rng.integers(-2, 3, still.shape)
    frames = [np.clip(x, 0, 255).astype(np.uint8) for x in [a] * 10 + [c] * 10]
    b = TemporalBlender(0.5, flow_size=None, hold=0.99, keep_detail=False)
    outs = [b(f, _Identity()) for f in frames]
    step = np.abs(frames[10].astype(np.float32) - frames[9]).mean() / 255
    moved = np.abs(outs[-1] - outs[9]).mean()
    assert moved < 0.15 * step, (moved, step)


class _WallPainter:
    """Paints the same strokes on every frame where the input is light (as a network paints a still wall)."""

    per_pixel = False

    def __init__(self, shape: tuple[int, int]) -> None:
        rng = np.random.default_rng(3)
        s = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 1.0)
        self.strokes = np.repeat((s / s.std() * 0.12)[..., None], 3, -1)

    def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
        x = frame.astype(np.float32) / 255
        return np.clip(x * 0.6 + 0.2 + self.strokes * (x.mean(-1, keepdims=True) > 0.5), 0, 1)


def test_strokes_are_not_dragged_across_a_flat_wall_and_held_there() -> None:
    """A fast, blurred dark blob (a hand) crosses a plain wall: on the flat wall no residual can refute
    the flow that carries the strokes along with it, and once the wall stands still again the held
    output kept what was dragged (20 levels off the wall's own strokes, against 1.6 elsewhere; now
    ≈ 4.5 against 1.2)."""
    h, w = 120, 160
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for t in range(40):
        f = np.full((h, w), 170.0, np.float32)
        if 5 <= t < 25:
            cx, cy = 140 - 5 * (t - 5), 10 + 3 * (t - 5)
            blob = cv2.GaussianBlur(np.exp(-((((xx - cx) / 14) ** 2 + ((yy - cy) / 10) ** 2) ** 2)), (0, 0), 4)
            f -= 120 * blob
        f += rng.normal(0, 1.0, f.shape)
        frames.append(np.clip(np.repeat(f[..., None], 3, -1), 0, 255).astype(np.uint8))
    painter = _WallPainter((h, w))
    b = TemporalBlender(0.5, flow_size=None, hold=0.99, keep_detail=True)
    last = [b(f, painter) for f in frames][-1]
    crossed = np.zeros((h, w), bool)
    for f in frames[5:25]:
        crossed |= f.mean(-1) < 150
    off = np.abs(last - painter(frames[-1], None)).mean(-1) * 255
    assert crossed.mean() > 0.1
    assert off[crossed].mean() < 3 * off[~crossed].mean() + 2.0, (off[crossed].mean(), off[~crossed].mean())
