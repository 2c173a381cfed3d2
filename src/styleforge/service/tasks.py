"""The Celery app, its one task, and the machinery that keeps a job from being lost.

Delivery is at least once, the result is stored once:

* Celery: JSON only, late acknowledgement (``task_acks_late``), a message of a worker that died
  is rejected back to the queue (``task_reject_on_worker_lost``), one message prefetched per
  process, and a visibility timeout longer than any job (the transport's own last resort).
* A **lease** per running job (``P:lease:ID``, :attr:`ServiceConfig.lease_s`), renewed by a
  heartbeat thread every ``lease_s / 3``.  Each worker's main process runs a **reaper**: every
  :attr:`ServiceConfig.reap_interval_s` it re-queues the running jobs whose lease lapsed (their
  worker was killed, lost power or its network).  So a job comes back within
  ``lease_s + reap_interval_s`` of its worker's death, whatever the job class — Celery's Redis
  transport alone would wait its visibility timeout (an hour by default).
* A copy that arrives while the job runs elsewhere (lease held), or after it ended, is dropped;
  the result is written with ``SET NX`` (:meth:`.store.JobStore.finish`).
"""

from __future__ import annotations

__all__ = ["TASK", "Heartbeat", "enqueue", "execute", "make_app", "reap_once", "worker_id"]

import functools
import hashlib
import io
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import StyleforgeError
from .config import FAST, HEAVY, ServiceConfig
from .store import BrokerDown, JobStore, text

log = logging.getLogger("styleforge.service")

TASK = "styleforge.run_job"
MAX_ATTEMPTS = 3
#: Seconds between progress writes of one job.
PROGRESS_EVERY_S = 0.5
#: A heavy job looks for waiting fast jobs this often (seconds), pauses until none has been seen for
#: YIELD_QUIET_S (a burst's short gaps do not let it in), and at most YIELD_MAX_S at a time.
YIELD_CHECK_S = 0.05
YIELD_QUIET_S = 0.25
YIELD_MAX_S = 5.0

_state: dict[Any, Any] = {}


def make_app(config: ServiceConfig) -> Any:
    """The Celery app of ``config`` (the same settings for front ends and workers)."""
    from celery import Celery
    from kombu import Exchange, Queue

    app = Celery("styleforge", broker=config.broker, backend=config.broker, set_as_current=False)
    transport = {"visibility_timeout": int(config.visibility_timeout_s)}
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(FAST, Exchange(FAST), routing_key=FAST), Queue(HEAVY, Exchange(HEAVY), routing_key=HEAVY)],
        task_default_queue=FAST,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        result_expires=config.ttl_s,
        broker_connection_timeout=config.connect_timeout_s,
        broker_connection_retry_on_startup=True,
        redis_socket_connect_timeout=config.connect_timeout_s,
        redis_socket_timeout=10,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=False,
    )

    @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run_job(self: Any, job_id: str) -> dict[str, str]:
        return {"job": job_id, "outcome": execute(config, job_id)}

    _state["config"] = config
    return app


def enqueue(app: Any, config: ServiceConfig, job_id: str, cls: str) -> None:
    """Send job ``job_id`` to its class's queue (soft time limit = the class's, hard = 15 s later)."""
    limit = config.timeout(cls)
    app.send_task(TASK, args=[job_id], queue=cls, routing_key=cls, soft_time_limit=limit, time_limit=limit + 15)


def worker_id() -> str:
    """This process: ``HOST:PID`` (the job record's ``worker``; the PID is the one running the job)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _store(config: ServiceConfig) -> JobStore:
    key = ("store", os.getpid())
    if key not in _state:
        _state[key] = JobStore(config)
    store: JobStore = _state[key]
    return store


class Heartbeat(threading.Thread):
    """Renews a running job's lease; sets :attr:`stop` when the job was cancelled or taken away."""

    def __init__(self, store: JobStore, job_id: str, worker: str) -> None:
        super().__init__(name=f"styleforge-heartbeat-{job_id}", daemon=True)
        self.store, self.job_id, self.worker = store, job_id, worker
        self.stop = threading.Event()
        self.state = "running"
        self._done = threading.Event()

    def run(self) -> None:
        interval = self.store.config.lease_s / 3
        while not self._done.wait(interval):
            try:
                self.state = self.store.beat(self.job_id, self.worker)
            except BrokerDown:
                continue  # the lease may lapse: then the job runs again elsewhere, and this result is a duplicate
            if self.state != "running":
                self.stop.set()
                return

    def finish(self) -> None:
        self._done.set()


def execute(config: ServiceConfig, job_id: str) -> str:
    """Run job ``job_id`` here if nobody else does; returns the outcome (``done``, ``failed``, ``leased``, …)."""
    from . import modes

    store = _store(config)
    me = worker_id()
    taken = store.start(job_id, me)
    if taken != "started":
        log.info("job %s not run here: %s", job_id, taken)
        return taken
    job = store.get(job_id)
    names = (store.field(job_id, "inputs") or "").split(",")
    stored = {n: store.input(job_id, n) for n in names if n}
    inputs = {n: v for n, v in stored.items() if v is not None}
    if job is None or len(inputs) != len(stored):
        return store.fail(job_id, me, "the job's images expired or were deleted before it ran")
    beat = Heartbeat(store, job_id, me)
    beat.start()
    last = [0.0]

    def progress(fraction: float, message: str, preview: Any = None) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or preview is not None:
            last[0] = now
            try:
                store.progress(job_id, fraction, message, _jpeg(preview) if preview is not None else None)
            except BrokerDown:
                pass

    from celery.exceptions import SoftTimeLimitExceeded

    should_stop = beat.stop.is_set
    if job.cls == FAST:
        store.fast_started(job_id)
    else:
        should_stop = _yielding(store, beat.stop)
    try:
        out = modes.run(
            job.mode,
            job.options,
            inputs,
            max_pixels=config.max_pixels,
            progress=progress,
            should_stop=should_stop,
            files=functools.partial(fetch_file, store),
            max_video_seconds=config.max_video_seconds,
        )
        if beat.stop.is_set() and beat.state != "running":
            return beat.state
        if len(out.png) > config.max_file_bytes:
            raise StyleforgeError(f"the result is too large for the job queue ({len(out.png)} bytes)")
        meta = {**out.meta, "media_type": out.media_type} if out.media_type != "image/png" else out.meta
        outcome = store.finish(job_id, me, out.png, meta=meta, file=out.file)
    except modes.JobStopped:
        outcome = beat.state
    except SoftTimeLimitExceeded:
        outcome = store.fail(
            job_id,
            me,
            f"the job ran past its {config.timeout(job.cls):g} s limit; try a smaller image or fewer iterations",
        )
    except StyleforgeError as e:
        outcome = store.fail(job_id, me, str(e))
    except MemoryError:
        outcome = store.fail(job_id, me, "the job ran out of memory; try a smaller image")
    except Exception as e:  # noqa: BLE001 - a bug: logged in full, the user gets its name
        log.exception("job %s failed", job_id)
        outcome = store.fail(job_id, me, f"internal error ({e.__class__.__name__}); the operator's log has details")
    finally:
        beat.finish()
        if job.cls == FAST:
            store.fast_ended(job_id)
    log.info("job %s (%s) %s", job_id, job.mode, outcome)
    return outcome


#: The live picture a running job sends (JPEG, at most this many pixels on its long side).
PREVIEW_SIDE = 512


def _jpeg(image: Any) -> bytes | None:
    """A live picture (PIL image) → small JPEG bytes (None when it is not an image)."""
    try:
        img = image.convert("RGB")
        img.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        return buf.getvalue()
    except (AttributeError, OSError, ValueError):
        return None


def file_cache() -> Path:
    """This worker's copies of the files page jobs name (by SHA-256): a model is fetched once."""
    d = Path(os.environ.get("STYLEFORGE_FILE_CACHE") or Path(tempfile.gettempdir()) / f"styleforge-files-{os.getuid()}")
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def fetch_file(store: JobStore, ref: Mapping[str, Any]) -> Path:
    """A page job's file ``{"sha": SHA256, "name": NAME}`` as a local path (from Redis, checked, cached)."""
    sha, name = str(ref.get("sha", "")), Path(str(ref.get("name", "file"))).name or "file"
    if len(sha) != 64 or not all(c in "0123456789abcdef" for c in sha):
        raise StyleforgeError("the job names a file by a malformed digest")
    path = file_cache() / sha / name
    if path.is_file():
        return path
    data = store.file(sha)
    if data is None:
        raise StyleforgeError("a file of this job expired or was deleted before it ran; try again")
    if hashlib.sha256(data).hexdigest() != sha:
        raise StyleforgeError("a file of this job arrived damaged; try again")
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{name}.{os.getpid()}.part")
    part.write_bytes(data)
    os.replace(part, path)
    return path


def _yielding(store: JobStore, stop: threading.Event) -> Any:
    """A heavy job's ``should_stop``: also pauses the optimisation while fast jobs wait or run.

    Polled between optimisation steps; at most every :data:`YIELD_CHECK_S` it asks Redis whether
    fast jobs are queued or running (:meth:`.store.JobStore.fast_pressure`) and, while they are and
    until none was seen for :data:`YIELD_QUIET_S`, sleeps (at most :data:`YIELD_MAX_S` at a time, so
    a heavy job always progresses).  The CPU
    priority (``nice``) alone cannot keep two optimisations from slowing the fast jobs down on
    shared cores (hyper-threads, memory bandwidth).
    """
    last = [0.0]

    def should_stop() -> bool:
        now = time.monotonic()
        if now - last[0] >= YIELD_CHECK_S:
            end = now + YIELD_MAX_S
            seen: float | None = None
            try:
                while not stop.is_set() and time.monotonic() < end:
                    if store.fast_pressure():
                        seen = time.monotonic()
                    elif seen is None or time.monotonic() - seen >= YIELD_QUIET_S:
                        break
                    stop.wait(0.02)
            except BrokerDown:
                pass
            last[0] = time.monotonic()
        return stop.is_set()

    return should_stop


def reap_once(app: Any, config: ServiceConfig, store: JobStore) -> list[str]:
    """Re-queue the running jobs whose lease lapsed; returns their ids."""
    out = []
    for job_id, what in store.lapsed(MAX_ATTEMPTS):
        if what == "requeue":
            cls = store.field(job_id, "cls") or FAST
            enqueue(app, config, job_id, cls)
            log.warning("job %s: its worker stopped answering; queued again", job_id)
            out.append(job_id)
        else:
            log.warning("job %s failed: it stopped its worker %d times", job_id, MAX_ATTEMPTS)
    return out


def register(store: JobStore, name: str, queues: list[str], ttl_s: float) -> None:
    """Announce a live worker node (``/readyz`` counts them)."""
    with store.guard():
        store.redis.set(store.key("worker", name), ",".join(queues), px=int(ttl_s * 1000))


def live_workers(store: JobStore) -> dict[str, int]:
    """Live worker nodes per queue."""
    counts = {FAST: 0, HEAVY: 0}
    with store.guard():
        for key in store.redis.scan_iter(match=store.key("worker", "*"), count=100):
            value = store.redis.get(key)
            for q in text(value or b"").split(","):
                if q in counts:
                    counts[q] += 1
    return counts


def start_reaper(app: Any, config: ServiceConfig, name: str, queues: list[str]) -> threading.Thread:
    """The main process's reaper and registration thread (a daemon: it dies with the process)."""
    store = JobStore(config)

    def loop() -> None:
        while True:
            try:
                register(store, name, queues, config.reap_interval_s * 3)
                reap_once(app, config, store)
            except BrokerDown as e:
                log.warning("%s", e)
            except Exception:  # noqa: BLE001 - the reaper must not die
                log.exception("reaper")
            time.sleep(config.reap_interval_s)

    th = threading.Thread(target=loop, name="styleforge-reaper", daemon=True)
    th.start()
    return th
