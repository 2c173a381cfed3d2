"""ONNX export and the onnxruntime inference path.

A per-style network exports as one graph ``image (1, 3, H, W) → stylised``
with dynamic height and width.  The AdaIN model exports as
``content, style, alpha → stylised`` (encoder + AdaIN + decoder).  At run
time :func:`session_for` opens the ONNX file shipped beside a built-in model, or exports a
per-style network once into the cache
folder (keyed by the weights file's content hash) and opens it with
onnxruntime.
"""

from __future__ import annotations

__all__ = ["build_palette_graph", "export_onnx", "export_module", "session_for"]

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import StyleforgeError

log = logging.getLogger(__name__)


def export_module(net: nn.Module, path: Path, *, opset: int = 17, kind: str = "instant") -> Path:
    """Export ``net`` (eval, fp32) to ``path`` atomically, with dynamic spatial axes."""
    import onnx

    from ..io import atomic_path

    net = net.eval().float()
    if kind == "instant":
        args: tuple[Any, ...] = (torch.rand(1, 3, 64, 64),)
        names, dyn = ["image"], {"image": {2: "height", 3: "width"}, "stylised": {2: "height", 3: "width"}}
    else:
        args = (torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64), torch.tensor(1.0))
        names = ["content", "style", "alpha"]
        dyn = {"content": {2: "height", 3: "width"}, "style": {2: "sh", 3: "sw"}, "stylised": {2: "height", 3: "width"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # exporter chatter about Slice folding and instance_norm
            torch.onnx.export(
                net,
                args,
                str(tmp),
                input_names=names,
                output_names=["stylised"],
                dynamic_axes=dyn,
                opset_version=opset,
                dynamo=False,
            )
        onnx.checker.check_model(str(tmp))
    return path


def export_onnx(model: Any, out: Path, *, opset: int = 17, fp16: bool = False) -> Path:
    """Export the first style of an :class:`~styleforge.instant.infer.InstantModel`."""
    p = model.per_style[0]
    if p is not None:
        export_module(p.net, out, opset=opset, kind="instant")
    else:
        if model.adain is None:
            raise StyleforgeError("nothing to export")
        export_module(model.adain, out, opset=opset, kind="adain")
    if fp16:
        import onnx
        from onnx import numpy_helper

        m = onnx.load(str(out))
        for init in m.graph.initializer:
            arr = numpy_helper.to_array(init)
            if arr.dtype.name == "float32":
                init.CopyFrom(numpy_helper.from_array(arr.astype("float16").astype("float32"), init.name))
        onnx.save(m, str(out))  # values rounded through fp16; graph stays fp32 for onnxruntime CPU
    return out


def session_for(net: nn.Module, weights: Path, kind: str = "instant") -> Any:
    """An onnxruntime session for ``net``: the ONNX file beside ``weights`` or in the cache
    (exported there on first use, see :func:`styleforge.instant.lite.onnx_file_for`); ``None`` if that fails."""
    from .lite import onnx_file_for, ort_session

    try:
        path = onnx_file_for(weights, kind)
        if not path.is_file():
            export_module(net, path, kind=kind)
        return ort_session(path, torch.get_num_threads() or (os.cpu_count() or 1))
    except Exception as e:  # read-only cache, exporter problem: fall back to torch
        log.warning("onnxruntime path unavailable (%s: %s); using torch", type(e).__name__, str(e)[:120])
        return None


def build_palette_graph(path: Path, opset: int = 17) -> Path:
    """The palette pass's two convolutions as an ONNX graph with the weights as inputs.

    ``x`` ``(1, 3, H, W)``, ``enc_w``, ``enc_b``, ``dec_w``, ``dec_b`` → reflection pad, conv,
    ReLU, reflection pad, conv, clip to [0, 1] (:data:`styleforge.instant.palette.ConvRunner`).
    The weights change with every photo (the closed forms of :func:`~styleforge.instant.palette.pass_maps`),
    so they are inputs, not initialisers.  Shipped as ``assets/instant/palette.onnx``.
    """
    import onnx
    from onnx import TensorProto, helper

    f = TensorProto.FLOAT
    inputs = [
        helper.make_tensor_value_info("x", f, [1, 3, "H", "W"]),
        helper.make_tensor_value_info("enc_w", f, [64, 3, 3, 3]),
        helper.make_tensor_value_info("enc_b", f, [64]),
        helper.make_tensor_value_info("dec_w", f, [3, 64, 3, 3]),
        helper.make_tensor_value_info("dec_b", f, [3]),
    ]
    pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 1, 0, 0, 1, 1])
    lo = helper.make_tensor("lo", f, [], [0.0])
    hi = helper.make_tensor("hi", f, [], [1.0])
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["xp"], mode="reflect"),
        helper.make_node("Conv", ["xp", "enc_w", "enc_b"], ["f"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["f"], ["fr"]),
        helper.make_node("Pad", ["fr", "pads"], ["fp"], mode="reflect"),
        helper.make_node("Conv", ["fp", "dec_w", "dec_b"], ["y0"], kernel_shape=[3, 3]),
        helper.make_node("Clip", ["y0", "lo", "hi"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "styleforge_palette",
        inputs,
        [helper.make_tensor_value_info("y", f, [1, 3, "H", "W"])],
        initializer=[pads, lo, hi],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="styleforge")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
