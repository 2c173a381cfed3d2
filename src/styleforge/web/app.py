"""The page: a Gradio Blocks app with one tab per mode.

Why Gradio rather than FastAPI with a hand-made page: Gradio's queue gives
per-event concurrency limits, queue positions, progress bars, streaming
previews from generators and cancellation, and every button is also an HTTP
API endpoint (``/gradio_api/queue/join``, ``/gradio_api/call/<name>``) with a
Python client — all things a hand-made page would have to rebuild.  It serves
its own fonts and scripts, so with analytics off the page works offline.

Each handler here only converts uploads (:func:`.limits.open_upload`), calls
an adapter of :mod:`.modes` and turns :class:`~styleforge.errors.InputError`
into a friendly message; no image processing happens in this module.
"""

from __future__ import annotations

__all__ = ["create_app", "launch"]

import atexit
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from ..errors import StyleforgeError
from . import modes
from .auth import login_options
from .limits import (
    JobCancelled,
    JobTimeout,
    WebSettings,
    list_checkpoints,
    open_upload,
    resolve_checkpoint,
    run_with_deadline,
)
from .quota import FAST, HEAVY, guard_queue, queue_options

log = logging.getLogger("styleforge.web")


def _offline_env() -> None:
    """Before gradio is imported: no analytics, no Hugging Face Hub calls."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")


# This module is imported only by create_app/launch (styleforge.web imports it lazily),
# so the environment is set before Gradio (and huggingface_hub) are first imported.
_offline_env()
import gradio as gr  # noqa: E402

NONE = "(none)"
#: A running job whose next update nobody asked for during this long was cancelled or abandoned.
ABANDONED_S = 5.0
#: With no step finished for this long, the page still gets a "Running" update.
HEARTBEAT_S = 2.0
CSS = """
.sf-cmd textarea, .sf-cmd input { font-family: ui-monospace, monospace; font-size: 0.85em; }
.sf-unavailable { padding: 1em; border-radius: 8px; background: var(--block-background-fill); }
footer { display: none !important; }
"""


class _Jobs:
    """Stop flags of running optimisation jobs, per browser session (for Cancel)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.flags: dict[str, set[threading.Event]] = {}

    def add(self, session: str, flag: threading.Event) -> None:
        with self.lock:
            self.flags.setdefault(session, set()).add(flag)

    def remove(self, session: str, flag: threading.Event) -> None:
        with self.lock:
            self.flags.get(session, set()).discard(flag)
            if not self.flags.get(session):
                self.flags.pop(session, None)

    def cancel(self, session: str) -> int:
        with self.lock:
            flags = list(self.flags.get(session, ()))
        for f in flags:
            f.set()
        return len(flags)


def _thumbnails(work: Path, size: int = 192) -> list[tuple[str, str]]:
    """Small JPEG copies of the built-in styles for the galleries."""
    from ..assets import builtin_styles

    out = []
    for name, path in builtin_styles().items():
        dst = work / "thumbs" / f"{name}.jpg"
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as im:
                im = im.convert("RGB")
                im.thumbnail((size, size))
                im.save(dst, quality=85)
        out.append((str(dst), name))
    return out


def _lenient(component: Any) -> Any:
    """Let a non-image upload reach our handler, which answers with a friendly message.

    ``gr.Image`` opens every upload with PIL before the handler runs, so a text
    file renamed ``.jpg`` would fail inside Gradio with a generic error.  The
    path was already checked by Gradio (it is inside its upload folder).
    """
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except Exception:  # noqa: BLE001 - open_upload() reports it properly
            path = getattr(payload, "path", None)
            return str(path) if path else None

    component.preprocess = preprocess
    return component


def _label(path: str | None) -> str:
    """The user's file name of an upload (Gradio keeps it as the stored file's name)."""
    return Path(path).name if path else "photo.jpg"


def create_app(settings: WebSettings | None = None) -> Any:
    """Build the Gradio Blocks page for ``settings`` (not started; see :func:`launch`)."""
    settings = settings or WebSettings()
    limits = settings.limits
    avail = modes.availability(settings.instant_models)
    jobs = _Jobs()
    work = Path(tempfile.mkdtemp(prefix="styleforge-web-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    thumbs = _thumbnails(work)
    style_names = [n for _, n in thumbs]
    default_style = "starry_night" if "starry_night" in style_names else (style_names[0] if style_names else None)
    heavy, fast = queue_options(HEAVY, settings), queue_options(FAST, settings)  # a tab's job class: see quota.py

    def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
        """InputError & co. → a gr.Error toast with the one-line message; bugs → a short generic one."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except gr.Error:
                raise
            except StyleforgeError as e:
                raise gr.Error(str(e), print_exception=False) from None
            except Exception as e:  # noqa: BLE001 - never show a traceback to the page
                log.exception("web job failed")
                raise gr.Error(f"something went wrong ({type(e).__name__}); see the server log", print_exception=False) from None

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        wrapper.__signature__ = __import__("inspect").signature(fn)  # type: ignore[attr-defined]
        return wrapper

    def timed(job: Callable[[], modes.ModeResult]) -> modes.ModeResult:
        """A fast job under ``limits.fast_timeout_s`` (a friendly error past it)."""
        return run_with_deadline(job, limits.fast_timeout_s)  # type: ignore[return-value]

    def unavailable(mode: str) -> None:
        gr.Markdown(f"**Not available in this install.** {avail[mode]}.", elem_classes="sf-unavailable")

    def result_column(prefix: str) -> tuple[Any, Any, Any]:
        img = gr.Image(label="Result", type="pil", format="png", interactive=False,
                       buttons=["download", "fullscreen"], elem_id=f"{prefix}-result", height=420)
        info = gr.Markdown(elem_id=f"{prefix}-info")
        cmd = gr.Textbox(label="Same result from the command line", interactive=False, buttons=["copy"],
                         elem_id=f"{prefix}-cmd", elem_classes="sf-cmd", lines=2)
        return img, info, cmd

    def photo_input(label: str, elem_id: str, sources: tuple[str, ...] = ("upload", "clipboard"),
                    height: int = 300) -> Any:
        # type=filepath, image_mode=None: Gradio only reads the header; we decode with our limits.
        return _lenient(gr.Image(label=label, type="filepath", image_mode=None, sources=list(sources),
                                 elem_id=elem_id, height=height))

    def refresh(current: str | None) -> Any:
        names = list_checkpoints(settings.models_dir)
        return gr.update(choices=names, value=current if current in names else (names[0] if names else None))

    def model_picker(label: str, elem_id: str) -> Any:
        """A checkpoint dropdown over ``--models`` (names relative to it) with a refresh button."""
        gr.Markdown(f"Models from `{settings.models_dir}`." if settings.models_dir
                    else "No models folder: start with `styleforge serve --models DIR`.")
        with gr.Row():
            pick = gr.Dropdown(list_checkpoints(settings.models_dir), label=label, elem_id=elem_id, scale=3)
            again = gr.Button("↻", scale=0, min_width=40)
        again.click(refresh, pick, pick, api_visibility="private", queue=False)
        return pick

    def pretrained_picker() -> Any:
        """The published pretrained models (downloaded into the cache on first use), beside the checkpoint box."""
        return gr.Dropdown([modes.NO_PRETRAINED, *modes.pretrained_names()], value=modes.NO_PRETRAINED, elem_id="translate-pretrained",
                           label="…or a published pretrained model (downloaded once; overrides Model)")

    def makeup_by_example_section(m_content: Any, m_out: Any, m_info: Any, m_cmd: Any) -> None:
        """Makeup tab, no model needed: a reference face, regions and strength (face mesh)."""
        gr.Markdown("**By example, no model needed**: upload a face wearing the makeup to copy "
                    "(or take eye shadow and lipstick off).")
        with gr.Row():
            x_ref = photo_input("Reference face (wearing makeup)", "makeup-reference", height=200)
            with gr.Column():
                x_regions = gr.CheckboxGroup(["lips", "eyes", "brows", "skin"], value=["lips", "eyes", "brows", "skin"],
                                             label="Regions", elem_id="makeup-regions")
                x_strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength")
                with gr.Row():
                    x_run = gr.Button("Transfer makeup", variant="primary", elem_id="makeup-transfer")
                    x_remove = gr.Button("Remove makeup", elem_id="makeup-remove")

        def run_example(action: str) -> Callable[..., tuple[Any, str, str]]:
            @friendly
            def run(content: str | None, ref: str | None, regions: list[str], strength: float) -> tuple[Any, str, str]:
                img = open_upload(content, limits, what="photo")
                ref_img = open_upload(ref, limits, what="reference photo") if action == "transfer" and ref else None
                res = timed(lambda: modes.makeup_by_example(
                    img, ref_img, action=action, regions=list(regions or []), strength=float(strength),
                    content_label=_label(content), reference_label=_label(ref)))
                return res.image, f"Done: {res.info}", res.command

            return run

        x_run.click(run_example("transfer"), [m_content, x_ref, x_regions, x_strength], [m_out, m_info, m_cmd],
                    api_name="makeup_transfer", **fast)
        x_remove.click(run_example("remove"), [m_content, x_ref, x_regions, x_strength], [m_out, m_info, m_cmd],
                       api_name="makeup_remove", **fast)

    def run_optimisation(work_fn: Callable[..., modes.ModeResult], request: Any, progress: Any) -> Iterator[tuple[Any, Any, Any]]:
        """Run an optimisation adapter in a thread; stream previews; honour Cancel and the timeout.

        The job stops when the session's Cancel button is pressed, when the
        per-job time limit passes, or when nobody pulls the next update for
        :data:`ABANDONED_S` seconds: Gradio resumes a generator right after
        each update it sends, so a generator left suspended means the event was
        cancelled (``/gradio_api/cancel``) or its client went away.
        """
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        stop = threading.Event()
        session = getattr(request, "session_hash", None) or "anonymous"
        jobs.add(session, stop)
        deadline = time.monotonic() + limits.job_timeout_s
        suspended_at: list[float | None] = [None]

        def should_stop() -> bool:
            t = suspended_at[0]
            return stop.is_set() or (t is not None and time.monotonic() - t > ABANDONED_S)

        def on_progress(frac: float, msg: str, preview: Image.Image | None) -> None:
            events.put(("progress", (frac, msg, preview)))

        def worker() -> None:
            try:
                events.put(("done", work_fn(on_progress=on_progress, should_stop=should_stop, deadline=deadline)))
            except BaseException as e:  # noqa: BLE001 - handed to the generator
                events.put(("error", e))

        def emit(update: tuple[Any, Any, Any]) -> Iterator[tuple[Any, Any, Any]]:
            suspended_at[0] = time.monotonic()
            yield update
            suspended_at[0] = None

        th = threading.Thread(target=worker, name="styleforge-job", daemon=True)
        th.start()
        last_msg = "starting"
        try:
            progress(0.0, desc="starting…")
            while True:
                try:
                    kind, payload = events.get(timeout=HEARTBEAT_S)
                except queue.Empty:  # a slow step: still tell the page (and prove someone listens)
                    yield from emit((gr.update(), f"Running: {last_msg} …", gr.update()))
                    continue
                if kind == "progress":
                    frac, last_msg, preview = payload
                    progress(frac, desc=last_msg)
                    if preview is not None:
                        yield from emit((preview, f"Running: {last_msg} …", gr.update()))
                elif kind == "done":
                    res: modes.ModeResult = payload
                    yield res.image, f"Done: {res.info}", res.command
                    return
                else:
                    e = payload
                    if isinstance(e, JobCancelled):
                        yield gr.update(), "Cancelled.", gr.update()
                        return
                    if isinstance(e, JobTimeout):
                        raise gr.Error(f"this job ran past the {limits.job_timeout_s:g} s limit; "
                                       "try a smaller size or the fast preset", print_exception=False)
                    if isinstance(e, StyleforgeError):
                        raise gr.Error(str(e), print_exception=False) from None
                    log.error("web job failed", exc_info=e)
                    raise gr.Error(f"something went wrong ({type(e).__name__}); see the server log",
                                   print_exception=False) from None
        finally:
            stop.set()
            jobs.remove(session, stop)
            th.join(timeout=10)

    def cancel(request: gr.Request) -> str:
        n = jobs.cancel(request.session_hash or "anonymous")
        return "Cancelling…" if n else "Nothing to cancel."

    with gr.Blocks(title="styleforge", delete_cache=(600, 3600), analytics_enabled=False) as demo:
        gr.Markdown("# styleforge\nPick a style, upload a photo, get art. Everything runs on this machine.")
        with gr.Tabs():
            # ------------------------------------------------------------- Instant
            with gr.Tab("Instant", id="instant"):
                if avail["instant"]:
                    unavailable("instant")
                else:
                    i_names = list(modes.instant_styles(settings.instant_models).items())
                    thumb_of = {n: p for p, n in thumbs}
                    i_thumbs = [(thumb_of[painting], name) for name, painting in i_names if painting in thumb_of]
                    i_choices = [name for name, _ in i_names]
                    with gr.Row():
                        with gr.Column():
                            i_content = photo_input("Your photo", "instant-content")
                            i_gallery = gr.Gallery(value=i_thumbs, label="Styles: click one", columns=6, height=220,
                                                   allow_preview=False, elem_id="instant-gallery", buttons=[])
                            i_style = gr.Radio(i_choices, value=default_style if default_style in i_choices else i_choices[0],
                                               label="Style", elem_id="instant-style")
                            i_own = photo_input("…or your own style image (optional)", "instant-own", ("upload",), 160)
                            with gr.Row():
                                i_strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength")
                                i_colors = gr.Checkbox(label="Keep original colours", value=False)
                            with gr.Row():
                                i_run = gr.Button("Stylise", variant="primary", elem_id="instant-run")
                                i_polish = gr.Button(f"Polish ({modes.POLISH_STEPS} Gatys steps, slower)",
                                                     elem_id="instant-polish")
                        with gr.Column():
                            i_out, i_info, i_cmd = result_column("instant")

                    def pick_style(evt: gr.SelectData) -> str:
                        return [n for _, n in i_thumbs][evt.index]

                    i_gallery.select(pick_style, None, i_style, api_visibility="private", queue=False)

                    @friendly
                    def run_instant(content: str | None, style: str | None, own: str | None, strength: float,
                                    keep_colors: bool, refine: int = 0) -> tuple[Any, str, str]:
                        img = open_upload(content, limits, what="photo")
                        own_img = open_upload(own, limits, what="style image") if own else None
                        res = timed(lambda: modes.instant(
                            img, style=None if own_img else style, style_image=own_img, style_label=_label(own),
                            strength=float(strength), original_colors=bool(keep_colors), content_label=_label(content),
                            size=limits.max_side, models=settings.instant_models, device=settings.device,
                            refine=refine))
                        return res.image, f"Done: {res.info}", res.command

                    i_inputs = [i_content, i_style, i_own, i_strength, i_colors]
                    i_run.click(run_instant, i_inputs, [i_out, i_info, i_cmd], api_name="instant", **fast)
                    i_polish.click(lambda *a: run_instant(*a, refine=modes.POLISH_STEPS), i_inputs,
                                   [i_out, i_info, i_cmd], api_name="instant_polish", **heavy)

            # ------------------------------------------------------------- Artistic
            with gr.Tab("Artistic", id="artistic"):
                if avail["artistic"]:
                    unavailable("artistic")
                else:
                    with gr.Row():
                        with gr.Column():
                            a_content = photo_input("Your photo", "artistic-content")
                            a_gallery = gr.Gallery(value=thumbs, label="Built-in styles: click to use as style 1",
                                                   columns=6, height=160, allow_preview=False, elem_id="artistic-gallery",
                                                   buttons=[])
                            a_styles, a_weights = [], []

                            def style_row(k: int) -> None:
                                with gr.Row():
                                    a_styles.append(gr.Dropdown([NONE, *style_names],
                                                                value=default_style if k == 0 else NONE,
                                                                label=f"Style {k + 1}", elem_id=f"artistic-style{k + 1}"))
                                    a_weights.append(gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Blend weight"))

                            style_row(0)
                            with gr.Accordion("Blend more styles, or your own", open=False):
                                style_row(1)
                                style_row(2)
                                with gr.Row():
                                    a_own = photo_input("Your own style (optional)", "artistic-own", ("upload",), 140)
                                    a_own_w = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Its blend weight")
                            with gr.Row():
                                a_preset = gr.Radio(list(modes.ARTISTIC_PRESETS), value="fast", label="Quality / speed",
                                                    info="fast: EfficientNet preview · balanced/best: VGG16",
                                                    elem_id="artistic-preset")
                                a_size = gr.Slider(64, limits.max_side, value=min(384, limits.max_side), step=32,
                                                   label="Size (long side, px)", elem_id="artistic-size")
                            with gr.Row():
                                a_strength = gr.Slider(0.1, 5.0, value=1.0, step=0.1, label="Style strength")
                                a_colors = gr.Checkbox(label="Keep original colours", value=False)
                            with gr.Accordion("Advanced", open=False):
                                a_steps = gr.Slider(0, 500, value=0, step=1, label="Steps per scale (0 = preset)",
                                                    elem_id="artistic-steps")
                            with gr.Row():
                                a_run = gr.Button("Paint", variant="primary", elem_id="artistic-run")
                                a_cancel = gr.Button("Cancel", variant="stop", elem_id="artistic-cancel")
                        with gr.Column():
                            a_out, a_info, a_cmd = result_column("artistic")

                    def pick_style1(evt: gr.SelectData) -> str:
                        return style_names[evt.index]

                    a_gallery.select(pick_style1, None, a_styles[0], api_visibility="private", queue=False)

                    def run_artistic(content: str | None, s1: str, w1: float, s2: str, w2: float, s3: str, w3: float,
                                     own: str | None, own_w: float, preset: str, size: float, strength: float,
                                     keep_colors: bool, steps: float, request: gr.Request,
                                     progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, Any, Any]]:
                        try:
                            img = open_upload(content, limits, what="photo")
                            picked: list[tuple[str | Image.Image, float]] = []
                            labels: list[str] = []
                            for s, w in ((s1, w1), (s2, w2), (s3, w3)):
                                if s and s != NONE and w > 0:
                                    picked.append((s, float(w)))
                                    labels.append(s)
                            if own:
                                picked.append((open_upload(own, limits, what="style image"), float(own_w)))
                                labels.append(_label(own))
                            if not picked:
                                raise modes.InputError("pick at least one style with a weight above 0")
                            if not 64 <= int(size) <= limits.max_side:
                                raise modes.InputError(f"size must be between 64 and {limits.max_side} px")

                            def job(**kw: Any) -> modes.ModeResult:
                                return modes.artistic(img, picked, size=int(size), preset=preset,
                                                      strength=float(strength), original_colors=bool(keep_colors),
                                                      iterations=int(steps) or None, content_label=_label(content),
                                                      style_labels=labels, device=settings.device, **kw)

                            yield from run_optimisation(job, request, progress)
                        except StyleforgeError as e:  # bad input found before the job starts
                            raise gr.Error(str(e), print_exception=False) from None

                    a_evt = a_run.click(run_artistic, [a_content, a_styles[0], a_weights[0], a_styles[1], a_weights[1],
                                                       a_styles[2], a_weights[2], a_own, a_own_w, a_preset, a_size,
                                                       a_strength, a_colors, a_steps],
                                        [a_out, a_info, a_cmd], api_name="artistic", **heavy)
                    a_cancel.click(cancel, None, a_info, cancels=[a_evt], api_visibility="private", queue=False)

            # ------------------------------------------------------------- Photo
            with gr.Tab("Photo", id="photo"):
                if avail["photo"]:
                    unavailable("photo")
                else:
                    with gr.Row():
                        with gr.Column():
                            with gr.Row():
                                p_content = photo_input("Your photo", "photo-content")
                                p_style = photo_input("Style photo", "photo-style")
                            with gr.Accordion("Masks (optional; found automatically without them): DPST colour masks",
                                              open=False):
                                with gr.Row():
                                    p_cmask = photo_input("Photo mask", "photo-cmask")
                                    p_smask = photo_input("Style mask", "photo-smask")
                            with gr.Row():
                                p_size = gr.Slider(64, limits.max_side, value=limits.max_side, step=32,
                                                   label="Size (long side, px)", elem_id="photo-size")
                                p_strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength",
                                                       elem_id="photo-strength")
                            with gr.Accordion("Deep Photo Style Transfer (optimisation, minutes, ≤ 384 px)", open=False):
                                p_smooth = gr.Radio(list(modes.PHOTO_SMOOTHING), value="fast", label="Smoothing",
                                                    info="fast: guided filter · exact: closed form (slower)",
                                                    elem_id="photo-smooth")
                                p_steps = gr.Slider(0, 500, value=0, step=1, label="Steps per stage (0 = 100)",
                                                    elem_id="photo-steps")
                                p_run_dpst = gr.Button("Transfer with DPST", elem_id="photo-run-dpst")
                            with gr.Row():
                                p_run = gr.Button("Transfer", variant="primary", elem_id="photo-run")
                                p_cancel = gr.Button("Cancel", variant="stop", elem_id="photo-cancel")
                        with gr.Column():
                            p_out, p_info, p_cmd = result_column("photo")
                            p_look = gr.File(label="The look (.cube 3D LUT: styleforge look apply, Resolve, ffmpeg)",
                                             elem_id="photo-look", interactive=False)

                    @friendly
                    def run_photo(content: str | None, style: str | None, cmask: str | None, smask: str | None,
                                  size: float, strength: float) -> tuple[Any, str, str, Any]:
                        img = open_upload(content, limits, what="photo")
                        sty = open_upload(style, limits, what="style photo")
                        cm = open_upload(cmask, limits, what="photo mask") if cmask else None
                        sm = open_upload(smask, limits, what="style mask") if smask else None
                        res = timed(lambda: modes.photo_fast(
                            img, sty, content_mask=cm, style_mask=sm, size=int(size), strength=float(strength),
                            content_label=_label(content), style_label=_label(style),
                            mask_labels=(_label(cmask), _label(smask))))
                        return res.image, f"Done: {res.info}", res.command, str(res.file) if res.file else None

                    p_run.click(run_photo, [p_content, p_style, p_cmask, p_smask, p_size, p_strength],
                                [p_out, p_info, p_cmd, p_look], api_name="photo", **fast)

                    def run_photo_dpst(content: str | None, style: str | None, cmask: str | None, smask: str | None,
                                       smooth: str, size: float, steps: float, request: gr.Request,
                                       progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, Any, Any]]:
                        try:
                            img = open_upload(content, limits, what="photo")
                            sty = open_upload(style, limits, what="style photo")
                            cm = open_upload(cmask, limits, what="photo mask") if cmask else None
                            sm = open_upload(smask, limits, what="style mask") if smask else None

                            def job(**kw: Any) -> modes.ModeResult:
                                return modes.photo(img, sty, content_mask=cm, style_mask=sm, smoothing=smooth,
                                                   size=min(int(size), 384), iterations=int(steps) or None,
                                                   content_label=_label(content), style_label=_label(style),
                                                   mask_labels=(_label(cmask), _label(smask)),
                                                   device=settings.device, **kw)

                            yield from run_optimisation(job, request, progress)
                        except StyleforgeError as e:  # bad input found before the job starts
                            raise gr.Error(str(e), print_exception=False) from None

                    p_evt = p_run_dpst.click(run_photo_dpst, [p_content, p_style, p_cmask, p_smask, p_smooth, p_size,
                                                              p_steps], [p_out, p_info, p_cmd], api_name="photo_dpst",
                                             **heavy)
                    p_cancel.click(cancel, None, p_info, cancels=[p_evt], api_visibility="private", queue=False)

            # ------------------------------------------------------------- Translate
            with gr.Tab("Translate", id="translate"):
                if avail["translate"]:
                    unavailable("translate")
                else:
                    with gr.Row():
                        with gr.Column():
                            t_content = photo_input("Your image", "translate-content")
                            t_ckpt = model_picker("Model", "translate-model")
                            t_pre = pretrained_picker()
                            t_dir = gr.Radio(["auto", "AtoB", "BtoA"], value="auto", label="Direction")
                            t_size = gr.Slider(64, limits.max_side, value=min(512, limits.max_side), step=32,
                                               label="Size (long side, px)")
                            t_run = gr.Button("Translate", variant="primary", elem_id="translate-run")
                        with gr.Column():
                            t_out, t_info, t_cmd = result_column("translate")

                    @friendly
                    def run_translate(content: str | None, ckpt: str | None, direction: str, size: float,
                                      pre: str | None = None) -> tuple[Any, str, str]:
                        pre = modes.pretrained_choice(pre)
                        path = None if pre else resolve_checkpoint(settings.models_dir, ckpt)
                        img = open_upload(content, limits, what="image")
                        res = timed(lambda: modes.translate(
                            img, path, checkpoint_label=str(ckpt), direction=None if direction == "auto" else direction,
                            size=min(int(size), limits.max_side), content_label=_label(content), device=settings.device,
                            pretrained=pre))
                        return res.image, f"Done: {res.info}", res.command

                    t_run.click(run_translate, [t_content, t_ckpt, t_dir, t_size, t_pre], [t_out, t_info, t_cmd],
                                api_name="translate", **fast)

            # ------------------------------------------------------------- Makeup
            with gr.Tab("Makeup", id="makeup"):
                if avail["makeup"]:
                    unavailable("makeup")
                else:
                    with gr.Row():
                        with gr.Column():
                            m_content = photo_input("A photo with a face", "makeup-content")
                            m_ckpt = model_picker("Makeup model", "makeup-model")
                            m_action = gr.Radio(["add", "remove"], value="add", label="Makeup")
                            m_strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength")
                            m_run = gr.Button("Apply", variant="primary", elem_id="makeup-run")
                        with gr.Column():
                            m_out, m_info, m_cmd = result_column("makeup")

                    @friendly
                    def run_makeup(content: str | None, ckpt: str | None, action: str, strength: float) -> tuple[Any, str, str]:
                        path = resolve_checkpoint(settings.models_dir, ckpt)
                        img = open_upload(content, limits, what="photo")
                        res = timed(lambda: modes.makeup(
                            img, path, checkpoint_label=str(ckpt), action=action, strength=float(strength),
                            content_label=_label(content), device=settings.device))
                        return res.image, f"Done: {res.info}", res.command

                    m_run.click(run_makeup, [m_content, m_ckpt, m_action, m_strength], [m_out, m_info, m_cmd],
                                api_name="makeup", **fast)
                    makeup_by_example_section(m_content, m_out, m_info, m_cmd)

            # ------------------------------------------------------------- Video
            with gr.Tab("Video", id="video"):
                from . import video_tab

                if video_tab.unavailable():
                    gr.Markdown(f"**Not available in this install.** {video_tab.unavailable()}.",
                                elem_classes="sf-unavailable")
                else:
                    video_tab.build(gr, work=work, max_seconds=limits.max_video_seconds, style_names=style_names,
                                    instant_names=list(modes.instant_styles(settings.instant_models)),
                                    run_job=run_optimisation, cancel=cancel, heavy=heavy, fast=fast)

    demo.queue(default_concurrency_limit=settings.fast_concurrency, max_size=limits.max_queue)
    guard_queue(demo, settings)  # per-client limits; no way round the queue
    demo.styleforge_work_dir = work  # type: ignore[attr-defined]
    return demo


def launch(demo: Any, settings: WebSettings, *, block: bool = True) -> tuple[Any, str]:
    """Start the server; returns ``(app, local_url)`` (``block=False`` returns at once).

    With ``settings.accounts``, Gradio's login page and cookie (``auth=``) guard the page, and
    :class:`.auth.LoginGuard` wraps the whole app: no other route answers without a login.
    """
    _app, url, _ = demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        max_file_size=settings.limits.max_upload_bytes,
        show_error=True,
        prevent_thread_lock=not block,
        quiet=True,
        share=False,
        inbrowser=False,
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        footer_links=[],
        css=CSS,
        theme="default",
        **login_options(settings),
    )
    return _app, url
