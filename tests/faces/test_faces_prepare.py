import csv
import io
import json
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from styleforge.cli import main as cli_main
from styleforge.errors import InputError
from styleforge.faces.prepare import PrepareSpec, prepare_dataset
from styleforge.io import load_image


def load_rgb(path):
    return np.asarray(load_image(path))


A_FACES = ["xfsy_0068.png", "xfsy_0226.png", "vSYYZ639.png", "xfsy_0503.png"]
B_FACES = ["vFG56.png", "XMY-074.png", "vFG137.png", "cpm_style-2.png"]


def _save(arr, path, **kw):
    Image.fromarray(arr).save(path, **kw)


@pytest.fixture
def raw(tmp_path, faces_dir):
    root = tmp_path / "raw"
    (root / "no_makeup").mkdir(parents=True)
    (root / "makeup").mkdir()
    for n in A_FACES:
        shutil.copy(faces_dir / "no_makeup" / n, root / "no_makeup" / n)
    for n in B_FACES:
        shutil.copy(faces_dir / "makeup" / n, root / "makeup" / n)
    return root


def _add_bad_inputs(root, faces_dir):
    a = load_rgb(faces_dir / "no_makeup" / "xfsy_0068.png")
    (root / "no_makeup" / "notes.txt").write_text("not an image")
    (root / "no_makeup" / "broken.jpg").write_bytes(b"<html>404 Not Found</html>")
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="JPEG", quality=92)
    (root / "no_makeup" / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    # near copy in the same class (re-encoded + resized), exact copy in the other class
    _save(cv2.resize(a, (300, 300), interpolation=cv2.INTER_AREA), root / "no_makeup" / "copy_small.jpg", quality=80)
    shutil.copy(faces_dir / "makeup" / "vFG137.png", root / "no_makeup" / "mislabelled.png")
    # grayscale, blurred, tiny and faceless photos
    b = load_rgb(faces_dir / "makeup" / "vRX916.png")
    _save(np.repeat(cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)[..., None], 3, 2), root / "makeup" / "gray.png")
    _save(cv2.GaussianBlur(load_rgb(faces_dir / "makeup" / "vFG112.png"), (0, 0), 3), root / "makeup" / "blurred.png")
    _save(
        cv2.resize(load_rgb(faces_dir / "makeup" / "XMY-014.png"), (110, 110), interpolation=cv2.INTER_AREA),
        root / "makeup" / "tiny.png",
    )
    _save(np.full((200, 200, 3), 120, np.uint8), root / "makeup" / "wall.png")


@pytest.mark.realdata
def test_prepare_end_to_end_manifest(raw, faces_dir, tmp_path):
    _add_bad_inputs(raw, faces_dir)
    out = tmp_path / "ds"
    res = prepare_dataset(raw, out, PrepareSpec(test_ratio=0.25, seed=3, workers=1))
    rows = {r["source"]: r for r in csv.DictReader(open(out / "manifest.csv"))}
    reason = {k: r["reason"] for k, r in rows.items()}
    assert reason["no_makeup/notes.txt"] == "not_an_image"
    assert reason["no_makeup/broken.jpg"] == "not_an_image"
    assert reason["no_makeup/truncated.jpg"] == "not_an_image"
    assert reason["no_makeup/copy_small.jpg"] == "near_duplicate"
    assert rows["no_makeup/copy_small.jpg"]["duplicate_of"] == "no_makeup/xfsy_0068.png"
    assert reason["no_makeup/mislabelled.png"] == "cross_class_duplicate"
    assert reason["makeup/vFG137.png"] == "cross_class_duplicate"
    assert reason["makeup/gray.png"] == "grayscale"
    assert reason["makeup/blurred.png"] == "blurry"
    assert reason["makeup/tiny.png"] in ("too_small", "no_face")
    assert reason["makeup/wall.png"] == "no_face"
    assert {s for s, _ in res.skipped_files} == {
        "no_makeup/notes.txt",
        "no_makeup/broken.jpg",
        "no_makeup/truncated.jpg",
    }
    kept = [r for r in rows.values() if r["status"] == "kept"]
    assert {r["source"] for r in kept} == {f"no_makeup/{n}" for n in A_FACES} | {
        f"makeup/{n}" for n in B_FACES if n != "vFG137.png"
    }
    for r in kept:
        assert r["split"] in ("trainA", "testA") if r["cls"] == "no_makeup" else r["split"] in ("trainB", "testB")
        img = Image.open(out / r["output"])
        assert img.size == (256, 256) and img.mode == "RGB"
        x, y, w, h = (int(r[k]) for k in ("box_x", "box_y", "box_w", "box_h"))
        assert x < float(r["eye_left_x"]) < float(r["eye_right_x"]) < x + w and w >= 80
        assert r["eyes_found"] == "2" and len(r["phash"]) == 32
    assert len(list((out / "testA").iterdir())) == 1 and len(list((out / "trainA").iterdir())) == 3
    meta = json.loads((out / "dataset.json").read_text())
    assert meta["A"] == "no_makeup" and meta["spec"]["seed"] == 3 and meta["counts"]["trainA"] == 3
    assert "no_makeup" in res.summary and "near_duplicate" in res.summary
    assert not list(tmp_path.glob(".ds.staging-*"))


@pytest.mark.realdata
def test_split_is_reproducible(raw, tmp_path):
    spec = PrepareSpec(test_ratio=0.5, seed=11, workers=1)
    prepare_dataset(raw, tmp_path / "d1", spec)
    prepare_dataset(raw, tmp_path / "d2", spec)
    for sub in ("trainA", "testA", "trainB", "testB"):
        assert sorted(p.name for p in (tmp_path / "d1" / sub).iterdir()) == sorted(
            p.name for p in (tmp_path / "d2" / sub).iterdir()
        )
    a = (tmp_path / "d1" / "trainA").iterdir().__next__()
    assert (tmp_path / "d2" / "trainA" / a.name).read_bytes() == a.read_bytes()


@pytest.mark.realdata
def test_missing_class_folder(raw, tmp_path):
    shutil.rmtree(raw / "makeup")
    (raw / "makup").mkdir()
    with pytest.raises(InputError, match="class folder .*makeup is missing.*did you mean 'makup'"):
        prepare_dataset(raw, tmp_path / "ds", PrepareSpec(workers=1))
    assert not (tmp_path / "ds").exists()


@pytest.mark.realdata
def test_empty_after_cleaning_writes_nothing(raw, tmp_path):
    for p in (raw / "makeup").iterdir():
        img = load_rgb(p)
        p.unlink()
        _save(np.repeat(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None], 3, 2), p)
    with pytest.raises(
        InputError,
        match=r"no face of class 'makeup' is left after cleaning: 4 files, 4 faces found, 0 kept \(grayscale 4\)",
    ):
        prepare_dataset(raw, tmp_path / "ds", PrepareSpec(workers=1))
    assert not (tmp_path / "ds").exists()
    assert not list(tmp_path.glob(".ds.staging-*"))


@pytest.mark.realdata
def test_out_dir_holding_something_else(raw, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not empty"):
        prepare_dataset(raw, other, PrepareSpec(workers=1))
    assert [p.name for p in other.iterdir()] == ["holiday.jpg"]
    # a dataset made from another RAW_DIR: refused unless --overwrite
    ds = tmp_path / "ds"
    prepare_dataset(raw, ds, PrepareSpec(workers=1))
    raw2 = tmp_path / "raw2"
    shutil.copytree(raw, raw2)
    (raw2 / "makeup" / "vFG56.png").unlink()
    with pytest.raises(InputError, match="already holds a different dataset"):
        prepare_dataset(raw2, ds, PrepareSpec(workers=1))
    assert (ds / "trainB" / "vFG56.png").exists() or (ds / "testB" / "vFG56.png").exists()
    prepare_dataset(raw2, ds, PrepareSpec(workers=1), overwrite=True)
    assert not list(ds.glob("*B/vFG56.png"))
    # the same source again rebuilds in place
    prepare_dataset(raw2, ds, PrepareSpec(workers=1))
    assert sorted(p.name for p in ds.iterdir()) == [
        "dataset.json",
        "manifest.csv",
        "testA",
        "testB",
        "trainA",
        "trainB",
    ]


@pytest.mark.realdata
def test_cli_prepare(raw, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("styleforge.cli.faces",))
    (raw / "makeup" / "readme.md").write_text("hello")
    rc = cli_main.main(["faces", "prepare", str(raw), str(tmp_path / "ds"), "--size", "64", "--workers", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "makeup/readme.md" in out and "kept" in out and "A = no_makeup" in out
    assert Image.open(next((tmp_path / "ds" / "trainA").iterdir())).size == (64, 64)  # small crops are not "blurry"
    rc = cli_main.main(["faces", "prepare", str(raw), str(tmp_path / "ds2"), "--classes", "a,b"])
    err = capsys.readouterr().err
    assert rc == 2 and "class folder" in err and "Traceback" not in err
    assert not (tmp_path / "ds2").exists()


def test_prepare_with_the_face_mesh_aligns_from_landmarks(face_models, tmp_path):
    from pathlib import Path

    from styleforge.cli.main import main
    from styleforge.faces.facemesh import MeshDetector

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "faces"
    for cls, name in (("no_makeup", "astronaut.jpg"), ("makeup", "two_faces.jpg")):
        (tmp_path / "raw" / cls).mkdir(parents=True)
        shutil.copy(fixtures / name, tmp_path / "raw" / cls / name)
    out = tmp_path / "faces"
    assert (
        main(
            [
                "faces",
                "prepare",
                str(tmp_path / "raw"),
                str(out),
                "--detector",
                "mesh",
                "--faces",
                "all",
                "--size",
                "128",
                "--test-ratio",
                "0",
                "--min-face",
                "40",
                "--dup-distance",
                "0",
                "--min-blur",
                "0",
            ]
        )
        == 0
    )
    crops = sorted(out.glob("train*/*.png"))
    assert len(crops) == 3  # one face + the rotated and the mirrored face
    det = MeshDetector()
    for c in crops:
        f = det(np.asarray(Image.open(c).convert("RGB")))[0]
        dx, dy = np.subtract(f.eye_right, f.eye_left)
        assert abs(np.degrees(np.arctan2(dy, dx))) < 2.0  # the 18°-rotated face is levelled too
        assert abs(f.eye_distance / 128 - 0.30) < 0.03
