import pytest
import torch
from PIL import Image

from styleforge.color import rgb_to_lab
from styleforge.data import PairedTransform, colorization_to_rgb, to_model_tensor
from styleforge.errors import InputError


@pytest.mark.parametrize(
    "mode,size,want",
    [
        ("resize_and_crop", (100, 50), (32, 32)),
        ("crop", (100, 50), (32, 32)),
        ("scale_width", (100, 50), (40, 32)),
        ("scale_width_and_crop", (100, 50), (32, 32)),
        ("none", (101, 50), (100, 48)),  # round-half-even, as the reference
    ],
)
def test_preprocess_modes(mode, size, want):
    t = PairedTransform(preprocess=mode, load_size=40, crop_size=32)
    out = t([Image.new("RGB", size)] * 2, torch.Generator().manual_seed(0))
    assert [im.size for im in out] == [want, want]


def test_flip_is_shared_and_seeded():
    img = Image.frombytes("RGB", (4, 1), bytes(range(12)))
    t = PairedTransform(preprocess="none", flip=True)
    seen = set()
    for s in range(10):
        a, b = t([img, img], torch.Generator().manual_seed(s))
        assert a.tobytes() == b.tobytes()
        seen.add(a.tobytes())
    assert len(seen) == 2  # both flipped and not


def test_bad_settings():
    with pytest.raises(InputError, match="did you mean"):
        PairedTransform(preprocess="resize_crop")
    with pytest.raises(InputError, match="larger than --load-size"):
        PairedTransform(load_size=100, crop_size=128)


def test_lab_round_trip_and_known_values():
    rgb = torch.rand(2, 3, 5, 5, generator=torch.Generator().manual_seed(0))
    lab = rgb_to_lab(rgb)
    back = colorization_to_rgb(lab[:, :1] / 50 - 1, lab[:, 1:] / 110)
    assert torch.allclose(back, rgb, atol=1e-4)
    red = rgb_to_lab(torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1)).flatten()
    assert red.tolist() == pytest.approx([53.24, 80.09, 67.20], abs=0.05)  # skimage.color.rgb2lab


def test_to_model_tensor_range():
    x = to_model_tensor(Image.new("RGB", (3, 2), (255, 0, 128)))
    assert x.shape == (3, 2, 3) and float(x[0, 0, 0]) == 1.0 and float(x[1, 0, 0]) == -1.0
    assert to_model_tensor(Image.new("RGB", (3, 2)), 1).shape == (1, 2, 3)
