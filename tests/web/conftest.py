"""A live styleforge page on 127.0.0.1 for the HTTP and browser tests, and a raw HTTP client.

The server is started once per session in this process (Gradio runs uvicorn in
a thread).  :class:`GradioHTTP` speaks Gradio's queue protocol directly
(``/gradio_api/upload``, ``/gradio_api/queue/join``, ``/gradio_api/queue/data``)
so the tests see every message: queue estimations with positions, progress,
streamed previews and the final result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

# Before Gradio / huggingface_hub are imported anywhere in this process.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


try:
    import httpx
except ImportError:  # pragma: no cover - the dev extra brings gradio, which brings httpx
    httpx = None  # type: ignore[assignment]


def need_gradio() -> None:
    """The dev extra installs Gradio: its absence is a broken test environment, not a reason to skip."""
    try:
        import gradio  # noqa: F401
    except ImportError:
        pytest.fail("the web tests need Gradio: pip install -e '.[dev]' (or run `make test`)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Warm(torch.nn.Module):
    """A stand-in makeup model: [-1, 1] → [-1, 1], redder."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([(x[:, :1] + 0.5).clamp(-1, 1), x[:, 1:]], 1)


@pytest.fixture(scope="session")
def web_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``--models`` folder: a tiny pix2pix (translate) and a makeup stand-in, plus a secret beside it."""
    from styleforge.engine import export_safetensors
    from styleforge.gan.pix2pix import Pix2Pix, Pix2PixConfig

    base = tmp_path_factory.mktemp("web")
    root = base / "models"
    (root / "tiny").mkdir(parents=True)
    cfg = Pix2PixConfig(netG="unet_32", ngf=4, lambda_gan=0.0, dropout=False)
    model = Pix2Pix(cfg, generator=torch.Generator().manual_seed(1))
    export_safetensors(
        model.networks["G"].state_dict(),
        root / "tiny" / "p2p.safetensors",
        metadata={"kind": "pix2pix", "network": "G", "model_config": dataclasses.asdict(cfg)},
    )
    torch.export.save(torch.export.export(_Warm(), (torch.zeros(1, 3, 256, 256),)), str(root / "warm.pt2"))
    (base / "secret.pt").write_bytes(b"not for the page")
    return root


@pytest.fixture(scope="session")
def instant_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ``--instant-models`` folder: a tiny per-style network and a tiny AdaIN decoder (random weights)."""
    from styleforge.engine import export_safetensors
    from styleforge.nets.adain import Decoder, DecoderConfig
    from styleforge.nets.feedforward import TransformerConfig, TransformerNet

    root = tmp_path_factory.mktemp("instant")
    torch.manual_seed(3)
    tcfg = TransformerConfig(channels=(4, 8, 16), n_residual=1)
    export_safetensors(
        TransformerNet(tcfg).state_dict(),
        root / "tiny.safetensors",
        metadata={"kind": "instant", "model_config": {"net": tcfg.to_dict()}},
    )
    dcfg = DecoderConfig(widths=(16, 8, 4))
    export_safetensors(
        Decoder(dcfg).state_dict(),
        root / "decoder.safetensors",
        metadata={"kind": "adain", "model_config": {"net": dcfg.to_dict()}},
    )
    manifest = {
        "models": {
            "tiny_scream": {"file": "tiny.safetensors", "kind": "instant", "style": "the_scream"},
            "adain": {"file": "decoder.safetensors", "kind": "adain"},
        }
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="session")
def web_settings(web_models: Path, instant_models: Path) -> Any:
    from styleforge.web import Limits, WebSettings

    limits = Limits(
        max_upload_mb=1.0, max_pixels=2_000_000, max_side=512, job_timeout_s=120.0, concurrency=1, max_queue=64
    )
    return WebSettings(
        port=free_port(), models_dir=web_models, limits=limits, instant_models=instant_models, fast_concurrency=2
    )


@contextlib.contextmanager
def serving(settings: Any) -> Iterator[tuple[str, Any]]:
    """``(base_url, demo)`` of a page running with ``settings`` in this process, closed afterwards."""
    need_gradio()
    from styleforge.web import create_app, launch

    demo = create_app(settings)
    _app, url = launch(demo, settings, block=False)
    try:
        yield url.rstrip("/"), demo
    finally:
        demo.close()


@pytest.fixture(scope="session")
def web_server(web_settings: Any) -> Any:
    """``(base_url, demo)`` of a running page."""
    with serving(web_settings) as server:
        yield server


@dataclass
class Served:
    """A page for the browser tests: in this process as it is, or as ``styleforge serve --broker``."""

    url: str
    demo: Any
    settings: Any
    service: Any = None  # the job queue's ServiceConfig (None: the page runs its jobs in-process)

    def __iter__(self) -> Iterator[Any]:  # ``url, demo = served`` as with web_server
        return iter((self.url, self.demo))

    @contextlib.contextmanager
    def jobs_routed(self) -> Iterator[None]:
        """While a test runs: with a broker, the page's jobs go to the queue (``serve --broker`` does it for good)."""
        if self.service is None:
            yield
            return
        from styleforge.web.remote import install

        uninstall = install(self.settings, self.service)
        try:
            yield
        finally:
            uninstall()


@pytest.fixture(scope="session")
def web_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Redis on a free loopback port and two ``styleforge worker`` processes in another working directory
    (tests/service/sfcluster.py: the same cluster as the service tests' in one run)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    import sfcluster

    yield from sfcluster.shared_cluster(tmp_path_factory)


@contextlib.contextmanager
def serving_broker(settings: Any, broker: str) -> Iterator[Served]:
    """The page as ``styleforge serve --broker URL`` runs it (its jobs on the workers, the API at /v1), here."""
    need_gradio()
    from styleforge.cli.serve import _service_config, attach_api
    from styleforge.web import create_app, launch

    s = dataclasses.replace(settings, port=free_port(), broker=broker)
    service = _service_config(s)
    demo = create_app(s)
    app, url = launch(demo, s, block=False)
    attach_api(app, s, service, {})
    try:
        yield Served(url.rstrip("/"), demo, s, service)
    finally:
        demo.close()


def served_page(request: pytest.FixtureRequest, settings_fixture: str, local_fixture: str) -> Iterator[Served]:
    """``request.param``: "in-process" (the session's page of ``local_fixture``) or "broker" (a page on the queue)."""
    settings = request.getfixturevalue(settings_fixture)
    if request.param == "broker":
        import redis

        cluster = request.getfixturevalue("web_cluster")
        r = redis.Redis.from_url(cluster.redis.url)
        before = set(r.scan_iter(match="sf:job:*"))
        # the cluster is shared with tests/service, whose API clients have the same names (carol's three heavy
        # starts this hour are in Redis, as they should be): this page's per-client limits start afresh
        for pattern in ("sf:active:*", "sf:heavy:*"):
            for key in r.scan_iter(match=pattern):
                r.delete(key)
        with serving_broker(settings, cluster.redis.url) as served:
            yield served
        new = [k for k in set(r.scan_iter(match="sf:job:*")) - before if r.hget(k, "mode") == b"page"]
        assert new, "the page on the broker sent no job to the queue"
    else:
        url, demo = request.getfixturevalue(local_fixture)
        yield Served(url, demo, settings)


#: Accounts of the login-protected test server (``auth_server``).
USERS = {"ann": "apple-pie", "bob": "blue-sky", "carol": "cold-tea"}


@pytest.fixture(scope="session")
def auth_settings(web_settings: Any) -> Any:
    """The test page with a login, 127.0.0.1 as a trusted proxy and small per-client caps."""
    from styleforge.web.auth import Accounts

    return dataclasses.replace(
        web_settings,
        port=free_port(),
        accounts=Accounts.from_options([f"{u}:{p}" for u, p in USERS.items()]),
        trusted_proxies=("127.0.0.1",),
        max_jobs_per_client=1,
        max_heavy_per_hour=2,
        login_delay_s=0.2,
    )


@pytest.fixture(scope="session")
def auth_server(auth_settings: Any) -> Any:
    """``(base_url, demo)`` of a running page that needs a login."""
    with serving(auth_settings) as server:
        yield server


@dataclass
class CallResult:
    success: bool
    output: list[Any] | None
    error: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ranks(self) -> list[int]:
        return [m["rank"] for m in self.messages if m.get("msg") == "estimation" and m.get("rank") is not None]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("msg") == kind]


class GradioHTTP:
    """Gradio's HTTP queue protocol, by hand (what any client in any language would send)."""

    def __init__(self, base: str, auth: tuple[str, str] | None = None, headers: dict[str, str] | None = None) -> None:
        """``auth``: log in first (Gradio's login cookie then rides on every request); ``headers``: sent always."""
        self.base = base
        self.http = httpx.Client(timeout=httpx.Timeout(30.0, read=300.0), headers=headers)
        if auth is not None:
            r = self.http.post(f"{base}/login", data={"username": auth[0], "password": auth[1]})
            assert r.status_code == 200, (r.status_code, r.text)
        cfg = self.http.get(f"{base}/config").json()
        self.fn = {d["api_name"]: d["id"] for d in cfg["dependencies"] if d.get("api_name")}

    def upload(self, data: bytes | Path, name: str) -> dict[str, Any]:
        """POST a file; returns the FileData to pass as an input."""
        blob = data.read_bytes() if isinstance(data, Path) else data
        r = self.http.post(f"{self.base}/gradio_api/upload", files=[("files", (name, blob))])
        r.raise_for_status()
        return {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def upload_image(self, img: Image.Image, name: str = "photo.png") -> dict[str, Any]:
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return self.upload(buf.getvalue(), name)

    def call(self, api_name: str, data: list[Any], *, timeout: float = 240.0, on_message: Any = None) -> CallResult:
        """Join the queue and follow the event stream to its end.

        ``on_message(msg, body)`` sees every message as it arrives (``body``
        holds ``session_hash``, ``fn_index`` and ``event_id``).
        """
        t0 = time.monotonic()
        session = uuid.uuid4().hex
        body = {
            "data": data,
            "fn_index": self.fn[api_name],
            "session_hash": session,
            "event_data": None,
            "trigger_id": None,
        }
        r = self.http.post(f"{self.base}/gradio_api/queue/join", json=body)
        if r.status_code != 200:
            detail = (
                r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") else None
            )
            return CallResult(False, None, f"HTTP {r.status_code}: {detail or r.text}", seconds=time.monotonic() - t0)
        event_id = r.json()["event_id"]
        body["event_id"] = event_id
        messages: list[dict[str, Any]] = []
        with self.http.stream(
            "GET", f"{self.base}/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout
        ) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                messages.append(msg)
                if on_message is not None:
                    on_message(msg, body)
                if msg.get("msg") == "process_completed" and msg.get("event_id") == event_id:
                    out = msg.get("output") or {}
                    ok = bool(msg.get("success"))
                    err = None if ok else (out.get("error") or json.dumps(out))
                    return CallResult(ok, out.get("data"), err, messages, time.monotonic() - t0)
                if msg.get("msg") == "close_stream" or time.monotonic() - t0 > timeout:
                    break
        return CallResult(False, None, "stream ended without a result", messages, time.monotonic() - t0)

    def image(self, filedata: dict[str, Any]) -> Image.Image:
        r = self.http.get(filedata["url"])
        r.raise_for_status()
        img = Image.open(io.BytesIO(r.content))
        img.load()
        return img


@pytest.fixture(scope="session")
def api(web_server: Any) -> GradioHTTP:
    return GradioHTTP(web_server[0])


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The page (``url, demo``), in-process or on the queue: parametrised by the test module
    (``"in-process"`` / ``"broker"``, indirect)."""
    yield from served_page(request, "web_settings", "web_server")


@pytest.fixture(scope="module")
def auth_served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The page with a login, in-process or on the queue (parametrised like :func:`served`)."""
    yield from served_page(request, "auth_settings", "auth_server")
