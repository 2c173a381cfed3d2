"""CUT on the engine: a SIGKILLed run resumes bit-exactly; 2 gloo ranks end with identical weights."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

HELPER = Path(__file__).with_name("tiny_cyclegan_train.py")


def _data(root: Path, na: int = 3, nb: int = 4) -> Path:
    g = torch.Generator().manual_seed(0)
    for side, n in (("A", na), ("B", nb)):
        d = root / f"train{side}"
        d.mkdir(parents=True)
        for i in range(n):
            Image.fromarray((torch.rand(40, 40, 3, generator=g) * 255).byte().numpy()).save(d / f"{i}.png")
    return root


def _cmd(data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, str(HELPER), str(data), str(out), *extra]


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_killed_cut_run_resumes_to_the_same_weights(tmp_path: Path, mode: str) -> None:
    data = _data(tmp_path / "data")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(_cmd(data, tmp_path / "straight", "--model", mode), check=True, env=env, capture_output=True)
    proc = subprocess.Popen(
        _cmd(data, tmp_path / "killed", "--model", mode, "--save-every-steps", "1", "--sleep", "0.3"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ckpts = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 60
    while time.time() < deadline and not (
        ckpts.is_dir() and any(p.name >= "ckpt_00000003.pt" for p in ckpts.glob("ckpt_*.pt"))
    ):
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = sorted(ckpts.glob("ckpt_*.pt"))
    assert saved and saved[-1].name < "ckpt_00000006.pt", "the run finished before it was killed"
    subprocess.run(
        _cmd(data, tmp_path / "killed", "--model", mode, "--resume", "auto"), check=True, env=env, capture_output=True
    )
    a = torch.load(tmp_path / "straight" / "final_rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "killed" / "final_rank0.pt", weights_only=True)
    for net in ("G", "D", "F"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), (net, k)


@pytest.mark.distributed
def test_two_gloo_ranks_end_with_identical_cut_weights(tmp_path: Path) -> None:
    data = _data(tmp_path / "data", 4, 3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
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
                _cmd(data, tmp_path / "run", "--model", "cut"),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    logs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(logs)[-3000:]
    r0, r1 = (torch.load(tmp_path / "run" / f"final_rank{r}.pt", weights_only=True) for r in range(2))
    from styleforge.gan.cut import CUT, CUTConfig

    init = CUT(
        CUTConfig(netG="resnet_6blocks", ngf=4, ndf=4, num_patches=64), generator=torch.Generator().manual_seed(0)
    )
    for net in ("G", "D", "F"):
        for k, v in r0["nets"][net].items():
            assert torch.equal(v, r1["nets"][net][k]), f"{net}.{k} differs between ranks"
        assert not torch.equal(r0["nets"][net][k], init.networks[net].state_dict()[k]), f"{net} did not train"
