import cv2
import numpy as np
import pytest
import torch

from styleforge.errors import InputError
from styleforge.faces.align import AlignSpec, similarity_from_eyes, transform_points
from styleforge.faces.apply import ApplySpec, apply_to_image, paste_back, region_mask
from styleforge.faces.detect import Face
from styleforge.io import load_image


def load_rgb(path):
    return np.asarray(load_image(path))


def _scene(seed=0, h=240, w=320):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 1.0)
    return img


def test_pixels_outside_the_mask_are_unchanged():
    img = _scene()
    spec = AlignSpec(size=64)
    m = similarity_from_eyes((130.0, 100.0), (180.0, 112.0), spec)
    mask = region_mask(spec, ("lips",), feather=0.1)
    gen = np.random.default_rng(1).random((64, 64, 3), dtype=np.float32)
    out = paste_back(img, gen, m, mask, strength=1.0)
    changed = np.any(out != img, axis=2)
    assert changed.sum() > 20
    # every changed pixel maps (through the crop transform) into the mask's support
    ys, xs = np.nonzero(changed)
    crop_pts = transform_points(m, np.stack([xs, ys], 1).astype(float))
    ci = np.clip(np.round(crop_pts).astype(int), 0, 63)
    support = cv2.dilate((mask > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    assert support[ci[:, 1], ci[:, 0]].all()
    # and the lips region is far from the eyes: the pixels around the eyes are untouched
    assert not changed[95:105, 125:135].any()
    # strength 0 → identical
    assert np.array_equal(paste_back(img, gen, m, mask, strength=0.0), img)


def test_identity_translator_round_trip_is_lossless():
    # If warping out and back were off by a pixel or a rotation, an identity model
    # would visibly move the face; with detail restoration it must be near-exact.
    img = _scene(2, 300, 300)
    spec = ApplySpec(align=AlignSpec(size=128))
    face = Face(box=(80, 80, 140, 140), eye_left=(120.0, 130.0), eye_right=(185.0, 122.0), eyes_found=2)
    out, faces = apply_to_image(img, lambda x: x.clone(), spec, detector=lambda im: [face])
    assert faces == [face]
    diff = np.abs(out.astype(int) - img.astype(int))
    assert diff.max() <= 3 and diff.mean() < 0.3


def test_detail_restoration_keeps_texture_sharp(sample_face):
    img = load_rgb(sample_face)
    big = cv2.resize(img, (900, 900), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big.astype(int) + np.random.default_rng(0).integers(-12, 13, big.shape), 0, 255).astype(np.uint8)

    def tint(x):  # a "makeup" model: warmer face
        y = x.clone()
        y[:, 0] = (y[:, 0] * 1.1).clamp(0, 1)
        return y

    sharp, faces = apply_to_image(big, tint, ApplySpec(detail_sigma=1.0))
    soft, _ = apply_to_image(big, tint, ApplySpec(detail_sigma=0.0))
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    roi = (slice(y + h // 3, y + 2 * h // 3), slice(x + w // 3, x + 2 * w // 3))

    def hf(a):
        g = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(float)
        return np.abs(cv2.Laplacian(g, cv2.CV_64F))[roi].mean()

    assert hf(sharp) > 0.8 * hf(big)
    assert hf(soft) < 0.5 * hf(big)
    # the colour change itself went through
    assert sharp[roi][..., 0].mean() > big[roi][..., 0].mean() + 5


def test_regions_and_spec_checks():
    spec = AlignSpec(size=128)
    face = region_mask(spec)
    lips = region_mask(spec, ("lips",))
    eyes = region_mask(spec, ("eyes",))
    skin = region_mask(spec, ("skin",))
    d = 0.3 * 128
    ey = int(0.35 * 128)
    lip_y = int(ey + 1.07 * d)
    assert lips[lip_y, 64] > 0.9 and lips[ey, 64 - int(d / 2)] == 0
    assert eyes[ey, 64 - int(d / 2)] > 0.9 and eyes[lip_y, 64] == 0
    assert skin[lip_y, 64] < 0.5 and skin[int(ey + 0.5 * d), 64 - int(0.6 * d)] > 0.9
    assert face[int(ey + 0.4 * d), 64] > 0.99 and face[2, 2] == 0
    with pytest.raises(InputError, match="unknown region 'nose'"):
        ApplySpec(regions=("nose",))
    with pytest.raises(InputError, match="strength"):
        ApplySpec(strength=1.5)


def test_no_face_leaves_image_alone():
    img = _scene(3)
    out, faces = apply_to_image(img, lambda x: 1 - x, detector=lambda im: [])
    assert faces == [] and np.array_equal(out, img)
    eyeless = Face((50, 50, 100, 100), (80.0, 90.0), (120.0, 90.0), 0)
    out, faces = apply_to_image(img, lambda x: 1 - x, detector=lambda im: [eyeless])
    assert faces == [] and np.array_equal(out, img)
    out, faces = apply_to_image(img, lambda x: 1 - x, ApplySpec(min_eyes=0), detector=lambda im: [eyeless])
    assert faces == [eyeless] and not np.array_equal(out, img)
    with pytest.raises(InputError, match="model returned"):
        apply_to_image(
            img, lambda x: x[:, :1], detector=lambda im: [Face((50, 50, 100, 100), (80.0, 90.0), (120.0, 90.0), 2)]
        )
    assert torch.is_grad_enabled()
