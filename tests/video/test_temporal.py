from __future__ import annotations

import cv2
import numpy as np
import pytest
from videoclips import pan_frames

from styleforge.errors import InputError
from styleforge.video.flow import warp_error
from styleforge.video.synthetic import camera_clip
from styleforge.video.temporal import TemporalBlender, blend, blend_detail


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


def test_per_pixel_colour_maps_are_not_blended() -> None:
    class Map:
        per_pixel = True

        def __call__(self, frame: np.ndarray, hint: object) -> np.ndarray:
            return frame.astype(np.float32) / 255

    frames = pan_frames(3)
    b = TemporalBlender(0.9, flow_size=None)
    outs = [b(f, Map()) for f in frames]
    assert np.array_equal(outs[2], frames[2].astype(np.float32) / 255)  # its own E_warp is the input's
