import pytest


@pytest.fixture(autouse=True)
def _small_nets(one_thread: None) -> None:
    """Small networks everywhere in this folder: one thread (fixture in tests/conftest.py)."""
