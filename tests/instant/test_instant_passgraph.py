"""The palette pass as one runtime graph: the same closed forms, the same pixels as today's paths."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")

from styleforge.assets import BUILTIN_CONTENT  # noqa: E402
from styleforge.backbones.vgg import load_vgg_weights  # noqa: E402
from styleforge.instant.fastpath import lite_runner_for  # noqa: E402
from styleforge.instant.lite import PassRunner  # noqa: E402
from styleforge.instant.palette import apply_palette, pass_closed_forms, pass_maps  # noqa: E402
from styleforge.io import resize_max_side  # noqa: E402


@pytest.fixture
def palette() -> object:
    load_vgg_weights.cache_clear()  # an earlier test may have loaded it under another STYLEFORGE_CACHE
    load_vgg_weights("vgg16-offline")  # the converted weights the torch-free path reads
    lite = lite_runner_for("starry_night", threads=1)
    assert lite is not None and lite.palette is not None
    return lite.palette


def _net_output(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A stand-in network output: smooth colour ramps plus noise, in (0, 1)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx / 7.0)])
    return np.clip(base + rng.normal(0, 0.08, (3, h, w)), 0.01, 0.99).astype(np.float32)[None]


@pytest.mark.parametrize(("h", "w"), [(96, 128), (37, 29), (2, 300), (200, 170)])
def test_closed_forms_from_the_samples_equal_the_full_size_ones(palette: object, h: int, w: int) -> None:
    y = _net_output(h, w)
    x, weight, bias = pass_maps(np.ascontiguousarray(y[0].transpose(1, 2, 0)), palette)  # type: ignore[arg-type]
    a, c, weight2, bias2 = pass_closed_forms(y, palette)  # type: ignore[arg-type]
    mapped = np.clip(y[0].transpose(1, 2, 0) @ a.T + c, 0, 1)
    assert np.abs(mapped - x).max() < 1e-5
    assert np.abs(weight2 - weight).max() <= 1e-3 * np.abs(weight).max()
    assert np.abs(bias2 - bias).max() < 1e-3


@pytest.mark.parametrize(("h", "w", "strip_pixels"), [(96, 128, 1 << 20), (96, 128, 1000), (61, 45, 400), (3, 40, 8)])
def test_the_graph_gives_the_numpy_pass_pixels_whole_and_in_strips(
    palette: object, h: int, w: int, strip_pixels: int
) -> None:
    y = _net_output(h, w, seed=h)
    runner = PassRunner(palette, threads=1)  # type: ignore[arg-type]
    ours = runner(y, strip_pixels=strip_pixels)[0].transpose(1, 2, 0)
    ref = apply_palette(y[0].transpose(1, 2, 0), palette)  # type: ignore[arg-type]  # numpy row strips
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 2e-4, np.abs(ours - ref).max()
    assert np.abs(ours - y[0].transpose(1, 2, 0)).mean() > 0.02  # the pass changed the picture


@pytest.mark.parametrize("size", [256, 1024])
def test_the_torch_free_path_gives_todays_torch_pixels(
    palette: object, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = pytest.importorskip("torch")
    from styleforge.instant import InstantOptions, load_instant, stylize_instant

    torch.set_num_threads(2)
    photo = resize_max_side(Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB"), size)
    with monkeypatch.context() as m:  # today's torch path: the numpy pass (convolutions in the older graph)
        m.setattr(PassRunner, "create", classmethod(lambda cls, *a, **k: None))
        refs = {}
        for style in ("starry_night", "the_scream"):
            model = load_instant([style], backend="torch")
            refs[style] = np.asarray(stylize_instant(photo, model, InstantOptions(tile=0, backend="torch")), np.int16)
    for style in ("starry_night", "the_scream"):
        lite = lite_runner_for(style, threads=2)
        assert lite is not None and lite.pass_runner is not None  # the graph, not the fallback
        ours = np.asarray(lite(photo), np.int16)
        ref = refs[style]
        model = load_instant([style], backend="torch")  # and the torch path with the pass graph now
        full = np.asarray(stylize_instant(photo, model, InstantOptions(tile=0, backend="torch")), np.int16)
        assert np.abs(full - ref).max() <= 2
        assert ours.shape == ref.shape
        assert np.abs(ours - ref).max() <= 2, (style, np.abs(ours - ref).max())
        assert np.abs(ours - ref).mean() < 0.05


def test_the_graph_ships_and_needs_no_cache_and_no_onnx_package(palette: object, tmp_path: Path) -> None:
    import dataclasses

    from styleforge.instant.graphs import build_pass_graph
    from styleforge.instant.lite import PASS_GRAPH

    pytest.importorskip("onnx")
    assert build_pass_graph(tmp_path / "p.onnx").read_bytes() == PASS_GRAPH.read_bytes()  # what the builder makes
    y = _net_output(40, 30)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "pal.npz", **{k: v for k, v in dataclasses.asdict(palette).items() if v is not None})  # type: ignore[call-overload]
    code = (
        "import sys, numpy as np\n"
        "from styleforge.instant.lite import PassRunner\n"
        "from styleforge.instant.palette import Palette\n"
        "pal = Palette(**dict(np.load(sys.argv[1])))\n"
        "np.save(sys.argv[3], PassRunner(pal, threads=1)(np.load(sys.argv[2])))\n"
        "print(sorted(m for m in sys.modules if m == 'onnx' or m.startswith('onnx.')))\n"
    )
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")  # a cache where nothing can be written
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "pal.npz"), str(tmp_path / "y.npy"), str(tmp_path / "o.npy")],
        capture_output=True,
        text=True,
        env={**os.environ, "STYLEFORGE_CACHE": str(blocked)},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "[]"  # no onnx import
    ours = np.load(tmp_path / "o.npy")[0].transpose(1, 2, 0)
    ref = apply_palette(y[0].transpose(1, 2, 0), palette)  # type: ignore[arg-type]
    assert np.abs(ours - ref).max() < 2e-4


def test_the_instant_command_imports_no_other_command_and_no_torch(palette: object, tmp_path: Path) -> None:
    out = tmp_path / "o.png"
    argv = ["instant", str(BUILTIN_CONTENT["tubingen"]), "--style", "starry_night", "--size", "96", "-o", str(out)]
    code = (
        "import sys; from styleforge.cli.main import main; "
        f"rc = main({argv!r}); "
        "others = sorted(m for m in sys.modules if m.startswith('styleforge.cli.') "
        "and m not in ('styleforge.cli.main', 'styleforge.cli.instant', 'styleforge.cli.options')); "
        "print('RC', rc, 'TORCH', 'torch' in sys.modules, 'OTHERS', others)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "RC 0 TORCH False OTHERS []" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert Image.open(out).size == (96, 72)


def test_other_commands_still_parse_after_the_instant_shortcut() -> None:
    from styleforge.cli.main import _solo_module, build_parser

    assert _solo_module(["-v", "instant", "x.jpg"]) == "styleforge.cli.instant"
    assert _solo_module(["stylize", "x.jpg"]) is None and _solo_module([]) is None
    args = build_parser().parse_args(["stylize", "x.jpg", "--style", "s.jpg", "-o", "o.png"])
    assert args.command == "stylize"
    solo = build_parser("styleforge.cli.instant").parse_args(["instant", "x.jpg", "--style", "a", "-o", "o.png"])
    full = build_parser().parse_args(["instant", "x.jpg", "--style", "a", "-o", "o.png"])
    assert vars(solo) == vars(full)
