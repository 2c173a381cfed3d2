"""Option helpers shared by several commands: a leaf module (imports nothing else from ``cli``)."""

from __future__ import annotations

__all__ = [
    "add_data_args",
    "add_engine_args",
    "content_targets",
    "data_options",
    "data_root",
    "floats",
    "names",
    "scales",
    "train_config_from_args",
]

import argparse
from pathlib import Path
from typing import Any

from ..errors import InputError


# -- parsing ------------------------------------------------------------------------------
def floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def names(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def scales(text: str) -> tuple[float, ...]:
    if text.lower() in ("none", "off", "1", "single"):
        return (1.0,)
    return floats(text)


# -- inputs and outputs ------------------------------------------------------------------
def _content_files(items: list[str]) -> tuple[list[Path], bool]:
    from ..assets import resolve_image
    from ..io import list_images

    files: list[Path] = []
    many = len(items) > 1
    for it in items:
        p = Path(it)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise InputError(f"no images in folder {p}")
            files += found
            many = True
        else:
            files.append(resolve_image(it, kind="content"))
    return files, many


def content_targets(items: list[str], output: str) -> tuple[list[Path], list[Path]]:
    """Input photos and their output paths: one file → ``output``; several → ``output/<stem>.png``."""
    from ..io import check_output_path

    files, many = _content_files(items)
    out = Path(output)
    if not many:
        return files, [check_output_path(out)]
    if out.suffix and not out.is_dir():
        raise InputError(f"several content images need an output folder, not {out}")
    if not out.parent.exists():
        raise InputError(f"output folder's parent does not exist: {out.parent}")
    out.mkdir(exist_ok=True)
    return files, [out / (f.stem + ".png") for f in files]


# -- training ------------------------------------------------------------------------------
def add_engine_args(p: argparse.ArgumentParser, *, out_default: str) -> None:
    """How to train: epochs, LR policy, checkpoints, resume, devices, logging."""
    g = p.add_argument_group("training")
    g.add_argument(
        "--out",
        default=out_default,
        help="run folder: checkpoints/, weights/, web/index.html, tb/ (default %(default)s)",
    )
    g.add_argument(
        "--resume", metavar="PATH|auto", help="continue exactly from a checkpoint, or the latest one in --out"
    )
    g.add_argument("--n-epochs", type=int, help="epochs at the initial learning rate")
    g.add_argument("--n-epochs-decay", type=int, help="epochs of linear decay to 0 after that")
    g.add_argument("--lr-policy", default="linear", choices=["linear", "step", "cosine", "plateau", "constant"])
    g.add_argument(
        "--lr-step-epochs", type=int, default=50, help="step policy: multiply the LR by --lr-gamma every N epochs"
    )
    g.add_argument("--lr-gamma", type=float, default=0.1)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--num-workers", type=int, default=2, help="data loading processes (default %(default)s)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--max-steps", type=int, help="stop (with a checkpoint) after this many steps")
    g.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    g.add_argument("--save-every-epochs", type=int, default=5)
    g.add_argument("--save-every-steps", type=int, default=0)
    g.add_argument("--keep-last", type=int, default=3, help="checkpoints to keep (0 = all)")
    g.add_argument("--n-visuals", type=int, default=4, help="samples shown per epoch in the HTML report")
    g.add_argument(
        "--no-kid",
        action="store_true",
        help="no KID-VGG16 (offline proxy, fake_B vs real_B of the samples, >= 4) in the HTML report",
    )
    g.add_argument(
        "--amp",
        default="none",
        choices=["none", "bf16", "fp16", "auto"],
        help="mixed precision: bf16/fp16 on CUDA, bf16 on CPUs with native bf16 (AMX); "
        "auto picks bf16 where it is native (default %(default)s)",
    )
    g.add_argument(
        "--channels-last",
        default="auto",
        choices=["auto", "on", "off"],
        help="channels_last memory format (auto: on CUDA only)",
    )
    g.add_argument("--deterministic", action="store_true", help="deterministic kernels (slower on CUDA)")
    g.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm across processes (with --norm batch)")
    g.add_argument("--no-tensorboard", action="store_true")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")


def add_data_args(p: argparse.ArgumentParser) -> None:
    """Dataset location and the paired preprocessing."""
    g = p.add_argument_group("data")
    g.add_argument("--data", required=True, help="dataset folder (uses DIR/<phase> when it exists)")
    g.add_argument("--phase", default="train", help="subfolder to use when present (default %(default)s)")
    g.add_argument("--direction", choices=["AtoB", "BtoA"])
    g.add_argument("--preprocess", choices=["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"])
    g.add_argument("--load-size", type=int)
    g.add_argument("--crop-size", type=int)
    g.add_argument("--no-flip", action="store_true", default=None)


def train_config_from_args(args: argparse.Namespace, defaults: dict[str, Any]) -> Any:
    from ..engine import TrainConfig

    def pick(name: str) -> Any:
        v = getattr(args, name)
        return defaults[name] if v is None else v

    return TrainConfig(
        out_dir=args.out,
        n_epochs=pick("n_epochs"),
        n_epochs_decay=pick("n_epochs_decay"),
        lr_policy=args.lr_policy,
        lr_step_epochs=args.lr_step_epochs,
        lr_gamma=args.lr_gamma,
        batch_size=pick("batch_size"),
        num_workers=args.num_workers,
        seed=args.seed,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        save_every_epochs=args.save_every_epochs,
        save_every_steps=args.save_every_steps,
        keep_last=args.keep_last,
        n_visuals=args.n_visuals,
        report_kid=not args.no_kid,
        amp=args.amp,
        channels_last=args.channels_last,
        deterministic=args.deterministic,
        sync_bn=args.sync_bn,
        tensorboard=not args.no_tensorboard,
        progress=not args.no_progress,
        device=args.device,
    )


def data_root(args: argparse.Namespace) -> Path:
    root = Path(args.data)
    if not root.is_dir():
        raise InputError(f"dataset folder not found: {root}")
    return root / args.phase if (root / args.phase).is_dir() else root


def data_options(args: argparse.Namespace) -> Any:
    """The data options of :func:`add_data_args` / ``add_unpaired_data_args`` as
    :class:`styleforge.gan.training.DataOptions` (unset ones: ``None``, the preset's)."""
    from ..gan.training import DataOptions

    return DataOptions(
        direction=args.direction,
        preprocess=args.preprocess,
        load_size=args.load_size,
        crop_size=args.crop_size,
        flip=None if args.no_flip is None else not args.no_flip,
        input_nc=args.input_nc,
        output_nc=args.output_nc,
        serial=bool(getattr(args, "serial_batches", False)),
        seed=args.seed,
    )
