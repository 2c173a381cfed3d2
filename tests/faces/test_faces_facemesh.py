"""Face-mesh port: landmarks equal MediaPipe's FaceMesh within 1 % of the inter-ocular distance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from styleforge.faces.blazeface import Detection
from styleforge.faces.facemesh import MeshDetector, Roi, roi_from_detection


def test_roi_rotation_levels_the_eyes():
    kp = np.zeros((6, 2), np.float32)
    kp[0], kp[1] = (0.4, 0.5), (0.6, 0.4)  # right eye lower-left of the left eye: head tilted
    roi = roi_from_detection(Detection((0.3, 0.3, 0.4, 0.4), kp, 0.9), 100, 200)
    # vector in pixels (40, -10): rotation = -atan2(10, 40)
    assert roi.rotation == pytest.approx(-math.atan2(10, 40))
    assert roi.w == roi.h == pytest.approx(max(0.4 * 200, 0.4 * 100) * 1.5)
    assert (roi.cx, roi.cy) == pytest.approx((100, 50))


def test_roi_matrix_maps_corners():
    roi = Roi(50, 40, 20, 20, 0.0)
    m = roi.matrix(192)
    p = m @ np.array([40, 30, 1.0])
    assert p[:2] / p[2] == pytest.approx([0, 0], abs=1e-4)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("name", ["astronaut", "two_faces"])
def test_landmarks_equal_mediapipe(face_models, face_fixture, name, backend):
    img, ref = face_fixture(name)
    h, w = img.shape[:2]
    faces = MeshDetector(backend=backend)(img)
    want = ref["mesh"] * np.array([w, h, w], np.float32)
    assert len(faces) == len(want) >= 1
    for f in faces:
        j = int(np.argmin([np.abs(r[:, :2].mean(0) - f.landmarks[:, :2].mean(0)).sum() for r in want]))
        iod = f.eye_distance
        err = np.linalg.norm(f.landmarks[:, :2] - want[j][:, :2], axis=1)
        assert err.max() < 0.01 * iod, f"{name}: worst landmark {err.max() / iod:.4f} IOD"
        assert np.abs(f.landmarks[:, 2] - want[j][:, 2]).max() < 0.01 * iod
        assert f.eye_left[0] < f.eye_right[0] and f.presence > 0.5


def test_no_face_in_noise(face_models):
    rng = np.random.default_rng(1)
    assert MeshDetector()(rng.integers(0, 255, (240, 240, 3), dtype=np.uint8)) == []


@pytest.mark.realdata
def test_shared_faces_recall_and_eyes_agree_with_haar(face_models, shared_data):
    from styleforge.faces.detect import HaarDetector
    from styleforge.io import load_image

    photos = sorted((shared_data / "faces").rglob("*.png")) + sorted((shared_data / "faces").rglob("*.jpg"))
    assert len(photos) >= 20
    mesh, haar = MeshDetector(), HaarDetector(min_face=0.05)
    n_mesh = n_haar = 0
    agree = []
    for p in photos:
        img = np.asarray(load_image(p, what="photo"))
        fm, fh = mesh(img), haar(img)
        n_mesh += bool(fm)
        n_haar += bool(fh)
        if fm and fh and fh[0].eyes_found == 2:
            a, b = fm[0], fh[0]
            d = max(np.hypot(*np.subtract(a.eye_left, b.eye_left)), np.hypot(*np.subtract(a.eye_right, b.eye_right)))
            agree.append(d / a.eye_distance)
    assert n_mesh >= n_haar
    assert np.median(agree) < 0.15
