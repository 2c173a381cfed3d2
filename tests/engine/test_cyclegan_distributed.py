"""2-process DDP (gloo, CPU) with CycleGAN's alternating G/D updates: both ranks end with identical weights.

The generator step runs two accumulated backwards (the first under ``no_sync``) with the
discriminators frozen; the discriminator step then updates D_A and D_B.  If DDP skipped or
double-counted an all-reduce, the ranks (which see different images) would drift apart.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from styleforge.engine import load_checkpoint

HELPER = Path(__file__).with_name("tiny_cyclegan_train.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.distributed
def test_two_ranks_end_with_identical_weights(tmp_path):
    g = torch.Generator().manual_seed(0)
    for side, n in (("A", 4), ("B", 3)):
        d = tmp_path / "data" / f"train{side}"
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray((torch.rand(40, 40, 3, generator=g) * 255).byte().numpy()).save(d / f"{i}.png")
    out = tmp_path / "run"
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "OMP_NUM_THREADS": "1",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(HELPER), str(tmp_path / "data"), str(out), "--epochs", "2"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    logs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(logs)[-3000:]
    r0, r1 = (torch.load(out / f"final_rank{r}.pt", weights_only=True) for r in range(2))
    init = {}
    for net in ("G_A", "G_B", "D_A", "D_B"):
        for k, v in r0["nets"][net].items():
            assert torch.equal(v, r1["nets"][net][k]), f"{net}.{k} differs between ranks"
        init[net] = v
    # The ranks trained on different images (their pools differ) and the weights moved.
    assert not all(
        torch.equal(x, y) for x, y in zip(r0["pools"]["A"]["images"], r1["pools"]["A"]["images"], strict=True)
    )
    ckpt = load_checkpoint(sorted((out / "checkpoints").glob("ckpt_*.pt"))[-1])
    assert ckpt["step"] == 4 and len(ckpt["extra_state"]) == 2  # 4 items / 2 ranks × 2 epochs; one pool set per rank
    first = load_checkpoint(sorted((out / "checkpoints").glob("ckpt_*.pt"))[0])
    assert first["step"] == 2
    assert not torch.equal(first["models"]["G_A"]["model.1.weight"], ckpt["models"]["G_A"]["model.1.weight"])
