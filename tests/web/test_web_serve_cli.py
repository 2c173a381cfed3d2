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
        (["--host", "0.0.0.0"], "add a login (--auth USER:PASSWORD, or --auth-file FILE"),
        (["--host", "192.168.1.20", "--port", "8080"], "or pass --no-auth deliberately"),
        (["--auth", "ann"], "--auth takes USER:PASSWORD"),
        (["--auth", "ann:x", "--no-auth"], "--no-auth contradicts"),
        (["--auth-file", "/no/such/users.txt"], "does not exist"),
        (["--trusted-proxy", "proxy.lan"], "--trusted-proxy takes an IP address"),
        (["--max-jobs-per-client", "-1"], "must be ≥ 0"),
    ],
)
def test_bad_options_exit_2(argv, message, capsys):
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_host_0000_without_login_exits_2_from_the_shell():
    proc = subprocess.run(
        [sys.executable, "-m", "styleforge.cli.main", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--no-auth" in proc.stderr and "--auth" in proc.stderr


def test_settings_login_and_per_client_defaults(tmp_path):
    from styleforge.cli.main import build_parser
    from styleforge.cli.serve import (
        EXPOSED_MAX_HEAVY,
        EXPOSED_MAX_JOBS,
        settings_from_args,
    )

    def settings(*argv):
        return settings_from_args(build_parser().parse_args(["serve", *argv]))

    plain = settings()  # localhost without a login: nothing changes
    assert plain.accounts is None and plain.max_jobs_per_client == 0 and plain.max_heavy_per_hour == 0
    shared = settings("--host", "0.0.0.0", "--no-auth")
    assert shared.accounts is None and (shared.max_jobs_per_client, shared.max_heavy_per_hour) == (
        EXPOSED_MAX_JOBS,
        EXPOSED_MAX_HEAVY,
    )
    users = tmp_path / "users.txt"
    assert main(["serve", "passwd", str(users), "bob"]) == 0  # reads the password from stdin (not a tty)
    s = settings(
        "--auth", "ann:pw", "--auth-file", str(users), "--trusted-proxy", "127.0.0.1", "--max-heavy-per-hour", "0"
    )
    assert len(s.accounts) == 2 and s.accounts.verify("ann", "pw") and s.accounts.verify("bob", "hunter two")
    assert s.trusted_proxies == ("127.0.0.1/32",)
    assert (s.max_jobs_per_client, s.max_heavy_per_hour) == (EXPOSED_MAX_JOBS, 0)


@pytest.fixture(autouse=True)
def _stdin_password(monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("hunter two\n"))


def test_passwd_writes_hashes_only(tmp_path, capsys):
    users = tmp_path / "users.txt"
    assert main(["serve", "passwd", str(users), "ann"]) == 0
    assert "added ann" in capsys.readouterr().out
    text = users.read_text()
    assert text.startswith("ann:scrypt$") and "hunter two" not in text
    assert main(["serve", "passwd", str(users), "bad:name"]) == 2


def test_instant_models_folder_needs_a_manifest(tmp_path, capsys):
    assert main(["serve", "--instant-models", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_serve_command_serves_the_page(tmp_path, web_models):
    from conftest import free_port, httpx, need_gradio

    need_gradio()
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "styleforge.cli.main",
            "serve",
            "--port",
            str(port),
            "--models",
            str(web_models),
            "--max-upload-mb",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
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
