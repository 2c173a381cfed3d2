import dataclasses

import pytest
import torch
import torch.nn.functional as F

from styleforge.engine import StepContext
from styleforge.errors import InputError
from styleforge.gan.cyclegan import PRESETS, CycleGAN, CycleGANConfig, cycle_loss, identity_loss
from styleforge.gan.losses import gan_loss

TINY = dict(netG="resnet_6blocks", ngf=4, ndf=4)


def _batch(c_a=3, c_b=3, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "A": torch.rand(1, c_a, size, size, generator=g) * 2 - 1,
        "B": torch.rand(1, c_b, size, size, generator=g) * 2 - 1,
    }


def _ctx(model, sgd=False):
    if sgd:  # plain gradient steps: parameter change = -0.01·gradient, to compare gradients exactly
        opts = {
            "G": torch.optim.SGD([p for k in ("G_A", "G_B") for p in model.networks[k].parameters()], lr=0.01),
            "D": torch.optim.SGD([p for k in ("D_A", "D_B") for p in model.networks[k].parameters()], lr=0.01),
        }
    else:
        opts = model.make_optimizers()
    return StepContext(dict(model.networks), opts, torch.device("cpu"))


def test_defaults_are_the_paper_recipe():
    c = CycleGANConfig()
    assert (
        c.netG,
        c.netD,
        c.gan_mode,
        c.lambda_A,
        c.lambda_B,
        c.lambda_identity,
        c.pool_size,
        c.norm,
        c.padding,
        c.dropout,
        c.lr,
        c.beta1,
    ) == ("resnet_9blocks", "basic", "lsgan", 10.0, 10.0, 0.5, 50, "instance", "reflect", False, 2e-4, 0.5)
    m = CycleGAN(CycleGANConfig(**TINY))
    opts = m.make_optimizers()
    assert set(opts) == {"G", "D"} and opts["G"].defaults["betas"] == (0.5, 0.999)
    n_g = sum(p.numel() for k in ("G_A", "G_B") for p in m.networks[k].parameters())
    assert sum(p.numel() for g in opts["G"].param_groups for p in g["params"]) == n_g
    assert isinstance(m.networks["G_A"].model[0], torch.nn.ReflectionPad2d)
    assert any(isinstance(x, torch.nn.InstanceNorm2d) for x in m.networks["D_A"].modules())
    assert {"horse2zebra", "monet2photo", "summer2winter_yosemite", "apple2orange", "makeup"} <= set(PRESETS)
    assert PRESETS["makeup"].crop_size == 256


def test_cycle_and_identity_losses_against_hand_computed_values():
    rec = torch.tensor([[[[0.0, 1.0], [0.5, -1.0]]]])
    real = torch.tensor([[[[0.5, 1.0], [0.0, 1.0]]]])
    # |diff| = 0.5, 0, 0.5, 2 → mean 0.75
    assert float(cycle_loss(rec, real, 10.0)) == pytest.approx(7.5)
    assert float(identity_loss(rec, real, 10.0, 0.5)) == pytest.approx(3.75)
    assert float(identity_loss(rec, real, 4.0, 0.25)) == pytest.approx(0.75)


def _reference_step(m, batch, ctx):
    """The reference implementation's algorithm: six generator forwards, one G backward, then D."""
    c = m.config
    G_A, G_B, D_A, D_B = (m.networks[k] for k in ("G_A", "G_B", "D_A", "D_B"))
    a, b = batch["A"], batch["B"]
    fake_b, fake_a = G_A(a), G_B(b)
    rec_a, rec_b = G_B(fake_b), G_A(fake_a)
    for p in [*D_A.parameters(), *D_B.parameters()]:
        p.requires_grad_(False)
    ctx.optimizers["G"].zero_grad()
    idt_a, idt_b = G_A(b), G_B(a)
    out = {
        "idt_A": F.l1_loss(idt_a, b) * c.lambda_B * c.lambda_identity,
        "idt_B": F.l1_loss(idt_b, a) * c.lambda_A * c.lambda_identity,
        "G_A": gan_loss(D_A(fake_b), True, c.gan_mode),
        "G_B": gan_loss(D_B(fake_a), True, c.gan_mode),
        "cycle_A": F.l1_loss(rec_a, a) * c.lambda_A,
        "cycle_B": F.l1_loss(rec_b, b) * c.lambda_B,
    }
    sum(out.values()).backward()
    ctx.optimizers["G"].step()
    for p in [*D_A.parameters(), *D_B.parameters()]:
        p.requires_grad_(True)
    ctx.optimizers["D"].zero_grad()
    for tag, D, real, fake in (("A", D_A, b, fake_b), ("B", D_B, a, fake_a)):
        fake = m.pools[tag].query(fake)
        loss = 0.5 * (gan_loss(D(real), True, c.gan_mode) + gan_loss(D(fake.detach()), False, c.gan_mode))
        loss.backward()
        out[f"D_{tag}"] = loss
    ctx.optimizers["D"].step()
    return {k: v.detach() for k, v in out.items()}


@pytest.mark.parametrize("norm, fuse", [("instance", True), ("instance", False), ("batch", True)])
def test_train_step_equals_the_reference_algorithm(norm, fuse):
    """Accumulated per-cycle backwards and batched forwards give the reference's gradients and losses."""
    results = []
    for step in ("ours", "reference"):
        m = CycleGAN(
            CycleGANConfig(**TINY, norm=norm, fuse=fuse, pool_size=2), generator=torch.Generator().manual_seed(3)
        )
        for n in m.networks.values():
            n.double()
        ctx = _ctx(m, sgd=True)
        losses = []
        for i in range(3):  # 3 steps: the pool fills (2) and then swaps
            b = {k: v.double() for k, v in _batch(size=24, seed=i).items()}
            losses.append(m.train_step(b, ctx) if step == "ours" else _reference_step(m, b, ctx))
        results.append((m, losses))
    (m1, l1), (m2, l2) = results
    for a, b in zip(l1, l2, strict=True):
        assert set(a) == set(b)
        for k in a:
            assert torch.allclose(a[k], b[k], rtol=1e-10, atol=1e-12), k
    for k in m1.networks:
        for p, q in zip(m1.networks[k].parameters(), m2.networks[k].parameters(), strict=True):
            # atol: conv biases before a norm have a zero gradient, numerically ~1e-10
            assert torch.allclose(p, q, rtol=1e-7, atol=1e-8), k


def test_train_step_updates_all_four_networks_and_freezes_D_only_during_the_G_step():
    m = CycleGAN(CycleGANConfig(**TINY))
    seen = {"D_A": [], "D_B": []}
    for k in seen:
        m.networks[k].register_forward_pre_hook(
            lambda mod, inp, k=k: seen[k].append(next(mod.parameters()).requires_grad)
        )
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in m.networks.items()}
    out = m.train_step(_batch(), _ctx(m))
    assert set(out) == {"G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B"}
    assert all(torch.isfinite(v) and v.dim() == 0 and not v.requires_grad for v in out.values())
    for k, n in m.networks.items():
        changed = sum(not torch.equal(a, p) for a, p in zip(before[k], n.parameters(), strict=True))
        assert changed == len(before[k]), k
    assert seen == {"D_A": [False, True], "D_B": [False, True]}  # frozen for G, trainable for its own update
    assert all(p.requires_grad for k in ("D_A", "D_B") for p in m.networks[k].parameters())


def test_train_step_restores_requires_grad_as_found():
    m = CycleGAN(CycleGANConfig(**TINY))
    frozen_first = next(m.networks["D_B"].parameters())
    frozen_first.requires_grad_(False)  # e.g. a user freezing a layer
    m.train_step(_batch(), _ctx(m))
    flags = [p.requires_grad for p in m.networks["D_B"].parameters()]
    assert flags[0] is False and all(flags[1:])


@pytest.mark.parametrize("mode", ["vanilla", "wgangp"])
def test_other_gan_modes(mode):
    m = CycleGAN(CycleGANConfig(**TINY, gan_mode=mode))
    out = m.train_step(_batch(), _ctx(m))
    assert all(torch.isfinite(v) for v in out.values())
    assert ("D_A_gp" in out) == (mode == "wgangp")


def test_unet_generators_and_resize_upsampling():
    for kw in (dict(netG="unet_32", ngf=4, ndf=4), dict(TINY, upsample="resize")):
        m = CycleGAN(CycleGANConfig(**kw))
        assert all(torch.isfinite(v) for v in m.train_step(_batch(), _ctx(m)).values())


def test_mismatched_channel_counts():
    with pytest.raises(InputError, match="lambda-identity 0"):
        CycleGANConfig(**TINY, input_nc=1, output_nc=3)
    m = CycleGAN(CycleGANConfig(**TINY, input_nc=1, output_nc=3, lambda_identity=0))
    out = m.train_step(_batch(c_a=1, c_b=3), _ctx(m))
    assert "idt_A" not in out
    v = m.visuals(_batch(c_a=1, c_b=3))
    assert list(v) == ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]
    assert all(t.shape == (1, 3, 32, 32) and 0 <= t.min() and t.max() <= 1 for t in v.values())


def test_visuals_show_both_sides_with_identity():
    m = CycleGAN(CycleGANConfig(**TINY))
    v = m.visuals(_batch())
    assert list(v) == ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]
    assert torch.allclose(v["real_A"], (_batch()["A"] + 1) / 2)
    assert all(n.training for n in m.networks.values())


def test_config_round_trip_and_unknown_keys():
    c = CycleGANConfig(**TINY)
    assert CycleGANConfig.from_dict(dataclasses.asdict(c)) == c
    with pytest.raises(InputError, match="unknown cyclegan config"):
        CycleGANConfig.from_dict({"netG": "resnet_6blocks", "bogus": 1})
    with pytest.raises(InputError):
        CycleGANConfig(gan_mode="hinge")
