"""Training recipes of the translators: datasets, the presets' defaults, the checkpoint's data settings.

``styleforge train pix2pix | cyclegan | cut | fastcut`` parse their options and call
:func:`train_pix2pix`, :func:`train_cyclegan` or :func:`train_cut`; each builds the dataset from
:class:`DataOptions` (``None`` fields take the preset's values, see :func:`pix2pix_defaults` and
:func:`unpaired_defaults`), checks the crop size against the generator, builds the model and runs
:func:`styleforge.engine.fit`.

The data settings stored in every checkpoint (``extra_config``; :func:`paired_data_settings`,
:func:`unpaired_data_settings`) are what :mod:`styleforge.gan.loading` reads back at inference
(``direction``, ``layout``, ``preprocess``, ``load_size``, ``crop_size``, ``flip``, …).
"""

from __future__ import annotations

__all__ = [
    "DataOptions",
    "check_crop_size",
    "paired_data_settings",
    "pix2pix_defaults",
    "train_cut",
    "train_cyclegan",
    "train_pix2pix",
    "unpaired_data_settings",
    "unpaired_defaults",
    "unpaired_domains",
]

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import AlignedDataset, PairedTransform
from ..data.unaligned import UnalignedDataset, find_domains
from ..engine import FitResult, TrainConfig, fit
from ..errors import InputError

log = logging.getLogger("styleforge.train")


@dataclass(frozen=True)
class DataOptions:
    """Where the images are and how they are prepared; ``None``: the preset's (or the paper's) value."""

    direction: str | None = None  # "AtoB" | "BtoA"
    preprocess: str | None = None
    load_size: int | None = None
    crop_size: int | None = None
    flip: bool | None = None
    input_nc: int | str = 3  # 1, 3, or "auto" (unpaired: from the images)
    output_nc: int | str = 3
    serial: bool = False  # unpaired: A[i] with B[i] instead of a random B
    seed: int = 0


def pix2pix_defaults(preset: str | None) -> dict[str, Any]:
    """The data, schedule and norm defaults of a pix2pix preset (``None``: the paper's general recipe)."""
    from .pix2pix import PRESETS

    p = PRESETS[preset] if preset else None
    return {
        "n_epochs": p.n_epochs if p else 100,
        "n_epochs_decay": p.n_epochs_decay if p else 100,
        "batch_size": p.batch_size if p else 1,
        "direction": p.direction if p else "AtoB",
        "preprocess": p.preprocess if p else "resize_and_crop",
        "load_size": p.load_size if p else 286,
        "crop_size": p.crop_size if p else 256,
        "flip": p.flip if p else True,
        "norm": p.norm if p else "instance",
    }


def unpaired_defaults(preset: str | None, *, mode: str = "cyclegan") -> dict[str, Any]:
    """The defaults of a CycleGAN preset (``None``: horse2zebra's) for ``mode`` cyclegan, cut or fastcut
    (CUT keeps its own epochs, batch 1 and generator)."""
    from .cyclegan import PRESETS

    p = PRESETS[preset or "horse2zebra"]
    out: dict[str, Any] = {
        "preprocess": p.preprocess,
        "load_size": p.load_size,
        "crop_size": p.crop_size,
        "flip": p.flip,
        "direction": "AtoB",
    }
    if mode == "cyclegan":
        return out | {
            "n_epochs": p.n_epochs,
            "n_epochs_decay": p.n_epochs_decay,
            "batch_size": p.batch_size,
            "netG": p.netG,
            "lambda_identity": p.lambda_identity,
        }
    from .cut import EPOCHS

    n, nd = EPOCHS[mode]
    return out | {"n_epochs": n, "n_epochs_decay": nd, "batch_size": 1}


def _pick(options: DataOptions, defaults: Mapping[str, Any], name: str) -> Any:
    v = getattr(options, name)
    return defaults[name] if v is None else v


def _transform(options: DataOptions, defaults: Mapping[str, Any]) -> PairedTransform:
    return PairedTransform(
        preprocess=_pick(options, defaults, "preprocess"),
        load_size=_pick(options, defaults, "load_size"),
        crop_size=_pick(options, defaults, "crop_size"),
        flip=_pick(options, defaults, "flip"),
    )


def check_crop_size(generator: nn.Module, transform: PairedTransform) -> None:
    """Refuse up front a crop size a fixed-size generator cannot take (rather than mid-training)."""
    if getattr(generator, "pad_to_fit", True) or not transform.crops:
        return
    m = getattr(generator, "multiple", 1)
    if transform.crop_size % m:
        raise InputError(
            f"{getattr(generator, 'name', 'the generator')} needs sides divisible by {m} but --crop-size is "
            f"{transform.crop_size}; use --crop-size {max(m, transform.crop_size // m * m)} or --netG unet_any"
        )


def paired_data_settings(dataset: AlignedDataset, transform: PairedTransform, preset: str | None) -> dict[str, Any]:
    """A pix2pix checkpoint's data settings (its ``extra_config``)."""
    return {
        "direction": dataset.direction,
        "preprocess": transform.preprocess,
        "load_size": transform.load_size,
        "crop_size": transform.crop_size,
        "flip": transform.flip,
        "layout": dataset.layout,
        "data": str(dataset.root),
        "preset": preset,
    }


def unpaired_data_settings(
    dataset: UnalignedDataset, transform: PairedTransform, direction: str, preset: str | None
) -> dict[str, Any]:
    """A CycleGAN / CUT checkpoint's data settings (its ``extra_config``)."""
    return {
        "preprocess": transform.preprocess,
        "load_size": transform.load_size,
        "crop_size": transform.crop_size,
        "flip": transform.flip,
        "serial": dataset.serial,
        "data_A": str(dataset.dir_a),
        "data_B": str(dataset.dir_b),
        "direction": direction,
        "preset": preset,
    }


def unpaired_domains(
    data: str | os.PathLike[str] | None,
    data_a: str | os.PathLike[str] | None = None,
    data_b: str | os.PathLike[str] | None = None,
    *,
    phase: str = "train",
    direction: str = "AtoB",
) -> tuple[Path, Path]:
    """The two domain folders: ``data``'s ``{phase}A``/``{phase}B`` (or A/ B/), or ``data_a``/``data_b``;
    swapped for ``BtoA``."""
    if data and (data_a or data_b):
        raise InputError("give either --data DIR or --data-a DIR --data-b DIR, not both")
    if data:
        a, b = find_domains(data, phase)
    elif data_a and data_b:
        a, b = Path(data_a), Path(data_b)
    else:
        raise InputError("no training data: pass --data DIR (with trainA/ trainB/) or --data-a DIR --data-b DIR")
    return (b, a) if direction == "BtoA" else (a, b)


def _unpaired_dataset(
    domains: tuple[Path, Path], options: DataOptions, defaults: Mapping[str, Any], direction: str
) -> tuple[PairedTransform, UnalignedDataset]:
    transform = _transform(options, defaults)
    in_nc, out_nc = (
        (options.output_nc, options.input_nc) if direction == "BtoA" else (options.input_nc, options.output_nc)
    )
    dataset = UnalignedDataset(
        domains[0],
        domains[1],
        transform=transform,
        serial=options.serial,
        input_nc=in_nc,
        output_nc=out_nc,
        seed=options.seed,
    )
    log.info(
        "domain A: %d images in %s; domain B: %d images in %s",
        len(dataset.files_a),
        dataset.dir_a,
        len(dataset.files_b),
        dataset.dir_b,
    )
    return transform, dataset


def train_pix2pix(
    root: str | os.PathLike[str],
    train: TrainConfig,
    *,
    data: DataOptions = DataOptions(),
    model: Mapping[str, Any] | None = None,
    preset: str | None = None,
    colorization: bool = False,
    resume: str | None = None,
) -> FitResult:
    """Train pix2pix on the paired folder ``root``.

    ``model``: :class:`~styleforge.gan.pix2pix.Pix2PixConfig` fields (``norm`` ``None``: the preset's;
    the channels come from the dataset); ``colorization``: plain photos, L → ab in Lab.
    """
    from .pix2pix import Pix2Pix, Pix2PixConfig

    defaults = pix2pix_defaults(preset)
    transform = _transform(data, defaults)
    dataset = AlignedDataset(
        Path(root),
        transform=transform,
        direction=_pick(data, defaults, "direction"),
        input_nc=int(data.input_nc),
        output_nc=int(data.output_nc),
        layout="colorization" if colorization else "auto",
        seed=data.seed,
    )
    opts = dict(model or {})
    if opts.get("norm") is None:
        opts["norm"] = defaults["norm"]
    cfg = Pix2PixConfig(
        **opts, input_nc=dataset.input_nc, output_nc=dataset.output_nc, color_space="lab" if colorization else "rgb"
    )
    net = Pix2Pix(cfg, generator=torch.Generator().manual_seed(data.seed))
    check_crop_size(net.networks["G"], transform)
    return fit(net, dataset, train, resume=resume, extra_config=paired_data_settings(dataset, transform, preset))


def train_cyclegan(
    domains: tuple[Path, Path],
    train: TrainConfig,
    *,
    data: DataOptions = DataOptions(),
    model: Mapping[str, Any] | None = None,
    preset: str | None = None,
    resume: str | None = None,
) -> FitResult:
    """Train CycleGAN on two domain folders (:func:`unpaired_domains`).

    ``model``: :class:`~styleforge.gan.cyclegan.CycleGANConfig` fields (``netG`` and
    ``lambda_identity`` ``None``: the preset's; the channels come from the images).
    """
    from .cyclegan import CycleGAN, CycleGANConfig

    defaults = unpaired_defaults(preset)
    direction = _pick(data, defaults, "direction")
    transform, dataset = _unpaired_dataset(domains, data, defaults, direction)
    opts = dict(model or {})
    for k in ("netG", "lambda_identity"):
        if opts.get(k) is None:
            opts[k] = defaults[k]
    net = CycleGAN(
        CycleGANConfig(**opts, input_nc=dataset.input_nc, output_nc=dataset.output_nc),
        generator=torch.Generator().manual_seed(data.seed),
        pool_seed=data.seed,
    )
    check_crop_size(net.networks["G_A"], transform)
    return fit(
        net, dataset, train, resume=resume, extra_config=unpaired_data_settings(dataset, transform, direction, preset)
    )


def train_cut(
    domains: tuple[Path, Path],
    train: TrainConfig,
    *,
    mode: str = "cut",
    data: DataOptions = DataOptions(),
    model: Mapping[str, Any] | None = None,
    preset: str | None = None,
    resume: str | None = None,
) -> FitResult:
    """Train CUT or FastCUT (``mode``) on two domain folders; ``model``: :class:`~styleforge.gan.cut.CUTConfig`
    fields."""
    from .cut import CUT, CUTConfig

    defaults = unpaired_defaults(preset, mode=mode)
    direction = _pick(data, defaults, "direction")
    transform, dataset = _unpaired_dataset(domains, data, defaults, direction)
    net = CUT(
        CUTConfig(mode=mode, **dict(model or {}), input_nc=dataset.input_nc, output_nc=dataset.output_nc),
        generator=torch.Generator().manual_seed(data.seed),
    )
    check_crop_size(net.networks["G"], transform)
    return fit(
        net, dataset, train, resume=resume, extra_config=unpaired_data_settings(dataset, transform, direction, preset)
    )
