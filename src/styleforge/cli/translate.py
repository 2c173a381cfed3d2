"""``styleforge translate --checkpoint CKPT INPUT... -o OUTDIR``: apply a trained translator.

Accepts a training checkpoint (``.pt``) or exported weights (``.safetensors``),
image files and folders, any image size (the generator pads and crops back).
Each model kind registers a loader in :data:`TRANSLATORS`.
"""

from __future__ import annotations

__all__ = ["TRANSLATORS", "Translator", "add_parser", "load_translator", "read_weights", "run"]

import argparse
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..errors import InputError

if TYPE_CHECKING:  # imported where used: `styleforge --help` and other commands stay light
    import torch
    from torch import nn

log = logging.getLogger("styleforge.translate")


@dataclass
class Translator:
    """A generator with its input encoding and output decoding."""

    net: nn.Module
    encode: Callable[[Image.Image], torch.Tensor]  # RGB PIL → (1, C, H, W) network input
    decode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (output, input) → RGB (1, 3, H, W) in [0, 1]
    info: dict[str, Any]

    def __call__(self, img: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
        import torch

        with torch.no_grad():
            x = self.encode(img).to(device)
            return self.decode(self.net(x).float().cpu(), x.cpu())


def read_weights(path: str | Path) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, dict[str, torch.Tensor]]]:
    """``(kind, model_config, extra_config, {network: state_dict})`` from a checkpoint or safetensors file."""
    from ..engine import load_checkpoint, load_safetensors

    p = Path(path)
    if p.suffix == ".safetensors":
        tensors, meta = load_safetensors(p)
        try:
            return (meta["kind"], json.loads(meta["model_config"]), json.loads(meta.get("extra_config", "{}")),
                    {meta["network"]: tensors})
        except (KeyError, ValueError):
            raise InputError(f"{p} has incomplete styleforge metadata") from None
    ckpt = load_checkpoint(p)
    return ckpt["kind"], ckpt["model_config"], ckpt.get("extra_config", {}), ckpt["models"]


def _pix2pix(config: dict[str, Any], extra: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]], direction: str | None) -> Translator:
    from ..data.transforms import rgb_to_lab, to_model_tensor
    from ..gan.pix2pix import Pix2Pix, Pix2PixConfig

    if direction is not None and direction != "AtoB":
        raise InputError("a pix2pix model translates one way only (its input domain → its output domain); drop --direction")
    if "G" not in weights:
        raise InputError("these weights hold no pix2pix generator (G)")
    cfg = Pix2PixConfig.from_dict(config)
    model = Pix2Pix(cfg)
    G = model.networks["G"]
    try:
        G.load_state_dict(weights["G"])
    except RuntimeError as e:
        raise InputError(f"the weights do not match their pix2pix settings ({str(e).splitlines()[0][:100]})") from None
    G.pad_to_fit = True  # any size at inference
    G.eval()

    def encode(img: Image.Image) -> torch.Tensor:
        if cfg.color_space == "lab":
            lab = rgb_to_lab(to_model_tensor(img, 3)[None].add(1).div(2))
            return lab[:, :1] / 50 - 1
        return to_model_tensor(img, cfg.input_nc)[None]

    return Translator(G, encode, lambda out, x: model.to_rgb(out, x), {"kind": "pix2pix", **extra})


def _cyclegan(config: dict[str, Any], extra: dict[str, Any], weights: dict[str, dict[str, torch.Tensor]], direction: str | None) -> Translator:
    """G_A (``AtoB``) or G_B (``BtoA``) from a checkpoint, or the one generator of a safetensors export."""
    from ..data.transforms import to_model_tensor
    from ..gan.cyclegan import CycleGAN, CycleGANConfig, to_rgb

    name = {"AtoB": "G_A", "BtoA": "G_B"}.get(direction or "")
    if name is None:  # no --direction: a single exported generator says which one it is
        held = [k for k in ("G_A", "G_B") if k in weights]
        if len(held) != 1:
            raise InputError("this CycleGAN checkpoint translates both ways: pass --direction AtoB or BtoA")
        name = held[0]
    if name not in weights:
        other = "BtoA" if name == "G_A" else "AtoB"
        raise InputError(f"these weights hold no {name} (the {'AtoB' if name == 'G_A' else 'BtoA'} generator); "
                         f"use --direction {other} or the other generator's file")
    cfg = CycleGANConfig.from_dict(config)
    G = CycleGAN(cfg).networks[name]
    try:
        G.load_state_dict(weights[name])
    except RuntimeError as e:
        raise InputError(f"the weights do not match their CycleGAN settings ({str(e).splitlines()[0][:100]})") from None
    G.pad_to_fit = True  # any size at inference
    G.eval()
    in_nc = cfg.input_nc if name == "G_A" else cfg.output_nc
    info = {"kind": "cyclegan", "direction": "AtoB" if name == "G_A" else "BtoA", **extra}
    return Translator(G, lambda img: to_model_tensor(img, in_nc)[None], lambda out, x: to_rgb(out), info)


#: kind → loader(model_config, extra_config, weights, direction) → Translator.
TRANSLATORS: dict[str, Callable[..., Translator]] = {"pix2pix": _pix2pix, "cyclegan": _cyclegan}


def load_translator(path: str | Path, *, direction: str | None = None) -> Translator:
    kind, config, extra, weights = read_weights(path)
    if kind not in TRANSLATORS:
        raise InputError(f"{path} holds a {kind!r} model, which cannot translate images")
    return TRANSLATORS[kind](config, extra, weights, direction)


def collect_inputs(inputs: list[str]) -> list[Path]:
    from ..io import list_images

    files: list[Path] = []
    for s in inputs:
        p = Path(s)
        if p.is_dir():
            found = list_images(p)
            if not found:
                raise InputError(f"no images in folder {p}")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"input not found: {p}")
    return files


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("translate", help="translate images with a trained pix2pix/CycleGAN model",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("--checkpoint", required=True, help="training checkpoint (.pt) or exported weights (.safetensors)")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder (created)")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="for two-way models (CycleGAN)")
    p.add_argument("--ab-input", choices=["left", "right"], help="inputs are A|B pairs: translate this half")
    p.add_argument("--size", type=int, help="resize so the long side is SIZE first")
    p.add_argument("--format", default="png", choices=["png", "jpg"])
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..io import load_image, resize_max_side, save_image

    files = collect_inputs(args.inputs)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InputError(f"output is a file, not a folder: {out}")
    tr = load_translator(args.checkpoint, direction=args.direction)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else ("cpu" if args.device == "auto" else args.device))
    tr.net.to(device)
    images = []
    for f in files:  # read everything first: a bad input writes nothing
        img = load_image(f)
        if args.ab_input:
            w, h = img.size
            if w % 2:
                raise InputError(f"{f} is {w} px wide (odd): not an A|B pair")
            img = img.crop((0, 0, w // 2, h) if args.ab_input == "left" else (w // 2, 0, w, h))
        if args.size:
            img = resize_max_side(img, args.size)
        images.append((f, img))
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for f, img in images:
        name = f.stem if f.stem not in seen else f"{f.parent.name}_{f.stem}"
        seen.add(name)
        save_image(tr(img, device), out / f"{name}.{args.format}")
    log.info("translated %d image(s) into %s", len(images), out)
    return 0
