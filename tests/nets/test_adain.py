"""AdaIN: statistics at alpha 1 and 0, decoder shapes, mask and interpolation."""

from __future__ import annotations

import pytest
import torch

from styleforge.nets.adain import DECODER_CONFIGS, AdaINNet, Decoder, adain, feature_stats


def test_adain_matches_style_statistics() -> None:
    g = torch.Generator().manual_seed(0)
    c = torch.randn(2, 8, 9, 7, generator=g)
    s = 3 * torch.randn(2, 8, 5, 6, generator=g) + 2
    t = adain(c, *feature_stats(s))
    (tm, ts), (sm, ss) = feature_stats(t), feature_stats(s)
    assert torch.allclose(tm, sm, atol=1e-4) and torch.allclose(ts, ss, atol=1e-3)
    # the spatial pattern is the content's: normalised features are equal
    cm, cs = feature_stats(c)
    assert torch.allclose((t - tm) / ts, (c - cm) / cs, atol=1e-3)


def test_feature_stats_hand_computed() -> None:
    f = torch.tensor([[[[1.0, 3.0], [1.0, 3.0]]]])
    mean, std = feature_stats(f, eps=0.0)
    assert float(mean) == 2.0 and float(std) == 1.0


class _Encoder(torch.nn.Module):
    """A tiny stand-in for VGG: relu4_1 = a fixed 8-channel conv at 1/8 size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 512, 8, stride=8)

    def forward(self, x, layers):  # noqa: ANN001, ANN201
        return {"relu4_1": torch.relu(self.conv(x))}


@pytest.fixture()
def net() -> AdaINNet:
    torch.manual_seed(0)
    return AdaINNet(_Encoder(), Decoder(DECODER_CONFIGS["small"])).eval()


def test_alpha_zero_and_one(net: AdaINNet) -> None:
    """alpha 0 decodes the content's own features; alpha 1 the AdaIN target."""
    c, s = torch.rand(1, 3, 64, 48), torch.rand(1, 3, 40, 40)
    f_c = net.encode(c)
    stats = net.style_stats(s)
    with torch.no_grad():
        y0 = net.stylize_stats(c, [stats], alpha=0.0)
        y1 = net.stylize_stats(c, [stats], alpha=1.0)
        ref0 = net.decoder(f_c, size=(64, 48)).clamp(0, 1)
        ref1 = net.decoder(adain(f_c, *stats), size=(64, 48)).clamp(0, 1)
    assert torch.allclose(y0, ref0, atol=1e-5) and torch.allclose(y1, ref1, atol=1e-5)
    assert not torch.allclose(y0, y1)


@pytest.mark.parametrize("hw", [(64, 48), (37, 53)])
def test_decoder_restores_any_size(net: AdaINNet, hw: tuple[int, int]) -> None:
    with torch.no_grad():
        y = net(torch.rand(1, 3, *hw), torch.rand(1, 3, 32, 32))
    assert y.shape == (1, 3, *hw)


def test_interpolation_and_mask(net: AdaINNet) -> None:
    c = torch.rand(1, 3, 64, 64)
    a, b = net.style_stats(torch.rand(1, 3, 32, 32)), net.style_stats(torch.rand(1, 3, 32, 32) * 0.2)
    with torch.no_grad():
        only_a = net.stylize_stats(c, [a, b], [1.0, 0.0])
        assert torch.allclose(only_a, net.stylize_stats(c, [a]), atol=1e-6)
        ones = torch.ones(1, 1, 64, 64)
        assert torch.allclose(net.stylize_stats(c, [a, b], mask=ones), net.stylize_stats(c, [a]), atol=1e-6)
        assert torch.allclose(net.stylize_stats(c, [a, b], mask=0 * ones), net.stylize_stats(c, [b]), atol=1e-6)
    with pytest.raises(ValueError):
        net.stylize_stats(c, [a], mask=ones)
