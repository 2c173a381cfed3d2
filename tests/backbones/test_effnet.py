"""EfficientNet-Lite0 backbone: real ImageNet weights, layer names, truncation, Gatys use."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from styleforge.backbones import build_backbone
from styleforge.backbones.effnet import BLOCK_ARGS, EfficientNetLite0Features, _same_pad, layer_names
from styleforge.errors import InputError
from styleforge.io import load_image, pil_to_tensor

# ImageNet class indices (of the 1000-class ILSVRC-2012 list).
ZEBRA, SNOW_LEOPARD, GUENON, PATAS = 340, 289, 370, 371
TABBY, TIGER_CAT, EGYPTIAN_CAT, ESPRESSO, CUP = 281, 282, 285, 967, 968


@pytest.fixture(scope="module")
def classifier() -> EfficientNetLite0Features:
    return EfficientNetLite0Features(classifier=True, blur=False)


def _photo(shared_data, name: str) -> torch.Tensor:  # noqa: ANN001
    img = load_image(shared_data / "more" / "content" / name).resize((224, 224), Image.Resampling.BICUBIC)
    return pil_to_tensor(img)


@pytest.mark.parametrize(
    ("name", "classes"),
    [("chelsea", {TABBY, TIGER_CAT, EGYPTIAN_CAT}), ("coffee", {ESPRESSO, CUP})],
)
def test_classifies_sample_photos(classifier, name, classes) -> None:  # noqa: ANN001
    """scikit-image's CC0 sample photos (a cat, a cup of coffee): no research images needed."""
    data = pytest.importorskip("skimage.data")  # dev extra
    img = Image.fromarray(getattr(data, name)()).convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    probs = classifier.logits(pil_to_tensor(img)).softmax(1)[0]
    assert int(probs.argmax()) in classes
    assert float(probs.max()) > 0.5  # confident: random or mis-wired weights give ~0.001


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "classes"),
    [
        ("DmitryUlyanov__zebra_GT.jpg", {ZEBRA}),
        ("DmitryUlyanov__tiger.jpg", {SNOW_LEOPARD}),
        ("DmitryUlyanov__monkey.jpg", {GUENON, PATAS}),
    ],
)
def test_classifies_real_photos(classifier, shared_data, name, classes) -> None:  # noqa: ANN001
    probs = classifier.logits(_photo(shared_data, name)).softmax(1)[0]
    assert int(probs.argmax()) in classes
    assert float(probs.max()) > 0.5  # confident: random or mis-wired weights give ~0.001


@pytest.mark.realdata
def test_tf_same_padding_is_what_the_weights_expect(classifier, shared_data, monkeypatch) -> None:  # noqa: ANN001
    from styleforge.backbones import effnet

    x = _photo(shared_data, "DmitryUlyanov__zebra_GT.jpg")
    p_same = float(classifier.logits(x).softmax(1)[0, ZEBRA])

    def symmetric(self, h):  # noqa: ANN001, ANN202 - PyTorch-style padding k // 2 on every side
        return torch.nn.functional.conv2d(
            h, self.weight, self.bias, self.stride, self.kernel_size[0] // 2, 1, self.groups
        )

    monkeypatch.setattr(effnet._SameConv, "forward", symmetric)
    p_sym = float(classifier.logits(x).softmax(1)[0, ZEBRA])
    assert p_same > 0.9 and p_same > p_sym  # the weights were trained with TensorFlow's padding


def test_same_pad_matches_tensorflow() -> None:
    assert _same_pad(224, 3, 2) == (0, 1)
    assert _same_pad(225, 3, 2) == (1, 1)
    assert _same_pad(56, 5, 2) == (1, 2)
    assert _same_pad(7, 3, 1) == (1, 1)


def test_layer_names_and_shapes() -> None:
    names = layer_names()
    assert names[0] == "stem" and names[-1] == "head"
    assert "block0_expand" not in names and "block1_expand" in names  # block 0 has no expansion
    assert len(BLOCK_ARGS) == 16
    net = EfficientNetLite0Features(layers=["block8_expand"], pretrained=False)
    feats = net(torch.rand(1, 3, 67, 50), ["stem", "block1_expand", "block3_expand", "block5_expand", "block8_expand"])
    shapes = {k: tuple(v.shape) for k, v in feats.items()}
    assert shapes == {
        "stem": (1, 32, 34, 25),
        "block1_expand": (1, 96, 34, 25),
        "block3_expand": (1, 144, 17, 13),
        "block5_expand": (1, 240, 9, 7),
        "block8_expand": (1, 480, 5, 4),
    }
    assert all(float(v.min()) >= 0 and float(v.max()) <= 6 for v in feats.values())  # ReLU6 outputs


def test_truncated_after_deepest_layer_and_frozen() -> None:
    net = build_backbone("effnet-lite0", layers=["stem", "block3_expand"])
    assert net.names[-1] == "block3_expand"
    assert "block4_dw" not in net.convs and "block3" not in net.names
    assert not any(p.requires_grad for p in net.parameters())
    net.train()
    assert not net.training
    with pytest.raises(InputError, match="beyond the truncation point"):
        net.check_layers(["block5_expand"])


def test_unknown_layer_lists_valid_names() -> None:
    with pytest.raises(InputError, match=r"unknown effnet-lite0 layer 'relu4_2'.*valid: stem, block0_dw"):
        build_backbone("effnet-lite0", layers=["relu4_2"])
    with pytest.raises(InputError, match="did you mean 'block5_expand'"):
        build_backbone("effnet-lite0", layers=["block5_expnd"])


def test_blur_removes_the_stride_two_blind_spot() -> None:
    """Without the blur the stem ignores odd pixels' gradients partly; with it every pixel gets gradient."""
    net = EfficientNetLite0Features(layers=["stem"])
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    net(x, ["stem"])["stem"].sum().backward()
    g = x.grad.abs().sum(1)[0]
    even_odd = g[0::2, 0::2].mean() / g[1::2, 1::2].mean()
    assert 0.5 < float(even_odd) < 2.0


def test_gatys_defaults_and_target_normalisation() -> None:
    from styleforge.transfer.gatys import GatysConfig, stylize_tensor

    content = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    style = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    cfg = GatysConfig(backbone="effnet-lite0", image_size=64, iterations=8, scales=(1.0,))
    result = stylize_tensor(content, [style], cfg)
    assert result.history[-1] < result.history[0]
    assert result.image.shape == content.shape


def test_vgg_objective_unchanged_by_normalisation_hook() -> None:
    from styleforge.transfer.gatys import GatysConfig, _Objective

    net = build_backbone("random16", layers=["relu1_1", "relu2_1"])
    content = torch.rand(1, 3, 32, 32)
    style = torch.rand(1, 3, 32, 32)
    cfg = GatysConfig(backbone="random16")
    obj = _Objective(net, cfg, content, [style], [1.0], None, ["relu2_1"], ["relu1_1", "relu2_1"], [1.0, 1.0])
    assert obj.style_norms == [{"relu1_1": 1.0, "relu2_1": 1.0}]
    assert (obj.content_scale, obj.style_scale, obj.tv_scale) == (1.0, 1.0, 1.0)
