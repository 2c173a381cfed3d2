"""Fixtures of the service tests: see :mod:`sfcluster`."""

from sfcluster import cluster, front_ends, redis_server  # noqa: F401 - fixtures
