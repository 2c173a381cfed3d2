import random

import pytest

from styleforge.faces.split import split_groups


def test_same_seed_same_split_regardless_of_order():
    groups = [f"photo{i:03d}" for i in range(50)]
    a = dict(zip(groups, split_groups(groups, 0.2, seed=7), strict=True))
    shuffled = groups[:]
    random.Random(1).shuffle(shuffled)
    b = dict(zip(shuffled, split_groups(shuffled, 0.2, seed=7), strict=True))
    assert a == b
    assert sum(v == "test" for v in a.values()) == 10
    c = dict(zip(groups, split_groups(groups, 0.2, seed=8), strict=True))
    assert c != a


def test_faces_of_one_photo_stay_together():
    groups = ["a", "a", "b", "c", "c", "c", "d", "e"]
    for seed in range(10):
        sides = split_groups(groups, 0.4, seed)
        by = {}
        for g, s in zip(groups, sides, strict=True):
            by.setdefault(g, set()).add(s)
        assert all(len(v) == 1 for v in by.values())
        assert "test" in sides and "train" in sides


def test_ratio_edges():
    assert split_groups(["a", "b"], 0.0, 0) == ["train", "train"]
    assert sorted(split_groups(["a", "b"], 0.01, 0)) == ["test", "train"]  # at least one each
    assert split_groups(["a", "a"], 0.5, 0) == ["train", "train"]  # one photo cannot be split
    with pytest.raises(ValueError):
        split_groups(["a"], 1.0, 0)
