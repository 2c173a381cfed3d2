import numpy as np
import pytest

from styleforge.faces.align import AlignSpec, align_crop, eye_angle, similarity_from_eyes
from styleforge.faces.detect import HaarDetector
from styleforge.io import load_image


def load_rgb(path):
    return np.asarray(load_image(path))


@pytest.mark.realdata
def test_detects_frontal_faces_with_both_eyes(faces_dir):
    det = HaarDetector(min_face=0.2)
    files = sorted(faces_dir.glob("*/*.png"))
    with_eyes = 0
    for f in files:
        faces = det(load_rgb(f))
        if faces and faces[0].eyes_found == 2:
            with_eyes += 1
            fc = faces[0]
            assert fc.eye_left[0] < fc.eye_right[0]
            x, y, w, h = fc.box
            assert x < fc.eye_left[0] < x + w / 2 < fc.eye_right[0] < x + w
            assert y < fc.eye_left[1] < y + h * 0.6
    # 30 of the 31 shared photos are frontal; one is strongly turned.
    assert with_eyes >= 29, with_eyes


def test_alignment_levels_real_eyes(sample_face):
    img = load_rgb(sample_face)
    # rotate the photo by 20 degrees: after alignment the re-detected eyes are level again
    import cv2

    h, w = img.shape[:2]
    rot = cv2.warpAffine(
        img, cv2.getRotationMatrix2D((w / 2, h / 2), 12, 1.0), (w, h), borderMode=cv2.BORDER_REFLECT_101
    )
    det = HaarDetector()
    f = det(rot)[0]
    assert f.eyes_found == 2
    assert abs(eye_angle(f.eye_left, f.eye_right)) > 6
    crop = align_crop(rot, similarity_from_eyes(f.eye_left, f.eye_right, AlignSpec()), 256)
    g = det(crop)[0]
    assert g.eyes_found == 2 and abs(eye_angle(g.eye_left, g.eye_right)) < 4


def test_no_face_in_blank_or_noise():
    det = HaarDetector()
    assert det(np.full((200, 300, 3), 128, np.uint8)) == []
    rng = np.random.default_rng(0)
    assert len(det(rng.integers(0, 255, (120, 120, 3), dtype=np.uint8))) <= 1


def test_exif_rotated_photo_is_upright_before_detection(sample_face, tmp_path):
    from PIL import Image

    from styleforge.io import load_image

    img = load_rgb(sample_face)
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(img, 1)))  # sideways pixels…
    exif = Image.Exif()
    exif[0x0112] = 6  # …that a viewer turns 90° clockwise
    p = tmp_path / "phone.jpg"
    stored.save(p, exif=exif.tobytes(), quality=95)
    det = HaarDetector()
    assert not [f for f in det(np.asarray(Image.open(p).convert("RGB"))) if f.eyes_found == 2]
    faces = det(np.asarray(load_image(p)))
    assert len(faces) == 1 and faces[0].eyes_found == 2
