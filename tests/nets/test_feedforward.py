"""TransformerNet (Johnson et al.): shapes at odd sizes, range, configs, no transposed convolutions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from styleforge.nets.feedforward import TRANSFORMER_CONFIGS, TransformerConfig, TransformerNet


@pytest.mark.parametrize(
    ("arch", "hw"),
    [("small", (37, 50)), ("small", (17, 101)), ("fast", (37, 50)), ("fast", (9, 63)), ("johnson", (33, 40))],
)
def test_output_shape_and_range_at_odd_sizes(arch: str, hw: tuple[int, int]) -> None:
    net = TransformerNet(TRANSFORMER_CONFIGS[arch])
    y = net(torch.rand(2, 3, *hw))
    assert y.shape == (2, 3, *hw)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_architecture_choices() -> None:
    net = TransformerNet(TransformerConfig())
    mods = list(net.modules())
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in mods)
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in mods) == sum(isinstance(m, nn.Conv2d) for m in mods)
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in mods) == 2 * 5 + 5  # 5 residual blocks
    small = TransformerNet(TRANSFORMER_CONFIGS["small"])
    n_small = sum(p.numel() for p in small.parameters())
    n_big = sum(p.numel() for p in net.parameters())
    assert n_small * 5 < n_big


@pytest.mark.parametrize("arch", sorted(TRANSFORMER_CONFIGS))
def test_config_round_trip(arch: str) -> None:
    cfg = TRANSFORMER_CONFIGS[arch]
    assert TransformerConfig.from_dict(cfg.to_dict()) == cfg


def test_skip_eps_keeps_gradient_on_dark_pixels_and_old_files_load_unchanged() -> None:
    """Black input pixels must still get a gradient (else they stay black, untextured)."""
    grads = {}
    for eps in (1e-3, 0.05):
        cfg = TransformerConfig(channels=(4, 8, 8), n_residual=1, input_skip=True, skip_eps=eps)
        net = TransformerNet(cfg)
        nn.init.constant_(net.out[1].bias, 0.0)
        y = net(torch.zeros(1, 3, 16, 16))
        y.sum().backward()
        grads[eps] = float(net.out[1].bias.grad.abs().mean())  # type: ignore[union-attr]
    assert grads[0.05] > 20 * grads[1e-3]
    d = TRANSFORMER_CONFIGS["fast"].to_dict()
    del d["skip_eps"]  # weights saved before the field existed keep the old clamp
    assert TransformerConfig.from_dict(d).skip_eps == 1e-3


def _conv_flops(net: nn.Module, hw: tuple[int, int]) -> int:
    """Multiply-accumulates of every convolution for one ``hw`` image."""
    total = 0

    def hook(m: nn.Module, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]  # type: ignore[union-attr,index]
        total += out.numel() * k

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.rand(1, 3, *hw))
    for h in hs:
        h.remove()
    return total


def test_fast_variant_is_the_cheapest_and_tapers() -> None:
    """``fast`` (the built-in models' network) costs under half of ``small`` and ~1/10 of Johnson's."""
    fast, small, johnson = (TransformerNet(TRANSFORMER_CONFIGS[a]) for a in ("fast", "small", "johnson"))
    f, s, j = (_conv_flops(n, (96, 128)) for n in (fast, small, johnson))
    assert f < 0.5 * s and f < 0.1 * j
    assert fast.up2.conv[1].out_channels == 8 and fast.out[1].kernel_size == (5, 5)


def test_training_step_lowers_a_loss() -> None:
    """A few Adam steps fit a fixed target (the network can learn, gradients flow everywhere)."""
    torch.manual_seed(0)
    net = TransformerNet(TRANSFORMER_CONFIGS["small"])
    x = torch.rand(2, 3, 32, 32)
    target = 1 - x  # invert colours
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x), target)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0]
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("arch", ["small", "fast"])
def test_cpu_variants_start_as_identity(arch: str) -> None:
    net = TransformerNet(TRANSFORMER_CONFIGS[arch])
    eps = TRANSFORMER_CONFIGS[arch].skip_eps
    x = torch.rand(1, 3, 24, 30) * (1 - 2 * eps) + eps
    assert torch.allclose(net(x), x, atol=1e-5)
    assert not TransformerConfig().input_skip  # Johnson's network is unchanged
