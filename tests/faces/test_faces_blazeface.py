"""BlazeFace port: anchors, weighted NMS, and equality with MediaPipe's own detections."""

from __future__ import annotations

import numpy as np
import pytest

from styleforge.faces.blazeface import ANCHORS, BlazeFace, weighted_nms


def test_anchors_follow_the_ssd_options():
    assert ANCHORS.shape == (896, 2)
    np.testing.assert_allclose(ANCHORS[:2], [[0.5 / 16, 0.5 / 16]] * 2)  # 2 per cell on 16×16
    np.testing.assert_allclose(ANCHORS[512:518], [[0.5 / 8, 0.5 / 8]] * 6)  # 6 per cell on 8×8
    np.testing.assert_allclose(ANCHORS[-1], [7.5 / 8, 7.5 / 8])


def test_weighted_nms_averages_overlaps_by_score():
    boxes = np.array([[0.1, 0.1, 0.2, 0.2], [0.12, 0.1, 0.2, 0.2], [0.6, 0.6, 0.2, 0.2]], np.float32)
    kps = np.zeros((3, 6, 2), np.float32)
    kps[1] += 1.0
    scores = np.array([0.9, 0.3, 0.8], np.float32)
    out = weighted_nms(boxes, kps, scores, 0.3)
    assert len(out) == 2
    box, kp, s = out[0]
    assert s == pytest.approx(0.9)
    assert box[0] == pytest.approx((0.1 * 0.9 + 0.12 * 0.3) / 1.2)
    assert kp[0, 0] == pytest.approx(0.3 / 1.2)
    assert out[1][2] == pytest.approx(0.8)


@pytest.mark.parametrize("backend", ["torch", "onnx"])
@pytest.mark.parametrize("name", ["astronaut", "two_faces"])
def test_detections_equal_mediapipe(face_models, face_fixture, name, backend):
    img, ref = face_fixture(name)
    net = BlazeFace(backend=backend)
    assert net.net.backend == backend
    dets = net(img)
    assert len(dets) == len(ref["det_scores"]) >= 1
    for d, box, kp, score in zip(dets, ref["det_boxes"], ref["det_keypoints"], ref["det_scores"], strict=True):
        np.testing.assert_allclose(d.box, box, atol=2e-3)
        np.testing.assert_allclose(d.keypoints, kp, atol=2e-3)
        assert d.score == pytest.approx(float(score), abs=5e-3)


def test_no_face_in_noise(face_models):
    rng = np.random.default_rng(0)
    assert BlazeFace()(rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)) == []
