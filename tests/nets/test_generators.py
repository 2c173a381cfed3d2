import pytest
import torch

from styleforge.errors import InputError
from styleforge.nets import GENERATORS, build_generator, init_weights, pad_to_multiple


@pytest.mark.parametrize(
    "name,sizes",
    [
        ("unet_32", [(32, 32), (64, 96)]),
        ("unet_64", [(64, 64), (128, 64)]),
        ("unet_128", [(128, 128)]),
        ("unet_256", [(256, 256)]),
        ("resnet_6blocks", [(32, 32), (36, 44)]),
        ("resnet_9blocks", [(64, 48)]),
    ],
)
def test_generator_shapes(name, sizes):
    g = build_generator(name, 3, 2, ngf=4)
    for h, w in sizes:
        y = g(torch.randn(2, 3, h, w))
        assert y.shape == (2, 2, h, w)
        assert y.abs().max() <= 1.0  # tanh output


@pytest.mark.parametrize("h,w", [(37, 53), (100, 75), (1, 1), (300, 17)])
def test_unet_any_pads_and_crops_back(h, w):
    g = build_generator("unet_any", 1, 3, ngf=2)
    assert g(torch.randn(1, 1, h, w)).shape == (1, 3, h, w)


def test_resnet_any_size_with_pad_to_fit_and_resize_upsampling():
    g = build_generator("resnet_6blocks", 3, 3, ngf=4, upsample="resize", pad_to_fit=True)
    assert g(torch.randn(1, 3, 31, 45)).shape == (1, 3, 31, 45)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules())
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules())


def test_fixed_size_unet_refuses_other_sizes_clearly():
    g = build_generator("unet_32", 3, 3, ngf=2)
    with pytest.raises(InputError, match="divisible by 32"):
        g(torch.randn(1, 3, 40, 32))


def test_reference_parameter_counts():
    # pytorch-CycleGAN-and-pix2pix: resnet_9blocks/instance 11,378,179 parameters
    g = build_generator("resnet_9blocks", 3, 3, ngf=64, norm="instance")
    assert sum(p.numel() for p in g.parameters()) == 11_378_179
    # unet_256 with batch norm (the reference's pix2pix default) prints "54.414 M", its D "2.769 M"
    u = build_generator("unet_256", 3, 3, ngf=64, norm="batch", init=None)
    assert round(sum(p.numel() for p in u.parameters()) / 1e6, 3) == 54.414
    from styleforge.nets import build_discriminator

    d = build_discriminator("basic", 6, norm="batch", init=None)
    assert round(sum(p.numel() for p in d.parameters()) / 1e6, 3) == 2.769


def test_dropout_only_when_asked_and_norm_kinds():
    with_d = build_generator("unet_256", 3, 3, ngf=2, dropout=True)
    assert sum(isinstance(m, torch.nn.Dropout) for m in with_d.modules()) == 3  # the three inner 512-ch levels
    without = build_generator("unet_256", 3, 3, ngf=2, dropout=False)
    assert not any(isinstance(m, torch.nn.Dropout) for m in without.modules())
    bn = build_generator("resnet_6blocks", 3, 3, ngf=2, norm="batch")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in bn.modules())
    none = build_generator("resnet_6blocks", 3, 3, ngf=2, norm="none")
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.InstanceNorm2d)) for m in none.modules())


@pytest.mark.parametrize("kind", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_kinds_are_seeded_and_zero_bias(kind):
    a = init_weights(torch.nn.Conv2d(16, 32, 3), kind, 0.02, generator=torch.Generator().manual_seed(3))
    b = init_weights(torch.nn.Conv2d(16, 32, 3), kind, 0.02, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.weight, b.weight)
    assert torch.all(a.bias == 0)
    if kind == "normal":
        assert abs(float(a.weight.detach().std()) - 0.02) < 0.002
    if kind == "orthogonal":
        w = a.weight.reshape(32, -1)
        assert torch.allclose(w @ w.T, 0.02**2 * torch.eye(32), atol=1e-6)


def test_unknown_names_suggest():
    with pytest.raises(InputError, match="did you mean 'unet_256'"):
        build_generator("unet256", 3, 3)
    with pytest.raises(InputError, match="ResNet"):
        build_generator("unet_32", 3, 3, upsample="resize")
    assert "unet_any" in GENERATORS


def test_pad_to_multiple():
    x = torch.arange(12.0).reshape(1, 1, 3, 4)
    y, (h, w) = pad_to_multiple(x, 4)
    assert y.shape == (1, 1, 4, 4) and (h, w) == (3, 4)
    assert torch.equal(y[..., :3, :], x)
