"""Training of WCT reconstruction decoders (photos only, no style loss).

Every decoder of :class:`styleforge.nets.wct.ReconDecoder` learns to invert
the frozen offline VGG16 at its level: loss = pixel MSE + relative feature
MSE at that level; the one-convolution ``relu1_1`` decoder is fitted in closed form
(least squares) instead.  All levels train
in one loop on the same crops, sharing the encoder passes.  The run is
trained on the engine (:func:`styleforge.engine.fit`): atomic, resumable checkpoints in
``--out/checkpoints``, the HTML report, a stop after ``--max-minutes``; it logs to
``--out/log.txt`` and exports ``weights/wct.safetensors`` (all levels, ``kind=wct``).

Run ``python -m styleforge.instant.recon --help``.
"""

from __future__ import annotations

__all__ = [
    "ReconConfig",
    "ReconModel",
    "export_bundle",
    "fit_linear_decoder",
    "load_photos",
    "main",
    "parse_feedback",
    "train",
    "transfer_targets",
]

import argparse
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from ..errors import InputError
from ..io import list_images

if TYPE_CHECKING:
    from ..nets.wct import ReconDecoder

KIND = "wct"


@dataclass
class ReconConfig:
    """Settings of a WCT decoder training run (``python -m styleforge.instant.recon``)."""

    content_dirs: list[str]
    out: str
    levels: list[str] = field(default_factory=lambda: ["relu4_1", "relu3_1", "relu1_1"])
    widths: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    exclude_file: str | None = None
    crop: int = 128
    batch_size: int = 4
    lr: float = 1e-3
    feature_weight: float = 1.0
    max_steps: int = 100000
    max_minutes: float = 10.0
    amp: str = "auto"
    eval_every: int = 100
    seed: int = 0
    threads: int = 0
    device: str = "cpu"
    init_from: str | None = None
    passes: list[str] | None = None  # inference: pass order recorded in the weights (default: each level once)
    gain: float = 1.0  # inference: see styleforge.nets.wct.wct
    feedback: dict[str, float] = field(default_factory=dict)  # inference: level → η, see styleforge.nets.wct.WCTNet
    feedback_steps: int = 1
    deep_size: int = 0  # inference: long side of the first pass (0: full size)
    sizes: list[int] | None = None  # inference: each pass's long side (0: full size); overrides deep_size
    style_dirs: list[str] = field(default_factory=list)  # paintings for the transfer-consistency loss
    wct_weight: float = 0.0  # weight of that loss (0: reconstruction only)


def _excluded(path: str | None) -> set[str]:
    if path is None:
        return set()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--exclude-file not found: {p}")
    return {Path(line.strip()).name for line in p.read_text().splitlines() if line.strip() and not line.startswith("#")}


def load_photos(folders: Sequence[str], exclude: set[str], short: int) -> list[torch.Tensor]:
    """Every photo of ``folders`` (minus ``exclude`` names), short side ``short``, as uint8 ``(3, H, W)``."""
    from PIL import Image

    files: list[Path] = []
    for d in folders:
        if not Path(d).is_dir():
            raise InputError(f"content folder not found: {d}")
        files += [f for f in list_images(d, recursive=True) if f.name not in exclude]
    if not files:
        raise InputError("no training photos")
    out = []
    for f in sorted(set(files)):
        img = Image.open(f).convert("RGB")
        k = short / min(img.size)
        img = img.resize(
            (max(short, round(img.width * k)), max(short, round(img.height * k))), Image.Resampling.BICUBIC
        )
        out.append(torch.from_numpy(__import__("numpy").asarray(img).copy()).permute(2, 0, 1))
    return out


def _batch(photos: list[torch.Tensor], n: int, crop: int, g: torch.Generator) -> torch.Tensor:
    xs = []
    for _ in range(n):
        img = photos[int(torch.randint(len(photos), (1,), generator=g))]
        scale = float(torch.empty(1).uniform_(0.5, 1.0, generator=g))
        size = max(crop, round(min(img.shape[-2:]) * scale))
        _, h, w = img.shape
        y0 = int(torch.randint(h - size + 1, (1,), generator=g))
        x0 = int(torch.randint(w - size + 1, (1,), generator=g))
        x = img[:, y0 : y0 + size, x0 : x0 + size].float()[None] / 255.0
        x = F.interpolate(x, size=(crop, crop), mode="bilinear", align_corners=False, antialias=True)
        if float(torch.rand(1, generator=g)) < 0.5:
            x = x.flip(-1)
        xs.append(x)
    return torch.cat(xs)


def fit_linear_decoder(
    decoder: ReconDecoder,
    features: torch.Tensor,
    images: torch.Tensor,
    n_pixels: int = 4000,
    seed: int = 1,
    ridge: float = 1e-3,
) -> None:
    """Set the one-convolution ``relu1_1`` decoder to the least-squares inverse (ridge) of ``features`` → ``images``.

    relu1_1 is one convolution + ReLU of the image, so a linear 3×3 decoder inverts it almost exactly
    (≈ 41 dB here, where Adam reached 20 dB in 100 steps).
    """
    first = decoder.body[0]
    assert isinstance(first, torch.nn.Sequential)  # reflection pad, convolution
    conv = first[1]
    assert isinstance(conv, torch.nn.Conv2d) and conv.bias is not None
    cin = conv.in_channels
    fp = F.pad(features.float() * decoder.IN_SCALE, (1, 1, 1, 1), mode="reflect")
    cols = F.unfold(fp, 3)  # N, cin·9, H·W
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(cols.shape[-1], generator=g)[:n_pixels].to(cols.device)
    a = cols[:, :, idx].permute(0, 2, 1).reshape(-1, cin * 9).double()
    a = torch.cat([a, torch.ones(len(a), 1, dtype=a.dtype, device=a.device)], 1)
    y = images.reshape(len(images), 3, -1)[:, :, idx].permute(0, 2, 1).reshape(-1, 3).double()
    w = torch.linalg.solve(a.T @ a + ridge * torch.eye(a.shape[1], dtype=a.dtype, device=a.device), a.T @ y)
    with torch.no_grad():
        conv.weight.copy_(w[:-1].T.reshape(3, cin, 3, 3).float())
        conv.bias.copy_(w[-1].float())


def transfer_targets(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Per sample, ``content`` features whitened and coloured with ``style``'s (``(N, C, H, W)`` each)."""
    from ..nets.wct import covariance_stats, wct

    with torch.autocast(content.device.type, enabled=False):  # covariances and eigh in float32
        return torch.cat(
            [wct(content[i : i + 1].float(), covariance_stats(style[i : i + 1].float())) for i in range(len(content))]
        )


def _log(out: Path, msg: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(out / "log.txt", "a") as fh:
        fh.write(line + "\n")


#: ReconConfig fields that shape the training (a resumed run must keep them); the rest are run
#: limits (steps, minutes, threads) and inference settings recorded in the exported weights.
_MODEL_FIELDS = ("levels", "widths", "crop", "batch_size", "lr", "feature_weight", "seed", "wct_weight")
_INFERENCE_FIELDS = ("passes", "gain", "feedback", "feedback_steps", "deep_size", "sizes")


class ReconModel:
    """The decoders as an engine model (:func:`styleforge.engine.fit`): every step draws its crops
    from the run's own generator (saved in checkpoints), so a resumed run continues exactly."""

    kind = KIND
    monitor = "loss"

    def __init__(
        self,
        cfg: ReconConfig,
        encoder: torch.nn.Module,
        decoders: torch.nn.ModuleDict,
        photos: list[torch.Tensor],
        paintings: list[torch.Tensor],
        trained: list[str],
    ) -> None:
        self.cfg, self.enc, self.photos, self.paintings, self.trained = cfg, encoder, photos, paintings, trained
        self.decoders = decoders
        self.networks: dict[str, torch.nn.Module] = {"decoders": decoders}
        self.g = torch.Generator().manual_seed(cfg.seed)

    def config_dict(self) -> dict[str, Any]:
        c = asdict(self.cfg)
        return {k: c[k] for k in _MODEL_FIELDS}

    def make_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"decoders": torch.optim.Adam(self.networks["decoders"].parameters(), lr=self.cfg.lr)}

    def extra_state(self) -> dict[str, Any]:
        return {"gen": self.g.get_state()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.g.set_state(state["gen"])

    def loss(self, x: torch.Tensor, dev: torch.device) -> torch.Tensor:
        """Pixel MSE + relative feature MSE of each trained level (and, with paintings, the
        transfer-consistency term: decoded WCT features must re-encode to themselves)."""
        decs, enc, cfg, trained = self.decoders, self.enc, self.cfg, self.trained
        with torch.no_grad():
            f = {k: v.float() for k, v in enc(x, cfg.levels).items()}
        ys = {lv: decs[lv](f[lv], size=x.shape[-2:]).float() for lv in trained}
        loss: Any = sum(F.mse_loss(y, x) for y in ys.values()) * 10.0
        # feature terms (level, decoded image, target features, weight): each decoded image must re-encode to
        # its target — the photo's own features, and with paintings their whitened-and-coloured version too
        terms = [(lv, ys[lv], f[lv], cfg.feature_weight) for lv in trained]
        if self.paintings:
            with torch.no_grad():
                fs = {
                    k: v.float()
                    for k, v in enc(_batch(self.paintings, len(x), cfg.crop, self.g).to(dev), trained).items()
                }
            moved = {lv: transfer_targets(f[lv], fs[lv]) for lv in trained}
            terms += [(lv, decs[lv](moved[lv], size=x.shape[-2:]).float(), moved[lv], cfg.wct_weight) for lv in trained]
        terms = [t for t in terms if t[3] > 0]
        if terms:
            fy = enc(torch.cat([y for _, y, _, _ in terms]), trained)
            for i, (lv, _, target, weight) in enumerate(terms):
                part = fy[lv][i * len(x) : (i + 1) * len(x)].float()
                loss = loss + weight * F.mse_loss(part, target) / target.pow(2).mean().clamp_min(1e-6)
        return loss

    def train_step(self, batch: Any, ctx: Any) -> dict[str, torch.Tensor]:
        x = _batch(self.photos, self.cfg.batch_size, self.cfg.crop, self.g).to(ctx.device)
        with ctx.autocast():
            loss = self.loss(x, ctx.device)
        opt = ctx.optimizers["decoders"]
        opt.zero_grad(set_to_none=True)
        ctx.backward(loss)
        ctx.step(opt)
        return {"loss": loss.detach()}

    def visuals(self, batch: Any, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        x = _batch(self.photos, 4, self.cfg.crop, torch.Generator().manual_seed(12345)).to(device)
        with torch.no_grad():
            f = self.enc(x, self.cfg.levels)
            return {
                "photo": x,
                **{lv: self.decoders[lv](f[lv], size=x.shape[-2:]).clamp(0, 1) for lv in self.cfg.levels},
            }


class _Steps(torch.utils.data.Dataset):
    """``n`` keys per engine epoch; the crops come from the model's generator, not from here."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: Any) -> int:
        return 0


class _ReconLog:
    """Engine sink: the loss every 10 steps and the validation PSNR every epoch in ``log.txt``."""

    def __init__(self, out: Path, evaluate: Any) -> None:
        self.out, self.evaluate, self.t0 = out, evaluate, time.time()
        self.psnr: dict[str, float] = {}

    def scalars(self, step: int, values: dict[str, float]) -> None:
        _log(
            self.out,
            f"step {step} loss {values['loss/loss']:.4f} {time.time() - self.t0:.0f} s load {os.getloadavg()[0]:.1f}",
        )

    def images(self, epoch: int, step: int, grid: torch.Tensor, columns: list[str], metrics: dict[str, float]) -> None:
        self.psnr = self.evaluate()
        _log(self.out, "val PSNR " + " ".join(f"{k} {v:.2f} dB" for k, v in self.psnr.items()))

    def close(self) -> None:
        pass


def _old_decoders(state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The decoders' state dict of a checkpoint: the engine's (``models/decoders``) or a pre-engine ``ckpt.pt``."""
    return state["models"]["decoders"] if "models" in state else state["decoders"]


def train(cfg: ReconConfig) -> Path:
    """Train (or resume) the decoders of ``cfg.levels`` on the engine; returns the exported weights file.

    Checkpoints (atomic, resumable: ``cfg.out/checkpoints``), the HTML report and TensorBoard are
    the engine's; ``log.txt`` logs the loss and the validation PSNR; ``weights/wct.safetensors``
    holds every level (``kind=wct``) with the inference settings of ``cfg``.
    """
    from ..backbones import build_backbone
    from ..engine import TrainConfig, fit
    from ..engine.checkpoint import find_latest, load_checkpoint
    from ..engine.report import HtmlReport, open_tensorboard
    from ..nets.wct import ReconDecoder

    if len(cfg.widths) != len(cfg.levels):
        raise InputError("--widths needs one value per --levels entry")
    if cfg.eval_every < 1 or cfg.max_steps < 0:
        raise InputError("--eval-every must be ≥ 1 and --max-steps ≥ 0")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    (out / "weights").mkdir(parents=True, exist_ok=True)
    if (out / "ckpt.pt").is_file() and find_latest(out / "checkpoints") is None:
        raise InputError(
            f"{out / 'ckpt.pt'} is a checkpoint of the former training loop: continue it in a new "
            f"--out with --init-from {out / 'ckpt.pt'}"
        )
    torch.manual_seed(cfg.seed)  # the decoders' initialisation
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device here")
    dev = torch.device(cfg.device)
    enc = build_backbone("vgg16-offline", layers=cfg.levels, device=dev)
    decs = torch.nn.ModuleDict({lv: ReconDecoder(lv, w) for lv, w in zip(cfg.levels, cfg.widths, strict=True)}).to(dev)
    latest = find_latest(out / "checkpoints")
    resuming = latest is not None
    if latest is not None:
        _log(out, f"resumed at step {int(load_checkpoint(latest, kind=KIND)['step'])} ({latest.name})")
    if cfg.init_from and not resuming:  # warm start: the decoders of another run's levels
        src = _old_decoders(torch.load(cfg.init_from, weights_only=False, map_location=dev))
        for lv in cfg.levels:
            part = {k[len(lv) + 1 :]: v for k, v in src.items() if k.startswith(lv + ".")}
            if part:
                decs[lv].load_state_dict(part)
        _log(
            out,
            f"initialised {', '.join(lv for lv in cfg.levels if any(k.startswith(lv + '.') for k in src))} "
            f"from {cfg.init_from}",
        )
    photos = load_photos(cfg.content_dirs, _excluded(cfg.exclude_file), short=max(cfg.crop * 2, 256))
    paintings = (
        load_photos(cfg.style_dirs, _excluded(cfg.exclude_file), short=max(cfg.crop * 2, 256))
        if (cfg.style_dirs and cfg.wct_weight > 0)
        else []
    )
    if paintings:
        _log(out, f"{len(paintings)} paintings for the transfer-consistency loss (weight {cfg.wct_weight:g})")
    _log(
        out,
        f"{len(photos)} photos, levels {cfg.levels}, widths {cfg.widths}, "
        f"params {sum(p.numel() for p in decs.parameters()) / 1e6:.2f} M, load {os.getloadavg()}",
    )
    trained = list(cfg.levels)
    if "relu1_1" in decs:  # closed form: no training steps for it
        fit_x = _batch(photos, 24, cfg.crop, torch.Generator().manual_seed(777)).to(dev)
        with torch.no_grad():
            linear = decs["relu1_1"]
            assert isinstance(linear, ReconDecoder)
            fit_linear_decoder(linear, enc(fit_x, ["relu1_1"])["relu1_1"], fit_x)
        decs["relu1_1"].requires_grad_(False)
        trained.remove("relu1_1")
        _log(out, "relu1_1 decoder: least-squares fit on 24 crops")
    model = ReconModel(cfg, enc, decs, photos, paintings, trained)
    val = _batch(photos, 8, cfg.crop, torch.Generator().manual_seed(12345)).to(dev)
    val_paint = _batch(paintings, 8, cfg.crop, torch.Generator().manual_seed(54321)).to(dev) if paintings else None

    def evaluate() -> dict[str, float]:
        with torch.no_grad():
            f = enc(val, cfg.levels)
            psnr = {
                lv: -10 * math.log10(F.mse_loss(decs[lv](f[lv], size=val.shape[-2:]).clamp(0, 1), val).item())
                for lv in cfg.levels
            }
            if val_paint is not None:  # relative feature error of decoded transfers (the consistency loss)
                fs = enc(val_paint, trained)
                for lv in trained:
                    t = transfer_targets(f[lv], fs[lv])
                    back = enc(decs[lv](t, size=val.shape[-2:]).clamp(0, 1), [lv])[lv]
                    _log(out, f"val transfer error {lv} {float(F.mse_loss(back, t) / t.pow(2).mean()):.4f}")
            return psnr

    extra = {k: asdict(cfg)[k] for k in _INFERENCE_FIELDS}
    step, seconds = 0, 0.0
    if trained and (cfg.max_steps > 0 or resuming):
        tcfg = TrainConfig(
            out_dir=str(out),
            n_epochs=max(1, math.ceil(cfg.max_steps / cfg.eval_every)),
            n_epochs_decay=0,
            lr_policy="constant",
            batch_size=1,
            seed=cfg.seed,
            max_steps=cfg.max_steps,
            max_minutes=cfg.max_minutes,
            save_every_epochs=1,
            keep_last=3,
            n_visuals=1,
            log_every_steps=10,
            amp={"on": "bf16", "off": "none"}.get(cfg.amp, cfg.amp),
            channels_last="off",
            tensorboard=False,
            progress=False,
            device=cfg.device,
        )
        sinks: list[Any] = [HtmlReport(out / "web", title=f"wct decoders · {out.name}"), _ReconLog(out, evaluate)]
        tb = open_tensorboard(out / "tb")
        if tb is not None:
            sinks.append(tb)
        res = fit(model, _Steps(cfg.eval_every), tcfg, resume="auto", extra_config=extra, sinks=sinks)
        if res.checkpoint is not None:  # the latest checkpoint's weights (a finished run: nothing was trained)
            st = load_checkpoint(res.checkpoint, kind=KIND)
            decs.load_state_dict(st["models"]["decoders"])
            step, seconds = int(st["step"]), res.seconds
    psnr = evaluate()
    _log(out, f"done: step {step}, val PSNR " + " ".join(f"{k} {v:.2f}" for k, v in psnr.items()))
    path = _export(decs.state_dict(), asdict(cfg), step, seconds, out / "weights" / "wct.safetensors", psnr=psnr)
    (out / "summary.json").write_text(json.dumps({"step": step, "psnr": psnr, "config": asdict(cfg)}, indent=2))
    return path


def export_bundle(ckpt: Path, dst: Path, *, psnr: dict[str, float] | None = None) -> Path:
    """All decoders of a run's checkpoint (the engine's, or a pre-engine ``ckpt.pt``) → one ``kind=wct``
    safetensors (keys ``<level>.body...``), with the inference settings of its config."""
    st = torch.load(ckpt, weights_only=False, map_location="cpu")
    if "models" in st:
        cfg = {**st["model_config"], **st.get("extra_config", {})}
        return _export(st["models"]["decoders"], cfg, int(st["step"]), 0.0, dst, psnr=psnr)
    return _export(st["decoders"], st["config"], int(st["step"]), float(st["seconds"]), dst, psnr=psnr)


def _export(
    decoders: dict[str, torch.Tensor],
    cfg: dict[str, Any],
    step: int,
    seconds: float,
    dst: Path,
    *,
    psnr: dict[str, float] | None = None,
) -> Path:
    from ..engine import export_safetensors

    net: dict[str, Any] = {
        "decoders": {lv: {"width": w} for lv, w in zip(cfg["levels"], cfg["widths"], strict=True)},
        "deep_size": cfg.get("deep_size") or None,
        "gain": cfg.get("gain", 1.0),
    }
    if cfg.get("feedback"):
        net.update(feedback=cfg["feedback"], feedback_steps=cfg.get("feedback_steps", 1))
    if cfg.get("sizes"):
        net["sizes"] = [int(v) or None for v in cfg["sizes"]]
    if cfg.get("passes"):
        net["passes"] = cfg["passes"]
    meta: dict[str, Any] = {"kind": KIND, "model_config": net, "step": step, "seconds": round(seconds)}
    if psnr:
        meta["psnr"] = {k: round(v, 2) for k, v in psnr.items()}
    return export_safetensors(decoders, dst, metadata=meta)


def parse_feedback(items: Sequence[str]) -> dict[str, float]:
    """``--feedback`` values, ``["relu2_1=1", ...]`` → ``{"relu2_1": 1.0}``."""
    out = {}
    for item in items:
        level, _, value = item.partition("=")
        try:
            out[level] = float(value)
        except ValueError:
            raise InputError(f"--feedback takes LEVEL=ETA, not {item!r}") from None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m styleforge.instant.recon", description=__doc__.splitlines()[0])
    ap.add_argument("--content-dir", action="append", required=True, dest="content_dirs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--levels", nargs="+", default=["relu4_1", "relu3_1", "relu1_1"])
    ap.add_argument("--widths", nargs="+", type=float, default=None)
    ap.add_argument("--exclude-file")
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--feature-weight", type=float, default=1.0)
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--max-minutes", type=float, default=10.0)
    ap.add_argument("--amp", choices=["auto", "on", "off"], default="auto")
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument(
        "--init-from", default=None, help="another run's checkpoint: start its matching levels' decoders from it"
    )
    ap.add_argument(
        "--passes",
        nargs="+",
        default=None,
        help="inference (recorded in the weights): pass order, e.g. relu2_1 relu2_1 relu1_1",
    )
    ap.add_argument("--gain", type=float, default=1.0, help="inference (recorded): WCT gain for the trained decoders")
    ap.add_argument(
        "--feedback",
        nargs="+",
        default=[],
        metavar="LEVEL=ETA",
        help="inference (recorded): decoder feedback per level, e.g. relu2_1=1 (styleforge.nets.wct.WCTNet)",
    )
    ap.add_argument("--feedback-steps", type=int, default=1, help="inference (recorded): feedback steps per pass")
    ap.add_argument("--deep-size", type=int, default=0, help="inference (recorded): first pass's long side (0: full)")
    ap.add_argument(
        "--style-dir",
        action="append",
        default=[],
        dest="style_dirs",
        help="paintings for the transfer-consistency loss: decoded WCT features must re-encode to themselves",
    )
    ap.add_argument(
        "--wct-weight", type=float, default=0.0, help="weight of that loss (default 0: reconstruction only)"
    )
    ap.add_argument(
        "--sizes",
        nargs="+",
        type=int,
        default=None,
        help="inference (recorded): each pass's long side, 0 = full size (e.g. 256 384 0)",
    )
    a = ap.parse_args(argv)
    widths = a.widths or [1.0] * len(a.levels)
    try:
        train(
            ReconConfig(
                content_dirs=a.content_dirs,
                out=a.out,
                levels=a.levels,
                widths=widths,
                exclude_file=a.exclude_file,
                crop=a.crop,
                batch_size=a.batch_size,
                lr=a.lr,
                feature_weight=a.feature_weight,
                max_steps=a.max_steps,
                max_minutes=a.max_minutes,
                amp=a.amp,
                eval_every=a.eval_every,
                seed=a.seed,
                threads=a.threads,
                device=a.device,
                init_from=a.init_from,
                passes=a.passes,
                gain=a.gain,
                deep_size=a.deep_size,
                sizes=a.sizes,
                style_dirs=a.style_dirs,
                wct_weight=a.wct_weight,
                feedback=parse_feedback(a.feedback),
                feedback_steps=a.feedback_steps,
            )
        )
    except (InputError, ValueError) as e:
        print(f"error: {e}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
