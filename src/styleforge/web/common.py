"""What every tab of the page shares: the page context, upload checks, the page's error words,
the one job interface (:func:`run_job`), progress lines, downloads and the shared widgets.

A tab module (:mod:`.tabs`) builds its components inside ``gr.Tab`` from a :class:`Context`
and wires its handlers; its long jobs go through :func:`run_job` / :func:`job_updates` only,
so a job queue can replace the in-process thread without touching the tabs.
"""

from __future__ import annotations

__all__ = [
    "CSS",
    "JS",
    "MIN_SIDE",
    "NONE",
    "OWN",
    "Context",
    "Eta",
    "JobEvent",
    "Jobs",
    "cancel_handler",
    "check_image",
    "check_upload",
    "download_name",
    "fast_job",
    "gr",
    "in_tab",
    "job_updates",
    "join_gallery",
    "wire_style_gallery",
    "label_of",
    "lenient",
    "make_context",
    "own_style_input",
    "page_message",
    "photo_input",
    "progress_line",
    "result_column",
    "run_job",
    "save_png",
    "style_gallery",
    "thumbnails",
    "unavailable",
]

import atexit
import functools
import inspect
import logging
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from ..errors import InputError, StyleforgeError
from ..io import PNG_COMPRESS_LEVEL, register_heif
from . import modes
from .limits import JobCancelled, JobTimeout, Limits, WebSettings, open_upload
from .quota import FAST, HEAVY, queue_options


def _offline_env() -> None:
    """Before gradio is imported: no analytics, no Hugging Face Hub calls."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")


_offline_env()
import gradio as gr  # noqa: E402

log = logging.getLogger("styleforge.web")

NONE = "(none)"
#: The style choice that means "the style image I uploaded".
OWN = "my style (upload)"
#: Photos smaller than this on either side are refused (the networks pool them away to nothing).
MIN_SIDE = 32
#: A running job whose next update nobody asked for during this long was cancelled or abandoned.
ABANDONED_S = 5.0
#: With nothing new from the job for this long, the page still gets a fresh progress line.
HEARTBEAT_S = 1.0
CSS = """
.sf-cmd textarea, .sf-cmd input { font-family: ui-monospace, monospace; font-size: 0.85em; }
.sf-unavailable { padding: 1em; border-radius: 8px; background: var(--block-background-fill); }
.sf-gallery { height: auto !important; }
.sf-gallery .grid-wrap { height: auto !important; max-height: none !important; min-height: 0 !important;
  overflow: visible !important; }
.sf-gallery .grid-container { grid-template-columns: repeat(auto-fill, minmax(64px, 1fr)) !important;
  grid-auto-rows: 64px !important; padding-top: 1.6em !important; }
.sf-gallery .thumbnail-item.selected { outline: 3px solid var(--color-accent) !important; outline-offset: 1px; }
.sf-status:has(span.md:empty) { display: none !important; }
#sf-title h2 { margin: 0 !important; font-size: 1.2em; }
@media (max-width: 640px) { #sf-title h2 { font-size: 0.95em; } }
footer { display: none !important; }
"""


#: Accessible names Gradio leaves out: a gallery thumbnail is named after its style, a read-only
#: command box after its label.
JS = """
() => {
  const name = () => {
    for (const b of document.querySelectorAll('.sf-gallery button.thumbnail-item')) {
      const cap = b.querySelector('.caption-label');
      const want = cap ? 'Style ' + cap.innerText : null;
      if (want && b.getAttribute('aria-label') !== want) b.setAttribute('aria-label', want);
    }
    for (const t of document.querySelectorAll('.sf-cmd textarea')) {
      if (!t.getAttribute('aria-label')) t.setAttribute('aria-label', 'Same result from the command line');
    }
  };
  name();
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
}
"""


# --------------------------------------------------------------------------- messages
_PATH = re.compile(r"(?<![\w.])(?:/[\w.@+-]+){2,}/?")
_FLAG = re.compile(r"\s*\(?(?:use |add )?--[a-z][a-z-]+(?:/--[a-z][a-z-]+)*\)?")


def page_message(error: BaseException) -> str:
    """The one line a person reads for ``error``: the library's words without server paths or
    command-line flags, or a plain apology for a bug (the details go to the server log)."""
    if isinstance(error, JobCancelled):
        return "Cancelled."
    if isinstance(error, StyleforgeError):
        text = _PATH.sub(lambda m: f"'{Path(m.group(0)).name}'" if Path(m.group(0)).suffix else "the file", str(error))
        text = _FLAG.sub("", text).strip().rstrip(";:,")
        return text[:1].upper() + text[1:]
    return "Something went wrong on the server while making this picture; please try again with another photo."


# --------------------------------------------------------------------------- uploads
def label_of(path: str | None, default: str = "photo.jpg") -> str:
    """The user's file name of an upload (Gradio keeps it as the stored file's name)."""
    return Path(path).name if path else default


def check_image(path: str | None, limits: Limits, *, what: str = "photo", min_side: int = MIN_SIDE) -> Image.Image:
    """An upload → RGB image, or one :class:`InputError` in the page's words (type, bytes, pixels, tiny)."""
    img = open_upload(path, limits, what=what)
    if min(img.size) < min_side:
        raise InputError(
            f"the {what} '{label_of(path)}' is only {img.width}×{img.height} pixels; "
            f"use one at least {min_side} pixels on each side"
        )
    return img


def check_upload(path: str | None, limits: Limits, *, what: str = "photo") -> str:
    """The message for a just-uploaded file ("" when it is fine): images and clips are checked on upload."""
    if not path:
        return ""
    try:
        if what == "clip":
            from .video_tab import check_clip

            check_clip(Path(path), limits.max_video_seconds, label=label_of(path, "clip.mp4"))
        else:
            check_image(path, limits, what=what)
    except StyleforgeError as e:
        return f"⚠ {page_message(e)}"
    return ""


# --------------------------------------------------------------------------- downloads
def _slug(text: str) -> str:
    stem = Path(text).stem if "." in text else text
    return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:40] or "x"


def download_name(photo: str, mode: str, style: str | None = None) -> str:
    """``in20_the_scream.png`` (Artistic), ``in20_instant_the_scream.png``, ``in20_makeup.png``…"""
    parts = [_slug(photo)] + ([] if mode == "artistic" else [_slug(mode)]) + ([_slug(style)] if style else [])
    return "_".join(parts) + ".png"


def save_png(image: Image.Image, folder: Path, *, photo: str, mode: str, style: str | None, command: str) -> str:
    """The result as PNG bytes named after photo, mode and style, with ``command`` in its text chunks.

    Only the pixels are written (no EXIF, GPS or ICC from the upload); chunks: ``Software`` and
    ``styleforge:command`` (the equivalent ``styleforge …`` line shown on the page).
    """
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "styleforge")
    info.add_text("styleforge:command", command)
    sub = Path(tempfile.mkdtemp(prefix="dl-", dir=folder))  # one folder per result: the name stays the user's
    out = sub / download_name(photo, mode, style)
    clean = Image.frombytes("RGB", image.size, image.convert("RGB").tobytes())
    part = out.with_suffix(".part")
    clean.save(part, format="PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
    part.replace(out)
    return str(out)


# --------------------------------------------------------------------------- jobs
@dataclass
class JobEvent:
    """One message of a running job: ``progress`` (fraction, stage, preview), ``idle``, ``done``."""

    kind: str
    fraction: float = 0.0
    stage: str = ""
    preview: Image.Image | None = None
    result: Any = None


class Jobs:
    """Stop flags and threads of running jobs, per browser session (for Cancel)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, dict[threading.Event, threading.Thread | None]] = {}

    def add(self, session: str, flag: threading.Event, thread: threading.Thread | None = None) -> None:
        with self.lock:
            self.running.setdefault(session, {})[flag] = thread

    def remove(self, session: str, flag: threading.Event) -> None:
        with self.lock:
            self.running.get(session, {}).pop(flag, None)
            if not self.running.get(session):
                self.running.pop(session, None)

    def cancel(self, session: str, wait_s: float = 10.0) -> int:
        """Stop the session's jobs and wait (at most ``wait_s``) until their threads have ended."""
        with self.lock:
            items = list(self.running.get(session, {}).items())
        for flag, _ in items:
            flag.set()
        end = time.monotonic() + wait_s
        for _, th in items:
            if th is not None:
                th.join(max(0.0, end - time.monotonic()))
        return len(items)


def run_job(
    fn: Callable[..., Any],
    cancel: threading.Event,
    *,
    deadline: float,
    jobs: Jobs | None = None,
    session: str = "anonymous",
    idle_s: float = HEARTBEAT_S,
) -> Generator[JobEvent, None, None]:
    """Run ``fn(on_progress=, should_stop=, deadline=)`` and stream its :class:`JobEvent`s.

    The one job interface of the page: ``fn`` reports ``on_progress(fraction, stage, preview)``
    and polls ``should_stop()``; setting ``cancel`` stops it (its :class:`JobCancelled`
    is raised here).  An ``idle`` event follows every ``idle_s`` without news.  Closing the
    iterator stops the job too.  A job queue can replace this function.
    """
    events: queue.Queue[JobEvent | BaseException] = queue.Queue()

    def on_progress(frac: float, stage: str, preview: Image.Image | None) -> None:
        events.put(JobEvent("progress", float(frac), stage, preview))

    def worker() -> None:
        try:
            events.put(
                JobEvent("done", 1.0, result=fn(on_progress=on_progress, should_stop=cancel.is_set, deadline=deadline))
            )
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            events.put(e)

    th = threading.Thread(target=worker, name="styleforge-job", daemon=True)
    if jobs is not None:
        jobs.add(session, cancel, th)
    th.start()
    try:
        while True:
            try:
                item = events.get(timeout=idle_s)
            except queue.Empty:
                yield JobEvent("idle")
                continue
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.kind == "done":
                return
    finally:
        cancel.set()
        if jobs is not None:
            jobs.remove(session, cancel)
        th.join(timeout=10)


def _clock(seconds: float) -> str:
    s = max(0, round(seconds))
    return f"{s // 60}:{s % 60:02d}" if s >= 60 else f"{s} s"


class Eta:
    """Remaining time from the fraction done: the rate since the first progress report.

    The first report comes after the set-up (loading the network, the first step), so the
    estimate extrapolates the steady part of the work only.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.start = clock()
        self.first: tuple[float, float] | None = None  # (time, fraction) of the first report

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self, fraction: float) -> float | None:
        """Seconds left at ``fraction`` done, or ``None`` while there is no rate yet."""
        now = self.clock()
        if self.first is None:
            self.first = (now, fraction)
            return None
        t0, f0 = self.first
        if fraction <= f0 or now <= t0:
            return None
        return (now - t0) * (1.0 - fraction) / (fraction - f0)


def progress_line(stage: str, fraction: float, elapsed: float, remaining: float | None) -> str:
    """``Running · scale 2/3, step 5/40 · 45 % · about 12 s left · 8 s elapsed``."""
    left = f"about {_clock(remaining)} left" if remaining is not None else "estimating the time left…"
    return f"Running · {stage} · {100 * fraction:.0f} % · {left} · {_clock(elapsed)} elapsed"


# --------------------------------------------------------------------------- context
@dataclass
class Context:
    """What the tabs share: settings, limits, availability, the job registry and the work folder."""

    settings: WebSettings
    avail: dict[str, str | None]
    work: Path
    thumbs: list[tuple[str, str]]
    jobs: Jobs = field(default_factory=Jobs)

    @property
    def limits(self) -> Limits:
        return self.settings.limits

    @property
    def style_names(self) -> list[str]:
        return [n for _, n in self.thumbs]

    @property
    def default_style(self) -> str | None:
        names = self.style_names
        return "starry_night" if "starry_night" in names else (names[0] if names else None)

    @property
    def heavy(self) -> dict[str, Any]:
        return {**queue_options(HEAVY, self.settings), "show_progress": "hidden"}

    @property
    def fast(self) -> dict[str, Any]:
        return {**queue_options(FAST, self.settings), "show_progress": "minimal"}

    def session(self, request: Any) -> str:
        return getattr(request, "session_hash", None) or "anonymous"

    def downloads(self) -> Path:
        d = self.work / "results"
        d.mkdir(parents=True, exist_ok=True)
        return d


def thumbnails(work: Path, size: int = 160) -> list[tuple[str, str]]:
    """Small JPEG copies of the built-in styles for the galleries: ``(path, name)``."""
    from ..assets import builtin_styles

    out = []
    for name, path in builtin_styles().items():
        dst = work / "thumbs" / f"{name}.jpg"
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            with Image.open(path) as src:
                im = src.convert("RGB")
                im.thumbnail((size, size))
                im.save(dst, quality=85)
        out.append((str(dst), name))
    return out


def make_context(settings: WebSettings) -> Context:
    """The page's context (a fresh work folder, removed at exit)."""
    register_heif()
    work = Path(tempfile.mkdtemp(prefix="styleforge-web-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    return Context(settings, modes.availability(settings.instant_models), work, thumbnails(work))


# --------------------------------------------------------------------------- widgets and streams
def lenient(component: Any) -> Any:
    """Let a non-image upload reach our handler, which answers with the page's message.

    ``gr.Image`` opens every upload with PIL before the handler runs, so a text file renamed
    ``.jpg`` would fail inside Gradio with a generic error.
    """
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except Exception:  # noqa: BLE001 - check_image() reports it properly
            path = getattr(payload, "path", None)
            return str(path) if path else None

    component.preprocess = preprocess
    return component


def photo_input(
    ctx: Context,
    label: str,
    elem_id: str,
    status: Any | None = None,
    *,
    what: str = "photo",
    sources: tuple[str, ...] = ("upload", "clipboard"),
    height: int | str = 240,
) -> Any:
    """An image upload checked as soon as it arrives: a bad file is removed and ``status`` says why."""
    kinds: Any = list(sources)
    box = lenient(
        gr.Image(label=label, type="filepath", image_mode=None, sources=kinds, elem_id=elem_id, height=height)
    )
    if status is not None:

        def on_upload(path: str | None) -> tuple[Any, str]:
            msg = check_upload(path, ctx.limits, what=what)
            return (None if msg else gr.update()), msg

        box.upload(on_upload, box, [box, status], api_visibility="private", queue=False, show_progress="hidden")
    return box


def result_column(prefix: str, *, height: int | str = 360) -> tuple[Any, Any, Any]:
    """The Result image (a named PNG to download), the status line and the equivalent command."""
    info = gr.Markdown(elem_id=f"{prefix}-info", elem_classes="sf-status")
    img = gr.Image(
        label="Result",
        type="filepath",
        interactive=False,
        buttons=["download", "fullscreen"],
        elem_id=f"{prefix}-result",
        height=height,
    )
    cmd = gr.Textbox(
        label="Same result from the command line",
        interactive=False,
        buttons=["copy"],
        elem_id=f"{prefix}-cmd",
        elem_classes="sf-cmd",
        lines=2,
    )
    return img, info, cmd


def unavailable(reason: str | None) -> None:
    """The tab's one line when this install cannot run its mode (instead of its controls)."""
    gr.Markdown(f"**Not available in this install.** {reason}.", elem_classes="sf-unavailable")


def job_updates(
    ctx: Context,
    work_fn: Callable[..., Any],
    request: Any,
    finish: Callable[[Any], tuple[Any, ...]],
    *,
    clock: Callable[[], float] = time.monotonic,
    extra: int = 0,
) -> Iterator[tuple[Any, ...]]:
    """A long job as the page's updates ``(result, status, command, *extra)``.

    The live picture goes into the Result box at most every second, beside one status line
    (stage, percentage, time left, elapsed); ``finish(result)`` gives the final outputs.  Errors
    end as a message in the status line; a cancelled job leaves "Cancelled" and no picture.
    """
    cancel = threading.Event()
    deadline = time.monotonic() + ctx.limits.job_timeout_s
    eta = Eta(clock)
    keep = (gr.update(),) * extra
    stage, frac = "starting", 0.0
    left: float | None = None
    stream = run_job(work_fn, cancel, deadline=deadline, jobs=ctx.jobs, session=ctx.session(request))
    suspended: list[float | None] = [clock()]

    def watchdog() -> None:  # nobody pulls the next update for long: the event was cancelled or abandoned
        while not cancel.is_set():
            t = suspended[0]
            if t is not None and time.monotonic() - t > ABANDONED_S:
                cancel.set()
            cancel.wait(0.5)

    threading.Thread(target=watchdog, name="styleforge-watchdog", daemon=True).start()

    def emit(update: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        suspended[0] = time.monotonic()
        yield update
        suspended[0] = None

    try:
        yield from emit((None, progress_line(stage, frac, eta.elapsed(), None), "", *keep))
        for ev in stream:
            if ev.kind == "done":
                yield finish(ev.result)
                return
            if ev.kind == "progress":
                stage, frac = ev.stage, ev.fraction
                left = eta.remaining(frac)
            line = progress_line(stage, frac, eta.elapsed(), left)
            yield from emit((ev.preview if ev.preview is not None else gr.update(), line, gr.update(), *keep))
    except JobCancelled:
        yield (None, "**Cancelled.** Nothing was kept.", "", *keep)
    except JobTimeout:
        yield (
            None,
            f"⚠ This picture took longer than the {ctx.limits.job_timeout_s:g} s limit and was "
            "stopped; try a smaller size or the fast preset.",
            "",
            *keep,
        )
    except StyleforgeError as e:
        yield (None, f"⚠ {page_message(e)}", "", *keep)
    except Exception as e:  # noqa: BLE001 - never a traceback on the page
        log.error("web job failed", exc_info=e)
        yield (None, f"⚠ {page_message(e)}", "", *keep)
    finally:
        cancel.set()
        stream.close()


def cancel_handler(ctx: Context, extra: int = 0) -> Callable[..., tuple[Any, ...]]:
    """The Cancel button: stops the session's jobs, waits for them, and leaves a clear state."""

    def cancel(request: gr.Request) -> tuple[Any, ...]:
        n = ctx.jobs.cancel(ctx.session(request))
        msg = "**Cancelled.** Nothing was kept." if n else "Nothing to cancel."
        return (
            (None, msg, "", *((gr.update(),) * extra))
            if n
            else (gr.update(), msg, gr.update(), *((gr.update(),) * extra))
        )

    return cancel


def fast_job(ctx: Context, job: Callable[[], Any]) -> Any:
    """A fast job under ``limits.fast_timeout_s`` (a friendly error past it)."""
    from .limits import run_with_deadline

    return run_with_deadline(job, ctx.limits.fast_timeout_s)


def in_tab(extra: int = 0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A fast handler whose errors end in the tab's status line (``(result, status, command, *extra)``)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except StyleforgeError as e:
                msg = page_message(e)
            except Exception as e:  # noqa: BLE001 - never a traceback on the page
                log.error("web job failed", exc_info=e)
                msg = page_message(e)
            return (gr.update(), f"⚠ {msg}", gr.update(), *((gr.update(),) * extra))

        wrapper.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
        return wrapper

    return wrap


def style_gallery(ctx: Context, items: list[tuple[str, str]], elem_id: str, selected: int | None) -> Any:
    """All styles as wrapping thumbnails, the selected one highlighted (no sideways scrolling)."""
    return gr.Gallery(
        value=items,
        label="Style: click one",
        columns=4,
        height="auto",
        allow_preview=False,
        selected_index=selected,
        elem_id=elem_id,
        elem_classes="sf-gallery",
        buttons=[],
        show_label=True,
    )


def own_style_input(ctx: Context, elem_id: str, status: Any) -> Any:
    """ "Add your own style": an image upload that joins the gallery as the selection."""
    box = photo_input(ctx, "Add your own style", elem_id, None, what="style image", sources=("upload",), height=110)
    box.min_width = 120  # beside the style box, even on a phone
    return box


def join_gallery(ctx: Context, items: list[tuple[str, str]]) -> Callable[..., tuple[Any, Any, str, Any]]:
    """Handler of an own-style upload → ``(gallery, style choice, status, upload box)``: a good image
    joins the gallery as the selection; a bad one is removed and the status says why."""

    def joined(path: str | None) -> tuple[Any, Any, str, Any]:
        if not path:
            return gr.update(value=items, selected_index=None), gr.update(), "", gr.update()
        msg = check_upload(path, ctx.limits, what="style image")
        if msg:
            return gr.update(), gr.update(), msg, None
        return (
            gr.update(value=[*items, (path, OWN)], selected_index=len(items)),
            OWN,
            f"Your style '{label_of(path)}' is selected.",
            gr.update(),
        )

    return joined


def wire_style_gallery(
    ctx: Context, items: list[tuple[str, str]], names: list[str], gallery: Any, choice: Any, own: Any, status: Any
) -> None:
    """One way to pick a style: a click on the gallery sets ``choice``, a new ``choice`` highlights its
    thumbnail, and an own-style upload joins the gallery as the selection (:func:`join_gallery`)."""

    def picked(evt: gr.SelectData) -> str:
        return OWN if evt.index >= len(names) else names[evt.index]

    def chosen(name: str | None) -> Any:
        return gr.update(selected_index=names.index(name) if name in names else (len(names) if name == OWN else None))

    quiet: dict[str, Any] = {"api_visibility": "private", "queue": False, "show_progress": "hidden"}
    gallery.select(picked, None, choice, **quiet)
    choice.input(chosen, choice, gallery, **quiet)
    own.upload(join_gallery(ctx, items), own, [gallery, choice, status, own], **quiet)
