"""Training-free makeup transfer and removal (face mesh + regions + Lab layers)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from styleforge.errors import InputError
from styleforge.faces.facemesh import MeshDetector
from styleforge.faces.makeup import (
    MakeupSpec,
    guided_filter,
    parse_regions,
    parse_strength,
    piecewise_affine_map,
    prepare_reference,
    remove,
    transfer,
)
from styleforge.faces.regions import region_masks


def test_parse_strength_and_regions():
    assert parse_regions("lips, eyes") == ("lips", "eyes")
    assert parse_regions("") == ("lips", "eyes", "brows", "skin")
    assert parse_strength("0.5", ("lips", "eyes")) == {"lips": 0.5, "eyes": 0.5}
    assert parse_strength("lips=0.9,eyes=0.6", ("lips", "eyes", "skin")) == {"lips": 0.9, "eyes": 0.6, "skin": 1.0}
    assert parse_strength("0.3,lips=1", ("lips", "eyes")) == {"lips": 1.0, "eyes": 0.3}
    for bad in ("nose=1", "lips=2", "x"):
        with pytest.raises(InputError):
            parse_strength(bad)
    with pytest.raises(InputError):
        parse_regions("lips,nose")


def test_piecewise_affine_map_reproduces_an_affine_warp():
    rng = np.random.default_rng(0)
    dst = rng.uniform(10, 90, (40, 2))
    a = np.array([[0.9, -0.2], [0.15, 1.1]])
    src = dst @ a.T + (5, -3)
    mx, my, inside = piecewise_affine_map(dst, src, (100, 100))
    ys, xs = np.nonzero(inside)
    want = np.stack([xs, ys], 1) @ a.T + (5, -3)
    assert inside.sum() > 2000
    np.testing.assert_allclose(mx[ys, xs], want[:, 0], atol=1e-3)
    np.testing.assert_allclose(my[ys, xs], want[:, 1], atol=1e-3)
    assert not inside[0, 0] and not inside[99, 99]


def test_guided_filter_keeps_edges_and_smooths_noise():
    rng = np.random.default_rng(0)
    step = np.zeros((64, 64), np.float32)
    step[:, 32:] = 1.0
    noisy = step + rng.normal(0, 0.05, step.shape).astype(np.float32)
    out = guided_filter(noisy, noisy, 4, 1e-2)
    assert np.std(out[:, :24] - step[:, :24]) < 0.5 * np.std(noisy[:, :24] - step[:, :24])  # smoother
    assert out[:, 34:].mean() - out[:, :30].mean() > 0.9  # the edge stays


@pytest.fixture(scope="module")
def made_up(face_fixture):
    """The astronaut with red lipstick and blue eye shadow painted through MediaPipe's own landmarks."""
    img, ref = face_fixture("astronaut")
    h, w = img.shape[:2]
    pts = ref["mesh"][0][:, :2] * (w, h)
    m = region_masks(pts, (h, w), ("lips", "eyes"))
    out = img.astype(np.float32)
    out = out * (1 - 0.8 * m["lips"][..., None]) + 0.8 * m["lips"][..., None] * np.array([200, 20, 40])
    out = out * (1 - 0.6 * m["eyes"][..., None]) + 0.6 * m["eyes"][..., None] * np.array([60, 90, 210])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _lab(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _region_means(img: np.ndarray, faces, region: str) -> list[np.ndarray]:
    lab = _lab(img)
    out = []
    for f in faces:
        m = region_masks(f.landmarks, img.shape[:2], (region,), feather=0.0)[region] > 0.5
        out.append(lab[m].mean(0))
    return out


def test_transfer_moves_lipstick_and_shadow_onto_every_face(face_models, face_fixture, made_up):
    target, _ = face_fixture("two_faces")
    det = MeshDetector()
    ref = prepare_reference(made_up, det)
    out, faces = transfer(target, [ref], MakeupSpec(strength={"lips": 1.0, "eyes": 1.0}), detector=det)
    assert len(faces) == 2 and out.shape == target.shape
    for before, after in zip(_region_means(target, faces, "lips"), _region_means(out, faces, "lips"), strict=True):
        assert after[1] - before[1] > 10  # redder lips (Lab a*)
    for before, after in zip(_region_means(target, faces, "eyes"), _region_means(out, faces, "eyes"), strict=True):
        assert before[2] - after[2] > 5  # bluer lids (Lab b* down)
    assert np.array_equal(out[:8], target[:8]) and np.array_equal(out[:, 236:262], target[:, 236:262])  # outside faces


def test_strength_zero_region_and_weights(face_models, face_fixture, made_up):
    target, _ = face_fixture("two_faces")
    det = MeshDetector()
    ref = prepare_reference(made_up, det)
    lips_only, faces = transfer(target, [ref], MakeupSpec(strength={"lips": 1.0}), detector=det)
    e0, e1 = _region_means(target, faces, "eyes")[0], _region_means(lips_only, faces, "eyes")[0]
    assert np.abs(e0 - e1).max() < 0.5  # eyes not chosen: untouched
    half, _ = transfer(target, [ref], MakeupSpec(strength={"lips": 0.5}), detector=det)
    a_full = _region_means(lips_only, faces, "lips")[0][1]
    a_half = _region_means(half, faces, "lips")[0][1]
    a_none = _region_means(target, faces, "lips")[0][1]
    assert a_none < a_half < a_full
    # weights (1, 0) of two references = the first alone
    bare = prepare_reference(target[:, :240], det)
    ref.weight, bare.weight = 1.0, 0.0
    mixed, _ = transfer(target, [ref, bare], MakeupSpec(strength={"lips": 1.0}), detector=det)
    assert np.abs(mixed.astype(int) - lips_only.astype(int)).max() <= 1


def test_remove_pulls_lips_and_lids_toward_skin(face_models, made_up):
    det = MeshDetector()
    out, faces = remove(made_up, MakeupSpec(strength={"lips": 1.0, "eyes": 1.0}), detector=det)
    assert len(faces) == 1
    lb, la = _region_means(made_up, faces, "lips")[0], _region_means(out, faces, "lips")[0]
    eb, ea = _region_means(made_up, faces, "eyes")[0], _region_means(out, faces, "eyes")[0]
    skin = _region_means(made_up, faces, "skin")[0]
    assert np.linalg.norm(la[1:] - skin[1:]) < np.linalg.norm(lb[1:] - skin[1:])
    assert np.linalg.norm(ea[1:] - skin[1:]) < 0.5 * np.linalg.norm(eb[1:] - skin[1:])


def test_reference_without_a_face_is_an_input_error(face_models):
    with pytest.raises(InputError, match="no face found in the reference"):
        prepare_reference(np.full((120, 160, 3), 128, np.uint8), MeshDetector())
