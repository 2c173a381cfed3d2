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


def test_prepare_masks_given_masks_at_the_work_size_and_their_errors(tmp_path):
    """Given DPST masks: parsed at each photo's work size and paired; one mask alone, a wrong aspect ratio or a
    content colour missing from the style are one-line errors."""
    import numpy as np
    import pytest
    from PIL import Image

    from styleforge.errors import InputError
    from styleforge.transfer.automask import prepare_masks

    content, style = Image.new("RGB", (400, 200)), Image.new("RGB", (300, 300))
    cm = np.zeros((100, 200, 3), np.uint8)
    cm[:, :100] = (0, 0, 255)  # blue left half, red right half
    cm[:, 100:] = (255, 0, 0)
    sm = np.zeros((150, 150, 3), np.uint8)
    sm[:75] = (255, 0, 0)
    sm[75:] = (0, 0, 255)
    Image.fromarray(cm).save(tmp_path / "c.png")
    maps = prepare_masks(content, style, tmp_path / "c.png", Image.fromarray(sm), work_size=100)
    assert maps is not None
    cl, sl = maps
    assert cl.shape == (50, 100) and sl.shape == (100, 100)  # each photo's long side at 100
    assert cl[0, 0] != cl[0, -1] and set(np.unique(cl)) == set(np.unique(sl))
    assert prepare_masks(content, style) is None and prepare_masks(content, style, auto=False) is None
    full = prepare_masks(content, style, tmp_path / "c.png", Image.fromarray(sm))
    assert full is not None and full[0].shape == (200, 400)
    with pytest.raises(InputError, match="both"):
        prepare_masks(content, style, tmp_path / "c.png", None)
    with pytest.raises(InputError, match="aspect ratio"):
        prepare_masks(content, style, Image.fromarray(sm), Image.fromarray(sm))
    only_red = np.full((150, 150, 3), (255, 0, 0), np.uint8)
    with pytest.raises(InputError):
        prepare_masks(content, style, tmp_path / "c.png", Image.fromarray(only_red))
