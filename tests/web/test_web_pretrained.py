"""The Translate tab's pretrained dropdown: names, "(none)", and a cached pretrained model used by name."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from styleforge.errors import InputError
from styleforge.web import modes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gan"))
from reference_nets import RefResnet, randomise


def test_dropdown_names_and_choice() -> None:
    names = modes.pretrained_names()
    assert "horse2zebra" in names and "horse2zebra_fastcut" in names and names == sorted(names)
    assert modes.pretrained_choice(modes.NO_PRETRAINED) is None and modes.pretrained_choice(None) is None
    with pytest.raises(InputError, match="did you mean 'style_monet'"):
        modes.pretrained_choice("style_monnet")


def test_translate_with_a_cached_pretrained_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STYLEFORGE_CACHE", str(tmp_path))
    (tmp_path / "pretrained").mkdir()
    torch.save(randomise(RefResnet(3, 3, 4, 6), 11).state_dict(), tmp_path / "pretrained" / "style_monet.pth")
    res = modes.translate(
        Image.new("RGB", (40, 30), (90, 120, 200)), None, checkpoint_label="", pretrained="style_monet", size=64
    )
    assert res.image.size == (40, 30)
    assert res.command == "styleforge translate photo.jpg --pretrained style_monet -o out/"
    assert (tmp_path / "pretrained" / "sha256.json").is_file() and os.listdir(tmp_path / "pretrained")
