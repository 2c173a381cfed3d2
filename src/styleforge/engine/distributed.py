"""torchrun environment with a single-process fallback (one code path for 1 or N processes)."""

from __future__ import annotations

__all__ = ["DistEnv"]

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    """Rank, local rank and world size as torchrun sets them (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> DistEnv:
        env = os.environ
        return cls(int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)), int(env.get("WORLD_SIZE", 1)))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str = "auto") -> torch.device:
        """``auto`` → ``cuda:LOCAL_RANK`` when CUDA is present, else CPU."""
        if requested == "auto":
            requested = "cuda" if torch.cuda.is_available() else "cpu"
        dev = torch.device(requested)
        if dev.type == "cuda" and dev.index is None:
            dev = torch.device("cuda", self.local_rank)
        return dev

    def init(self, device: torch.device) -> bool:
        """Join the process group (NCCL on CUDA, gloo on CPU); returns True if this call created it."""
        if not self.distributed or dist.is_initialized():
            return False
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return True

    def barrier(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.barrier()

    def mean(self, value: float, device: torch.device) -> float:
        """Average a float over all ranks (identity for one process)."""
        if not (self.distributed and dist.is_initialized()):
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return float(t) / self.world_size
