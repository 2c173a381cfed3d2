"""The torch-free fast path: same pixels as the full path, no torch import, ONNX beside packaged weights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("onnxruntime")

from styleforge.assets import BUILTIN_CONTENT  # noqa: E402
from styleforge.engine import export_safetensors  # noqa: E402
from styleforge.instant import InstantOptions, load_instant, stylize_instant  # noqa: E402
from styleforge.instant.lite import LiteRunner, onnx_file_for  # noqa: E402
from styleforge.instant.models import builtin_models, package_weights  # noqa: E402
from styleforge.nets.feedforward import TRANSFORMER_CONFIGS, TransformerNet  # noqa: E402


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained-looking ``fast`` network packaged as the built-ins are: fp16 safetensors + ONNX + manifest."""
    root = tmp_path_factory.mktemp("pkg")
    torch.manual_seed(5)
    net = TransformerNet(TRANSFORMER_CONFIGS["fast"])
    with torch.no_grad():  # a visible, non-identity change (the fresh network is the identity)
        net.out[1].weight.normal_(0, 0.05)
    cfg = TRANSFORMER_CONFIGS["fast"].to_dict()
    src = export_safetensors(
        net.state_dict(), root / "T.safetensors", metadata={"kind": "instant", "model_config": {"net": cfg}}
    )
    out = root / "assets"
    package_weights(src, "mystyle", {"style": "mystyle", "steps": 1}, folder=out)
    return out


def _photo(w: int = 150, h: int = 110) -> Image.Image:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None] * np.ones((h, 1, 3), np.float32)
    return Image.fromarray(np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8))


def test_package_writes_fp16_weights_onnx_and_manifest(packaged: Path) -> None:
    assert (packaged / "mystyle.onnx").is_file()
    assert builtin_models(packaged)["mystyle"].kind == "instant"
    assert json.loads((packaged / "manifest.json").read_text())["models"]["mystyle"]["steps"] == 1
    assert onnx_file_for(packaged / "mystyle.safetensors") == packaged / "mystyle.onnx"


@pytest.mark.parametrize(("strength", "size"), [(1.0, None), (0.6, 96)])
def test_lite_path_gives_the_full_paths_pixels(packaged: Path, strength: float, size: int | None) -> None:
    photo = _photo()
    lite = LiteRunner(packaged / "mystyle.onnx", threads=1)(photo, strength=strength, size=size)
    model = load_instant([str(packaged / "mystyle.safetensors")], backend="torch")
    full = stylize_instant(photo, model, InstantOptions(strength=strength, size=size, backend="torch"))
    a, b = np.asarray(lite, np.int16), np.asarray(full, np.int16)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= 1  # float rounding between onnxruntime and torch
    assert np.abs(a - np.asarray(photo.resize(lite.size), np.int16)).mean() > 2  # the network did something


def test_lite_runner_declines_tiny_and_huge_images() -> None:
    assert LiteRunner.handles(Image.new("RGB", (640, 480)), None)
    assert not LiteRunner.handles(Image.new("RGB", (12, 40)), None)
    assert not LiteRunner.handles(Image.new("RGB", (640, 480)), 4096)  # tiled by the full path


@pytest.mark.parametrize("command", ["instant {photo} --style {w}", "stylize {photo} --instant {w}"])
def test_cli_takes_the_lite_path_without_importing_torch(packaged: Path, tmp_path: Path, command: str) -> None:
    out = tmp_path / "out.png"
    argv = command.format(photo=BUILTIN_CONTENT["tubingen"], w=packaged / "mystyle.safetensors").split()
    code = (
        "import sys; from styleforge.cli.main import main; "
        f"rc = main({argv + ['--size', '128', '-o', str(out)]!r}); "
        "print('RC', rc, 'TORCH', 'torch' in sys.modules)"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "RC 0 TORCH False" in proc.stdout, proc.stderr[-2000:]
    assert Image.open(out).size == (128, 96)
    # with a control the lite path does not offer, the full path runs (and imports torch)
    code2 = code.replace("'--size', '128'", "'--size', '128', '--tile', '64', '--overlap', '16'")
    proc = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, env=env, timeout=120)
    assert "RC 0 TORCH True" in proc.stdout, proc.stderr[-2000:]
