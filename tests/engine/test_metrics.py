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
