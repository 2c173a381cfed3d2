"""The page's jobs on the queue (``styleforge serve --broker``).

With a broker, :func:`install` makes the page's job functions in :mod:`.modes` (``artistic``,
``photo``, ``photo_fast``, ``instant``, ``makeup_by_example``) submit their call to the queue and
wait for it, instead of running here: the tabs and the page's one job interface
(:func:`.common.run_job`) are unchanged — progress reaches the status line, Cancel and the time
limit cancel the queued job, a failure is the worker's message.  On the worker, ``styleforge
worker`` registers the same functions (:func:`register_on_worker`), so a picture is computed by the
same code either way; the arguments travel as JSON (images as PNG inputs in Redis), never pickled.

Calls that name a folder of this server (``models=``: ``--instant-models``) and the modes that
need this server's checkpoints (Translate, Makeup with a model) or the video tab stay in this
process: the workers do not have those files.
"""

from __future__ import annotations

__all__ = ["PAGE_FUNCTIONS", "install", "register_on_worker"]

import functools
import inspect
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from ..service.config import FAST, HEAVY
from . import modes
from .limits import JobCancelled, JobTimeout

#: The page's job functions that run on workers, and their job class.
PAGE_FUNCTIONS: dict[str, str] = {
    "artistic": HEAVY,
    "photo": HEAVY,
    "photo_fast": FAST,
    "instant": FAST,
    "makeup_by_example": FAST,
}
#: Arguments naming this server's files: a call with one of them set runs here.
LOCAL_ARGS = ("models", "look_dir")
#: Arguments for this process only (the worker has its own device; previews are not sent).
DROPPED_ARGS = ("device", "preview_every", "on_progress", "should_stop", "deadline")
#: Inputs of a page job may be larger than an API upload (PNG of a large photo).
MAX_INPUT_BYTES = 256 * 2**20


class _Local(Exception):
    """This call cannot travel (a file path, an unknown object): run it here."""


def _encode(value: Any, images: dict[str, Image.Image]) -> Any:
    """Arguments → JSON, images replaced by ``{"$image": NAME}`` (the image goes to ``images``)."""
    if isinstance(value, Image.Image):
        name = f"in{len(images)}"
        images[name] = value
        return {"$image": name}
    if isinstance(value, (list, tuple)):
        return [_encode(v, images) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, images) for k, v in value.items()}
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
        try:
            encoded = _encode({k: v for k, v in given.items() if k not in DROPPED_ARGS}, images)
        except _Local:
            return original(*args, **kwargs)
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
    saved = {name: getattr(modes, name) for name in PAGE_FUNCTIONS}
    for name, cls in PAGE_FUNCTIONS.items():
        setattr(modes, name, _remote(name, cls, saved[name], store, app, settings.limits.fast_timeout_s + 30))

    def uninstall() -> None:
        for name, fn in saved.items():
            setattr(modes, name, fn)

    return uninstall


def register_on_worker() -> None:
    """Let this worker process run the page's jobs (``styleforge worker`` calls it)."""
    from ..service.modes import register_page

    for name in PAGE_FUNCTIONS:
        fn = getattr(modes, name)
        register_page(name, getattr(fn, "__wrapped_remote__", fn))
