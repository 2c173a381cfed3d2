from __future__ import annotations

import pytest
import torch

from styleforge.errors import InputError
from styleforge.transfer.doodle import DoodleConfig, doodle_tensor, map_to_channels

BLUE, GREEN = torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 0.0])


def _fill(h, w, rgb):
    return rgb.view(1, 3, 1, 1).expand(1, 3, h, w).clone()


def test_map_to_channels_nearest_colour_and_errors():
    smap = torch.cat([_fill(8, 4, BLUE), _fill(8, 4, GREEN)], dim=3)
    tmap = _fill(8, 8, GREEN * 0.9)  # slightly off colour still maps to green
    s, t = map_to_channels(smap, tmap)
    assert s.shape == (1, 2, 8, 8) and torch.equal(s.sum(1), torch.ones(1, 8, 8))
    g = int(s[0, :, 0, 7].argmax())
    assert bool((t[0, g] == 1).all())
    with pytest.raises(InputError, match="not in the style map"):
        map_to_channels(smap, _fill(8, 8, torch.tensor([1.0, 0.0, 0.0])))


def test_doodle_paints_regions_from_matching_style_regions():
    g = torch.Generator().manual_seed(0)
    h, w = 48, 64
    # style: left = blue speckles, right = orange stripes; map: left blue, right green
    left = torch.rand(1, 3, h, w // 2, generator=g) * torch.tensor([0.2, 0.3, 1.0]).view(1, 3, 1, 1)
    stripes = (torch.arange(w // 2) % 6 < 3).float().view(1, 1, 1, -1).expand(1, 1, h, w // 2)
    right = torch.cat([0.9 * stripes + 0.1, 0.5 * stripes + 0.1, 0.05 * torch.ones_like(stripes)], 1)
    style = torch.cat([left, right], 3)
    smap = torch.cat([_fill(h, w // 2, BLUE), _fill(h, w // 2, GREEN)], 3)
    tmap = torch.cat([_fill(h // 2, w, GREEN), _fill(h // 2, w, BLUE)], 2)  # top green, bottom blue
    cfg = DoodleConfig(image_size=64, iterations=25, scales=(1.0,), seed=0, semantic_weight=20.0)
    r = doodle_tensor(style, smap, tmap, cfg)
    top, bottom = r.image[..., : h // 2, :].mean((0, 2, 3)), r.image[..., h // 2 :, :].mean((0, 2, 3))
    assert r.history[-1] < r.history[0]
    assert top[0] > top[2] + 0.1, top  # orange-ish on top (style's green region)
    assert bottom[2] > bottom[0] + 0.1, bottom  # blue at the bottom


def test_style_map_size_mismatch():
    with pytest.raises(InputError, match="must match"):
        doodle_tensor(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 4, 4), torch.rand(1, 3, 8, 8))
