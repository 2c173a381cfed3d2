"""Automatic matched masks: k-means, label matching, mIoU after matching."""

from __future__ import annotations

import numpy as np
import torch

from styleforge.transfer.automask import auto_masks, kmeans, matched_miou


def test_matched_miou_ignores_label_names_and_counts_misses():
    truth = np.zeros((10, 10), np.int64)
    truth[5:] = 1
    assert matched_miou(3 - truth * 2, truth) == 1.0  # same partition, other numbers
    assert matched_miou(np.zeros_like(truth), truth) == 0.25  # one label matched at IoU 0.5, one unmatched


def test_kmeans_separates_clear_clusters():
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(200, 2, generator=g) * 0.1, torch.randn(100, 2, generator=g) * 0.1 + 3])
    labels, centres = kmeans(x, 2, seed=1)
    assert len(set(labels[:200].tolist())) == 1 and len(set(labels[200:].tolist())) == 1
    assert labels[0] != labels[-1]


def _scene(h: int, w: int, sky: tuple, ground: tuple, horizon: float, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3))
    cut = int(h * horizon)
    img[:cut] = sky
    img[:cut] += 0.02 * rng.standard_normal((cut, w, 3))
    img[cut:] = ground
    img[cut:] += 0.25 * rng.standard_normal((h - cut, w, 3))  # textured ground
    return torch.from_numpy(np.clip(img, 0, 1).transpose(2, 0, 1))[None].float()


def test_auto_masks_find_matching_sky_and_ground():
    from styleforge.backbones import build_backbone

    net = build_backbone("vgg16-offline", layers=("relu3_1", "relu4_1"))
    c = _scene(64, 96, (0.6, 0.7, 0.9), (0.3, 0.5, 0.2), 0.5, 0)
    s = _scene(72, 72, (0.9, 0.5, 0.3), (0.3, 0.3, 0.35), 0.4, 1)
    cl, sl = auto_masks(c, s, segments=2, net=net)
    assert cl.shape == (64, 96) and sl.shape == (72, 72)
    truth_c = np.zeros((64, 96), np.int64)
    truth_c[32:] = 1
    truth_s = np.zeros((72, 72), np.int64)
    truth_s[29:] = 1
    assert matched_miou(cl, truth_c) > 0.8
    assert matched_miou(sl, truth_s) > 0.8
    # the same label names the same region in both photos, and every content label exists in the style
    assert cl[5, 5] == sl[5, 5] and cl[-5, -5] == sl[-5, -5]
    assert set(np.unique(cl)) <= set(np.unique(sl))
