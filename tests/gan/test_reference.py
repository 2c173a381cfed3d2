"""Reference-layout generator state dicts (pytorch-CycleGAN-and-pix2pix, CUT) load exactly.

The reference architectures are written here independently (the layout the published
``latest_net_G.pth`` files have: key names and shapes), randomly initialised, saved as a bare
state dict, loaded through ``load_translator`` and compared output for output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from reference_nets import RefResnet, RefUnet, randomise
from torch import nn

from styleforge.errors import InputError
from styleforge.gan.loading import load_translator
from styleforge.gan.reference import from_reference, infer_layout, to_reference


def _save(state: dict[str, torch.Tensor], tmp_path: Path, name: str = "latest_net_G.pth") -> Path:
    p = tmp_path / name
    torch.save(state, p)
    return p


# -- tests ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("antialias", [False, True], ids=["cyclegan", "cut"])
def test_resnet_reference_state_dict_loads_exactly(tmp_path: Path, antialias: bool) -> None:
    ref = randomise(RefResnet(3, 3, 4, 6, antialias=antialias), 1).eval()
    state = ref.state_dict()
    assert any(".conv_block." in k for k in state) and (any(k.endswith(".filt") for k in state) == antialias)
    tr = load_translator(_save(state, tmp_path))
    assert tr.info["kind"] == "reference" and tr.info["network"] == "resnet_6blocks"
    assert tr.info["upsample"] == ("antialias" if antialias else "deconv")
    x = torch.rand(2, 3, 24, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = (ref(x * 2 - 1) + 1) / 2
    torch.testing.assert_close(tr.tensor(x), want.clamp(0, 1), rtol=0, atol=2e-6)


def test_old_instance_norm_running_stats_are_dropped(tmp_path: Path) -> None:
    ref = randomise(RefResnet(3, 3, 4, 9), 3).eval()
    state = dict(ref.state_dict())
    for name, m in ref.named_modules():  # what PyTorch < 0.4 wrote for InstanceNorm2d(affine=False)
        if isinstance(m, nn.InstanceNorm2d):
            state[f"{name}.running_mean"] = torch.zeros(m.num_features)
            state[f"{name}.running_var"] = torch.ones(m.num_features)
    tr = load_translator(_save(state, tmp_path))
    assert tr.info["network"] == "resnet_9blocks"
    x = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        want = ((ref(x * 2 - 1) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(tr.tensor(x), want, rtol=0, atol=2e-6)


def test_unet_batchnorm_reference_loads_with_test_time_batch_statistics(tmp_path: Path) -> None:
    ref = randomise(RefUnet(3, 3, 5, 4), 5)
    state = ref.state_dict()
    assert "model.model.1.model.2.running_mean" in state and "model.model.0.weight" in state
    layout = infer_layout(state)
    assert (layout.netG, layout.norm, layout.ngf) == ("unet_32", "batch", 4)
    tr = load_translator(_save(state, tmp_path))
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    ref.train()  # the reference's test.py without --eval: batch statistics (no dropout layers here)
    with torch.no_grad():
        want = ((ref(x * 2 - 1) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(tr.tensor(x), want, rtol=0, atol=2e-6)


def test_unet_256_key_names_and_shapes_round_trip() -> None:
    from styleforge.nets import build_generator

    ref = RefUnet(3, 3, 8, 2)
    ours = build_generator("unet_256", 3, 3, ngf=2, norm="batch", dropout=True)
    mapped = to_reference(ours)
    assert {k: tuple(v.shape) for k, v in mapped.items()} == {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    back = from_reference(ours, ref.state_dict())
    assert set(back) == set(ours.state_dict())


def test_a_reference_state_dict_of_another_shape_is_one_line(tmp_path: Path) -> None:
    state = RefResnet(3, 3, 4, 6).state_dict()
    state["model.1.weight"] = torch.zeros(4, 3, 5, 5)  # a 5×5 stem: not a ResNet generator of ours
    with pytest.raises(InputError, match="model.1.weight has shape"):
        load_translator(_save(state, tmp_path))


def test_a_discriminator_state_dict_is_refused(tmp_path: Path) -> None:
    from styleforge.nets import build_discriminator

    p = _save(build_discriminator("basic", 3, ndf=4).state_dict(), tmp_path, "latest_net_D.pth")
    with pytest.raises(InputError, match="holds no generator weights"):
        load_translator(p)


def test_translate_cli_reads_a_reference_file_and_refuses_another_architecture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from styleforge.cli.main import main
    from styleforge.nets import build_discriminator

    good = _save(randomise(RefResnet(3, 3, 4, 6), 7).state_dict(), tmp_path)
    Image.new("RGB", (30, 20), (200, 100, 50)).save(tmp_path / "in.png")
    assert main(["translate", "--checkpoint", str(good), str(tmp_path / "in.png"), "-o", str(tmp_path / "out")]) == 0
    assert Image.open(tmp_path / "out" / "in.png").size == (30, 20)
    bad = _save(build_discriminator("basic", 3, ndf=4).state_dict(), tmp_path, "d.pth")
    capsys.readouterr()
    assert main(["translate", "--checkpoint", str(bad), str(tmp_path / "in.png"), "-o", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no generator weights" in err and not (tmp_path / "out2").exists()
