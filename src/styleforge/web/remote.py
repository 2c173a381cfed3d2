"""The page's jobs on the queue (``styleforge serve --broker``).

With a broker, :func:`install` makes the page's job functions in :mod:`.modes` (``artistic``,
``photo``, ``photo_fast``, ``instant``, ``makeup_by_example``, ``translate``, ``makeup``) and the
Video tab's :func:`.video_tab.video_job` submit their call to the queue and wait for it, instead of
running here: the tabs and the page's one job interface (:func:`.common.run_job`) are unchanged —
progress and the live picture reach the page, Cancel and the time limit cancel the queued job, a
failure is the worker's message.  On the worker, ``styleforge worker`` registers the same functions
(:func:`register_on_worker`), so a picture is computed by the same code either way; the arguments
travel as JSON (images as PNG inputs in Redis), never pickled.

Files travel through Redis too, never a shared path: a clip, an uploaded style image and a model
of ``--models`` (a :class:`~pathlib.Path` argument) are stored once under their SHA-256 (bounded
by :attr:`~styleforge.service.ServiceConfig.max_file_bytes`, expiring) and each worker keeps a
copy, so a model is fetched and loaded once per worker.  A video's result (MP4) comes back the same
way.  Calls that name a folder of this server (``models=``: ``--instant-models``), or a file over
the bound, stay in this process.
"""

from __future__ import annotations

__all__ = ["PAGE_FUNCTIONS", "install", "register_on_worker"]

import functools
import hashlib
import inspect
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from PIL import Image

from ..errors import InputError
from ..service.config import FAST, HEAVY
from . import modes, video_tab
from .limits import JobCancelled, JobTimeout

log = logging.getLogger("styleforge.web")

#: The page's job functions that run on workers, and their job class.
PAGE_FUNCTIONS: dict[str, str] = {
    "artistic": HEAVY,
    "photo": HEAVY,
    "photo_fast": FAST,
    "instant": FAST,
    "makeup_by_example": FAST,
    "translate": FAST,
    "makeup": FAST,
    "video_job": HEAVY,
}
#: The module each page function lives in (its attribute is what the tabs call).
HOMES: dict[str, ModuleType] = {"video_job": video_tab}
#: Arguments naming this server's folders: a call with one of them set runs here.
LOCAL_ARGS = ("models", "look_dir")
#: Arguments for this process only (the worker has its own device and its own output folder).
DROPPED_ARGS = ("device", "preview_every", "on_progress", "should_stop", "deadline", "out_dir")
#: How a worker words a failure that is a bug (:func:`styleforge.service.tasks.execute`).
INTERNAL = "internal error ("
#: Inputs of a page job may be larger than an API upload (PNG of a large photo).
MAX_INPUT_BYTES = 256 * 2**20


class _Local(Exception):
    """This call cannot travel (a file path, an unknown object): run it here."""


def _home(name: str) -> ModuleType:
    return HOMES.get(name, modes)


_DIGESTS: dict[tuple[str, int, int], str] = {}
_DIGEST_LOCK = threading.Lock()


def _digest(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime): a model is hashed once."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _DIGEST_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    with _DIGEST_LOCK:
        _DIGESTS[key] = h.hexdigest()
    return h.hexdigest()


def _encode(value: Any, images: dict[str, Image.Image], files: dict[str, Path], max_file_bytes: int) -> Any:
    """Arguments → JSON: images replaced by ``{"$image": NAME}`` (the image goes to ``images``), files by
    ``{"$file": {"sha": SHA256, "name": NAME}}`` (the path goes to ``files``)."""
    if isinstance(value, Image.Image):
        name = f"in{len(images)}"
        images[name] = value
        return {"$image": name}
    if isinstance(value, Path):
        if not value.is_file():
            raise _Local("a folder")
        if value.stat().st_size > max_file_bytes:
            log.warning("%s is larger than the queue's file limit: this job runs in the server's process", value.name)
            raise _Local("a large file")
        sha = _digest(value)
        files[sha] = value
        return {"$file": {"sha": sha, "name": value.name}}
    if isinstance(value, (list, tuple)):
        return [_encode(v, images, files, max_file_bytes) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, images, files, max_file_bytes) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise _Local(type(value).__name__)


def _remote(
    name: str, cls: str, original: Callable[..., Any], store: Any, app: Any, fast_timeout_s: float
) -> Callable[..., Any]:
    from ..service.client import RemoteJob
    from ..service.modes import PAGE, JobStopped

    signature = inspect.signature(original)

    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        given = dict(bound.arguments)
        if any(given.get(k) is not None for k in LOCAL_ARGS):
            return original(*args, **kwargs)
        on_progress, should_stop = given.get("on_progress"), given.get("should_stop")
        deadline = given.get("deadline") or time.monotonic() + fast_timeout_s
        images: dict[str, Image.Image] = {}
        files: dict[str, Path] = {}
        try:
            encoded = _encode(
                {k: v for k, v in given.items() if k not in DROPPED_ARGS}, images, files, store.config.max_file_bytes
            )
        except _Local:
            return original(*args, **kwargs)
        for sha, path in files.items():  # each file once in Redis, whoever needs it next
            if not store.has_file(sha):
                store.put_file(sha, path.read_bytes())
        job_cls = HEAVY if name == "instant" and given.get("refine") else cls
        job = RemoteJob(
            store,
            app,
            "page",
            PAGE,
            {"fn": name, "kwargs": encoded},
            dict(images),
            cls=job_cls,
            max_bytes=MAX_INPUT_BYTES,
        )
        progress = (lambda f, m, p: on_progress(f, m, p)) if on_progress is not None else None
        try:
            image = job(on_progress=progress, should_stop=should_stop, deadline=deadline)
        except JobStopped as e:
            if "timed out" in str(e):
                raise JobTimeout("the job took too long") from None
            raise JobCancelled("cancelled") from None
        except InputError as e:
            if str(e).startswith(INTERNAL):  # a bug on the worker: the page's apology, as for one here
                raise RuntimeError(str(e)) from None
            raise
        if isinstance(image, bytes):  # a video: written where the page keeps its results
            folder = Path(given.get("out_dir") or tempfile.mkdtemp(prefix="styleforge-video-"))
            out = folder / Path(job.meta.get("name") or "result.mp4").name
            part = out.with_name(f".{out.name}.part")
            part.write_bytes(image)
            part.replace(out)
            return video_tab.VideoResult(str(out), job.meta.get("command", ""), job.meta.get("info", ""))
        file = None
        if job.file is not None:
            file = Path(tempfile.mkdtemp(prefix="styleforge-look-")) / Path(job.file[0]).name
            file.write_bytes(job.file[1])
        return modes.ModeResult(image.convert("RGB"), job.meta.get("command", ""), job.meta.get("info", ""), file)

    call.__wrapped_remote__ = original  # type: ignore[attr-defined]
    return call


def install(settings: Any, config: Any) -> Callable[[], None]:
    """Route the page's jobs to the queue of ``config`` (a :class:`~styleforge.service.ServiceConfig`).

    Returns a function that puts the in-process functions back.
    """
    from ..service.store import JobStore
    from ..service.tasks import make_app

    store, app = JobStore(config), make_app(config)
    saved = {name: getattr(_home(name), name) for name in PAGE_FUNCTIONS}
    for name, cls in PAGE_FUNCTIONS.items():
        fn = _remote(name, cls, saved[name], store, app, settings.limits.fast_timeout_s + 30)
        setattr(_home(name), name, fn)

    def uninstall() -> None:
        for name, fn in saved.items():
            setattr(_home(name), name, fn)

    return uninstall


def _video_on_worker(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The Video tab's job on a worker: rendered into a folder of its own, returned as MP4 bytes."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        with tempfile.TemporaryDirectory(prefix="styleforge-video-") as d:
            res = fn(*args, out_dir=Path(d), **kwargs)
            path = Path(res.image)
            return SimpleNamespace(
                image=path.read_bytes(),
                name=path.name,
                media_type="video/mp4",
                command=res.command,
                info=res.info,
                file=None,
            )

    return run


def register_on_worker() -> None:
    """Let this worker process run the page's jobs (``styleforge worker`` calls it)."""
    from ..service.modes import register_page

    for name in PAGE_FUNCTIONS:
        fn = getattr(_home(name), name)
        fn = getattr(fn, "__wrapped_remote__", fn)
        register_page(name, _video_on_worker(fn) if name == "video_job" else fn)
