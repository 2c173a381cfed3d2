"""A translator evaluated on a paired test set (``styleforge evaluate --checkpoint ... --data ...``)."""

from __future__ import annotations

__all__ = ["evaluate_checkpoint"]

import os
from collections.abc import Iterable
from pathlib import Path

import torch

from ..data import AlignedDataset, PairedTransform
from ..engine.evaluation import evaluate_pairs, load_inception
from ..io import save_image
from .loading import load_translator


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    data: str | os.PathLike[str],
    *,
    direction: str | None = None,
    load_size: int | None = None,
    save_dir: str | os.PathLike[str] | None = None,
    kid_vgg16: bool = True,
    fid_weights: str | os.PathLike[str] | None = None,
) -> dict[str, float]:
    """PSNR / SSIM / L1 (and KID-VGG16, FID, KID) of ``checkpoint``'s translations of ``data``'s pairs.

    ``data`` is a paired folder (A|B images or A/ B/); ``direction`` defaults to the one the model was
    trained with; ``load_size`` resizes the pairs to that square first; ``save_dir`` also receives the
    translations.  See :func:`styleforge.engine.evaluation.evaluate_pairs`.
    """
    tr = load_translator(checkpoint)
    direction = direction or tr.info.get("direction", "AtoB")
    if load_size:
        transform = PairedTransform(preprocess="resize_and_crop", load_size=load_size, crop_size=load_size, flip=False)
    else:
        transform = PairedTransform(preprocess="none", flip=False)
    ds = AlignedDataset(
        Path(data),
        transform=transform,
        direction=direction,
        layout="colorization" if tr.info.get("layout") == "colorization" else "auto",
    )
    out = Path(save_dir) if save_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    def pairs() -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        for i in range(len(ds)):
            item = ds[i]
            with torch.no_grad():
                x = item["A"][None]
                pred = tr.decode(tr.net(x).float(), x)
                target = tr.decode(item["B"][None], x) if ds.layout == "colorization" else (item["B"][None] + 1) / 2
            if target.shape[1] == 1:
                target = target.expand(-1, 3, -1, -1)
            if out is not None:
                save_image(pred, out / f"{Path(item['path']).stem}.png")
            yield pred, target

    return evaluate_pairs(pairs(), kid_vgg16=kid_vgg16, inception=load_inception(fid_weights))
