"""Pure loss functions for optimisation-based and feed-forward style transfer.

Conventions follow jcjohnson/neural-style so its weights keep their meaning:
Gram matrices are divided by the number of feature elements ``C·H·W``,
content and style losses are mean squared errors, and total variation is
``½ Σ (Δx² + Δy²)`` on the 0–255 pixel scale.
"""

from __future__ import annotations

__all__ = [
    "chain_gram",
    "content_loss",
    "gram_matrix",
    "gram_style_loss",
    "masked_gram_matrix",
    "mrf_loss",
    "style_loss",
    "tv_loss",
]

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor, *, shift: float = 0.0) -> torch.Tensor:
    """Gram matrix ``F Fᵀ / (C·H·W)`` of ``(N, C, H, W)`` features → ``(N, C, C)``.

    Low-precision (bf16, fp16) features give a float32 Gram rounded once from the product's float32
    accumulator (2⁻⁹ of each entry in bf16), and the gradient in the features' dtype.  Near a
    target that rounding swamps ``G − G_t``: a style loss on such features takes
    :func:`gram_style_loss`, which subtracts the target inside the accumulator.

    Args:
        shift: added to the activations first (Novak & Nikulin's "shifted
            activations" use ``-1``), so zero activations also carry signal.

    Example:
        >>> f = torch.ones(1, 2, 2, 2)
        >>> gram_matrix(f)
        tensor([[[0.5000, 0.5000],
                 [0.5000, 0.5000]]])
    """
    f, rows = _flat(features)
    if shift:
        f = f + shift
    return _SelfProduct.apply(f, rows) / f[0].numel()


def _flat(features: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(N, C, H, W)`` → ``(N, C, HW)``, or for channels-last features (the CPU passes' layout) the
    ``(N, HW, C)`` view, no copy (``rows=True``: the products are then ``Fᵀ F``)."""
    n, c, h, w = features.shape
    if features.dim() == 4 and c > 1 and not features.is_contiguous() and _channels_last(features):
        return features.permute(0, 2, 3, 1).reshape(n, h * w, c), True
    return features.reshape(n, c, h * w), False


class _SelfProduct(torch.autograd.Function):
    """``Fᵀ F`` of ``(N, K, C)`` (``rows=True``) or ``F Fᵀ`` of ``(N, C, K)``, with the gradient in one
    product: ``F (G' + G'ᵀ)`` (or ``(G' + G'ᵀ) F``).  Autograd's own backward of the ``bmm`` makes two
    ``(N, K, C)`` products and adds them: at 512 px in Gatys, the relu1_1 Gram's backward took 90 ms
    instead of about 25, and the Grams with their gradients a quarter of each evaluation."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, f: torch.Tensor, rows: bool) -> torch.Tensor:
        ctx.save_for_backward(f)
        ctx.rows = rows  # type: ignore[attr-defined]
        g = torch.bmm(f.transpose(1, 2), f) if rows else torch.bmm(f, f.transpose(1, 2))
        return g.float() if g.dtype in (torch.bfloat16, torch.float16) else g

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (f,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return _product_grad(f, grad, ctx.rows), None  # type: ignore[attr-defined]


def _product_grad(f: torch.Tensor, grad: torch.Tensor, rows: bool, scale: float = 1.0) -> torch.Tensor:
    """``F (G' + G'ᵀ)·scale`` (``rows``) or ``(G' + G'ᵀ)·scale F``, in ``F``'s dtype."""
    sym = ((grad + grad.transpose(1, 2)) * scale).to(f.dtype)
    return torch.bmm(f, sym) if rows else torch.bmm(sym, f)


def gram_style_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``style_loss(gram_matrix(features), target)`` for low-precision (bf16, fp16) ``features``, exact
    where it matters: the residual ``F Fᵀ / (C·H·W) − target`` is one ``baddbmm`` whose float32
    accumulator takes the target (its part that the features' dtype holds; the rest is subtracted in
    float32 after) before the single rounding, so the error is 2⁻⁹ of the residual (bf16), not of the
    Gram.  A Gram rounded first, then subtracted, missed a target 1 % away by 12 % of the residual.

    In Gatys' bf16 passes this keeps the style layers in bf16 with their products and gradients:
    each 512 px evaluation about 10 % faster than upcasting them to float32 first.
    """
    f, rows = _flat(features)
    return _GramResidual.apply(f, target, 1.0 / f[0].numel(), rows).pow(2).mean()


class _GramResidual(torch.autograd.Function):
    """``scale · Fᵀ F − T`` (``rows``) or ``scale · F Fᵀ − T`` in float32, the subtraction inside the
    product's accumulator; the gradient as :class:`_SelfProduct`'s, in ``F``'s dtype."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx, f: torch.Tensor, target: torch.Tensor, scale: float, rows: bool
    ) -> torch.Tensor:
        ctx.save_for_backward(f)
        ctx.rows, ctx.scale = rows, scale  # type: ignore[attr-defined]
        a, b = (f.transpose(1, 2), f) if rows else (f, f.transpose(1, 2))
        t = (target / scale).float().expand(f.shape[0], -1, -1)
        hi = t.to(f.dtype)  # the target in two parts: hi in the accumulator, the rest after the rounding
        return (torch.baddbmm(hi, a, b, beta=-1.0).float() - (t - hi.float())) * scale

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (f,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return _product_grad(f, grad, ctx.rows, ctx.scale), None, None, None  # type: ignore[attr-defined]


def _channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last)


def masked_gram_matrix(features: torch.Tensor, mask: torch.Tensor, *, shift: float = 0.0) -> torch.Tensor:
    """Gram matrix of the features inside a soft ``(N, 1, H, W)`` mask.

    Normalised by ``C · Σ mask`` so a region's Gram is comparable to a whole
    image's Gram of the same texture (a mask of ones gives :func:`gram_matrix`).
    """
    n, c, h, w = features.shape
    if mask.shape[-2:] != (h, w):
        mask = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False)
    f = features.reshape(n, c, h * w)
    if shift:
        f = f + shift
    m = mask.reshape(mask.shape[0], 1, h * w)
    fm = f * m
    area = m.sum(dim=2, keepdim=True).clamp_min(1e-8)  # (N, 1, 1)
    return _SelfProduct.apply(fm, False) / (c * area)


def chain_gram(a: torch.Tensor, b: torch.Tensor, *, shift: float = 0.0) -> torch.Tensor:
    """Cross-layer Gram ``F_a F_bᵀ`` of two adjacent layers (Novak & Nikulin's
    correlation chains); the larger map is average-pooled to the smaller size."""
    if a.shape[-2:] != b.shape[-2:]:
        size = (min(a.shape[-2], b.shape[-2]), min(a.shape[-1], b.shape[-1]))
        a = F.adaptive_avg_pool2d(a, size) if a.shape[-2:] != size else a
        b = F.adaptive_avg_pool2d(b, size) if b.shape[-2:] != size else b
    n, ca, h, w = a.shape
    cb = b.shape[1]
    fa = a.reshape(n, ca, h * w) + shift
    fb = b.reshape(n, cb, h * w) + shift
    return torch.bmm(fa, fb.transpose(1, 2)) / (((ca * cb) ** 0.5) * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor, weight_map: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error between features and their target, optionally weighted per pixel."""
    if weight_map is None:
        return F.mse_loss(features, target)
    if weight_map.shape[-2:] != features.shape[-2:]:
        weight_map = F.interpolate(weight_map, size=features.shape[-2:], mode="bilinear", align_corners=False)
    return ((features - target) ** 2 * weight_map).mean()


def style_loss(gram: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between Gram matrices."""
    return F.mse_loss(gram, target)


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation ``½ Σ (Δx² + Δy²)`` of an image on the 0–255 scale.

    ``image`` is ``(N, C, H, W)`` in [0, 1]; the 255 scale keeps neural-style's
    ``-tv_weight`` meaning.
    """
    x = image * 255.0
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return 0.5 * (dx.pow(2).sum() + dy.pow(2).sum())


def _patches(f: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """``(1, C, H, W)`` → ``(P, C·size·size)`` patches."""
    p = F.unfold(f, kernel_size=size, stride=stride)  # (1, C*k*k, P)
    return p[0].t()


def mrf_loss(
    features: torch.Tensor,
    style_patches: torch.Tensor,
    *,
    patch_size: int = 3,
    stride: int = 1,
) -> torch.Tensor:
    """Markov-random-field (patch) style loss of Li & Wand, as used by neural doodles.

    Each ``patch_size`` patch of ``features`` is matched to the style patch of
    highest normalised cross-correlation; the loss is the mean squared distance
    to the matched patches.

    Args:
        features: ``(1, C, H, W)`` features of the image being optimised.
        style_patches: ``(P, C·k·k)`` patches of the style features (from
            :func:`extract_patches`-like unfolding with the same ``patch_size``).
    """
    gen = _patches(features, patch_size, stride)  # (Q, D)
    with torch.no_grad():
        g_n = F.normalize(gen, dim=1)
        s_n = F.normalize(style_patches, dim=1)
        best = torch.empty(gen.shape[0], dtype=torch.long, device=gen.device)
        chunk = 4096
        for i in range(0, gen.shape[0], chunk):
            best[i : i + chunk] = (g_n[i : i + chunk] @ s_n.t()).argmax(dim=1)
    return F.mse_loss(gen, style_patches[best])
