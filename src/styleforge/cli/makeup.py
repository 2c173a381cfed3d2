"""``styleforge makeup transfer|add|remove PHOTO... -o OUT``: makeup on every face, the photo kept.

* ``transfer --reference MADE_UP.jpg [--reference B.jpg --reference-weights 0.7,0.3]``: no training;
  the references' makeup moved through the face mesh (:mod:`styleforge.faces.makeup`);
* ``remove`` without ``--checkpoint``: training-free removal (eye shadow, lipstick);
* ``add`` / ``remove`` with ``--checkpoint``: a trained CycleGAN/pix2pix face model, blended inside
  the face-mesh regions when ``--regions`` is given and the face models are installed.
"""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import sys
from pathlib import Path

from ..errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "makeup",
        help="move makeup from a reference face (no training), or add/remove it",
        description="transfer: copy the makeup of --reference face(s) onto every face of each photo "
        "(face mesh, no training). remove: take eye shadow and lipstick off (no training), or "
        "with --checkpoint use a trained face model. add: needs --checkpoint.",
    )
    p.add_argument(
        "action",
        choices=("transfer", "add", "remove"),
        help="transfer: from --reference; add: A→B model (no_makeup→makeup); remove: B→A model or training-free",
    )
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    p.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="FACE",
        help="made-up face photo to copy from (transfer; repeat to mix several)",
    )
    p.add_argument(
        "--reference-weights", default=None, metavar="W,W", help="mixing weights of several --reference (default equal)"
    )
    p.add_argument(
        "--checkpoint",
        metavar="CKPT",
        help="CycleGAN/pix2pix checkpoint, safetensors export or TorchScript (add; optional for remove)",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (one photo) or folder")
    p.add_argument(
        "--strength", default="1", metavar="S", help="0..1, global (0.8) or per region (lips=0.9,eyes=0.6); default 1"
    )
    p.add_argument(
        "--regions", default="", help="comma list of lips,eyes,brows,skin (default: all; with --checkpoint: whole face)"
    )
    p.add_argument("--size", type=int, help="aligned crop size (default: the model's training crops, else 256)")
    p.add_argument(
        "--eye-distance", type=float, help="as in 'faces prepare' (default: from the training data, else 0.30)"
    )
    p.add_argument("--eye-y", type=float, help="as in 'faces prepare' (default: from the training data, else 0.35)")
    p.add_argument(
        "--detail", type=float, default=1.0, help="detail-restoration scale in crop pixels; 0 = off (default 1)"
    )
    p.add_argument("--direction", choices=("AtoB", "BtoA"), help="override the generator direction")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=run)


def _outputs(photos: list[Path], out: Path) -> list[Path]:
    from ..io import check_output_path

    if len(photos) == 1 and out.suffix and not out.is_dir():
        return [check_output_path(out)]
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out} must be a folder when several photos are given")
    targets = [
        out / f"{p.stem}{p.suffix.lower() if p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.webp') else '.png'}"
        for p in photos
    ]
    if len({t.name for t in targets}) != len(targets):
        raise InputError("several photos have the same file name; give them to separate runs")
    return targets


def _load_all(photos: list[Path]) -> list:
    import numpy as np

    from ..io import load_image

    return [np.asarray(load_image(p, what="photo")) for p in photos]  # all inputs checked before any work


def _write(photos: list[Path], targets: list[Path], out: Path, results: list) -> int:
    from PIL import Image

    from ..io import save_image

    missing = [p for p, (_, faces) in zip(photos, results, strict=True) if not faces]
    if len(photos) == 1 and missing:
        raise InputError(
            f"no face found in {photos[0]} (only frontal faces with visible eyes are detected); nothing written"
        )
    if len(targets) > 1 or not out.suffix:
        out.mkdir(parents=True, exist_ok=True)
    for p, t, (new, faces) in zip(photos, targets, results, strict=True):
        if not faces:
            print(f"{p}: no face found; nothing written", file=sys.stderr)
            continue
        save_image(Image.fromarray(new), t)
        print(f"{p}: {len(faces)} face{'s' if len(faces) > 1 else ''} → {t}")
    return 2 if missing else 0


def _weights(text: str | None, n: int) -> list[float]:
    if not text:
        return [1.0] * n
    try:
        w = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--reference-weights {text!r}: give numbers, e.g. 0.7,0.3") from None
    if len(w) != n or any(x < 0 for x in w) or sum(w) <= 0:
        raise InputError(f"--reference-weights needs {n} non-negative numbers (one per --reference)")
    return w


def run(args: argparse.Namespace) -> int:
    if args.checkpoint:
        return _run_model(args)
    if args.action == "add":
        raise InputError(
            "makeup add needs --checkpoint (a trained face model); for makeup without training use "
            "'styleforge makeup transfer PHOTO --reference MADE_UP_FACE'"
        )
    from ..faces.facemesh import MeshDetector
    from ..faces.makeup import MakeupSpec, parse_regions, parse_strength, prepare_reference, remove, transfer

    regions = parse_regions(args.regions)
    if args.action == "remove" and not args.regions:
        regions = ("lips", "eyes")
    spec = MakeupSpec(strength=parse_strength(args.strength, regions))
    if args.action == "transfer" and not args.reference:
        raise InputError("makeup transfer needs --reference MADE_UP_FACE (a photo of a face wearing the makeup)")
    if args.action == "remove" and args.reference:
        raise InputError("--reference is for 'makeup transfer'")
    weights = _weights(args.reference_weights, len(args.reference))
    photos = [Path(p) for p in args.photos]
    out = Path(args.output)
    targets = _outputs(photos, out)
    images = _load_all(photos)
    ref_images = _load_all([Path(r) for r in args.reference])
    detector = MeshDetector()  # one line naming `styleforge weights fetch faces` when the models are absent
    refs = [
        prepare_reference(img, detector, weight=w, name=f"reference {r}")
        for img, w, r in zip(ref_images, weights, args.reference, strict=True)
    ]
    results = []
    for img in images:
        if args.action == "transfer":
            results.append(transfer(img, refs, spec, detector=detector))
        else:
            results.append(remove(img, spec, detector=detector))
    return _write(photos, targets, out, results)


def _run_model(args: argparse.Namespace) -> int:
    from ..faces.translator import makeup_with_model

    if args.action == "transfer":
        raise InputError("makeup transfer takes --reference, not --checkpoint")
    try:
        strength = float(args.strength)
    except ValueError:
        raise InputError("with --checkpoint, --strength is one number between 0 and 1") from None
    photos = [Path(p) for p in args.photos]
    out = Path(args.output)
    targets = _outputs(photos, out)
    results = makeup_with_model(
        _load_all(photos),
        args.checkpoint,
        action=args.action,
        direction=args.direction,
        regions=args.regions.split(","),
        strength=strength,
        detail=args.detail,
        size=args.size,
        eye_distance=args.eye_distance,
        eye_y=args.eye_y,
        device=args.device,
        note=lambda line: print(line, file=sys.stderr),
    )
    return _write(photos, targets, out, results)
