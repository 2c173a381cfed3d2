"""Training recipes: a few steps lower the loss; datasets are reproducible; the engine runs them."""

from __future__ import annotations

from pathlib import Path

import torch

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.engine import StepContext, TrainConfig, fit, load_safetensors
from styleforge.instant.data import ContentStyleDataset, CropDataset, collect_images
from styleforge.instant.train import AdaINConfig, AdaINModel, PerStyleConfig, PerStyleModel


def _ctx(model, amp_dtype: torch.dtype | None = None) -> StepContext:  # noqa: ANN001
    opts = model.make_optimizers()
    return StepContext(dict(model.networks), opts, torch.device("cpu"), amp_dtype)


def _files() -> list[Path]:
    """The bundled images (a photo and six paintings) stand in for a photo folder."""
    return collect_images([BUILTIN_CONTENT["tubingen"].parent, builtin_styles()["starry_night"].parent])


def _photos(n: int = 2) -> torch.Tensor:
    files = _files()[:n]
    ds = CropDataset(files, 48, seed=0)
    return torch.stack([ds[(i, 7)]["content"] for i in range(n)])


def test_per_style_steps_lower_the_loss() -> None:
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(3))
    model = PerStyleModel(style, PerStyleConfig(lr=1e-3))
    ctx = _ctx(model)
    batch = {"content": _photos()}
    losses = [float(model.train_step(batch, ctx)["total"]) for _ in range(12)]
    assert losses[-1] < 0.8 * losses[0]


def test_bf16_autocast_steps_lower_the_loss_with_fp32_statistics() -> None:
    """Mixed precision (bf16 on CPU): VGG passes in bf16, Gram losses in fp32, the loss still falls."""
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(3))
    model = PerStyleModel(style, PerStyleConfig(arch="fast", lr=2e-3))
    ctx = _ctx(model, torch.bfloat16)
    batch = {"content": _photos()}
    terms = [model.train_step(batch, ctx) for _ in range(12)]
    assert all(t["total"].dtype == torch.float32 for t in terms)
    assert float(terms[-1]["total"]) < 0.8 * float(terms[0]["total"])
    assert all(p.dtype == torch.float32 for p in model.net.parameters())


def test_adain_steps_lower_the_loss() -> None:
    model = AdaINModel(AdaINConfig(decoder="small", lr=1e-3))
    ctx = _ctx(model)
    c = _photos()
    batch = {"content": c, "style": c.flip(0).flip(-1) * 0.5}
    losses = [float(model.train_step(batch, ctx)["total"]) for _ in range(10)]
    assert losses[-1] < 0.8 * losses[0]


def test_crops_are_reproducible_and_sized() -> None:
    files = _files()
    ds = ContentStyleDataset(files, files, 40, seed=1)
    a, b, c = ds[(0, 123)], ds[(0, 123)], ds[(0, 124)]
    assert a["content"].shape == a["style"].shape == (3, 40, 40)
    assert torch.equal(a["content"], b["content"]) and torch.equal(a["style"], b["style"])
    assert not torch.equal(a["content"], c["content"])


def test_fit_writes_loadable_weights(tmp_path) -> None:  # noqa: ANN001
    files = _files()[:2]
    style = torch.rand(1, 3, 32, 32)
    model = PerStyleModel(style, PerStyleConfig(), style_name="noise")
    cfg = TrainConfig(
        out_dir=str(tmp_path / "run"),
        n_epochs=1,
        n_epochs_decay=0,
        lr_policy="constant",
        batch_size=2,
        max_steps=1,
        tensorboard=False,
        progress=False,
        n_visuals=1,
    )
    result = fit(model, CropDataset(files, 32), cfg)
    assert result.step == 1
    tensors, meta = load_safetensors(tmp_path / "run" / "weights" / "T.safetensors")
    assert meta["kind"] == "instant" and '"style": "noise"' in meta["model_config"]
    assert set(tensors) == set(model.net.state_dict())


def test_trained_adain_decoder_stylises_and_exports(tmp_path) -> None:  # noqa: ANN001
    from PIL import Image

    from styleforge.instant import InstantOptions, load_instant, stylize_instant
    from styleforge.instant.onnx import export_onnx

    files = _files()[:2]
    model = AdaINModel(AdaINConfig(decoder="small"))
    cfg = TrainConfig(
        out_dir=str(tmp_path / "run"),
        n_epochs=1,
        n_epochs_decay=0,
        lr_policy="constant",
        batch_size=2,
        max_steps=1,
        tensorboard=False,
        progress=False,
        n_visuals=1,
    )
    fit(model, ContentStyleDataset(files, files, 32), cfg)
    decoder = tmp_path / "run" / "weights" / "decoder.safetensors"
    inst = load_instant([str(files[1])], backend="torch", adain_decoder=decoder)
    assert inst.kinds == ["adain"]
    photo = Image.open(files[0]).convert("RGB").resize((48, 40))
    out = stylize_instant(photo, inst, InstantOptions(alpha=0.5))
    assert out.size == (48, 40)
    path = export_onnx(inst, tmp_path / "adain.onnx")
    assert path.stat().st_size > 1_000_000  # VGG16 to relu4_1 + decoder
