"""Runtime helpers of styleforge.precision, each checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys, torch
{setup}
p = torch.zeros(3, requires_grad=True)
opt = torch.optim.LBFGS([p], max_iter=20, line_search_fn="strong_wolfe")
def closure():
    opt.zero_grad()
    loss = (p - 1).pow(2).sum()
    loss.backward()
    return loss
opt.step(closure)
assert float(p.detach().sum()) > 2.99, p
print("dynamo" if "torch._dynamo" in sys.modules else "no-dynamo")
"""


def _probe(setup: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(setup=setup)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-500:]
    return out.stdout.strip()


def test_skip_dynamo_import_lets_lbfgs_run_without_the_compiler_stack() -> None:
    assert _probe("") == "dynamo"  # what torch does by itself: the first optimiser imports torch._dynamo
    setup = "from styleforge.precision import skip_dynamo_import\nassert skip_dynamo_import()"
    assert _probe(setup) == "no-dynamo"  # and the optimisation still converges


def test_skip_dynamo_import_does_nothing_once_dynamo_is_loaded() -> None:
    setup = "import torch._dynamo\nfrom styleforge.precision import skip_dynamo_import\nassert not skip_dynamo_import()"
    assert _probe(setup) == "dynamo"
