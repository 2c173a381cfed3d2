import math

import pytest
import torch

from styleforge.errors import InputError
from styleforge.gan import gan_loss, gradient_penalty


def test_vanilla_is_bce_with_logits():
    pred = torch.tensor([[0.0, 2.0], [-1.0, 3.0]])
    want_real = sum(-math.log(1 / (1 + math.exp(-v))) for v in (0.0, 2.0, -1.0, 3.0)) / 4
    want_fake = sum(-math.log(1 - 1 / (1 + math.exp(-v))) for v in (0.0, 2.0, -1.0, 3.0)) / 4
    assert float(gan_loss(pred, True, "vanilla")) == pytest.approx(want_real, rel=1e-6)
    assert float(gan_loss(pred, False, "vanilla")) == pytest.approx(want_fake, rel=1e-6)


def test_lsgan_and_wgan_values():
    pred = torch.tensor([0.0, 0.5, 2.0])
    assert float(gan_loss(pred, True, "lsgan")) == pytest.approx((1 + 0.25 + 1) / 3)
    assert float(gan_loss(pred, False, "lsgan")) == pytest.approx((0 + 0.25 + 4) / 3)
    assert float(gan_loss(pred, True, "wgangp")) == pytest.approx(-2.5 / 3)
    assert float(gan_loss(pred, False, "wgangp")) == pytest.approx(2.5 / 3)
    with pytest.raises(InputError, match="did you mean 'lsgan'"):
        gan_loss(pred, True, "lsgn")


def test_gradient_penalty_of_linear_critic():
    w = torch.tensor([3.0, 4.0])  # critic(x) = <w, x> per sample → ‖∇‖ = 5

    def critic(x):
        return (x.flatten(1) * w).sum(1)

    real, fake = torch.randn(4, 2, 1, 1), torch.randn(4, 2, 1, 1)
    gp = gradient_penalty(critic, real, fake, weight=10.0, generator=torch.Generator().manual_seed(0))
    assert float(gp) == pytest.approx(10 * (5 - 1) ** 2)
