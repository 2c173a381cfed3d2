"""Logins for the page: password hashes, the accounts file, client addresses and the login guard.

* :func:`hash_password` / :func:`verify_password` — ``scrypt`` from :mod:`hashlib` (n=2**14, r=8,
  p=1, 16-byte salt), stored as ``scrypt$16384$8$1$SALT$KEY`` (URL-safe base64); PBKDF2-SHA256 lines
  (``pbkdf2_sha256$ITERATIONS$SALT$KEY``) are read too.
* :func:`read_accounts_file` / :func:`set_password` — the ``--auth-file``: one ``user:hash`` a
  line (``#`` comments), written by ``styleforge serve passwd FILE USER``.
* :class:`Accounts` — who may log in; :meth:`Accounts.verify_async` is what Gradio's ``/login``
  route calls (``launch(auth=...)``), with the hashing off the event loop.
* :func:`client_address` — the peer address, or the one ``X-Forwarded-For`` names when the peer is
  a trusted proxy (``--trusted-proxy``).
* :class:`LoginGuard` — an ASGI middleware around the whole app: with a login required, every
  route answers 401 without a valid login cookie except the login page's own files.  Gradio's
  ``auth=`` alone protects the page, ``/config``, uploads, files and the queue, but leaves others
  open (``/gradio_api/heartbeat``, ``/cancel``, ``/runs``, ``/stream/*``, ``/openapi.json``, ...); the
  guard is a default deny.  It also slows down ``/login`` after failures
  (:class:`LoginThrottle`: the delay doubles with each failure from the same address).

Nothing here imports Gradio.
"""

from __future__ import annotations

__all__ = [
    "Accounts",
    "LoginGuard",
    "LoginThrottle",
    "client_address",
    "cookie_user_for",
    "hash_password",
    "is_loopback",
    "login_options",
    "parse_networks",
    "read_accounts_file",
    "set_password",
    "verify_password",
]

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import atomic_path

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_USER_RE = re.compile(r"^[^\s:#][^\s:]{0,63}$")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``password`` → ``scrypt$N$r$p$SALT$KEY`` (a fresh random salt unless given)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def _check_hash(encoded: str) -> None:
    """Raise ``ValueError`` unless ``encoded`` is a hash this module can verify."""
    parts = encoded.split("$")
    if parts[0] == "scrypt" and len(parts) == 6:
        n, r, p = (int(x) for x in parts[1:4])
        if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or n * r > 2**22:
            raise ValueError("scrypt parameters out of range")
        _unb64(parts[4]), _unb64(parts[5])
    elif parts[0] == "pbkdf2_sha256" and len(parts) == 4:
        if not 1000 <= int(parts[1]) <= 10_000_000:
            raise ValueError("pbkdf2 iterations out of range")
        _unb64(parts[2]), _unb64(parts[3])
    else:
        raise ValueError("not a scrypt or pbkdf2_sha256 hash")


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (constant-time comparison; False for a malformed hash)."""
    try:
        _check_hash(encoded)
        parts = encoded.split("$")
        if parts[0] == "scrypt":
            n, r, p = (int(x) for x in parts[1:4])
            want = _unb64(parts[5])
            got = hashlib.scrypt(
                password.encode(), salt=_unb64(parts[4]), n=n, r=r, p=p, dklen=len(want), maxmem=256 * n * r * p + 2**20
            )
        else:
            want = _unb64(parts[3])
            got = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(parts[2]), int(parts[1]), len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


def _check_user(user: str, where: str) -> None:
    if not _USER_RE.match(user):
        raise InputError(f"{where}: bad user name {user!r} (1–64 characters, no spaces or ':')")


def read_accounts_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """An ``--auth-file`` → ``{user: hash}``; every problem is one :class:`InputError` naming the line."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"--auth-file {p} does not exist (create it with `styleforge serve passwd {p} USER`)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"--auth-file {p} cannot be read ({e.__class__.__name__})") from None
    accounts: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, encoded = line.partition(":")
        where = f"{p.name} line {i}"
        if not sep:
            raise InputError(f"{where}: expected user:hash")
        _check_user(user, where)
        try:
            _check_hash(encoded)
        except ValueError:
            raise InputError(
                f"{where}: not a password hash (write entries with `styleforge serve passwd {p} {user}`)"
            ) from None
        if user in accounts:
            raise InputError(f"{where}: user {user!r} appears twice")
        accounts[user] = encoded
    if not accounts:
        raise InputError(f"--auth-file {p} has no accounts (add one with `styleforge serve passwd {p} USER`)")
    return accounts


def set_password(path: str | os.PathLike[str], user: str, password: str) -> bool:
    """Add ``user`` to the accounts file (or replace its hash); returns True when it was new.

    The file is rewritten atomically with mode 0600; other lines and comments are kept.
    """
    _check_user(user, "user")
    if not password:
        raise InputError("the password is empty")
    p = Path(path)
    lines = p.read_text(encoding="utf-8").splitlines() if p.exists() else []
    entry = f"{user}:{hash_password(password)}"
    new = True
    for i, line in enumerate(lines):
        if line.strip().partition(":")[0] == user and not line.lstrip().startswith("#"):
            lines[i], new = entry, False
    if new:
        lines.append(entry)
    with atomic_path(p) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(p, 0o600)
    return new


@dataclass(frozen=True)
class Accounts:
    """User name → password hash.  Build with :meth:`from_options`."""

    hashes: Mapping[str, str]
    _dummy: str = field(default_factory=lambda: hash_password(secrets.token_hex(8)), repr=False)

    @classmethod
    def from_options(cls, pairs: Iterable[str] = (), files: Iterable[str | os.PathLike[str]] = ()) -> Accounts:
        """``--auth USER:PASSWORD`` values (hashed here, kept only as hashes) and ``--auth-file`` files."""
        hashes: dict[str, str] = {}
        for f in files:
            for user, h in read_accounts_file(f).items():
                if user in hashes:
                    raise InputError(f"user {user!r} is given twice")
                hashes[user] = h
        for pair in pairs:
            user, sep, password = pair.partition(":")
            if not sep or not password:
                raise InputError("--auth takes USER:PASSWORD (a non-empty password after the colon)")
            _check_user(user, "--auth")
            if user in hashes:
                raise InputError(f"user {user!r} is given twice")
            hashes[user] = hash_password(password)
        if not hashes:
            raise InputError("no accounts given")
        return cls(hashes)

    def __len__(self) -> int:
        return len(self.hashes)

    def verify(self, user: str, password: str) -> bool:
        """Whether the login is right; an unknown user costs the same hashing time as a known one."""
        encoded = self.hashes.get(user)
        ok = verify_password(password, encoded if encoded is not None else self._dummy)
        return ok and encoded is not None

    async def verify_async(self, user: str, password: str) -> bool:
        """:meth:`verify` in a worker thread (Gradio's ``/login`` awaits it; the event loop keeps serving)."""
        return await asyncio.to_thread(self.verify, user, password)


# --------------------------------------------------------------------------- addresses


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the page on this machine (``localhost``, 127.x, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_networks(values: Iterable[str], option: str = "--trusted-proxy") -> tuple[Network, ...]:
    """``ADDR`` or ``ADDR/PREFIX`` values → networks (one :class:`InputError` for a bad one)."""
    out = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(v.strip(), strict=False))
        except ValueError:
            raise InputError(
                f"{option} takes an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8), got {v!r}"
            ) from None
    return tuple(out)


def _in(addr: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: ``peer``, or — when ``peer`` is a trusted proxy — the rightmost
    ``X-Forwarded-For`` hop that is not itself a trusted proxy (what the proxy saw)."""
    peer = peer or "unknown"
    if not forwarded_for or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage the proxy passed on: count it as the proxy itself
    return hops[0] if hops else peer


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]
    return ", ".join(values) if values else None


def scope_client(scope: Mapping[str, Any], trusted: Sequence[Network]) -> str:
    """:func:`client_address` of an ASGI request scope."""
    peer = (scope.get("client") or (None,))[0]
    return client_address(peer, _header(scope, b"x-forwarded-for"), trusted)


# --------------------------------------------------------------------------- login throttle


class LoginThrottle:
    """A delay that doubles with each failed login from one address: ``base_s``, 2·``base_s``, …,
    at most ``max_s``; a success (or ``forget_s`` without failures) clears it.

    Attempts from one address are taken one at a time, so parallel guesses queue behind the delay.
    """

    def __init__(
        self,
        base_s: float = 0.5,
        max_s: float = 30.0,
        forget_s: float = 900.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_s, self.max_s, self.forget_s, self.max_clients = base_s, max_s, forget_s, max_clients
        self.clock = clock
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._locks: dict[str, list[Any]] = {}  # client → [lock, users]

    def failures(self, client: str) -> int:
        n, last = self._failures.get(client, (0, 0.0))
        return n if self.clock() - last < self.forget_s else 0

    def delay(self, failures: int) -> float:
        """Seconds a refusal waits after the ``failures``-th failure in a row."""
        return 0.0 if failures <= 0 else min(self.base_s * 2 ** (failures - 1), self.max_s)

    def failed(self, client: str) -> float:
        """Record a failure; returns the delay before the refusal is sent."""
        n = self.failures(client) + 1
        self._failures[client] = (n, self.clock())
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)
        return self.delay(n)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)

    async def attempt(self, client: str, run: Callable[[], Awaitable[bool]]) -> bool:
        """``run()`` (the login) in turn for ``client``; after a failure, wait the delay before returning."""
        entry = self._locks.setdefault(client, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                ok = await run()
                if ok:
                    self.succeeded(client)
                else:
                    await asyncio.sleep(self.failed(client))
                return ok
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(client, None)


# --------------------------------------------------------------------------- the guard

#: Paths the login page itself needs (exact), and prefixes of its static files.
#: (What Chromium fetches for the login page; ``startup-events`` is Gradio's own start-up call.)
PUBLIC_PATHS = frozenset(
    {"/", "/login", "/login/", "/favicon.ico", "/robots.txt", "/theme.css", "/gradio_api/startup-events"}
)
PUBLIC_PREFIXES = ("/assets/", "/static/")
LOGIN_PATHS = frozenset({"/login", "/login/"})
#: The job API (``serve --broker``) and the health probes: they answer for themselves (API keys, HTTP Basic
#: with these logins, or the login cookie; 401 in JSON), so the guard lets them through.
API_PATHS = frozenset({"/v1", "/healthz", "/readyz"})
API_PREFIXES = ("/v1/",)
NOT_LOGGED_IN = "Not logged in: open the page to log in, or POST /login with username and password first"


def _cookies(scope: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for chunk in (_header(scope, b"cookie") or "").replace(",", ";").split(";"):
        k, sep, v = chunk.strip().partition("=")
        if sep:
            out.setdefault(k, v)
    return out


def cookie_user_for(app: Any) -> Callable[[Mapping[str, Any]], str | None]:
    """:func:`logged_in_user` against Gradio's ``app`` (for routes mounted inside it: their scope names their app)."""
    return lambda scope: logged_in_user({**scope, "app": app})


def logged_in_user(scope: Mapping[str, Any]) -> str | None:
    """The user of the request's Gradio login cookie, or None (``scope["app"]`` is Gradio's App)."""
    app = scope.get("app")
    tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
    if not tokens or not cookie_id:
        return None
    cookies = _cookies(scope)
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        user = tokens.get(cookies.get(name, ""))
        if user is not None:
            return user
    return None


_API_INFO = re.compile(rb"<script>window\.gradio_api_info = .*?;</script>", re.DOTALL)


def _without_api_info(send: Any) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """``send`` for the login page: Gradio puts the whole API description in it, even before a login."""
    start: list[dict[str, Any]] = []
    body: list[bytes] = []

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.append(message)
            return
        if message["type"] != "http.response.body" or not start:
            return await send(message)
        body.append(message.get("body", b""))
        if message.get("more_body"):
            return
        data = _API_INFO.sub(b"<script>window.gradio_api_info = null;</script>", b"".join(body))
        headers = [(k, v) for k, v in start[0].get("headers", []) if k.lower() != b"content-length"]
        await send({**start[0], "headers": [*headers, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    return wrapped


class LoginGuard:
    """ASGI middleware: no route but the login page's without a login; failed logins slow down.

    Args:
        app: the ASGI app inside (Starlette passes it).
        trusted: proxies whose ``X-Forwarded-For`` names the client (``--trusted-proxy``).
        throttle: the failed-login delay.
    """

    def __init__(self, app: Any, *, trusted: Sequence[Network] = (), throttle: LoginThrottle | None = None) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self.throttle = throttle or LoginThrottle()

    @staticmethod
    def _path(scope: Mapping[str, Any]) -> str:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        return path[len(root) :] or "/" if root and path.startswith(root) else path

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = self._path(scope)
        if scope["type"] == "http" and path in LOGIN_PATHS and scope.get("method") == "POST":
            return await self._login(scope, receive, send)
        if logged_in_user(scope) is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and (path in API_PATHS or path.startswith(API_PREFIXES)):
            return await self.app(scope, receive, send)
        if scope["type"] == "http" and path == "/":
            return await self.app(scope, receive, _without_api_info(send))
        if scope["type"] == "http" and (
            path in PUBLIC_PATHS or (path.startswith(PUBLIC_PREFIXES) and ".." not in path.split("/"))
        ):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        body = json.dumps({"detail": NOT_LOGGED_IN}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _login(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Run Gradio's /login, hold its answer back by the throttle's delay when it refused."""
        held: list[dict[str, Any]] = []

        async def hold(message: dict[str, Any]) -> None:
            held.append(message)

        async def run() -> bool:
            await self.app(scope, receive, hold)
            status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
            return 200 <= status < 400

        await self.throttle.attempt(scope_client(scope, self.trusted), run)
        for m in held:
            await send(m)


LOGIN_MESSAGE = "styleforge: log in with the user name and password you were given."


def login_options(settings: Any) -> dict[str, Any]:
    """``Blocks.launch()`` arguments for ``settings.accounts`` (none without a login).

    Gradio's ``auth=`` gives the login page, ``/login`` and the cookie; the :class:`LoginGuard`
    middleware then refuses every other route without that cookie.
    """
    if settings.accounts is None:
        return {}
    from starlette.middleware import Middleware

    guard = Middleware(
        LoginGuard,
        trusted=parse_networks(settings.trusted_proxies),
        throttle=LoginThrottle(base_s=settings.login_delay_s),
    )
    return {
        "auth": settings.accounts.verify_async,
        "auth_message": LOGIN_MESSAGE,
        "app_kwargs": {"middleware": [guard]},
    }
