"""Per-client limits: the counting rules, and over HTTP on 127.0.0.1 the caps holding for one client
while a second one is still served (by login, and by address behind a trusted proxy)."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from styleforge.web.quota import FAST, HEAVY, ClientQuota, job_class, queue_options

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


def test_job_classes_are_named_once():
    from styleforge.web import WebSettings

    s = WebSettings()
    assert queue_options(HEAVY, s) == {"concurrency_limit": s.limits.concurrency, "concurrency_id": HEAVY}
    assert queue_options(FAST, s) == {"concurrency_limit": s.fast_concurrency, "concurrency_id": FAST}
    with pytest.raises(ValueError):
        queue_options("video", s)
    assert job_class(FAST) == FAST and job_class(HEAVY) == HEAVY
    assert job_class("17") == HEAVY and job_class(None) == HEAVY  # an unnamed event counts as heavy


def test_quota_counts_jobs_and_heavy_starts_per_hour():
    now = [0.0]
    q = ClientQuota(max_jobs=2, max_heavy_per_hour=3, clock=lambda: now[0])
    assert q.refusal("a", FAST, queued=1) is None
    assert "2 jobs waiting or running" in q.refusal("a", FAST, queued=2)
    for _ in range(3):
        assert q.refusal("a", HEAVY, queued=0) is None
        q.admitted("a", HEAVY)
        now[0] += 600
    msg = q.refusal("a", HEAVY, queued=0)
    assert "3 optimisation jobs in the last hour" in msg and "in 30 min" in msg
    assert q.refusal("a", FAST, queued=0) is None  # fast jobs are not counted per hour
    assert q.refusal("b", HEAVY, queued=0) is None  # per client
    now[0] += 1800  # the first start is now an hour old
    assert q.refusal("a", HEAVY, queued=0) is None
    assert not ClientQuota().active and ClientQuota().refusal("a", HEAVY, 99) is None


def _wait_idle(demo, timeout=20.0):
    """Until Gradio's queue has no job waiting or running (a cancelled job takes a moment to end)."""
    q = demo._queue
    t0 = time.monotonic()
    while any(job for job in q.active_jobs) or any(e.queue for e in q.event_queue_per_concurrency_id.values()):
        assert time.monotonic() - t0 < timeout, "the queue did not drain"
        time.sleep(0.1)


def _cap_holds_while_another_client_is_served(a, b, demo):
    """``a`` runs a long Artistic job; its next job is refused (429, friendly) while ``b`` is served."""
    from test_web_http import _photo, artistic_data

    photo = a.upload_image(_photo(128, 96), "long.png")
    running = threading.Event()
    box = {}

    def on_message(msg, body):
        if msg.get("msg") in ("progress", "process_generating"):
            box["body"] = body
            running.set()

    th = threading.Thread(
        target=lambda: box.setdefault(
            "res", a.call("artistic", artistic_data(photo, size=128, steps=500), on_message=on_message)
        )
    )
    th.start()
    try:
        assert running.wait(120), "the long job did not start"
        small = [a.upload_image(_photo(40, 30), "s.png"), "tiny_scream", None, 1.0, False]
        refused = a.call("instant", small)
        assert not refused.success and refused.error.startswith("HTTP 429: you already have 1 job waiting or running")
        served = b.call("instant", [b.upload_image(_photo(40, 30), "t.png"), "tiny_scream", None, 1.0, False])
        assert served.success, served.error
        assert th.is_alive(), "the first client's job ended before the second client was served"
    finally:
        if "body" in box:
            a.http.post(
                f"{a.base}/gradio_api/cancel",
                json={k: box["body"][k] for k in ("session_hash", "fn_index", "event_id")},
            )
        th.join(60)
    _wait_idle(demo)
    assert a.call("instant", small).success  # the slot is free again


def test_caps_per_login_while_another_user_is_served(auth_server):
    from conftest import USERS, GradioHTTP
    from test_web_http import _photo, artistic_data

    url, demo = auth_server
    ann, bob = GradioHTTP(url, auth=("ann", USERS["ann"])), GradioHTTP(url, auth=("bob", USERS["bob"]))
    _cap_holds_while_another_client_is_served(ann, bob, demo)
    # the cancelled job counted as ann's first optimisation this hour (cap 2): one more, then refused
    ok = ann.call("artistic", artistic_data(ann.upload_image(_photo(48, 32)), size=64, steps=2))
    assert ok.success, ok.error
    _wait_idle(demo)
    res = ann.call("artistic", artistic_data(ann.upload_image(_photo(48, 32)), size=64, steps=2))
    assert not res.success and "2 optimisation jobs in the last hour" in res.error
    # a second login of the same user is the same client
    again = GradioHTTP(url, auth=("ann", USERS["ann"]))
    assert "in the last hour" in again.call("artistic", artistic_data(again.upload_image(_photo(48, 32)))).error
    # bob's hour is his own
    ok = bob.call("artistic", artistic_data(bob.upload_image(_photo(48, 32)), size=64, steps=2))
    assert ok.success, ok.error


def test_without_login_the_client_is_its_address_via_the_trusted_proxy(web_settings):
    from conftest import GradioHTTP, free_port, serving

    settings = dataclasses.replace(
        web_settings, port=free_port(), trusted_proxies=("127.0.0.1",), max_jobs_per_client=1
    )
    with serving(settings) as (url, demo):
        a = GradioHTTP(url, headers={"X-Forwarded-For": "203.0.113.5"})
        b = GradioHTTP(url, headers={"X-Forwarded-For": "203.0.113.6"})
        _cap_holds_while_another_client_is_served(a, b, demo)
