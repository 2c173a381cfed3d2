"""Built-in instant models (``assets/instant/manifest.json``) and weight loading.

The manifest lists each shipped model::

    {"models": {"starry_night": {"file": "starry_night.safetensors", "kind": "instant",
                                  "style": "starry_night", "data": "...", "steps": 900,
                                  "seconds": 420, "command": "styleforge train instant ..."}, ...}}

Weights are fp16 safetensors written by :func:`styleforge.engine.export_safetensors`
(metadata ``kind`` and ``model_config``), loaded back to fp32.  A trained
``runs/.../weights/T.safetensors`` (per-style) or ``decoder.safetensors``
(AdaIN) loads the same way.
"""

from __future__ import annotations

__all__ = [
    "ASSET_DIR",
    "ManifestEntry",
    "builtin_models",
    "init_state_from",
    "load_adain_net",
    "load_arbitrary_net",
    "load_wct_net",
    "load_weights",
    "package_weights",
    "weights_for",
]

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, suggest

if TYPE_CHECKING:  # the manifest helpers stay torch-free (the CLI's fast path uses them)
    import torch
    from torch import nn

ASSET_DIR = Path(__file__).resolve().parents[1] / "assets" / "instant"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ManifestEntry:
    name: str
    file: Path
    kind: str  # "instant" (per-style network), "adain" (decoder) or "wct" (reconstruction decoders)
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def builtin_models(folder: Path = ASSET_DIR) -> dict[str, ManifestEntry]:
    """Name → entry of every shipped model whose weights file exists."""
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path} is not a readable instant-model manifest ({e})") from None
    out: dict[str, ManifestEntry] = {}
    for name, info in sorted(data.get("models", {}).items()):
        f = folder / info["file"]
        if f.is_file():
            desc = info.get("description") or (f"{info.get('style', name)}, {info.get('steps', '?')} steps")
            out[name] = ManifestEntry(name, f, info.get("kind", "instant"), desc, dict(info))
    return out


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    from ..engine import load_safetensors

    tensors, meta = load_safetensors(path)
    parsed: dict[str, Any] = {}
    for k, v in meta.items():
        try:
            parsed[k] = json.loads(v)
        except (json.JSONDecodeError, TypeError):
            parsed[k] = v
    return {k: v.float() for k, v in tensors.items()}, parsed


@functools.lru_cache(maxsize=16)
def _cached_read(path: str, mtime: float) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    return _read(Path(path))


def load_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """State dict (fp32) and parsed metadata of a styleforge weights file."""
    return _cached_read(str(path), path.stat().st_mtime if path.exists() else 0.0)


def weights_for(name_or_path: str) -> Path | None:
    """A built-in instant model name or a ``.safetensors`` path → the weights file (``None`` if neither)."""
    models = builtin_models()
    key = name_or_path.replace("-", "_")
    if key in models:
        return models[key].file
    p = Path(name_or_path)
    if p.suffix == ".safetensors":
        if not p.is_file():
            raise InputError(f"weights file not found: {p}")
        return p
    if p.is_dir() and (p / "weights").is_dir():  # a training run folder
        for cand in ("T.safetensors", "decoder.safetensors"):
            if (p / "weights" / cand).is_file():
                return p / "weights" / cand
    return None


def build_transformer(meta: dict[str, Any]) -> nn.Module:
    from ..nets.feedforward import TransformerConfig, TransformerNet

    cfg = meta.get("model_config", {})
    return TransformerNet(TransformerConfig.from_dict(cfg.get("net", {})))


def load_transformer(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    sd, meta = load_weights(path)
    if meta.get("kind") != "instant":
        raise InputError(f"{path} holds a {meta.get('kind')!r} model, not a per-style instant network")
    net = build_transformer(meta)
    try:
        net.load_state_dict(sd)
    except RuntimeError as e:
        raise InputError(f"{path} does not match its declared architecture ({str(e).splitlines()[0][:100]})") from None
    return net.eval().requires_grad_(False), meta


def default_adain_weights() -> Path:
    models = builtin_models()
    for entry in models.values():
        if entry.kind == "adain":
            return entry.file
    raise InputError(
        "no built-in AdaIN decoder is installed; train one with `styleforge train adain` "
        "and pass its weights with --adain-decoder, or use a built-in instant style: " + ", ".join(models)
    )


def load_adain_net(path: Path | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """The AdaIN network (offline VGG16 encoder + decoder from ``path`` or the built-in one)."""
    from ..nets.adain import AdaINNet, Decoder, DecoderConfig, build_encoder

    path = path or default_adain_weights()
    sd, meta = load_weights(path)
    if meta.get("kind") != "adain":
        raise InputError(f"{path} holds a {meta.get('kind')!r} model, not an AdaIN decoder")
    decoder = Decoder(DecoderConfig.from_dict(meta.get("model_config", {}).get("net", {})))
    try:
        decoder.load_state_dict(sd)
    except RuntimeError as e:
        raise InputError(f"{path} does not match its declared decoder ({str(e).splitlines()[0][:100]})") from None
    net = AdaINNet(build_encoder(), decoder.eval().requires_grad_(False))
    return net.eval(), meta


#: Arbitrary-style methods, best first: the built-in one is the first installed.
ARBITRARY_KINDS = ("wct", "adain")


def default_arbitrary_weights(method: str = "auto") -> Path:
    """The built-in weights of ``method`` (``auto``: WCT when installed, else AdaIN)."""
    models = builtin_models()
    kinds = ARBITRARY_KINDS if method == "auto" else (method,)
    for kind in kinds:
        for entry in models.values():
            if entry.kind == kind:
                return entry.file
    if method == "adain":
        return default_adain_weights()
    raise InputError(f"no built-in {method} model is installed; use a built-in instant style: " + ", ".join(models))


def load_wct_net(
    path: Path | None = None, *, deep_size: int | None = None, amp: str = "auto"
) -> tuple[nn.Module, dict[str, Any]]:
    """Multi-level WCT (offline VGG16 encoder + reconstruction decoders from ``path`` or the built-in ones).

    ``deep_size``: long side of the deepest level's work image (default: the weights' recorded value).
    """
    import torch

    from ..engine.trainer import amp_dtype_for
    from ..nets.wct import ReconDecoder, WCTNet, build_encoder

    path = path or default_arbitrary_weights("wct")
    sd, meta = load_weights(path)
    if meta.get("kind") != "wct":
        raise InputError(f"{path} holds a {meta.get('kind')!r} model, not WCT decoders")
    cfg = meta.get("model_config", {})
    decoders = {}
    try:
        for lv, dcfg in cfg.get("decoders", {}).items():
            d = ReconDecoder(lv, float(dcfg.get("width", 1.0)))
            d.load_state_dict({k[len(lv) + 1 :]: v for k, v in sd.items() if k.startswith(lv + ".")})
            decoders[lv] = d.eval().requires_grad_(False)
    except (RuntimeError, ValueError) as e:
        raise InputError(f"{path} does not match its declared decoders ({str(e).splitlines()[0][:100]})") from None
    if not decoders:
        raise InputError(f"{path} declares no WCT decoders")
    size = deep_size if deep_size is not None else cfg.get("deep_size")
    try:
        net = WCTNet(
            build_encoder(list(decoders)),
            decoders,
            deep_size=size,
            amp=amp_dtype_for(amp, torch.device("cpu")),
            passes=cfg.get("passes"),
            gain=float(cfg.get("gain", 1.0)),
            sizes=None if deep_size is not None else cfg.get("sizes"),
            feedback=cfg.get("feedback"),
            feedback_steps=int(cfg.get("feedback_steps", 1)),
        )
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None
    return net.eval(), meta


def load_arbitrary_net(path: Path | None = None, method: str = "auto") -> tuple[nn.Module, dict[str, Any]]:
    """The network for image styles: a weights file of kind ``wct`` or ``adain``, or the built-in one."""
    if method not in ("auto", *ARBITRARY_KINDS):
        raise InputError(f"unknown arbitrary-style method {method!r}; choose auto, {', '.join(ARBITRARY_KINDS)}")
    path = path or default_arbitrary_weights(method)
    _, meta = load_weights(path)
    return load_wct_net(path) if meta.get("kind") == "wct" else load_adain_net(path)


def init_state_from(name_or_path: str, kind: str) -> dict[str, torch.Tensor]:
    """Weights to start a training from (``--init-from``): a built-in name or a weights file."""
    if kind == "adain" and name_or_path == "adain":
        path: Path | None = default_adain_weights()
    else:
        path = weights_for(name_or_path)
    if path is None:
        names = list(builtin_models())
        raise InputError(
            f"--init-from {name_or_path!r}: not a built-in model{suggest(name_or_path, names)} or a .safetensors file"
        )
    sd, meta = load_weights(path)
    if meta.get("kind") != kind:
        raise InputError(f"--init-from {path} is a {meta.get('kind')} model, not {kind}")
    return sd


def package_weights(src: Path, name: str, info: dict[str, Any], folder: Path = ASSET_DIR) -> Path:
    """Copy trained weights into the package as fp16 (plus, for a per-style network, its ONNX
    graph) and record them in the manifest (maintainers)."""
    from ..engine import export_safetensors
    from ..io import atomic_path

    sd, meta = _read(src)
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / f"{name}.safetensors"
    keep: dict[str, Any] = {k: meta[k] for k in ("kind", "network", "model_config", "step") if k in meta}
    export_safetensors({k: v.half() for k, v in sd.items()}, dst, metadata=keep)
    if meta.get("kind") == "instant":  # the ONNX graph beside it: the CLI's torch-free fast path
        from .onnx import export_module

        _cached_read.cache_clear()
        export_module(load_transformer(dst)[0], dst.with_suffix(".onnx"), kind="instant")
    manifest = folder / MANIFEST
    data = json.loads(manifest.read_text()) if manifest.is_file() else {"models": {}}
    data["models"][name] = {"file": dst.name, "kind": meta.get("kind"), **info}
    with atomic_path(manifest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return dst
