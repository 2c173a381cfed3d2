"""``styleforge makeup add|remove PHOTO... --checkpoint CKPT -o OUT``: translate every face, keep the photo."""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import sys
from pathlib import Path

from ..errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "makeup",
        help="add or remove makeup on full photos with a trained face model",
        description="Find every face, align it as 'faces prepare' does, translate it with the "
        "checkpoint's generator and blend it back into the full-resolution photo.",
    )
    p.add_argument("action", choices=("add", "remove"), help="add: A→B generator (no_makeup→makeup); remove: B→A")
    p.add_argument("photos", nargs="+", metavar="PHOTO")
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="CycleGAN/pix2pix checkpoint, safetensors export or TorchScript")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output image (one photo) or folder")
    p.add_argument("--strength", type=float, default=1.0, help="0..1 blend of the translated face (default 1)")
    p.add_argument("--regions", default="", help="comma list of lips,eyes,skin (default: whole face)")
    p.add_argument("--size", type=int, help="aligned crop size (default: the model's training crops, else 256)")
    p.add_argument("--eye-distance", type=float, help="as in 'faces prepare' (default: from the training data, else 0.30)")
    p.add_argument("--eye-y", type=float, help="as in 'faces prepare' (default: from the training data, else 0.35)")
    p.add_argument("--detail", type=float, default=1.0, help="detail-restoration scale in crop pixels; 0 = off (default 1)")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), help="override the generator direction")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.set_defaults(func=run)


def _outputs(photos: list[Path], out: Path) -> list[Path]:
    from ..io import check_output_path

    if len(photos) == 1 and out.suffix and not out.is_dir():
        return [check_output_path(out)]
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out} must be a folder when several photos are given")
    targets = [out / f"{p.stem}{p.suffix.lower() if p.suffix.lower() in ('.jpg', '.jpeg', '.png', '.webp') else '.png'}" for p in photos]
    if len({t.name for t in targets}) != len(targets):
        raise InputError("several photos have the same file name; give them to separate runs")
    return targets


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from ..faces.align import AlignSpec
    from ..faces.apply import ApplySpec, apply_to_image
    from ..faces.translator import load_face_model
    from ..io import load_image, save_image

    photos = [Path(p) for p in args.photos]
    regions = tuple(r.strip() for r in args.regions.split(",") if r.strip())
    ApplySpec(strength=args.strength, regions=regions, detail_sigma=args.detail)  # option errors before any work
    out = Path(args.output)
    targets = _outputs(photos, out)
    images = [np.asarray(load_image(p, what="photo")) for p in photos]  # all inputs checked before any work
    model = load_face_model(args.checkpoint, args.direction or ("AtoB" if args.action == "add" else "BtoA"), device=args.device)
    base = model.align or AlignSpec()
    try:
        align = AlignSpec(
            size=args.size or base.size,
            eye_distance=args.eye_distance or base.eye_distance,
            eye_y=args.eye_y or base.eye_y,
        )
    except ValueError as e:
        raise InputError(str(e)) from None
    spec = ApplySpec(align=align, strength=args.strength, regions=regions, detail_sigma=args.detail)
    translate = model.translate
    results = []
    missing = []
    for p, img in zip(photos, images):
        new, faces = apply_to_image(img, translate, spec)
        if not faces:
            missing.append(p)
        results.append((new, faces))
    if len(photos) == 1 and missing:
        raise InputError(f"no face found in {photos[0]} (only frontal faces with visible eyes are detected); nothing written")
    if len(targets) > 1 or not out.suffix:
        out.mkdir(parents=True, exist_ok=True)
    for p, t, (new, faces) in zip(photos, targets, results):
        if not faces:
            print(f"{p}: no face found; nothing written", file=sys.stderr)
            continue
        save_image(Image.fromarray(new), t)
        print(f"{p}: {len(faces)} face{'s' if len(faces) > 1 else ''} → {t}")
    return 2 if missing else 0
