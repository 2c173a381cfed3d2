"""styleforge.download: the one atomic, hash-checked download (a local HTTP server, no internet)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from styleforge.download import DownloadError, download, sha256
from styleforge.errors import InputError

BODY = b"styleforge" * 1000


@pytest.fixture
def url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/ok":
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)
            elif self.path == "/short":  # announces more than it sends
                self.send_response(200)
                self.send_header("Content-Length", str(len(BODY) + 10))
                self.end_headers()
                self.wfile.write(BODY)
            elif self.path == "/agent":
                agent = (self.headers.get("User-Agent") or "").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(agent)))
                self.end_headers()
                self.wfile.write(agent)
            else:
                self.send_error(503 if self.path == "/busy" else 404)

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_download_writes_the_file_and_checks_its_digest(url: str, tmp_path: Path) -> None:
    dest = download(url + "/ok", tmp_path / "sub" / "f.bin", sha256=hashlib.sha256(BODY).hexdigest())
    assert dest.read_bytes() == BODY and sha256(dest) == sha256(BODY) == hashlib.sha256(BODY).hexdigest()
    with pytest.raises(DownloadError, match="SHA-256") as e:
        download(url + "/ok", tmp_path / "g.bin", sha256="0" * 64)
    assert not e.value.retry and sorted(p.name for p in tmp_path.iterdir()) == ["sub"]  # nothing kept


def test_failures_are_one_line_input_errors_and_leave_nothing(url: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="stopped after") as e:
        download(url + "/short", tmp_path / "s.bin")
    assert isinstance(e.value, DownloadError) and e.value.retry and "\n" not in str(e.value)
    with pytest.raises(DownloadError, match="HTTP 404") as e:
        download(url + "/missing", tmp_path / "m.bin", what="toy")
    assert e.value.reason == "HTTP 404" and not e.value.retry and "toy" in str(e.value)
    with pytest.raises(DownloadError) as e:
        download(url + "/busy", tmp_path / "b.bin")
    assert e.value.reason == "HTTP 503" and e.value.retry
    with pytest.raises(DownloadError, match="larger than") as e:
        download(url + "/ok", tmp_path / "big.bin", max_bytes=100)
    assert not e.value.retry
    assert list(tmp_path.iterdir()) == []


def test_offline_names_the_hint_and_headers_are_sent(url: str, tmp_path: Path) -> None:
    assert download(url + "/agent", tmp_path / "a", headers={"User-Agent": "sf-test"}).read_bytes() == b"sf-test"
    with pytest.raises(DownloadError, match="no internet access.*put it there by hand") as e:
        download("http://127.0.0.1:9/x", tmp_path / "x", timeout=2, hint="put it there by hand")
    assert e.value.retry and not (tmp_path / "x").exists()
