"""Checkpoint path → face model (``translate`` callable + training framing) for ``makeup add|remove``.

Loading itself is :func:`styleforge.gan.loading.load_translator` (the one place that knows
checkpoint layouts); this module adds what is special to faces: the crop framing the model
was trained with, and directions named after the dataset's domains — ``faces prepare``
makes domain A = ``no_makeup`` and B = ``makeup``, so ``add`` uses the A→B generator and
``remove`` the B→A one, also for a model trained with ``--direction BtoA``. A one-way
(pix2pix or exported) generator is used for whichever direction it was trained on.
"""

from __future__ import annotations

__all__ = ["FaceModel", "load_face_model", "load_translator"]

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import InputError
from ..gan.loading import load_translator as _load_generator
from .align import AlignSpec


@dataclass(frozen=True)
class FaceModel:
    """A loaded face generator and the crop framing it was trained with (``None`` = unknown)."""

    translate: Callable[[torch.Tensor], torch.Tensor]
    align: AlignSpec | None


def _training_align(extra: Mapping[str, Any]) -> AlignSpec | None:
    """The framing of the training crops: the dataset's ``dataset.json``, else the crop size."""
    for key in ("data_A", "data_B", "data"):
        folder = extra.get(key)
        if not folder:
            continue
        for cand in (Path(folder) / "dataset.json", Path(folder).parent / "dataset.json"):
            if cand.is_file():
                try:
                    a = json.loads(cand.read_text()).get("spec", {}).get("align", {})
                    return AlignSpec(**{k: a[k] for k in ("size", "eye_distance", "eye_y") if k in a})
                except (TypeError, ValueError, AttributeError):
                    return None
    size = extra.get("crop_size")
    try:
        return AlignSpec(size=int(size)) if size else None
    except (TypeError, ValueError):
        return None


def load_face_model(path: str | os.PathLike[str], direction: str = "AtoB", *, device: torch.device | str = "cpu") -> FaceModel:
    """Load a face generator and, when the checkpoint tells, the alignment it was trained with.

    Args:
        direction: ``"AtoB"`` (``makeup add``) or ``"BtoA"`` (``makeup remove``), in the
            dataset's domains.
    """
    if direction not in ("AtoB", "BtoA"):
        raise InputError(f"direction must be AtoB or BtoA, got {direction!r}")
    tr = _load_generator(path, direction=direction, device=device, any_direction=True, dataset_direction=True)
    return FaceModel(lambda x: tr.tensor(x).clamp(0.0, 1.0), _training_align(tr.info))


def load_translator(
    path: str | os.PathLike[str], direction: str = "AtoB", *, device: torch.device | str = "cpu"
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Load a face generator from ``path`` as ``translate(x) -> y`` on [0, 1] tensors (see :func:`load_face_model`)."""
    return load_face_model(path, direction, device=device).translate
