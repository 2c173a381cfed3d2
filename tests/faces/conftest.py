"""Shared fixtures for the face-pipeline tests (real MT-dataset faces from ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

FACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "faces"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES / "makeup").is_dir():
        pytest.skip("shared face data not available")
    return FACES


# The user's cache as it was before the per-test cache (tests/conftest.py) replaced it: the face
# models converted by `make` / `styleforge weights fetch faces` live there.
import os as _os  # noqa: E402

from styleforge.cache import cache_dir as _cache_dir_fn  # noqa: E402

USER_FACES = _cache_dir_fn() / "faces"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "faces"


@pytest.fixture
def face_models(_cache_dir: None) -> Path:
    """The converted face models, linked into this test's cache (fetched once if absent)."""
    from styleforge.faces.weights import MODELS, fetch_faces
    from styleforge.faces.weights import faces_dir as models_dir

    if not all((USER_FACES / f"{n}.safetensors").is_file() for n in MODELS):
        test_cache = _os.environ["STYLEFORGE_CACHE"]
        _os.environ["STYLEFORGE_CACHE"] = str(USER_FACES.parent)
        try:
            fetch_faces(log=lambda *_: None)
        except Exception as e:  # no registry: like ../shared data, skip locally, fail in CI
            if _os.environ.get("CI"):
                pytest.fail(f"face models missing and not fetchable: {e}")
            pytest.skip(f"face models not fetched (run `styleforge weights fetch faces`): {e}")
        finally:
            _os.environ["STYLEFORGE_CACHE"] = test_cache
    d = models_dir()
    d.mkdir(parents=True, exist_ok=True)
    for n in MODELS:
        link = d / f"{n}.safetensors"
        if not link.exists():
            link.symlink_to(USER_FACES / f"{n}.safetensors")
    return d


@pytest.fixture(scope="session")
def face_fixture():
    """``load(name) -> (RGB uint8 image, MediaPipe's outputs dict)`` for tests/fixtures/faces/<name>.*."""
    import numpy as np
    from PIL import Image

    def load(name: str) -> tuple:
        img = np.asarray(Image.open(FIXTURES / f"{name}.jpg").convert("RGB"))
        with np.load(FIXTURES / f"{name}.npz") as d:
            return img, {k: d[k] for k in d.files}

    return load
