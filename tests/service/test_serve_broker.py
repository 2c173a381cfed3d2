"""``styleforge serve --broker``: the page's server also serves the HTTP API, with the page's logins."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sfcluster import KEYS, free_port, png, submit, wait_for, wait_job

BOB_KEY = "bob-key-0123456789abcdef"


@pytest.fixture(scope="module")
def served(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("gradio")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "styleforge",
            "serve",
            "--port",
            str(port),
            "--broker",
            cluster.redis.url,
            "--auth",
            "alice:pw-alice",
            "--api-key",
            f"bob:{BOB_KEY}",
            "--max-jobs-per-client",
            "1",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            assert proc.poll() is None, log.read_text()
            return False

    try:
        wait_for(up, 120, "styleforge serve", every=0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def test_api_in_the_page_server_with_its_logins(served: str, front_ends: Any) -> None:
    with httpx.Client(base_url=served, timeout=30) as anon:
        assert anon.get("/healthz").json() == {"status": "ok"}
        ready = anon.get("/readyz").json()
        assert ready["status"] == "ready" and ready["workers"]["fast"] >= 1
        r = anon.get("/v1/jobs")
        assert r.status_code == 401 and "API key" in r.json()["error"]
        assert anon.get("/config").status_code == 401  # the page itself still needs the login
        assert anon.get("/v1/openapi.json").json()["info"]["title"] == "styleforge API"
    with httpx.Client(base_url=served, timeout=30, auth=("alice", "pw-alice")) as alice:
        assert httpx.get(f"{served}/v1/jobs", auth=("alice", "wrong")).status_code == 401
        jid = submit(alice, "instant", '{"style": "the_scream"}', content=png()).json()["id"]
        assert wait_job(alice, jid)["state"] == "done"
        assert alice.get(f"/v1/jobs/{jid}/result").headers["content-type"] == "image/png"
        bob = httpx.Client(base_url=served, timeout=30, headers={"Authorization": f"Bearer {BOB_KEY}"})
        assert bob.get(f"/v1/jobs/{jid}").status_code == 403
        # the page's login cookie works on the API too
        with httpx.Client(base_url=served, timeout=30) as browser:
            assert browser.post("/login", data={"username": "alice", "password": "pw-alice"}).status_code < 400
            assert jid in {j["id"] for j in browser.get("/v1/jobs").json()["jobs"]}
        # one job at a time for alice, counted in Redis: a second front end (API key of the same user) refuses
        long = submit(alice, "artistic", '{"style": "starry_night", "size": 64, "iterations": 1000}', content=png())
        assert long.status_code == 202, long.text
        other = front_ends(max_jobs_per_client=1)
        key = {v: k for k, v in KEYS.items()}["alice"]
        with httpx.Client(base_url=other.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as again:
            r = submit(again, "instant", '{"style": "the_scream"}', content=png())
            assert r.status_code == 429 and r.headers["retry-after"], r.text
            assert again.delete(f"/v1/jobs/{long.json()['id']}").status_code == 200
            ok = submit(again, "instant", '{"style": "the_scream"}', content=png())
            assert ok.status_code == 202
            assert wait_job(again, ok.json()["id"])["state"] == "done"  # alice has nothing left running


def test_the_page_queue_counts_the_clients_jobs_on_the_broker(served: str) -> None:
    """--max-jobs-per-client 1: alice's API job on the queue makes the page's Gradio queue refuse her (429)."""
    with (
        httpx.Client(base_url=served, timeout=30) as page,
        httpx.Client(base_url=served, timeout=30, auth=("alice", "pw-alice")) as api,
    ):
        assert page.post("/login", data={"username": "alice", "password": "pw-alice"}).status_code == 200
        deps = page.get("/config").json()["dependencies"]
        heavy = next(d["id"] for d in deps if d.get("api_name") == "artistic")  # the Artistic tab's Run
        body = {"data": [], "fn_index": heavy, "session_hash": "svc-test", "event_data": None, "trigger_id": None}
        long = submit(api, "artistic", '{"style": "starry_night", "size": 64, "iterations": 1000}', content=png())
        assert long.status_code == 202
        r = page.post("/gradio_api/queue/join", json=body)
        assert r.status_code == 429 and "waiting or running" in r.json()["detail"], r.text
        assert api.delete(f"/v1/jobs/{long.json()['id']}").status_code == 200
        assert page.post("/gradio_api/queue/join", json=body).status_code != 429


def test_the_page_runs_its_jobs_on_the_workers(served: str, cluster: Any) -> None:
    """The Instant tab through Gradio's own queue protocol: the picture comes back, computed by a worker."""
    import json

    import redis

    r = redis.Redis.from_url(cluster.redis.url)

    def page_jobs() -> set[bytes]:
        return {k for k in r.scan_iter(match="sf:job:*") if r.hget(k, "mode") == b"page"}

    before = page_jobs()
    with httpx.Client(base_url=served, timeout=60) as page:
        assert page.post("/login", data={"username": "alice", "password": "pw-alice"}).status_code == 200
        fn = next(d["id"] for d in page.get("/config").json()["dependencies"] if d.get("api_name") == "instant")
        up = page.post("/gradio_api/upload", files=[("files", ("photo.png", png((96, 64))))])
        photo = {"path": up.json()[0], "orig_name": "photo.png", "meta": {"_type": "gradio.FileData"}}
        body = {
            "data": [photo, "starry_night", None, 1.0, False],
            "fn_index": fn,
            "session_hash": "svc-page",
            "event_data": None,
            "trigger_id": None,
        }
        assert page.post("/gradio_api/queue/join", json=body).status_code == 200
        final = None
        with page.stream("GET", "/gradio_api/queue/data", params={"session_hash": "svc-page"}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        final = msg
                        break
    assert final is not None and final["success"], final
    status = final["output"]["data"][1]
    assert "Done" in status, status
    new = page_jobs() - before
    assert len(new) == 1 and r.hget(next(iter(new)), "state") == b"done"
