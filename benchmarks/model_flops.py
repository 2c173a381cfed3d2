"""Compute of the instant-style networks: multiply-accumulates counted by hooks on every convolution.

Prints, per architecture (``johnson``, ``small``, ``fast``) at a given size: parameters, G MACs
(multiply-accumulates of the convolutions and linear layers: the bulk of the work) and GFLOPs
(= 2 × MACs; norms, activations and upsampling are not counted), and the ratio to ``johnson``.
Counting, not timing: the figures do not depend on the machine's load.

Usage: ``python benchmarks/model_flops.py [--width 512 --height 384]``
"""

from __future__ import annotations

import argparse

import torch
from torch import nn


def count_macs(net: nn.Module, x: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass of ``x`` (batch 1) through ``net``'s conv/linear layers."""
    total = 0

    def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d | nn.ConvTranspose2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            n = out.numel() if isinstance(mod, nn.Conv2d) else inp[0].numel() // mod.in_channels * mod.out_channels
            total += n * k
        elif isinstance(mod, nn.Linear):
            total += out.numel() * mod.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in net.modules()
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)
    ]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=384)
    args = ap.parse_args()
    from styleforge.nets.feedforward import TRANSFORMER_CONFIGS, TransformerNet

    x = torch.rand(1, 3, args.height, args.width)
    rows = {}
    for name, cfg in TRANSFORMER_CONFIGS.items():
        net = TransformerNet(cfg).eval()
        rows[name] = (sum(p.numel() for p in net.parameters()), count_macs(net, x))
    print(f"instant networks at {args.width}×{args.height} (batch 1; conv + linear layers counted by hooks)")
    print(f"{'arch':10s} {'params':>10s} {'G MACs':>8s} {'GFLOPs':>8s} {'vs johnson':>11s}")
    for name, (params, macs) in rows.items():
        print(
            f"{name:10s} {params:>10,d} {macs / 1e9:>8.2f} {2 * macs / 1e9:>8.2f} {macs / rows['johnson'][1]:>10.2f}×"
        )


if __name__ == "__main__":
    main()
