"""The training engine shared by every trained model (pix2pix, CycleGAN, ...).

One plain function, :func:`fit`, runs the loop: data loading with a seeded
:class:`SeededSampler` (a ``DistributedSampler`` with ``set_epoch``), the model's
``train_step``, LR schedules, checkpoints, progress bars, the HTML report and
TensorBoard.  The same code runs as one process or under ``torchrun`` (DDP; gloo on
CPU, NCCL on CUDA; rank 0 alone logs and writes files).

How a new model plugs in
------------------------
Write a plain class (no base class needed) with:

- ``kind: str`` — stored in checkpoints (``"pix2pix"``, ``"cyclegan"``); resume and
  inference refuse a checkpoint of another kind;
- ``monitor: str`` — the loss name the ``plateau`` LR policy watches;
- ``networks: dict[str, nn.Module]`` — the plain networks by name.  The engine moves
  them to the device, converts SyncBatchNorm on request, saves/loads/exports them;
- ``config_dict() -> dict`` — architecture/loss settings (JSON-able).  Resuming with a
  different dict is refused;
- ``make_optimizers() -> dict[str, Optimizer]`` — called after the networks are on
  their device; the engine attaches one LR scheduler to each;
- ``train_step(batch, ctx) -> dict[str, Tensor]`` — one iteration; use
  ``ctx.nets[name]`` (DDP-wrapped when distributed) for forwards whose gradients
  must be all-reduced, ``ctx.optimizers[name]``, ``with ctx.autocast():``,
  ``ctx.input(x)`` (device + memory format), ``ctx.backward(loss)`` and
  ``ctx.step(optimizer)`` (these handle AMP gradient scaling).  Under DDP call each
  wrapped network's forward at most once per backward; for a forward through a
  *frozen* network (e.g. D during the G update) use the plain ``self.networks[name]``.
  Return detached scalar losses; the engine averages them per epoch;
- ``visuals(batch, device) -> dict[str, Tensor]`` — RGB images in [0, 1] for the HTML
  report and TensorBoard (one column per entry, one row per sample).
- optional ``extra_state() -> dict`` / ``load_extra_state(dict)`` — state that is not
  in a network (CycleGAN's image pools): saved in checkpoints per rank, restored on resume.

Datasets receive keys ``(index, seed)`` from the sampler; draw all augmentation from
``torch.Generator().manual_seed(seed)`` and the run is reproducible across resumes
(the seed depends only on the run seed, the epoch and the index; the global torch
RNG, used by dropout, is reseeded from (seed, step, rank) before every step).

Examples:
    >>> cfg = TrainConfig(out_dir="runs/x", n_epochs=1, n_epochs_decay=0)  # doctest: +SKIP
    >>> fit(Pix2Pix(Pix2PixConfig()), AlignedDataset("data/facades/train"), cfg, resume="auto")  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = [
    "DistEnv",
    "FitResult",
    "HtmlReport",
    "SeededSampler",
    "StepContext",
    "TrainConfig",
    "TrainableModel",
    "export_safetensors",
    "find_latest",
    "fit",
    "image_grid",
    "load_checkpoint",
    "load_safetensors",
    "make_scheduler",
    "mix_seed",
    "save_checkpoint",
]

from .checkpoint import export_safetensors, find_latest, load_checkpoint, load_safetensors, save_checkpoint
from .distributed import DistEnv
from .report import HtmlReport, image_grid
from .schedules import make_scheduler
from .trainer import FitResult, SeededSampler, StepContext, TrainableModel, TrainConfig, fit, mix_seed
