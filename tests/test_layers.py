"""The layer contract: imports go one way, and no module imports itself back through others.

Every ``import`` in ``src/styleforge`` counts, also those inside functions (they are how a
module stays light, not a licence to import upward). A new top-level module or package must
be placed in :data:`LAYERS` first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "styleforge"

#: Lowest first. A module may import its own layer's modules and those of lower layers.
LAYERS: list[set[str]] = [
    {"errors"},
    {"cache", "registry", "assets", "precision", "download"},
    {"io", "color"},
    {"backbones"},
    {"losses"},
    {"nets", "transfer"},
    {"data"},
    {"engine"},
    {"gan"},
    {"instant", "faces"},
    {"video"},
    {"api"},
    {"service"},  # the job queue and HTTP API (workers, Redis); the page may use it
    {"web"},  # the page; `styleforge serve` (cli) starts it, so the page never imports cli
    {"cli"},
]
#: Entry points above everything: the package's own ``__init__`` (lazy re-exports) and ``__main__``.
TOP = {"__init__", "__main__"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Fully qualified ``styleforge.*`` modules that ``path`` imports (relative imports resolved)."""
    mod = _module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "styleforge"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "styleforge":
                continue
            found.add(target)
            for a in node.names:  # `from . import instant` imports a module
                if (SRC.parent / (target.replace(".", "/") + "/" + a.name)).with_suffix(".py").is_file() or (
                    SRC.parent / target.replace(".", "/") / a.name / "__init__.py"
                ).is_file():
                    found.add(f"{target}.{a.name}")
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(SRC.rglob("*.py")):
        graph[_module_name(path)] = {m for m in _imports(path) if m != _module_name(path)}
    return graph


def _top(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(top: str) -> int:
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    if top in TOP:
        return len(LAYERS)
    raise AssertionError(f"styleforge.{top} is in no layer: place it in LAYERS of tests/test_layers.py")


def violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in graph.items():
        here = _top(mod)
        for dep in deps:
            if dep == "styleforge":  # the package itself (``__version__``): Python runs its __init__ anyway
                continue
            there = _top(dep)
            if _layer(there) > _layer(here):
                bad.append(f"{mod} imports {dep} (upward: {here} is below {there})")
    return sorted(bad)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), package ``__init__`` edges aside."""
    # A package's __init__ re-exporting its submodules is not a cycle with them.
    edges = {m: {d for d in deps if d in graph and not m.startswith(d + ".")} for m, deps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer_and_imports_go_down() -> None:
    graph = _graph()
    assert len(graph) > 50  # the walk found the package
    assert violations(graph) == []


def test_no_import_cycles() -> None:
    assert cycles(_graph()) == []


def test_the_checks_catch_an_upward_import_and_a_cycle() -> None:
    graph = {
        "styleforge.io": {"styleforge.api"},
        "styleforge.api": {"styleforge.io"},
        "styleforge.cli.a": {"styleforge.cli.b"},
        "styleforge.cli.b": {"styleforge.cli.a"},
        "styleforge.web.app": {"styleforge.cli.translate"},
        "styleforge.cli.translate": set(),
    }
    assert violations(graph) == [
        "styleforge.io imports styleforge.api (upward: io is below api)",
        "styleforge.web.app imports styleforge.cli.translate (upward: web is below cli)",
    ]
    assert cycles(graph) == [["styleforge.cli.a", "styleforge.cli.b"], ["styleforge.api", "styleforge.io"]] or cycles(
        graph
    ) == [["styleforge.api", "styleforge.io"], ["styleforge.cli.a", "styleforge.cli.b"]]
    with pytest.raises(AssertionError, match="in no layer"):
        violations({"styleforge.nowhere": {"styleforge.io"}})
