"""Jobs in Redis: records, inputs and results, bounded and expiring, written once per job id.

Keys (``P`` is :attr:`ServiceConfig.prefix`)::

    P:job:ID         hash   owner, mode, class, options (JSON), state, progress, message, runs, …
    P:in:ID:NAME     bytes  an input image as uploaded (``content``, ``style``, ``reference``)
    P:out:ID         bytes  the result (PNG; a video job's MP4), written once: ``SET NX``
    P:preview:ID     bytes  the latest live picture of a running job (JPEG; the page shows it)
    P:file:SHA256    bytes  a file a page job needs (a clip, a model of ``--models``), by content
    P:lease:ID       str    the worker running the job; renewed by its heartbeat, lapses when it dies
    P:running        set    jobs in state ``running`` (what the reaper scans)
    P:owner:CLIENT   set    a client's jobs (for deletion on request and the per-client limits)

Every key but the ``running`` set expires :attr:`ServiceConfig.ttl_s` after its last change.
The state changes are Lua scripts, so two workers (or a worker and a cancel) never both win.
"""

from __future__ import annotations

__all__ = ["ACTIVE", "TERMINAL", "BrokerDown", "Job", "JobStore", "new_job_id"]

import json
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import StyleforgeError
from .config import ServiceConfig, redact

ACTIVE = ("queued", "running")
TERMINAL = ("done", "failed", "cancelled")


class BrokerDown(StyleforgeError):
    """Redis (the broker and job store) cannot be reached."""


def text(value: Any) -> str:
    """A Redis reply (bytes, or str with ``decode_responses``) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def new_job_id() -> str:
    """A fresh, unguessable job id (URL-safe)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Job:
    """A job record as the API shows it."""

    id: str
    owner: str
    mode: str
    cls: str
    options: dict[str, Any]
    state: str
    progress: float
    message: str
    created: float
    started: float | None
    finished: float | None
    runs: int
    attempts: int
    error: str
    worker: str
    result_bytes: int
    previews: int = 0

    @classmethod
    def from_hash(cls, job_id: str, h: Mapping[Any, Any]) -> Job:
        def s(k: str, default: str = "") -> str:
            v = h.get(k.encode())
            return v.decode() if v is not None else default

        def f(k: str) -> float | None:
            v = s(k)
            return float(v) if v else None

        return cls(
            id=job_id,
            owner=s("owner"),
            mode=s("mode"),
            cls=s("cls"),
            options=json.loads(s("options", "{}")),
            state=s("state", "queued"),
            progress=float(s("progress", "0")),
            message=s("message"),
            created=float(s("created", "0")),
            started=f("started"),
            finished=f("finished"),
            runs=int(s("runs", "0")),
            attempts=int(s("attempts", "1")),
            error=s("error"),
            worker=s("worker"),
            result_bytes=int(s("result_bytes", "0")),
            previews=int(s("previews", "0")),
        )


# A worker takes a job: only a queued job, only when no live lease holds it.
_START = """
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'gone' end
if st == 'done' or st == 'failed' or st == 'cancelled' then return st end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) == false then return 'leased' end
redis.call('HSET', KEYS[1], 'state', 'running', 'started', ARGV[3], 'worker', ARGV[1], 'progress', '0',
           'message', 'started')
redis.call('HINCRBY', KEYS[1], 'runs', 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
return 'started'
"""

# The heartbeat: renew our lease; tell the worker when the job was cancelled (or taken from it).
_BEAT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 'lost' end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
local st = redis.call('HGET', KEYS[1], 'state')
if st ~= 'running' then return st or 'gone' end
return 'running'
"""

# The result, once: the first finisher stores it, any later run only counts as a duplicate.
_FINISH = """
local st = redis.call('HGET', KEYS[1], 'state')
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('SREM', KEYS[4], ARGV[5])
if not st then return 'gone' end
if st == 'cancelled' then return 'cancelled' end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'EX', ARGV[3]) == false then
  redis.call('HINCRBY', KEYS[1], 'duplicates', 1)
  return 'duplicate'
end
redis.call('HSET', KEYS[1], 'state', 'done', 'finished', ARGV[4], 'progress', '1', 'message', 'done',
           'result_bytes', string.len(ARGV[2]), 'finished_by', ARGV[1], 'meta', ARGV[6], 'file', ARGV[7])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 'done'
"""

_FAIL = """
local st = redis.call('HGET', KEYS[1], 'state')
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
redis.call('SREM', KEYS[3], ARGV[4])
if not st or st == 'done' or st == 'cancelled' then return st or 'gone' end
redis.call('HSET', KEYS[1], 'state', 'failed', 'error', ARGV[2], 'message', 'failed', 'finished', ARGV[3])
return 'failed'
"""

# The reaper: a running job whose lease lapsed goes back to the queue (or fails after max attempts).
_REAP = """
local st = redis.call('HGET', KEYS[1], 'state')
if st ~= 'running' then redis.call('SREM', KEYS[3], ARGV[1]); return 'skip' end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'alive' end
redis.call('SREM', KEYS[3], ARGV[1])
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'message', 'failed', 'finished', ARGV[3],
             'error', 'the job stopped its worker ' .. (attempts - 1) ..
             ' times (a worker died or it ran past its limit)')
  return 'failed'
end
redis.call('HSET', KEYS[1], 'state', 'queued', 'message', 'queued again: its worker stopped answering')
return 'requeue'
"""

_CANCEL = """
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return 'gone' end
if st == 'done' or st == 'failed' or st == 'cancelled' then return st end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'message', 'cancelled', 'finished', ARGV[1])
return 'cancelled'
"""


class JobStore:
    """The job store of one deployment (a Redis database).

    Every method raises :class:`BrokerDown` (with the broker named, its password hidden)
    when Redis does not answer within :attr:`ServiceConfig.connect_timeout_s`.
    """

    def __init__(self, config: ServiceConfig) -> None:
        import redis

        self.config = config
        t = config.connect_timeout_s
        self.redis = redis.Redis.from_url(
            config.broker,
            socket_connect_timeout=t,
            socket_timeout=max(t, 5.0),
            health_check_interval=30,
            retry_on_timeout=False,
        )
        self._scripts = {
            name: self.redis.register_script(src)
            for name, src in (
                ("start", _START),
                ("beat", _BEAT),
                ("finish", _FINISH),
                ("fail", _FAIL),
                ("reap", _REAP),
                ("cancel", _CANCEL),
            )
        }

    # ------------------------------------------------------------------ keys
    def key(self, *parts: str) -> str:
        return ":".join((self.config.prefix, *parts))

    @contextmanager
    def guard(self) -> Iterator[None]:
        import redis

        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as e:
            raise BrokerDown(
                f"the job queue (Redis at {redact(self.config.broker)}) is not reachable: "
                f"{e.__class__.__name__}; try again later"
            ) from None

    def ping(self) -> bool:
        with self.guard():
            return bool(self.redis.ping())

    # ------------------------------------------------------------------ front end
    def create(
        self, job_id: str, owner: str, mode: str, cls: str, options: Mapping[str, Any], inputs: Mapping[str, bytes]
    ) -> None:
        """Store a new queued job and its inputs (all expiring after the TTL)."""
        ttl = self.config.ttl_s
        now = f"{time.time():.3f}"
        with self.guard():
            p = self.redis.pipeline(transaction=True)
            for name, data in inputs.items():
                p.set(self.key("in", job_id, name), data, ex=ttl)
            p.hset(
                self.key("job", job_id),
                mapping={
                    "owner": owner,
                    "mode": mode,
                    "cls": cls,
                    "options": json.dumps(dict(options)),
                    "state": "queued",
                    "progress": "0",
                    "message": "queued",
                    "created": now,
                    "runs": "0",
                    "attempts": "1",
                    "inputs": ",".join(inputs),
                },
            )
            p.expire(self.key("job", job_id), ttl)
            p.sadd(self.key("owner", owner), job_id)
            p.expire(self.key("owner", owner), ttl)
            p.execute()

    def get(self, job_id: str) -> Job | None:
        with self.guard():
            h = self.redis.hgetall(self.key("job", job_id))
        return Job.from_hash(job_id, h) if h else None

    def field(self, job_id: str, name: str) -> str | None:
        with self.guard():
            v = self.redis.hget(self.key("job", job_id), name)
        return text(v) if v is not None else None

    def _bytes(self, key: str) -> bytes | None:
        with self.guard():
            v = self.redis.get(key)
        return v if v is None or isinstance(v, bytes) else str(v).encode()

    def result(self, job_id: str) -> bytes | None:
        return self._bytes(self.key("out", job_id))

    def input(self, job_id: str, name: str) -> bytes | None:
        return self._bytes(self.key("in", job_id, name))

    def cancel(self, job_id: str) -> str:
        """Cancel a queued or running job; returns the state it ends in (``gone`` when unknown)."""
        with self.guard():
            return text(self._scripts["cancel"](keys=[self.key("job", job_id)], args=[f"{time.time():.3f}"]))

    def delete_data(self, job_id: str) -> None:
        """Forget a job's inputs and result (the record stays, marked, until it expires)."""
        with self.guard():
            names = text(self.redis.hget(self.key("job", job_id), "inputs") or b"").split(",")
            keys = [self.key("in", job_id, n) for n in names if n] + [
                self.key("out", job_id),
                self.key("out", job_id, "file"),
                self.key("preview", job_id),
            ]
            p = self.redis.pipeline(transaction=True)
            p.delete(*keys)
            p.hset(self.key("job", job_id), mapping={"result_bytes": "0", "deleted": "1"})
            p.execute()

    def jobs_of(self, owner: str) -> list[str]:
        with self.guard():
            return sorted(text(m) for m in self.redis.smembers(self.key("owner", owner)))

    def delete_owner(self, owner: str) -> int:
        """Cancel every job of ``owner`` and delete their records, inputs and results; returns how many."""
        ids = self.jobs_of(owner)
        for job_id in ids:
            self.cancel(job_id)
            self.delete_data(job_id)
        with self.guard():
            if ids:
                self.redis.delete(*[self.key("job", i) for i in ids])
            self.redis.delete(self.key("owner", owner))
        return len(ids)

    def delete_owner_job(self, owner: str, job_id: str) -> None:
        """Remove a job that was never queued (refused by a limit, or the queue failed)."""
        with self.guard():
            names = text(self.redis.hget(self.key("job", job_id), "inputs") or b"").split(",")
            p = self.redis.pipeline(transaction=True)
            p.delete(self.key("job", job_id), *[self.key("in", job_id, n) for n in names if n])
            p.srem(self.key("owner", owner), job_id)
            p.execute()

    # ------------------------------------------------------------------ workers
    def start(self, job_id: str, worker: str) -> str:
        """Take a job: ``started``, or why not (``leased``: a live worker runs it; a final state; ``gone``)."""
        with self.guard():
            return text(
                self._scripts["start"](
                    keys=[self.key("job", job_id), self.key("lease", job_id), self.key("running")],
                    args=[worker, int(self.config.lease_s * 1000), f"{time.time():.3f}", self.config.ttl_s, job_id],
                )
            )

    def beat(self, job_id: str, worker: str) -> str:
        """Renew the lease: ``running``, ``cancelled``, or ``lost`` (the lease lapsed and the job moved on)."""
        with self.guard():
            return text(
                self._scripts["beat"](
                    keys=[self.key("job", job_id), self.key("lease", job_id)],
                    args=[worker, int(self.config.lease_s * 1000)],
                )
            )

    def progress(self, job_id: str, fraction: float, message: str, preview: bytes | None = None) -> None:
        """A running job's progress; ``preview``: its live picture (JPEG), counted in ``previews``."""
        with self.guard():
            p = self.redis.pipeline(transaction=True)
            p.hset(self.key("job", job_id), mapping={"progress": f"{fraction:.4f}", "message": message[:200]})
            if preview is not None:
                p.set(self.key("preview", job_id), preview, ex=self.config.ttl_s)
                p.hincrby(self.key("job", job_id), "previews", 1)
            p.execute()

    def preview(self, job_id: str) -> bytes | None:
        """The latest live picture of a job (JPEG), if its worker sent one."""
        return self._bytes(self.key("preview", job_id))

    # ------------------------------------------------------------------ files by content
    def put_file(self, sha: str, data: bytes) -> None:
        """Keep a file a page job needs (a clip, a checkpoint) under its SHA-256, once; it expires after the TTL."""
        from ..errors import InputError

        if len(data) > self.config.max_file_bytes:
            raise InputError(f"the file is too large for the job queue (at most {self.config.max_file_bytes} bytes)")
        with self.guard():
            if not self.redis.set(self.key("file", sha), data, nx=True, ex=self.config.ttl_s):
                self.redis.expire(self.key("file", sha), self.config.ttl_s)

    def has_file(self, sha: str) -> bool:
        """Whether file ``sha`` is stored (its expiry is renewed: a job is about to need it)."""
        with self.guard():
            return bool(self.redis.expire(self.key("file", sha), self.config.ttl_s))

    def file(self, sha: str) -> bytes | None:
        return self._bytes(self.key("file", sha))

    def finish(
        self,
        job_id: str,
        worker: str,
        png: bytes,
        *,
        meta: Mapping[str, str] | None = None,
        file: tuple[str, bytes] | None = None,
    ) -> str:
        """Store the result once: ``done``; ``duplicate`` when another run stored it first; ``cancelled``.

        ``meta``: short text kept in the record (the page's command line and info); ``file``: one more
        output ``(name, bytes)`` (the photo mode's look), stored beside the picture.
        """
        with self.guard():
            if file is not None:
                self.redis.set(self.key("out", job_id, "file"), file[1], ex=self.config.ttl_s)
            return text(
                self._scripts["finish"](
                    keys=[
                        self.key("job", job_id),
                        self.key("lease", job_id),
                        self.key("out", job_id),
                        self.key("running"),
                    ],
                    args=[
                        worker,
                        png,
                        self.config.ttl_s,
                        f"{time.time():.3f}",
                        job_id,
                        json.dumps(dict(meta or {})),
                        file[0] if file is not None else "",
                    ],
                )
            )

    def result_file(self, job_id: str) -> tuple[str, bytes] | None:
        """The job's extra output file ``(name, bytes)``, if it has one."""
        name = self.field(job_id, "file")
        data = self._bytes(self.key("out", job_id, "file")) if name else None
        return (name, data) if name and data is not None else None

    def meta(self, job_id: str) -> dict[str, str]:
        raw = self.field(job_id, "meta")
        return {str(k): str(v) for k, v in json.loads(raw).items()} if raw else {}

    def fail(self, job_id: str, worker: str, error: str) -> str:
        with self.guard():
            return text(
                self._scripts["fail"](
                    keys=[self.key("job", job_id), self.key("lease", job_id), self.key("running")],
                    args=[worker, error[:500], f"{time.time():.3f}", job_id],
                )
            )

    def fast_started(self, job_id: str) -> None:
        """A fast job runs (heavy jobs pause for it: :meth:`fast_pressure`); forgotten after the fast time limit."""
        with self.guard():
            self.redis.zadd(self.key("fast_running"), {job_id: time.time() + self.config.fast_timeout_s})

    def fast_ended(self, job_id: str) -> None:
        with self.guard():
            self.redis.zrem(self.key("fast_running"), job_id)

    def fast_pressure(self) -> bool:
        """Whether fast jobs are running or waiting in the ``fast`` queue (Celery's list of that name)."""
        with self.guard():
            p = self.redis.pipeline(transaction=False)
            p.zcount(self.key("fast_running"), time.time(), "+inf")
            p.llen("fast")
            running, waiting = p.execute()
        return bool(int(running) or int(waiting))

    def lapsed(self, max_attempts: int) -> list[tuple[str, str]]:
        """Running jobs whose lease lapsed: ``(job id, "requeue" | "failed")`` for each one handled here."""
        out = []
        with self.guard():
            for raw in self.redis.smembers(self.key("running")):
                job_id = text(raw)
                keys = [self.key("job", job_id), self.key("lease", job_id), self.key("running")]
                r = text(self._scripts["reap"](keys=keys, args=[job_id, max_attempts, f"{time.time():.3f}"]))
                if r in ("requeue", "failed"):
                    out.append((job_id, r))
        return out
