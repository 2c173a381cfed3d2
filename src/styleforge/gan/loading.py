"""Checkpoint or weights file → a ready generator (:class:`Translator`).

The one place that knows every layout of a saved generator; ``translate``, ``evaluate``,
the web page, ``makeup`` and ``video`` all load through :func:`load_translator`.

* an engine checkpoint (``ckpt_*.pt``): ``kind``, ``model_config``, ``extra_config`` and the
  state dicts under ``models`` (``G`` for pix2pix, ``G_A`` / ``G_B`` for CycleGAN);
* an engine safetensors export (``weights/G_A.safetensors``): one network, its name in the
  ``network`` metadata entry (tensors prefixed ``G_A.`` / ``G_B.`` in one file are accepted too);
* an exported program (``torch.export.save``, ``.pt2``) or a TorchScript module
  (``torch.jit.save``) mapping [-1, 1] RGB → [-1, 1] RGB;
* a bare generator state dict of the reference repositories (pytorch-CycleGAN-and-pix2pix,
  CUT: ``latest_net_G.pth``, their published pretrained models): layout mapped by
  :mod:`styleforge.gan.reference`.

Each model kind registers a builder in :data:`TRANSLATORS`.
"""

from __future__ import annotations

__all__ = ["GENERATOR_KEYS", "TRANSLATORS", "Translator", "load_translator", "read_weights"]

import json
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn

from ..errors import InputError

#: Which state-dict names are tried, in order, for each direction (ours first, then other codebases').
GENERATOR_KEYS = {"AtoB": ("G_A", "G_AB", "netG_A", "G"), "BtoA": ("G_B", "G_BA", "netG_B", "G")}

Weights = dict[str, dict[str, torch.Tensor]]


@dataclass
class Translator:
    """A generator with its input encoding and output decoding.

    ``encode`` maps an RGB tensor ``(1, 3, H, W)`` in [0, 1] to the network's input;
    ``decode(output, input)`` maps the network's output back to RGB in [0, 1].
    """

    net: nn.Module
    encode: Callable[[torch.Tensor], torch.Tensor]
    decode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    info: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> Translator:
        self.net.to(device)
        return self

    def tensor(self, x: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
        """``(N, 3, H, W)`` RGB in [0, 1] → translated RGB in [0, 1] (on the CPU)."""
        if device is None:
            device = next(iter(self.net.parameters()), torch.empty(0)).device
        with torch.no_grad():
            inp = self.encode(x.float()).to(device)
            return self.decode(self.net(inp).float().cpu(), inp.cpu())

    def __call__(self, img: Image.Image, device: torch.device | str | None = None) -> torch.Tensor:
        """A PIL image → translated RGB tensor ``(1, 3, H, W)`` in [0, 1]."""
        from ..io import pil_to_tensor

        return self.tensor(pil_to_tensor(img.convert("RGB")), device)


def _signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2.0 - 1.0


def _gray(x: torch.Tensor) -> torch.Tensor:
    # PIL's "L" conversion (ITU-R 601-2 luma), as the training data loader reads 1-channel images.
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


def _rgb_input(channels: int) -> Callable[[torch.Tensor], torch.Tensor]:
    if channels == 1:
        return lambda x: _signed(_gray(x))
    if channels == 3:
        return _signed
    raise InputError(f"images can have 1 or 3 channels, not {channels}")


def _load_state(net: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    try:
        net.load_state_dict(dict(state))
    except RuntimeError as e:
        raise InputError(f"the weights do not match their {what} settings ({str(e).splitlines()[0][:100]})") from None


def _pick(weights: Mapping[str, Any], direction: str, path: Path) -> tuple[str, Mapping[str, torch.Tensor]]:
    for k in GENERATOR_KEYS[direction]:
        if k in weights:
            return k, weights[k]
    held = ", ".join(sorted(weights)) or "nothing"
    other = "BtoA" if direction == "AtoB" else "AtoB"
    raise InputError(
        f"{path} has no {direction} generator (it holds: {held}); "
        f"pass the other generator's file or --direction {other}"
    )


def _any_size(net: Any) -> None:
    """Let a generator take any input size at inference (the ``pad_to_fit`` flag the generators read)."""
    net.pad_to_fit = True


def _pix2pix(
    config: dict[str, Any],
    extra: dict[str, Any],
    weights: Weights,
    direction: str | None,
    path: Path,
    any_direction: bool,
) -> Translator:
    from ..color import rgb_to_lab
    from .pix2pix import Pix2Pix, Pix2PixConfig

    if direction not in (None, "AtoB") and not any_direction:
        raise InputError(
            "a pix2pix model translates one way only (its input domain → its output domain); drop --direction"
        )
    if "G" not in weights:
        raise InputError("these weights hold no pix2pix generator (G)")
    cfg = Pix2PixConfig.from_dict(config)
    model = Pix2Pix(cfg)
    G = model.networks["G"]
    _load_state(G, weights["G"], "pix2pix")
    _any_size(G)
    G.eval()

    def lab_l(x: torch.Tensor) -> torch.Tensor:
        return rgb_to_lab(x)[:, :1] / 50 - 1

    encode = lab_l if cfg.color_space == "lab" else _rgb_input(cfg.input_nc)
    return Translator(G, encode, lambda out, x: model.to_rgb(out, x), {"kind": "pix2pix", **extra})


def _cyclegan(
    config: dict[str, Any],
    extra: dict[str, Any],
    weights: Weights,
    direction: str | None,
    path: Path,
    any_direction: bool,
) -> Translator:
    """G_A (``AtoB``) or G_B (``BtoA``) from a checkpoint, or the one generator of a safetensors export."""
    from .cyclegan import CycleGAN, CycleGANConfig, to_rgb

    if direction is None:  # no --direction: a single exported generator says which one it is
        held = [k for k in ("G_A", "G_B") if k in weights]
        if len(held) != 1:
            raise InputError("this CycleGAN checkpoint translates both ways: pass --direction AtoB or BtoA")
        direction = "AtoB" if held[0] == "G_A" else "BtoA"
    name = "G_A" if direction == "AtoB" else "G_B"
    if name not in weights:
        other = "BtoA" if name == "G_A" else "AtoB"
        raise InputError(
            f"these weights hold no {name} (the {direction} generator); "
            f"use --direction {other} or the other generator's file"
        )
    cfg = CycleGANConfig.from_dict(config)
    G = CycleGAN(cfg).networks[name]
    _load_state(G, weights[name], "CycleGAN")
    _any_size(G)
    G.eval()
    in_nc = cfg.input_nc if name == "G_A" else cfg.output_nc
    info = {"kind": "cyclegan", "direction": direction, **extra}
    return Translator(G, _rgb_input(in_nc), lambda out, x: to_rgb(out), info)


def _cut(
    config: dict[str, Any],
    extra: dict[str, Any],
    weights: Weights,
    direction: str | None,
    path: Path,
    any_direction: bool,
) -> Translator:
    """CUT / FastCUT: one generator ``G`` (A → B)."""
    from ..nets import build_generator
    from .cut import CUTConfig
    from .cyclegan import to_rgb

    if direction == "BtoA" and not any_direction:
        raise InputError("a CUT model translates one way only (domain A → B); drop --direction")
    if "G" not in weights:
        raise InputError("these weights hold no CUT generator (G)")
    cfg = CUTConfig.from_dict(config)
    G = build_generator(
        cfg.netG,
        cfg.input_nc,
        cfg.output_nc,
        ngf=cfg.ngf,
        norm=cfg.norm,
        upsample="antialias" if cfg.antialias else "deconv",
        init=None,
    )
    _load_state(G, weights["G"], "CUT")
    _any_size(G)
    G.eval()
    return Translator(
        G, _rgb_input(cfg.input_nc), lambda out, x: to_rgb(out), {"kind": "cut", "mode": cfg.mode, **extra}
    )


def _generator(
    config: dict[str, Any],
    extra: dict[str, Any],
    weights: Weights,
    direction: str | None,
    path: Path,
    any_direction: bool,
) -> Translator:
    """A bare generator named by ``netG`` in its config (other codebases' and hand-made checkpoints)."""
    from ..nets import build_generator
    from .cyclegan import to_rgb

    cfg = dict(config["model"]) if isinstance(config.get("model"), Mapping) else dict(config)
    name = cfg.get("netG")
    if not name:
        raise InputError(f"checkpoint {path} does not say which generator it holds (no 'netG' in its config)")
    if direction is None:
        held = [k for k in GENERATOR_KEYS["AtoB"] + GENERATOR_KEYS["BtoA"] if k in weights]
        if len(set(held)) > 1 and not any_direction:
            raise InputError(f"{path} holds generators for both directions: pass --direction AtoB or BtoA")
        direction = "BtoA" if held and held[0] in GENERATOR_KEYS["BtoA"][:-1] else "AtoB"
    key, state = _pick(weights, direction, path)
    kw = {k: cfg[k] for k in ("ngf", "norm", "padding", "upsample") if k in cfg}
    if not str(name).startswith("resnet"):
        kw.pop("padding", None)
        kw.pop("upsample", None)
    in_nc, out_nc = int(cfg.get("input_nc", 3)), int(cfg.get("output_nc", 3))
    if key in GENERATOR_KEYS["BtoA"][:-1]:
        in_nc, out_nc = out_nc, in_nc
    net = build_generator(str(name), in_nc, out_nc, init=None, **kw)
    try:
        net.load_state_dict(dict(state))
    except RuntimeError as e:
        raise InputError(
            f"checkpoint {path} does not match a {name} generator: {str(e).splitlines()[0][:100]}"
        ) from None
    net.eval()
    return Translator(
        net, _rgb_input(in_nc), lambda out, x: to_rgb(out), {"kind": "generator", "network": key, **extra}
    )


def _reference(
    config: dict[str, Any],
    extra: dict[str, Any],
    weights: Weights,
    direction: str | None,
    path: Path,
    any_direction: bool,
) -> Translator:
    """A reference repository's ``latest_net_G.pth``: one generator, [-1, 1] RGB both sides.

    Batch norm uses each image's own statistics, as the reference's ``test.py`` does by default
    (without ``--eval``); dropout is off (the reference keeps it on: its outputs vary run to run).
    """
    from .cyclegan import to_rgb
    from .reference import from_reference, infer_layout

    if direction == "BtoA" and not any_direction:
        raise InputError(f"{path} holds one generator, which translates one way only; drop --direction")
    layout = infer_layout(weights["G"])
    net = layout.build()
    net.load_state_dict(from_reference(net, weights["G"]))
    _any_size(net)
    net.eval()
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.track_running_stats, m.running_mean, m.running_var = False, None, None
    info = {"kind": "reference", "network": layout.netG, "norm": layout.norm, "upsample": layout.upsample, **extra}
    return Translator(net, _rgb_input(layout.input_nc), lambda out, x: to_rgb(out), info)


#: kind → builder(model_config, extra_config, weights, direction, path, any_direction) → Translator.
TRANSLATORS: dict[str, Callable[..., Translator]] = {
    "pix2pix": _pix2pix,
    "cyclegan": _cyclegan,
    "generator": _generator,
    "reference": _reference,
    "cut": _cut,
}


def _json(text: str | None) -> dict[str, Any]:
    try:
        v = json.loads(text or "{}")
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}


def _read_safetensors(p: Path) -> tuple[str, dict[str, Any], dict[str, Any], Weights]:
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors raises its own error types
        raise InputError(f"{p} is not a readable safetensors file ({str(e)[:100]})") from None
    text = meta.get("model_config") or meta.get("config")
    if text is None:
        raise InputError(f"{p} has no model settings in its metadata (not a styleforge export)")
    try:
        config = json.loads(text)
    except ValueError:
        raise InputError(f"{p} has unreadable 'model_config' metadata") from None
    states: Weights = {}
    for k, v in tensors.items():  # several generators in one file: "G_A.<key>"
        head, _, rest = k.partition(".")
        if head in GENERATOR_KEYS["AtoB"] + GENERATOR_KEYS["BtoA"] and head != "G" and rest:
            states.setdefault(head, {})[rest] = v
    if not states:
        states[meta.get("network", "G")] = tensors
    return meta.get("kind", "generator"), config, _json(meta.get("extra_config")), states


def read_weights(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any], dict[str, Any], Weights]:
    """``(kind, model_config, extra_config, {network: state_dict})`` from a checkpoint or safetensors file."""
    from ..engine.checkpoint import CHECKPOINT_FORMAT, load_checkpoint

    p = Path(path)
    if not p.is_file():
        raise InputError(f"checkpoint not found: {p}")
    if p.suffix == ".safetensors":
        return _read_safetensors(p)
    try:
        ckpt = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle / zip errors of many kinds
        raise InputError(
            f"checkpoint {p} could not be read ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
        ) from None
    if not isinstance(ckpt, Mapping):
        raise InputError(f"checkpoint {p} is not a generator checkpoint (a {type(ckpt).__name__})")
    if ckpt.get("format") == CHECKPOINT_FORMAT and "kind" in ckpt:
        ckpt = load_checkpoint(p)  # validates the version
        return ckpt["kind"], ckpt["model_config"], ckpt.get("extra_config", {}) or {}, ckpt["models"]
    from .reference import is_reference_state

    if is_reference_state(ckpt):
        return "reference", {}, {}, {"G": dict(ckpt)}
    for key in ("models", "networks", "nets"):
        if isinstance(ckpt.get(key), Mapping):
            config = ckpt.get("model_config") or ckpt.get("config") or {}
            raw = ckpt.get("extra_config")
            extra = dict(raw) if isinstance(raw, Mapping) else {}
            return str(ckpt.get("kind", "generator")), dict(config), extra, dict(ckpt[key])
    raise InputError(
        f"{p} is not a styleforge checkpoint: it holds no generator weights (keys: {', '.join(map(str, ckpt))[:120]})"
    )


def _graph_translator(p: Path) -> Translator | None:
    """An exported program or TorchScript module on [-1, 1] RGB, else ``None``."""
    if p.suffix == ".safetensors" or not zipfile.is_zipfile(p):
        return None
    with zipfile.ZipFile(p) as z:
        names = z.namelist()
    net: Any = None
    if any(n.endswith("/archive_format") or n.endswith("/models/model.json") for n in names):
        try:
            net = torch.export.load(str(p)).module()
        except Exception as e:  # torch.export raises many types
            raise InputError(
                f"checkpoint {p} is not a loadable exported program ({str(e).splitlines()[0][:120]})"
            ) from None
    elif any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                net = torch.jit.load(str(p), map_location="cpu")
        except RuntimeError as e:
            raise InputError(
                f"checkpoint {p} is not a loadable TorchScript module ({str(e).splitlines()[0]})"
            ) from None
    if net is None:
        return None
    try:
        net.eval()
    except NotImplementedError:  # exported programs are already inference graphs
        pass
    return Translator(net, _signed, lambda out, x: ((out[:, :3] + 1) / 2).clamp(0, 1), {"kind": "graph"})


def load_translator(
    path: str | os.PathLike[str],
    *,
    direction: str | None = None,
    device: torch.device | str = "cpu",
    any_direction: bool = False,
    dataset_direction: bool = False,
) -> Translator:
    """Load the generator saved in ``path`` as a :class:`Translator`.

    Args:
        direction: ``"AtoB"`` / ``"BtoA"`` for two-way (CycleGAN) checkpoints; ``None`` lets a
            single exported generator say which one it is.
        any_direction: accept a one-way (pix2pix or graph) model whatever ``direction`` asks for
            (the face application uses one generator for whichever way it was trained).
        dataset_direction: ``direction`` names the training data's domains, not the model's
            generators: a model trained with ``--direction BtoA`` has them swapped.
    """
    if direction not in (None, "AtoB", "BtoA"):
        raise InputError(f"direction must be AtoB or BtoA, got {direction!r}")
    p = Path(path)
    if not p.is_file():
        raise InputError(f"checkpoint not found: {p}")
    graph = _graph_translator(p)
    if graph is not None:
        return graph.to(device)
    kind, config, extra, weights = read_weights(p)
    if dataset_direction and direction is not None and extra.get("direction") == "BtoA":
        direction = "BtoA" if direction == "AtoB" else "AtoB"
    if kind not in TRANSLATORS:
        raise InputError(f"{p} holds a {kind!r} model, which cannot translate images")
    return TRANSLATORS[kind](config, extra, weights, direction, p, any_direction).to(device)
