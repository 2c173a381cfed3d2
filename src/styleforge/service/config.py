"""Settings of the job queue, shared by front ends and workers, and the job class of each mode."""

from __future__ import annotations

__all__ = ["FAST", "HEAVY", "MODES", "ServiceConfig", "job_class", "redact"]

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InputError

FAST = "fast"
HEAVY = "heavy"
#: Mode → its class when the options do not say otherwise (see :func:`job_class`).
MODES: dict[str, str] = {"instant": FAST, "photo": FAST, "artistic": HEAVY, "makeup": FAST, "video": HEAVY}


def job_class(mode: str, options: Mapping[str, Any]) -> str:
    """``fast`` (one forward pass, a look, makeup) or ``heavy`` (an optimisation: Gatys, deep photo style; video)."""
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "photo" and options.get("method") == "dpst":
        return HEAVY
    if mode == "instant" and options.get("refine"):
        return HEAVY  # the polish is a short optimisation
    return MODES[mode]


def redact(url: str) -> str:
    """A broker URL with its password replaced by ``***`` (for messages and logs)."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


@dataclass(frozen=True)
class ServiceConfig:
    """Everything a front end and a worker must agree on.

    Args:
        broker: ``redis://[:PASSWORD@]HOST:PORT/DB`` — the Celery broker, its result backend and
            the job store (inputs, results, progress, per-client limits) all live there.
        prefix: key prefix in Redis (several deployments may share one server).
        max_upload_bytes: largest input image (each file of a job).
        max_pixels: largest input image in pixels (checked from the header by the worker).
        ttl_s: inputs, results and job records expire this long after their last change.
        fast_timeout_s, heavy_timeout_s: a job running longer is stopped (Celery's hard limit).
        lease_s: a running job's lease; its worker renews it every ``lease_s / 3``.  When the worker
            dies the lease lapses and the job is queued again (the redelivery bound).
        reap_interval_s: how often each worker looks for jobs whose lease lapsed.
        max_jobs_per_client: jobs one client may have waiting or running (0: no limit).
        max_heavy_per_hour: heavy jobs one client may start per hour (0: no limit).
        connect_timeout_s: a Redis that does not answer within this is "down" (HTTP 503).
        max_video_seconds: the longest clip of a ``video`` job (checked by the worker from the header).
        max_file_bytes: the largest file a page job sends through Redis (a clip, a model of
            ``--models``) and the largest result a job stores (a stylised clip).
    """

    broker: str = "redis://127.0.0.1:6379/0"
    prefix: str = "sf"
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    ttl_s: int = 3600
    fast_timeout_s: float = 60.0
    heavy_timeout_s: float = 300.0
    lease_s: float = 10.0
    reap_interval_s: float = 2.0
    max_jobs_per_client: int = 0
    max_heavy_per_hour: int = 0
    connect_timeout_s: float = 2.0
    max_video_seconds: float = 30.0
    max_file_bytes: int = 256 * 1024 * 1024

    def __post_init__(self) -> None:
        if not self.broker.startswith(("redis://", "rediss://", "unix://")):
            raise InputError(f"--broker must be a redis:// URL (redis://HOST:PORT/DB), got {redact(self.broker)!r}")
        if self.lease_s < 1 or self.reap_interval_s <= 0 or self.ttl_s < 60:
            raise InputError("lease must be ≥ 1 s, the reap interval positive and the TTL at least 60 s")
        if self.max_upload_bytes <= 0 or self.max_pixels <= 0 or self.max_file_bytes <= 0:
            raise InputError("upload limits must be positive")

    def timeout(self, cls: str) -> float:
        """The time limit of a job class."""
        return self.heavy_timeout_s if cls == HEAVY else self.fast_timeout_s

    @property
    def visibility_timeout_s(self) -> float:
        """Celery's fallback redelivery (a message not acknowledged this long is delivered again).

        Longer than any job, so that a running job is never handed out twice by it; the lease
        re-queues the job of a dead worker much sooner (:mod:`.tasks`).
        """
        return max(self.heavy_timeout_s, self.fast_timeout_s) + 6 * self.lease_s

    @property
    def redelivery_bound_s(self) -> float:
        """The longest wait between a worker's death and its job being queued again."""
        return self.lease_s + self.reap_interval_s

    def with_(self, **changes: Any) -> ServiceConfig:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, broker: str | None = None, **overrides: Any) -> ServiceConfig:
        """Settings from ``STYLEFORGE_*`` environment variables (``STYLEFORGE_LEASE_S``, …), then ``overrides``."""
        values: dict[str, Any] = {}
        for name, f in cls.__dataclass_fields__.items():
            raw = os.environ.get(f"STYLEFORGE_{name.upper()}")
            if raw is not None:
                kind: Any = type(f.default)
                try:
                    values[name] = kind(raw)
                except ValueError:
                    raise InputError(f"STYLEFORGE_{name.upper()}={raw!r} is not a {kind.__name__}") from None
        if broker is not None:
            values["broker"] = broker
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
