"""The reference repositories' generator state dicts ↔ styleforge's generators.

pytorch-CycleGAN-and-pix2pix and contrastive-unpaired-translation (CUT) save a generator as
a bare ``state_dict`` (``latest_net_G.pth``).  Their layouts, read from the state dict alone:

* ResNet (``resnet_6blocks`` / ``resnet_9blocks``): ``model.<i>.*`` in one ``nn.Sequential``
  whose indices equal ours; residual blocks hold ``conv_block.<j>`` where ours hold ``block.<j>``.
  CUT's anti-aliased variant adds blur buffers ``model.<i>.filt`` (fixed binomial filters,
  checked and dropped: ours are built in) — our ``upsample="antialias"``.
* U-Net (``unet_256`` / ``unet_128``): nested ``model.model.<i>`` skip blocks; the outermost
  block's layers are ``0`` (down conv), ``1`` (inner block), ``3`` (up conv), a middle block's
  ``1, 2, 3, 5, 6`` (down conv, down norm, inner block, up conv, up norm), the innermost's
  ``1, 3, 4`` (down conv, up conv, up norm).
* Normalisation: batch norm (affine, running statistics) or instance norm (no parameters).
  Checkpoints written by PyTorch < 0.4 carry ``running_mean``/``running_var`` for instance
  norm, which the reference drops at load time; so do we.
"""

from __future__ import annotations

__all__ = ["ReferenceLayout", "from_reference", "infer_layout", "is_reference_state", "to_reference"]

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..errors import InputError

_STATS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class ReferenceLayout:
    """What a reference state dict holds: enough to build the same network here."""

    netG: str
    input_nc: int
    output_nc: int
    ngf: int
    norm: str
    upsample: str = "deconv"
    dropout: bool = False

    def build(self) -> nn.Module:
        from ..nets import build_generator

        kw: dict[str, Any] = {"upsample": self.upsample} if self.netG.startswith("resnet") else {}
        return build_generator(
            self.netG,
            self.input_nc,
            self.output_nc,
            ngf=self.ngf,
            norm=self.norm,
            dropout=self.dropout,
            init=None,
            **kw,
        )


def _strip(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop a DataParallel ``module.`` prefix."""
    return {(k.removeprefix("module.")): v for k, v in state.items()}


def is_reference_state(state: Mapping[str, object]) -> bool:
    """Whether ``state`` is a bare generator state dict in the reference repositories' layout."""
    if not state or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        return False
    keys = list(_strip(state))  # type: ignore[arg-type]
    return any(".conv_block." in k for k in keys) or any(k.startswith("model.model.") for k in keys)


def infer_layout(state: Mapping[str, torch.Tensor]) -> ReferenceLayout:
    """Architecture of a reference state dict (ResNet or U-Net; batch or instance norm)."""
    s = _strip(state)
    if any(".conv_block." in k for k in s):
        blocks = {int(m.group(1)) for k in s if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
        stem = s.get("model.1.weight")
        if stem is None or stem.ndim != 4:
            raise InputError("a ResNet generator state dict without its 7×7 stem (model.1.weight)")
        convs = sorted(int(m.group(1)) for k in s if (m := re.fullmatch(r"model\.(\d+)\.weight", k)) and s[k].ndim == 4)
        last = s[f"model.{convs[-1]}.weight"]
        aa = any(k.endswith(".filt") for k in s)
        first = min(blocks)
        dropout = f"model.{first}.conv_block.6.weight" in s
        norm = "batch" if "model.2.weight" in s else "instance"
        n = len(blocks)
        if n not in (6, 9):
            raise InputError(f"a ResNet generator with {n} residual blocks (styleforge builds 6 or 9)")
        return ReferenceLayout(
            f"resnet_{n}blocks",
            int(stem.shape[1]),
            int(last.shape[0]),
            int(stem.shape[0]),
            norm,
            "antialias" if aa else "deconv",
            dropout,
        )
    if "model.model.0.weight" in s:
        num_downs = max(k.count("model.") for k in s) - 1  # one nested ``model`` per block, plus the generator's
        if num_downs not in (5, 6, 7, 8):
            raise InputError(f"a U-Net with {num_downs} downsamplings (styleforge builds 5 to 8)")
        down, up = s["model.model.0.weight"], s["model.model.3.weight"]
        norm = "batch" if "model.model.1.model.2.weight" in s else "instance"
        name = {8: "unet_256", 7: "unet_128", 6: "unet_64", 5: "unet_32"}[num_downs]
        return ReferenceLayout(name, int(down.shape[1]), int(up.shape[1]), int(down.shape[0]), norm, dropout=True)
    raise InputError("not a generator state dict of the reference layout (no ResNet blocks, no U-Net)")


def _unet_names(net: nn.Module) -> dict[str, str]:
    """Our U-Net module path → the reference's (``model.sub.down`` → ``model.model.1.model.1``)."""
    from ..nets.generators import UnetBlock

    out: dict[str, str] = {}

    def walk(block: nn.Module, ours: str, ref: str) -> None:
        assert isinstance(block, UnetBlock)
        if block.outermost:
            idx = {"down": 0, "sub": 1, "up": 3}
        elif block.innermost:
            idx = {"down": 1, "up": 3, "up_norm": 4}
        else:
            idx = {"down": 1, "down_norm": 2, "sub": 3, "up": 5, "up_norm": 6}
        for name, i in idx.items():
            if name == "sub":
                walk(block.sub, f"{ours}sub.", f"{ref}model.{i}.")  # type: ignore[arg-type]
            else:
                out[f"{ours}{name}"] = f"{ref}model.{i}"

    walk(net.model, "model.", "model.")  # type: ignore[arg-type]
    return out


def _ref_key(key: str, unet: dict[str, str] | None) -> str:
    if unet is None:
        return key.replace(".block.", ".conv_block.")
    module, _, leaf = key.rpartition(".")
    return f"{unet[module]}.{leaf}"


def to_reference(net: nn.Module, state: Mapping[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """``net``'s state dict (or ``state``) under the reference's key names (without CUT's blur buffers)."""
    from ..nets.generators import UnetGenerator

    unet = _unet_names(net) if isinstance(net, UnetGenerator) else None
    return {_ref_key(k, unet): v for k, v in (state if state is not None else net.state_dict()).items()}


def from_reference(net: nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A reference state dict renamed for ``net`` (built from :func:`infer_layout`).

    Refused with one line when keys or shapes differ; old instance-norm running statistics and
    CUT's fixed blur filters (checked against ours) are dropped.
    """
    from ..nets.generators import UnetGenerator

    s = _strip(state)
    unet = _unet_names(net) if isinstance(net, UnetGenerator) else None
    ours = net.state_dict()
    wanted = {_ref_key(k, unet): k for k in ours}
    modules = dict(net.named_modules())
    bufs = {n: b for n, b in net.named_buffers()}  # non-persistent blur filters included
    out: dict[str, torch.Tensor] = {}
    for k, v in s.items():
        if k in wanted:
            target = ours[wanted[k]]
            if tuple(v.shape) != tuple(target.shape):
                raise InputError(f"weight {k} has shape {tuple(v.shape)}, the generator needs {tuple(target.shape)}")
            out[wanted[k]] = v
            continue
        module, _, leaf = k.rpartition(".")
        our_module = module.replace(".conv_block.", ".block.") if unet is None else unet.get(module, "")
        m = modules.get(our_module)
        if leaf in _STATS and isinstance(m, nn.InstanceNorm2d):
            continue  # PyTorch < 0.4 instance norm statistics (unused)
        if leaf == "filt" and f"{our_module}.filt" in bufs:
            mine = bufs[f"{our_module}.filt"]
            if v.shape != mine.shape or not torch.allclose(v.float(), mine.float(), atol=1e-6):
                raise InputError(f"{k}: the blur filter differs from CUT's binomial filter")
            continue
        raise InputError(f"unexpected weight {k} for a {type(net).__name__}")
    missing = sorted(set(ours) - set(out))
    if missing:
        raise InputError(
            f"the state dict lacks {len(missing)} weight(s) of the generator, e.g. {_ref_key(missing[0], unet)}"
        )
    return out
