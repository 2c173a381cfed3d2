"""The modes a worker runs, and the checks a front end makes before queueing one.

:func:`check` is torch-free (the front end calls it on every ``POST /v1/jobs``): it knows the
options of each mode, their types and ranges, which input images a mode needs, and the built-in
style names.  :func:`run` (the worker) decodes the inputs, runs the engine and returns a PNG.
Networks are loaded once per worker process (:data:`_NETS`).
"""

from __future__ import annotations

__all__ = ["INPUTS", "OPTIONS", "PAGE", "PAGE_FUNCTIONS", "Output", "check", "register_page", "run"]

import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, StyleforgeError, suggest
from ..io import image_from_bytes, png_bytes
from ..video.defaults import CONSISTENCY
from .config import MODES

#: Progress callback of a running job: (fraction in [0, 1], message[, live picture]).
Progress = Callable[..., None]
#: A page job's file (``{"sha": SHA256, "name": NAME}``) → a local path on the worker.
FileFetch = Callable[[Mapping[str, Any]], Path]
#: Polled by optimisations: True stops the job.
StopCheck = Callable[[], bool]


class JobStopped(StyleforgeError):
    """The job was cancelled while it ran."""


@dataclass
class Output:
    """What a job leaves: the picture (PNG; a video's MP4), short text (``command``, ``info``), maybe one file."""

    png: bytes
    meta: dict[str, str] = field(default_factory=dict)
    file: tuple[str, bytes] | None = None
    media_type: str = "image/png"


#: The mode of the page's own jobs (``serve --broker``): options ``{"fn": NAME, "kwargs": {...}}``, where
#: an image argument is ``{"$image": INPUT_NAME}``.  Not offered by the HTTP API.
PAGE = "page"
#: The page's job functions a worker runs (``styleforge worker`` registers them: the page's adapters sit above
#: this package, which may not import them).  Name → function returning an object with ``image``, ``command``,
#: ``info`` and ``file`` (a path or None).
PAGE_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def register_page(name: str, fn: Callable[..., Any]) -> None:
    """Let this worker run the page's job function ``name``."""
    PAGE_FUNCTIONS[name] = fn


#: Input image names each mode takes: (required, optional).
INPUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "instant": (("content",), ("style",)),
    "photo": (("content", "style"), ("content_mask", "style_mask")),
    "artistic": (("content",), ("style", "style2", "style3", "style4")),
    "makeup": (("content",), ("reference",)),
    "video": (("content",), ("style",)),
}
#: Inputs that are not images (a video job's clip): kept as bytes.
NOT_IMAGES = {"video": ("content",)}

# option → (type, default, low, high) for numbers; (type, default, choices or None) for strings;
# (list, default, most items, item type) for lists.
OPTIONS: dict[str, dict[str, Any]] = {
    "instant": {
        "style": (str, None, None),
        "strength": (float, 1.0, 0.0, 1.0),
        "size": (int, 1024, 16, 2048),
        "original_colors": (bool, False),
        "refine": (int, 0, 0, 200),
    },
    "photo": {
        "method": (str, "fast", ("fast", "dpst")),
        "strength": (float, 1.0, 0.0, 1.0),
        "size": (int, 1024, 64, 2048),
        "iterations": (int, 100, 1, 1000),
        "smoothing": (str, "fast", ("off", "fast", "exact")),
        "seed": (int, 0, 0, 2**31 - 1),
    },
    "artistic": {
        "style": (str, None, None),
        "styles": (list, None, 4, str),
        "weights": (list, None, 4, float),
        "size": (int, 384, 64, 1024),
        "iterations": (int, 100, 1, 1000),
        "backbone": (str, "effnet-lite0", ("effnet-lite0", "vgg16-offline")),
        "strength": (float, 1.0, 0.01, 10.0),
        "original_colors": (bool, False),
        "seed": (int, 0, 0, 2**31 - 1),
    },
    "makeup": {"action": (str, "remove", ("remove", "transfer")), "strength": (float, 1.0, 0.0, 1.0)},
    "video": {
        "method": (str, "instant", ("instant", "photo", "gatys")),
        "style": (str, None, None),
        "size": (int, 384, 64, 720),
        "consistency": (float, CONSISTENCY, 0.0, 0.9),
        "iterations": (int, 40, 1, 500),
    },
}


def _instant_styles() -> list[str]:
    from ..assets import builtin_styles
    from ..instant.models import builtin_models

    entries = builtin_models()
    names = [n for n, e in entries.items() if e.kind == "instant"]
    if any(e.kind in ("wct", "adain") for e in entries.values()):
        names += [n for n in builtin_styles() if n not in names]
    return names


def check(mode: str, options: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a request; returns the options with their defaults filled in.

    Raises:
        InputError: an unknown mode or option, a value of the wrong type or out of range, an
            unknown style, a missing or unexpected input image.
    """
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}{suggest(mode, MODES)}; choose from {', '.join(MODES)}")
    spec = OPTIONS[mode]
    unknown = sorted(set(options) - set(spec))
    if unknown:
        raise InputError(f"unknown option(s) for {mode}: {', '.join(unknown)}; valid: {', '.join(spec)}")
    out: dict[str, Any] = {}
    for name, s in spec.items():
        kind, default = s[0], s[1]
        value = options.get(name, default)
        if value is None:
            out[name] = None
            continue
        if kind is bool:
            if not isinstance(value, bool):
                raise InputError(f"{name} must be true or false")
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{name} must be an integer")
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{name} must be a number")
            value = float(value)
        elif kind is list:
            item = s[3]
            ok = (
                (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
                if item is float
                else (lambda v: isinstance(v, str))
            )
            if not isinstance(value, list) or not 1 <= len(value) <= s[2] or not all(ok(v) for v in value):
                raise InputError(f"{name} must be a list of 1 to {s[2]} {'numbers' if item is float else 'strings'}")
            value = [float(v) for v in value] if item is float else list(value)
        elif not isinstance(value, str):
            raise InputError(f"{name} must be a string")
        if kind in (int, float) and not s[2] <= value <= s[3]:
            raise InputError(f"{name} must be between {s[2]:g} and {s[3]:g}, got {value}")
        if kind is str and s[2] is not None and value not in s[2]:
            raise InputError(f"{name} must be one of {', '.join(s[2])}, got {value!r}")
        out[name] = value
    required, optional = INPUTS[mode]
    missing = [n for n in required if n not in inputs]
    if missing:
        raise InputError(f"{mode} needs the image(s): {', '.join(missing)}")
    extra = sorted(set(inputs) - set(required) - set(optional))
    if extra:
        raise InputError(f"{mode} takes no image named {', '.join(extra)} (it takes: {', '.join(required + optional)})")
    if mode == "artistic" and out["styles"] is not None:
        _check_styles(out, inputs)
    elif mode in ("instant", "artistic", "video") and "style" not in inputs:
        from ..assets import builtin_styles

        known = _instant_styles() if mode == "instant" else list(builtin_styles())
        if mode == "video":
            known = list(dict.fromkeys([*(_instant_styles() if out["method"] == "instant" else []), *known]))
        if not out["style"]:
            raise InputError(f"{mode} needs a style: the option style (one of {', '.join(known)}) or a style image")
        if out["style"] not in known:
            raise InputError(f"unknown style {out['style']!r}{suggest(out['style'], known)}; known: {', '.join(known)}")
    if mode == "photo" and ("content_mask" in inputs) != ("style_mask" in inputs):
        raise InputError("give both masks (content_mask and style_mask), or neither")
    if mode == "makeup" and out["action"] == "transfer" and "reference" not in inputs:
        raise InputError("makeup transfer needs a reference image (a face wearing the makeup)")
    return out


def _check_styles(out: dict[str, Any], inputs: Mapping[str, Any]) -> None:
    """``styles``: built-in names and ``@style``, ``@style2``… (uploaded images), one ``weights`` each."""
    from ..assets import builtin_styles

    known = list(builtin_styles())
    for s in out["styles"]:
        if s.startswith("@"):
            if s[1:] not in inputs or not s[1:].startswith("style"):
                raise InputError(f"styles names {s!r} but no image {s[1:]!r} was uploaded")
        elif s not in known:
            raise InputError(f"unknown style {s!r}{suggest(s, known)}; known: {', '.join(known)}")
    weights = out["weights"] or [1.0] * len(out["styles"])
    if len(weights) != len(out["styles"]) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise InputError("weights: one weight ≥ 0 per style, not all zero")
    out["weights"] = weights


# ---------------------------------------------------------------------------------- networks
_LOCK = threading.Lock()
_NETS: dict[Any, Any] = {}


def cached(key: Any, build: Callable[[], Any]) -> Any:
    """One network per key per worker process (loaded on first use, kept)."""
    with _LOCK:
        if key not in _NETS:
            _NETS[key] = build()
        return _NETS[key]


def warm(modes: tuple[str, ...] = ("instant",)) -> None:
    """Load what the given modes need before the first job (a worker calls it at start)."""
    if "instant" in modes:
        import torch  # noqa: F401 - the import itself is the slow part


# ---------------------------------------------------------------------------------- runs
def run(
    mode: str,
    options: Mapping[str, Any],
    inputs: Mapping[str, bytes],
    *,
    max_pixels: int,
    progress: Progress | None = None,
    should_stop: StopCheck | None = None,
    files: FileFetch | None = None,
    max_video_seconds: float = 30.0,
) -> Output:
    """Run one job; returns its :class:`Output`.

    ``files`` fetches the files a page job names (``{"$file": {"sha", "name"}}``) to this worker.
    """
    raw = NOT_IMAGES.get(mode, ())
    images = {n: image_from_bytes(data, what=n, max_pixels=max_pixels) for n, data in inputs.items() if n not in raw}
    report = progress or (lambda f, m, p=None: None)
    stop = should_stop or (lambda: False)
    if mode == PAGE:
        return _page(options, images, report, stop, files)
    opts = check(mode, options, {**images, **{n: inputs[n] for n in raw if n in inputs}})
    if mode == "video":
        return _video(inputs["content"], images, opts, report, stop, max_video_seconds)
    out = {"instant": _instant, "photo": _photo, "artistic": _artistic, "makeup": _makeup}[mode](
        images, opts, report, stop
    )
    return Output(png_bytes(out))


def _resolve(value: Any, images: Mapping[str, Any], files: FileFetch | None) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$image"}:
            return images[value["$image"]]
        if set(value) == {"$file"}:
            if files is None:
                raise InputError("this job names a file, but the worker has no way to fetch it")
            return files(value["$file"])
        return {k: _resolve(v, images, files) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, images, files) for v in value]
    return value


def _page(
    options: Mapping[str, Any],
    images: Mapping[str, Any],
    report: Progress,
    stop: StopCheck,
    files: FileFetch | None = None,
) -> Output:
    """One of the page's jobs, by its registered function (the same code as in the page's own process).

    The function returns an object with ``image`` (a PIL image; or the result's bytes, with
    ``media_type`` and ``name``), ``command``, ``info`` and ``file`` (a path or None).
    """
    name = str(options.get("fn", ""))
    fn = PAGE_FUNCTIONS.get(name)
    if fn is None:
        raise InputError(f"this worker cannot run the page's {name!r} jobs (start workers with `styleforge worker`)")
    kwargs = _resolve(dict(options.get("kwargs", {})), images, files)
    params = inspect.signature(fn).parameters
    if "on_progress" in params:
        kwargs["on_progress"] = lambda fraction, message, preview=None: report(fraction, message, preview)
    if "should_stop" in params:
        kwargs["should_stop"] = stop
    res = fn(**kwargs)
    file = None
    if getattr(res, "file", None):
        path = Path(res.file)
        file = (path.name, path.read_bytes())
    meta = {"command": str(res.command), "info": str(res.info)}
    if isinstance(res.image, bytes):
        meta["name"] = str(getattr(res, "name", "result"))
        return Output(res.image, meta, file, str(getattr(res, "media_type", "application/octet-stream")))
    return Output(png_bytes(res.image), meta, file)


def _instant(images: dict[str, Any], o: dict[str, Any], report: Progress, stop: StopCheck) -> Any:
    from ..instant import InstantModel, InstantOptions, load_instant, stylize_instant
    from ..instant.models import builtin_models, load_arbitrary_net
    from ..io import load_image, pil_to_tensor, resize_max_side

    content = images["content"]
    shrink = max(content.size) > o["size"]
    opts = InstantOptions(
        strength=o["strength"], original_colors=o["original_colors"], size=o["size"] if shrink else None
    )
    entry = builtin_models().get(o["style"] or "")
    if "style" not in images and entry is not None and entry.kind == "instant":
        model = cached(("instant", o["style"]), lambda: load_instant([str(o["style"])]))
    else:
        style = images.get("style")
        if style is None:
            from ..assets import builtin_styles

            style = load_image(builtin_styles()[o["style"]], what="style image")
        adain = cached(("arbitrary",), lambda: load_arbitrary_net(None)[0])
        model = InstantModel([None], adain, [pil_to_tensor(resize_max_side(style, 512))], ["style"], "torch")
    report(0.1, "stylising")
    painting = images.get("style")
    if o["refine"] and painting is None and entry is not None:
        from ..instant.fastpath import painting_for

        found = painting_for(entry.file)
        painting = load_image(found, what="style image") if found is not None else None
    elif o["refine"] and painting is None:
        from ..assets import builtin_styles

        painting = load_image(builtin_styles()[o["style"]], what="style image")
    return stylize_instant(content, model, opts, refine=o["refine"], refine_style=painting)


def _photo(images: dict[str, Any], o: dict[str, Any], report: Progress, stop: StopCheck) -> Any:
    from ..io import resize_max_side

    content, style = images["content"], images["style"]
    if o["method"] == "fast":
        import numpy as np
        from PIL import Image

        from ..transfer.automask import prepare_masks
        from ..transfer.config import FastConfig
        from ..transfer.fastphoto import fast_transfer

        cfg = FastConfig(strength=o["strength"])
        cfg.validate()
        c = resize_max_side(content, min(o["size"], max(content.size)))
        maps = prepare_masks(
            c,
            style,
            images.get("content_mask"),
            images.get("style_mask"),
            work_size=cfg.work_size,
            what=("content mask", "style mask"),
        )
        cl, sl = maps if maps is not None else (None, None)
        report(0.1, "matching the look")
        fast = fast_transfer(c, style, cfg, content_labels=cl, style_labels=sl, auto=True, look=False)
        return Image.fromarray(np.asarray(fast.image))
    from ..io import pil_to_tensor, tensor_to_pil
    from ..transfer.gatys import GatysConfig, plan_stages
    from ..transfer.photoreal import PhotoConfig, photo_transfer
    from ..transfer.segmentation import check_mask_size

    size = min(o["size"], 1024)
    g = GatysConfig(image_size=size, iterations=o["iterations"], seed=o["seed"])
    pcfg = PhotoConfig(gatys=g, smooth="none" if o["smoothing"] == "off" else o["smoothing"])
    pcfg.validate()
    g.validate(1)
    c, s = resize_max_side(content, size), resize_max_side(style, size)
    cseg = sseg = None
    if "content_mask" in images:
        cseg = check_mask_size(images["content_mask"], c.size, what="content mask")
        sseg = check_mask_size(images["style_mask"], s.size, what="style mask")
    total = sum(st.iterations for st in plan_stages(g, (c.height, c.width))) + o["iterations"]
    net = cached(("backbone", g.backbone), lambda: _backbone(g.backbone))
    res = photo_transfer(
        pil_to_tensor(c),
        pil_to_tensor(s),
        pcfg,
        content_seg=cseg,
        style_seg=sseg,
        net=net,
        callback=_steps(total, report, stop),
    )
    return tensor_to_pil(res.image)


def _backbone(name: str) -> Any:
    from ..backbones import build_backbone

    return build_backbone(name, layers=(), device="cpu")


def _steps(total: int, report: Progress, stop: StopCheck) -> Callable[..., None]:
    count = [0]

    def callback(stage: Any, step: int, losses: Any, image: Any) -> None:
        if stop():
            raise JobStopped("cancelled")
        count[0] += 1
        where = f"scale {stage.index + 1}/{stage.count}, step {step}/{stage.iterations}"
        report(min(1.0, count[0] / max(total, 1)), where)

    return callback


def _artistic(images: dict[str, Any], o: dict[str, Any], report: Progress, stop: StopCheck) -> Any:
    from ..assets import builtin_styles
    from ..io import load_image, pil_to_tensor, resize_max_side, tensor_to_pil
    from ..transfer.gatys import GatysConfig, plan_stages, stylize_tensor

    names = o["styles"] or ["@style" if "style" in images else o["style"]]
    styles = [
        images[n[1:]] if n.startswith("@") else load_image(builtin_styles()[n], what="style image") for n in names
    ]
    weights = o["weights"] or [1.0] * len(styles)
    scales = (1.0,) if o["backbone"] == "effnet-lite0" else (0.25, 0.5, 1.0)
    cfg = GatysConfig(
        image_size=o["size"],
        iterations=o["iterations"],
        scales=scales,
        backbone=o["backbone"],
        style_weight=100.0 * o["strength"],
        original_colors=o["original_colors"],
        seed=o["seed"],
        style_blend_weights=tuple(weights) if len(styles) > 1 else None,
        amp="auto",
        scale_detail=1.0,
    )
    cfg.validate(len(styles))
    content = resize_max_side(images["content"], cfg.image_size)
    stages = plan_stages(cfg, (content.height, content.width))
    net = cached(("backbone", cfg.backbone), lambda: _backbone(cfg.backbone))
    style_t = [pil_to_tensor(resize_max_side(s, cfg.image_size)) for s in styles]
    result = stylize_tensor(
        pil_to_tensor(content), style_t, cfg, net=net, callback=_steps(sum(s.iterations for s in stages), report, stop)
    )
    return tensor_to_pil(result.image)


def _makeup(images: dict[str, Any], o: dict[str, Any], report: Progress, stop: StopCheck) -> Any:
    import numpy as np
    from PIL import Image

    from ..faces.facemesh import MeshDetector
    from ..faces.makeup import MakeupSpec, parse_regions, parse_strength, prepare_reference, remove, transfer

    regions = parse_regions("lips,eyes,brows,skin")
    spec = MakeupSpec(strength=parse_strength(o["strength"], regions))
    det, lock = cached(("facemesh",), lambda: (MeshDetector(), threading.Lock()))
    photo = np.asarray(images["content"])
    with lock:
        if o["action"] == "transfer":
            ref = prepare_reference(np.asarray(images["reference"]), det, name="the reference photo")
            new, faces = transfer(photo, [ref], spec, detector=det)
        else:
            new, faces = remove(photo, spec, detector=det)
    if not faces:
        raise InputError("no face found in this photo: use a photo with a clear, frontal face")
    return Image.fromarray(new)


def _video(
    clip: bytes,
    images: dict[str, Any],
    o: dict[str, Any],
    report: Progress,
    stop: StopCheck,
    max_seconds: float,
) -> Output:
    """A clip through an instant style, a photo's look or Gatys (as ``styleforge video``): an MP4."""
    import shlex
    import tempfile
    import time

    from ..video.container import probe
    from ..video.pipeline import VideoOptions, render_video
    from ..video.stylizers import make_stylizer

    with tempfile.TemporaryDirectory(prefix="styleforge-video-") as tmp:
        d = Path(tmp)
        src = d / "clip"
        src.write_bytes(clip)
        try:
            info = probe(src, what="clip")
        except InputError:
            raise InputError("the content upload is not a video we can read (use an MP4, WebM or MOV clip)") from None
        if info.duration and info.duration > max_seconds + 1e-6:
            raise InputError(f"the clip is {info.duration:.1f} s long; clips up to {max_seconds:g} s are taken")
        style = str(o["style"])
        if "style" in images:
            style = str(d / "style.png")
            images["style"].save(style)
        size = o["size"]
        if o["method"] == "gatys":
            from ..transfer.config import gatys_config

            size = min(size, 512)
            cfg = gatys_config(image_size=size, iterations=o["iterations"], backbone="effnet-lite0", seed=0)
            factory: Callable[[], Any] = lambda: make_stylizer(style=[style], cfg=cfg)  # noqa: E731
            flag = f"--style {shlex.quote(style)} --backbone effnet-lite0 --iterations {o['iterations']}"
        elif o["method"] == "instant":
            factory = lambda: make_stylizer(instant=style)  # noqa: E731
            flag = f"--instant {shlex.quote(style)}"
        else:
            factory = lambda: make_stylizer(photo_style=style)  # noqa: E731
            flag = f"--photo-style {shlex.quote(style)}"
        if "style" in images:
            flag = flag.replace(shlex.quote(style), "style.png")

        def on_frame(done: int, total: int, frame: Any) -> None:
            if stop():
                raise JobStopped("cancelled")
            report(done / total if total else 0.0, f"frame {done}/{total or '?'}")

        out = d / "out.mp4"
        t0 = time.perf_counter()
        res = render_video(
            src,
            out,
            factory,
            VideoOptions(size=size, consistency=o["consistency"]),
            on_frame=on_frame,
            max_seconds=max_seconds,
        )
        cons = f" --consistency {o['consistency']:g}" if o["consistency"] != CONSISTENCY else ""
        meta = {
            "command": f"styleforge video clip.mp4 {flag} --size {size}{cons} -o out.mp4",
            "info": f"{res.frames} frames in {time.perf_counter() - t0:.1f} s",
            "name": "result.mp4",
        }
        return Output(out.read_bytes(), meta, media_type="video/mp4")
