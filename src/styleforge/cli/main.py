"""``styleforge`` entry point.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``
(which sets ``func=run`` on its parser) and ``run(args) -> int``.  The list
below is the whole registry: add a module here to add a command.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import StyleforgeError

#: Subcommand modules, in the order ``styleforge --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "styleforge.cli.stylize",
    "styleforge.cli.photo",
    "styleforge.cli.look",
    "styleforge.cli.instant",
    "styleforge.cli.video",
    "styleforge.cli.doodle",
    "styleforge.cli.faces",
    "styleforge.cli.makeup",
    "styleforge.cli.serve",
    "styleforge.cli.worker",
    "styleforge.cli.train",
    "styleforge.cli.translate",
    "styleforge.cli.evaluate",
    "styleforge.cli.datasets",
    "styleforge.cli.weights",
)


#: Modules of the optional extras → the extra that installs them (commands import them lazily).
OPTIONAL_MODULES: dict[str, str] = {
    "cv2": "opencv",
    "imagehash": "faces",
    "gradio": "web",
    "onnxruntime": "onnx",
    "tensorboard": "tb",
}


#: Commands whose module alone builds their parser when the command line names them: ``styleforge
#: instant`` then imports no other command's module (their imports cost ≈ 0.15 s; the command
#: itself can finish in 0.3 s).
SOLO_COMMANDS: dict[str, str] = {"instant": "styleforge.cli.instant"}


def _solo_module(argv: Sequence[str]) -> str | None:
    """The module of a :data:`SOLO_COMMANDS` command named first on ``argv`` (after ``-v``), else ``None``."""
    for a in argv:
        if a in ("-v", "--verbose"):
            continue
        return SOLO_COMMANDS.get(a)
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command-line parser: every command, or (``only``, a module name) that module's commands."""
    parser = argparse.ArgumentParser(
        prog="styleforge",
        description="Style transfer and image-to-image translation.",
    )
    parser.add_argument("--version", action="version", version=f"styleforge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if only is None else (only,):
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_solo_module(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s"
        if int(os.environ.get("RANK", "0")) == 0
        else f"[rank {os.environ.get('RANK')}] %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except StyleforgeError as e:
        if args.verbose:
            raise
        print(f"styleforge: error: {e}", file=sys.stderr)
        return e.exit_code
    except ModuleNotFoundError as e:
        extra = OPTIONAL_MODULES.get((e.name or "").split(".")[0])
        if extra is None or args.verbose:
            raise
        print(f"styleforge: error: this command needs {e.name!r}: pip install 'styleforge[{extra}]'", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("styleforge: interrupted", file=sys.stderr)
        return 130


def entry() -> None:  # pragma: no cover - console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover - `python -m styleforge.cli.main` (torchrun)
    sys.exit(main())
