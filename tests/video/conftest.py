"""Fixtures of the video tests: tiny clips written in the test's folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("av")

from videoclips import pan_frames, write_clip  # noqa: E402


@pytest.fixture
def make_clip(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "clip.mp4", frames: list[np.ndarray] | None = None, **kw: object) -> Path:
        return write_clip(tmp_path / name, frames if frames is not None else pan_frames(), **kw)  # type: ignore[arg-type]

    return make
