"""End-to-end CLI runs (tiny sizes) and one test per bad input: exit code 2, one line, nothing written."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from styleforge.cli.main import main


def _img(path, size=(48, 32), mode="RGB", color=(120, 80, 40)):
    Image.new(mode, size, color if mode == "RGB" else 128).save(path)
    return path


def _run(argv, capsys):
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


def test_tiny_end_to_end(tmp_path, capsys):
    out = tmp_path / "out.png"
    rc, err = _run(
        [
            "stylize",
            "tubingen",
            "--style",
            "starry_night",  # built-in content and style
            "-o",
            str(out),
            "--image-size",
            "64",
            "--iterations",
            "8",
            "--scales",
            "none",
            "--seed",
            "1",
            "--init",
            "random",
            "--print-every",
            "4",
            "--save-every",
            "4",
        ],
        capsys,
    )
    assert rc == 0, err
    img = Image.open(out)
    img.load()
    assert img.size == (64, 48) and img.mode == "RGB"
    assert np.asarray(img).std() > 10  # not a flat image
    # intermediate images from --save-every
    assert sorted(p.name for p in tmp_path.glob("out_s1_*.png")) == ["out_s1_0004.png", "out_s1_0008.png"]


def test_folder_in_folder_out_and_styles_listing(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for n in ("a", "b"):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(src / f"{n}.jpg")
    (src / "notes.txt").write_text("ignored")
    rc, err = _run(
        [
            "stylize",
            str(src),
            "--style",
            "the_scream",
            "-o",
            str(tmp_path / "res"),
            "--image-size",
            "40",
            "--iterations",
            "2",
            "--scales",
            "none",
            "-q",
        ],
        capsys,
    )
    assert rc == 0, err
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == ["a.png", "b.png"]
    assert main(["styles"]) == 0
    assert "starry_night" in capsys.readouterr().out


@pytest.mark.parametrize(
    "case",
    [
        "not_image",
        "truncated",
        "unknown_style",
        "unknown_layer",
        "blend_mismatch",
        "mask_size",
        "missing_out_folder",
        "missing_weights",
        "corrupt_weights",
        "size_zero",
        "size_huge",
        "missing_content",
        "mask_count",
    ],
)
def test_bad_input(case, tmp_path, capsys):
    content = _img(tmp_path / "c.png")
    style = _img(tmp_path / "s.png", color=(10, 200, 30))
    out = tmp_path / "out.png"
    args = [
        "stylize",
        str(content),
        "--style",
        str(style),
        "-o",
        str(out),
        "--image-size",
        "48",
        "--iterations",
        "1",
        "--scales",
        "none",
        "-q",
    ]
    expect = {
        "not_image": "not an image",
        "truncated": "unreadable or truncated",
        "unknown_style": "did you mean 'starry_night'",
        "unknown_layer": "unknown vgg16 layer 'relu4_9'",
        "blend_mismatch": "--style-blend-weights has 3 values for 1 style",
        "mask_size": "must have the image's size",
        "missing_out_folder": "output folder does not exist",
        "missing_weights": "weights file not found",
        "corrupt_weights": "unreadable or corrupt",
        "size_zero": "--image-size must be between",
        "size_huge": "--image-size must be between",
        "missing_content": "not found",
        "mask_count": "one mask per style",
    }[case]
    if case == "not_image":
        (tmp_path / "c.png").write_text("definitely not a PNG")
    elif case == "truncated":
        arr = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(arr).save(tmp_path / "big.png")
        data = (tmp_path / "big.png").read_bytes()
        (tmp_path / "c.png").write_bytes(data[: len(data) // 2])
    elif case == "unknown_style":
        args[3] = "starry_nite"
    elif case == "unknown_layer":
        args += ["--content-layers", "relu4_9"]
    elif case == "blend_mismatch":
        args += ["--style-blend-weights", "1,2,3"]
    elif case == "mask_size":
        args += ["--style-mask", str(_img(tmp_path / "m.png", size=(30, 30), mode="L"))]
    elif case == "mask_count":
        m = str(_img(tmp_path / "m.png", size=(48, 32), mode="L"))
        args += ["--style-mask", m, "--style-mask", m]
    elif case == "missing_out_folder":
        out = tmp_path / "nope" / "out.png"
        args[5] = str(out)
    elif case == "missing_weights":
        args += ["--weights", str(tmp_path / "vgg.pth")]
    elif case == "corrupt_weights":
        (tmp_path / "vgg.pth").write_bytes(b"\x00garbage")
        args += ["--weights", str(tmp_path / "vgg.pth")]
    elif case == "size_zero":
        args[7] = "0"
    elif case == "size_huge":
        args[7] = "100000"
    elif case == "missing_content":
        args[1] = str(tmp_path / "missing.jpg")
    rc, err = _run(args, capsys)
    assert rc == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("styleforge: error:"), err
    assert expect in lines[0]
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".*.tmp*"))  # no temp file left behind


@pytest.mark.parametrize("mode", ["CMYK", "RGBA", "L", "I;16"])
def test_odd_modes_are_accepted(mode, tmp_path, capsys):
    p = tmp_path / ("c.jpg" if mode == "CMYK" else "c.png")
    if mode == "I;16":
        Image.fromarray((np.random.default_rng(0).random((32, 32)) * 65535).astype(np.uint16)).save(p)
    elif mode == "RGBA":
        Image.new("RGBA", (32, 32), (200, 10, 10, 128)).save(p)
    else:
        Image.new(mode, (32, 32), 100 if mode == "L" else (0, 100, 100, 0)).save(p)
    out = tmp_path / "o.jpg"
    rc, err = _run(
        [
            "stylize",
            str(p),
            "--style",
            "shipwreck",
            "-o",
            str(out),
            "--image-size",
            "32",
            "--iterations",
            "1",
            "--scales",
            "none",
            "-q",
        ],
        capsys,
    )
    assert rc == 0, err
    assert Image.open(out).mode == "RGB"
