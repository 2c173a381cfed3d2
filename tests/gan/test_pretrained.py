"""Pretrained models by name: registry, download into the cache (a local HTTP server), hashes."""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from styleforge.download import download
from styleforge.errors import InputError
from styleforge.gan.pretrained import (
    PRETRAINED,
    Pretrained,
    pretrained_path,
    resolve,
)


class _Server:
    """Serves ``files`` on 127.0.0.1; ``truncate`` names are sent with a Content-Length that lies."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.hits: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.lstrip("/")
                outer.hits.append(name)
                body = outer.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if name in outer.truncate else body)

            def log_message(self, *a: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def _weights() -> bytes:
    buf = io.BytesIO()
    torch.save({"model.1.weight": torch.arange(6.0)}, buf)
    return buf.getvalue()


def test_registry_has_the_reference_scripts_names() -> None:
    for n in ("horse2zebra", "zebra2horse", "style_monet", "style_vangogh", "iphone2dslr_flower", "monet2photo"):
        assert PRETRAINED[n].url == f"http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{n}.pth"
    assert PRETRAINED["facades_label2photo_pix2pix"].url.endswith("/pix2pix/models-pytorch/facades_label2photo.pth")
    assert PRETRAINED["horse2zebra_fastcut"].member == "horse2zebra_fastcut_pretrained/latest_net_G.pth"
    assert len(PRETRAINED) == 18 + 5 + 6


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(InputError, match=r"did you mean 'horse2zebra'\?"):
        resolve("hrse2zebra")


def test_download_records_the_hash_then_uses_the_cache_and_checks_it(server: _Server, tmp_path: Path) -> None:
    server.files["toy.pth"] = body = _weights()
    reg = {"toy": Pretrained("toy", "CycleGAN", server.url + "toy.pth", "test")}
    p = pretrained_path("toy", registry=reg, folder=tmp_path, progress=False)
    assert p.read_bytes() == body and server.hits == ["toy.pth"]
    import hashlib

    assert json.loads((tmp_path / "sha256.json").read_text()) == {"toy.pth": hashlib.sha256(body).hexdigest()}
    assert pretrained_path("toy", registry=reg, folder=tmp_path, progress=False) == p
    assert server.hits == ["toy.pth"]  # cached: downloaded once
    p.write_bytes(body + b"x")  # changed on disk
    with pytest.raises(InputError, match="recorded at its first download"):
        pretrained_path("toy", registry=reg, folder=tmp_path, progress=False)


def test_a_redownload_that_differs_from_the_first_is_refused_and_not_kept(server: _Server, tmp_path: Path) -> None:
    server.files["toy.pth"] = _weights()
    reg = {"toy": Pretrained("toy", "CycleGAN", server.url + "toy.pth", "test")}
    p = pretrained_path("toy", registry=reg, folder=tmp_path, progress=False)
    p.unlink()
    server.files["toy.pth"] = b"something else"
    with pytest.raises(InputError, match="SHA-256"):
        pretrained_path("toy", registry=reg, folder=tmp_path, progress=False)
    assert not p.exists()


def test_a_truncated_download_is_one_line_and_leaves_nothing(server: _Server, tmp_path: Path) -> None:
    server.files["toy.pth"] = _weights()
    server.truncate.add("toy.pth")
    reg = {"toy": Pretrained("toy", "CycleGAN", server.url + "toy.pth", "test")}
    with pytest.raises(InputError, match="stopped after") as e:
        pretrained_path("toy", registry=reg, folder=tmp_path, progress=False)
    assert "\n" not in str(e.value)
    assert [f.name for f in tmp_path.iterdir()] == []


def test_http_error_and_offline_are_one_line(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="HTTP 404"):
        download(server.url + "missing.pth", tmp_path / "m.pth")
    server.httpd.shutdown()
    server.httpd.server_close()
    with pytest.raises(InputError, match="offline") as e:
        download(server.url + "x.pth", tmp_path / "x.pth", timeout=5)
    assert "\n" not in str(e.value) and not (tmp_path / "x.pth").exists()


def test_archive_member_is_extracted_once(server: _Server, tmp_path: Path) -> None:
    body = _weights()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("checkpoints/a_cut_pretrained/latest_net_G.pth")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    server.files["models.tar"] = buf.getvalue()
    reg = {
        "a_cut": Pretrained(
            "a_cut", "CUT", server.url + "models.tar", "test", member="a_cut_pretrained/latest_net_G.pth"
        )
    }
    p = pretrained_path("a_cut", registry=reg, folder=tmp_path, progress=False)
    assert p.read_bytes() == body
    assert set(json.loads((tmp_path / "sha256.json").read_text())) == {"models.tar", "a_cut.pth"}
    assert server.hits == ["models.tar"]


def test_translate_pretrained_unknown_name_exits_2_before_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from styleforge.cli.main import main

    Image.new("RGB", (8, 8)).save(tmp_path / "in.png")
    assert main(["translate", "--pretrained", "zebra2hors", str(tmp_path / "in.png"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "did you mean 'zebra2horse'" in err and "\n" not in err and not (tmp_path / "o").exists()


def test_translate_pretrained_end_to_end_from_a_local_server(
    server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--pretrained NAME`` downloads a reference-layout file once and translates with it."""
    from PIL import Image
    from reference_nets import RefResnet, randomise

    import styleforge.gan.pretrained as pre
    from styleforge.cli.main import main

    buf = io.BytesIO()
    torch.save(randomise(RefResnet(3, 3, 4, 6), 9).state_dict(), buf)
    server.files["horse2zebra.pth"] = buf.getvalue()
    monkeypatch.setitem(
        pre.PRETRAINED, "horse2zebra", Pretrained("horse2zebra", "CycleGAN", server.url + "horse2zebra.pth", "test")
    )
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path / "cache"))
    Image.new("RGB", (20, 16), (10, 200, 30)).save(tmp_path / "in.png")
    for out in ("o1", "o2"):
        assert (
            main(["translate", "--pretrained", "horse2zebra", str(tmp_path / "in.png"), "-o", str(tmp_path / out)]) == 0
        )
    assert server.hits == ["horse2zebra.pth"]
    assert (tmp_path / "o1" / "in.png").read_bytes() == (tmp_path / "o2" / "in.png").read_bytes()
    assert (tmp_path / "cache" / "pretrained" / "sha256.json").is_file()
