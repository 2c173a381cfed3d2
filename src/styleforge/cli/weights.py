"""``styleforge weights fetch faces``: download and convert the face models once (then offline)."""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse

from ..errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "weights",
        help="fetch model weights that styleforge converts instead of shipping",
        description="faces: BlazeFace and the 468-point face mesh, read out of the PyPI wheel "
        "mediapipe==0.10.21 (Apache-2.0; downloaded with pip, not installed), converted to "
        "safetensors in the styleforge cache with their SHA-256 checked.",
    )
    p.add_argument("action", choices=("fetch",))
    p.add_argument("what", choices=("faces",))
    p.add_argument(
        "--wheel", metavar="PATH", help="a downloaded mediapipe-0.10.21 wheel (or its folder) instead of pip download"
    )
    p.add_argument("--force", action="store_true", help="convert again even if valid files are present")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import tflite  # noqa: F401
    except ImportError:
        raise InputError(
            "converting the face models needs the 'tflite' parser: "
            "pip install 'styleforge[faces]' (or pip install tflite)"
        ) from None
    from ..faces.runtime import export_all
    from ..faces.weights import fetch_faces

    fetch_faces(args.wheel, force=args.force)
    export_all()  # ONNX copies for onnxruntime (faster); torch runs the safetensors without them
    return 0
