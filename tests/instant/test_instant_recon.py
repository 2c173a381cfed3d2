"""WCT reconstruction-decoder training: a tiny run, resume, export, and the loaded network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.errors import InputError
from styleforge.instant.recon import ReconConfig, ReconModel, load_photos, main, train


@pytest.fixture
def photos(tmp_path):  # noqa: ANN001, ANN201
    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        arr = (rng.random((40, 56, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(d / f"p{i}.png")
    return d


def test_exclude_file_drops_the_held_out_photos(photos, tmp_path) -> None:  # noqa: ANN001
    ex = tmp_path / "heldout.txt"
    ex.write_text("# comment\ncontent/p1.png\n")
    from styleforge.instant.recon import _excluded

    assert len(load_photos([str(photos)], _excluded(str(ex)), short=32)) == 2
    assert all(min(p.shape[1:]) == 32 and p.dtype == torch.uint8 for p in load_photos([str(photos)], set(), 32))
    with pytest.raises(InputError):
        load_photos([str(tmp_path / "nope")], set(), 32)


@pytest.mark.slow
def test_tiny_training_resumes_and_exports_a_working_wct_network(photos, tmp_path, one_thread) -> None:  # noqa: ANN001
    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    from styleforge.instant.models import load_weights

    cfg = ReconConfig(
        content_dirs=[str(photos)],
        out=str(tmp_path / "run"),
        levels=["relu2_1", "relu1_1"],
        widths=[0.25, 1.0],
        crop=32,
        batch_size=2,
        max_steps=2,
        eval_every=1,
        amp="off",
    )
    path = train(cfg)
    _, meta = load_weights(path)
    assert meta["kind"] == "wct" and meta["step"] == 2
    assert set(meta["model_config"]["decoders"]) == {"relu2_1", "relu1_1"}
    cfg.max_steps = 3
    path = train(cfg)  # resumes from the engine's latest checkpoint
    assert load_weights(path)[1]["step"] == 3
    assert "resumed at step 2" in (tmp_path / "run" / "log.txt").read_text()
    style = tmp_path / "style.png"
    Image.fromarray((np.random.default_rng(1).random((30, 30, 3)) * 255).astype(np.uint8)).save(style)
    model = load_instant([str(style)], adain_decoder=path)
    assert type(model.adain).__name__ == "WCTNet"
    out = stylize_instant(str(photos / "p0.png"), model, InstantOptions(alpha=0.5))
    assert out.size == (56, 40)


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys) -> None:  # noqa: ANN001
    assert main(["--content-dir", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--max-steps", "1"]) == 2
    assert capsys.readouterr().out.strip().count("\n") == 0


def test_transfer_targets_carry_each_sample_to_its_own_style() -> None:
    from styleforge.instant.recon import transfer_targets
    from styleforge.nets.wct import covariance_stats

    g = torch.Generator().manual_seed(0)
    content = torch.randn(2, 5, 12, 12, generator=g)
    style = torch.stack([torch.randn(5, 12, 12, generator=g) * 3 + 1, torch.randn(5, 12, 12, generator=g) * 0.5 - 2])
    with torch.autocast("cpu", dtype=torch.bfloat16):  # as in the training loop: the maths stays float32
        moved = transfer_targets(content, style)
    assert moved.dtype == torch.float32 and moved.shape == content.shape
    for i in range(2):
        got, want = covariance_stats(moved[i : i + 1]), covariance_stats(style[i : i + 1])
        assert torch.allclose(got.cov, want.cov, atol=1e-3 * float(want.cov.abs().max()))
        assert torch.allclose(got.mean, want.mean, atol=1e-3)


def test_transfer_consistency_loss_trains_with_paintings(photos, tmp_path, one_thread) -> None:  # noqa: ANN001
    cfg = ReconConfig(
        content_dirs=[str(photos)],
        out=str(tmp_path / "run"),
        levels=["relu2_1", "relu1_1"],
        widths=[0.25, 1.0],
        crop=32,
        batch_size=2,
        max_steps=2,
        eval_every=1,
        amp="off",
        style_dirs=[str(photos)],
        wct_weight=1.0,
        sizes=[24, 0],
        passes=["relu2_1", "relu1_1"],
    )
    from styleforge.instant.models import load_weights

    _, meta = load_weights(train(cfg))
    assert "3 paintings for the transfer-consistency loss" in (tmp_path / "run" / "log.txt").read_text()
    assert meta["model_config"]["sizes"] == [24, None] and meta["step"] == 2
    # the loss takes part in the update: one step from the same seed and crop, with and without it
    import dataclasses

    one = dataclasses.replace(cfg, max_steps=1)
    moved, _ = load_weights(train(dataclasses.replace(one, out=str(tmp_path / "moved"))))
    plain, _ = load_weights(train(dataclasses.replace(one, out=str(tmp_path / "plain"), wct_weight=0.0)))
    assert not torch.allclose(plain["relu2_1.body.0.1.weight"], moved["relu2_1.body.0.1.weight"])


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The loss of every engine step of :class:`ReconModel`, as the loop computes it."""
    seen: list[float] = []
    step = ReconModel.train_step

    def spy(self, batch, ctx):  # noqa: ANN001, ANN202
        out = step(self, batch, ctx)
        seen.append(float(out["loss"]))
        return out

    monkeypatch.setattr(ReconModel, "train_step", spy)
    return seen


def test_engine_loop_reproduces_the_former_loop_and_resumes_exactly(photos, tmp_path, one_thread, monkeypatch) -> None:  # noqa: ANN001
    """Fixed seed, short run: the engine's steps give the former loop's losses and weights, also across a resume."""
    from recon_reference import old_loop

    from styleforge.instant.models import load_weights

    kw = dict(levels=["relu2_1", "relu1_1"], widths=[0.25, 1.0], crop=32, batch_size=2)
    want_losses, want = old_loop(
        [str(photos)], lr=1e-3, feature_weight=1.0, steps=4, style_dirs=[str(photos)], wct_weight=1.0, **kw
    )
    seen = _spy(monkeypatch)
    cfg = ReconConfig(
        content_dirs=[str(photos)],
        out=str(tmp_path / "run"),
        max_steps=2,
        eval_every=1,
        amp="off",
        style_dirs=[str(photos)],
        wct_weight=1.0,
        **kw,
    )
    train(cfg)
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == [
        "ckpt_00000001.pt",
        "ckpt_00000002.pt",
    ]
    cfg.max_steps = 4
    got, meta = load_weights(train(cfg))  # resumes at step 2 from the engine's checkpoint
    assert meta["step"] == 4 and "resumed at step 2" in (tmp_path / "run" / "log.txt").read_text()
    assert seen == pytest.approx(want_losses, rel=1e-6, abs=0)
    assert set(got) == set(want) and all(torch.equal(got[k], want[k]) for k in want)
    # a resumed run keeps its training settings
    with pytest.raises(InputError, match="model settings differ.*lr"):
        train(ReconConfig(**{**cfg.__dict__, "lr": 5e-4, "max_steps": 5}))
