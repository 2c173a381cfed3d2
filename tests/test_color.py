import torch

from styleforge.color import (
    histogram_match,
    mean_cov_match,
    original_colors,
    rgb_to_yiq,
    rgb_to_yuv,
    yiq_to_rgb,
    yuv_to_rgb,
)


def test_roundtrips():
    x = torch.rand(2, 3, 5, 7)
    assert torch.allclose(yuv_to_rgb(rgb_to_yuv(x)), x, atol=1e-5)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5)
    gray = torch.full((1, 3, 2, 2), 0.4)
    assert torch.allclose(rgb_to_yuv(gray)[:, 1:], torch.zeros(1, 2, 2, 2), atol=2e-5)


def test_original_colors_keeps_luma_and_chroma():
    stylized, content = torch.rand(1, 3, 8, 8) * 0.5 + 0.25, torch.rand(1, 3, 8, 8) * 0.5 + 0.25
    out = original_colors(stylized, content)
    assert torch.allclose(rgb_to_yuv(out)[:, :1], rgb_to_yuv(stylized)[:, :1], atol=1e-4)
    assert torch.allclose(rgb_to_yuv(out)[:, 1:], rgb_to_yuv(content)[:, 1:], atol=1e-4)


def test_mean_cov_match_statistics():
    src = torch.rand(1, 3, 16, 16) * 0.3
    tgt = torch.rand(1, 3, 16, 16) * 0.4 + 0.3
    tgt[:, 1] = tgt[:, 0] * 0.5 + 0.2  # correlated channels
    out = mean_cov_match(src, tgt)
    o, t = out[0].reshape(3, -1), tgt[0].reshape(3, -1)
    assert torch.allclose(o.mean(1), t.mean(1), atol=2e-3)
    assert torch.allclose(torch.cov(o), torch.cov(t), atol=2e-3)


def test_histogram_match_takes_target_values():
    src = torch.rand(1, 3, 10, 10)
    tgt = torch.rand(1, 3, 10, 10) ** 3
    out = histogram_match(src, tgt)
    for c in range(3):
        assert torch.allclose(out[0, c].flatten().sort().values, tgt[0, c].flatten().sort().values)
        # order preserved: brightest source pixel gets the brightest target value
        assert out[0, c].flatten().argmax() == src[0, c].flatten().argmax()


def test_mean_cov_affine_weights_select_the_segment():
    """Weights 0/1 give the map of the selected columns alone; the map carries their mean and covariance."""
    from styleforge.color import mean_cov_affine, weighted_mean_cov

    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 200, generator=g, dtype=torch.float64)
    y = torch.rand(3, 150, generator=g, dtype=torch.float64) * 0.5 + 0.2
    wx = (torch.arange(200) % 3 == 0).double()
    wy = (torch.arange(150) < 90).double()
    a, mx, my = mean_cov_affine(x, y, wx, wy, eps=0.0)
    a2, mx2, my2 = mean_cov_affine(x[:, wx > 0], y[:, wy > 0], eps=0.0)
    assert torch.allclose(a, a2) and torch.allclose(mx, mx2) and torch.allclose(my, my2)
    moved = a @ (x[:, wx > 0] - mx) + my
    m, c = weighted_mean_cov(moved)
    m_t, c_t = weighted_mean_cov(y[:, wy > 0])
    assert torch.allclose(m, m_t, atol=1e-9) and torch.allclose(c, c_t, atol=1e-9)
    assert not torch.allclose(a, mean_cov_affine(x, y, eps=0.0)[0])  # the weights matter


def test_lab_matches_skimage_and_round_trips():
    skimage = __import__("pytest").importorskip("skimage.color")
    from styleforge.color import lab_to_rgb, rgb_to_lab

    rgb = torch.rand(1, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    lab = rgb_to_lab(rgb)
    ref = torch.from_numpy(skimage.rgb2lab(rgb[0].permute(1, 2, 0).numpy().astype("float64"))).permute(2, 0, 1)
    assert torch.allclose(lab[0].double(), ref, atol=1e-3)
    assert torch.allclose(lab_to_rgb(lab), rgb, atol=1e-5) and lab.dtype == rgb.dtype
