"""CycleGAN resumes exactly: weights, optimiser state, LR schedule, data order and image pools."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from styleforge.engine import load_checkpoint

HELPER = Path(__file__).with_name("tiny_cyclegan_train.py")


def _data(root: Path) -> Path:
    g = torch.Generator().manual_seed(0)
    for side, n in (("A", 3), ("B", 4)):
        d = root / f"train{side}"
        d.mkdir(parents=True)
        for i in range(n):
            arr = (torch.rand(40, 40, 3, generator=g) * 255).byte().numpy()
            Image.fromarray(arr).save(d / f"{i}.png")
    return root


def _run(data, out, *extra, wait=True):
    cmd = [sys.executable, str(HELPER), str(data), str(out), *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if wait:
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        return None
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_killed_run_resumes_to_the_same_weights_and_pools(tmp_path):
    data = _data(tmp_path / "data")
    _run(data, tmp_path / "straight", "--epochs", "2")  # 8 steps, uninterrupted
    proc = _run(data, tmp_path / "killed", "--epochs", "2", "--save-every-steps", "1", "--sleep", "0.3", wait=False)
    ckpts = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 60
    while time.time() < deadline and not (
        ckpts.is_dir() and any(p.name >= "ckpt_00000004.pt" for p in ckpts.glob("ckpt_*.pt"))
    ):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = sorted(ckpts.glob("ckpt_*.pt"))
    assert saved and saved[-1].name < "ckpt_00000008.pt", "the run finished before it was killed"
    ck = load_checkpoint(saved[-1])
    assert ck["kind"] == "cyclegan" and len(ck["extra_state"]) == 1 and len(ck["extra_state"][0]["A"]["images"]) == 3
    _run(data, tmp_path / "killed", "--epochs", "2", "--resume", "auto")
    a = torch.load(tmp_path / "straight" / "final_rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "final_rank0.pt", weights_only=True)
    for net in ("G_A", "G_B", "D_A", "D_B"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), (net, k)
    for side in ("A", "B"):
        assert all(
            torch.equal(x, y) for x, y in zip(a["pools"][side]["images"], b["pools"][side]["images"], strict=True)
        )
        assert torch.equal(a["pools"][side]["generator"], b["pools"][side]["generator"])
