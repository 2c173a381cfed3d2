import torch

from styleforge.engine import StepContext
from styleforge.gan import Pix2Pix, Pix2PixConfig


def _batch(c_in=3, c_out=3, n=1, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "A": torch.rand(n, c_in, size, size, generator=g) * 2 - 1,
        "B": torch.rand(n, c_out, size, size, generator=g) * 2 - 1,
    }


def _ctx(model):
    return StepContext(dict(model.networks), model.make_optimizers(), torch.device("cpu"))


def test_defaults_are_the_paper_recipe():
    c = Pix2PixConfig()
    assert (c.netG, c.netD, c.gan_mode, c.lambda_l1, c.lr, c.beta1, c.norm, c.dropout, c.init, c.init_gain) == (
        "unet_256",
        "basic",
        "vanilla",
        100.0,
        2e-4,
        0.5,
        "instance",
        True,
        "normal",
        0.02,
    )
    m = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4))
    opt = m.make_optimizers()["G"]
    assert opt.defaults["betas"] == (0.5, 0.999) and opt.defaults["lr"] == 2e-4


def test_train_step_finite_losses_changes_all_networks_and_restores_requires_grad():
    torch.manual_seed(0)
    m = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4))
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in m.networks.items()}
    out = m.train_step(_batch(), _ctx(m))
    assert set(out) == {"D_real", "D_fake", "G_L1", "G_GAN"}
    assert all(torch.isfinite(v) for v in out.values())
    for k, n in m.networks.items():
        changed = sum(not torch.equal(a, p) for a, p in zip(before[k], n.parameters(), strict=True))
        assert changed == len(before[k]), k
    assert all(p.requires_grad for p in m.networks["D"].parameters())


def test_fused_discriminator_forward_equals_two_forwards():
    losses = []
    for fuse in (True, False):
        torch.manual_seed(0)
        m = Pix2Pix(
            Pix2PixConfig(netG="unet_32", ngf=4, ndf=4, fuse_d=fuse), generator=torch.Generator().manual_seed(1)
        )
        losses.append(m.train_step(_batch(), _ctx(m)))
    for k in ("D_real", "D_fake", "G_GAN", "G_L1"):
        assert torch.allclose(losses[0][k], losses[1][k], rtol=1e-4), k


def test_l1_only_has_no_discriminator_and_lowers_l1():
    torch.manual_seed(0)
    m = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=8, lambda_gan=0, dropout=False, lr=2e-3))
    assert set(m.networks) == {"G"}
    ctx, b = _ctx(m), _batch()
    b["A"] = torch.nn.functional.interpolate(b["A"][..., ::4, ::4], size=32, mode="bilinear")  # smooth
    b["B"] = -b["A"].flip(1)  # a learnable mapping
    first = m.train_step(b, ctx)["G_L1"]
    for _ in range(15):
        last = m.train_step(b, ctx)["G_L1"]
    assert last < first * 0.8


def test_other_gan_modes_and_batchnorm_step():
    for mode, norm in (("lsgan", "batch"), ("wgangp", "instance")):
        torch.manual_seed(0)
        m = Pix2Pix(Pix2PixConfig(netG="resnet_6blocks", netD="pixel", ngf=4, ndf=4, gan_mode=mode, norm=norm))
        out = m.train_step(_batch(n=2), _ctx(m))
        assert all(torch.isfinite(v) for v in out.values())
        assert ("D_gp" in out) == (mode == "wgangp")


def test_colorization_step_and_visuals():
    m = Pix2Pix(Pix2PixConfig(netG="unet_32", ngf=4, ndf=4, input_nc=1, output_nc=2, color_space="lab"))
    b = _batch(1, 2)
    b["B"] = b["B"] * 0.3
    m.train_step(b, _ctx(m))
    vis = m.visuals(b)
    assert list(vis) == ["real_A", "fake_B", "real_B"]
    assert all(v.shape == (1, 3, 32, 32) and 0 <= float(v.min()) and float(v.max()) <= 1 for v in vis.values())
    # the gray input is shown gray
    assert torch.equal(vis["real_A"][:, 0], vis["real_A"][:, 1])
