"""Shared fixtures: the real test images in ../shared/data and tiny generated ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data folder {SHARED_DATA} is missing (it sits beside the repo as ../shared/data)")
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
