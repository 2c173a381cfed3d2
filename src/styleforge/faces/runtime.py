"""Run a converted face model: onnxruntime when available (4–5× faster on CPU here), else torch.

``styleforge weights fetch faces`` also exports each converted graph to ONNX (:func:`export_onnx`) in
the same cache folder and records the file's SHA-256 in ``onnx.json`` beside it; :class:`FaceNet`
checks that hash before using the ONNX file and falls back to the torch module (:mod:`.tfgraph`)
when onnxruntime is not installed or the file is missing — the outputs agree within 1e-4.
"""

from __future__ import annotations

__all__ = ["FaceNet", "export_all", "export_onnx"]

import json
from pathlib import Path

import numpy as np

from ..download import sha256
from ..errors import InputError
from .weights import MODELS, faces_dir, load_graph

MANIFEST = "onnx.json"


def _manifest() -> dict[str, str]:
    p = faces_dir() / MANIFEST
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return {}


def export_onnx(name: str, path: Path) -> str:
    """Export one converted graph to ONNX (torch needed); returns the file's SHA-256."""
    import torch

    from .tfgraph import TfliteNet

    consts, graph = load_graph(name)
    net = TfliteNet(consts, graph).eval()
    _, h, w, c = net.input_shape
    tmp = path.with_suffix(".tmp")
    with torch.no_grad():
        torch.onnx.export(
            net,
            (torch.zeros(1, c, h, w),),
            str(tmp),
            input_names=["x"],
            opset_version=17,
            dynamic_axes={"x": {0: "n"}},
            dynamo=False,
        )
    tmp.replace(path)
    return sha256(path)


def export_all(log=print) -> dict[str, str]:
    """ONNX files for every face model, hashes written to ``onnx.json``."""
    import warnings

    hashes = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in MODELS:
            p = faces_dir() / f"{name}.onnx"
            hashes[name] = export_onnx(name, p)
            log(f"{name}: ONNX → {p} (sha256 {hashes[name][:16]}…)")
    (faces_dir() / MANIFEST).write_text(json.dumps(hashes, indent=1, sort_keys=True))
    return hashes


class FaceNet:
    """``net(x) -> tuple of arrays``: NCHW float32 input, outputs in TFLite layout.

    Args:
        name: a key of :data:`styleforge.faces.weights.MODELS`.
        backend: ``"auto"`` (onnxruntime if usable, else torch), ``"onnx"`` or ``"torch"``.
    """

    def __init__(self, name: str, backend: str = "auto") -> None:
        self.name = name
        self.session = None
        self.torch_net = None
        path = faces_dir() / f"{name}.onnx"
        if backend in ("auto", "onnx"):
            ok = path.is_file() and _manifest().get(name) == sha256(path)
            try:
                import onnxruntime as ort
            except ImportError:
                ort = None
            if ok and ort is not None:
                so = ort.SessionOptions()
                so.intra_op_num_threads = 1  # tiny networks: one thread is fastest, and safe beside other jobs
                so.log_severity_level = 3
                self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            elif backend == "onnx":
                raise InputError(
                    f"no verified ONNX file for {name} (or no onnxruntime): run `styleforge weights fetch faces`"
                )
        if self.session is None:
            from .tfgraph import TfliteNet

            self.torch_net = TfliteNet(*load_graph(name)).eval()
            self.input_shape = self.torch_net.input_shape
        else:
            graph = load_graph(name)[1]
            self.input_shape = tuple(graph["shapes"][str(graph["inputs"][0])])  # NHWC

    @property
    def backend(self) -> str:
        return "onnx" if self.session is not None else "torch"

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        x = np.ascontiguousarray(x, np.float32)
        if self.session is not None:
            return tuple(self.session.run(None, {"x": x}))
        import torch

        assert self.torch_net is not None  # no ONNX session: the torch port
        with torch.no_grad():
            return tuple(y.numpy() for y in self.torch_net(torch.from_numpy(x)))
