"""The TFLite-graph executor: TF 'SAME' padding and NHWC reshapes."""

from __future__ import annotations

import numpy as np
import torch

from styleforge.faces.tfgraph import TfliteNet, same_pad


def test_same_pad_matches_tensorflow():
    # TF: out = ceil(in / s); total = max((out - 1)·s + k − in, 0); extra pixel at the end.
    assert same_pad(128, 5, 2) == (1, 2)
    assert same_pad(64, 3, 1) == (1, 1)
    assert same_pad(64, 2, 2) == (0, 0)
    assert same_pad(3, 3, 3) == (0, 0)
    assert same_pad(7, 3, 2) == (1, 1)


def _graph(stride: int) -> tuple[dict, dict]:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2, 3, 3, 1)).astype(np.float16)  # O, kh, kw, I
    b = np.array([0.5, -0.5], np.float16)
    graph = {
        "inputs": [0],
        "outputs": [4],
        "shapes": {"0": [1, 6, 6, 1], "1": [2, 3, 3, 1], "2": [2], "3": [1, 3, 3, 2], "4": [1, 18, 1]},
        "ops": [
            {
                "op": "CONV_2D",
                "in": [0, 1, 2],
                "out": [3],
                "stride": [stride, stride],
                "dilation": [1, 1],
                "same": True,
                "act": 0,
            },
            {"op": "RESHAPE", "in": [3], "out": [4]},
        ],
    }
    return {"t1": w, "t2": b}, graph


def test_conv_same_stride2_pads_bottom_right_and_reshape_is_nhwc():
    consts, graph = _graph(2)
    net = TfliteNet(consts, graph)
    x = torch.arange(36, dtype=torch.float32).reshape(1, 1, 6, 6)
    (y,) = net(x)
    # reference: NHWC convolution with TF SAME padding (total 1 → 0 before, 1 after), by hand
    img = np.pad(x[0, 0].numpy(), ((0, 1), (0, 1)))
    w = consts["t1"].astype(np.float32)
    ref = np.zeros((3, 3, 2), np.float32)
    for i in range(3):
        for j in range(3):
            patch = img[2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
            ref[i, j] = [(patch * w[o, :, :, 0]).sum() + float(consts["t2"][o]) for o in range(2)]
    np.testing.assert_allclose(y.numpy().reshape(3, 3, 2), ref, rtol=1e-5, atol=1e-4)
