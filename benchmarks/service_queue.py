"""The job queue measured: fast-job latency idle vs beside heavy jobs, and redelivery after SIGKILL.

Starts ``redis-server`` on a free loopback port, two ``styleforge worker`` processes (fast + heavy
node each, OMP_NUM_THREADS=1, in a temporary working directory) and an API front end, then:

* load: 50 concurrent instant jobs (64 px) through ``POST /v1/jobs``, idle, then again while two
  heavy Gatys jobs run, three times interleaved (pooled); latency = accepted → result stored;
* redelivery: a heavy job's node (main process and pool child) is SIGKILLed mid-job; the time
  until the job starts again on the other worker, and until it is done — with the default lease
  (10 s, reaper every 2 s), and with Celery's own mechanism only (reaper off, visibility timeout
  26 s) for comparison.

    flock /tmp/heavy.lock python benchmarks/service_queue.py     # → benchmarks/results/service_queue.json
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import redis
import uvicorn
from PIL import Image

from receipts import write_results
from styleforge.assets import BUILTIN_CONTENT
from styleforge.service.config import ServiceConfig
from styleforge.service.http import create_server
from styleforge.service.store import JobStore
from styleforge.service.tasks import live_workers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(cond: Any, timeout: float, what: str, every: float = 0.05) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(every)
    raise SystemExit(f"timed out waiting for {what}")


def photo(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    img = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    img = img.crop((seed * 7, 0, img.width - seed * 5, img.height)).resize(size)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class Cluster:
    def __init__(self, broker: str, workdir: Path, env: dict[str, str]) -> None:
        self.broker, self.workdir, self.env = broker, workdir, env
        self.procs: list[subprocess.Popen[bytes]] = []

    def worker(self) -> None:
        log = (self.workdir / f"w{len(self.procs)}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "styleforge", "worker", "--broker", self.broker],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        self.procs.clear()


def submit(c: httpx.Client, mode: str, options: str, seed: int = 0) -> str:
    r = c.post(
        "/v1/jobs", data={"mode": mode, "options": options}, files={"content": ("p.png", photo(seed), "image/png")}
    )
    r.raise_for_status()
    return str(r.json()["id"])


def job(c: httpx.Client, jid: str) -> dict[str, Any]:
    return dict(c.get(f"/v1/jobs/{jid}").json())


def burst(url: str, n: int) -> list[float]:
    ids: list[str] = []

    def one(i: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            ids.append(submit(c, "instant", '{"style": "starry_night"}', i % 5))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with httpx.Client(base_url=url, timeout=60) as c:
        jobs = [
            wait_for(
                lambda i=i: (lambda j: j if j["state"] in ("done", "failed") else None)(job(c, i)),
                300,
                "a fast job",
                0.1,
            )
            for i in ids
        ]
    lost = [j for j in jobs if j["state"] != "done"]
    if lost:
        raise SystemExit(f"{len(lost)} jobs failed: {lost[:2]}")
    return [j["finished"] - j["created"] for j in jobs]


def pct(xs: list[float], q: int) -> float:
    return round(statistics.quantiles(xs, n=100, method="inclusive")[q - 1], 3)


def kill_trial(url: str, broker: str, iterations: int) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=60) as c:
        jid = submit(c, "artistic", f'{{"style": "starry_night", "size": 64, "iterations": {iterations}}}')
        wait_for(lambda: (lambda j: j["state"] == "running" and j["progress"] > 0)(job(c, jid)), 120, "running", 0.1)
        child = int(redis.Redis.from_url(broker).hget(f"sf:job:{jid}", "worker").decode().rsplit(":", 1)[1])
        main = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
        os.kill(main, signal.SIGKILL)
        os.kill(child, signal.SIGKILL)
        killed = time.time()
        again = wait_for(lambda: (lambda j: j if j["runs"] >= 2 else None)(job(c, jid)), 900, "a second run", 0.05)
        done = wait_for(
            lambda: (lambda j: j if j["state"] in ("done", "failed") else None)(job(c, jid)),
            900,
            "the job to finish",
            0.1,
        )
        dup = redis.Redis.from_url(broker).hget(f"sf:job:{jid}", "duplicates")
        return {
            "restarted_after_s": round(again["started"] - killed, 2),
            "done_after_s": round(done["finished"] - killed, 2),
            "runs": done["runs"],
            "state": done["state"],
            "duplicate_results": int(dup or 0),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=50)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="idle/busy burst pairs (pooled)")
    ap.add_argument("--heavy-iterations", type=int, default=300)
    args = ap.parse_args()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="sf-bench-"))
    rs = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp),
        ],
        stdout=subprocess.DEVNULL,
    )
    broker = f"redis://127.0.0.1:{port}/0"
    base_env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}
    figures: dict[str, Any] = {}
    cluster = Cluster(broker, tmp, base_env)
    try:
        wait_for(lambda: _ping(broker), 10, "redis")
        config = ServiceConfig(broker)
        store = JobStore(config)
        fport = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_server(config), host="127.0.0.1", port=fport, log_level="warning", access_log=False)
        )
        threading.Thread(target=server.run, daemon=True).start()
        url = f"http://127.0.0.1:{fport}"
        wait_for(lambda: server.started, 10, "the front end")

        cluster.worker()
        cluster.worker()
        wait_for(lambda: live_workers(store) == {"fast": 2, "heavy": 2}, 120, "workers", 0.3)
        burst(url, 4)  # warm every fast node
        idle: list[float] = []
        busy: list[float] = []
        rounds = []
        overlapped = True
        with httpx.Client(base_url=url, timeout=60) as c:
            for _ in range(args.rounds):  # interleaved: the machine's other load hits both alike
                i = burst(url, args.jobs)
                heavy = [
                    submit(
                        c,
                        "artistic",
                        f'{{"style": "starry_night", "size": 64, "iterations": {args.heavy_iterations}}}',
                        k,
                    )
                    for k in range(2)
                ]
                wait_for(lambda h=heavy: all(job(c, x)["progress"] > 0 for x in h), 120, "heavy jobs", 0.1)
                b = burst(url, args.jobs)
                overlapped = overlapped and all(job(c, h)["state"] == "running" for h in heavy)
                for h in heavy:
                    c.delete(f"/v1/jobs/{h}")
                idle += i
                busy += b
                rounds.append(
                    {
                        "idle_p95_s": pct(i, 95),
                        "with_2_heavy_p95_s": pct(b, 95),
                        "load_average": round(os.getloadavg()[0], 2),
                    }
                )
                print(rounds[-1], flush=True)
        figures["load"] = {
            "jobs": args.jobs,
            "rounds": rounds,
            "image": "64x48",
            "workers": 2,
            "idle": {"p50_s": pct(idle, 50), "p95_s": pct(idle, 95)},
            "with_2_heavy": {"p50_s": pct(busy, 50), "p95_s": pct(busy, 95), "heavy_ran_throughout": overlapped},
            "p95_ratio": round(pct(busy, 95) / pct(idle, 95), 2),
        }
        print(figures["load"], flush=True)

        trials = []
        for _ in range(args.trials):
            trials.append(kill_trial(url, broker, 150))
            print(trials[-1], flush=True)
            cluster.worker()
            wait_for(lambda: live_workers(store)["heavy"] >= 2, 120, "a replacement worker", 0.3)
        figures["redelivery_lease"] = {
            "lease_s": config.lease_s,
            "reap_interval_s": config.reap_interval_s,
            "bound_s": config.redelivery_bound_s,
            "trials": trials,
            "max_restart_s": max(t["restarted_after_s"] for t in trials),
        }

        cluster.stop()
        store.redis.flushdb()
        celery_env = {
            **base_env,
            "STYLEFORGE_REAP_INTERVAL_S": "100000",
            "STYLEFORGE_LEASE_S": "1",
            "STYLEFORGE_FAST_TIMEOUT_S": "10",
            "STYLEFORGE_HEAVY_TIMEOUT_S": "20",
        }
        cluster.env = celery_env
        cluster.worker()
        cluster.worker()
        wait_for(lambda: live_workers(store) == {"fast": 2, "heavy": 2}, 120, "workers", 0.3)
        vt = ServiceConfig(broker, lease_s=1, fast_timeout_s=10, heavy_timeout_s=20).visibility_timeout_s
        t = kill_trial(url, broker, 150)
        print("celery only", t, flush=True)
        figures["redelivery_celery_only"] = {
            "visibility_timeout_s": vt,
            "trial": t,
            "note": "reaper off: kombu restores unacked messages older than the "
            "visibility timeout (checked every 10 s by a live worker)",
        }
        server.should_exit = True
    finally:
        cluster.stop()
        rs.terminate()
        rs.wait()
    write_results("service_queue", figures, threads=1)


def _ping(broker: str) -> bool:
    try:
        return bool(redis.Redis.from_url(broker).ping())
    except redis.ConnectionError:
        return False


if __name__ == "__main__":
    main()
