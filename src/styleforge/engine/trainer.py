"""``fit``: the one training loop shared by every trained model (see ``engine/__init__.py``)."""

from __future__ import annotations

__all__ = ["FitResult", "SeededSampler", "StepContext", "TrainConfig", "TrainableModel", "fit", "mix_seed"]

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import InputError
from ..precision import cpu_has_native_bf16
from .checkpoint import (
    checkpoint_name,
    export_safetensors,
    find_latest,
    get_rng_state,
    load_checkpoint,
    prune_checkpoints,
    save_checkpoint,
    set_rng_state,
)
from .distributed import DistEnv
from .report import HtmlReport, Sink, image_grid, open_tensorboard
from .schedules import make_scheduler

log = logging.getLogger("styleforge.engine")

_MASK = (1 << 64) - 1


def mix_seed(*values: int) -> int:
    """A well-mixed 63-bit seed from integers (splitmix64); pure and platform-independent.

    Examples:
        >>> mix_seed(0, 1) == mix_seed(0, 1) != mix_seed(1, 0)
        True
    """
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & _MASK)) & _MASK
        h = (h + 0x9E3779B97F4A7C15) & _MASK
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
        h ^= h >> 31
    return h & 0x7FFF_FFFF_FFFF_FFFF


class TrainableModel(Protocol):
    """What :func:`fit` needs from a model (pix2pix, CycleGAN, ...)."""

    kind: str
    monitor: str
    networks: dict[str, nn.Module]

    def config_dict(self) -> dict[str, Any]: ...
    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]: ...
    def train_step(self, batch: Any, ctx: Any) -> Mapping[str, torch.Tensor | float]: ...
    def visuals(self, batch: Any, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]: ...


@dataclass(frozen=True)
class TrainConfig:
    """Everything about *how* to train (the model's own hyper-parameters live in its config)."""

    out_dir: str = "runs/train"
    #: ``linear``: constant LR for ``n_epochs``, then decay to 0 over ``n_epochs_decay``.
    n_epochs: int = 100
    n_epochs_decay: int = 100
    lr_policy: str = "linear"
    lr_step_epochs: int = 50
    lr_gamma: float = 0.1
    plateau_patience: int = 5
    batch_size: int = 1
    num_workers: int = 0
    seed: int = 0
    #: Stop after this many optimisation steps / minutes (checkpointed; ``--resume`` continues).
    max_steps: int | None = None
    max_minutes: float | None = None
    save_every_epochs: int = 5
    save_every_steps: int = 0
    keep_last: int = 3
    visual_every_epochs: int = 1
    n_visuals: int = 4
    log_every_steps: int = 50
    #: KID-VGG16 of the report's ``fake_B`` against its ``real_B`` samples each epoch (an offline
    #: proxy on ``n_visuals`` images: a trend, not a benchmark figure; needs at least 4 samples).
    report_kid: bool = False
    #: ``none``, ``bf16`` or ``fp16`` autocast on CUDA; on CPU ``bf16`` autocasts where the CPU
    #: computes bf16 natively (AMX / AVX512-BF16: 1.8× faster VGG losses) and fp16 is ignored.
    #: ``auto``: bf16 on such CPUs and on CUDA, else none.
    amp: str = "none"
    #: ``auto`` = on (NHWC convolutions: faster on CUDA, and 1.2× faster for pix2pix on CPU in
    #: ``benchmarks/train_speed.py``); ``off`` keeps NCHW.
    channels_last: str = "auto"
    deterministic: bool = False
    sync_bn: bool = False
    tensorboard: bool = True
    progress: bool = True
    device: str = "auto"

    @property
    def epochs(self) -> int:
        return self.n_epochs + self.n_epochs_decay

    def __post_init__(self) -> None:
        if self.amp not in ("none", "bf16", "fp16", "auto"):
            raise InputError(f"--amp must be none, bf16, fp16 or auto, got {self.amp!r}")
        if self.channels_last not in ("auto", "on", "off"):
            raise InputError(f"--channels-last must be auto, on or off, got {self.channels_last!r}")
        if self.batch_size < 1 or self.epochs < 1:
            raise InputError("--batch-size and the number of epochs must be at least 1")


def amp_dtype_for(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``--amp`` on ``device`` (``None``: full precision)."""
    if amp == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bf16() else None
    if device.type == "cuda":
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    if amp == "bf16" and device.type == "cpu":
        if cpu_has_native_bf16():
            return torch.bfloat16
        log.info("--amp bf16 ignored: this CPU has no native bf16 (it would be slower than fp32)")
    elif amp == "fp16":
        log.info("--amp fp16 ignored: fp16 autocast is used on CUDA only")
    return None


class SeededSampler(DistributedSampler):
    """DistributedSampler (seeded shuffling, ``set_epoch``, rank sharding) yielding ``(index, seed)`` keys.

    Each key's seed derives from (run seed, epoch, index) only, so the dataset's random
    crop/flip is reproducible across resumes; :meth:`set_start` skips the batches a
    resumed epoch already trained on.
    """

    def __init__(self, dataset: Dataset[Any], *, num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self.start = 0

    def set_start(self, start: int) -> None:
        self.start = start

    def __iter__(self) -> Iterator[tuple[int, int]]:
        indices = list(super().__iter__())[self.start :]
        for i in indices:
            yield (i, mix_seed(self.seed, self.epoch, i))

    def __len__(self) -> int:
        return max(0, self.num_samples - self.start)


@dataclass
class StepContext:
    """Handed to ``model.train_step``: the (maybe DDP-wrapped) networks, optimisers, AMP and device."""

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    device: torch.device
    amp_dtype: torch.dtype | None = None
    scaler: Any = None
    channels_last: bool = False

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(optimizer)
        else:
            optimizer.step()


@dataclass
class FitResult:
    step: int
    epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None
    seconds: float = 0.0
    #: The resumed run had already reached ``max_steps`` or the end of its epochs: nothing was done.
    already_finished: bool = False


def _resolve_resume(resume: str | None, ckpt_dir: Path) -> Path | None:
    if resume is None:
        return None
    if resume == "auto":
        found = find_latest(ckpt_dir)
        if found is None:
            log.info("--resume auto: no checkpoint in %s, starting from scratch", ckpt_dir)
        return found
    return Path(resume)


def _check_same_model(ckpt: dict[str, Any], model: TrainableModel, path: Path) -> None:
    if ckpt.get("kind") != model.kind:
        raise InputError(f"cannot resume: {path} is a {ckpt.get('kind')} checkpoint, not {model.kind}")
    saved, now = ckpt.get("model_config", {}), model.config_dict()
    diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
    if diff:
        k = diff[0]
        raise InputError(
            f"cannot resume {path}: the model settings differ ({', '.join(diff)}; "
            f"e.g. {k} was {saved.get(k)!r}, now {now.get(k)!r})"
        )


def _finished(ckpt: Mapping[str, Any], cfg: TrainConfig) -> str:
    """Why a checkpointed run has nothing left to do under ``cfg`` (``""``: it has)."""
    step, epoch = int(ckpt["step"]), int(ckpt["epoch"])
    if cfg.max_steps is not None and step >= cfg.max_steps:
        return f"step {step} of --max-steps {cfg.max_steps}"
    if epoch >= cfg.epochs:
        return f"epoch {epoch} of {cfg.epochs}"
    return ""


def fit(
    model: TrainableModel,
    dataset: Dataset[Any],
    cfg: TrainConfig,
    *,
    resume: str | None = None,
    dist_env: DistEnv | None = None,
    extra_config: Mapping[str, Any] | None = None,
    sinks: list[Sink] | None = None,
) -> FitResult:
    """Train ``model`` on ``dataset`` following ``cfg``; returns where it stopped.

    Writes ``out_dir/checkpoints/ckpt_<step>.pt`` (every ``save_every_*`` and at the end),
    ``out_dir/weights/<net>.safetensors``, ``out_dir/web/index.html`` and TensorBoard logs
    (rank 0 only).  ``resume`` is a checkpoint path or ``"auto"`` (latest in ``out_dir``).
    ``extra_config`` (e.g. data settings) is stored in checkpoints for reference.
    """
    denv = dist_env or DistEnv.from_env()
    device = denv.device(cfg.device)
    created_group = denv.init(device)
    out = Path(cfg.out_dir)
    ckpt_dir = out / "checkpoints"
    main = denv.is_main
    t_start = time.perf_counter()
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic
    amp_dtype = amp_dtype_for(cfg.amp, device)
    # channels_last helps convolutions on CUDA; on CPU it measured 12 % slower for pix2pix (2 cores).
    channels_last = cfg.channels_last == "on" or (cfg.channels_last == "auto" and device.type == "cuda")

    # -- networks, optimisers, schedulers, resume ------------------------------------
    resume_path = _resolve_resume(resume, ckpt_dir)
    ckpt = load_checkpoint(resume_path) if resume_path is not None else None
    if ckpt is not None:
        _check_same_model(ckpt, model, resume_path)  # type: ignore[arg-type]
        done = _finished(ckpt, cfg)
        if done:  # a finished run stays finished: resuming it is a no-op (no step, no file written)
            if main:
                log.info(
                    "%s: this run is already finished (%s); nothing to do. Raise --max-steps or "
                    "--n-epochs/--n-epochs-decay to train further",
                    resume_path,
                    done,
                )
            if created_group:
                torch.distributed.destroy_process_group()
            return FitResult(
                int(ckpt["step"]),
                int(ckpt["epoch"]),
                list(ckpt.get("history", [])),
                resume_path,
                time.perf_counter() - t_start,
                already_finished=True,
            )
    for name, net in model.networks.items():
        net.to(device)
        if channels_last:
            net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # missing from torch's stubs
        if cfg.sync_bn and denv.distributed:
            model.networks[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    optimizers = model.make_optimizers()
    schedulers = {
        k: make_scheduler(
            o,
            cfg.lr_policy,
            n_epochs=cfg.n_epochs,
            n_epochs_decay=cfg.n_epochs_decay,
            step_epochs=cfg.lr_step_epochs,
            gamma=cfg.lr_gamma,
            patience=cfg.plateau_patience,
        )
        for k, o in optimizers.items()
    }
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    epoch, step, batch_in_epoch = 0, 0, 0
    meters: dict[str, list[float]] = {}
    history: list[dict[str, float]] = []
    if ckpt is not None:
        try:
            for k, net in model.networks.items():
                net.load_state_dict(ckpt["models"][k])
            for k, o in optimizers.items():
                o.load_state_dict(ckpt["optimizers"][k])
            for k, s in schedulers.items():
                s.load_state_dict(ckpt["schedulers"][k])
        except (KeyError, RuntimeError, ValueError) as e:
            raise InputError(
                f"cannot resume from {resume_path}: it does not match this model ({str(e).splitlines()[0][:120]})"
            ) from None
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        extra_states = ckpt.get("extra_state")
        if extra_states and hasattr(model, "load_extra_state"):  # optional (CycleGAN's image pools), one per rank
            model.load_extra_state(extra_states[denv.rank % len(extra_states)])
        epoch, step, batch_in_epoch = int(ckpt["epoch"]), int(ckpt["step"]), int(ckpt["batch_in_epoch"])
        meters = {k: [float(s), float(n)] for k, (s, n) in ckpt.get("meters", {}).items()}
        history = list(ckpt.get("history", []))
        if main:
            log.info("resumed from %s at epoch %d, step %d", resume_path, epoch + 1, step)

    nets: dict[str, nn.Module] = dict(model.networks)
    if denv.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        nets = {k: DDP(n, device_ids=ids, broadcast_buffers=False) for k, n in nets.items()}
    ctx = StepContext(nets, optimizers, device, amp_dtype, scaler, channels_last)

    sampler = SeededSampler(dataset, num_replicas=denv.world_size, rank=denv.rank, seed=cfg.seed)
    vis_batch = None
    sink_list: list[Sink] = list(sinks or [])
    if main:
        out.mkdir(parents=True, exist_ok=True)
        n_vis = min(cfg.n_visuals, len(dataset))  # type: ignore[arg-type]
        if n_vis:
            vis_batch = torch.utils.data.default_collate([dataset[i] for i in range(n_vis)])
        if sinks is None:
            sink_list.append(HtmlReport(out / "web", title=f"{model.kind} · {out.name}"))
            if cfg.tensorboard:
                tb = open_tensorboard(out / "tb")
                if tb is not None:
                    sink_list.append(tb)

    def state(ep: int, bie: int) -> dict[str, Any]:
        return {
            "kind": model.kind,
            "model_config": model.config_dict(),
            "train_config": dataclasses.asdict(cfg),
            "extra_config": dict(extra_config or {}),
            "epoch": ep,
            "step": step,
            "batch_in_epoch": bie,
            "models": {k: n.state_dict() for k, n in model.networks.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": get_rng_state(),
            "meters": {k: list(v) for k, v in meters.items()},
            "history": history,
        }

    last_saved: Path | None = None

    def save(ep: int, bie: int) -> None:
        nonlocal last_saved
        extra_states = _gather_extra_state(model, denv)
        if main:
            payload = state(ep, bie)
            if extra_states is not None:
                payload["extra_state"] = extra_states
            last_saved = save_checkpoint(payload, ckpt_dir / checkpoint_name(step))
            prune_checkpoints(ckpt_dir, cfg.keep_last)
        denv.barrier()

    for net in model.networks.values():
        net.train()
    deadline = t_start + cfg.max_minutes * 60 if cfg.max_minutes else math.inf
    stopped = False
    saved_at_step = step if ckpt is not None else -1
    while epoch < cfg.epochs and not stopped:
        sampler.set_epoch(epoch)
        sampler.set_start(batch_in_epoch * cfg.batch_size)
        loader = DataLoader(
            dataset,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=False,
        )
        total = batch_in_epoch + len(loader)
        bar = _progress(total, batch_in_epoch, f"epoch {epoch + 1}/{cfg.epochs}", main and cfg.progress)
        for batch in loader:
            torch.manual_seed(mix_seed(cfg.seed, step, denv.rank))  # dropout etc.: a function of the step
            losses = model.train_step(batch, ctx)
            if scaler is not None:
                scaler.update()
            step += 1
            batch_in_epoch += 1
            values = {k: float(v) for k, v in losses.items()}
            for k, v in values.items():
                m = meters.setdefault(k, [0.0, 0.0])
                m[0] += v
                m[1] += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in values.items()}, refresh=False)
            if main and cfg.log_every_steps and step % cfg.log_every_steps == 0:
                for s in sink_list:
                    s.scalars(step, {f"loss/{k}": v for k, v in values.items()})
            if cfg.save_every_steps and step % cfg.save_every_steps == 0:
                save(epoch, batch_in_epoch)
                saved_at_step = step
            out_of_time = time.perf_counter() > deadline
            if cfg.max_minutes and denv.distributed:  # every rank must stop at the same step
                out_of_time = denv.mean(float(out_of_time), device) > 0
            if (cfg.max_steps is not None and step >= cfg.max_steps) or out_of_time:
                stopped = True
                break
        if bar is not None:
            bar.close()
        if stopped and batch_in_epoch < total:
            break
        # -- end of epoch: metrics, LR, visuals, checkpoint ----------------------------
        metrics = {k: s / max(n, 1) for k, (s, n) in meters.items()}
        for k, o in optimizers.items():
            metrics[f"lr_{k}"] = o.param_groups[0]["lr"]
        history.append({"epoch": epoch + 1, "step": step, **metrics})
        for s in schedulers.values():
            if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
                s.step(denv.mean(metrics.get(model.monitor, 0.0), device))
            else:
                s.step()
        epoch += 1
        batch_in_epoch = 0
        meters = {}
        if main:
            log.info(
                "epoch %d/%d (step %d): %s",
                epoch,
                cfg.epochs,
                step,
                ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()),
            )
            if vis_batch is not None and (epoch % cfg.visual_every_epochs == 0 or epoch == cfg.epochs):
                vis = model.visuals(vis_batch, device)
                if cfg.report_kid:
                    metrics |= _report_kid(vis)
                grid = image_grid(vis)
                for s in sink_list:
                    s.images(epoch, step, grid, list(vis), metrics)
        if epoch % cfg.save_every_epochs == 0 or epoch == cfg.epochs:
            save(epoch, 0)
            saved_at_step = step
    if saved_at_step != step:
        save(epoch, batch_in_epoch)
    if main:
        wdir = out / "weights"
        wdir.mkdir(exist_ok=True)
        for k, n in model.networks.items():
            export_safetensors(
                n.state_dict(),
                wdir / f"{k}.safetensors",
                metadata={
                    "kind": model.kind,
                    "network": k,
                    "model_config": model.config_dict(),
                    "extra_config": dict(extra_config or {}),
                    "step": step,
                },
            )
        for s in sink_list:
            s.close()
        if last_saved is None:
            last_saved = find_latest(ckpt_dir)
    denv.barrier()
    if created_group:
        torch.distributed.destroy_process_group()
    return FitResult(step, epoch, history, last_saved, time.perf_counter() - t_start)


def _report_kid(vis: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """``{"KID-VGG16 (n samples)": value}`` for the report, or nothing (too few samples, no VGG16 weights)."""
    from ..errors import StyleforgeError
    from .distribution import kid_vgg16

    fake, real = vis.get("fake_B"), vis.get("real_B")
    if fake is None or real is None or len(fake) < 4:
        return {}
    try:
        return {f"KID-VGG16 ({len(fake)} samples)": kid_vgg16(list(fake[:, None]), list(real[:, None]))}
    except StyleforgeError as e:
        log.info("KID-VGG16 not reported: %s", e)
        return {}


def _gather_extra_state(model: TrainableModel, denv: DistEnv) -> list[Any] | None:
    """The model's optional ``extra_state()`` (non-network state, e.g. image pools) of every rank, by rank."""
    get = getattr(model, "extra_state", None)
    if get is None:
        return None
    mine = get()
    if not (denv.distributed and torch.distributed.is_initialized()):
        return [mine]
    gathered: list[Any] = [None] * denv.world_size
    torch.distributed.all_gather_object(gathered, mine)
    return gathered


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="it", leave=False, dynamic_ncols=True)
