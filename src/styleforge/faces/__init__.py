"""Face datasets and face translation for makeup add/remove (and any face model).

* :mod:`.detect` — OpenCV Haar face + eye detection (:class:`HaarDetector`);
* :mod:`.weights`, :mod:`.tfgraph` — MediaPipe's face models read from the mediapipe 0.10.21 wheel
  (``styleforge weights fetch faces``), run as torch modules;
* :mod:`.blazeface`, :mod:`.facemesh` — BlazeFace and the 468-point mesh (:class:`MeshDetector`);
* :mod:`.regions`, :mod:`.makeup` — landmark regions, training-free makeup transfer and removal;
* :mod:`.align` — eye-based similarity alignment (:class:`AlignSpec`);
* :mod:`.clean` — blur / grayscale / size / profile checks, perceptual-hash dedupe;
* :mod:`.manifest`, :mod:`.split` — the CSV manifest and the seeded split;
* :mod:`.prepare` — ``faces prepare`` (:func:`prepare_dataset`);
* :mod:`.collect` — ``faces collect`` (:func:`collect`);
* :mod:`.apply` — paste-back of translated faces into full photos (:func:`apply_to_image`);
* :mod:`.translator` — checkpoint → ``translate`` callable (:func:`load_translator`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: name → submodule; imported on first use, so ``makeup transfer`` (face mesh on onnxruntime, numpy,
#: OpenCV) does not pull torch in through the CycleGAN paste-back modules.
_EXPORTS = {
    "AlignSpec": "align", "align_crop": "align", "invert_affine": "align", "similarity_from_eyes": "align",
    "ApplySpec": "apply", "apply_to_image": "apply", "paste_back": "apply", "region_mask": "apply",
    "CleanSpec": "clean", "duplicate_groups": "clean", "phash64": "clean",
    "collect": "collect",
    "Face": "detect", "FaceDetector": "detect", "HaarDetector": "detect",
    "MeshDetector": "facemesh",
    "MakeupSpec": "makeup", "prepare_reference": "makeup", "remove": "makeup", "transfer": "makeup",
    "PrepareSpec": "prepare", "prepare_dataset": "prepare",
    "split_groups": "split",
    "load_translator": "translator",
}  # fmt: skip

if TYPE_CHECKING:  # pragma: no cover
    from .align import AlignSpec, align_crop, invert_affine, similarity_from_eyes
    from .apply import ApplySpec, apply_to_image, paste_back, region_mask
    from .clean import CleanSpec, duplicate_groups, phash64
    from .collect import collect
    from .detect import Face, FaceDetector, HaarDetector
    from .facemesh import MeshDetector
    from .makeup import MakeupSpec, prepare_reference, remove, transfer
    from .prepare import PrepareSpec, prepare_dataset
    from .split import split_groups
    from .translator import load_translator


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{mod}", __name__), name)


__all__ = [
    "AlignSpec",
    "ApplySpec",
    "CleanSpec",
    "Face",
    "FaceDetector",
    "HaarDetector",
    "MakeupSpec",
    "MeshDetector",
    "PrepareSpec",
    "align_crop",
    "apply_to_image",
    "collect",
    "duplicate_groups",
    "invert_affine",
    "load_translator",
    "paste_back",
    "phash64",
    "prepare_dataset",
    "prepare_reference",
    "region_mask",
    "remove",
    "similarity_from_eyes",
    "split_groups",
    "transfer",
]
