"""The torch-free WCT path (:mod:`styleforge.instant.wctlite`): same pictures as the torch WCT path."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.backbones.vgg import load_vgg_weights
from styleforge.instant import InstantOptions, load_instant, stylize_instant, wctlite
from styleforge.nets import wct as torch_wct
from styleforge.precision import cpu_has_native_bf16

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def runner() -> wctlite.WCTRunner:
    load_vgg_weights.cache_clear()
    load_vgg_weights("vgg16-offline")  # the converted VGG16 the runner reads (any torch run writes it)
    r = wctlite.wct_runner_for(threads=2)
    assert r is not None
    return r


@pytest.mark.parametrize(
    ("mode", "n_in", "n_out"),
    [
        (mode, n_in, n_out)
        for mode in ("aa", "bicubic", "bilinear")
        for n_in, n_out in [(384, 288), (512, 217), (288, 384), (37, 100), (54, 53)]
        if not (mode == "aa" and n_out > n_in)  # antialiasing is used only to shrink
    ],
)
def test_resize_matrices_are_torchs(mode: str, n_in: int, n_out: int) -> None:
    x = torch.rand(1, 2, 9, n_in)
    kw = {"antialias": True, "mode": "bilinear"} if mode == "aa" else {"mode": mode}
    want = F.interpolate(x, size=(9, n_out), align_corners=False, **kw)[0]
    got = x[0].numpy() @ wctlite.resize_matrix(n_in, n_out, mode).T
    assert np.abs(got - want.numpy()).max() < 5e-5  # torch computes its weights in float32


def test_the_numpy_maths_is_the_torch_maths() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(1, 32, 300, 290, generator=g).relu()  # above MAX_SAMPLES: the strided sample
    s = torch.randn(1, 32, 40, 50, generator=g) * 2 + 1
    own_t, style_t = torch_wct.covariance_stats(f), torch_wct.covariance_stats(s)
    own_n, style_n = wctlite.covariance_stats(f.numpy()), wctlite.covariance_stats(s.numpy())
    assert np.allclose(own_n[1], own_t.cov.numpy(), rtol=1e-4, atol=1e-5)
    assert np.allclose(own_n[0], own_t.mean.numpy(), atol=1e-6)
    for alpha in (1.0, 0.6):
        a_t, b_t = torch_wct.wct_affine(own_t, style_t, alpha=alpha)
        root = wctlite.sym_power(style_n[1], 0.5, 1e-5)
        a_n, b_n = wctlite.wct_affine(own_n, style_n[0], root, alpha=alpha)
        assert np.abs(a_n - a_t.numpy()).max() < 2e-3 * np.abs(a_t.numpy()).max()
        assert np.abs(b_n - b_t.numpy()).max() < 2e-3 * np.abs(b_t.numpy()).max()


def _torch_output(photo: Image.Image, style: Path, opts: InstantOptions) -> np.ndarray:
    torch.set_num_threads(2)
    model = load_instant([str(style)], backend="torch")
    # the runner is float32; on a CPU with native bf16 the torch network autocasts (``amp="auto"``),
    # up to 7/255 away, and the CLI then keeps the runner (``WCTRunner.matches``)
    model.adain.amp = None
    return np.asarray(stylize_instant(photo, model, opts), np.int16)


def _same_picture(want: np.ndarray, got: np.ndarray, *, bf16: bool = False) -> None:
    """The runner against torch in float32: within 2/255 but for a few values (at most 4/255, one in
    10 000) where oneDNN's and onnxruntime's AVX-512 kernels round apart (4 of 590 k on an AVX-512 CPU).
    ``bf16``: torch autocast to bf16 (``amp="auto"`` on a CPU with native bf16): 0.2 % of the values
    3–4/255 apart, 0.47/255 on average at 512 px."""
    assert want.shape == got.shape
    d = np.abs(want - got)
    top, rare, mean = (8, 1e-2, 0.8) if bf16 else (4, 1e-4, 0.3)
    assert d.max() <= top and (d > 2).mean() <= rare and d.mean() <= mean, (d.max(), (d > 2).sum(), d.mean())


def _lite_output(r: wctlite.WCTRunner, photo: Image.Image, style: Path, opts: InstantOptions) -> np.ndarray:
    alpha = opts.alpha if opts.alpha is not None else opts.strength
    out = r(
        photo,
        Image.open(style).convert("RGB"),
        style_file=style,
        strength=alpha,
        size=opts.size,
        style_scale=opts.style_scale,
    )
    return np.asarray(out, np.int16)


@pytest.mark.parametrize("painting", ["starry_night", "the_scream", "composition_vii"])
def test_the_runner_gives_the_torch_picture_at_512(runner: wctlite.WCTRunner, painting: str) -> None:
    photo = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    style = builtin_styles()[painting]
    opts = InstantOptions(size=512, tile=0)
    want, got = _torch_output(photo, style, opts), _lite_output(runner, photo, style, opts)
    _same_picture(want, got)


def test_alpha_and_style_scale_match_too(runner: wctlite.WCTRunner) -> None:
    photo = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB").crop((0, 0, 301, 203))  # odd sizes
    style = builtin_styles()["udnie"]
    for opts in (InstantOptions(size=300, alpha=0.6, tile=0), InstantOptions(size=257, style_scale=1.5, tile=0)):
        want, got = _torch_output(photo, style, opts), _lite_output(runner, photo, style, opts)
        _same_picture(want, got)


@pytest.mark.realdata
def test_shared_photos_and_paintings_match(runner: wctlite.WCTRunner, shared_data: Path) -> None:
    photos = ["content/golden_gate.jpg", "more/content/NVlabs__000000000139.jpg"]
    paintings = ["styles/la_muse.jpg", "styles/shipwreck.jpg"]
    for p in photos:
        photo = Image.open(shared_data / p).convert("RGB")
        for s in paintings:
            opts = InstantOptions(size=512, tile=0)
            want, got = _torch_output(photo, shared_data / s, opts), _lite_output(runner, photo, shared_data / s, opts)
            _same_picture(want, got)


def test_style_statistics_are_cached_on_disk(runner: wctlite.WCTRunner, tmp_path: Path) -> None:
    style = tmp_path / "painting.png"
    Image.open(builtin_styles()["the_scream"]).convert("RGB").resize((200, 160)).save(style)
    arr = np.asarray(Image.open(style), np.float32).transpose(2, 0, 1)[None] / 255
    first = runner.stats_for(style, arr, 1.25)
    files = list((wctlite.cache_dir() / "wct-stats").glob(f"*-{runner.key}-1.25.npz"))
    assert files
    runner._stats.clear()
    again = runner.stats_for(style, np.zeros_like(arr), 1.25)  # read back from disk, not recomputed
    assert first.keys() == again.keys()
    for k in first:
        assert np.array_equal(first[k][1], again[k][1])


def _cli(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from styleforge.cli.main import main; "
        f"rc = main({argv!r}); print('RC', rc, 'TORCH', 'torch' in sys.modules)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def test_the_wct_command_imports_no_torch(runner: wctlite.WCTRunner, tmp_path: Path) -> None:
    load_vgg_weights.cache_clear()
    load_vgg_weights("vgg16-offline")  # into this test's cache, which the subprocess reads
    style = str(builtin_styles()["the_scream"])
    base = ["instant", str(BUILTIN_CONTENT["tubingen"]), "--style", style, "--size", "256", "--threads", "1"]
    fast = _cli([*base, "-o", str(tmp_path / "fast.png")])
    assert "RC 0 TORCH False" in fast.stdout, fast.stderr[-2000:]
    full = _cli([*base, "--backend", "torch", "-o", str(tmp_path / "full.png")])
    assert "RC 0 TORCH True" in full.stdout, full.stderr[-2000:]
    a, b = (np.asarray(Image.open(tmp_path / n), np.int16) for n in ("fast.png", "full.png"))
    _same_picture(a, b, bf16=cpu_has_native_bf16())  # the torch command autocasts there


def test_without_onnxruntime_the_command_falls_back_to_torch(
    runner: wctlite.WCTRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def no_ort(name: str, *a: object, **k: object):  # noqa: ANN202
        return None if name == "onnxruntime" else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", no_ort)
    assert wctlite.wct_runner_for(threads=1) is None
    from styleforge.cli.main import main

    out = tmp_path / "o.png"
    style = str(builtin_styles()["the_scream"])
    assert main(["instant", str(BUILTIN_CONTENT["tubingen"]), "--style", style, "--size", "96", "-o", str(out)]) == 0
    assert Image.open(out).size == (96, 72)


def test_a_cold_cache_takes_the_torch_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))  # no converted VGG16 weights yet
    assert wctlite.wct_runner_for(threads=1) is None


def test_stylize_instant_shares_the_runner(runner: wctlite.WCTRunner) -> None:
    load_vgg_weights.cache_clear()
    load_vgg_weights("vgg16-offline")
    photo = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    style = str(builtin_styles()["seated_nude"])
    bf16 = load_instant([style])
    bf16.adain.amp = torch.bfloat16  # type: ignore[union-attr]  # what amp="auto" is on a CPU with native bf16
    assert bf16.wct_runner() is None  # another picture: the torch network runs
    auto, torch_only = load_instant([style]), load_instant([style], backend="torch")
    for m in (auto, torch_only):
        m.adain.amp = None  # type: ignore[union-attr]  # float32 on every CPU (the runner's pictures)
    assert auto.wct_runner() is not None and torch_only.wct_runner() is None
    for opts in (InstantOptions(size=320, tile=0), InstantOptions(size=320, tile=160, overlap=32, style_scale=0.8)):
        a = np.asarray(stylize_instant(photo, auto, opts), np.int16)
        b = np.asarray(stylize_instant(photo, torch_only, opts), np.int16)
        _same_picture(a, b)
    net = load_instant([style]).adain
    net.sizes = [384, 384, None]  # type: ignore[union-attr]  # another set of passes: not the runner's
    assert not runner.matches(net)


_ARENA_RUN = """
import sys, numpy as np
from styleforge.instant import lite
if sys.argv[1] == "own":
    lite._shared_arena = lambda: False  # every session its own arena, as before
from styleforge.instant.wctlite import wct_runner_for
r = wct_runner_for(threads=1)
x = np.random.default_rng(0).random((1, 3, 384, 512), dtype=np.float32)
y = r.stylize(x, r.style_stats(x))
peak = next(ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM"))  # this exec's own
print(peak, "sum", float(y.astype(np.float64).sum()))
"""


def test_the_runners_graphs_share_one_arena(runner: wctlite.WCTRunner) -> None:
    from styleforge.instant import lite

    options = [s.get_session_options() for s in (*runner.enc.values(), *runner.dec.values())]
    assert all(o.get_session_config_entry("session.use_env_allocators") == "1" for o in options)
    assert lite.palette_conv_runner(1) is not None  # a per-style path's session: it keeps its own arena
    others = [s for k, s in lite._SESSIONS.items() if not k[3]]
    assert others
    for s in others:
        with pytest.raises(Exception, match="does not have configuration"):
            s.get_session_options().get_session_config_entry("session.use_env_allocators")
    # what it is for: a 512 px call holds half the memory, with the same pixels
    load_vgg_weights.cache_clear()
    load_vgg_weights("vgg16-offline")  # into this test's cache, which the subprocesses read
    runs = {}
    for mode in ("build", "shared", "own"):  # the first builds the graphs in this cache (not counted)
        p = subprocess.run([sys.executable, "-c", _ARENA_RUN, mode], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        rss, _, total = p.stdout.split()
        runs[mode] = (int(rss), float(total))
    assert runs["shared"][1] == runs["own"][1]
    assert runs["shared"][0] < 0.75 * runs["own"][0], runs
