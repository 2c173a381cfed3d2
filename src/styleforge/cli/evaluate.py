"""``styleforge evaluate``: PSNR, SSIM and L1 of translations against their targets, and KID-VGG16.

Two ways::

    styleforge evaluate --checkpoint runs/x/weights/G.safetensors --data datasets/facades --phase test
    styleforge evaluate --pred results/ --target targets/        # matching file names

Distribution metrics (translations as a set against the targets as a set):

* ``KID-VGG16`` (by default): clean-fid's KID formula on the offline VGG16's pooled ``relu5_3``
  features — an offline proxy, comparable only with other KID-VGG16 figures;
* ``FID`` and ``KID`` as pytorch-fid / clean-fid compute them, with ``--fid-weights`` pointing to
  pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth`` (styleforge cannot ship or download it).
"""

from __future__ import annotations

__all__ = ["add_parser", "evaluate_pairs", "run"]

import argparse
import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError

if TYPE_CHECKING:
    import torch

log = logging.getLogger("styleforge.evaluate")


def evaluate_pairs(pairs: Iterable[tuple[torch.Tensor, torch.Tensor]], *, kid_vgg16: bool = False,
                   inception: torch.nn.Module | None = None) -> dict[str, float]:
    """Mean PSNR / SSIM / L1 over ``(prediction, target)`` RGB tensors in [0, 1]; with ``kid_vgg16``
    also KID-VGG16, with an ``inception`` (:func:`styleforge.engine.inception.load_fid_inception`) FID and KID."""
    import torch

    from ..engine.distribution import (
        fid_from_features,
        kid_from_features,
        vgg16_features,
    )
    from ..engine.metrics import l1, psnr, ssim

    vals: dict[str, list[float]] = {"psnr": [], "ssim": [], "l1": []}
    extractors = {}
    if kid_vgg16:
        extractors["vgg"] = vgg16_features
    if inception is not None:
        def incept(images: list[torch.Tensor]) -> torch.Tensor:
            with torch.no_grad():
                return torch.cat([inception(im.float()).double() for im in images])

        extractors["inception"] = incept
    feats = {k: _Features(fn) for k, fn in extractors.items()}
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


class _Features:
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


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("evaluate", help="PSNR/SSIM/L1 of a translator on a paired test set",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="checkpoint or weights to evaluate on --data")
    p.add_argument("--data", help="paired dataset (A|B images or A/ B/ folders)")
    p.add_argument("--phase", default="test")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="default: the direction the model was trained with")
    p.add_argument("--load-size", type=int, help="resize pairs to this square size first (default: keep size)")
    p.add_argument("--pred", help="folder of predictions (with --target)")
    p.add_argument("--target", help="folder of targets with the same file names")
    p.add_argument("--save", metavar="OUTDIR", help="also write the translations here")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    p.add_argument("--fid-weights", metavar="FILE", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth: adds FID and KID")
    p.add_argument("--no-kid", action="store_true", help="skip KID-VGG16 (the offline distribution proxy)")
    p.set_defaults(func=run)


def _from_checkpoint(args: argparse.Namespace) -> dict[str, float]:
    from ..data import AlignedDataset, PairedTransform
    from ..gan.loading import load_translator
    from ..io import save_image
    from .options import data_root

    tr = load_translator(args.checkpoint)
    direction = args.direction or tr.info.get("direction", "AtoB")
    if args.load_size:
        transform = PairedTransform(preprocess="resize_and_crop", load_size=args.load_size, crop_size=args.load_size, flip=False)
    else:
        transform = PairedTransform(preprocess="none", flip=False)
    ds = AlignedDataset(data_root(args), transform=transform, direction=direction,
                        layout="colorization" if tr.info.get("layout") == "colorization" else "auto")
    out = Path(args.save) if args.save else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    import torch

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

    return evaluate_pairs(pairs(), **_distribution(args))


def _distribution(args: argparse.Namespace) -> dict[str, Any]:
    inception = None
    if args.fid_weights:
        from ..engine.inception import load_fid_inception

        inception = load_fid_inception(args.fid_weights)
    return {"kid_vgg16": not args.no_kid, "inception": inception}


def _from_folders(args: argparse.Namespace) -> dict[str, float]:
    from ..io import list_images, load_image, pil_to_tensor

    preds = {p.stem: p for p in list_images(args.pred)}
    targets = {p.stem: p for p in list_images(args.target)}
    common = sorted(set(preds) & set(targets))
    if not common:
        raise InputError(f"no file names in common between {args.pred} and {args.target}")
    missing = sorted(set(targets) - set(preds))
    if missing:
        log.info("%d target(s) have no prediction (e.g. %s); evaluating %d pairs", len(missing), missing[0], len(common))
    return evaluate_pairs(((pil_to_tensor(load_image(preds[k])), pil_to_tensor(load_image(targets[k]))) for k in common),
                          **_distribution(args))


def run(args: argparse.Namespace) -> int:
    if args.checkpoint and args.data:
        result = _from_checkpoint(args)
    elif args.pred and args.target:
        result = _from_folders(args)
    else:
        raise InputError("give --checkpoint and --data, or --pred and --target")
    line = f"n={int(result['n'])}  PSNR {result['psnr']:.2f} dB  SSIM {result['ssim']:.4f}  L1 {result['l1']:.4f}"
    if "kid_vgg16" in result:
        line += f"  KID-VGG16 {result['kid_vgg16']:.4f} (offline proxy)"
    if "fid" in result:
        line += f"  FID {result['fid']:.2f}  KID {result['kid']:.4f}"
    print(line)
    if args.json:
        from ..io import atomic_path

        with atomic_path(args.json) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=1))
    return 0
