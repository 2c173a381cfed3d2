"""No module imports another styleforge module's private (``_``-prefixed) name.

A name that another module needs is part of its home module's interface: it gets a public name
(and a docstring) there, or moves to the module that uses it.  Dunders (``__version__``) are public.
Every import counts, also those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "styleforge"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def private_imports(path: Path, source: str | None = None) -> list[str]:
    """``"module: from target import _name"`` for each private name ``path`` imports from another module."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        if target.split(".")[0] != "styleforge" or target == mod:
            continue
        for alias in node.names:
            name = alias.name
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                found.append(f"{mod}: from {target} import {name}")
    return found


def test_no_private_name_is_imported_across_modules() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 50  # the walk found the package
    bad = [hit for path in files for hit in private_imports(path)]
    assert bad == []


def test_the_check_catches_a_private_import_and_allows_public_and_dunder_names() -> None:
    path = SRC / "cli" / "photo.py"
    src = (
        "from ..transfer.fastphoto import fit_labels, _hidden\n"
        "from styleforge.io import _load as load\n"
        "from .. import __version__\n"
        "def f():\n    from .stylize import _private\n"
    )
    assert private_imports(path, src) == [
        "styleforge.cli.photo: from styleforge.transfer.fastphoto import _hidden",
        "styleforge.cli.photo: from styleforge.io import _load",
        "styleforge.cli.photo: from styleforge.cli.stylize import _private",
    ]
