"""`styleforge photo` (fast method) and `styleforge look apply` end to end; bad input writes nothing."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image

from styleforge.cli.main import main
from styleforge.transfer.lut import read_cube


def _img(path, size, top, bottom, seed=0):
    rng = np.random.default_rng(seed)
    w, h = size
    a = np.empty((h, w, 3))
    a[: h // 2], a[h // 2 :] = top, bottom
    a = np.clip(a + 0.05 * rng.standard_normal(a.shape), 0, 1)
    Image.fromarray((a * 255).astype(np.uint8)).save(path)
    return str(path)


def _mask(path, size, colours=((0, 0, 255), (0, 255, 0))):
    w, h = size
    m = Image.new("RGB", size, colours[1])
    m.paste(colours[0], (0, 0, w, h // 2))
    m.save(path)
    return str(path)


def _huge_png(path, w=10000, h=10000):
    """A PNG header that announces 100 megapixels (no pixel data is needed to refuse it)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )
    return str(path)


def test_fast_photo_with_masks_saves_result_and_look_then_look_apply(tmp_path, capsys):
    c = _img(tmp_path / "c.png", (120, 80), (0.6, 0.7, 0.9), (0.3, 0.5, 0.2))
    s = _img(tmp_path / "s.png", (90, 90), (0.9, 0.5, 0.3), (0.2, 0.2, 0.3), 1)
    out, look = tmp_path / "out.png", tmp_path / "look.cube"
    assert (
        main(
            [
                "photo",
                c,
                s,
                "-o",
                str(out),
                "--save-look",
                str(look),
                "--work-size",
                "64",
                "--content-mask",
                _mask(tmp_path / "cm.png", (120, 80)),
                "--style-mask",
                _mask(tmp_path / "sm.png", (45, 45)),
            ]
        )
        == 0
    )
    assert Image.open(out).size == (120, 80)  # full resolution by default
    o = np.asarray(Image.open(out)).astype(float)
    assert o[:40, :, 0].mean() > o[:40, :, 2].mean()  # the sky took the style's warm top
    assert read_cube(look).size == 33
    folder = tmp_path / "photos"
    folder.mkdir()
    _img(folder / "a.png", (50, 40), (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))
    _img(folder / "b.jpg", (30, 60), (0.4, 0.6, 0.8), (0.1, 0.3, 0.1))
    assert main(["look", "apply", str(look), str(folder), c, "-o", str(tmp_path / "looked")]) == 0
    assert sorted(p.name for p in (tmp_path / "looked").iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert Image.open(tmp_path / "looked" / "b.jpg").size == (30, 60)
    one = tmp_path / "one.png"
    assert main(["look", "apply", str(look), c, "-o", str(one), "--strength", "0"]) == 0
    assert np.abs(np.asarray(Image.open(one)).astype(int) - np.asarray(Image.open(c)).astype(int)).max() <= 1


def test_without_masks_segments_are_automatic(tmp_path):
    c = _img(tmp_path / "c.png", (96, 64), (0.6, 0.7, 0.9), (0.3, 0.5, 0.2))
    s = _img(tmp_path / "s.png", (64, 64), (0.9, 0.5, 0.3), (0.2, 0.2, 0.3), 1)
    out, masks = tmp_path / "o.jpg", tmp_path / "m.png"
    assert main(["photo", c, s, "-o", str(out), "--save-masks", str(masks), "--segments", "2"]) == 0
    assert Image.open(out).size == (96, 64)
    assert len(np.unique(np.asarray(Image.open(masks)).reshape(-1, 3), axis=0)) == 2


def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys):
    c = _img(tmp_path / "c.png", (120, 80), (0.6, 0.7, 0.9), (0.3, 0.5, 0.2))
    s = _img(tmp_path / "s.png", (90, 90), (0.9, 0.5, 0.3), (0.2, 0.2, 0.3), 1)
    out, look = tmp_path / "out.png", tmp_path / "look.cube"
    base = ["photo", c, s, "-o", str(out), "--save-look", str(look)]
    # masks of another aspect ratio
    assert (
        main(
            base
            + [
                "--content-mask",
                _mask(tmp_path / "sq.png", (80, 80)),
                "--style-mask",
                _mask(tmp_path / "sm.png", (90, 90)),
            ]
        )
        == 2
    )
    assert "aspect ratio" in capsys.readouterr().err
    # a 100-megapixel image
    assert main(["photo", _huge_png(tmp_path / "huge.png"), s, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "too large" in err and len(err.strip().splitlines()) == 1
    # a "LUT" that is not one
    fake = tmp_path / "fake.cube"
    fake.write_bytes(Image.open(c).tobytes()[:500])
    dst = tmp_path / "dst"
    assert main(["look", "apply", str(fake), c, "-o", str(dst)]) == 2
    err = capsys.readouterr().err
    assert "not a .cube LUT" in err and len(err.strip().splitlines()) == 1
    assert main(["look", "apply", str(tmp_path / "sq.png"), c, "-o", str(dst)]) == 2
    capsys.readouterr()
    assert main(base[:-1] + [str(tmp_path / "look.txt")]) == 2
    assert ".cube" in capsys.readouterr().err
    assert main(base + ["--method", "dpst"]) == 2
    assert main(base + ["--auto-masks", "--content-mask", str(tmp_path / "sq.png"), "--style-mask", s]) == 2
    assert not out.exists() and not look.exists() and not dst.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "fake.cube", "huge.png", "s.png", "sm.png", "sq.png"]
