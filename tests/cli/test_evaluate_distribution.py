"""``styleforge evaluate`` reports KID-VGG16 by default and FID/KID with --fid-weights (pytorch-fid's layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from styleforge.cli.main import main


def _folders(tmp_path: Path, n: int = 3) -> tuple[Path, Path]:
    pred, tgt = tmp_path / "pred", tmp_path / "tgt"
    pred.mkdir()
    tgt.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(n):
        arr = (torch.rand(40 + 8 * i, 48, 3, generator=g) * 255).byte().numpy()  # sizes differ between pairs
        Image.fromarray(arr).save(tgt / f"{i}.png")
        Image.fromarray(255 - arr).save(pred / f"{i}.png")
    return pred, tgt


def test_fid_inception_has_torchvision_names_and_shapes() -> None:
    from styleforge.engine.inception import FIDInception

    sd = FIDInception().state_dict()
    assert (
        sum(v.numel() for k, v in sd.items() if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
        == 21_785_568
    )
    # torchvision's inception_v3 (27 161 264 parameters) without fc (2 049 000) and AuxLogits (3 326 696)
    assert sd["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert sd["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert sd["Mixed_7c.branch3x3dbl_3b.conv.weight"].shape == (384, 384, 3, 1)
    assert sd["Mixed_7c.branch_pool.bn.running_var"].shape == (192,)


@pytest.mark.slow  # 2 × 2 Inception-v3 forwards at 299 px
def test_evaluate_with_fid_weights_reports_fid_and_kid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from styleforge.engine.inception import FIDInception

    net = FIDInception()
    sd = dict(net.state_dict())
    sd["fc.weight"], sd["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)  # pytorch-fid's file has them
    torch.save(sd, tmp_path / "pt_inception.pth")
    pred, tgt = _folders(tmp_path, 2)
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--pred",
                str(pred),
                "--target",
                str(tgt),
                "--no-kid",
                "--fid-weights",
                str(tmp_path / "pt_inception.pth"),
                "--json",
                str(tmp_path / "m.json"),
            ]
        )
        == 0
    )
    line = capsys.readouterr().out
    assert "FID " in line and "KID " in line and "KID-VGG16" not in line
    import json

    m = json.loads((tmp_path / "m.json").read_text())
    assert m["fid"] >= 0 and set(m) >= {"fid", "kid", "psnr"}
    torch.save({"conv.weight": torch.zeros(1)}, tmp_path / "other.pth")
    assert (
        main(["evaluate", "--pred", str(pred), "--target", str(tgt), "--fid-weights", str(tmp_path / "other.pth")]) == 2
    )
    assert "not pytorch-fid's Inception-v3" in capsys.readouterr().err


@pytest.mark.slow  # the offline VGG16 is converted into a fresh test cache first
def test_evaluate_reports_kid_vgg16_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred, tgt = _folders(tmp_path)
    capsys.readouterr()
    assert main(["evaluate", "--pred", str(pred), "--target", str(tgt)]) == 0
    assert "KID-VGG16" in capsys.readouterr().out
