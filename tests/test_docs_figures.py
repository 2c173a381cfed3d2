"""The docs' figures come from committed results files (``scripts/docs_figures.py``, ``benchmarks/receipts.py``)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("docs_figures", ROOT / "scripts" / "docs_figures.py")
assert _spec and _spec.loader
docs_figures = importlib.util.module_from_spec(_spec)
sys.modules["docs_figures"] = docs_figures
_spec.loader.exec_module(docs_figures)

#: A measured figure: a number with a unit of time, memory, speed, ratio or image quality.
FIGURE = re.compile(
    r"(?<![\w.])\d[\d ,.]*(?:·10[⁰-⁹⁻]+)?\s?(?:ms|s|min|GB|MB|KB|GiB|MiB|dB|×|%|fps|it/s|s/it)(?![\w/])"
)
QUOTED = re.compile(r"quoted \(commits? ([0-9a-f]{7,40}(?:, [0-9a-f]{7,40})*)\)")
#: The pages whose tables carry measured figures.
FIGURE_PAGES = [ROOT / "README.md", ROOT / "docs" / "benchmarks.md"]


def _receipt(directory: Path, name: str, figures: dict, **extra) -> None:
    data = {
        "schema": 1,
        "name": name,
        "command": f"python benchmarks/{name}.py",
        "date": "2026-12-06T18:00:00+00:00",
        "git_commit": "0123456789abcdef",
        "git_dirty": False,
        "cpu": "test CPU",
        "threads": 2,
        "load_average": [0.5, 0.4, 0.3],
        "python": "3.11.7",
        "torch": None,
        "figures": figures,
        **extra,
    }
    (directory / f"{name}.json").write_text(json.dumps(data))


def test_docs_figures_are_up_to_date():
    """Re-rendering every marker from benchmarks/results/ changes nothing and finds no broken marker."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "docs_figures.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_a_changed_figure_is_reported(tmp_path):
    _receipt(tmp_path, "speed", {"ratios": {"sf-lite": {"512": 0.934}}})
    results = docs_figures.Results(tmp_path)
    page = "ratio <!-- fig speed:ratios.sf-lite.512 {:.2f}× -->0.80×<!-- /fig --> here"
    new, problems = docs_figures.render_text(page, results)
    assert problems == []
    assert new == "ratio <!-- fig speed:ratios.sf-lite.512 {:.2f}× -->0.93×<!-- /fig --> here"
    assert docs_figures.render_text(new, results) == (new, [])  # stable once rendered


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("<!-- fig nothere:a.b -->1<!-- /fig -->", "no results file"),
        ("<!-- fig speed:ratios.missing -->1<!-- /fig -->", "no figure 'ratios.missing'"),
        ("<!-- table speed:ratios.sf-lite.512 | x=nokey -->\n<!-- /table -->", "a table needs"),
        ("<!-- fig speed:ratios.sf-lite.512 {:d} -->1<!-- /fig -->", "does not fit"),
        ("<!-- fig speed:ratios.sf-lite.512 -->1 (never closed)", "malformed or unclosed"),
    ],
)
def test_broken_markers_are_reported(tmp_path, page, expected):
    _receipt(tmp_path, "speed", {"ratios": {"sf-lite": {"512": 0.934}}})
    new, problems = docs_figures.render_text(page, docs_figures.Results(tmp_path), "page.md")
    assert new == page and len(problems) == 1 and expected in problems[0], problems


def test_a_results_file_without_the_schema_is_refused(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"figures": {"a": 1}}))
    _, problems = docs_figures.render_text("<!-- fig old:a -->1<!-- /fig -->", docs_figures.Results(tmp_path))
    assert problems and "lacks" in problems[0]


def test_table_rendering_and_receipt_line(tmp_path):
    _receipt(
        tmp_path,
        "quality",
        {"runs": {"identity": {"psnr": 9.92369, "n": 10}, "pix2pix": {"psnr": 17.4958, "n": 10, "steps": 306}}},
        quoted="commit e70cda1",
    )
    page = "<!-- table quality:runs | model=_key | PSNR=psnr:{:.2f} dB | steps=steps -->\nstale\n<!-- /table -->"
    new, problems = docs_figures.render_text(page, docs_figures.Results(tmp_path))
    assert problems == []
    assert "| identity | 9.92 dB | – |" in new and "| pix2pix | 17.50 dB | 306 |" in new
    assert "|---|---:|---:|" in new and "stale" not in new
    assert "quoted (commit e70cda1)" in new and "`python benchmarks/quality.py`" in new
    assert "test CPU</small>" in new  # a file from before cpu_features: the model name alone


def test_the_receipt_line_names_the_cpus_vector_units(tmp_path):
    _receipt(tmp_path, "speed", {"runs": {"a": {"s": 0.5}}}, cpu_features="avx512 vnni bf16")
    page = "<!-- table speed:runs | run=_key | s=s -->\n<!-- /table -->"
    new, problems = docs_figures.render_text(page, docs_figures.Results(tmp_path))
    assert problems == [] and "test CPU (avx512 vnni bf16)</small>" in new


def test_pending_table_renders_a_note_until_its_file_exists(tmp_path):
    page = "<!-- table? later:. -->\n<!-- /table -->"
    new, problems = docs_figures.render_text(page, docs_figures.Results(tmp_path))
    assert problems == [] and "Not measured yet" in new and "later.json" in new
    _receipt(tmp_path, "later", {"a": {"x": 1.5}, "b": {"x": 2}})
    new, problems = docs_figures.render_text(new, docs_figures.Results(tmp_path))
    assert problems == [] and "Not measured yet" not in new and "| a | 1.5 |" in new


def test_check_mode_fails_on_a_stale_page(tmp_path):
    _receipt(tmp_path, "speed", {"s": 0.5})
    page = tmp_path / "page.md"
    page.write_text("<!-- fig speed:s {} s -->0.4 s<!-- /fig -->\n")
    assert docs_figures.main(["--check", "--results", str(tmp_path), str(page)]) == 1
    assert page.read_text() == "<!-- fig speed:s {} s -->0.4 s<!-- /fig -->\n"  # --check writes nothing
    assert docs_figures.main(["--results", str(tmp_path), str(page)]) == 0
    assert page.read_text() == "<!-- fig speed:s {} s -->0.5 s<!-- /fig -->\n"
    assert docs_figures.main(["--check", "--results", str(tmp_path), str(page)]) == 0


def _strip_markers(text: str) -> str:
    text = docs_figures.TABLE.sub("", text)
    return docs_figures.FIG.sub("", text)


def _tables(text: str) -> list[tuple[int, list[str], str]]:
    """(first line number, table rows, the two lines after the table) for each markdown table."""
    lines = text.splitlines()
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("|"):
            start = i
            while i < len(lines) and lines[i].startswith("|"):
                i += 1
            out.append((start + 1, lines[start:i], "\n".join(lines[i : i + 3])))
        else:
            i += 1
    return out


def unbacked_figures(text: str) -> list[str]:
    """Table rows with a measured figure that is neither rendered from a results file nor marked quoted."""
    bad = []
    for line_no, rows, after in _tables(_strip_markers(text)):
        if QUOTED.search(after):
            continue
        bad += [f"line {line_no}: {row}" for row in rows if FIGURE.search(row)]
    return bad


def test_the_unbacked_figure_check_can_fail():
    table = "| run | time |\n|---|---:|\n| ours | 0.41 s |\n"
    assert unbacked_figures(table) == ["line 1: | ours | 0.41 s |"]
    assert unbacked_figures(table + "\n<small>quoted (commit e70cda1)</small>\n") == []
    marked = "<!-- table x:y -->\n" + table + "<!-- /table -->\n"
    assert unbacked_figures(marked) == []
    assert unbacked_figures("| model | CPU minutes |\n|---|---:|\n| a | 13 |\n") == []  # no unit, no figure


@pytest.mark.parametrize("page", FIGURE_PAGES, ids=lambda p: p.name)
def test_every_figure_in_a_table_has_a_receipt(page):
    """A measured figure in the README's or the benchmarks page's tables comes from a results file
    (a marker) or says which commit it is quoted from."""
    text = page.read_text(encoding="utf-8")
    assert unbacked_figures(text) == []
    git = (ROOT / ".git").exists()
    for match in QUOTED.finditer(text):
        for commit in match.group(1).split(", "):
            if git:
                proc = subprocess.run(
                    ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True, timeout=30
                )
                assert proc.returncode == 0, f"{page.name}: quoted commit {commit} is not in this repository"


def test_results_files_follow_the_schema():
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        data = docs_figures.Results(path.parent).load(path.stem)
        assert data["name"] == path.stem and data["schema"] == 1


def test_groups_of_records_flatten_to_rows(tmp_path):
    _receipt(
        tmp_path,
        "video",
        {
            "per_clip": {
                "pan": {"instant": {"fps": 3.2, "e": {"ratio": 0.3}}},
                "face": {"instant": {"fps": 2.5, "e": {"ratio": 0.5}}, "gatys": {"fps": 0.1, "e": {"ratio": 0.9}}},
            }
        },
    )
    page = (
        "<!-- table video:per_clip.* | clip / mode=_key | frames/s=fps:{:.1f} | E=e.ratio:{:.2f}× -->\n<!-- /table -->"
    )
    new, problems = docs_figures.render_text(page, docs_figures.Results(tmp_path))
    assert problems == []
    assert "| pan / instant | 3.2 | 0.30× |" in new and "| face / gatys | 0.1 | 0.90× |" in new
    # without ".*" the groups are the records: their keys are not the columns' keys
    flat, _ = docs_figures.render_text(page.replace("per_clip.*", "per_clip"), docs_figures.Results(tmp_path))
    assert "| pan | – | – |" in flat


def test_a_dict_of_numbers_is_a_two_column_table(tmp_path):
    _receipt(tmp_path, "border", {"max": {"wct": 1.0542, "adain": 0.8749}})
    page = "<!-- table border:max | path=_key | worst=_value:{:.2f} -->\n<!-- /table -->"
    new, problems = docs_figures.render_text(page, docs_figures.Results(tmp_path))
    assert problems == [] and "| wct | 1.05 |" in new and "| adain | 0.87 |" in new
