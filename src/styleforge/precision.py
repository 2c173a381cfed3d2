"""Which reduced precision this machine computes natively (no torch-heavy imports beyond torch)."""

from __future__ import annotations

__all__ = ["cpu_has_native_bf16", "skip_dynamo_import"]

import functools
import sys

import torch


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (AMX or AVX512-BF16)."""
    try:
        if torch.cpu._is_amx_tile_supported():
            return True
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            return "avx512_bf16" in f.read(1 << 16)
    except OSError:
        return False


#: torch.optim.Optimizer methods wrapped by ``torch._disable_dynamo``: their first call imports torch._dynamo.
_DYNAMO_WRAPPED = ("__init__", "add_param_group", "zero_grad", "state_dict", "load_state_dict")


def skip_dynamo_import() -> bool:
    """Let optimisers run without importing ``torch._dynamo`` (≈ 1.5–3 s on this CPU) in a process that never compiles.

    torch wraps a few ``Optimizer`` methods in ``torch._disable_dynamo``, whose first call imports the
    whole compiler stack only to mark the method "not traceable" — the largest part of the start-up of
    a short Gatys preview.  Each wrapper caches its result on the original function; setting that
    cache to the function itself skips the import.  Only for processes that never call
    ``torch.compile`` (the CLI); does nothing once torch._dynamo is imported or if torch's wrapping
    changes.  Returns whether it applied.
    """
    if "torch._dynamo" in sys.modules:
        return False
    applied = False
    for name in _DYNAMO_WRAPPED:
        original = getattr(getattr(torch.optim.Optimizer, name, None), "__wrapped__", None)
        if callable(original) and getattr(original, "__dynamo_disable", None) is None:
            setattr(original, "__dynamo_disable", original)
            applied = True
    return applied
