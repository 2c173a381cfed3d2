"""benchmarks/instant_quality.py: the sealed pairs and the medians of per-pair ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _bench():  # noqa: ANN202
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("instant_quality", REPO / "benchmarks" / "instant_quality.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_sealed_pairs_are_every_photo_with_every_painting() -> None:
    pairs = _bench().sealed_pairs()
    assert len(pairs) == 16 and len(set(pairs)) == 16
    assert all(p.is_file() and s.is_file() for p, s in pairs)
    assert {p.parent.name for p, _ in pairs} == {"photos"} and {s.parent.name for _, s in pairs} == {"paintings"}


def _row(v: float, edges: float) -> dict[str, float]:
    return {"style": v, "content": v, "texture": v, "colour": v, "edges": edges, "border": v}


def test_ratios_are_medians_of_per_pair_ratios_and_count_wins_by_direction() -> None:
    scores = {
        "stl": {0: _row(1.0, 0.5), 1: _row(2.0, 0.5), 2: _row(4.0, 0.5)},
        "wct": {0: _row(0.5, 1.0), 1: _row(4.0, 0.25), 2: _row(2.0, 1.0)},
    }
    r = _bench().ratios_vs(scores)["wct"]
    assert r["style"]["median_ratio"] == pytest.approx(0.5)  # ratios 0.5, 2, 0.5
    assert r["style"]["ratio_of_medians"] == pytest.approx(2.0 / 2.0)
    assert r["style"]["better"] == 2 and r["style"]["pairs"] == 3  # lower is better
    assert r["edges"]["median_ratio"] == pytest.approx(2.0)
    assert r["edges"]["better"] == 2  # higher is better for edges
