"""``styleforge worker``: a Celery worker node per job class.

One class (``--queues fast`` or ``--queues heavy``) runs a Celery worker in this process (the
prefork pool: a main process and ``concurrency`` children; each child loads its networks once,
at start).  Several classes (``--queues fast,heavy``) start one such node per class as child
processes, so each class has its own processes: the heavy node runs at a lower CPU priority
(``nice``), and fast jobs are not starved by optimisations.  SIGTERM drains: running jobs finish,
nothing new starts (Celery's warm shutdown); a second SIGTERM (or SIGKILL) stops at once, and
the jobs that were running come back through their lapsed leases.
"""

from __future__ import annotations

__all__ = ["run_node", "run_worker"]

import functools
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence

from ..errors import InputError
from .config import FAST, HEAVY, ServiceConfig, redact

log = logging.getLogger("styleforge.service")

#: Default processes per class, and the CPU priority offset of the heavy class.
DEFAULT_CONCURRENCY = {FAST: 1, HEAVY: 1}
HEAVY_NICE = 10


def parse_queues(text: str) -> list[str]:
    queues = [q.strip() for q in text.split(",") if q.strip()]
    bad = [q for q in queues if q not in (FAST, HEAVY)]
    if not queues or bad:
        raise InputError(f"--queues takes fast, heavy or fast,heavy, got {text!r}")
    return list(dict.fromkeys(queues))


def _warm(queues: Sequence[str]) -> None:
    """Load the fast class's networks in a pool child, once (not in the main process: no torch before fork)."""
    if FAST in queues:
        from ..instant import load_instant
        from ..instant.models import builtin_models
        from . import modes

        for name, entry in builtin_models().items():
            if entry.kind == "instant":
                modes.cached(("instant", name), functools.partial(load_instant, [name]))


def run_node(
    config: ServiceConfig,
    queue: str,
    *,
    concurrency: int | None = None,
    name: str | None = None,
    loglevel: str = "INFO",
) -> int:
    """Run one Celery worker node for ``queue`` in this process (returns when it stops)."""
    from celery.signals import worker_process_init

    from .store import JobStore
    from .tasks import make_app, start_reaper

    JobStore(config).ping()  # a clear error now rather than Celery's retry loop
    n = concurrency or DEFAULT_CONCURRENCY[queue]
    if queue == HEAVY:
        os.nice(HEAVY_NICE)
    node = name or f"{queue}-{os.getpid()}@{socket.gethostname()}"
    app = make_app(config)

    @worker_process_init.connect(weak=False)
    def _child_init(**_: object) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            _warm([queue])
        except Exception:  # noqa: BLE001 - a job will report the problem
            log.exception("warming up")

    start_reaper(app, config, node, [queue])
    print(
        f"styleforge: worker {node} on {redact(config.broker)} queue {queue}, {n} process(es); "
        f"jobs of a dead worker come back within {config.redelivery_bound_s:g} s",
        flush=True,
    )
    argv = [
        "worker",
        "-Q",
        queue,
        "-c",
        str(n),
        "--pool",
        "prefork",
        "-n",
        node,
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    app.worker_main(argv)
    return 0


def run_worker(
    config: ServiceConfig, queues: Sequence[str], *, concurrency: int | None = None, loglevel: str = "INFO"
) -> int:
    """``styleforge worker``: one node here, or one child process per class (SIGTERM is passed on)."""
    if len(queues) == 1:
        return run_node(config, queues[0], concurrency=concurrency, loglevel=loglevel)
    from .store import JobStore

    JobStore(config).ping()
    env = {**os.environ, **{f"STYLEFORGE_{k.upper()}": str(v) for k, v in vars(config).items()}}
    children = []
    for q in queues:
        cmd = [
            sys.executable,
            "-m",
            "styleforge",
            "worker",
            "--broker",
            config.broker,
            "--queues",
            q,
            "--loglevel",
            loglevel,
        ]
        if concurrency:
            cmd += ["--concurrency", str(concurrency)]
        children.append(subprocess.Popen(cmd, env=env))

    def forward(signum: int, _frame: object) -> None:
        for c in children:
            if c.poll() is None:
                c.send_signal(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    codes = [c.wait() for c in children]
    return max(codes, default=0)
