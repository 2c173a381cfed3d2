"""benchmarks/wct_feedback.py: its settings and its tuning pairs (never the held-out ones)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _bench():  # noqa: ANN202
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("wct_feedback", REPO / "benchmarks" / "wct_feedback.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_settings_parse() -> None:
    parse = _bench().parse_setting
    assert parse("none") == ({}, 1)
    assert parse("relu2_1=1") == ({"relu2_1": 1.0}, 1)
    assert parse("relu2_1=0.5,relu3_1=0.25x2") == ({"relu2_1": 0.5, "relu3_1": 0.25}, 2)


@pytest.mark.realdata
def test_tuning_pairs_avoid_the_held_out_images(shared_data) -> None:  # noqa: ANN001
    b = _bench()
    pairs = b.tuning_pairs(shared_data, 16)
    photos, paintings = b.iq.heldout(shared_data)
    assert len(set(pairs)) == 16 and all(p.is_file() and s.is_file() for p, s in pairs)
    assert not ({p for p, _ in pairs} & set(photos)) and not ({s for _, s in pairs} & set(paintings))
