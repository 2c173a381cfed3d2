"""Universal style transfer by whitening–colouring of deep features (WCT).

Li et al., *Universal Style Transfer via Feature Transforms* (NeurIPS 2017):
a fixed VGG encoder, decoders trained only to *reconstruct* an image from
one layer's features (no style loss), and at test time, coarse to fine, each
level's content features are whitened and re-coloured with the style's
covariance, then decoded.  styleforge's decoders also learn to realise such
transferred features (:func:`styleforge.instant.recon.transfer_targets`).

:func:`wct` and :func:`covariance_stats` are pure functions (float32
eigendecompositions of ``C×C`` covariances); :class:`ReconDecoder` mirrors
VGG16 from ``relu1_1``, ``relu2_1``, ``relu3_1`` or ``relu4_1`` back to RGB.
"""

from __future__ import annotations

__all__ = [
    "LEVEL_CHANNELS",
    "ReconDecoder",
    "StyleStats",
    "WCTNet",
    "apply_affine",
    "blend_stats",
    "build_encoder",
    "covariance_stats",
    "set_padding",
    "wct",
    "wct_affine",
]

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .adain import conv_block as _conv  # reflection-padded 3×3 convolution (+ ReLU), as the AdaIN decoder's
from .adain import set_padding

#: Channels of each encoder level of VGG16.
LEVEL_CHANNELS: dict[str, int] = {"relu1_1": 64, "relu2_1": 128, "relu3_1": 256, "relu4_1": 512}


@dataclass
class StyleStats:
    """One level's style statistics: channel mean ``(C, 1)`` and covariance ``(C, C)``.

    ``roots`` caches ``cov^½`` (the colouring matrix, per ``eps``) once :func:`wct` has computed
    it, so a style's statistics reused over many photos pay for its eigendecomposition once.
    """

    mean: torch.Tensor
    cov: torch.Tensor
    roots: dict[float, torch.Tensor] = field(default_factory=dict, repr=False)


#: :func:`covariance_stats` estimates from at most about this many pixels (a regular grid).
MAX_SAMPLES = 1 << 16


def _pixels(f: torch.Tensor) -> torch.Tensor:
    """``(1, C, H, W)`` → ``(H·W, C)``; a view for channels-last tensors."""
    return f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])


def covariance_stats(f: torch.Tensor, max_samples: int | None = MAX_SAMPLES) -> StyleStats:
    """Mean and (biased) covariance of ``(1, C, H, W)`` features, float32.

    Above ``max_samples`` pixels the statistics come from every ``k``-th row and column
    (``k`` the smallest stride that fits): C×C moments of ~65 k samples are as good as of
    all, for a fraction of the multiply (``None``: every pixel).
    """
    h, w = f.shape[-2:]
    if max_samples and h * w > max_samples:
        k = math.ceil(math.sqrt(h * w / max_samples))
        f = f[..., ::k, ::k]
    x = _pixels(f).float()
    mean = x.mean(dim=0, keepdim=True)
    xc = x - mean
    return StyleStats(mean.T.contiguous(), xc.T @ xc / max(1, xc.shape[0]))


def blend_stats(stats: Sequence[StyleStats], weights: Sequence[float]) -> StyleStats:
    """Weighted mix of several styles' statistics (the mixture's mean and second moment)."""
    total = float(sum(weights))
    w = [float(x) / total for x in weights]
    mean = torch.zeros_like(stats[0].mean)
    second = torch.zeros_like(stats[0].cov)
    for wi, s in zip(w, stats, strict=True):
        mean = mean + wi * s.mean
        second = second + wi * (s.cov + s.mean @ s.mean.T)
    return StyleStats(mean, second - mean @ mean.T)


def _sym_power(cov: torch.Tensor, power: float, eps: float) -> torch.Tensor:
    """``cov^power`` of a symmetric PSD matrix, small eigenvalues clamped at ``eps``·max."""
    threads = torch.get_num_threads()
    if threads > 1:  # a C×C eigh is small: on two busy cores one thread was 3-25× faster than two
        torch.set_num_threads(1)
    try:
        vals, vecs = torch.linalg.eigh(cov + eps * torch.eye(cov.shape[0], dtype=cov.dtype))
    finally:
        if threads > 1:
            torch.set_num_threads(threads)
    vals = vals.clamp_min(float(vals.max()) * 1e-5 + eps)
    return (vecs * vals.pow(power)) @ vecs.T


def wct_affine(
    own: StyleStats, style: StyleStats, *, alpha: float = 1.0, eps: float = 1e-5, gain: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """WCT as one affine map of the features: ``A`` ``(C, C)`` and ``b`` ``(C, 1)``, transferred = ``A f + b``.

    ``own``: the content features' statistics.  Whitening (``own.cov^-½``), colouring
    (``style.cov^½`` × ``gain``, centred on ``style.mean``) and the ``alpha`` blend back to the
    content are all linear, so they fold into one matrix and one offset: the features are
    multiplied once (or not at all: :class:`ReconDecoder` folds the map into its first convolution).
    """
    if eps not in style.roots:
        style.roots[eps] = _sym_power(style.cov, 0.5, eps)
    transform = gain * (style.roots[eps] @ _sym_power(own.cov, -0.5, eps))
    offset = style.mean - transform @ own.mean
    if alpha < 1.0:
        transform = alpha * transform + (1 - alpha) * torch.eye(transform.shape[0], dtype=transform.dtype)
        offset = alpha * offset
    return transform, offset


def wct(
    content: torch.Tensor, style: StyleStats, alpha: float = 1.0, eps: float = 1e-5, gain: float = 1.0
) -> torch.Tensor:
    """Whiten ``(1, C, H, W)`` content features and colour them with ``style``; ``alpha`` blends back.

    ``gain`` > 1 scales the coloured features' deviations from the style's mean (covariance × gain²),
    pre-compensating a decoder that loses energy (blur).  See :func:`wct_affine`.

    Example:
        >>> c, s = torch.randn(1, 4, 16, 16), torch.randn(1, 4, 16, 16) * 3 + 1
        >>> t = wct(c, covariance_stats(s))
        >>> torch.allclose(covariance_stats(t).cov, covariance_stats(s).cov, atol=1e-3)
        True
    """
    affine = wct_affine(covariance_stats(content), style, alpha=alpha, eps=eps, gain=gain)
    return apply_affine(content, affine).to(content.dtype)


def apply_affine(f: torch.Tensor, affine: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """``A f + b`` per pixel of ``(1, C, H, W)`` features, float32 (``affine``: :func:`wct_affine`)."""
    n, c, h, w = f.shape
    transform, offset = affine
    # (H·W, C) rows: a view of channels-last features, and the result is channels-last again
    rows = torch.addmm(offset.T, _pixels(f).float(), transform.T)
    return rows.reshape(n, h, w, c).permute(0, 3, 1, 2)


class _Up(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _level_index(level: str) -> int:
    if level not in LEVEL_CHANNELS:
        raise ValueError(f"unknown WCT level {level!r}; choose one of {', '.join(LEVEL_CHANNELS)}")
    return list(LEVEL_CHANNELS).index(level) + 1


class ReconDecoder(nn.Module):
    """Features of ``level`` → RGB in [0, 1] (unclamped while training), mirroring VGG16.

    ``width`` scales the channel counts (1.0: VGG's 256/128/64); the first
    convolution maps the level's channels down.  ``relu1_1``'s decoder is one
    convolution.
    """

    #: Features are scaled by this before the first convolution (caffe-scale VGG activations are large).
    IN_SCALE = 0.01

    def __init__(self, level: str, width: float = 1.0) -> None:
        super().__init__()
        self.level, self.width = level, width
        k = _level_index(level)
        ch = [max(8, round(c * width)) for c in (64, 128, 256)]
        layers: list[nn.Module] = []
        cin = LEVEL_CHANNELS[level]
        if k >= 4:
            layers += [_conv(cin, ch[2]), _Up(), _conv(ch[2], ch[2]), _conv(ch[2], ch[2])]
            cin = ch[2]
        if k >= 3:
            layers += [_conv(cin, ch[1]), _Up(), _conv(ch[1], ch[1])]
            cin = ch[1]
        if k >= 2:
            layers += [_conv(cin, ch[0]), _Up(), _conv(ch[0], ch[0])]
            cin = ch[0]
        layers.append(_conv(cin, 3, relu=False))
        self.body = nn.Sequential(*layers)

    def forward(
        self,
        f: torch.Tensor,
        size: tuple[int, int] | None = None,
        affine: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Decode ``f``, or with ``affine`` = ``(A, b)`` (:func:`wct_affine`) decode ``A f + b``:
        the map is folded into the first convolution's weights and bias (exact: a constant
        offset stays constant under reflection padding), so ``A f + b`` is never formed."""
        if affine is None:
            y = self.body(f * self.IN_SCALE)
        else:
            first = self.body[0]
            assert isinstance(first, nn.Sequential)
            pad, conv, relu = first[0], first[1], list(first)[2:]
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None
            a, b = affine
            w0 = conv.weight.to(a.dtype)
            weight = torch.einsum("ojkl,ji->oikl", w0, a) * self.IN_SCALE
            bias = conv.bias.to(a.dtype) + self.IN_SCALE * (w0.sum(dim=(2, 3)) @ b).squeeze(1)
            h = F.conv2d(pad(f), weight, bias)
            y = self.body[1:](relu[0](h) if relu else h)
        if size is not None and tuple(y.shape[-2:]) != tuple(size):
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y

    def config(self) -> dict[str, object]:
        return {"level": self.level, "width": self.width}


def build_encoder(levels: Sequence[str], device: str | torch.device = "cpu") -> nn.Module:
    """The frozen offline VGG16 (max pooling) truncated at the deepest of ``levels``."""
    from ..backbones import build_backbone

    return build_backbone("vgg16-offline", layers=list(levels), device=device)


def _fit_long_side(x: torch.Tensor, long_side: int | None, full: tuple[int, int]) -> torch.Tensor:
    """``x`` resized to ``full`` shrunk to ``long_side`` pixels on its long side (``None``: ``full``)."""
    H, W = full
    size = (H, W)
    if long_side and max(H, W) > long_side:
        k = long_side / max(H, W)
        size = (max(16, round(H * k)), max(16, round(W * k)))
    if tuple(x.shape[-2:]) == size:
        return x
    if size[0] < x.shape[-2]:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


def _resize_long_side(x: torch.Tensor, long_side: int) -> torch.Tensor:
    """``x`` with ``long_side`` pixels on its long side (shrunk with antialiasing, enlarged bicubic)."""
    H, W = x.shape[-2:]
    if max(H, W) == long_side:
        return x
    k = long_side / max(H, W)
    size = (max(16, round(H * k)), max(16, round(W * k)))
    if k < 1:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False).clamp(0, 1)


class WCTNet(nn.Module):
    """Multi-level WCT: encoder + one reconstruction decoder per level, coarse to fine.

    ``passes`` is the order of the levels (coarse to fine; a level may repeat: each
    pass re-encodes the previous result, so the decoder's error is corrected again).
    ``sizes`` gives each pass's work image, its long side in pixels (``None``: the
    photo's size): the deep passes settle colours and strokes on a small image, which
    is both faster and closer to how a painting's strokes scale; the style's
    statistics of a pass come from the style image at the same size.  ``deep_size``
    (older weights) = ``sizes`` ``[deep_size, None, ...]``.  ``gain``: see :func:`wct`.
    ``feedback`` (level → η) and ``feedback_steps`` (k) correct a decoder that does not
    fully realise the transferred features ``t``: on that level's passes, k times, the
    decoded image is re-encoded and the decoder's input moves by η times the miss,
    ``z ← z + η (t − E(D(z)))`` (a Richardson iteration on the decoder's inverse).  Each
    step costs one encoder and one decoder pass at the pass's size.  ``amp``: a bf16
    autocast dtype for the convolutions (the statistics and their eigendecompositions
    always run in float32).  ``channels_last``: the memory layout of the convolutions
    (the given encoder and decoders are converted in place).  ``encoder_padding``: the
    encoder's convolutions pad by ``"reflect"`` (set in place; the default) or ``"zeros"``
    (VGG's own): zero padding makes the features of the outer pixels unlike the inside's,
    and whitening–colouring turns that into a visible frame (issue 25: border ratio 2.26
    → 1.05 on the tuning pairs).

    The interface matches :class:`styleforge.nets.adain.AdaINNet`:
    :meth:`style_stats` per style, :meth:`stylize_stats` with weights, ``alpha``
    and a two-style mask.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoders: dict[str, ReconDecoder],
        *,
        deep_size: int | None = None,
        amp: torch.dtype | None = None,
        passes: Sequence[str] | None = None,
        gain: float = 1.0,
        sizes: Sequence[int | None] | None = None,
        channels_last: bool = True,
        feedback: Mapping[str, float] | None = None,
        feedback_steps: int = 1,
        encoder_padding: str = "reflect",
    ) -> None:
        super().__init__()
        if encoder_padding not in ("reflect", "zeros"):
            raise ValueError(f"encoder_padding must be 'reflect' or 'zeros', got {encoder_padding!r}")
        set_padding(encoder, "reflect" if encoder_padding == "reflect" else "zeros")
        order = list(LEVEL_CHANNELS)
        self.levels = list(passes) if passes else sorted(decoders, key=order.index, reverse=True)
        unknown = [lv for lv in self.levels if lv not in decoders]
        if unknown:
            raise ValueError(f"no decoder for the pass(es) {unknown}")
        if sizes is None:
            sizes = [deep_size or None] + [None] * (len(self.levels) - 1)
        if len(sizes) != len(self.levels):
            raise ValueError(f"{len(sizes)} pass sizes for {len(self.levels)} passes")
        if any(s is not None and int(s) < 16 for s in sizes):
            raise ValueError("a pass size must be at least 16 px")
        self.sizes: list[int | None] = [int(s) if s else None for s in sizes]
        self.encoder = encoder
        self.decoders = nn.ModuleDict(decoders)
        self.feedback = {lv: float(eta) for lv, eta in (feedback or {}).items() if eta}
        bad_levels = any(lv not in decoders for lv in self.feedback)
        if bad_levels or min(self.feedback.values(), default=1) < 0 or feedback_steps < 1:
            raise ValueError(
                f"feedback needs decoded levels, η ≥ 0 and ≥ 1 step "
                f"(got {dict(feedback or {})}, {feedback_steps} steps)"
            )
        self.amp, self.gain = amp, gain
        self.feedback_steps = int(feedback_steps)
        # channels-last convolutions measured faster on CPU (oneDNN), and WCT's (H·W, C) rows are then views
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.to(memory_format=self.memory_format)  # type: ignore[call-overload]

    @staticmethod
    def _key(level: str, size: int | None) -> str:
        return level if size is None else f"{level}@{size}"

    def _enc(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Encoder features (bf16 under ``amp``: consumers take float32 where they need it)."""
        with torch.autocast(
            "cpu", dtype=self.amp or torch.bfloat16, enabled=self.amp is not None and x.device.type == "cpu"
        ):
            return self.encoder(x.contiguous(memory_format=self.memory_format), list(layers))

    def _dec(
        self,
        level: str,
        t: torch.Tensor,
        size: tuple[int, int],
        affine: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        with torch.autocast(
            "cpu", dtype=self.amp or torch.bfloat16, enabled=self.amp is not None and t.device.type == "cpu"
        ):
            return self.decoders[level](t, size=size, affine=affine).float().clamp(0, 1)

    def style_stats(self, style: torch.Tensor, scale: float = 1.0) -> dict[str, StyleStats]:
        """Each pass's mean and covariance of a ``(1, 3, H, W)`` style image (at the pass's size).

        ``scale`` (neural-style's ``-style_scale``): the painting is taken at ``scale`` times
        its working size (its own size, or the pass's size if smaller), so its strokes come
        out ``scale`` times as large.
        """
        out: dict[str, StyleStats] = {}
        for size in dict.fromkeys(self.sizes):
            levels = sorted({lv for lv, s in zip(self.levels, self.sizes, strict=True) if s == size})
            long_side = min(size or max(style.shape[-2:]), max(style.shape[-2:]))  # shrunk, never enlarged
            img = _resize_long_side(style, max(16, round(long_side * scale)))
            for lv, f in self._enc(img, levels).items():
                out[self._key(lv, size)] = covariance_stats(f)
        return out

    def stylize_stats(
        self,
        content: torch.Tensor,
        stats: Sequence[dict[str, StyleStats]],
        weights: Sequence[float] | None = None,
        *,
        alpha: float | torch.Tensor = 1.0,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Stylise ``(1, 3, H, W)`` in [0, 1] with one or more styles' statistics (see AdaINNet)."""
        if mask is not None and len(stats) != 2:
            raise ValueError("a mask needs exactly two styles")
        alpha = float(alpha)
        H, W = content.shape[-2:]
        x = content
        w = list(weights) if weights is not None else [1.0] * len(stats)
        for lv, size in zip(self.levels, self.sizes, strict=True):
            key = self._key(lv, size)
            x = _fit_long_side(x, size, (H, W))
            f = self._enc(x, [lv])[lv]
            g = self.gain if lv != "relu1_1" else 1.0  # relu1_1's linear decoder is exact: nothing to compensate
            eta = self.feedback.get(lv, 0.0)
            hw = (x.shape[-2], x.shape[-1])
            if mask is not None:
                f = f.float()
                m = F.interpolate(mask.to(f), size=f.shape[-2:], mode="bilinear", align_corners=False)
                t = m * wct(f, stats[0][key], gain=g) + (1 - m) * wct(f, stats[1][key], gain=g)
                if alpha < 1.0:
                    t = alpha * t + (1 - alpha) * f
                y = self._dec(lv, t, hw)
            else:
                s = stats[0][key] if len(stats) == 1 else blend_stats([st[key] for st in stats], w)
                affine = wct_affine(covariance_stats(f), s, alpha=alpha, gain=g)
                y = self._dec(lv, f, hw, affine=affine)
                if eta:
                    t = apply_affine(f, affine)  # formed only for the feedback
            if eta:
                y = self._feedback(lv, t, y, eta)
            x = y
        return _fit_long_side(x, None, (H, W))

    def _feedback(self, level: str, target: torch.Tensor, y: torch.Tensor, eta: float) -> torch.Tensor:
        """``feedback_steps`` corrections of the decoded ``y`` towards the features ``target``."""
        z = target
        for _ in range(self.feedback_steps):
            z = z + eta * (target - self._enc(y, [level])[level].float())
            y = self._dec(level, z, (y.shape[-2], y.shape[-1]))
        return y

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        return self.stylize_stats(content, [self.style_stats(style)], alpha=alpha)
