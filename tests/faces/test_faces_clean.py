import io

import cv2
import numpy as np
import pytest
from PIL import Image

from styleforge.faces.align import AlignSpec, align_crop, similarity_from_eyes
from styleforge.faces.clean import (
    CleanSpec,
    blur_score,
    color_spread,
    duplicate_groups,
    face_hash,
    hamming,
    quality_issue,
)
from styleforge.faces.detect import Face, HaarDetector
from styleforge.io import load_image


def load_rgb(path):
    return np.asarray(load_image(path))


def _crop(img, face=None):
    f = face or HaarDetector()(img)[0]
    return align_crop(img, similarity_from_eyes(f.eye_left, f.eye_right, AlignSpec()), 256)


def test_blur_and_grayscale_scores(sample_face):
    img = load_rgb(sample_face)
    crop = _crop(img)
    sharp = blur_score(crop)
    assert blur_score(cv2.GaussianBlur(crop, (0, 0), 2)) < sharp / 5
    assert color_spread(crop) > 10
    gray = np.repeat(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    assert color_spread(gray) == 0


def test_quality_reasons():
    crop = (np.random.default_rng(0).integers(0, 255, (256, 256, 3))).astype(np.uint8)
    ok = Face(box=(0, 0, 200, 200), eye_left=(52.4, 72.8), eye_right=(143.8, 72.8), eyes_found=2)
    spec = CleanSpec()
    assert quality_issue(ok, crop, spec) is None
    small = Face(box=(0, 0, 50, 50), eye_left=(13, 18), eye_right=(36, 18), eyes_found=2)
    assert quality_issue(small, crop, spec) == "too_small"
    noeyes = Face(box=(0, 0, 200, 200), eye_left=(52, 72), eye_right=(144, 72), eyes_found=1)
    assert quality_issue(noeyes, crop, spec) == "eyes_not_found"
    assert quality_issue(noeyes, crop, CleanSpec(require_eyes=False)) is None
    turned = Face(box=(0, 0, 200, 200), eye_left=(110, 72), eye_right=(190, 72), eyes_found=2)
    assert quality_issue(turned, crop, spec) == "profile"
    gray = np.repeat(crop[..., :1], 3, axis=2)
    assert quality_issue(ok, gray, spec) == "grayscale"
    assert quality_issue(ok, np.full_like(crop, 90) + np.array([20, 0, 0], np.uint8), spec) == "blurry"


def _variants(img):
    h, w = img.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=60)
    jpeg = np.asarray(Image.open(buf).convert("RGB"))
    small = cv2.resize(img, (int(w * 0.6), int(h * 0.6)), interpolation=cv2.INTER_AREA)
    c = int(0.04 * w)
    cropped = img[c : h - c // 2, c // 2 : w - c]
    return [jpeg, small, cropped]


@pytest.mark.realdata
def test_near_copies_are_grouped_and_different_faces_are_not(faces_dir):
    names = ["makeup/vFG56.png", "no_makeup/xfsy_0226.png", "no_makeup/vSYYZ639.png"]
    hashes, owner = [], []
    for k, n in enumerate(names):
        img = load_rgb(faces_dir / n)
        for v in [img, *_variants(img)]:
            f = HaarDetector()(v)[0]
            hashes.append(face_hash(v, f, _crop(v, f)))
            owner.append(k)
    groups = duplicate_groups(hashes, CleanSpec().dup_distance)
    assert sorted(sorted({owner[i] for i in g}) for g in groups) == [[0], [1], [2]]
    assert sorted(len(g) for g in groups) == [4, 4, 4]
    assert (
        min(
            hamming(hashes[i], hashes[j])
            for i in range(len(hashes))
            for j in range(len(hashes))
            if owner[i] != owner[j]
        )
        > 22
    )


def test_duplicate_groups_do_not_chain():
    # no chaining: 0b111 is 3 bits from the leader 0b0 even though each step is 1 bit
    assert duplicate_groups([0b0, 0b1, 0b11, 0b111, 0xFF00], 1) == [[0, 1], [2, 3]]
    assert duplicate_groups([0b1, 0b0, 0b11, 0b111, 0xFF00], 1) == [[0, 1, 2]]
    assert duplicate_groups([5], 3) == []
    assert hamming(0xF0, 0x0F) == 8
    # 128-bit keys: the distance is summed over both halves
    assert duplicate_groups([(1 << 64) | 1, 0, (0b111 << 64) | 0b111], 2) == [[0, 1]]
