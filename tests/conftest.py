"""Shared fixtures: the research images in ../shared/data (realdata tests only) and generated ones.

Every other test runs from the repository alone: the bundled assets (``styleforge.assets``),
scikit-image's sample images (dev extra) and images made here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
MISSING = f"research images not available: {SHARED_DATA} is missing (tests marked realdata need it)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``realdata`` need ../shared/data: skipped without it, failed without it in CI."""
    for item in items:  # the contract: whoever reads ../shared/data says so with the marker
        if "shared_data" in getattr(item, "fixturenames", ()) and item.get_closest_marker("realdata") is None:
            raise pytest.UsageError(f"{item.nodeid} uses shared_data: mark it @pytest.mark.realdata")
    if SHARED_DATA.is_dir() or os.environ.get("CI"):
        return  # in CI a missing folder fails the tests that need it (see shared_data)
    for item in items:
        if item.get_closest_marker("realdata") is not None:
            item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.fixture(scope="session")
def shared_data(request: pytest.FixtureRequest) -> Path:
    """The research images beside the repo; only tests marked ``realdata`` may ask for them."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the test data folder {SHARED_DATA}")
        pytest.skip(MISSING)
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # One weights cache for the whole run, outside the user's home.
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path_factory.getbasetemp() / "sf-cache"))


@pytest.fixture
def one_thread():
    """Tiny networks: one thread is faster and immune to oversubscription on a shared CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def write_pairs(folder: Path, n: int = 4, size: int = 64) -> Path:
    """``n`` aligned A|B pairs (photo | its edges, ``2·size × size``) cut from the bundled images."""
    from PIL import Image, ImageFilter, ImageOps

    from styleforge.assets import BUILTIN_CONTENT, builtin_styles

    folder.mkdir(parents=True, exist_ok=True)
    sources = [BUILTIN_CONTENT["tubingen"], *builtin_styles().values()]
    for i in range(n):
        img = Image.open(sources[i % len(sources)]).convert("RGB")
        a = ImageOps.fit(img, (size, size), centering=((i * 0.37) % 1, 0.5))
        b = ImageOps.invert(a.convert("L").filter(ImageFilter.FIND_EDGES)).convert("RGB")
        pair = Image.new("RGB", (2 * size, size))
        pair.paste(a, (0, 0))
        pair.paste(b, (size, 0))
        pair.save(folder / f"pair_{i:02d}.jpg", quality=95)
    return folder


@pytest.fixture
def image_pairs(tmp_path: Path) -> Path:
    """4 A|B pairs (photo → outline, like pix2pix's facades/edges layout) in a temporary folder."""
    return write_pairs(tmp_path / "pairs")


@pytest.fixture(scope="session")
def sample_face(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frontal face photo without the research images: scikit-image's ``astronaut`` (Eileen
    Collins, NASA, public domain; dev extra) cropped to the head, 224×224 PNG, like the MT faces.
    Haar finds one face and both eyes."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("face") / "astronaut.png"
    Image.fromarray(data.astronaut()).crop((113, 8, 337, 232)).save(path)
    return path


# The user's cache as it was before the per-test cache (_cache_dir above) replaced it: the face
# models converted by `make` / `styleforge weights fetch faces` live there.
from styleforge.cache import cache_dir as _cache_dir_fn  # noqa: E402

USER_FACES = _cache_dir_fn() / "faces"
FACE_FIXTURES = REPO / "tests" / "fixtures" / "faces"


@pytest.fixture
def face_models(_cache_dir: None) -> Path:
    """The converted face models, linked into this test's cache (fetched once if absent)."""
    from styleforge.faces.weights import MODELS, fetch_faces
    from styleforge.faces.weights import faces_dir as models_dir

    onnx_ok = (USER_FACES / "onnx.json").is_file() and all((USER_FACES / f"{n}.onnx").is_file() for n in MODELS)
    if not all((USER_FACES / f"{n}.safetensors").is_file() for n in MODELS) or not onnx_ok:
        from styleforge.faces.runtime import export_all

        test_cache = os.environ["STYLEFORGE_CACHE"]
        os.environ["STYLEFORGE_CACHE"] = str(USER_FACES.parent)
        try:
            fetch_faces(log=lambda *_: None)
            export_all(log=lambda *_: None)
        except Exception as e:  # no registry: like ../shared data, skip locally, fail in CI
            if os.environ.get("CI"):
                pytest.fail(f"face models missing and not fetchable: {e}")
            pytest.skip(f"face models not fetched (run `styleforge weights fetch faces`): {e}")
        finally:
            os.environ["STYLEFORGE_CACHE"] = test_cache
    d = models_dir()
    d.mkdir(parents=True, exist_ok=True)
    for f in [f"{n}.{ext}" for n in MODELS for ext in ("safetensors", "onnx")] + ["onnx.json"]:
        link = d / f
        if not link.exists():
            link.symlink_to(USER_FACES / f)
    return d


@pytest.fixture(scope="session")
def face_fixture():
    """``load(name) -> (RGB uint8 image, MediaPipe's outputs dict)`` for tests/fixtures/faces/<name>.*."""
    import numpy as np
    from PIL import Image

    def load(name: str) -> tuple:
        img = np.asarray(Image.open(FACE_FIXTURES / f"{name}.jpg").convert("RGB"))
        with np.load(FACE_FIXTURES / f"{name}.npz") as d:
            return img, {k: d[k] for k in d.files}

    return load
