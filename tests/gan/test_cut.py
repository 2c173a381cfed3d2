"""CUT / FastCUT: PatchNCE against an independent float64 implementation, recipes, one training step."""

from __future__ import annotations

import math

import pytest
import torch

from styleforge.errors import InputError
from styleforge.gan.cut import (
    CUT,
    CUTConfig,
    PatchSampler,
    patch_nce_loss,
    sample_patches,
)


def _nce_float64(q: list[list[list[float]]], k: list[list[list[float]]], tau: float) -> list[float]:
    """Per query patch, written from the paper's equation with plain Python floats:
    −log( e^{q·k⁺/τ} / (e^{q·k⁺/τ} + Σ_{j≠i} e^{q·k_j/τ} + e^{−10/τ}) ), the last term being
    the reference's masked self-pair."""
    out = []
    for qb, kb in zip(q, k, strict=True):
        for i, qi in enumerate(qb):
            dot = [sum(a * b for a, b in zip(qi, kj, strict=True)) for kj in kb]
            terms = [dot[i] / tau] + [dot[j] / tau for j in range(len(kb)) if j != i] + [-10.0 / tau]
            m = max(terms)
            out.append(-(terms[0] - m - math.log(sum(math.exp(t - m) for t in terms))))
    return out


def _unit(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return x / x.norm(dim=-1, keepdim=True)


@pytest.mark.parametrize("tau", [0.07, 0.5])
def test_patch_nce_equals_an_independent_float64_implementation(tau: float) -> None:
    q, k = _unit((2, 5, 4), 0), _unit((2, 5, 4), 1)
    got = patch_nce_loss(q, k, tau)
    want = torch.tensor(_nce_float64(q.tolist(), k.tolist(), tau), dtype=torch.float64)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_patch_nce_keys_get_no_gradient_and_matching_patches_score_low() -> None:
    q, k = _unit((1, 6, 8), 2).requires_grad_(), _unit((1, 6, 8), 3).requires_grad_()
    patch_nce_loss(q, k).sum().backward()
    assert k.grad is None and q.grad is not None and q.grad.abs().sum() > 0
    same = patch_nce_loss(k.detach(), k.detach()).mean()
    assert same < patch_nce_loss(q.detach(), k.detach()).mean() and same < 0.5


def test_sampler_uses_the_same_locations_for_queries_and_keys() -> None:
    f = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    torch.manual_seed(0)
    a, ids = sample_patches([f], 7)
    b, _ = sample_patches([f + 1], 7, ids)
    assert a[0].shape == (2, 7, 3) and torch.equal(b[0], a[0] + 1)
    flat = f.permute(0, 2, 3, 1).reshape(2, 20, 3)  # location l of image n: f[n, :, l // 5, l % 5]
    assert torch.equal(a[0], flat[:, ids[0]])
    F = PatchSampler([3], nc=16)
    out, _ = F([f], 7, ids)
    torch.testing.assert_close(out[0].norm(dim=-1), torch.ones(2, 7), atol=1e-5, rtol=0)


def test_recipes_follow_the_reference_defaults() -> None:
    cut, fast = CUTConfig(), CUTConfig(mode="fastcut")
    assert (cut.lambda_nce, cut.nce_idt, cut.flip_equivariance) == (1.0, True, False)
    assert (fast.lambda_nce, fast.nce_idt, fast.flip_equivariance) == (10.0, False, True)
    assert cut.nce_layers == (0, 4, 8, 12, 16) and cut.num_patches == 256 and cut.netF_nc == 256 and cut.nce_T == 0.07
    assert (cut.gan_mode, cut.lr, cut.beta1, cut.beta2, cut.init) == ("lsgan", 2e-4, 0.5, 0.999, "xavier")
    assert CUTConfig(mode="fastcut", lambda_nce=3.0).lambda_nce == 3.0
    with pytest.raises(InputError, match="ResNet generator"):
        CUTConfig(netG="unet_256")
    with pytest.raises(InputError, match="cut or fastcut"):
        CUTConfig(mode="fastcat")


def test_nce_layers_are_the_reference_encoder_layers() -> None:
    m = CUT(CUTConfig(ngf=4, ndf=4))
    G = m.networks["G"]
    names = [type(G.model[i]).__name__ for i in (0, 4, 8, 12, 16)]
    assert names == ["ReflectionPad2d", "Conv2d", "Conv2d", "ResnetBlock", "ResnetBlock"]
    feats = G.features(torch.zeros(1, 3, 32, 32), (0, 4, 8, 12, 16))
    assert [tuple(f.shape[1:]) for f in feats] == [(3, 38, 38), (8, 32, 32), (16, 16, 16), (16, 8, 8), (16, 8, 8)]
    assert [mlp[0].in_features for mlp in m.networks["F"].mlps] == [3, 8, 16, 16, 16]


@pytest.mark.parametrize("mode", ["cut", "fastcut"])
def test_one_step_updates_g_d_and_f(mode: str) -> None:
    from styleforge.engine.trainer import StepContext

    m = CUT(CUTConfig(mode=mode, netG="resnet_6blocks", ngf=4, ndf=4, num_patches=32))
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in m.networks.items()}
    ctx = StepContext(dict(m.networks), m.make_optimizers(), torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    batch = {"A": torch.rand(1, 3, 32, 32, generator=g) * 2 - 1, "B": torch.rand(1, 3, 32, 32, generator=g) * 2 - 1}
    out = m.train_step(batch, ctx)
    assert set(out) == {"D_real", "D_fake", "G_GAN", "NCE"} | ({"NCE_Y"} if mode == "cut" else set())
    assert all(torch.isfinite(v) for v in out.values())
    for k, n in m.networks.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters(), strict=True)), k
    assert set(m.visuals(batch)) == {"real_A", "fake_B", "real_B"} | ({"idt_B"} if mode == "cut" else set())


def test_trained_cut_loads_through_the_one_loader(tmp_path) -> None:
    from PIL import Image

    from styleforge.data.transforms import PairedTransform
    from styleforge.data.unaligned import UnalignedDataset
    from styleforge.engine import TrainConfig, find_latest, fit
    from styleforge.errors import InputError
    from styleforge.gan.loading import load_translator

    g = torch.Generator().manual_seed(0)
    for side in "AB":
        (tmp_path / side).mkdir()
        for i in range(2):
            Image.fromarray((torch.rand(36, 36, 3, generator=g) * 255).byte().numpy()).save(
                tmp_path / side / f"{i}.png"
            )
    ds = UnalignedDataset(tmp_path / "A", tmp_path / "B", transform=PairedTransform(load_size=36, crop_size=32))
    model = CUT(CUTConfig(mode="fastcut", netG="resnet_6blocks", ngf=4, ndf=4, num_patches=16))
    fit(
        model,
        ds,
        TrainConfig(
            out_dir=str(tmp_path / "run"), n_epochs=1, n_epochs_decay=0, progress=False, tensorboard=False, n_visuals=1
        ),
    )
    x = torch.rand(1, 3, 30, 42, generator=g)
    with torch.no_grad():
        want = (model.networks["G"].eval()(torch.nn.functional.pad(x * 2 - 1, (0, 2, 0, 2), mode="reflect")) + 1) / 2
    for path in (tmp_path / "run" / "weights" / "G.safetensors", find_latest(tmp_path / "run" / "checkpoints")):
        tr = load_translator(path)
        assert tr.info["kind"] == "cut" and tr.info["mode"] == "fastcut"
        torch.testing.assert_close(tr.tensor(x), want[..., :30, :42].clamp(0, 1), rtol=0, atol=1e-6)
    with pytest.raises(InputError, match="one way only"):
        load_translator(tmp_path / "run" / "weights" / "G.safetensors", direction="BtoA")
