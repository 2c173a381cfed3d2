"""Which ``--style`` values get the torch-free runner, and with which palette pass."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.backbones.vgg import load_vgg_weights
from styleforge.cache import cache_dir
from styleforge.instant.fastpath import lite_runner_for

pytest.importorskip("onnxruntime")


def test_a_builtin_network_gets_the_runner_with_its_palette() -> None:
    load_vgg_weights.cache_clear()  # an earlier test may have loaded it under another STYLEFORGE_CACHE
    load_vgg_weights("vgg16-offline")  # the first torch run converts VGG16 into the cache the runner reads
    assert (cache_dir() / "vgg16-offline-conv.safetensors").is_file()
    runner = lite_runner_for("starry_night", threads=1)
    assert runner is not None and runner.palette is not None
    plain = lite_runner_for("starry-night", threads=1, palette=False)
    assert plain is not None and plain.palette is None


def test_image_styles_and_a_cold_cache_take_the_full_path(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert lite_runner_for(str(builtin_styles()["starry_night"])) is None  # an image: WCT, torch
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))  # no converted VGG16 weights yet
    assert lite_runner_for("starry_night") is None
    assert lite_runner_for("starry_night", palette=False) is not None


def test_the_cli_runs_the_pass_without_importing_torch(tmp_path) -> None:
    load_vgg_weights("vgg16-offline")  # the cache the torch-free path reads (the subprocess shares it)
    outs = {}
    for flag in ([], ["--no-palette"]):
        out = tmp_path / f"out{len(flag)}.png"
        argv = [
            "instant",
            str(BUILTIN_CONTENT["tubingen"]),
            "--style",
            "starry_night",
            "--size",
            "128",
            "-o",
            str(out),
            *flag,
        ]
        code = (
            "import sys; from styleforge.cli.main import main; "
            f"rc = main({argv!r}); print('RC', rc, 'TORCH', 'torch' in sys.modules)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        assert "RC 0 TORCH False" in proc.stdout, proc.stderr[-2000:]
        outs[len(flag)] = np.asarray(Image.open(out), np.int16)
    assert np.abs(outs[0] - outs[1]).mean() > 5  # the default ran the pass, --no-palette did not


def test_the_palette_is_cached_and_a_broken_cache_is_made_again(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from styleforge.instant.fastpath import load_palette
    from styleforge.instant.models import weights_for

    load_vgg_weights.cache_clear()
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))
    load_vgg_weights("vgg16-offline")  # writes this cache's converted VGG16
    path = weights_for("starry_night")
    assert path is not None
    first = load_palette(path)
    files = list((tmp_path / "palette").glob("*.npz"))
    assert first is not None and len(files) == 1
    again = load_palette(path)
    assert again is not None
    for k, v in dataclasses.asdict(first).items():
        assert np.array_equal(v, getattr(again, k)), k
    files[0].write_bytes(b"not an npz")
    remade = load_palette(path)
    assert remade is not None and np.array_equal(remade.feat_cov, first.feat_cov)
    load_vgg_weights.cache_clear()
