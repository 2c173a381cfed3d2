from __future__ import annotations

import io as _io

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.errors import InputError
from styleforge.io import (
    atomic_path,
    load_image,
    load_mask,
    pil_to_tensor,
    resize_max_side,
    save_image,
    tensor_to_pil,
)


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


def test_roundtrip_tensor_pil():
    arr = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    t = pil_to_tensor(img)
    assert t.shape == (1, 3, 7, 5) and t.dtype == torch.float32
    assert np.array_equal(np.asarray(tensor_to_pil(t)), arr)


def test_cmyk_grayscale_16bit_rgba_palette(tmp_path):
    cmyk = _save(Image.new("CMYK", (8, 6), (0, 255, 255, 0)), tmp_path / "c.jpg")
    img = load_image(cmyk)
    assert img.mode == "RGB" and img.getpixel((0, 0))[0] > 200 and img.getpixel((0, 0))[1] < 60
    gray = _save(Image.new("L", (8, 6), 100), tmp_path / "g.png")
    assert load_image(gray).getpixel((1, 1)) == (100, 100, 100)
    arr16 = (np.ones((6, 8)) * 65535 // 2).astype(np.uint16)
    p16 = _save(Image.fromarray(arr16), tmp_path / "h.png")
    v = load_image(p16).getpixel((0, 0))
    assert v[0] == v[1] == v[2] and 120 <= v[0] <= 135
    rgba = Image.new("RGBA", (8, 6), (255, 0, 0, 0))
    p = _save(rgba, tmp_path / "a.png")
    assert load_image(p).getpixel((0, 0)) == (255, 255, 255)  # transparent → white
    pal = _save(Image.new("P", (8, 6), 3), tmp_path / "p.png")
    assert load_image(pal).mode == "RGB"


def test_exif_orientation_respected(tmp_path):
    img = Image.new("RGB", (20, 10), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° CW on display
    p = tmp_path / "r.jpg"
    img.save(p, exif=exif.tobytes())
    assert load_image(p).size == (10, 20)


@pytest.mark.parametrize("content,msg", [(b"hello, not an image", "not an image"), (b"", "not an image")])
def test_not_an_image(tmp_path, content, msg):
    p = tmp_path / "x.jpg"
    p.write_bytes(content)
    with pytest.raises(InputError, match=msg):
        load_image(p)


def test_truncated(tmp_path):
    buf = _io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    p = tmp_path / "t.png"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(InputError, match="unreadable or truncated"):
        load_image(p)


def test_missing_and_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="folder"):
        load_image(tmp_path)


def test_decompression_bomb(tmp_path):
    p = _save(Image.new("L", (300, 300)), tmp_path / "big.png")
    with pytest.raises(InputError, match="too large"):
        load_image(p, max_pixels=200 * 200)


def test_resize_max_side():
    img = Image.new("RGB", (400, 200))
    assert resize_max_side(img, 100).size == (100, 50)


def test_save_image_atomic_and_checks(tmp_path):
    t = torch.rand(1, 3, 8, 8)
    out = save_image(t, tmp_path / "o.png")
    assert Image.open(out).size == (8, 8)
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temp files left
    with pytest.raises(InputError, match="output folder does not exist"):
        save_image(t, tmp_path / "missing" / "o.png")
    with pytest.raises(InputError, match="format"):
        save_image(t, tmp_path / "o.xyz")


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "f.bin"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_load_mask_sizes(tmp_path):
    p = _save(Image.new("L", (20, 10), 255), tmp_path / "m.png")
    m = load_mask(p, (40, 20))
    assert m.shape == (1, 1, 20, 40) and float(m.min()) == 1.0
    with pytest.raises(InputError, match="must have the image's size"):
        load_mask(p, (20, 20))


def test_saved_files_get_the_usual_permissions(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); the result must be readable like a plain open()'s."""
    import stat

    from styleforge.io import _UMASK

    p = save_image(Image.new("RGB", (8, 8)), tmp_path / "out.png")
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~_UMASK
    from styleforge.engine import export_safetensors  # safetensors writes its file 0600 itself

    w = export_safetensors({"x": __import__("torch").zeros(2)}, tmp_path / "w.safetensors", metadata={})
    assert stat.S_IMODE(w.stat().st_mode) == 0o666 & ~_UMASK


def test_the_pixel_limit_is_not_set_through_pillows_global(tmp_path, monkeypatch):
    """Each call checks its own limit; Pillow's process-wide MAX_IMAGE_PIXELS stays as it is.

    Setting the global per call raced between the web page's threads and could leave it lowered,
    so that later uploads of ordinary photos were refused as unreadable.
    """
    path = tmp_path / "p.png"
    Image.new("RGB", (40, 30)).save(path)
    before = Image.MAX_IMAGE_PIXELS
    seen = []
    real_open = Image.open

    def spy(*args, **kwargs):
        seen.append(Image.MAX_IMAGE_PIXELS)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    assert load_image(path, max_pixels=2000).size == (40, 30)
    with pytest.raises(InputError, match="too large"):
        load_image(path, max_pixels=1000)
    assert seen and all(v == before for v in seen)
    assert Image.MAX_IMAGE_PIXELS == before
