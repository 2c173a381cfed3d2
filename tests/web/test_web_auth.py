"""Logins: password hashes, the accounts file, client addresses, the failed-login delay, and —
over HTTP on 127.0.0.1 — no page, file or API route answering without a login."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from styleforge.errors import InputError
from styleforge.web.auth import (
    Accounts,
    LoginThrottle,
    client_address,
    hash_password,
    is_loopback,
    parse_networks,
    read_accounts_file,
    set_password,
    verify_password,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*")


# --------------------------------------------------------------------------- hashes and files


def test_scrypt_hash_round_trip():
    h = hash_password("correct horse")
    assert h.startswith("scrypt$16384$8$1$") and "correct horse" not in h
    assert verify_password("correct horse", h)
    assert not verify_password("correct hors", h) and not verify_password("", h)
    assert hash_password("correct horse") != h  # a fresh salt each time


def test_pbkdf2_lines_are_read_and_malformed_hashes_fail_closed():
    salt = b"0123456789abcdef"
    key = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000)
    enc = f"pbkdf2_sha256$1000${base64.urlsafe_b64encode(salt).decode()}${base64.urlsafe_b64encode(key).decode()}"
    assert verify_password("pw", enc) and not verify_password("pw2", enc)
    for bad in ("pw", "plain:pw", "scrypt$3$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$??", "md5$x$y", ""):
        assert not verify_password("pw", bad), bad


def test_set_password_adds_replaces_and_keeps_other_lines(tmp_path):
    f = tmp_path / "users.txt"
    assert set_password(f, "ann", "one") is True
    f.write_text("# who may use the page\n" + f.read_text())
    assert set_password(f, "bob", "two") is True
    assert set_password(f, "ann", "three") is False
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert f.read_text().startswith("# who may use the page\n")
    accounts = read_accounts_file(f)
    assert list(accounts) == ["ann", "bob"]
    assert verify_password("three", accounts["ann"]) and not verify_password("one", accounts["ann"])
    assert verify_password("two", accounts["bob"])


@pytest.mark.parametrize(
    "text, message",
    [
        ("ann:hunter2\n", "line 1: not a password hash"),
        ("# c\nann\n", "line 2: expected user:hash"),
        ("bad user:scrypt$16384$8$1$AAAA$AAAA\n", "bad user name"),
        ("# nobody\n", "has no accounts"),
    ],
)
def test_bad_accounts_files_are_one_line_errors(tmp_path, text, message):
    f = tmp_path / "users.txt"
    f.write_text(text)
    with pytest.raises(InputError, match=message):
        read_accounts_file(f)
    with pytest.raises(InputError, match="does not exist"):
        read_accounts_file(tmp_path / "missing.txt")


def test_duplicate_user_in_file_is_refused(tmp_path):
    f = tmp_path / "users.txt"
    set_password(f, "ann", "a")
    f.write_text(f.read_text() * 2)
    with pytest.raises(InputError, match="appears twice"):
        read_accounts_file(f)


def test_accounts_from_options(tmp_path):
    f = tmp_path / "users.txt"
    set_password(f, "bob", "from-file")
    acc = Accounts.from_options(["ann:pa:ss"], [f])  # the password may contain ':'
    assert len(acc) == 2
    assert acc.verify("ann", "pa:ss") and acc.verify("bob", "from-file")
    assert not acc.verify("ann", "pa") and not acc.verify("nobody", "pa:ss") and not acc.verify("bob", "")
    assert asyncio.run(acc.verify_async("bob", "from-file"))
    for bad, message in ((["ann"], "USER:PASSWORD"), (["ann:"], "USER:PASSWORD"), (["bob:x"], "given twice")):
        with pytest.raises(InputError, match=message):
            Accounts.from_options(bad, [f])


# --------------------------------------------------------------------------- addresses and the delay


def test_client_address_trusts_forwarded_for_only_from_the_proxy():
    proxy = parse_networks(["127.0.0.1"])
    assert client_address("198.51.100.7", "10.0.0.1", proxy) == "198.51.100.7"  # not the proxy: header ignored
    assert client_address("198.51.100.7", "10.0.0.1", ()) == "198.51.100.7"
    assert client_address("127.0.0.1", "203.0.113.9", proxy) == "203.0.113.9"
    # a client that forges the header: the proxy appends what it saw, the rightmost hop wins
    assert client_address("127.0.0.1", "1.2.3.4, 203.0.113.9", proxy) == "203.0.113.9"
    # two trusted proxies in a row
    two = parse_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_address("127.0.0.1", "203.0.113.9, 10.1.2.3", two) == "203.0.113.9"
    assert client_address("127.0.0.1", "not-an-ip", proxy) == "127.0.0.1"
    assert client_address("127.0.0.1", None, proxy) == "127.0.0.1"
    with pytest.raises(InputError, match="--trusted-proxy"):
        parse_networks(["proxy.example"])


@pytest.mark.parametrize(
    "host, loop",
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("127.0.1.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("myhost", False),
    ],
)
def test_is_loopback(host, loop):
    assert is_loopback(host) is loop


def test_throttle_delay_doubles_resets_and_is_forgotten():
    now = [0.0]
    t = LoginThrottle(base_s=0.5, max_s=4.0, forget_s=900, clock=lambda: now[0])
    assert [t.failed("a") for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert t.failed("b") == 0.5  # per address
    t.succeeded("a")
    assert t.failed("a") == 0.5
    now[0] += 901
    assert t.failures("a") == 0 and t.failed("a") == 0.5


# --------------------------------------------------------------------------- over HTTP


def _all_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route of the Gradio app, path parameters filled in."""
    out = []

    def walk(routes):
        for r in routes:
            inner = getattr(getattr(r, "original_router", None), "routes", None) or getattr(r, "routes", None)
            if inner:
                walk(inner)
            elif getattr(r, "path", None):
                for m in sorted(getattr(r, "methods", None) or {"GET"}):
                    out.append((m, re.sub(r"\{[^}]+\}", "x", r.path)))

    walk(app.routes)
    return sorted(set(out))


PUBLIC = {
    "/",
    "/login",
    "/login/",
    "/favicon.ico",
    "/robots.txt",
    "/theme.css",
    "/gradio_api/startup-events",
    "/assets/x",
    "/static/x",
}


def test_no_route_answers_without_a_login(auth_server):
    url, demo = auth_server
    routes = _all_routes(demo.server_app)
    assert len(routes) > 50, routes  # the walk found Gradio's API routes, not only the page
    open_, not_ours = [], []
    with httpx.Client(timeout=5) as http:
        for method, path in routes:
            try:
                r = http.request(method, url + path, json={} if method == "POST" else None)
            except httpx.ReadTimeout:  # e.g. an open event stream
                open_.append((method, path, "answered with a stream"))
                continue
            if r.status_code != 401:
                open_.append((method, path, r.status_code))
            elif method != "HEAD" and "open the page to log in" not in str(r.json().get("detail")):
                not_ours.append((method, path))  # Gradio's own refusal: the guard did not see it
    assert {p for _, p, _ in open_} <= PUBLIC, open_
    assert not not_ours, not_ours
    # the login page itself describes no API (Gradio puts the whole API description in it)
    page = httpx.get(url + "/").text
    assert '"auth_required":true' in page
    assert "artistic" not in page and "named_endpoints" not in page


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../config",
        "/static/%2e%2e/%2e%2e/gradio_api/info",
        "//config",
        "/assets/../gradio_api/file=/etc/passwd",
        "/config?next=/assets/x",
    ],
)
def test_no_way_round_the_guard_through_the_public_prefixes(auth_server, path):
    import socket

    host, port = auth_server[0].removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:  # raw: no client-side path clean-up
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.split(b"\r\n")[0] == b"HTTP/1.1 401 Unauthorized", answer[:300]


def test_login_then_files_and_api_need_the_cookie(auth_server):
    from conftest import USERS, GradioHTTP
    from test_web_http import _photo

    url, _ = auth_server
    with pytest.raises(AssertionError):
        GradioHTTP(url, auth=("ann", "wrong"), headers={"X-Forwarded-For": "203.0.113.50"})
    ann = GradioHTTP(url, auth=("ann", USERS["ann"]))
    up = ann.upload_image(_photo(48, 32), "cat.png")
    res = ann.call("instant", [up, "tiny_scream", None, 1.0, False])
    assert res.success, res.error
    result_url = res.output[0]["url"]
    assert ann.image(res.output[0]).size == (48, 32)
    anonymous = httpx.Client(timeout=10)
    for u in (result_url, f"{url}/gradio_api/file={up['path']}", f"{url}/config", f"{url}/gradio_api/info"):
        assert ann.http.get(u).status_code == 200, u
        assert anonymous.get(u).status_code == 401, u
    body = {"data": [up, "tiny_scream", None, 1.0, False], "fn_index": ann.fn["instant"], "session_hash": "s1"}
    assert anonymous.post(f"{url}/gradio_api/queue/join", json=body).status_code == 401
    assert anonymous.post(f"{url}/gradio_api/call/instant", json={"data": body["data"]}).status_code == 401
    r = anonymous.post(f"{url}/gradio_api/upload", files=[("files", ("a.png", b"x"))])
    assert r.status_code == 401
    # a forged cookie is no login
    forged = httpx.Client(timeout=10, cookies={k: "forged" for k in ann.http.cookies})
    assert forged.get(f"{url}/config").status_code == 401
    # /gradio_api/run/<name> would skip the queue (and every limit): closed even with a login
    assert ann.http.post(f"{url}/gradio_api/run/instant", json={"data": body["data"]}).status_code == 404


def test_failed_logins_wait_longer_each_time_even_in_parallel(auth_server, auth_settings):
    """Lower bounds come from the server's sleeps; the comparisons leave ≥ 3 delays of room for hashing
    time, which varies a lot on a loaded machine."""
    from conftest import USERS

    url, _ = auth_server
    base = auth_settings.login_delay_s
    t0 = time.monotonic()

    def attempt(password, client="203.0.113.77"):
        start = time.monotonic()
        r = httpx.post(
            f"{url}/login",
            data={"username": "bob", "password": password},
            headers={"X-Forwarded-For": client},
            timeout=60,
        )
        return r.status_code, time.monotonic() - start, time.monotonic() - t0

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(attempt, ["guess1", "guess2", "guess3"]))
    assert [s for s, _, _ in results] == [400, 400, 400]
    # answered one after the other, each refusal held back twice as long as the one before
    done = sorted(d for _, _, d in results)
    assert done[2] >= base * (1 + 2 + 4) - 0.05, results
    assert done[1] - done[0] >= 2 * base - 0.05 and done[2] - done[1] >= 4 * base - 0.05, results
    status, fourth, _ = attempt("guess4")
    assert status == 400 and fourth >= 8 * base - 0.05
    # another address waits only the first delay; the right password still works and clears the delay
    status, other, _ = attempt("nope", client="203.0.113.78")
    assert status == 400 and base - 0.05 <= other < fourth - 3 * base
    assert attempt(USERS["bob"])[0] == 200
    status, after_reset, _ = attempt("guess5")
    assert status == 400 and base - 0.05 <= after_reset < fourth - 3 * base
