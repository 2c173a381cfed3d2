import math

import numpy as np
import pytest

from styleforge.faces.align import (
    AlignSpec,
    align_crop,
    eye_angle,
    invert_affine,
    similarity_from_eyes,
    transform_points,
)


@pytest.mark.parametrize("seed", range(6))
def test_eyes_land_on_targets_level_and_centred(seed):
    rng = np.random.default_rng(seed)
    spec = AlignSpec(
        size=int(rng.integers(64, 300)), eye_distance=float(rng.uniform(0.2, 0.45)), eye_y=float(rng.uniform(0.3, 0.5))
    )
    left = rng.uniform(50, 500, 2)
    ang = rng.uniform(-40, 40)
    dist = rng.uniform(15, 300)
    right = left + dist * np.array([math.cos(math.radians(ang)), math.sin(math.radians(ang))])
    m = similarity_from_eyes(tuple(left), tuple(right), spec)
    (lx, ly), (rx, ry) = transform_points(m, [left, right])
    d = spec.eye_distance * spec.size
    assert lx == pytest.approx(spec.size / 2 - d / 2, abs=1e-6)
    assert rx == pytest.approx(spec.size / 2 + d / 2, abs=1e-6)
    assert ly == pytest.approx(spec.eye_y * spec.size, abs=1e-6) and ry == pytest.approx(ly, abs=1e-6)
    assert eye_angle((lx, ly), (rx, ry)) == pytest.approx(0.0, abs=1e-6)
    assert eye_angle(tuple(left), tuple(right)) == pytest.approx(ang, abs=1e-6)
    # similarity: uniform scale, no shear; the inverse maps back
    a = m[:, :2]
    assert a[0, 0] == pytest.approx(a[1, 1]) and a[0, 1] == pytest.approx(-a[1, 0])
    pts = rng.uniform(0, 600, (10, 2))
    np.testing.assert_allclose(transform_points(invert_affine(m), transform_points(m, pts)), pts, atol=1e-8)


def test_crop_pixels_follow_the_geometry():
    # A synthetic "face": two bright dots as eyes on a tilted line; after alignment they
    # must sit at the target pixels of the crop.
    img = np.zeros((300, 400, 3), np.uint8)
    left, right = (120.0, 150.0), (220.0, 190.0)
    for x, y in (left, right):
        img[int(y) - 2 : int(y) + 3, int(x) - 2 : int(x) + 3] = 255
    spec = AlignSpec(size=128, eye_distance=0.3, eye_y=0.4)
    crop = align_crop(img, similarity_from_eyes(left, right, spec), spec.size)
    gray = crop[..., 0].astype(float)
    d = 0.3 * 128
    for tx in (64 - d / 2, 64 + d / 2):
        win = gray[int(0.4 * 128) - 6 : int(0.4 * 128) + 7, int(tx) - 6 : int(tx) + 7]
        ys, xs = np.nonzero(win > 60)
        assert len(ys) > 0
        cy = (ys * win[ys, xs]).sum() / win[ys, xs].sum() + int(0.4 * 128) - 6
        cx = (xs * win[ys, xs]).sum() / win[ys, xs].sum() + int(tx) - 6
        assert abs(cx - tx) < 1.0 and abs(cy - 0.4 * 128) < 1.0
    assert gray.sum() < 255 * 3 * 60  # nothing else bright appeared


def test_spec_validation():
    with pytest.raises(ValueError):
        AlignSpec(size=4)
    with pytest.raises(ValueError):
        AlignSpec(eye_distance=0.01)
    with pytest.raises(ValueError):
        similarity_from_eyes((1.0, 1.0), (1.0, 1.0), AlignSpec())
