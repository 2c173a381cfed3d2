"""Helpers of the service tests (fixtures in conftest.py): a real cluster on loopback.

``redis-server`` on a free port, two ``styleforge worker`` processes (each a fast and a heavy
node) started in another working directory, and API front ends served by uvicorn in this process.
Short leases (``LEASE_S``) keep the redelivery test quick."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("celery")
pytest.importorskip("redis")

#: The lease and reap interval of the test cluster: a dead worker's job is queued again within LEASE_S + REAP_S.
LEASE_S = 3.0
REAP_S = 0.5
KEYS = {
    "k-alice-0123456789abcdef": "alice",
    "k-bob-0123456789abcdefgh": "bob",
    "k-carol-0123456789abcdef": "carol",
    "k-load-0123456789abcdefgh": "load",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def png(size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    """A small photo-like image: the bundled Tübingen photo, cropped and shrunk."""
    from PIL import Image

    from styleforge.assets import BUILTIN_CONTENT

    img = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    img = img.crop((seed * 7, 0, img.width - seed * 5, img.height)).resize(size)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Redis:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


#: The one Redis and the one cluster of a test run, shared by the service and the web tests (each
#: fixture that asks holds a reference; the last to let go stops them).
_SHARED: dict[str, Any] = {}
_REFS: dict[str, int] = {}


def _shared(name: str, start: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    if name not in _SHARED:
        gen = start()
        _SHARED[name] = (next(gen), gen)
        _REFS[name] = 0
    _REFS[name] += 1
    try:
        yield _SHARED[name][0]
    finally:
        _REFS[name] -= 1
        if _REFS[name] == 0:
            _, gen = _SHARED.pop(name)
            next(gen, None)


def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """The run's redis-server (started by the first fixture that needs it)."""
    return _shared("redis", lambda: _start_redis(tmp_path_factory))


def shared_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The run's two workers on :func:`shared_redis` (started by the first fixture that needs them)."""

    def start() -> Iterator[Cluster]:
        redis_refs = shared_redis(tmp_path_factory)
        r = next(redis_refs)
        try:
            yield from _start_cluster(r, tmp_path_factory)
        finally:
            next(redis_refs, None)

    return _shared("cluster", start)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    yield from shared_redis(tmp_path_factory)


def _start_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (make redis)")
        pytest.skip("redis-server is not installed (make redis installs it)")
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(d)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    r = redis.Redis(port=port)
    wait_for(lambda: _ping(r), 10, "redis-server")
    yield Redis(port, proc)
    proc.terminate()
    proc.wait(10)


def _ping(r: Any) -> bool:
    try:
        return bool(r.ping())
    except Exception:  # noqa: BLE001
        return False


@dataclass
class Cluster:
    redis: Redis
    workdir: Path
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = self.workdir / f"worker{len(self.workers)}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "styleforge",
                "worker",
                "--broker",
                self.redis.url,
                "--queues",
                "fast,heavy",
                "--loglevel",
                "INFO",
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        self.logs.append(log)
        return proc

    def live(self) -> dict[str, int]:
        from styleforge.service.config import ServiceConfig
        from styleforge.service.store import JobStore
        from styleforge.service.tasks import live_workers

        return live_workers(JobStore(ServiceConfig(self.redis.url)))

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logs)


@pytest.fixture(scope="session")
def cluster(redis_server: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two workers, each with a fast and a heavy node, in a working directory of their own."""
    yield from shared_cluster(tmp_path_factory)


def _start_cluster(redis_server: Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("elsewhere")
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
        "STYLEFORGE_LEASE_S": str(LEASE_S),
        "STYLEFORGE_REAP_INTERVAL_S": str(REAP_S),
        "PYTHONUNBUFFERED": "1",
        "STYLEFORGE_CACHE": str(tmp_path_factory.getbasetemp() / "sf-cache"),
        "STYLEFORGE_FILE_CACHE": str(workdir / "files"),  # the workers' copies of the files jobs name
    }
    c = Cluster(redis_server, workdir, env)
    for _ in range(2):
        c.start_worker()
    try:
        wait_for(lambda: c.live() == {"fast": 2, "heavy": 2}, 60, "two workers", every=0.3)
    except AssertionError:
        raise AssertionError(f"workers did not start:\n{c.log_text()}") from None
    yield c
    for p in c.workers:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in c.workers:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


class FrontEnd:
    """An API front end (uvicorn in a thread of this process) and an HTTP client for it."""

    def __init__(self, broker: str, **overrides: Any) -> None:
        import uvicorn

        from styleforge.service.config import ServiceConfig
        from styleforge.service.http import ApiAuth, create_server

        self.config = ServiceConfig(broker, lease_s=LEASE_S, reap_interval_s=REAP_S, **overrides)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_server(self.config, ApiAuth(KEYS))
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, 10, "the front end")

    def client(self, user: str | None = "alice") -> Any:
        key = {v: k for k, v in KEYS.items()}.get(user or "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def front_ends(redis_server: Redis) -> Iterator[Callable[..., FrontEnd]]:
    made: list[FrontEnd] = []

    def make(broker: str | None = None, **overrides: Any) -> FrontEnd:
        fe = FrontEnd(broker or redis_server.url, **overrides)
        made.append(fe)
        return fe

    yield make
    for fe in made:
        fe.stop()


def submit(c: Any, mode: str, options: str = "{}", **files: bytes) -> Any:
    return c.post(
        "/v1/jobs",
        data={"mode": mode, "options": options},
        files={k: (f"{k}.png", v, "image/png") for k, v in files.items()},
    )


def wait_job(
    c: Any, job_id: str, timeout: float = 60, states: tuple[str, ...] = ("done", "failed", "cancelled")
) -> Any:
    def finished() -> Any:
        j = c.get(f"/v1/jobs/{job_id}").json()
        return j if j["state"] in states else None

    return wait_for(finished, timeout, f"job {job_id} to reach {states}", every=0.1)
