import urllib.error

import numpy as np
import pytest
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT
from styleforge.data import prepare
from styleforge.errors import InputError


def test_combine_ab(tmp_path):
    for side, color in (("A", (255, 0, 0)), ("B", (0, 0, 255))):
        (tmp_path / side).mkdir()
        for n in ("one", "two"):
            Image.new("RGB", (8, 6), color).save(tmp_path / side / f"{n}.png")
    assert prepare.combine_ab(tmp_path / "A", tmp_path / "B", tmp_path / "out") == 2
    im = Image.open(tmp_path / "out" / "one.png")
    assert im.size == (16, 6) and im.getpixel((0, 0)) == (255, 0, 0) and im.getpixel((15, 0)) == (0, 0, 255)
    Image.new("RGB", (8, 6)).save(tmp_path / "A" / "three.png")
    with pytest.raises(InputError, match="no partner"):
        prepare.combine_ab(tmp_path / "A", tmp_path / "B", tmp_path / "out2")
    assert not (tmp_path / "out2").exists()


def test_canny_edges_and_pairs_from_real_photo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.open(BUILTIN_CONTENT["tubingen"]).save(src / "t.png")
    assert prepare.edge_pairs(src, tmp_path / "e", size=64) == 1
    im = np.asarray(Image.open(tmp_path / "e" / "t.png"))
    assert im.shape[1] == 2 * im.shape[0] or im.shape[1] == 128
    edges = im[:, : im.shape[1] // 2, 0]
    assert set(np.unique(edges)) <= {0, 255} and 0.01 < (edges == 0).mean() < 0.5  # black edges on white
    with pytest.raises(InputError, match="HED"):
        prepare.edge_pairs(src, tmp_path / "h", method="hed")
    assert prepare.gray_pairs(src, tmp_path / "g", size=32) == 1
    g = np.asarray(Image.open(tmp_path / "g" / "t.png"))
    left = g[:, : g.shape[1] // 2]
    assert np.array_equal(left[..., 0], left[..., 1])


def test_split_is_seeded(tmp_path):
    src = tmp_path / "all"
    src.mkdir()
    for i in range(10):
        Image.new("RGB", (4, 4)).save(src / f"{i}.png")
    counts = prepare.split_dataset(src, tmp_path / "s", val=0.2, test=0.1, seed=3)
    assert counts == {"test": 1, "val": 2, "train": 7}
    again = prepare.split_dataset(src, tmp_path / "s2", val=0.2, test=0.1, seed=3)
    assert sorted(p.name for p in (tmp_path / "s" / "val").iterdir()) == sorted(
        p.name for p in (tmp_path / "s2" / "val").iterdir()
    )
    assert again == counts


def test_download_offline_says_so_and_writes_nothing(tmp_path, monkeypatch):
    def fail(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr("urllib.request.urlopen", fail)
    with pytest.raises(InputError, match="cannot download facades .*no internet"):
        prepare.download("facades", tmp_path / "dl")
    assert not (tmp_path / "dl").exists()
    with pytest.raises(InputError, match="did you mean 'facades'"):
        prepare.download("facade", tmp_path / "dl")
