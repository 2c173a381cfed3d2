"""The README's Python examples and the docstrings' ``>>>`` examples run (with tiny sizes)."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from PIL import Image

import styleforge
from styleforge.assets import BUILTIN_CONTENT

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
# The web client example talks to a running server: tests/web/test_web_http.py drives that API.
LOCAL = [b for b in BLOCKS if "gradio_client" not in b]


def test_readme_has_python_examples():
    assert len(LOCAL) >= 2 and len(BLOCKS) > len(LOCAL)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("code", LOCAL, ids=[b.splitlines()[0][:40] for b in LOCAL])
def test_readme_python_example(code, tmp_path, monkeypatch):
    """Each block as written; only the optimisation's budget is made tiny (48 px, 3 evaluations)."""
    from styleforge import api
    from styleforge.transfer import photoreal

    base = api.GatysConfig

    class TinyConfig(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kw):
            super().__init__(**{**kw, "image_size": 48, "iterations": 3, "scales": (1.0,), "scale_iterations": None})

    assert dataclasses.is_dataclass(TinyConfig)
    monkeypatch.setattr(api, "GatysConfig", TinyConfig)
    monkeypatch.setattr(photoreal, "GatysConfig", TinyConfig)
    monkeypatch.chdir(tmp_path)
    photo = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    photo.thumbnail((64, 64))
    photo.save("photo.jpg")
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    outputs = re.findall(r"\.save\(\"([^\"]+)\"\)", code)
    assert outputs, "an example that writes nothing checks nothing"
    for name in outputs:
        out = Image.open(name)
        assert max(out.size) in (48, 64) and out.size[0] > out.size[1]  # the photo's landscape shape


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(styleforge.__path__, "styleforge."):
        if info.name.startswith(("styleforge.web", "styleforge.cli")):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and ">>>" in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
