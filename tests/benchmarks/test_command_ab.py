"""benchmarks/command_ab.py: one command from two checkouts, run in turn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _ab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "command_ab.py"), *args], capture_output=True, text=True, cwd=REPO
    )


def test_runs_the_command_from_each_checkout_in_turn() -> None:
    probe = "import styleforge, pathlib; assert 'command-ab-' in styleforge.__file__, styleforge.__file__"
    proc = _ab("--rev-a", "HEAD", "--rev-b", "HEAD", "--pairs", "2", "--frames", "10", "--", "python", "-c", probe)
    assert proc.returncode == 0, proc.stderr[-500:]
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:6]] == ["warm-up", "warm-up", "pair", "pair", "pair", "pair"]
    assert [ln.split()[2 if ln.split()[0] == "pair" else 1] for ln in lines[:6]] == ["a", "b"] * 3  # alternately
    assert "frames/s" in lines[-1] and "of 2 pairs" in lines[-1]
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=REPO, capture_output=True, text=True).stdout
    assert "command-ab-" not in worktrees  # the checkouts are removed


def test_a_failing_command_or_revision_ends_in_one_line() -> None:
    proc = _ab("--rev-a", "no-such-revision", "--", "python", "-c", "pass")
    assert proc.returncode != 0 and "unknown revision" in proc.stderr and "Traceback" not in proc.stderr
    proc = _ab("--rev-a", "HEAD", "--pairs", "1", "--", "python", "-c", "raise SystemExit(3)")
    assert proc.returncode != 0 and "the command failed" in proc.stderr and "Traceback" not in proc.stderr
