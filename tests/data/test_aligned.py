from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from styleforge.data import AlignedDataset, PairedTransform
from styleforge.errors import InputError


def _pattern(w, h, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def make_ab_folder(root: Path, n=3, w=40, h=30):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        a = _pattern(w, h, i)
        b = 255 - a  # B is a pixel-wise function of A: any misalignment shows
        Image.fromarray(np.concatenate([a, b], 1)).save(root / f"img{i}.png")
    return root


def test_ab_pairs_stay_aligned_under_random_crop_and_flip(tmp_path):
    ds = AlignedDataset(make_ab_folder(tmp_path / "ab"), transform=PairedTransform(preprocess="crop", crop_size=16))
    flips = set()
    for i in range(len(ds)):
        for seed in range(6):
            item = ds[(i, seed)]
            assert item["A"].shape == item["B"].shape == (3, 16, 16)
            assert torch.allclose(item["A"], -item["B"], atol=1e-6)  # 255-x ↔ -x in [-1, 1]
            flips.add(bool(torch.equal(ds[(i, seed)]["A"], item["A"])))
    # same key → same crop; different seeds → different crops
    assert torch.equal(ds[(0, 1)]["A"], ds[(0, 1)]["A"])
    assert not torch.equal(ds[(0, 1)]["A"], ds[(0, 2)]["A"]) or not torch.equal(ds[(0, 3)]["A"], ds[(0, 4)]["A"])


def test_resize_and_crop_alignment_and_direction(tmp_path):
    root = make_ab_folder(tmp_path / "ab", w=64, h=48)
    t = PairedTransform(preprocess="resize_and_crop", load_size=40, crop_size=32)
    ab = AlignedDataset(root, transform=t)[(1, 7)]
    ba = AlignedDataset(root, transform=t, direction="BtoA")[(1, 7)]
    assert torch.equal(ab["A"], ba["B"]) and torch.equal(ab["B"], ba["A"])
    assert torch.allclose(ab["A"], -ab["B"], atol=0.02)  # bicubic resize is linear: stays complementary


def test_folders_layout_matches_names_and_grayscale(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    for name in ("x", "y"):
        a = _pattern(20, 20, hash(name) % 100)
        Image.fromarray(a).save(tmp_path / "A" / f"{name}.png")
        Image.fromarray(255 - a).save(tmp_path / "B" / f"{name}.jpg" if False else tmp_path / "B" / f"{name}.png")
    ds = AlignedDataset(tmp_path, transform=PairedTransform(preprocess="none", flip=False), input_nc=1)
    assert ds.layout == "folders" and len(ds) == 2
    item = ds[0]
    assert item["A"].shape == (1, 20, 20) and item["B"].shape == (3, 20, 20)


@pytest.mark.realdata
def test_real_people2outline_pairs(shared_data):
    root = shared_data / "paired" / "people2outline" / "test"
    ds = AlignedDataset(root, transform=PairedTransform(load_size=143, crop_size=128))
    item = ds[(0, 0)]
    assert item["A"].shape == (3, 128, 128)
    # left = photo on white, right = black outline on white: the outline is mostly white
    assert float(item["B"].mean()) > float(item["A"].mean()) - 0.5


def test_colorization_layout_gives_L_and_ab(tmp_path):
    Image.fromarray(_pattern(24, 24, 0)).save(tmp_path / "p.png")
    ds = AlignedDataset(tmp_path, layout="colorization", transform=PairedTransform(preprocess="none"))
    item = ds[0]
    assert item["A"].shape == (1, 24, 24) and item["B"].shape == (2, 24, 24)
    assert -1 <= float(item["A"].min()) and float(item["A"].max()) <= 1 and float(item["B"].abs().max()) <= 1


def test_odd_and_unusual_images_load(tmp_path):
    # 16-bit gray, RGBA and palette images as A|B pairs
    g16 = Image.fromarray((np.arange(40 * 20).reshape(20, 40) * 60).astype(np.uint16))
    g16.save(tmp_path / "g16.png")
    Image.fromarray(np.zeros((20, 40, 4), np.uint8)).save(tmp_path / "rgba.png")
    Image.fromarray(_pattern(40, 20, 1)).convert("P").save(tmp_path / "pal.png")
    ds = AlignedDataset(tmp_path, transform=PairedTransform(preprocess="none"))
    for i in range(3):
        assert ds[i]["A"].shape == (3, 20, 20)


@pytest.mark.parametrize(
    "setup,match",
    [
        ("empty", "no images"),
        ("missing", "not found"),
        ("odd", "odd"),
        ("crop", "larger than"),
        ("notimage", "not a readable image"),
        ("unmatched", "no match"),
        ("onlyA", "no B/ folder"),
    ],
)
def test_bad_datasets_give_one_line_errors(tmp_path, setup, match):
    root = tmp_path / "d"
    root.mkdir()
    t = PairedTransform(preprocess="crop", crop_size=16)
    if setup == "odd":
        Image.new("RGB", (41, 20)).save(root / "a.png")
    elif setup == "crop":
        Image.new("RGB", (20, 10)).save(root / "a.png")
    elif setup == "notimage":
        (root / "a.png").write_text("not an image")
    elif setup == "unmatched":
        (root / "A").mkdir()
        (root / "B").mkdir()
        Image.new("RGB", (20, 20)).save(root / "A" / "one.png")
        Image.new("RGB", (20, 20)).save(root / "B" / "two.png")
    elif setup == "onlyA":
        (root / "A").mkdir()
    elif setup == "missing":
        root = tmp_path / "nope"
    with pytest.raises(InputError, match=match) as e:
        AlignedDataset(root, transform=t)
    assert "\n" not in str(e.value)
