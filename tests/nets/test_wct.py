"""Whitening–colouring maths and the reconstruction decoders' shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from styleforge.nets.wct import ReconDecoder, StyleStats, WCTNet, blend_stats, covariance_stats, wct, wct_affine


def _np_cov(f: np.ndarray) -> np.ndarray:
    x = f.reshape(f.shape[0], -1)
    xc = x - x.mean(axis=1, keepdims=True)
    return xc @ xc.T / x.shape[1]


def test_covariance_stats_match_numpy() -> None:
    f = torch.randn(1, 5, 7, 6, dtype=torch.float64)
    s = covariance_stats(f)
    np.testing.assert_allclose(s.cov.numpy(), _np_cov(f[0].numpy()), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s.mean[:, 0].numpy(), f[0].numpy().reshape(5, -1).mean(1), rtol=1e-4, atol=1e-6)


def test_covariance_stats_subsample_large_maps_on_a_grid() -> None:
    g = torch.Generator().manual_seed(3)
    # a smooth map (upsampled noise): the grid of every other pixel sees the same statistics
    f = torch.nn.functional.interpolate(torch.randn(1, 4, 32, 32, generator=g), size=(256, 256), mode="bilinear")
    full, sub = covariance_stats(f, max_samples=None), covariance_stats(f, max_samples=256 * 256 // 4)
    assert torch.allclose(sub.cov, full.cov, rtol=0.05, atol=0.05 * float(full.cov.abs().max()))
    assert not torch.equal(sub.cov, full.cov)  # it did subsample
    assert torch.equal(covariance_stats(f).cov, full.cov)  # 65 536 pixels: at the default limit, every pixel


def test_wct_affine_is_wct_and_its_alpha_blend() -> None:
    g = torch.Generator().manual_seed(4)
    content, style = torch.randn(1, 5, 9, 11, generator=g), 2 * torch.randn(1, 5, 12, 10, generator=g) + 1
    ss = covariance_stats(style)
    for alpha in (1.0, 0.3):
        a, b = wct_affine(covariance_stats(content), ss, alpha=alpha, gain=1.1)
        got = (a @ content.reshape(5, -1) + b).reshape(content.shape)
        direct = alpha * wct(content, ss, gain=1.1) + (1 - alpha) * content
        assert torch.allclose(got, direct, atol=1e-4)
        assert torch.allclose(wct(content, ss, alpha=alpha, gain=1.1), direct, atol=1e-4)
    assert 1e-5 in ss.roots  # the colouring matrix is kept for the next photo


@pytest.mark.parametrize("level", ["relu1_1", "relu2_1"])
def test_decoder_folds_an_affine_map_into_its_first_convolution(level: str) -> None:
    g = torch.Generator().manual_seed(5)
    c = {"relu1_1": 64, "relu2_1": 128}[level]
    d = ReconDecoder(level, width=0.25).double()
    f = torch.randn(1, c, 6, 7, generator=g, dtype=torch.float64) * 50
    a = torch.randn(c, c, generator=g, dtype=torch.float64) / c**0.5
    b = torch.randn(c, 1, generator=g, dtype=torch.float64) * 30
    moved = (a @ f.reshape(c, -1) + b).reshape(f.shape)
    assert torch.allclose(d(f, affine=(a, b)), d(moved), atol=1e-9)


def test_wct_net_is_the_same_in_either_memory_layout() -> None:
    decs = {"relu1_1": ReconDecoder("relu1_1"), "relu2_1": ReconDecoder("relu2_1", 0.25)}
    photo, style = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 20, 20)
    outs = []
    for cl in (True, False):
        net = WCTNet(_FakeEncoder(), decs, sizes=[24, None], channels_last=cl)
        with torch.no_grad():
            outs.append(net.stylize_stats(photo, [net.style_stats(style)], alpha=0.8))
    assert torch.allclose(outs[0], outs[1], atol=1e-5)


def test_wct_gives_the_style_statistics_and_keeps_the_content_order() -> None:
    g = torch.Generator().manual_seed(0)
    content = torch.randn(1, 6, 20, 20, generator=g)
    a = torch.randn(6, 6, generator=g)
    style = (a @ torch.randn(6, 500, generator=g) + 2.0).reshape(1, 6, 20, 25)
    t = wct(content, covariance_stats(style))
    got, want = covariance_stats(t), covariance_stats(style)
    assert torch.allclose(got.cov, want.cov, atol=1e-3 * float(want.cov.abs().max()))
    assert torch.allclose(got.mean, want.mean, atol=1e-3)
    # the spatial layout is the content's: a channel of the output correlates with the content
    corr = np.corrcoef(t[0].reshape(6, -1).numpy(), content[0].reshape(6, -1).numpy())[:6, 6:]
    assert np.abs(corr).max(axis=1).min() > 0.2
    # alpha = 0 gives the content back
    assert torch.allclose(wct(content, covariance_stats(style), alpha=0.0), content, atol=1e-5)


def test_blend_stats_is_the_mixture_of_two_styles() -> None:
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(1, 3, 10, 10, generator=g), 3 * torch.randn(1, 3, 10, 10, generator=g) + 1
    mix = blend_stats([covariance_stats(a), covariance_stats(b)], [1.0, 1.0])
    both = covariance_stats(torch.cat([a, b], dim=3))  # the pooled sample
    assert torch.allclose(mix.cov, both.cov, atol=1e-4) and torch.allclose(mix.mean, both.mean, atol=1e-5)
    only_a = blend_stats([covariance_stats(a), covariance_stats(b)], [1.0, 0.0])
    assert torch.allclose(only_a.cov, covariance_stats(a).cov, atol=1e-5)


@pytest.mark.parametrize(("level", "factor"), [("relu1_1", 1), ("relu2_1", 2), ("relu3_1", 4), ("relu4_1", 8)])
def test_decoder_maps_features_back_to_the_image_size(level: str, factor: int) -> None:
    ch = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512}[level]
    d = ReconDecoder(level, width=0.25)
    y = d(torch.randn(1, ch, 32 // factor, 40 // factor))
    assert y.shape == (1, 3, 32, 40)
    assert d(torch.randn(1, ch, 32 // factor, 40 // factor), size=(33, 41)).shape == (1, 3, 33, 41)
    with pytest.raises(ValueError, match="unknown WCT level"):
        ReconDecoder("relu5_1")


class _FakeEncoder(torch.nn.Module):
    """Average-pooled copies of the image's channels, tiled to the level's width (an invertible toy)."""

    def forward(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
        out = {}
        for lv in layers:
            k = {"relu1_1": 1, "relu2_1": 2}[lv]
            f = torch.nn.functional.avg_pool2d(x, k) if k > 1 else x
            out[lv] = (
                f.repeat(1, {"relu1_1": 64, "relu2_1": 128}[lv] // 3 + 1, 1, 1)[
                    :, : {"relu1_1": 64, "relu2_1": 128}[lv]
                ]
                * 100
            )
        return out


def test_wct_net_runs_coarse_to_fine_with_alpha_weights_and_mask() -> None:
    net = WCTNet(
        _FakeEncoder(), {"relu1_1": ReconDecoder("relu1_1"), "relu2_1": ReconDecoder("relu2_1", 0.25)}, deep_size=24
    )
    assert net.levels == ["relu2_1", "relu1_1"]
    photo, s1, s2 = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 20, 20), torch.rand(1, 3, 16, 16)
    st = [net.style_stats(s1), net.style_stats(s2)]
    # the deep pass works at 24 px: its statistics come from the style at 24 px, keyed by level and size
    assert set(st[0]) == {"relu1_1", "relu2_1@24"} and isinstance(st[0]["relu1_1"], StyleStats)
    with torch.no_grad():
        y = net.stylize_stats(photo, st, [0.5, 0.5], alpha=0.7)
        assert y.shape == photo.shape and 0 <= float(y.min()) and float(y.max()) <= 1
        m = torch.zeros(1, 1, 32, 48)
        assert net.stylize_stats(photo, st, mask=m).shape == photo.shape
        with pytest.raises(ValueError, match="exactly two"):
            net.stylize_stats(photo, st[:1], mask=m)


def test_wct_net_pass_sizes_set_each_pass_work_image_and_style_scale() -> None:
    seen: list[tuple[str, tuple[int, int]]] = []

    class Spy(_FakeEncoder):
        def forward(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
            seen.extend((lv, tuple(x.shape[-2:])) for lv in layers)
            return super().forward(x, layers)

    decs = {"relu1_1": ReconDecoder("relu1_1"), "relu2_1": ReconDecoder("relu2_1", 0.25)}
    net = WCTNet(Spy(), decs, passes=["relu2_1", "relu2_1", "relu1_1"], sizes=[32, 48, None])
    st = net.style_stats(torch.rand(1, 3, 60, 80))
    assert set(st) == {"relu2_1@32", "relu2_1@48", "relu1_1"}
    assert seen == [("relu2_1", (24, 32)), ("relu2_1", (36, 48)), ("relu1_1", (60, 80))]
    seen.clear()
    with torch.no_grad():
        y = net.stylize_stats(torch.rand(1, 3, 64, 96), [st])
    assert y.shape == (1, 3, 64, 96)
    assert seen == [("relu2_1", (21, 32)), ("relu2_1", (32, 48)), ("relu1_1", (64, 96))]
    with pytest.raises(ValueError, match="2 pass sizes for 3 passes"):
        WCTNet(Spy(), decs, passes=["relu2_1", "relu2_1", "relu1_1"], sizes=[32, None])
    with pytest.raises(ValueError, match="at least 16 px"):
        WCTNet(Spy(), decs, passes=["relu2_1", "relu1_1"], sizes=[8, None])


def test_feedback_moves_the_decoder_input_by_eta_times_the_miss() -> None:
    torch.manual_seed(0)
    decs = {"relu1_1": ReconDecoder("relu1_1"), "relu2_1": ReconDecoder("relu2_1", 0.25)}
    plain = WCTNet(_FakeEncoder(), decs, passes=["relu2_1"])
    fed = WCTNet(_FakeEncoder(), decs, passes=["relu2_1"], feedback={"relu2_1": 0.5}, feedback_steps=2)
    photo, style = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 24, 24)
    st = plain.style_stats(style)
    with torch.no_grad():
        f = plain._enc(photo, ["relu2_1"])["relu2_1"]
        t = wct(f.float(), st["relu2_1"])
        y, z = plain._dec("relu2_1", t, (32, 48)), t
        for _ in range(2):  # z ← z + η (t − E(D(z)))
            z = z + 0.5 * (t - plain._enc(y, ["relu2_1"])["relu2_1"].float())
            y = plain._dec("relu2_1", z, (32, 48))
        assert torch.allclose(fed.stylize_stats(photo, [st]), y, atol=1e-5)
        assert not torch.allclose(plain.stylize_stats(photo, [st]), y, atol=1e-3)
    # a level without η is decoded once
    only1 = dict(passes=["relu1_1"])
    one = WCTNet(_FakeEncoder(), decs, **only1)
    st1 = one.style_stats(style)
    assert torch.equal(
        one.stylize_stats(photo, [st1]),
        WCTNet(_FakeEncoder(), decs, feedback={"relu2_1": 0.5}, **only1).stylize_stats(photo, [st1]),
    )
    for bad in ({"relu2_1": -1.0}, {"relu3_1": 0.5}):
        with pytest.raises(ValueError, match="feedback"):
            WCTNet(_FakeEncoder(), decs, feedback=bad)
