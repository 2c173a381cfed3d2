"""The sealed evaluation set (benchmarks/sealed): its hashes, and that it was never training data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SEALED = REPO / "benchmarks" / "sealed"
ASSETS = REPO / "src" / "styleforge" / "assets"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def _manifest() -> list[dict]:
    return json.loads((SEALED / "manifest.json").read_text())["images"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ahash(path: Path) -> np.ndarray:
    a = np.asarray(Image.open(path).convert("L").resize((8, 8), Image.Resampling.LANCZOS), dtype=np.float64)
    return (a > a.mean()).ravel()


def _stem(path: Path) -> str:
    """A file's name as the shared folders write it (``owner__name``), without the owner."""
    return path.stem.lower().split("__")[-1]


def test_manifest_hashes_match_the_committed_files() -> None:
    entries = _manifest()
    assert sum(e["kind"] == "photo" for e in entries) * sum(e["kind"] == "painting" for e in entries) >= 12
    for e in entries:
        f = SEALED / e["file"]
        assert _sha(f) == e["sha256"], f"{f} changed since the sealed set was recorded"
        assert max(Image.open(f).size) <= 768
        assert e["licence"] and e["repo"] and len(e["commit"]) == 40


def test_sealed_clips_match_their_hashes_and_are_not_tuning_clips() -> None:
    entries = json.loads((SEALED / "clips.json").read_text())["clips"]
    assert len(entries) >= 3
    tuning = {_sha(p) for p in (REPO / "benchmarks" / "clips").glob("*.mp4")}
    assert tuning, "the tuning clips are missing"
    for e in entries:
        f = SEALED / e["file"]
        assert _sha(f) == e["sha256"], f"{f} changed since the sealed clips were recorded"
        assert _sha(f) not in tuning and e["source_sha256"] not in tuning
        assert e["licence"] and e["repo"] and len(e["commit"]) == 40


def _check_not_in(folder: Path) -> None:
    entries = _manifest()
    shas = {e["sha256"]: e["file"] for e in entries} | {e["source_sha256"]: e["file"] for e in entries}
    names = {Path(e["file"]).stem.lower(): e["file"] for e in entries}
    hashes = {e["file"]: _ahash(SEALED / e["file"]) for e in entries}
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, f"nothing under {folder}"
    for p in files:
        assert _sha(p) not in shas, f"{p} is the sealed image {shas.get(_sha(p))}"
        assert _stem(p) not in names, f"{p} carries the name of the sealed image {names.get(_stem(p))}"
        if p.suffix.lower() in IMAGE_SUFFIXES:
            h = _ahash(p)
            for sealed, hs in hashes.items():
                # distance 3 was a false positive on these images (bridge vs a Shenyang skyline); 0-2 is a copy
                assert int((h != hs).sum()) > 2, f"{p} looks like the sealed image {sealed}"


def test_sealed_images_are_not_package_assets() -> None:
    _check_not_in(ASSETS)


@pytest.mark.realdata
def test_sealed_images_are_not_in_the_shared_training_folders(shared_data: Path) -> None:
    _check_not_in(shared_data)


def test_the_check_catches_a_copy(tmp_path: Path) -> None:
    e = _manifest()[0]
    img = Image.open(SEALED / e["file"])
    img.resize((img.width // 2, img.height // 2)).save(tmp_path / "renamed.png")  # a resized copy, new name
    with pytest.raises(AssertionError, match="looks like"):
        _check_not_in(tmp_path)
    (tmp_path / "renamed.png").unlink()
    (tmp_path / f"someone__{Path(e['file']).stem}.txt").write_bytes(b"not an image")  # a sealed name
    with pytest.raises(AssertionError, match="carries the name"):
        _check_not_in(tmp_path)
