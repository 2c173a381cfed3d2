"""Per-client limits kept in Redis, so every front end (and the page) counts the same jobs.

Two limits, as the page's (:mod:`styleforge.web.quota`): at most ``max_jobs`` jobs waiting or
running per client, and at most ``max_heavy_per_hour`` heavy jobs started per client in any hour.
One Lua script checks and counts at once, so two front ends admitting in parallel never overshoot.
The active set heals itself: a job that ended (or expired) leaves it at the next admission.
"""

from __future__ import annotations

__all__ = ["HOUR_S", "Refusal", "RedisQuota"]

import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .config import HEAVY

HOUR_S = 3600.0

_PRUNE = """
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local st = redis.call('HGET', ARGV[1] .. ':job:' .. id, 'state')
  if st ~= 'queued' and st ~= 'running' then redis.call('SREM', KEYS[1], id) end
end
"""

_COUNT = (
    _PRUNE
    + """
return redis.call('SCARD', KEYS[1])
"""
)

_ADMIT = (
    _PRUNE.replace("ARGV[1]", "ARGV[6]")
    + """
local n = redis.call('SCARD', KEYS[1])
local max_jobs = tonumber(ARGV[2])
if max_jobs > 0 and n >= max_jobs then return {1, n, '0'} end
local now = tonumber(ARGV[5])
if ARGV[4] == '1' and tonumber(ARGV[3]) > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 3600)
  local c = redis.call('ZCARD', KEYS[2])
  if c >= tonumber(ARGV[3]) then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {2, c, first[2]}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[8])
  redis.call('EXPIRE', KEYS[2], 3700)
end
if ARGV[1] ~= '' then
  redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[7])
end
return {0, n + 1, '0'}
"""
)


@dataclass(frozen=True)
class Refusal:
    """Why a job was refused, and when to try again (the ``Retry-After`` header)."""

    message: str
    retry_after_s: int


class RedisQuota:
    """Per-client admission in Redis (0 = no limit).

    Args:
        redis: a ``redis.Redis`` client (the job store's).
        prefix: the deployment's key prefix (job records are ``PREFIX:job:ID``).
    """

    def __init__(
        self,
        redis: Any,
        prefix: str,
        max_jobs: int = 0,
        max_heavy_per_hour: int = 0,
        ttl_s: int = 3600,
        clock: Any = time.time,
    ) -> None:
        self.redis, self.prefix = redis, prefix
        self.max_jobs, self.max_heavy_per_hour, self.ttl_s, self.clock = max_jobs, max_heavy_per_hour, ttl_s, clock
        self._admit = redis.register_script(_ADMIT)
        self._count = redis.register_script(_COUNT)

    @property
    def active(self) -> bool:
        return bool(self.max_jobs or self.max_heavy_per_hour)

    def admit(self, client: str, job_id: str, cls: str) -> Refusal | None:
        """Count job ``job_id`` of ``client`` (its record must exist already), or say why not.

        ``job_id`` may be empty: then only the limits are checked and a heavy start counted
        (the page's in-process jobs, which have no record here).
        """
        member = job_id or f"page:{secrets.token_hex(8)}"
        res = self._admit(
            keys=[f"{self.prefix}:active:{client}", f"{self.prefix}:heavy:{client}"],
            args=[
                job_id,
                self.max_jobs,
                self.max_heavy_per_hour,
                "1" if cls == HEAVY else "0",
                f"{self.clock():.3f}",
                self.prefix,
                self.ttl_s,
                member,
            ],
        )
        code, n = int(res[0]), int(res[1])
        if code == 1:
            return Refusal(
                f"you already have {n} job{'s' * (n != 1)} waiting or running (at most {self.max_jobs} "
                "per client); wait for one to finish, then try again",
                5,
            )
        if code == 2:
            wait = max(1, math.ceil(HOUR_S - (self.clock() - float(res[2]))))
            return Refusal(
                f"you have started {n} heavy jobs in the last hour (at most {self.max_heavy_per_hour} per "
                f"client); the next one is possible in {max(1, round(wait / 60))} min — fast jobs are not "
                "limited",
                wait,
            )
        return None

    def active_jobs(self, client: str) -> int:
        """Jobs of ``client`` waiting or running (those that ended are forgotten first)."""
        return int(self._count(keys=[f"{self.prefix}:active:{client}"], args=[self.prefix]))
