"""The Python examples of the README and the docs, and the docstrings' ``>>>`` examples, run (with tiny sizes)."""

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

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]


def _blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def _needs_server(code: str) -> bool:
    """Examples that talk to a running server (the web page, the service): tests/web and the service's
    tests drive those APIs."""
    return "gradio_client" in code or re.search(r"https?://", code) is not None


BLOCKS = [(path, code) for path in PAGES for code in _blocks(path)]
LOCAL = [(path, code) for path, code in BLOCKS if not _needs_server(code)]


def test_readme_and_docs_have_python_examples():
    assert len(_blocks(README)) >= 2
    assert len(LOCAL) >= 4 and len(BLOCKS) > len(LOCAL)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(("path", "code"), LOCAL, ids=[f"{p.name}:{c.splitlines()[0][:40]}" for p, c in LOCAL])
def test_readme_python_example(path, code, tmp_path, monkeypatch):
    """Each block as written; only the optimisation's budget is made tiny (48 px, 3 evaluations)."""
    from styleforge import api
    from styleforge.transfer import photoreal

    try:  # the one home of the configurations (issue 26)
        config = importlib.import_module("styleforge.transfer.config")
    except ModuleNotFoundError:
        config = api
    base = config.GatysConfig

    class TinyConfig(base):  # type: ignore[misc, valid-type]
        def __init__(self, **kw):
            super().__init__(**{**kw, "image_size": 48, "iterations": 3, "scales": (1.0,), "scale_iterations": None})

    assert dataclasses.is_dataclass(TinyConfig)
    for module in (config, api, photoreal):  # wherever a front end builds the configuration
        if getattr(module, "GatysConfig", None) is base:
            monkeypatch.setattr(module, "GatysConfig", TinyConfig)
    monkeypatch.chdir(tmp_path)
    photo = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    photo.thumbnail((64, 64))
    photo.save("photo.jpg")
    exec(compile(code, str(path), "exec"), {"__name__": "readme"})
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


def test_readme_is_a_front_page():
    """Short, and about the software as it is (the history lives in the git log and CHANGELOG.md)."""
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    for diary in ("issue 13", "last session", "this session", "slower day", "last run", "dead end"):
        for page in PAGES:
            if page.name not in ("changelog.md", "benchmarks.md"):
                assert diary not in page.read_text(encoding="utf-8").lower(), f"{page.name}: {diary!r}"


def test_torch_comes_from_the_cpu_wheel_index():
    """README and Makefile install the same pinned torch, from PyTorch's CPU index (overridable in make)."""
    index = "https://download.pytorch.org/whl/cpu"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    pins = set(re.findall(r"torch==([\d.]+)", makefile))
    assert len(pins) == 1
    assert f"pip install torch=={pins.pop()} --index-url {index}" in README.read_text(encoding="utf-8")
    assert f"TORCH_INDEX ?= {index}" in makefile and '--index-url "$(TORCH_INDEX)"' in makefile


def test_readme_links_and_pictures_exist():
    """The README's relative links and pictures point at files of the repository (the site checks docs/)."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert len(local) >= 10
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == []
