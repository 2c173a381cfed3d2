from __future__ import annotations

import numpy as np
from PIL import Image
from videoclips import pan_frames

from styleforge.assets import resolve_image
from styleforge.video.flow import dis_flow, flow_pair, gray, reliable_mask, warp, warp_error
from styleforge.video.synthetic import camera_clip, object_clip


def test_dis_flow_finds_a_known_shift_and_warp_undoes_it() -> None:
    a, b = (gray(f) for f in pan_frames(2, (96, 64), step=3))
    f = dis_flow(b, a)  # b(x) = a(x + 3): the backward flow is +3 in x
    inner = (slice(8, -8), slice(8, -8))
    assert abs(float(np.median(f[inner][..., 0])) - 3) < 0.3
    assert abs(float(np.median(f[inner][..., 1]))) < 0.3
    back = warp(a.astype(np.float32), f)
    assert np.abs(back[inner] - b[inner]).mean() < 4


def test_flow_at_reduced_size_is_scaled_back() -> None:
    a, b = (gray(f) for f in pan_frames(2, (128, 96), step=4))
    full = dis_flow(b, a, max_side=None)
    half = dis_flow(b, a, max_side=64)
    assert half.shape == full.shape
    assert abs(float(np.median(half[16:-16, 16:-16, 0])) - 4) < 0.6


def test_reliable_mask_marks_disocclusion_and_frame_exit() -> None:
    photo = np.asarray(Image.open(resolve_image("tubingen", kind="content")).convert("RGB"))
    clip = object_clip(photo, n=20, size=(128, 96), radius=16)
    back, fwd = flow_pair(gray(clip.frames[10]), gray(clip.frames[9]), max_side=None, preset="medium")
    m = reliable_mask(back, fwd, soften=0)
    truth = clip.masks[10]
    assert truth is not None
    # Where the ground truth says "newly visible", the check must mostly say "unreliable".
    newly = truth == 0
    assert m[newly].mean() < 0.2
    assert m[~newly].mean() > 0.8


def test_warp_error_is_zero_for_a_perfect_warp_and_grows_with_noise() -> None:
    photo = np.asarray(np.random.default_rng(1).integers(0, 255, (200, 300, 3)), np.uint8)
    clip = camera_clip(photo, "still", n=2, size=(64, 48))
    flow, mask = clip.flows[1], clip.masks[1]
    assert flow is not None and mask is not None
    assert warp_error(clip.frames[1], clip.frames[0], flow, mask) == 0.0
    noisy = np.clip(clip.frames[1].astype(int) + 20, 0, 255).astype(np.uint8)
    assert warp_error(noisy, clip.frames[0], flow, mask) > 0.004
