"""The queue's settings, job classes and request checks (no Redis needed), and the CLI's bad input."""

from __future__ import annotations

from typing import Any

import pytest
from sfcluster import free_port

from styleforge.cli.main import main
from styleforge.errors import InputError
from styleforge.service.config import FAST, HEAVY, ServiceConfig, job_class, redact
from styleforge.service.modes import check


def test_job_classes() -> None:
    assert job_class("instant", {}) == FAST and job_class("photo", {"method": "fast"}) == FAST
    assert job_class("photo", {"method": "dpst"}) == HEAVY and job_class("artistic", {}) == HEAVY
    assert job_class("video", {}) == HEAVY  # a clip: many frames, at the heavy class's priority
    with pytest.raises(InputError, match="unknown mode"):
        job_class("oil", {})


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLEFORGE_LEASE_S", "4")
    monkeypatch.setenv("STYLEFORGE_TTL_S", "120")
    c = ServiceConfig.from_env("redis://:secret@db:6379/1")
    assert (c.lease_s, c.ttl_s, c.broker) == (4.0, 120, "redis://:secret@db:6379/1")
    assert c.redelivery_bound_s == 4.0 + c.reap_interval_s
    assert c.visibility_timeout_s > c.heavy_timeout_s  # a running job is never handed out twice by Celery
    monkeypatch.setenv("STYLEFORGE_LEASE_S", "soon")
    with pytest.raises(InputError, match="STYLEFORGE_LEASE_S"):
        ServiceConfig.from_env("redis://db/0")
    with pytest.raises(InputError, match="redis://"):
        ServiceConfig("http://db:6379")


def test_redact_hides_the_password() -> None:
    assert redact("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert redact("redis://user:pw@h/0") == "redis://user:***@h/0"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"


def test_check_fills_defaults_and_refuses_bad_values() -> None:
    o = check("instant", {"style": "starry_night"}, {"content": b""})
    assert o == {"style": "starry_night", "strength": 1.0, "size": 1024, "original_colors": False, "refine": 0}
    assert check("artistic", {"iterations": 5}, {"content": b"", "style": b""})["iterations"] == 5
    bad: list[tuple[str, dict[str, Any], dict[str, bytes], str]] = [
        ("instant", {"style": "starry_night", "size": "big"}, {"content": b""}, "size must be an integer"),
        ("instant", {"style": "starry_night", "size": True}, {"content": b""}, "size must be an integer"),
        ("instant", {"style": "starry_night", "original_colors": 1}, {"content": b""}, "true or false"),
        ("artistic", {"style": "starry_night", "backbone": "resnet"}, {"content": b""}, "backbone must be one of"),
        ("artistic", {}, {"content": b""}, "needs a style"),
        ("photo", {}, {"content": b"", "style": b"", "reference": b""}, "takes no image named reference"),
        ("makeup", {"action": "transfer"}, {"content": b""}, "needs a reference image"),
    ]
    for mode, options, inputs, message in bad:
        with pytest.raises(InputError, match=message):
            check(mode, options, inputs)


def test_worker_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--broker", "http://x", "--queues", "fast"]) == 2
    assert "must be a redis:// URL" in capsys.readouterr().err
    assert main(["worker", "--broker", "redis://127.0.0.1:1/0", "--queues", "slow"]) == 2
    assert "--queues takes fast, heavy" in capsys.readouterr().err
    assert main(["worker", "--broker", f"redis://:pw@127.0.0.1:{free_port()}/0", "--queues", "fast"]) == 2
    err = capsys.readouterr().err
    assert "not reachable" in err and ":***@" in err and "pw@" not in err and "Traceback" not in err


def test_serve_broker_bad_input_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--api-key", "app:0123456789abcdef0123"]) == 2
    assert "--api-key is for the HTTP API of --broker" in capsys.readouterr().err
    assert main(["serve", "--port", str(free_port()), "--broker", f"redis://127.0.0.1:{free_port()}/0"]) == 2
    assert "not reachable" in capsys.readouterr().err


def test_blends_masks_and_polish_are_checked() -> None:
    o = check("artistic", {"styles": ["starry_night", "@style2"], "weights": [2, 1]}, {"content": b"", "style2": b""})
    assert o["styles"] == ["starry_night", "@style2"] and o["weights"] == [2.0, 1.0]
    assert check("artistic", {"styles": ["starry_night", "the_scream"]}, {"content": b""})["weights"] == [1.0, 1.0]
    for options, inputs, message in [
        ({"styles": ["@style2"]}, {"content": b""}, "no image 'style2'"),
        ({"styles": ["starry_nite"]}, {"content": b""}, "did you mean 'starry_night'"),
        ({"styles": ["starry_night"], "weights": [1, 2]}, {"content": b""}, "one weight"),
        ({"styles": []}, {"content": b""}, "list of 1 to 4"),
        ({"styles": ["starry_night"], "weights": ["a"]}, {"content": b""}, "list of 1 to 4 numbers"),
    ]:
        with pytest.raises(InputError, match=message):
            check("artistic", options, inputs)
    with pytest.raises(InputError, match="both masks"):
        check("photo", {}, {"content": b"", "style": b"", "content_mask": b""})
    assert job_class("instant", {"refine": 10}) == HEAVY and job_class("instant", {"refine": 0}) == FAST
