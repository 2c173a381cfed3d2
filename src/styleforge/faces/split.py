"""Reproducible train/test split, grouped so faces from one photo stay together."""

from __future__ import annotations

__all__ = ["split_groups"]

from collections.abc import Sequence

import torch


def split_groups(groups: Sequence[str], test_ratio: float, seed: int) -> list[str]:
    """Assign ``"train"`` or ``"test"`` to each item, whole groups at a time.

    Groups are ordered by name, then shuffled with a seeded ``torch.Generator``,
    so the split depends only on the set of group names, the ratio and the seed
    (not on file-system order).  With ``0 < test_ratio < 1`` and at least two
    groups, each side gets at least one group.

    Examples:
        >>> split_groups(["a", "b", "c", "d"], 0.5, seed=0).count("test")
        2
    """
    if not 0.0 <= test_ratio < 1.0:
        raise ValueError(f"test ratio must be in [0, 1), got {test_ratio}")
    names = sorted(set(groups))
    g = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(len(names), generator=g).tolist()
    n_test = round(test_ratio * len(names))
    if test_ratio > 0 and len(names) >= 2:
        n_test = min(max(n_test, 1), len(names) - 1)
    test = {names[i] for i in order[:n_test]}
    return ["test" if k in test else "train" for k in groups]
