"""Upload guards and checkpoint-name resolution of the web page (no server, no Gradio)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styleforge.errors import InputError
from styleforge.web.limits import (
    JobTimeout,
    Limits,
    list_checkpoints,
    open_upload,
    resolve_checkpoint,
    run_with_deadline,
)


def _png(path: Path, w: int, h: int, mode: str = "RGB") -> Path:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (h, w, 4 if mode == "RGBA" else 3), dtype=np.uint8)
    Image.fromarray(arr, mode).save(path)
    return path


def test_open_upload_reads_a_real_image(tmp_path):
    img = open_upload(_png(tmp_path / "a.png", 40, 30, "RGBA"), Limits())
    assert img.mode == "RGB" and img.size == (40, 30)


def test_text_file_renamed_jpg_is_a_friendly_error(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not a picture\n" * 10)
    with pytest.raises(InputError) as e:
        open_upload(p, Limits(), what="photo")
    msg = str(e.value)
    assert "'notes.jpg' is not an image" in msg
    assert str(tmp_path) not in msg  # no server path in what the user sees


def test_truncated_image_is_refused(tmp_path):
    good = _png(tmp_path / "good.png", 64, 64)
    bad = tmp_path / "cut.png"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="cut.png") as e:
        open_upload(bad, Limits())
    assert str(tmp_path) not in str(e.value)


def test_upload_byte_limit(tmp_path):
    p = _png(tmp_path / "big.png", 200, 200)  # ~120 kB of noise
    limits = Limits(max_upload_mb=0.05)
    with pytest.raises(InputError, match=r"too large \(0\.\d MB; the limit is 0\.05 MB\)"):
        open_upload(p, limits)
    assert open_upload(p, Limits(max_upload_mb=1)).size == (200, 200)


def test_pixel_limit_is_checked_before_decoding(tmp_path, monkeypatch):
    p = tmp_path / "wide.png"
    Image.new("RGB", (3000, 2000), (10, 20, 30)).save(p)  # tiny file, 6 MP
    import styleforge.web.limits as limits_mod

    def no_decode(*a, **k):  # the header check must refuse it before any decoding
        raise AssertionError("decoded an over-limit image")

    monkeypatch.setattr(limits_mod, "load_image", no_decode)
    with pytest.raises(InputError, match=r"3000×2000 = 6 MP; the limit is 1 MP"):
        open_upload(p, Limits(max_pixels=1_000_000))


def test_missing_and_empty_uploads(tmp_path):
    with pytest.raises(InputError, match="please upload a photo"):
        open_upload(None, Limits())
    with pytest.raises(InputError, match="gone"):
        open_upload(tmp_path / "nope.png", Limits())
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_upload(tmp_path / "empty.jpg", Limits())
    with pytest.raises(InputError, match="not a file"):
        open_upload(tmp_path, Limits())


@pytest.fixture()
def models(tmp_path) -> Path:
    root = tmp_path / "models"
    (root / "facades").mkdir(parents=True)
    (root / "facades" / "G.safetensors").write_bytes(b"x")
    (root / "zebra.pt").write_bytes(b"x")
    (root / "notes.txt").write_text("not a model")
    (root / ".hidden.pt").write_bytes(b"x")
    outside = tmp_path / "secret.pt"
    outside.write_bytes(b"secret")
    os.symlink(outside, root / "escape.pt")  # a link leading out of --models
    os.symlink(root / "zebra.pt", root / "alias.pt")  # a link staying inside is fine
    return root


def test_list_checkpoints_only_inside(models):
    assert list_checkpoints(models) == ["alias.pt", "facades/G.safetensors", "zebra.pt"]
    assert list_checkpoints(None) == []
    assert list_checkpoints(models / "missing") == []


def test_resolve_checkpoint_inside_models(models):
    assert resolve_checkpoint(models, "facades/G.safetensors") == (models / "facades" / "G.safetensors").resolve()
    assert resolve_checkpoint(models, "zebra.pt") == (models / "zebra.pt").resolve()


@pytest.mark.parametrize(
    "name",
    [
        "../secret.pt",
        "facades/../../secret.pt",
        "escape.pt",
        "/etc/passwd",
        "~/secret.pt",
        "..\\secret.pt",
        "facades/G.safetensors\x00.pt",
        "notes.txt",
        ".hidden.pt",
        "",
    ],
)
def test_resolve_checkpoint_refuses_traversal(models, name):
    with pytest.raises(InputError):
        resolve_checkpoint(models, name)


def test_resolve_checkpoint_without_models_folder():
    with pytest.raises(InputError, match="--models"):
        resolve_checkpoint(None, "zebra.pt")


def test_unknown_name_suggests(models):
    with pytest.raises(InputError, match="did you mean 'zebra.pt'"):
        resolve_checkpoint(models, "zebra.pth")


def test_run_with_deadline_returns_raises_and_times_out():
    import threading

    assert run_with_deadline(lambda: 41 + 1, 5.0) == 42
    with pytest.raises(InputError, match="bad photo"):
        run_with_deadline(lambda: (_ for _ in ()).throw(InputError("bad photo")), 5.0)
    release = threading.Event()
    with pytest.raises(JobTimeout, match="0.2 s limit"):
        run_with_deadline(lambda: release.wait(10), 0.2)
    release.set()
