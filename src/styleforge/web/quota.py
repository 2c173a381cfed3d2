"""Job classes and per-client limits.

**Job classes** — the one place that says which jobs are heavy:

* ``HEAVY``: optimisations (Artistic, Photo's DPST method, instant polish/refine, Gatys Video): they hold
  the cores for minutes; ``--concurrency`` run at once, and they count towards ``--max-heavy-per-hour``.
* ``FAST``: single forward passes (Instant, fast Photo, Translate, Makeup, instant/photo Video): ``--fast-concurrency``.

A tab names its class once, in its event: ``button.click(fn, ..., **queue_options(HEAVY, settings))``
(``app.py`` keeps these as ``heavy`` / ``fast``).  That sets the event's Gradio queue (its
``concurrency_id`` and limit) and how :class:`ClientQuota` counts it; an event with any other
``concurrency_id`` is counted as heavy.

**Per-client limits** (:class:`ClientQuota`): at most ``max_jobs`` jobs waiting or running per
client, and at most ``max_heavy_per_hour`` heavy jobs started per client in any hour.  A client is
its login (user name) when a login is required, else its address (``X-Forwarded-For`` from a
``--trusted-proxy``).  Gradio's own ``session_hash`` is not used: the caller picks it, so a script
would be a new client on every call.  :func:`guard_queue` applies the limits where Gradio admits a
job into its queue (``/gradio_api/queue/join`` and ``/gradio_api/call/*``), so the page and the HTTP
API are limited alike; a refused job gets HTTP 429 with a friendly message, which the page shows.

With a broker (``serve --broker``) the limits live in Redis (:class:`styleforge.service.quota.RedisQuota`):
the heavy starts per hour are counted there for every front end, and a client's jobs on the queue
(``/v1/jobs``, from any front end) count towards ``max_jobs`` beside those in this page's queue.
"""

from __future__ import annotations

__all__ = ["FAST", "HEAVY", "ClientQuota", "guard_queue", "job_class", "queue_options"]

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .auth import Network, client_address, parse_networks

HEAVY = "heavy"
FAST = "fast"
HOUR_S = 3600.0


def queue_options(kind: str, settings: Any) -> dict[str, Any]:
    """The ``.click()`` arguments that put an event in the queue of its class (``HEAVY`` or ``FAST``)."""
    if kind == HEAVY:
        return {"concurrency_limit": settings.limits.concurrency, "concurrency_id": HEAVY}
    if kind == FAST:
        return {"concurrency_limit": settings.fast_concurrency, "concurrency_id": FAST}
    raise ValueError(f"unknown job class {kind!r} (use HEAVY or FAST)")


def job_class(concurrency_id: str | None) -> str:
    """An event's class from its Gradio ``concurrency_id`` (anything unnamed counts as heavy)."""
    return FAST if concurrency_id == FAST else HEAVY


def _minutes(seconds: float) -> str:
    return f"{max(1, round(seconds / 60))} min"


class ClientQuota:
    """Per-client admission: ``max_jobs`` waiting/running, ``max_heavy_per_hour`` heavy starts (0 = no limit)."""

    def __init__(
        self, max_jobs: int = 0, max_heavy_per_hour: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_jobs, self.max_heavy_per_hour, self.clock = max_jobs, max_heavy_per_hour, clock
        self._heavy: dict[str, deque[float]] = {}

    @property
    def active(self) -> bool:
        return bool(self.max_jobs or self.max_heavy_per_hour)

    def _recent(self, client: str) -> deque[float]:
        q = self._heavy.get(client, deque())
        while q and self.clock() - q[0] >= HOUR_S:
            q.popleft()
        if not q:
            self._heavy.pop(client, None)
        return q

    def refusal(self, client: str, kind: str, queued: int) -> str | None:
        """Why ``client`` may not add a ``kind`` job now (it has ``queued`` waiting or running), or None."""
        if self.max_jobs and queued >= self.max_jobs:
            return (
                f"you already have {queued} job{'s' * (queued != 1)} waiting or running (at most "
                f"{self.max_jobs} per visitor here); please wait for one to finish, then try again"
            )
        if kind == HEAVY and self.max_heavy_per_hour:
            recent = self._recent(client)
            if len(recent) >= self.max_heavy_per_hour:
                wait = HOUR_S - (self.clock() - recent[0])
                return (
                    f"you have started {len(recent)} optimisation jobs in the last hour (at most "
                    f"{self.max_heavy_per_hour} per visitor here); the next one is possible in "
                    f"{_minutes(wait)} — the fast tabs (Instant, Translate, Makeup) are not limited"
                )
        return None

    def admitted(self, client: str, kind: str) -> None:
        """Count a job that entered the queue."""
        if kind == HEAVY and self.max_heavy_per_hour:
            self._heavy.setdefault(client, deque()).append(self.clock())


def _event_client(event: Any, trusted: Sequence[Network]) -> str:
    """The client key of a queued Gradio event (or of a join request: same attributes)."""
    if getattr(event, "username", None):
        return f"user:{event.username}"
    request = getattr(event, "request", None)
    peer = getattr(getattr(request, "client", None), "host", None)
    headers = getattr(request, "headers", None)
    forwarded = headers.get("x-forwarded-for") if headers is not None else None
    return f"ip:{client_address(peer, forwarded, trusted)}"


def _shared_quota(settings: Any) -> Any:
    """The Redis-backed limits of ``settings.broker`` (None without a broker or without limits)."""
    broker = getattr(settings, "broker", None)
    if not broker or not (settings.max_jobs_per_client or settings.max_heavy_per_hour):
        return None
    from ..service.config import ServiceConfig
    from ..service.quota import RedisQuota
    from ..service.store import JobStore

    config = ServiceConfig(broker)
    # max_jobs stays with ClientQuota (the page's queue plus the client's jobs on the broker)
    return RedisQuota(JobStore(config).redis, config.prefix, 0, settings.max_heavy_per_hour, config.ttl_s)


async def _shared(call: Callable[[], Any]) -> Any:
    """``call()`` (a Redis round trip) off the event loop; Redis down → HTTP 503."""
    import redis
    from fastapi import HTTPException

    try:
        return await asyncio.to_thread(call)
    except (redis.ConnectionError, redis.TimeoutError):
        raise HTTPException(status_code=503, detail="the job queue (Redis) is not reachable; try again later") from None


class _Join:
    def __init__(self, request: Any, username: str | None) -> None:
        self.request, self.username = request, username


def guard_queue(demo: Any, settings: Any) -> None:
    """Close the way round ``demo``'s queue and apply the per-client limits of ``settings`` (after ``demo.queue()``).

    ``api_open`` off: ``/gradio_api/run/<name>`` would otherwise run a queued event outside the queue
    (its concurrency, its size limit and these limits).  The limits wrap ``Queue.push``: the client's
    jobs already waiting or running are counted from the queue itself (nothing to forget when a job
    ends or is cancelled); admissions are serialised by a lock so parallel joins cannot overshoot.
    """
    demo.api_open = False
    shared = _shared_quota(settings)
    quota = ClientQuota(settings.max_jobs_per_client, 0 if shared is not None else settings.max_heavy_per_hour)
    if not (quota.active or shared is not None):
        return
    trusted = parse_networks(settings.trusted_proxies)
    queue = demo._queue
    original = queue.push
    lock: list[asyncio.Lock] = []

    def jobs_of(client: str) -> int:
        waiting = [e for q in queue.event_queue_per_concurrency_id.values() for e in q.queue]
        running = [e for job in queue.active_jobs if job for e in job]
        return sum(_event_client(e, trusted) == client for e in waiting + running)

    async def push(body: Any, request: Any, username: str | None) -> Any:
        from fastapi import HTTPException
        from gradio.route_utils import get_fn

        try:
            fn = get_fn(demo, None, body)
        except Exception:  # noqa: BLE001 - Gradio's own push answers a bad fn_index
            return await original(body=body, request=request, username=username)
        kind = job_class(fn.concurrency_id)
        client = _event_client(_Join(request, username), trusted)
        if not lock:
            lock.append(asyncio.Lock())
        async with lock[0]:
            queued = jobs_of(client)
            if shared is not None:
                queued += await _shared(lambda: shared.active_jobs(client))
            why = quota.refusal(client, kind, queued)
            if not why and shared is not None and kind == HEAVY:
                refusal = await _shared(lambda: shared.admit(client, "", kind))
                why = refusal.message if refusal is not None else None
            if why:
                raise HTTPException(status_code=429, detail=why)
            result = await original(body=body, request=request, username=username)
            if result[0]:
                quota.admitted(client, kind)
            return result

    queue.push = push
