"""``styleforge worker``: run jobs from the distributed queue (Celery over Redis)."""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import importlib.util

from ..errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run jobs of the distributed queue (for `serve --broker`, `stylize/instant/photo --broker`)",
        description="A worker of the job queue: takes jobs from Redis, runs them, stores the results in Redis. "
        "Start as many as you like, on any machine that reaches the broker; they need no shared files. "
        "fast = instant styles, photo looks, makeup; heavy = Gatys and deep photo style optimisations. "
        "SIGTERM (Ctrl-C) lets running jobs finish first. Needs `pip install styleforge[service]`.",
    )
    p.add_argument(
        "--broker",
        required=True,
        metavar="URL",
        help="redis://[:PASSWORD@]HOST:PORT/DB (the same as the front end's --broker)",
    )
    p.add_argument("--queues", default="fast,heavy", help="job classes to run: fast, heavy or fast,heavy (default)")
    p.add_argument("--concurrency", type=int, default=None, metavar="N", help="processes per class (default 1 each)")
    p.add_argument("--loglevel", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("celery") is None or importlib.util.find_spec("redis") is None:
        raise InputError("the worker needs Celery and Redis: pip install 'styleforge[service]'")
    from ..service.config import ServiceConfig
    from ..service.worker import parse_queues, run_worker

    if args.concurrency is not None and not 1 <= args.concurrency <= 64:
        raise InputError("--concurrency must be between 1 and 64")
    config = ServiceConfig.from_env(args.broker)
    from ..web.remote import register_on_worker

    register_on_worker()  # the page's jobs (serve --broker) run the page's own code here
    return run_worker(config, parse_queues(args.queues), concurrency=args.concurrency, loglevel=args.loglevel)
