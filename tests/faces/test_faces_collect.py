import csv
import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from styleforge.cli import main as cli_main
from styleforge.errors import InputError
from styleforge.faces.collect import collect, parse_url_list, target_name


def _png(color):
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), color, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg():
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 8, 3), 50, np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def server():
    hits: dict[str, int] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            hits[self.path] = hits.get(self.path, 0) + 1
            body, status, ctype = b"", 200, "image/png"
            if self.path == "/a.png":
                body = _png(10)
            elif self.path == "/photo.jpg?size=large":
                body, ctype = _jpeg(), "image/jpeg"
            elif self.path == "/flaky.png":
                if hits[self.path] == 1:
                    status, body = 503, b"busy"
                else:
                    body = _png(200)
            elif self.path == "/slow.png":
                time.sleep(1.5)
                body = _png(30)
            elif self.path == "/page.jpg":
                body, ctype = b"<html><body>Please log in</body></html>", "text/html"
            else:
                status, body = 404, b"not found"
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()
    srv.server_close()


def test_collect_downloads_retries_records_failures_and_resumes(server, tmp_path):
    base, hits = server
    urls = tmp_path / "urls.txt"
    urls.write_text(
        f"# faces\n{base}/a.png\nmakeup {base}/photo.jpg?size=large\n\n{base}/flaky.png\n"
        f"{base}/missing.png\n{base}/slow.png\n{base}/page.jpg\n{base}/a.png\n"
    )
    raw = tmp_path / "raw"
    res = collect(urls, raw, workers=4, timeout=0.5, retries=1, backoff=0.01)
    assert len(res.downloaded) == 3 and not res.skipped
    assert (raw / f"{target_name(base + '/a.png')}.png").is_file()
    assert (raw / "makeup" / f"{target_name(base + '/photo.jpg?size=large')}.jpg").is_file()
    assert Image.open(raw / f"{target_name(base + '/flaky.png')}.png").getpixel((0, 0)) == (200, 200, 200)
    failed = dict(res.failed)
    assert failed[f"{base}/missing.png"] == "HTTP 404"
    assert "timed out" in failed[f"{base}/slow.png"]
    assert failed[f"{base}/page.jpg"].startswith("not an image")
    assert hits["/missing.png"] == 1  # a 404 is not retried
    assert hits["/slow.png"] == 2  # a timeout is (retries=1)
    assert hits["/a.png"] == 1  # duplicate lines fetched once
    rows = list(csv.DictReader(open(raw / "failures.csv")))
    assert {r["url"] for r in rows} == set(failed)
    assert not list(raw.rglob("*.tmp*")) and not (raw / "page.jpg").exists()

    # second run: what is there is skipped (not fetched again), failures are retried
    res2 = collect(urls, raw, workers=2, timeout=0.5, retries=0, backoff=0.01)
    assert len(res2.skipped) == 3 and not res2.downloaded and len(res2.failed) == 3
    assert hits["/a.png"] == 1 and hits["/flaky.png"] == 2


def test_collect_cli_and_bad_lists(server, tmp_path, monkeypatch, capsys):
    base, _ = server
    bad = tmp_path / "bad.txt"
    bad.write_text("ftp://example.org/x.png\n")
    with pytest.raises(InputError, match="not an http"):
        parse_url_list(bad)
    bad.write_text("# only comments\n")
    with pytest.raises(InputError, match="no URLs"):
        parse_url_list(bad)
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ("styleforge.cli.faces",))
    good = tmp_path / "u.txt"
    good.write_text(f"no_makeup {base}/a.png\n{base}/nope.png\n")
    rc = cli_main.main(["faces", "collect", str(good), str(tmp_path / "raw"), "--timeout", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "downloaded 1" in out and "failed 1" in out and "HTTP 404" in out
    assert cli_main.main(["faces", "collect", str(tmp_path / "none.txt"), str(tmp_path / "raw")]) == 2
