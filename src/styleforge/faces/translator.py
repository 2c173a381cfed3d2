"""Checkpoint path → ``translate(face)`` callable, for ``makeup add|remove`` and the API.

This is the only place that knows checkpoint layouts; paste-back only sees a
callable on ``(1, 3, S, S)`` tensors in [0, 1].  Supported files:

* an **exported program** (``torch.export.save``, ``.pt2``) or a legacy
  **TorchScript** module (``torch.jit.save``) mapping [-1, 1] → [-1, 1] at the
  crop size;
* an **engine checkpoint** (``ckpt_*.pt`` of :mod:`styleforge.engine`): a dict
  with ``model_config`` (``netG``, ``ngf``, ``norm``, …) and the state dicts
  under ``models`` (``G`` for pix2pix, ``G_A`` / ``G_B`` for CycleGAN);
* an engine **safetensors** export (``weights/G_A.safetensors``): one network,
  its name in the ``network`` metadata entry and the config in ``model_config``
  (tensors prefixed ``G_A.`` / ``G_B.`` in one file are accepted too).

Directions follow ``faces prepare``: domain A = ``no_makeup``, B = ``makeup``,
so ``add`` uses the A→B generator (``G_A``) and ``remove`` the B→A one (``G_B``).
A single-generator (pix2pix) checkpoint is used for whichever direction it was
trained on.
"""

from __future__ import annotations

__all__ = ["FaceModel", "load_face_model", "load_translator", "wrap_generator", "GENERATOR_KEYS"]

import json
import os
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError
from .align import AlignSpec

#: Which state-dict names are tried, in order, for each direction.
GENERATOR_KEYS = {"AtoB": ("G_A", "G_AB", "netG_A", "G"), "BtoA": ("G_B", "G_BA", "netG_B", "G")}
_BUILD_KEYS = ("ngf", "norm", "padding", "upsample")


def wrap_generator(net: nn.Module, device: torch.device | str = "cpu") -> Callable[[torch.Tensor], torch.Tensor]:
    """A [-1, 1] → [-1, 1] network as a [0, 1] → [0, 1] callable (eval mode, no grad)."""
    net = net.to(device)
    try:
        net.eval()
    except NotImplementedError:  # exported programs are already inference graphs
        pass

    @torch.no_grad()
    def translate(x: torch.Tensor) -> torch.Tensor:
        y = net(x.to(device) * 2.0 - 1.0)
        return ((y.float() + 1.0) / 2.0).clamp(0.0, 1.0).cpu()

    return translate


def _pick(states: Mapping[str, Any], direction: str, path: Path) -> Mapping[str, torch.Tensor]:
    for k in GENERATOR_KEYS[direction]:
        if k in states:
            return states[k]
    held = ", ".join(sorted(states)) or "nothing"
    other = "BtoA" if direction == "AtoB" else "AtoB"
    raise InputError(
        f"checkpoint {path} has no {direction} generator (it holds: {held}); "
        f"pass the other generator's file or --direction {other}"
    )


def _build(config: Mapping[str, Any], state: Mapping[str, torch.Tensor], path: Path) -> nn.Module:
    from ..nets import build_generator

    cfg = dict(config.get("model", config)) if isinstance(config.get("model"), Mapping) else dict(config)
    name = cfg.get("netG")
    if not name:
        raise InputError(f"checkpoint {path} does not say which generator it holds (no 'netG' in its config)")
    kw = {k: cfg[k] for k in _BUILD_KEYS if k in cfg}
    if not str(name).startswith("resnet"):
        kw.pop("padding", None)
        kw.pop("upsample", None)
    net = build_generator(str(name), int(cfg.get("input_nc", 3)), int(cfg.get("output_nc", 3)), init=None, **kw)
    try:
        net.load_state_dict(dict(state))
    except RuntimeError as e:
        raise InputError(f"checkpoint {path} does not match a {name} generator: {str(e).splitlines()[0]}") from None
    return net


@dataclass(frozen=True)
class FaceModel:
    """A loaded face generator and the crop framing it was trained with (``None`` = unknown)."""

    translate: Callable[[torch.Tensor], torch.Tensor]
    align: AlignSpec | None


def _json(text: str | None) -> dict[str, Any]:
    try:
        v = json.loads(text or "{}")
    except ValueError:
        return {}
    return v if isinstance(v, dict) else {}


def _effective(direction: str, extra: Mapping[str, Any]) -> str:
    # ``train cyclegan --direction BtoA`` swaps the domains: its G_A maps dataset B → A.
    if extra.get("direction") == "BtoA":
        return "BtoA" if direction == "AtoB" else "AtoB"
    return direction


def _training_align(extra: Mapping[str, Any]) -> AlignSpec | None:
    """The framing of the training crops: the dataset's ``dataset.json``, else the crop size."""
    for key in ("data_A", "data_B", "data"):
        folder = extra.get(key)
        if not folder:
            continue
        for cand in (Path(folder) / "dataset.json", Path(folder).parent / "dataset.json"):
            if cand.is_file():
                a = _json(cand.read_text()).get("spec", {}).get("align", {})
                try:
                    return AlignSpec(**{k: a[k] for k in ("size", "eye_distance", "eye_y") if k in a})
                except (TypeError, ValueError):
                    return None
    size = extra.get("crop_size")
    try:
        return AlignSpec(size=int(size)) if size else None
    except (TypeError, ValueError):
        return None


def load_face_model(path: str | os.PathLike[str], direction: str = "AtoB", *, device: torch.device | str = "cpu") -> FaceModel:
    """Load a face generator and, when the checkpoint tells, the alignment it was trained with.

    Engine checkpoints and exports record the training data folder: its
    ``dataset.json`` (written by ``faces prepare``) gives the crop framing, else
    the training crop size is used.  A model trained with ``--direction BtoA``
    has its generators swapped back, so ``add`` always means no_makeup → makeup.

    Args:
        direction: ``"AtoB"`` (``makeup add``) or ``"BtoA"`` (``makeup remove``).
    """
    p = Path(path)
    if direction not in GENERATOR_KEYS:
        raise InputError(f"direction must be AtoB or BtoA, got {direction!r}")
    if not p.is_file():
        raise InputError(f"checkpoint not found: {p}")
    if p.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(p), framework="pt") as f:
                meta = f.metadata() or {}
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as e:  # safetensors raises its own error types
            raise InputError(f"checkpoint {p} is not a readable safetensors file ({e})") from None
        try:
            config = json.loads(meta.get("model_config") or meta.get("config") or "{}")
        except ValueError:
            raise InputError(f"checkpoint {p} has unreadable 'model_config' metadata") from None
        extra = _json(meta.get("extra_config"))
        direction = _effective(direction, extra)
        states: dict[str, dict[str, torch.Tensor]] = {}
        for k, v in tensors.items():
            head, _, rest = k.partition(".")
            if head in GENERATOR_KEYS["AtoB"] + GENERATOR_KEYS["BtoA"] and rest:
                states.setdefault(head, {})[rest] = v
        if not states:
            states[meta.get("network", "G")] = tensors
        return FaceModel(wrap_generator(_build(config, _pick(states, direction, p), p), device), _training_align(extra))
    if zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as z:
            names = z.namelist()
        if any(n.endswith("/archive_format") or n.endswith("/models/model.json") for n in names):
            try:
                return FaceModel(wrap_generator(torch.export.load(str(p)).module(), device), None)
            except Exception as e:  # torch.export raises many types
                raise InputError(f"checkpoint {p} is not a loadable exported program ({str(e).splitlines()[0][:120]})") from None
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return FaceModel(wrap_generator(torch.jit.load(str(p), map_location="cpu"), device), None)
            except RuntimeError as e:
                raise InputError(f"checkpoint {p} is not a loadable TorchScript module ({str(e).splitlines()[0]})") from None
    try:
        ckpt = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle / zip errors of many kinds
        raise InputError(f"checkpoint {p} could not be read ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if not isinstance(ckpt, Mapping):
        raise InputError(f"checkpoint {p} is not a styleforge checkpoint (a {type(ckpt).__name__})")
    for key in ("models", "networks", "nets"):
        if isinstance(ckpt.get(key), Mapping):
            config = ckpt.get("model_config") or ckpt.get("config") or {}
            extra = ckpt.get("extra_config") if isinstance(ckpt.get("extra_config"), Mapping) else {}
            net = _build(config, _pick(ckpt[key], _effective(direction, extra), p), p)
            return FaceModel(wrap_generator(net, device), _training_align(extra))
    raise InputError(f"checkpoint {p} holds no generator weights (keys: {', '.join(map(str, ckpt))})")


def load_translator(
    path: str | os.PathLike[str], direction: str = "AtoB", *, device: torch.device | str = "cpu"
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Load a face generator from ``path`` as ``translate(x) -> y`` on [0, 1] tensors (see :func:`load_face_model`)."""
    return load_face_model(path, direction, device=device).translate
