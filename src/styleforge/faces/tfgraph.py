"""A converted TFLite graph as a small torch module (NCHW inside, TFLite semantics outside).

Each operator of :func:`styleforge.faces.weights.convert_tflite`'s list becomes one torch module:
``CONV_2D`` / ``DEPTHWISE_CONV_2D`` (TF ``SAME`` padding computed from the static input size, so an
even kernel/stride pads more on the bottom/right as TensorFlow does), ``PRELU``, ``RELU``, ``ADD``,
``MAX_POOL_2D`` (``SAME`` pads with −∞), ``PAD`` (channel padding of the BlazeBlocks), ``RESHAPE``
(NHWC order) and ``CONCATENATION``.  4-D tensors are NCHW inside; outputs come back in TFLite's
layout.  Weights are stored float16 and computed in float32.
"""

from __future__ import annotations

__all__ = ["TfliteNet", "same_pad"]

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def same_pad(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding ``(before, after)`` along one axis."""
    eff = (k - 1) * d + 1
    total = max((math.ceil(size / s) - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def _nchw_axis(axis: int, rank: int) -> int:
    axis %= rank
    return {0: 0, 1: 2, 2: 3, 3: 1}[axis] if rank == 4 else axis


class _Conv(nn.Module):
    def __init__(self, rec: dict, consts: dict[str, np.ndarray], shapes: dict[str, list[int]]) -> None:
        super().__init__()
        x, w, b = rec["in"][:3] if len(rec["in"]) >= 3 else (*rec["in"], -1)
        wt = torch.from_numpy(consts[f"t{w}"].astype(np.float32))
        ih, iw = shapes[str(x)][1:3]
        self.depthwise = rec["op"] == "DEPTHWISE_CONV_2D"
        if self.depthwise:  # [1, kh, kw, C·m] → [C·m, 1, kh, kw]
            wt = wt.permute(3, 0, 1, 2)
            self.groups = shapes[str(x)][3]
        else:  # [O, kh, kw, I] → [O, I, kh, kw]
            wt = wt.permute(0, 3, 1, 2)
            self.groups = 1
        self.weight = nn.Parameter(wt.contiguous(), requires_grad=False)
        bias = consts.get(f"t{b}") if b >= 0 else None
        self.bias = (
            nn.Parameter(torch.from_numpy(bias.astype(np.float32)), requires_grad=False) if bias is not None else None
        )
        self.stride = tuple(rec["stride"])
        self.dilation = tuple(rec["dilation"])
        kh, kw = wt.shape[2:]
        if rec["same"]:
            pt, pb = same_pad(ih, kh, self.stride[0], self.dilation[0])
            pl, pr = same_pad(iw, kw, self.stride[1], self.dilation[1])
            self.pad = (pl, pr, pt, pb)
        else:
            self.pad = (0, 0, 0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pl, pr, pt, pb = self.pad
        if pl == pr and pt == pb:  # symmetric: let the convolution pad (cheaper than F.pad)
            return F.conv2d(x, self.weight, self.bias, self.stride, (pt, pl), self.dilation, self.groups)
        return F.conv2d(F.pad(x, self.pad), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class _MaxPool(nn.Module):
    def __init__(self, rec: dict, shapes: dict[str, list[int]]) -> None:
        super().__init__()
        ih, iw = shapes[str(rec["in"][0])][1:3]
        self.k, self.s = tuple(rec["kernel"]), tuple(rec["stride"])
        if rec["same"]:
            pt, pb = same_pad(ih, self.k[0], self.s[0])
            pl, pr = same_pad(iw, self.k[1], self.s[1])
            self.pad = (pl, pr, pt, pb)
        else:
            self.pad = (0, 0, 0, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = F.pad(x, self.pad, value=float("-inf"))
        return F.max_pool2d(x, self.k, self.s)


class _PRelu(nn.Module):
    def __init__(self, alpha: np.ndarray) -> None:
        super().__init__()
        a = torch.from_numpy(alpha.astype(np.float32)).reshape(-1)
        self.alpha = nn.Parameter(a.contiguous(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.prelu(x, self.alpha)


class _Pad(nn.Module):
    def __init__(self, pads: list[list[int]]) -> None:
        super().__init__()
        (n0, n1), (h0, h1), (w0, w1), (c0, c1) = pads
        if n0 or n1:
            raise ValueError("batch padding is not supported")
        self.pad = (w0, w1, h0, h1, c0, c1)  # NCHW: last dim first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad)


class _Reshape(nn.Module):
    def __init__(self, shape: list[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)
        y = x.reshape((x.shape[0], *self.shape[1:]))
        return y.permute(0, 3, 1, 2) if y.dim() == 4 else y


class _Concat(nn.Module):
    def __init__(self, axis: int, rank: int) -> None:
        super().__init__()
        self.axis = _nchw_axis(axis, rank)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, self.axis)


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class TfliteNet(nn.Module):
    """Runs a converted graph: ``forward(x)`` takes NCHW float input, returns the graph's outputs
    (tuple, TFLite layout: 4-D outputs are permuted back to NHWC)."""

    def __init__(self, consts: dict[str, np.ndarray], graph: dict) -> None:
        super().__init__()
        shapes = graph["shapes"]
        self.inputs = list(graph["inputs"])
        self.outputs = list(graph["outputs"])
        self.input_shape = tuple(shapes[str(self.inputs[0])])  # NHWC
        mods: list[nn.Module] = []
        self.wiring: list[tuple[list[int], int]] = []
        for rec in graph["ops"]:
            op = rec["op"]
            ins = rec["in"]
            if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                m: nn.Module = _Conv(rec, consts, shapes)
                ins = ins[:1]
            elif op == "PRELU":
                m = _PRelu(consts[f"t{ins[1]}"])
                ins = ins[:1]
            elif op == "RELU":
                m = nn.ReLU()
            elif op == "ADD":
                m = _Add()
            elif op == "MAX_POOL_2D":
                m = _MaxPool(rec, shapes)
            elif op == "PAD":
                m = _Pad(rec["pads"])
            elif op == "RESHAPE":
                m = _Reshape(shapes[str(rec["out"][0])])
            elif op == "CONCATENATION":
                m = _Concat(rec["axis"], len(shapes[str(rec["out"][0])]))
            else:  # pragma: no cover - convert_tflite refuses these
                raise ValueError(f"unsupported operator {op}")
            mods.append(m)
            self.wiring.append((list(ins), rec["out"][0]))
        self.ops = nn.ModuleList(mods)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        env: dict[int, torch.Tensor] = {self.inputs[0]: x}
        for m, (ins, out) in zip(self.ops, self.wiring, strict=True):
            env[out] = m(*(env[i] for i in ins))
        return tuple(env[o].permute(0, 2, 3, 1) if env[o].dim() == 4 else env[o] for o in self.outputs)
