"""Checkpoint path → face model (``translate`` callable + training framing) for ``makeup add|remove``.

Loading itself is :func:`styleforge.gan.loading.load_translator` (the one place that knows
checkpoint layouts); this module adds what is special to faces: the crop framing the model
was trained with, and directions named after the dataset's domains — ``faces prepare``
makes domain A = ``no_makeup`` and B = ``makeup``, so ``add`` uses the A→B generator and
``remove`` the B→A one, also for a model trained with ``--direction BtoA``. A one-way
(pix2pix or exported) generator is used for whichever direction it was trained on.
"""

from __future__ import annotations

__all__ = ["FaceModel", "load_face_model", "load_translator", "makeup_with_model"]

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
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


def load_face_model(
    path: str | os.PathLike[str], direction: str = "AtoB", *, device: torch.device | str = "cpu"
) -> FaceModel:
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


#: Regions drawn from the face mesh (the rest, or "face", are the aligned crop's ellipses).
MESH_REGIONS = frozenset({"lips", "eyes", "brows", "skin"})


def makeup_with_model(
    images: Sequence[np.ndarray],
    checkpoint: str | os.PathLike[str],
    *,
    action: str = "add",
    direction: str | None = None,
    regions: Sequence[str] = (),
    strength: float = 1.0,
    detail: float = 0.0,
    size: int | None = None,
    eye_distance: float | None = None,
    eye_y: float | None = None,
    device: str = "auto",
    note: Callable[[str], None] | None = None,
) -> list[tuple[np.ndarray, list[Any]]]:
    """``styleforge makeup add|remove --checkpoint``: a trained face model applied to each face of ``images``.

    ``images`` are RGB uint8 arrays; returns ``(new image, faces)`` per image (no face: the image
    unchanged, an empty list).  ``direction`` defaults to AtoB for ``add`` and BtoA for ``remove``;
    ``regions`` limits the change (lips, eyes, brows, skin from the face mesh when its models are
    installed, else ellipses; ``remove`` without regions: the four mesh regions);
    ``size``/``eye_distance``/``eye_y`` override the alignment recorded in the checkpoint; ``note``
    receives a one-line remark (the mesh models missing).  Bad options raise
    :class:`~styleforge.errors.InputError` before the model is loaded.
    """
    from .apply import ApplySpec, apply_to_image, mesh_region_mask
    from .weights import FETCH_HINT, faces_dir

    if action not in ("add", "remove"):
        raise InputError(f"a face model adds or removes makeup, not {action!r}")
    regions = tuple(r.strip() for r in regions if r.strip())
    installed = all(
        (faces_dir() / f"{n}.safetensors").is_file() for n in ("face_detection_short_range", "face_landmark")
    )
    if action == "remove" and not regions and installed:
        regions = ("lips", "eyes", "brows", "skin")  # removal: the model's result only where makeup goes
    mesh_regions = bool(regions) and "face" not in regions and set(regions) <= MESH_REGIONS
    ellipses = tuple(r for r in regions if r != "brows")
    ApplySpec(strength=strength, regions=ellipses, detail_sigma=detail)  # option errors before any work
    model = load_face_model(checkpoint, direction or ("AtoB" if action == "add" else "BtoA"), device=device)
    base = model.align or AlignSpec()
    try:
        align = AlignSpec(
            size=size or base.size, eye_distance=eye_distance or base.eye_distance, eye_y=eye_y or base.eye_y
        )
    except ValueError as e:
        raise InputError(str(e)) from None
    spec = ApplySpec(align=align, strength=strength, regions=ellipses, detail_sigma=detail)
    detector = mask_for = None
    if mesh_regions:
        if installed:
            from .facemesh import MeshDetector

            detector = MeshDetector()
            mask_for = mesh_region_mask(regions, align)
        elif "brows" in regions:
            raise InputError(FETCH_HINT)
        elif note is not None:
            note("note: face models not installed, regions are ellipses (run `styleforge weights fetch faces`)")
    return [apply_to_image(img, model.translate, spec, detector=detector, mask_for=mask_for) for img in images]
