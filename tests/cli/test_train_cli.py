"""End to end through the CLI: prepare → train pix2pix → translate → evaluate, and bad input."""

import shutil

import pytest
import torch
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.cli.main import main

TINY = [
    "--netG",
    "unet_32",
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
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def dataset(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    styles = builtin_styles()
    for path in (BUILTIN_CONTENT["tubingen"], styles["starry_night"], styles["the_scream"]):
        shutil.copy(path, src / path.name)
    assert main(["datasets", "prepare", "edges", str(src), "-o", str(tmp_path / "edges"), "--size", "48"]) == 0
    assert (
        main(
            [
                "datasets",
                "prepare",
                "split",
                str(tmp_path / "edges"),
                "-o",
                str(tmp_path / "ds"),
                "--val",
                "0",
                "--test",
                "0.34",
            ]
        )
        == 0
    )
    return tmp_path / "ds"


def test_prepare_train_translate_evaluate(dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "pix2pix",
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
    assert (run / "web" / "index.html").is_file() and (run / "weights" / "G.safetensors").is_file()
    ckpts = sorted((run / "checkpoints").glob("ckpt_*.pt"))
    assert ckpts and ckpts[-1].name == "ckpt_00000004.pt"  # 2 train pairs × 2 epochs
    # resume auto on a finished run: nothing more to do, same final step
    assert (
        main(
            [
                "train",
                "pix2pix",
                "--data",
                str(dataset),
                "--out",
                str(run),
                "--n-epochs",
                "1",
                "--n-epochs-decay",
                "1",
                "--resume",
                "auto",
                *TINY,
            ]
        )
        == 0
    )
    assert sorted((run / "checkpoints").glob("ckpt_*.pt"))[-1].name == "ckpt_00000004.pt"

    out = tmp_path / "out"
    test_pair = next((dataset / "test").iterdir())
    odd = tmp_path / "odd.png"
    Image.open(BUILTIN_CONTENT["tubingen"]).convert("L").resize((37, 29)).save(odd)  # gray, any size
    assert main(["translate", "--checkpoint", str(run / "weights" / "G.safetensors"), str(odd), "-o", str(out)]) == 0
    assert Image.open(out / "odd.png").size == (37, 29)
    assert (
        main(["translate", "--checkpoint", str(ckpts[-1]), str(dataset / "test"), "--ab-input", "left", "-o", str(out)])
        == 0
    )
    assert (out / f"{test_pair.stem}.png").is_file()

    capsys.readouterr()
    assert (
        main(["evaluate", "--checkpoint", str(ckpts[-1]), "--data", str(dataset), "--json", str(tmp_path / "m.json")])
        == 0
    )
    line = capsys.readouterr().out
    assert "PSNR" in line and "SSIM" in line and (tmp_path / "m.json").is_file()
    # evaluating targets against themselves is perfect
    tgt = tmp_path / "tgt"
    tgt.mkdir()
    Image.open(out / f"{test_pair.stem}.png").save(tgt / f"{test_pair.stem}.png")
    assert main(["evaluate", "--pred", str(out), "--target", str(tgt)]) == 0
    assert "SSIM 1.0000" in capsys.readouterr().out


def test_bad_input_is_one_line_exit_2_and_writes_nothing(dataset, tmp_path, capsys):
    run = tmp_path / "run"
    cases = [
        (["train", "pix2pix", "--data", str(tmp_path / "missing"), "--out", str(run), *TINY], "not found"),
        (
            [
                "train",
                "pix2pix",
                "--data",
                str(dataset),
                "--out",
                str(run),
                *TINY[:8],
                "--crop-size",
                "200",
                "--load-size",
                "100",
            ],
            "larger than",
        ),
        (
            [
                "train",
                "pix2pix",
                "--data",
                str(dataset),
                "--out",
                str(run),
                *TINY[:6],
                "--load-size",
                "40",
                "--crop-size",
                "40",
            ],
            "divisible by 32",
        ),
        (
            [
                "train",
                "pix2pix",
                "--data",
                str(dataset),
                "--out",
                str(run),
                "--resume",
                str(tmp_path / "nope.pt"),
                *TINY,
            ],
            "checkpoint not found",
        ),
        (
            ["translate", "--checkpoint", str(tmp_path / "nope.pt"), str(tmp_path / "photos"), "-o", str(run)],
            "checkpoint not found",
        ),
        (["evaluate", "--pred", str(tmp_path)], "give --checkpoint"),
    ]
    for argv, match in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert match in err and "\n" not in err and "Traceback" not in err, err
    assert not run.exists()
    # a checkpoint of another kind of model / a non-checkpoint
    junk = tmp_path / "junk.pt"
    torch.save({"weights": torch.zeros(1)}, junk)
    assert main(["translate", "--checkpoint", str(junk), str(tmp_path / "photos"), "-o", str(run)]) == 2
    assert "not a styleforge" in capsys.readouterr().err
    assert not run.exists()


def test_preset_choices_match_the_presets():
    from styleforge.cli.train import PIX2PIX_PRESETS
    from styleforge.gan.pix2pix import PRESETS

    assert sorted(PIX2PIX_PRESETS) == sorted(PRESETS)
    assert PRESETS["facades"].direction == "BtoA" and PRESETS["edges2shoes"].batch_size == 4
