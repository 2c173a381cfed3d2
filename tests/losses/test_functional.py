from __future__ import annotations

import pytest
import torch

from styleforge.losses import (
    ContentLoss,
    GramMatrix,
    StyleLoss,
    TotalVariation,
    chain_gram,
    content_loss,
    gram_matrix,
    gram_style_loss,
    masked_gram_matrix,
    mrf_loss,
    style_loss,
    tv_loss,
)


def test_gram_hand_computed():
    # features (1, 2, 1, 2): channel a = [1, 2], b = [3, 4]
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    g = gram_matrix(f)
    expected = torch.tensor([[[1 + 4, 3 + 8], [3 + 8, 9 + 16]]]) / 4.0  # / (C·H·W)
    assert torch.allclose(g, expected)
    shifted = gram_matrix(f, shift=-1.0)
    assert torch.allclose(shifted, torch.tensor([[[0 + 1, 0 + 3], [0 + 3, 4 + 9]]]) / 4.0)


def test_masked_gram_ones_equals_gram_and_region():
    f = torch.randn(1, 4, 6, 6)
    assert torch.allclose(masked_gram_matrix(f, torch.ones(1, 1, 6, 6)), gram_matrix(f), atol=1e-6)
    m = torch.zeros(1, 1, 6, 6)
    m[..., :3] = 1
    assert torch.allclose(masked_gram_matrix(f, m), gram_matrix(f[..., :3]), atol=1e-6)


def test_content_style_tv_values():
    a, b = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2) * 2
    assert content_loss(a, b) == pytest.approx(4.0)
    w = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert content_loss(a, b, w) == pytest.approx(1.0)
    assert style_loss(torch.zeros(1, 2, 2), torch.ones(1, 2, 2)) == pytest.approx(1.0)
    img = torch.zeros(1, 1, 2, 2)
    img[0, 0, 0, 1] = 1 / 255.0  # one pixel of value 1 on the 0–255 scale
    # Δx: (0,1)→1, Δy: (0,1)→(1,1) -1 ⇒ ½(1 + 1) = 1
    assert tv_loss(img).item() == pytest.approx(1.0, rel=1e-5)


def test_modules_equal_functional():
    f, t = torch.randn(2, 3, 5, 5), torch.randn(2, 3, 5, 5)
    assert torch.equal(GramMatrix(-1.0)(f), gram_matrix(f, shift=-1.0))
    assert torch.allclose(ContentLoss(t, 3.0)(f), 3.0 * content_loss(f, t))
    assert torch.allclose(StyleLoss(t, 2.0)(f), 2.0 * style_loss(gram_matrix(f), gram_matrix(t)))
    assert torch.allclose(TotalVariation(0.5)(f), 0.5 * tv_loss(f))


def test_gradcheck_float64():
    f = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    t = torch.randn(1, 2, 2, dtype=torch.float64)
    m = torch.rand(1, 1, 3, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: style_loss(gram_matrix(x, shift=-1.0), t), (f,))
    assert torch.autograd.gradcheck(lambda x: masked_gram_matrix(x, m), (f,))
    assert torch.autograd.gradcheck(tv_loss, (f,))
    g = torch.randn(1, 3, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: chain_gram(x, y), (f, g))


def test_mrf_loss_zero_on_own_patches_and_positive_otherwise():
    f = torch.randn(1, 4, 6, 6)
    patches = torch.nn.functional.unfold(f, 3)[0].t()
    assert mrf_loss(f, patches).item() == pytest.approx(0.0, abs=1e-10)
    other = torch.randn(1, 4, 6, 6)
    assert mrf_loss(other, patches).item() > 0.1


@pytest.mark.parametrize("shift", [0.0, -1.0])
def test_gram_reads_channels_last_features_alike(shift):
    # the CPU passes hand the Gram channels-last features: same Gram and gradient as NCHW
    x = torch.rand(2, 8, 5, 7, dtype=torch.float64)
    a = x.clone().requires_grad_(True)
    b = x.clone().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert not b.is_contiguous()
    ga, gb = gram_matrix(a, shift=shift), gram_matrix(b, shift=shift)
    torch.testing.assert_close(ga, gb)
    w = torch.rand_like(ga)
    (ga * w).sum().backward()
    (gb * w).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shift", [0.0, -1.0])
def test_gram_gradient_is_autograds(channels_last: bool, shift: float) -> None:
    """The Gram's one-product backward gives autograd's gradient of the plain product."""
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5, 7).relu()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.randn(2, 8, 8)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ((gram_matrix(a, shift=shift) - target) ** 2).sum().backward()
    f = b.reshape(2, 8, 35) + shift
    ((torch.bmm(f, f.transpose(1, 2)) / (8 * 35) - target) ** 2).sum().backward()
    assert a.grad is not None and b.grad is not None
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # bf16 products, float32 features: still a gradient
        g = gram_matrix(a, shift=shift)
    ((g.float() - target) ** 2).sum().backward()
    assert a.grad.dtype == torch.float32 and torch.isfinite(a.grad).all()


@pytest.mark.parametrize("channels_last", [False, True])
def test_bf16_features_give_a_float32_gram_and_a_bf16_gradient(channels_last: bool) -> None:
    """Gatys' bf16 passes hand the Gram bf16 features: one rounding of the float32-accumulated
    product, a float32 Gram, and the gradient in bf16 as the convolutions' backward takes it."""
    torch.manual_seed(2)
    x = torch.randn(1, 16, 24, 20).relu().bfloat16()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.randn(1, 16, 16) * 0.1
    low, ref = x.clone().requires_grad_(True), x.float().requires_grad_(True)
    g_low, g_ref = gram_matrix(low), gram_matrix(ref)
    assert g_low.dtype == torch.float32
    torch.testing.assert_close(g_low, g_ref, rtol=8e-3, atol=1e-4)  # bf16 keeps 8 bits: 2⁻⁸ ≈ 4e-3
    ((g_low - target) ** 2).sum().backward()
    ((g_ref - target) ** 2).sum().backward()
    assert low.grad is not None and ref.grad is not None
    assert low.grad.dtype == torch.bfloat16
    assert torch.nn.functional.cosine_similarity(low.grad.float().flatten(), ref.grad.flatten(), dim=0) > 0.999
    assert gram_matrix(x.double()).dtype == torch.float64  # only low precision is promoted


@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_style_loss_is_exact_where_a_rounded_gram_is_not(channels_last: bool) -> None:
    """Near its target, a bf16-rounded Gram's error (2⁻⁹ of each entry) is a large part of ``G − G_t``;
    the fused residual's is 2⁻⁹ of the residual.  Both against float64 on the same bf16 values."""
    torch.manual_seed(3)
    x = torch.randn(1, 64, 96, 128).relu().bfloat16()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    exact = gram_matrix(x.double())
    target = (exact * (1 + 0.01 * torch.randn_like(exact))).float()  # 1 % away

    def cosine(a: torch.Tensor, b: torch.Tensor) -> float:  # (F.cosine_similarity's eps swamps tiny norms)
        a, b = a.double().flatten(), b.double().flatten()
        return float(a @ b / (a.norm() * b.norm()))

    ref_x = x.double().requires_grad_(True)
    ref = style_loss(gram_matrix(ref_x), target.double())
    ref.backward()
    fused_x, rounded_x = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    fused = gram_style_loss(fused_x, target)
    rounded = style_loss(gram_matrix(rounded_x), target)
    (fused + rounded).backward()
    assert fused.dtype == torch.float32 and fused_x.grad is not None and fused_x.grad.dtype == torch.bfloat16
    assert abs(float(fused.detach() / ref.detach()) - 1) < 2e-3
    assert cosine(fused_x.grad, ref_x.grad) > 0.9995
    assert rounded_x.grad is not None
    # why it exists: the rounded Gram misses by more
    assert abs(float(rounded.detach() / ref.detach()) - 1) > 5e-3 or cosine(rounded_x.grad, ref_x.grad) < 0.995
    f32 = x.float().requires_grad_(True)
    torch.testing.assert_close(gram_style_loss(f32, target), style_loss(gram_matrix(f32), target), rtol=1e-4, atol=0)


def test_masked_gram_gradient_is_autograds() -> None:
    torch.manual_seed(1)
    x = torch.randn(1, 6, 9, 8).relu()
    mask = torch.rand(1, 1, 9, 8)
    target = torch.randn(1, 6, 6)
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ((masked_gram_matrix(a, mask, shift=-1.0) - target) ** 2).sum().backward()
    fm = (b.reshape(1, 6, 72) - 1.0) * mask.reshape(1, 1, 72)
    ((torch.bmm(fm, fm.transpose(1, 2)) / (6 * mask.sum()) - target) ** 2).sum().backward()
    assert a.grad is not None and b.grad is not None
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-6)
