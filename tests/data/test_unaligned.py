import urllib.error
from pathlib import Path

import pytest
import torch
from PIL import Image

from styleforge.data.transforms import PairedTransform
from styleforge.data.unaligned import SingleDataset, UnalignedDataset, download_unaligned, find_domains
from styleforge.errors import InputError

T = PairedTransform(load_size=36, crop_size=32)


def _folder(d: Path, n: int, *, size=(40, 30), mode="RGB", start=0) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        Image.new(
            mode, size, (i * 20 % 256,) * (1 if mode == "L" else 3) if mode != "RGB" else (i * 20 % 256, 10, 200)
        ).save(d / f"{i:03d}.png")
    return d


def _root(tmp_path, na=3, nb=5):
    _folder(tmp_path / "trainA", na)
    _folder(tmp_path / "trainB", nb, start=100)
    return tmp_path


def test_train_layout_length_is_the_larger_domain_and_items_are_in_range(tmp_path):
    ds = UnalignedDataset.from_root(_root(tmp_path), "train", transform=T)
    assert len(ds) == 5 and (ds.input_nc, ds.output_nc) == (3, 3)
    item = ds[(4, 99)]
    assert item["A"].shape == (3, 32, 32) and item["B"].shape == (3, 32, 32)
    assert item["A"].min() >= -1 and item["A"].max() <= 1
    assert Path(item["A_path"]).name == "001.png"  # 4 % 3


def test_serial_and_random_pairing(tmp_path):
    root = _root(tmp_path, 3, 5)
    serial = UnalignedDataset.from_root(root, transform=T, serial=True)
    assert [Path(serial[(i, 0)]["B_path"]).name for i in range(5)] == [f"{100 + i:03d}.png" for i in range(5)]
    rnd = UnalignedDataset.from_root(root, transform=T)
    picks = [Path(rnd[(0, s)]["B_path"]).name for s in range(40)]
    assert len(set(picks)) >= 4  # random B per seed
    assert picks == [Path(rnd[(0, s)]["B_path"]).name for s in range(40)]  # reproducible
    a1, a2 = rnd[(0, 5)], rnd[(0, 5)]
    assert torch.equal(a1["A"], a2["A"]) and torch.equal(a1["B"], a2["B"])


def test_two_arbitrary_folders_and_a_B_A_layout(tmp_path):
    a, b = _folder(tmp_path / "horses", 2), _folder(tmp_path / "zebras", 2)
    assert len(UnalignedDataset(a, b, transform=T)) == 2
    _folder(tmp_path / "ds" / "A", 1)
    _folder(tmp_path / "ds" / "B", 1)
    assert find_domains(tmp_path / "ds") == (tmp_path / "ds" / "A", tmp_path / "ds" / "B")
    _folder(tmp_path / "ds2" / "testA", 1)
    _folder(tmp_path / "ds2" / "testB", 1)
    assert find_domains(tmp_path / "ds2", "test")[0].name == "testA"


def test_single_image_domain_and_very_different_sizes(tmp_path):
    ds = UnalignedDataset(_folder(tmp_path / "a", 1), _folder(tmp_path / "b", 60), transform=T)
    assert len(ds) == 60
    assert {Path(ds[(i, i)]["A_path"]).name for i in range(60)} == {"000.png"}


def test_channel_auto_detection_and_explicit_counts(tmp_path):
    a = _folder(tmp_path / "gray", 2, mode="L")
    b = _folder(tmp_path / "rgb", 2)
    ds = UnalignedDataset(a, b, transform=T, input_nc="auto", output_nc="auto")
    assert (ds.input_nc, ds.output_nc) == (1, 3)
    assert ds[(0, 0)]["A"].shape == (1, 32, 32)
    ds3 = UnalignedDataset(a, b, transform=T, input_nc=3, output_nc=1)
    assert ds3[(0, 0)]["A"].shape == (3, 32, 32) and ds3[(0, 0)]["B"].shape == (1, 32, 32)
    with pytest.raises(InputError, match="input-nc"):
        UnalignedDataset(a, b, transform=T, input_nc=4)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: _folder(p / "trainA", 2), "trainB"),
        (lambda p: (_folder(p / "trainA", 2), (p / "trainB").mkdir()), "no images"),
        (lambda p: (p / "x").mkdir(), "--data-a"),
        (
            lambda p: (_folder(p / "trainA", 2), _folder(p / "trainB", 1), (p / "trainB" / "bad.jpg").write_text("no")),
            "not a readable image",
        ),
    ],
)
def test_bad_datasets_give_one_line_errors(tmp_path, make, match):
    make(tmp_path)
    with pytest.raises(InputError, match=match) as e:
        UnalignedDataset.from_root(tmp_path, transform=T)
    assert "\n" not in str(e.value)


def test_image_smaller_than_the_crop(tmp_path):
    _folder(tmp_path / "trainA", 2)
    _folder(tmp_path / "trainB", 1, size=(20, 20))
    with pytest.raises(InputError, match="crop-size"):
        UnalignedDataset.from_root(tmp_path, transform=PairedTransform(preprocess="crop", crop_size=32))


def test_missing_root(tmp_path):
    with pytest.raises(InputError, match="not found"):
        find_domains(tmp_path / "nope")


def test_single_dataset_keeps_size_rounded_to_4(tmp_path):
    ds = SingleDataset(_folder(tmp_path / "s", 2, size=(45, 30)))
    assert len(ds) == 2 and ds[0]["A"].shape == (3, 32, 44)
    with pytest.raises(InputError):
        SingleDataset(tmp_path / "empty_missing")


def test_download_offline_and_unknown_names(tmp_path, monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(InputError, match="no internet access") as e:
        download_unaligned("horse2zebra", tmp_path)
    assert "trainA" in str(e.value) and not (tmp_path / "horse2zebra").exists()
    with pytest.raises(InputError, match="horse2zebra"):
        download_unaligned("horse2zebr", tmp_path)
