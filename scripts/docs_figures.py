"""Render the docs' figures from the committed results files (``benchmarks/results/*.json``).

A figure in ``README.md`` or ``docs/*.md`` is never typed by hand: it sits between markers that name
its results file and the path of the figure inside that file's ``figures`` (see
``benchmarks/receipts.py`` for the schema), and this script rewrites what is between them.

One number::

    <!-- fig instant_speed:ratios.sf-lite.512 {:.2f}× -->0.93×<!-- /fig -->

The format (optional) is a Python format string; without it integers print as they are and other
numbers with three significant digits.

A table, one row per entry of a dict (or list) of records, one column per ``Header=key[:format]``
(``_key`` is the entry's own key, ``_value`` the entry itself in a dict of numbers; a key may be
dotted; a path ending in ``.*`` takes groups of records, e.g. clip → mode → record, one row each,
keyed ``"clip / mode"``); without columns, every key of the records::

    <!-- table pix2pix_quality:results | run=_key | PSNR=psnr:{:.1f} dB | SSIM=ssim:{:.3f} -->
    ... (rendered: the table and a line naming the results file, command, commit, date and load)
    <!-- /table -->

``table?`` (and ``fig?``) render a visible "not measured yet" note while the results file does not
exist yet, instead of failing. A results file with a top-level ``"quoted"`` entry (e.g.
``"commit e70cda1"``) predates this session's measurements: its tables say "quoted (commit …)".

    python scripts/docs_figures.py           # rewrite the markers in place
    python scripts/docs_figures.py --check   # exit 1 (and list them) when a figure would change,
                                             # a marker names a missing file or key, or is malformed
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from receipts import REQUIRED, RESULTS  # noqa: E402  (the schema lives in one place)

FIG = re.compile(
    r"<!-- fig(?P<opt>\?)? (?P<name>[\w.-]+):(?P<path>[^\s>]+)(?: (?P<fmt>[^>]*?))? -->"
    r"(?P<body>.*?)<!-- /fig -->",
    re.S,
)
TABLE = re.compile(
    r"<!-- table(?P<opt>\?)? (?P<name>[\w.-]+):(?P<path>[^\s|>]+)(?P<cols>(?: \|[^>]*?)?) -->\n"
    r"(?P<body>.*?)<!-- /table -->",
    re.S,
)


class FigureError(Exception):
    """A marker that cannot be rendered: missing results file, missing key, bad format."""


@dataclass
class Results:
    """The results files, read once each."""

    directory: Path = RESULTS

    def __post_init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}

    def exists(self, name: str) -> bool:
        return (self.directory / f"{name}.json").is_file()

    def load(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            path = self.directory / f"{name}.json"
            if not path.is_file():
                raise FigureError(f"no results file {_rel(path)}")
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as err:
                raise FigureError(f"{_rel(path)} is not JSON: {err}") from None
            missing = [k for k in REQUIRED if k not in data]
            if missing:
                raise FigureError(f"{_rel(path)} lacks {', '.join(missing)} (see benchmarks/receipts.py)")
            self._cache[name] = data
        return self._cache[name]

    def figure(self, name: str, path: str) -> Any:
        return lookup(self.load(name)["figures"], path, f"{name}.json")


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def lookup(node: Any, path: str, where: str, full: str | None = None) -> Any:
    """``node[a][b]…`` for ``path = "a.b…"``; a key may itself contain dots when it exists whole."""
    full = path if full is None else full
    if path in ("", "."):
        return node
    if isinstance(node, dict) and path in node:
        return node[path]
    parts = path.split(".")
    for i in range(len(parts), 0, -1):  # longest key first: "people2outline/L1 only" or "sf-lite.512"
        head, rest = ".".join(parts[:i]), ".".join(parts[i:])
        if isinstance(node, dict) and head in node:
            return lookup(node[head], rest, where, full) if rest else node[head]
        if isinstance(node, list) and head.isdigit() and int(head) < len(node):
            return lookup(node[int(head)], rest, where, full) if rest else node[int(head)]
    raise FigureError(f"{where} has no figure {full!r}")


def format_value(value: Any, fmt: str | None = None) -> str:
    """One figure as text: ``fmt`` (a format string with ``{}``), else ints as they are, floats to 3 digits;
    ``None`` (a measure with nothing to measure, written ``null``) as "–"."""
    if value is None:
        return "–"
    if fmt:
        try:
            return fmt.format(value)
        except (ValueError, TypeError, IndexError, KeyError) as err:
            raise FigureError(f"format {fmt!r} does not fit {value!r}: {err}") from None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e5 else f"{value:.0f}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def receipt_line(data: dict[str, Any]) -> str:
    """The line under a table: where its figures come from."""
    commit = str(data["git_commit"])[:7]
    load = data.get("load_average") or []
    load_txt = f", load {load[0]}" if load else ""
    quoted = data.get("quoted")
    head = f"quoted ({quoted})" if quoted else f"commit {commit}{' (uncommitted changes)' if data['git_dirty'] else ''}"
    return (
        f"<small>`benchmarks/results/{data['name']}.json`: `{data['command']}` — {head}, "
        f"{str(data['date'])[:10]}, {data['threads']} thread{'' if data['threads'] == 1 else 's'}{load_txt}, "
        f"{data['cpu']}{' (' + data['cpu_features'] + ')' if data.get('cpu_features') else ''}</small>"
    )


Column = tuple[str, str, str | None]  # header, key, format


def parse_columns(spec: str) -> list[Column]:
    """``" | Header=key:{:.2f} | key2"`` → ``[("Header", "key", "{:.2f}"), ("key2", "key2", None)]``."""
    cols = []
    for item in (s.strip() for s in spec.split("|")):
        if not item:
            continue
        header, _, rest = item.partition("=") if "=" in item else (item, "", item)
        key, _, fmt = rest.partition(":")
        cols.append((header.strip(), key.strip(), fmt or None))
    return cols


def _rows(node: Any, where: str, depth: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """The table's records; ``depth`` levels of groups (clip → mode → record) give ``"clip / mode"`` rows."""
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        node = {str(i): v for i, v in enumerate(node)}
    if depth == 0 and isinstance(node, dict) and node and not any(isinstance(v, (dict, list)) for v in node.values()):
        return [(str(k), {"_value": v}) for k, v in node.items()]  # a dict of numbers: one row each, "_value"
    if not (isinstance(node, dict) and node and all(isinstance(v, dict) for v in node.values())):
        raise FigureError(f"{where}: a table needs a non-empty dict or list of records")
    if depth == 0:
        return [(str(k), v) for k, v in node.items()]
    return [(f"{k} / {k2}", v) for k, group in node.items() for k2, v in _rows(group, where, depth - 1)]


def render_table(data: dict[str, Any], path: str, spec: str) -> str:
    where = f"{data['name']}.json:{path}"
    depth = 0
    while path.endswith(".*"):  # "per_clip.*": one row per record of each group
        path, depth = path[:-2], depth + 1
    rows = _rows(lookup(data["figures"], path, f"{data['name']}.json"), where, depth)
    cols = parse_columns(spec)
    if not cols:
        keys: list[str] = []
        for _, rec in rows:
            keys += [k for k in rec if k not in keys]
        cols = [("", "_key", None)]
        cols += [(k, k, None) for k in keys]
    numeric = []
    for _, key, _ in cols:
        vals = [rec.get(key) for _, rec in rows] if key != "_key" else []
        numeric.append(bool(vals) and all(isinstance(v, (int, float)) for v in vals if v is not None))
    lines = [
        "| " + " | ".join(h for h, _, _ in cols) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    for key_of_row, rec in rows:
        cells = []
        for _, key, fmt in cols:
            if key == "_key":
                cells.append(key_of_row)
                continue
            try:
                value = lookup(rec, key, f"{where}.{key_of_row}")
            except FigureError:
                cells.append("–")  # this row has no such figure (e.g. an identity baseline's time)
                continue
            cells.append(format_value(value, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n" + "\n".join(lines) + "\n\n" + receipt_line(data) + "\n\n"


def pending(name: str) -> str:
    return (
        f'\n!!! note "Not measured yet"\n    `benchmarks/results/{name}.json` is not committed yet: run its '
        f"benchmark, then `python scripts/docs_figures.py`.\n\n"
    )


def render_text(text: str, results: Results, where: str = "") -> tuple[str, list[str]]:
    """``text`` with every marker re-rendered, and the list of problems (empty when all rendered)."""
    problems: list[str] = []

    def fig(m: re.Match[str]) -> str:
        name, path, fmt = m["name"], m["path"], m["fmt"]
        try:
            if m["opt"] and not results.exists(name):
                body = f"(not measured yet: {name}.json)"
            else:
                body = format_value(results.figure(name, path), fmt)
        except FigureError as err:
            problems.append(f"{where}: {err}")
            return m.group(0)
        return m.group(0)[: m.start("body") - m.start()] + body + "<!-- /fig -->"

    def table(m: re.Match[str]) -> str:
        name, path = m["name"], m["path"]
        try:
            if m["opt"] and not results.exists(name):
                body = pending(name)
            else:
                body = render_table(results.load(name), path, m["cols"])
        except FigureError as err:
            problems.append(f"{where}: {err}")
            return m.group(0)
        return m.group(0)[: m.start("body") - m.start()] + body + "<!-- /table -->"

    text = TABLE.sub(table, text)
    text = FIG.sub(fig, text)
    for stray in re.finditer(r"<!-- (fig|table)\??\s[^>]*-->", text):
        line = text.count("\n", 0, stray.start()) + 1
        start = stray.group(0)
        if not (FIG.match(text, stray.start()) or TABLE.match(text, stray.start())):
            problems.append(f"{where}:{line}: malformed or unclosed marker {start!r}")
    return text, problems


def doc_files(root: Path = REPO) -> list[Path]:
    """The files whose markers are rendered: README.md and docs/**/*.md."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 when a figure is stale or broken")
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of the results files")
    ap.add_argument("files", nargs="*", type=Path, help="markdown files (default: README.md and docs/)")
    args = ap.parse_args(argv)
    results = Results(args.results)
    stale, problems = [], []
    for path in args.files or doc_files():
        old = path.read_text(encoding="utf-8")
        new, errs = render_text(old, results, _rel(path))
        problems += errs
        if new != old:
            stale.append(_rel(path))
            if not args.check:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(new, encoding="utf-8")
                tmp.replace(path)
    for p in problems:
        print(p, file=sys.stderr)
    if args.check and stale:
        print("figures out of date (run python scripts/docs_figures.py): " + ", ".join(stale), file=sys.stderr)
    elif stale:
        print("rewrote " + ", ".join(stale))
    return 1 if problems or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
