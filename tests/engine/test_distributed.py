import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent


@pytest.mark.distributed
def test_two_gloo_processes_end_with_identical_weights(tmp_path, image_pairs):
    pairs = image_pairs  # 4 A|B pairs made from the bundled images
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(HERE / "tiny_train.py"),
        str(pairs),
        str(out),
        "--epochs",
        "2",
    ]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    w0, w1 = torch.load(out / "final_rank0.pt"), torch.load(out / "final_rank1.pt")
    for net in ("G", "D"):
        for k in w0[net]:
            assert torch.equal(w0[net][k], w1[net][k]), f"{net}.{k} differs between ranks"
    # rank 0 alone wrote checkpoints; each rank did 2 of the 4 samples per epoch → 4 steps
    ck = torch.load(sorted((out / "checkpoints").glob("ckpt_*.pt"))[-1], weights_only=True)
    assert ck["step"] == 4 and ck["epoch"] == 2
