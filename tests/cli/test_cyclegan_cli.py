"""`styleforge train cyclegan` → `translate` both ways, tiny end to end; bad input is one line and exit 2."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from styleforge.cli.main import main

TINY = [
    "--netG",
    "resnet_6blocks",
    "--ngf",
    "4",
    "--ndf",
    "4",
    "--load-size",
    "36",
    "--crop-size",
    "32",
    "--num-workers",
    "0",
    "--no-progress",
    "--no-tensorboard",
    "--n-visuals",
    "2",
]


def _folder(d: Path, n: int, colour, *, mode="RGB", size=(40, 40)) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(len(str(d)))
    for i in range(n):
        arr = (torch.rand(size[1], size[0], 3, generator=g) * 60).byte().numpy() + torch.tensor(colour).byte().numpy()
        Image.fromarray(arr).convert(mode).save(d / f"{i}.png")
    return d


@pytest.fixture()
def dataset(tmp_path):
    _folder(tmp_path / "ds" / "trainA", 2, (180, 40, 40))
    _folder(tmp_path / "ds" / "trainB", 3, (40, 40, 180))
    return tmp_path / "ds"


def test_train_then_translate_both_ways(dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "cyclegan",
                "--data",
                str(dataset),
                "--out",
                str(run),
                "--n-epochs",
                "1",
                "--n-epochs-decay",
                "1",
                *TINY,
            ]
        )
        == 0
    )
    ckpt = sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1]
    assert ckpt.name == "ckpt_00000006.pt"  # 3 pairs × 2 epochs
    assert sorted(p.name for p in (run / "weights").iterdir()) == [
        f"{n}.safetensors" for n in ("D_A", "D_B", "G_A", "G_B")
    ]
    html = (run / "web" / "index.html").read_text()
    assert "real_A | fake_B | rec_A | idt_B | real_B | fake_A | rec_B | idt_A" in html
    odd = _folder(tmp_path / "odd", 1, (100, 100, 100), size=(37, 29))  # any size at inference
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / f"out_{direction}"
        assert main(["translate", "--checkpoint", str(ckpt), "--direction", direction, str(odd), "-o", str(out)]) == 0
        assert Image.open(out / "0.png").size == (37, 29)
    # Each exported generator translates on its own, in its own direction.
    assert (
        main(
            [
                "translate",
                "--checkpoint",
                str(run / "weights" / "G_B.safetensors"),
                str(odd),
                "-o",
                str(tmp_path / "gb"),
            ]
        )
        == 0
    )
    a = Image.open(tmp_path / "gb" / "0.png").tobytes()
    assert a == Image.open(tmp_path / "out_BtoA" / "0.png").tobytes()
    capsys.readouterr()
    assert (
        main(
            [
                "translate",
                "--checkpoint",
                str(run / "weights" / "G_A.safetensors"),
                "--direction",
                "BtoA",
                str(odd),
                "-o",
                str(tmp_path / "no"),
            ]
        )
        == 2
    )
    assert "--direction AtoB" in capsys.readouterr().err and not (tmp_path / "no").exists()
    assert main(["translate", "--checkpoint", str(ckpt), str(odd), "-o", str(tmp_path / "no")]) == 2
    assert "--direction" in capsys.readouterr().err
    # Resume continues to a longer schedule from the last checkpoint.
    assert (
        main(
            [
                "train",
                "cyclegan",
                "--data",
                str(dataset),
                "--out",
                str(run),
                "--n-epochs",
                "1",
                "--n-epochs-decay",
                "2",
                "--resume",
                "auto",
                *TINY,
            ]
        )
        == 0
    )
    assert (run / "checkpoints" / "ckpt_00000009.pt").exists()


def test_two_folders_single_image_domain_and_direction_swap(tmp_path):
    a = _folder(tmp_path / "one", 1, (200, 200, 0))
    b = _folder(tmp_path / "many", 4, (0, 0, 200))
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "cyclegan",
                "--data-a",
                str(a),
                "--data-b",
                str(b),
                "--direction",
                "BtoA",
                "--out",
                str(run),
                "--max-steps",
                "2",
                "--pool-size",
                "1",
                *TINY,
            ]
        )
        == 0
    )
    ck = torch.load(sorted((run / "checkpoints").glob("*.pt"))[-1], weights_only=True)
    assert ck["extra_config"]["data_A"] == str(b) and ck["step"] == 2


def test_mismatched_channels_gray_to_colour(tmp_path, capsys):
    a = _folder(tmp_path / "gray", 2, (90, 90, 90), mode="L")
    b = _folder(tmp_path / "rgb", 2, (0, 90, 200))
    args = [
        "train",
        "cyclegan",
        "--data-a",
        str(a),
        "--data-b",
        str(b),
        "--out",
        str(tmp_path / "run"),
        "--max-steps",
        "1",
        *TINY,
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--lambda-identity 0" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
    assert main([*args, "--lambda-identity", "0"]) == 0
    ck = torch.load(sorted((tmp_path / "run" / "checkpoints").glob("*.pt"))[-1], weights_only=True)
    assert (ck["model_config"]["input_nc"], ck["model_config"]["output_nc"]) == (1, 3)


@pytest.mark.parametrize(
    "extra, match",
    [
        ([], "no training data"),
        (["--data", "MISSING"], "not found"),
        (["--data", "DS", "--data-a", "DS"], "not both"),
        (["--data", "ONLY_A"], "trainB"),
        (["--data", "DS", "--crop-size", "30"], "divisible by 4"),
        (["--data", "DS", "--preprocess", "crop", "--crop-size", "64"], "crop-size 64"),
        (["--data", "DS", "--netG", "resnet_7blocks"], "resnet_9blocks"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(extra, match, dataset, tmp_path, capsys):
    _folder(tmp_path / "only" / "trainA", 1, (0, 0, 0))
    repl = {"DS": str(dataset), "MISSING": str(tmp_path / "missing"), "ONLY_A": str(tmp_path / "only")}
    extra = [repl.get(x, x) for x in extra]
    out = tmp_path / "run"
    assert main(["train", "cyclegan", *TINY, *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1, err
    assert not out.exists()


def test_datasets_download_is_online_only(tmp_path, monkeypatch, capsys):
    import urllib.error

    def offline(*a, **k):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    assert main(["datasets", "download", "horse2zebra", "-o", str(tmp_path)]) == 2
    assert "no internet access" in capsys.readouterr().err


def test_train_fastcut_records_its_data_settings_and_translates(dataset, tmp_path):
    """`train fastcut` through gan.training: the checkpoint's data settings, the mode's defaults, a translation."""
    from styleforge.engine.checkpoint import load_checkpoint

    run = tmp_path / "run"
    tiny = [a for a in TINY if a not in ("--netG", "resnet_6blocks")]
    assert (
        main(
            [
                "train",
                "fastcut",
                "--data",
                str(dataset),
                "--out",
                str(run),
                "--n-epochs",
                "1",
                "--n-epochs-decay",
                "0",
                "--netG",
                "resnet_6blocks",
                "--num-patches",
                "8",
                "--netF-nc",
                "8",
                *tiny,
            ]
        )
        == 0
    )
    ckpt = load_checkpoint(sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1])
    assert ckpt["kind"] == "cut" and ckpt["model_config"]["lambda_nce"] == 10.0  # FastCUT's λ_NCE
    extra = ckpt["extra_config"]
    assert (extra["crop_size"], extra["load_size"], extra["direction"]) == (32, 36, "AtoB")
    assert extra["data_A"].endswith("trainA") and extra["data_B"].endswith("trainB")
    odd = _folder(tmp_path / "odd", 1, (100, 100, 100), size=(37, 29))
    assert (
        main(
            ["translate", "--checkpoint", str(run / "weights" / "G.safetensors"), str(odd), "-o", str(tmp_path / "out")]
        )
        == 0
    )
    assert Image.open(tmp_path / "out" / "0.png").size == (37, 29)
