import math

import torch

from styleforge.engine.metrics import l1, psnr, ssim


def test_psnr_known_value_and_ssim_properties():
    x = torch.zeros(2, 3, 16, 16)
    y = x + 0.1
    assert torch.allclose(psnr(x, y), torch.tensor(20.0))
    assert math.isclose(float(l1(x, y)[0]), 0.1, rel_tol=1e-6)
    img = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert float(ssim(img, img)) == 1.0
    noisy = (img + 0.2 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    blurred = torch.nn.functional.avg_pool2d(img, 3, 1, 1)
    assert 0 < float(ssim(img, noisy)) < 0.9
    assert float(ssim(img, noisy)) < float(ssim(img, img * 0.9 + 0.05))
    assert float(ssim(img, 1 - img)) < 0 < float(ssim(img, blurred))


def _sample_pair() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's ``astronaut`` (public domain) 96×96 and a noisy, blurred, darker copy."""
    from skimage import data

    x = torch.from_numpy(data.astronaut()[::4, ::4][16:112, 16:112].copy()).permute(2, 0, 1)[None].double() / 255
    g = torch.Generator().manual_seed(2)
    y = torch.nn.functional.avg_pool2d(x, 3, 1, 1) * 0.9 + 0.05 * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return x, y.clamp(0, 1)


def test_ssim_and_psnr_match_scikit_image():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    x, y = _sample_pair()
    a, b = (t[0].permute(1, 2, 0).numpy() for t in (x, y))
    want = structural_similarity(
        a, b, data_range=1.0, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert 0.3 < want < 0.95  # a real, mid-range case
    assert math.isclose(float(ssim(x, y)), want, abs_tol=1e-5)
    box = structural_similarity(a, b, data_range=1.0, channel_axis=-1, win_size=7, use_sample_covariance=False)
    assert math.isclose(float(ssim(x, y, window=7, sigma=None)), box, abs_tol=1e-5)
    gray_a, gray_b = a.mean(-1), b.mean(-1)  # one channel, another data range
    want = structural_similarity(
        gray_a * 4, gray_b * 4, data_range=4.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    got = ssim(torch.from_numpy(gray_a)[None, None] * 4, torch.from_numpy(gray_b)[None, None] * 4, data_range=4.0)
    assert math.isclose(float(got), want, abs_tol=1e-5)
    assert math.isclose(float(psnr(x, y)), peak_signal_noise_ratio(a, b, data_range=1.0), abs_tol=1e-4)
