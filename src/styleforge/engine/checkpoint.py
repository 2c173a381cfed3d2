"""Versioned, atomic training checkpoints and safetensors weight export.

A checkpoint is one plain dict written with ``torch.save`` through a temporary
file and ``os.replace``; it loads with ``weights_only=True``::

    {"format": "styleforge-checkpoint", "version": 1, "kind": "pix2pix",
     "model_config": {...}, "train_config": {...}, "epoch", "step", "batch_in_epoch",
     "models": {name: state_dict}, "optimizers": {...}, "schedulers": {...},
     "scaler": state_dict | None, "rng": {...}, "meters": {...}, "history": [...]}
"""

from __future__ import annotations

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "export_safetensors",
    "find_latest",
    "get_rng_state",
    "load_checkpoint",
    "load_safetensors",
    "prune_checkpoints",
    "save_checkpoint",
    "set_rng_state",
]

import json
import os
import pickle
import random
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import InputError
from ..io import atomic_path

CHECKPOINT_FORMAT = "styleforge-checkpoint"
CHECKPOINT_VERSION = 1
_NAME = re.compile(r"^ckpt_(\d{8,})\.pt$")


def checkpoint_name(step: int) -> str:
    return f"ckpt_{step:08d}.pt"


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` (plus format/version) atomically: a reader never sees a partial file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    with atomic_path(p) as tmp:
        torch.save(payload, tmp)
    return p


def load_checkpoint(path: str | os.PathLike[str], *, kind: str | None = None) -> dict[str, Any]:
    """Load and validate a checkpoint on the CPU; one-line :class:`InputError` for anything wrong."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"checkpoint not found: {p}")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{p} is not a readable styleforge checkpoint ({first[:120]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{p} is not a styleforge training checkpoint")
    version = ckpt.get("version")
    if version != CHECKPOINT_VERSION:
        raise InputError(f"{p} has checkpoint version {version}; this styleforge reads version {CHECKPOINT_VERSION}")
    if kind is not None and ckpt.get("kind") != kind:
        raise InputError(f"{p} is a {ckpt.get('kind')} checkpoint, not {kind}")
    return ckpt


def find_latest(folder: str | os.PathLike[str]) -> Path | None:
    """The checkpoint with the highest step in ``folder`` (``None`` if there is none)."""
    d = Path(folder)
    if not d.is_dir():
        return None
    found = [(int(m.group(1)), f) for f in d.iterdir() if (m := _NAME.match(f.name))]
    return max(found)[1] if found else None


def prune_checkpoints(folder: str | os.PathLike[str], keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints (``keep <= 0`` keeps all)."""
    if keep <= 0:
        return
    found = sorted((int(m.group(1)), f) for f in Path(folder).iterdir() if (m := _NAME.match(f.name)))
    for _, f in found[:-keep]:
        f.unlink(missing_ok=True)


def get_rng_state() -> dict[str, Any]:
    np_state: tuple[Any, ...] = np.random.get_state(legacy=True)  # type: ignore[assignment]  # legacy=True: a tuple
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
    random.setstate(tuple(x if not isinstance(x, list) else tuple(x) for x in state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def export_safetensors(
    state_dict: dict[str, torch.Tensor], path: str | os.PathLike[str], *, metadata: dict[str, Any]
) -> Path:
    """Write weights only (inference) as safetensors; ``metadata`` values are JSON-encoded strings."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    meta = {"format": "styleforge-weights", "version": str(CHECKPOINT_VERSION)}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()})
    p = Path(path)
    with atomic_path(p) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return p


def load_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Weights and metadata written by :func:`export_safetensors`."""
    from safetensors import SafetensorError, safe_open

    p = Path(path)
    if not p.is_file():
        raise InputError(f"weights file not found: {p}")
    try:
        with safe_open(str(p), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise InputError(f"{p} is not a readable safetensors file ({str(e)[:100]})") from None
    if meta.get("format") != "styleforge-weights":
        raise InputError(f"{p} was not exported by styleforge (no styleforge metadata)")
    return tensors, meta
