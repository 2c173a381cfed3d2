"""``styleforge serve``: the web page (Gradio) on http://127.0.0.1:7860."""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import importlib.util
from pathlib import Path

from ..errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "serve",
        help="start the web page (every mode, in the browser)",
        description="Serve the styleforge page: Instant, Artistic, Photo, Translate and Makeup tabs, "
        "a queue with limits, and an HTTP API (needs `pip install styleforge[web]`). Runs fully offline.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 = everyone)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--models", default=None, metavar="DIR",
                   help="folder of translation / makeup checkpoints (.pt, .pt2, .safetensors) offered on the page")
    p.add_argument("--instant-models", default=None, metavar="DIR",
                   help="extra instant styles: a folder with manifest.json and weights (as assets/instant)")
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload (default 20 MB)")
    p.add_argument("--max-megapixels", type=float, default=40.0, help="largest upload in megapixels (default 40)")
    p.add_argument("--max-size", type=int, default=1024, help="largest output long side for Artistic/Photo (default 1024)")
    p.add_argument("--timeout", type=float, default=300.0, help="Artistic/Photo job time limit in seconds (default 300)")
    p.add_argument("--fast-timeout", type=float, default=60.0,
                   help="Instant/Translate/Makeup job time limit in seconds (default 60)")
    p.add_argument("--concurrency", type=int, default=1, help="optimisation jobs run at once (default 1)")
    p.add_argument("--fast-concurrency", type=int, default=2, help="Instant/Translate/Makeup jobs at once (default 2)")
    p.add_argument("--max-queue", type=int, default=64, help="waiting jobs before 'busy' (default 64)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--max-video-seconds", type=float, default=10.0, help="longest clip for the Video tab (default 10)")
    p.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace):  # noqa: ANN201 - WebSettings, imported lazily
    from ..web.limits import Limits, WebSettings

    if not 0 < args.port < 65536:
        raise InputError(f"--port must be 1–65535, got {args.port}")
    models = None
    if args.models:
        models = Path(args.models).expanduser()
        if not models.is_dir():
            raise InputError(f"--models {models} is not a folder")
    instant = None
    if args.instant_models:
        instant = Path(args.instant_models).expanduser()
        if not (instant / "manifest.json").is_file():
            raise InputError(f"--instant-models {instant} has no manifest.json")
    for name in ("max_upload_mb", "max_megapixels", "timeout", "fast_timeout", "max_video_seconds"):
        if getattr(args, name) <= 0:
            raise InputError(f"--{name.replace('_', '-')} must be positive")
    if args.max_size < 64:
        raise InputError("--max-size must be at least 64")
    if args.concurrency < 1 or args.fast_concurrency < 1 or args.max_queue < 1:
        raise InputError("--concurrency, --fast-concurrency and --max-queue must be ≥ 1")
    limits = Limits(
        max_upload_mb=args.max_upload_mb,
        max_pixels=int(args.max_megapixels * 1e6),
        max_side=args.max_size,
        job_timeout_s=args.timeout,
        fast_timeout_s=args.fast_timeout,
        concurrency=args.concurrency,
        max_queue=args.max_queue,
        max_video_seconds=args.max_video_seconds,
    )
    return WebSettings(host=args.host, port=args.port, models_dir=models, limits=limits, instant_models=instant,
                       fast_concurrency=args.fast_concurrency, device=args.device)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if importlib.util.find_spec("gradio") is None:
        raise InputError("the web page needs Gradio: pip install 'styleforge[web]'")
    from ..web import create_app, launch

    demo = create_app(settings)
    print(f"styleforge: serving on http://{settings.host}:{settings.port}  (Ctrl-C to stop)", flush=True)
    launch(demo, settings, block=True)
    return 0
