import pytest
import torch

from styleforge.nets import build_discriminator


@pytest.mark.parametrize(
    "name,n_layers,size,out",
    [
        ("basic", 3, 256, 30),
        ("basic", 3, 64, 6),
        ("n_layers", 2, 64, 14),
        ("n_layers", 4, 128, 6),
        ("pixel", 3, 33, 33),
    ],
)
def test_discriminator_patch_maps(name, n_layers, size, out):
    d = build_discriminator(name, 6, ndf=4, n_layers=n_layers)
    assert d(torch.randn(2, 6, size, size)).shape == (2, 1, out, out)


def test_basic_receptive_field_is_70():
    d = build_discriminator("basic", 1, ndf=2, norm="none", init=None)
    x = torch.zeros(1, 1, 140, 140, requires_grad=True)
    d(x)[0, 0, 5, 5].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    assert int(rows.max() - rows.min() + 1) == 70
