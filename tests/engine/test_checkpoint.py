import pytest
import torch

from styleforge.engine import export_safetensors, find_latest, load_checkpoint, load_safetensors, save_checkpoint
from styleforge.engine.checkpoint import get_rng_state, prune_checkpoints, set_rng_state
from styleforge.errors import InputError


def test_save_load_round_trip_and_validation(tmp_path):
    state = {"kind": "pix2pix", "models": {"G": {"w": torch.arange(3.0)}}, "step": 5, "rng": get_rng_state()}
    p = save_checkpoint(state, tmp_path / "ckpt_00000005.pt")
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no temp file left
    ck = load_checkpoint(p, kind="pix2pix")
    assert ck["version"] == 1 and torch.equal(ck["models"]["G"]["w"], torch.arange(3.0))
    with pytest.raises(InputError, match="is a pix2pix checkpoint, not cyclegan"):
        load_checkpoint(p, kind="cyclegan")
    torch.save({"format": "styleforge-checkpoint", "version": 99}, tmp_path / "v99.pt")
    with pytest.raises(InputError, match="version 99"):
        load_checkpoint(tmp_path / "v99.pt")
    (tmp_path / "junk.pt").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not a readable"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a styleforge"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_rng_state_round_trip():
    import random

    import numpy as np

    s = get_rng_state()
    a = (torch.rand(2), np.random.rand(), random.random())
    set_rng_state(s)
    b = (torch.rand(2), np.random.rand(), random.random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_find_latest_and_prune(tmp_path):
    assert find_latest(tmp_path) is None
    for s in (2, 10, 7):
        save_checkpoint({"step": s}, tmp_path / f"ckpt_{s:08d}.pt")
    (tmp_path / ".ckpt_00000099.pt.123.tmp.pt").write_bytes(b"partial")  # a killed write
    assert find_latest(tmp_path).name == "ckpt_00000010.pt"
    prune_checkpoints(tmp_path, 2)
    assert sorted(f.name for f in tmp_path.glob("ckpt_*")) == ["ckpt_00000007.pt", "ckpt_00000010.pt"]


def test_safetensors_export(tmp_path):
    net = torch.nn.Conv2d(2, 3, 3)
    p = export_safetensors(
        net.state_dict(), tmp_path / "G.safetensors", metadata={"kind": "pix2pix", "model_config": {"a": 1}}
    )
    tensors, meta = load_safetensors(p)
    assert (
        torch.equal(tensors["weight"], net.weight) and meta["kind"] == "pix2pix" and meta["model_config"] == '{"a": 1}'
    )
    (tmp_path / "bad.safetensors").write_bytes(b"xx")
    with pytest.raises(InputError):
        load_safetensors(tmp_path / "bad.safetensors")
