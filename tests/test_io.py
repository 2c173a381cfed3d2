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


# --------------------------------------------------------------------------- colour profiles
def _icc(rgb_xyz: list[tuple[float, float, float]], gamma: float, name: str) -> bytes:
    """A matrix/TRC display profile (ICC v2): primaries as D50 XYZ (rXYZ, gXYZ, bXYZ), one gamma."""
    import struct

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(s15(c) for c in v)

    curv = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"
    desc = name.encode() + b"\0"
    tags = {
        b"desc": b"desc\0\0\0\0" + struct.pack(">I", len(desc)) + desc + bytes(4 + 4 + 2 + 1 + 67),
        b"wtpt": xyz((0.9642, 1.0, 0.8249)),
        b"rXYZ": xyz(rgb_xyz[0]),
        b"gXYZ": xyz(rgb_xyz[1]),
        b"bXYZ": xyz(rgb_xyz[2]),
        b"rTRC": curv,
        b"gTRC": curv,
        b"bTRC": curv,
        b"cprt": b"text\0\0\0\0no copyright\0",
    }
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags.items():
        body += bytes(-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + bytes(12) + b"acsp"
        + bytes(24) + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249) + bytes(48)
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + table + data


#: sRGB's primaries adapted to D50 (its own ICC profile's rXYZ, gXYZ, bXYZ).
SRGB_D50 = [(0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)]
#: Display P3's (Apple's profile).
P3_D50 = [(0.5151, 0.2412, -0.0011), (0.2920, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841)]


def _srgb_encode(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055) * 255


def test_a_linear_profile_is_shown_as_viewers_show_it(tmp_path):
    """Values in a gamma-1.0 profile with sRGB's primaries: 128 is half the light, which sRGB writes as 188."""
    img = Image.new("RGB", (8, 8), (128, 128, 128))
    path = _save(img, tmp_path / "linear.png", icc_profile=_icc(SRGB_D50, 1.0, "linear RGB"))
    got = np.asarray(load_image(path)).astype(float)
    assert np.abs(got - _srgb_encode(np.array(128 / 255))).max() <= 1.5  # before: 128, read as sRGB


def test_a_display_p3_photo_keeps_its_colours(tmp_path):
    """A phone's Display P3 photo (here with gamma 2.2): its colours through P3 → XYZ → sRGB by hand."""
    rng = np.random.default_rng(0)
    px = rng.integers(40, 215, (16, 16, 3)).astype(np.uint8)
    path = _save(Image.fromarray(px), tmp_path / "p3.jpg", quality=100, icc_profile=_icc(P3_D50, 2.2, "Display P3"))
    decoded = np.asarray(Image.open(path).convert("RGB")).astype(float)  # the JPEG's own rounding
    to_xyz, from_xyz = np.array(P3_D50).T, np.linalg.inv(np.array(SRGB_D50).T)
    want = _srgb_encode((from_xyz @ to_xyz @ ((decoded / 255) ** 2.2).reshape(-1, 3).T).T).reshape(decoded.shape)
    got = np.asarray(load_image(path)).astype(float)
    inside = (want > 2).all(-1) & (want < 253).all(-1)  # sRGB can show these: compare them
    assert inside.mean() > 0.5
    assert np.abs(got - want)[inside].max() <= 3  # before: the P3 values as they were, 19 levels off
    assert np.abs(decoded - want)[inside].max() > 10


def test_an_srgb_or_broken_profile_leaves_the_values_as_they_are(tmp_path):
    from PIL import ImageCms

    img = Image.new("RGB", (8, 8), (200, 100, 50))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, icc in (("srgb.png", srgb), ("broken.png", b"not a profile at all")):
        assert load_image(_save(img, tmp_path / name, icc_profile=icc)).getpixel((0, 0)) == (200, 100, 50)


def test_a_heic_phone_photo_opens_from_the_command_line_path(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is in the web and dev extras")
    heic = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (30, 140, 200))).save(str(heic), quality=95)
    img = load_image(heic)
    assert img.size == (64, 48) and np.abs(np.asarray(img).astype(int) - (30, 140, 200)).max() <= 6


def test_without_pillow_heif_a_heic_photo_says_what_to_install(tmp_path, monkeypatch):
    import styleforge.io as sio

    monkeypatch.setattr(sio, "register_heif", lambda: False)
    fake = tmp_path / "IMG_0002.HEIC"
    fake.write_bytes(b"\0\0\0\x18ftypheic" + bytes(64))  # not readable without pillow-heif
    with pytest.raises(InputError, match="pillow-heif"):
        load_image(fake)


def test_an_upload_is_read_as_a_file_is(tmp_path, monkeypatch):
    """The service's uploads share load_image's handling: profile, alpha onto white, one-line errors."""
    from styleforge.io import image_from_bytes

    buf = _io.BytesIO()
    Image.new("RGB", (8, 8), (128, 128, 128)).save(buf, format="PNG", icc_profile=_icc(SRGB_D50, 1.0, "linear"))
    assert abs(image_from_bytes(buf.getvalue()).getpixel((0, 0))[0] - 188) <= 1
    buf = _io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(buf, format="PNG")
    assert image_from_bytes(buf.getvalue(), what="content").getpixel((0, 0)) == (255, 255, 255)
    with pytest.raises(InputError, match="the content upload is not an image"):
        image_from_bytes(b"hello", what="content")
    with pytest.raises(InputError, match="the content upload is too large"):
        image_from_bytes(buf.getvalue(), what="content", max_pixels=10)
    import styleforge.io as sio

    monkeypatch.setattr(sio, "register_heif", lambda: False)
    with pytest.raises(InputError, match="HEIC photo: install pillow-heif"):
        image_from_bytes(b"\0\0\0\x18ftypheic" + bytes(64), what="content")


def test_a_pil_image_given_to_the_api_gets_its_profile_and_alpha_handled(tmp_path):
    from styleforge.io import load_input

    grey = Image.new("RGB", (8, 8), (128, 128, 128))
    path = _save(grey, tmp_path / "lin.png", icc_profile=_icc(SRGB_D50, 1.0, "lin"))
    with Image.open(path) as held:
        assert abs(load_input(held).getpixel((0, 0))[0] - 188) <= 1  # before: 128 (convert("RGB"))
    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert load_input(clear).getpixel((0, 0)) == (255, 255, 255)  # before: black


def _zlib_level_class(png: bytes) -> int:
    """FLEVEL of the first IDAT's zlib header (0: levels 0–1, 1: 2–5, 2: 6, 3: 7–9)."""
    i = png.index(b"IDAT") + 4
    return png[i + 1] >> 6


def test_pngs_are_written_at_the_faster_zlib_level(tmp_path):
    from styleforge.io import PNG_COMPRESS_LEVEL, png_bytes

    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8))
    assert PNG_COMPRESS_LEVEL == 3
    written = save_image(img, tmp_path / "out.png").read_bytes()
    assert _zlib_level_class(written) == 1 == _zlib_level_class(png_bytes(img))  # Pillow's default would give 2
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), np.asarray(img))
    assert _zlib_level_class(png_bytes(img)) != _zlib_level_class(_default_png(img))


def _default_png(img: Image.Image) -> bytes:
    buf = _io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_an_animated_image_says_its_first_frame_is_used(tmp_path, caplog):
    frames = [Image.new("RGB", (8, 6), c) for c in ((200, 10, 10), (10, 200, 10))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    frames[0].save(tmp_path / "still.gif")
    with caplog.at_level("INFO", logger="styleforge"):
        img = load_image(tmp_path / "a.gif", what="content image")
        load_image(tmp_path / "still.gif", what="content image")
        load_image(tmp_path / "a.gif", what="style image")
    assert np.abs(np.asarray(img, int) - (200, 10, 10)).max() < 8  # the first frame
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and "styleforge video" in said[0] and "styleforge video" not in said[1], said
