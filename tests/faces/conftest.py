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

