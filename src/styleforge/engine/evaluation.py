"""Evaluation of image pairs: PSNR, SSIM and L1, and the distribution metrics (KID-VGG16, FID, KID).

:func:`evaluate_pairs` takes ``(prediction, target)`` pairs from anywhere;
:func:`evaluate_folders` pairs two folders by file name.  ``styleforge evaluate`` prints them;
:func:`styleforge.gan.evaluate.evaluate_checkpoint` feeds a translator's outputs on a paired set.
"""

from __future__ import annotations

__all__ = ["FeatureBatches", "evaluate_folders", "evaluate_pairs", "load_inception"]

import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    import torch

log = logging.getLogger("styleforge.evaluate")


def evaluate_pairs(
    pairs: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    kid_vgg16: bool = False,
    inception: torch.nn.Module | None = None,
) -> dict[str, float]:
    """Mean PSNR / SSIM / L1 over ``(prediction, target)`` RGB tensors in [0, 1]; with ``kid_vgg16``
    also KID-VGG16, with an ``inception`` (:func:`styleforge.engine.inception.load_fid_inception`) FID and KID."""
    import torch

    from .distribution import (
        fid_from_features,
        kid_from_features,
        vgg16_features,
    )
    from .metrics import l1, psnr, ssim

    vals: dict[str, list[float]] = {"psnr": [], "ssim": [], "l1": []}
    extractors: dict[str, Callable[[list[torch.Tensor]], torch.Tensor]] = {}
    if kid_vgg16:
        extractors["vgg"] = vgg16_features
    if inception is not None:

        def incept(images: list[torch.Tensor]) -> torch.Tensor:
            with torch.no_grad():
                return torch.cat([inception(im.float()).double() for im in images])

        extractors["inception"] = incept
    feats = {k: FeatureBatches(fn) for k, fn in extractors.items()}
    for pred, target in pairs:
        if pred.shape != target.shape:
            raise InputError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in size")
        vals["psnr"] += psnr(pred, target).tolist()
        vals["ssim"] += ssim(pred, target).tolist()
        vals["l1"] += l1(pred, target).tolist()
        for f in feats.values():
            f.add(pred, target)
    if not vals["psnr"]:
        raise InputError("nothing to evaluate")
    out = {k: sum(v) / len(v) for k, v in vals.items()} | {"n": float(len(vals["psnr"]))}
    if len(vals["psnr"]) < 2:
        if feats:
            log.info("KID and FID need at least 2 images: not reported")
        return out
    if "vgg" in feats:
        fake, real = feats["vgg"].result()
        out["kid_vgg16"] = kid_from_features(real, fake)
    if "inception" in feats:
        fake, real = feats["inception"].result()
        out["fid"] = fid_from_features(real, fake)
        out["kid"] = kid_from_features(real, fake)
    return out


class FeatureBatches:
    """Features of predictions and targets, computed 8 at a time (nothing is computed for a single pair)."""

    def __init__(self, fn: Callable[[list[torch.Tensor]], torch.Tensor]) -> None:
        self.fn = fn
        self.pending: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.done: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])

    def add(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        self.pending.append((pred, target))
        if len(self.pending) >= 8:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.done[0].append(self.fn([p for p, _ in self.pending]))
            self.done[1].append(self.fn([t for _, t in self.pending]))
            self.pending = []

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        self.flush()
        return torch.cat(self.done[0]), torch.cat(self.done[1])


def load_inception(fid_weights: str | os.PathLike[str] | None) -> torch.nn.Module | None:
    """pytorch-fid's Inception from its weights file (``None`` without one): FID and KID in :func:`evaluate_pairs`."""
    if not fid_weights:
        return None
    from .inception import load_fid_inception

    return load_fid_inception(fid_weights)


def evaluate_folders(
    pred_dir: str | os.PathLike[str],
    target_dir: str | os.PathLike[str],
    *,
    kid_vgg16: bool = True,
    fid_weights: str | os.PathLike[str] | None = None,
) -> dict[str, float]:
    """:func:`evaluate_pairs` of the images of ``pred_dir`` and ``target_dir`` with the same file stem."""
    from ..io import list_images, load_image, pil_to_tensor

    preds = {p.stem: p for p in list_images(pred_dir)}
    targets = {p.stem: p for p in list_images(target_dir)}
    common = sorted(set(preds) & set(targets))
    if not common:
        raise InputError(f"no file names in common between {pred_dir} and {target_dir}")
    missing = sorted(set(targets) - set(preds))
    if missing:
        log.info(
            "%d target(s) have no prediction (e.g. %s); evaluating %d pairs", len(missing), missing[0], len(common)
        )
    pairs = ((pil_to_tensor(load_image(preds[k])), pil_to_tensor(load_image(targets[k]))) for k in common)
    return evaluate_pairs(pairs, kid_vgg16=kid_vgg16, inception=load_inception(fid_weights))
