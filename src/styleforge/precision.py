"""Which reduced precision this machine computes natively (no torch-heavy imports beyond torch)."""

from __future__ import annotations

__all__ = ["cpu_has_native_bf16"]

import functools

import torch


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (AMX or AVX512-BF16)."""
    try:
        if torch.cpu._is_amx_tile_supported():  # type: ignore[attr-defined]
            return True
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            return "avx512_bf16" in f.read(1 << 16)
    except OSError:
        return False
