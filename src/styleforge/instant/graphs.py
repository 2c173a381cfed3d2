"""ONNX graphs built here (torch-free): the palette pass's full-size work as one runtime graph.

:func:`build_pass_graph` writes the graph :class:`styleforge.instant.lite.PassRunner` runs after a
per-style network: everything of the palette pass (:mod:`.palette`) that works on every pixel.
The closed forms (the RGB map ``a``, ``c`` and the decoder ``dec_w``, ``dec_b``, from the sampled
statistics, :func:`~styleforge.instant.palette.pass_closed_forms`) change with every photo, so
they are inputs; VGG16's ``conv1_1`` is the same for every painting, so it is an initialiser
(onnxruntime packs constant weights once, which it cannot do for inputs).  The graph ships with
the package (``assets/instant/palette_pass.onnx``) with ``conv1_1`` all zeros: the session puts
the real weights in its place (:func:`styleforge.instant.lite.pass_session`), so no run needs the
``onnx`` package or a cache to write to::

    y (1, 3, H, W) ─ 1×1 conv (a, c) ─ clip [0, 1] ─ reflect pad ─ conv1_1 ─ ReLU     (= the pass's x, relu1_1)
      ─ reshape (64, H·W) ─ MatMul proj (27, 64) ─ reshape (1, 27, H, W)            (the decoder per tap)
      ─ reflect pad ─ the nine taps' shifted 3-channel slices summed ─ + dec_b ─ clip [0, 1]

The decoder's 3×3 convolution is split as in the numpy pass: its 64→3 channel projection once
per tap (``proj`` row ``3·t + o`` = ``dec_w[o, :, t // 3, t % 3]``), then the nine shifted taps
summed; its reflection padding moves after the projection (a per-pixel map commutes with it).
A direct 64→3 3×3 convolution with input weights went through a 576-wide im2col buffer per
pixel (the pass cost 0.07 s at 512 px); a grouped one-hot convolution for the tap sum cost more
than the slices.  :class:`~styleforge.instant.lite.PassRunner` opens it without onnxruntime's
NCHWc layout (``ORT_ENABLE_EXTENDED``): the reorder of 64 full-size channels back for the MatMul
cost more than the blocked convolution saved (26 vs 33 ms at 512 px, 2 threads); the replaced
``conv1_1`` needs that level too (see :func:`styleforge.instant.lite.session_with`).
"""

from __future__ import annotations

__all__ = ["build_pass_graph", "proj_from_dec"]

from pathlib import Path

import numpy as np

#: ``conv1_1``'s shapes in the graph (its weights and bias, zeros until a session replaces them).
ENC_SHAPES = {"enc_w": (64, 3, 3, 3), "enc_b": (64,)}


def proj_from_dec(dec_w: np.ndarray) -> np.ndarray:
    """The decoder's weights ``(3, 64, 3, 3)`` as the graph's ``proj`` ``(27, 64)`` (rows ``3·t + o``)."""
    return np.ascontiguousarray(dec_w.transpose(2, 3, 0, 1).reshape(27, dec_w.shape[1]), dtype=np.float32)


def build_pass_graph(path: Path, opset: int = 17) -> Path:
    """Write the pass graph to ``path`` atomically, ``conv1_1`` (``enc_w``, ``enc_b``: RGB in [0, 1],
    :func:`~styleforge.instant.palette.graph_encoder`) as zero initialisers.  Needs the ``onnx`` package
    (development only: the graph ships as ``assets/instant/palette_pass.onnx``, and a test rebuilds it)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from ..io import atomic_path

    f = TensorProto.FLOAT
    ch = ENC_SHAPES["enc_w"][0]
    inits = [
        *(numpy_helper.from_array(np.zeros(shape, np.float32), name) for name, shape in ENC_SHAPES.items()),
        numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads"),
        numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
        numpy_helper.from_array(np.array(1.0, np.float32), "hi"),
        numpy_helper.from_array(np.array([ch, -1], np.int64), "flat"),
        numpy_helper.from_array(np.array([1, 27], np.int64), "head"),
        numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
    ]
    inputs = [
        helper.make_tensor_value_info("y", f, [1, 3, "H", "W"]),
        helper.make_tensor_value_info("rgb_w", f, [3, 3, 1, 1]),
        helper.make_tensor_value_info("rgb_b", f, [3]),
        helper.make_tensor_value_info("proj", f, [27, ch]),
        helper.make_tensor_value_info("dec_b", f, [1, 3, 1, 1]),
    ]
    nodes = [
        helper.make_node("Conv", ["y", "rgb_w", "rgb_b"], ["x0"], kernel_shape=[1, 1]),
        helper.make_node("Clip", ["x0", "lo", "hi"], ["x"]),
        helper.make_node("Pad", ["x", "pads"], ["xp"], mode="reflect"),
        helper.make_node("Conv", ["xp", "enc_w", "enc_b"], ["f0"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["f0"], ["f"]),
        helper.make_node("Reshape", ["f", "flat"], ["f2"]),
        helper.make_node("MatMul", ["proj", "f2"], ["g2"]),
        helper.make_node("Shape", ["y"], ["hw"], start=2),
        helper.make_node("Concat", ["head", "hw"], ["gshape"], axis=0),
        helper.make_node("Reshape", ["g2", "gshape"], ["g"]),
        helper.make_node("Pad", ["g", "pads"], ["gp"], mode="reflect"),
        helper.make_node("Shape", ["y"], ["h"], start=2, end=3),
        helper.make_node("Shape", ["y"], ["w"], start=3, end=4),
    ]
    taps = []
    for t in range(9):  # tap t = (dy, dx): channels 3t..3t+2 of the padded g, shifted by (dy, dx)
        dy, dx = divmod(t, 3)
        inits += [
            numpy_helper.from_array(np.array([3 * t, dy, dx], np.int64), f"start{t}"),
            numpy_helper.from_array(np.array([3 * t + 3], np.int64), f"c{t}"),
            numpy_helper.from_array(np.array([dy], np.int64), f"dy{t}"),
            numpy_helper.from_array(np.array([dx], np.int64), f"dx{t}"),
        ]
        nodes += [
            helper.make_node("Add", ["h", f"dy{t}"], [f"hend{t}"]),
            helper.make_node("Add", ["w", f"dx{t}"], [f"wend{t}"]),
            helper.make_node("Concat", [f"c{t}", f"hend{t}", f"wend{t}"], [f"end{t}"], axis=0),
            helper.make_node("Slice", ["gp", f"start{t}", f"end{t}", "axes"], [f"tap{t}"]),
        ]
        taps.append(f"tap{t}")
    nodes += [
        helper.make_node("Sum", taps, ["o0"]),
        helper.make_node("Add", ["o0", "dec_b"], ["o1"]),
        helper.make_node("Clip", ["o1", "lo", "hi"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "styleforge_palette_pass",
        inputs,
        [helper.make_tensor_value_info("out", f, [1, 3, "H", "W"])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="styleforge")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return path
