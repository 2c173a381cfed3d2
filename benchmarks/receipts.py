"""Results files ("receipts") for the benchmarks: one schema, written atomically.

Every benchmark whose figures reach the docs writes ``benchmarks/results/<name>.json``::

    {
      "schema": 1,
      "name": "instant_speed",            # the file's stem
      "command": "python benchmarks/instant_speed.py --sizes 512,1024",
      "date": "2026-12-06T18:30:00+00:00",
      "git_commit": "5faa243…",            # HEAD when the run started ("unknown" outside git)
      "git_dirty": false,                  # uncommitted changes under src/ or benchmarks/ (results aside)
      "cpu": "Intel(R) Xeon(R) …",
      "cpu_features": "avx512 vnni bf16",  # the vector units that decide the speed (not in older files)
      "threads": 2,                        # threads the measured code was given
      "load_average": [1.9, 1.7, 1.2],     # os.getloadavg() at the end of the run
      "python": "3.11.7", "torch": "2.13.0",   # torch: null when the run never imported it
      "figures": {...}                     # the benchmark's own figures: nested dicts of numbers/strings
    }

The docs name a figure as ``<name>:<dotted.path.into.figures>`` (see ``scripts/docs_figures.py``),
so a figure in the docs always points at a committed results file.

    from receipts import write_results
    write_results("instant_speed", figures, threads=args.threads)
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SCHEMA = 1
REQUIRED = (
    "schema",
    "name",
    "command",
    "date",
    "git_commit",
    "git_dirty",
    "cpu",
    "threads",
    "load_average",
    "python",
    "torch",
    "figures",
)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else :func:`platform.processor`."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_features(cpuinfo: str | None = None) -> str:
    """The CPU's widest vector extension and the units beside it that change the speed (``/proc/cpuinfo``'s
    flags, or ``cpuinfo``'s text), e.g. ``"avx2"`` or ``"avx512 vnni bf16"``: two machines of one model
    name can differ there, and torch's and onnxruntime's kernels (and ``--amp auto``) with them."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return "unknown"
    lines = (line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags"))
    flags = set(next(lines, []))
    isa = next((n for n in ("avx512f", "avx2", "avx", "sse4_2") if n in flags), "other").removesuffix("f")
    extra = [n for n, f in (("vnni", "avx512_vnni"), ("bf16", "avx512_bf16"), ("amx", "amx_tile")) if f in flags]
    return " ".join([isa, *extra])


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would type it from the repository root."""
    argv = list(sys.argv if argv is None else argv)
    if argv:
        try:
            argv[0] = str(Path(argv[0]).resolve().relative_to(REPO))
        except ValueError:
            pass
    return "python " + shlex.join(argv)


def receipt(name: str, figures: dict[str, Any], *, threads: int, command: str | None = None) -> dict[str, Any]:
    """The results record for ``figures`` (not written)."""
    # the code that ran: results files written by earlier runs (and this one) do not make it dirty
    dirty = _git("status", "--porcelain", "--", "src", "benchmarks", ":(exclude)benchmarks/results")
    return {
        "schema": SCHEMA,
        "name": name,
        "command": command or command_line(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD") or "unknown",
        "git_dirty": bool(dirty) if dirty is not None else None,
        "cpu": cpu_name(),
        "cpu_features": cpu_features(),
        "threads": int(threads),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": sys.modules["torch"].__version__ if "torch" in sys.modules else None,
        "figures": figures,
    }


def strict(x: Any) -> Any:
    """``x`` with every non-finite float (a measure that had nothing to measure) as ``None``:
    JSON has no NaN."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: strict(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [strict(v) for v in x]
    return x


def write_results(
    name: str, figures: dict[str, Any], *, threads: int, command: str | None = None, directory: Path | None = None
) -> Path:
    """Write ``<directory>/<name>.json`` atomically (temp file + rename); return its path.
    Non-finite figures are written as ``null`` (strict JSON)."""
    directory = RESULTS if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            strict(receipt(name, figures, threads=threads, command=command)), indent=1, sort_keys=False, allow_nan=False
        )
        + "\n"
    )
    os.replace(tmp, path)
    return path


def load_results(name: str, directory: Path | None = None) -> dict[str, Any]:
    """Read and check one results file."""
    directory = RESULTS if directory is None else Path(directory)
    data = json.loads((directory / f"{name}.json").read_text())
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"{name}.json lacks {', '.join(missing)}")
    if data["schema"] != SCHEMA:
        raise ValueError(f"{name}.json has schema {data['schema']}, expected {SCHEMA}")
    return data


def figure(name: str, path: str, directory: Path | None = None) -> Any:
    """One figure: ``figure("instant_speed", "ratios.sf-lite.512")``."""
    node: Any = load_results(name, directory)["figures"]
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            raise KeyError(f"{name}.json has no figure {path!r} (stops at {key!r})")
        node = node[key]
    return node
