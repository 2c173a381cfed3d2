"""``styleforge serve``: the web page (Gradio) on http://127.0.0.1:7860."""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import getpass
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError

#: Per-client defaults once the page is shared (a login, or a non-loopback --host).
EXPOSED_MAX_JOBS = 3
EXPOSED_MAX_HEAVY = 20


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="start the web page (every mode, in the browser)",
        description="Serve the styleforge page: Instant, Artistic, Photo, Translate and Makeup tabs, "
        "a queue with limits, and an HTTP API (needs `pip install styleforge[web]`). Runs fully offline.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 = everyone)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument(
        "--models",
        default=None,
        metavar="DIR",
        help="folder of translation / makeup checkpoints (.pt, .pt2, .safetensors) offered on the page",
    )
    p.add_argument(
        "--instant-models",
        default=None,
        metavar="DIR",
        help="extra instant styles: a folder with manifest.json and weights (as assets/instant)",
    )
    p.add_argument("--max-upload-mb", type=float, default=20.0, help="largest upload (default 20 MB)")
    p.add_argument("--max-megapixels", type=float, default=40.0, help="largest upload in megapixels (default 40)")
    p.add_argument(
        "--max-size", type=int, default=1024, help="largest output long side for Artistic/Photo (default 1024)"
    )
    p.add_argument(
        "--timeout", type=float, default=300.0, help="Artistic/Photo job time limit in seconds (default 300)"
    )
    p.add_argument(
        "--fast-timeout",
        type=float,
        default=60.0,
        help="Instant/Translate/Makeup job time limit in seconds (default 60)",
    )
    p.add_argument("--concurrency", type=int, default=1, help="optimisation jobs run at once (default 1)")
    p.add_argument("--fast-concurrency", type=int, default=2, help="Instant/Translate/Makeup jobs at once (default 2)")
    p.add_argument("--max-queue", type=int, default=64, help="waiting jobs before 'busy' (default 64)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--max-video-seconds", type=float, default=10.0, help="longest clip for the Video tab (default 10)")
    g = p.add_argument_group("running it for others (see the README)")
    g.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="require a login (repeat for more users); the page and every API route need it",
    )
    g.add_argument(
        "--auth-file",
        action="append",
        default=[],
        metavar="FILE",
        help="accounts file, one user:hash a line (write entries with `styleforge serve passwd FILE USER`)",
    )
    g.add_argument(
        "--no-auth", action="store_true", help="serve on a non-loopback --host without a login, deliberately"
    )
    g.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDR",
        help="a reverse proxy (address or network) whose X-Forwarded-For names the client",
    )
    g.add_argument(
        "--max-jobs-per-client",
        type=int,
        default=None,
        metavar="N",
        help=f"jobs one client may have waiting or running (0 = no limit; default {EXPOSED_MAX_JOBS} "
        "with a login or a non-loopback --host, else no limit)",
    )
    g.add_argument(
        "--max-heavy-per-hour",
        type=int,
        default=None,
        metavar="N",
        help=f"Artistic/Photo optimisations one client may start per hour (0 = no limit; default "
        f"{EXPOSED_MAX_HEAVY} with a login or a non-loopback --host, else no limit)",
    )
    q = p.add_argument_group("the job queue (several machines; see docs/service.md)")
    q.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="redis://[:PASSWORD@]HOST:PORT/DB: serve the HTTP API at /v1 (docs at /v1/docs), run its jobs "
        "on `styleforge worker`s, keep the per-client limits in Redis (default: everything in this process)",
    )
    q.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="USER:KEY",
        help="an API key for /v1 (repeat for more); callers send 'Authorization: Bearer KEY'",
    )
    p.set_defaults(func=run)
    sub = p.add_subparsers(dest="serve_command", metavar="ACTION")
    pw = sub.add_parser(
        "passwd",
        help="add a user to an --auth-file, or change their password",
        description="Add USER to FILE (created if missing, mode 0600) or replace their password "
        "hash (scrypt). Asks for the password twice on a terminal; otherwise reads one line "
        "from standard input.",
    )
    pw.add_argument("file", metavar="FILE")
    pw.add_argument("user", metavar="USER")
    pw.set_defaults(func=run_passwd)


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
    accounts, trusted, per_client = _access_from_args(args)
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
    broker = getattr(args, "broker", None)
    if getattr(args, "api_key", None) and not broker:
        raise InputError("--api-key is for the HTTP API of --broker: add --broker redis://HOST:PORT/0")
    return WebSettings(
        host=args.host,
        port=args.port,
        models_dir=models,
        limits=limits,
        instant_models=instant,
        fast_concurrency=args.fast_concurrency,
        device=args.device,
        accounts=accounts,
        trusted_proxies=trusted,
        max_jobs_per_client=per_client[0],
        max_heavy_per_hour=per_client[1],
        broker=broker,
    )


def _access_from_args(args: argparse.Namespace) -> tuple[Any, tuple[str, ...], tuple[int, int]]:
    """Login and per-client limit options → settings; refuses sharing the page without a login."""
    from ..web.auth import Accounts, is_loopback, parse_networks

    if args.no_auth and (args.auth or args.auth_file):
        raise InputError("--no-auth contradicts --auth / --auth-file: pick one")
    accounts = Accounts.from_options(args.auth, args.auth_file) if (args.auth or args.auth_file) else None
    loopback = is_loopback(args.host)
    if not loopback and accounts is None and not args.no_auth:
        raise InputError(
            f"--host {args.host} lets anyone who can reach this machine run jobs: add a login "
            "(--auth USER:PASSWORD, or --auth-file FILE written by `styleforge serve passwd FILE USER`) "
            "or pass --no-auth deliberately"
        )
    trusted = tuple(str(n) for n in parse_networks(args.trusted_proxy))
    exposed = accounts is not None or not loopback
    limits = []
    for name, default in (("max_jobs_per_client", EXPOSED_MAX_JOBS), ("max_heavy_per_hour", EXPOSED_MAX_HEAVY)):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise InputError(f"--{name.replace('_', '-')} must be ≥ 0 (0 = no limit)")
        limits.append(value if value is not None else (default if exposed else 0))
    return accounts, trusted, (limits[0], limits[1])


def _describe(settings: Any) -> str:
    """What the start-up line says about logins and limits ('' for a plain localhost page)."""
    from ..web.auth import is_loopback

    parts = []
    if settings.accounts is not None:
        n = len(settings.accounts)
        parts.append(f"login required, {n} user{'s' * (n != 1)}")
    elif not is_loopback(settings.host):
        parts.append("NO LOGIN (--no-auth)")
    if settings.max_jobs_per_client:
        parts.append(f"{settings.max_jobs_per_client} jobs at a time per client")
    if settings.max_heavy_per_hour:
        parts.append(f"{settings.max_heavy_per_hour} optimisations per client per hour")
    if settings.trusted_proxies:
        parts.append(f"client addresses from X-Forwarded-For of {', '.join(settings.trusted_proxies)}")
    if getattr(settings, "broker", None):
        from ..service.config import redact

        parts.append(f"job queue {redact(settings.broker)}, HTTP API at /v1 (docs /v1/docs)")
    return f"  [{'; '.join(parts)}]" if parts else ""


def _read_new_password(user: str) -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(f"password for {user}: ")
        if getpass.getpass("again: ") != first:
            raise InputError("the two passwords differ; nothing was written")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def run_passwd(args: argparse.Namespace) -> int:
    from ..web.auth import set_password

    password = _read_new_password(args.user)
    new = set_password(args.file, args.user, password)
    print(f"styleforge: {'added' if new else 'changed the password of'} {args.user} in {args.file}")
    return 0


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if importlib.util.find_spec("gradio") is None:
        raise InputError("the web page needs Gradio: pip install 'styleforge[web]'")
    from ..web import create_app, launch

    service = _service_config(settings) if settings.broker else None
    keys: dict[str, str] = {}
    if service is not None:
        from ..service.http import ApiAuth

        keys = ApiAuth.parse_keys(args.api_key)
    demo = create_app(settings)
    print(
        f"styleforge: serving on http://{settings.host}:{settings.port}  (Ctrl-C to stop){_describe(settings)}",
        flush=True,
    )
    if service is None:
        launch(demo, settings, block=True)
        return 0
    from ..web.remote import install

    install(settings, service)  # the page's jobs go to the workers too
    app, _url = launch(demo, settings, block=False)
    attach_api(app, settings, service, keys)
    demo.block_thread()
    return 0


def _service_config(settings: Any) -> Any:
    """The job queue's settings for ``serve --broker`` (the page's limits; Redis must answer now)."""
    if importlib.util.find_spec("celery") is None or importlib.util.find_spec("redis") is None:
        raise InputError("--broker needs Celery and Redis: pip install 'styleforge[service]'")
    from ..service.config import ServiceConfig
    from ..service.store import JobStore

    config = ServiceConfig.from_env(
        settings.broker,
        max_upload_bytes=settings.limits.max_upload_bytes,
        max_pixels=settings.limits.max_pixels,
        fast_timeout_s=settings.limits.fast_timeout_s,
        heavy_timeout_s=settings.limits.job_timeout_s,
        max_jobs_per_client=settings.max_jobs_per_client,
        max_heavy_per_hour=settings.max_heavy_per_hour,
    )
    JobStore(config).ping()
    return config


def attach_api(app: Any, settings: Any, config: Any, api_keys: dict[str, str]) -> Any:
    """Mount the HTTP API (``/v1``, ``/healthz``, ``/readyz``) into the page's running server, with its logins."""
    from ..service.http import ApiAuth, attach
    from ..web.auth import cookie_user_for, parse_networks, scope_client

    trusted = parse_networks(settings.trusted_proxies)
    accounts = settings.accounts
    auth = ApiAuth(
        api_keys,
        verify_password=accounts.verify_async if accounts is not None else None,
        cookie_user=cookie_user_for(app) if accounts is not None else None,
        client_address=lambda scope: scope_client(scope, trusted),
        required=accounts is not None or bool(api_keys),
    )
    return attach(app, config, auth)
