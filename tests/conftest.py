"""Shared fixtures: the real test images in ../shared/data and tiny generated ones."""

from __future__ import annotations

from pathlib import Path

import os

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
MISSING = f"research images not available: {SHARED_DATA} is missing (tests marked realdata need it)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``realdata`` need ../shared/data: skipped without it, failed without it in CI."""
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
