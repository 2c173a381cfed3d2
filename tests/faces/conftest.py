"""Shared fixtures for the face-pipeline tests (real MT-dataset faces from ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "faces"


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES / "makeup").is_dir():
        pytest.skip("shared face data not available")
    return FACES


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))
