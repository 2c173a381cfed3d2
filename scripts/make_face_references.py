"""Make the face fixtures and MediaPipe's own outputs on them (tests/fixtures/faces/).

Run once, in a throw-away venv OUTSIDE the project (MediaPipe 0.10.21 needs numpy < 2):

    python3 -m venv /tmp/mp && /tmp/mp/bin/pip install "numpy<2" mediapipe==0.10.21 scikit-image
    /tmp/mp/bin/python scripts/make_face_references.py tests/fixtures/faces

Fixtures are made from scikit-image's ``astronaut`` sample (Eileen Collins, NASA: public domain):
``astronaut.jpg`` (the photo at 384 px) and ``two_faces.jpg`` (a 480×260 canvas with the head
rotated by 18° and a smaller mirrored copy: two faces, a rotated one, a letterboxed aspect).
For each, ``<name>.npz`` holds MediaPipe's face detection (short range, threshold 0.5:
``det_boxes`` xmin, ymin, w, h and ``det_keypoints`` 6×2, relative to the image; ``det_scores``)
and FaceMesh (static_image_mode, refine_landmarks=False, max 4 faces: ``mesh`` F×468×3, x and y
relative to the image, z relative to the width).
"""

import sys
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from PIL import Image
from skimage.data import astronaut


def fixtures() -> dict[str, np.ndarray]:
    full = astronaut()
    a = np.asarray(Image.fromarray(full).resize((384, 384), Image.LANCZOS))
    crop = full[20:260, 100:340]  # the head, 240 px
    canvas = np.full((260, 480, 3), (40, 60, 90), np.uint8)
    m = cv2.getRotationMatrix2D((120, 120), 18, 1.0)
    canvas[10:250, 0:240] = cv2.warpAffine(crop, m, (240, 240), borderMode=cv2.BORDER_REFLECT)
    small = np.asarray(Image.fromarray(crop[:, ::-1]).resize((204, 204), Image.LANCZOS))
    canvas[28:232, 260:464] = small
    return {"astronaut": a, "two_faces": canvas}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, img in fixtures().items():
        path = out / f"{name}.jpg"
        Image.fromarray(img).save(path, quality=90)
        rgb = np.asarray(Image.open(path).convert("RGB"))  # what the tests read
        with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as fd:
            r = fd.process(rgb)
        boxes, kps, scores = [], [], []
        for d in r.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append([b.xmin, b.ymin, b.width, b.height])
            kps.append([[k.x, k.y] for k in d.location_data.relative_keypoints])
            scores.append(d.score[0])
        with mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=False, max_num_faces=4, min_detection_confidence=0.5
        ) as fm:
            r = fm.process(rgb)
        mesh = [[[p.x, p.y, p.z] for p in f.landmark] for f in r.multi_face_landmarks or []]
        np.savez_compressed(
            out / f"{name}.npz",
            det_boxes=np.array(boxes, np.float32).reshape(-1, 4),
            det_keypoints=np.array(kps, np.float32).reshape(-1, 6, 2),
            det_scores=np.array(scores, np.float32),
            mesh=np.array(mesh, np.float32).reshape(-1, 468, 3),
        )
        print(name, rgb.shape, "detections", len(scores), np.round(scores, 3), "meshes", len(mesh))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/faces"))
