"""Face-pipeline fixtures: the real MT-dataset faces live in ../shared/data (realdata tests only)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def faces_dir(shared_data: Path) -> Path:
    """../shared/data/faces: skipped with the realdata reason locally, failed in CI (see shared_data)."""
    faces = shared_data / "faces"
    if not (faces / "makeup").is_dir():
        pytest.fail(f"{faces} has no makeup/ folder")
    return faces
