"""Built-in images: names resolve to the shipped files; a path wins, except a folder named like a style."""

from __future__ import annotations

import pytest

from styleforge.assets import BUILTIN_CONTENT, builtin_styles, resolve_image
from styleforge.errors import InputError


def test_names_paths_and_shadowing_folders(tmp_path, monkeypatch):
    styles = builtin_styles()
    assert resolve_image("starry_night") == styles["starry_night"]
    assert resolve_image("woman-with-hat-matisse") == styles["woman_with_hat_matisse"]
    assert resolve_image("tubingen", kind="content") == BUILTIN_CONTENT["tubingen"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "starry_night").mkdir()  # e.g. a training run's --out folder
    assert resolve_image("starry_night") == styles["starry_night"]
    (tmp_path / "the_scream").write_bytes(b"x")  # a file of that name is the user's: it wins
    assert resolve_image("the_scream").resolve() == (tmp_path / "the_scream").resolve()
    with pytest.raises(InputError, match="unknown built-in style 'stary_night'.*starry_night"):
        resolve_image("stary_night")
    with pytest.raises(InputError, match="not found"):
        resolve_image("missing/picture.jpg")


def test_every_builtin_image_is_credited_in_the_attribution_file():
    """The package ships public-domain paintings only: each one needs its line in ATTRIBUTION.md."""
    text = (builtin_styles()["starry_night"].parents[1] / "ATTRIBUTION.md").read_text()
    missing = [p.name for p in builtin_styles().values() if f"`styles/{p.name}`" not in text]
    assert not missing, f"built-in styles without an attribution line: {missing}"
    assert all(f"`content/{p.name}`" in text for p in BUILTIN_CONTENT.values())
