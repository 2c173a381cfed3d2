"""``styleforge serve``: option checks (exit 2, one line) and the real command serving the page."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from styleforge.cli.main import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--models", "/no/such/folder"], "is not a folder"),
        (["--port", "70000"], "--port must be"),
        (["--timeout", "0"], "--timeout must be positive"),
        (["--max-size", "10"], "--max-size must be at least 64"),
        (["--concurrency", "0"], "must be ≥ 1"),
    ],
)
def test_bad_options_exit_2(argv, message, capsys):
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_instant_models_folder_needs_a_manifest(tmp_path, capsys):
    assert main(["serve", "--instant-models", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_serve_command_serves_the_page(tmp_path, web_models):
    from conftest import free_port, httpx, need_gradio

    need_gradio()
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "styleforge.cli.main", "serve", "--port", str(port),
                             "--models", str(web_models), "--max-upload-mb", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "serve exited"
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the page did not come up in 90 s"
            time.sleep(0.5)
        assert "gradio" in r.text.lower()  # the page itself (its title is set by the script)
        config = httpx.get(f"http://127.0.0.1:{port}/config", timeout=10).json()
        assert {"artistic", "translate", "makeup"} <= {d.get("api_name") for d in config["dependencies"]}
        assert config["max_file_size"] == 2 * 1024 * 1024 and config["title"] == "styleforge"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert f"serving on http://127.0.0.1:{port}" in out
