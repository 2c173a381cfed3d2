"""Server settings and the guards every upload and parameter goes through.

Nothing here imports a web framework: the adapters in :mod:`.modes` and the
Gradio page in :mod:`.app` both use these functions, and the unit tests call
them directly.

* :func:`open_upload` — size limit in bytes, pixel limit read from the header
  *before* decoding, then :func:`styleforge.io.load_image` (EXIF, CMYK,
  alpha…); every failure is one friendly :class:`~styleforge.errors.InputError`
  that names the upload, never a server path.
* :func:`list_checkpoints` / :func:`resolve_checkpoint` — checkpoint names are
  relative paths *inside* ``--models``; anything else (absolute paths, ``..``,
  symlinks leading out, names not in the listing) is refused.
"""

from __future__ import annotations

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "Limits",
    "WebSettings",
    "JobCancelled",
    "JobTimeout",
    "list_checkpoints",
    "open_upload",
    "resolve_checkpoint",
    "run_with_deadline",
]

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from ..errors import InputError, StyleforgeError, suggest
from ..io import load_image

if TYPE_CHECKING:
    from .auth import Accounts

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".pt2", ".safetensors")


class JobCancelled(StyleforgeError):
    """The user pressed Cancel (or the client went away)."""


class JobTimeout(StyleforgeError):
    """A job ran past :attr:`Limits.job_timeout_s`."""


@dataclass(frozen=True)
class Limits:
    """What one request may ask for.

    Args:
        max_upload_mb: largest upload in megabytes (enforced by the server
            before the file is stored, and again when it is opened).
        max_pixels: largest image in pixels (width × height), read from the
            file header before decoding.
        max_side: largest output long side for the optimisation modes.
        job_timeout_s: an optimisation job (Artistic, Photo) running longer is stopped
            with a friendly error.
        fast_timeout_s: the same for one Instant / Translate / Makeup job.
        concurrency: jobs of one kind that run at once (the rest queue).
        max_queue: requests waiting beyond this are refused ("busy").
        max_video_seconds: longest clip the Video tab takes.
    """

    max_upload_mb: float = 20.0
    max_pixels: int = 40_000_000
    max_side: int = 1024
    job_timeout_s: float = 300.0
    fast_timeout_s: float = 60.0
    concurrency: int = 1
    max_queue: int = 64
    max_video_seconds: float = 10.0

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class WebSettings:
    """Everything :func:`styleforge.web.create_app` needs.

    Args:
        models_dir: folder of translation / makeup checkpoints (``--models``);
            ``None`` hides nothing but lists no checkpoints.
        limits: see :class:`Limits`.
        instant_models: an extra folder of instant models (``manifest.json``
            and weights, as ``assets/instant``) offered beside the built-in ones.
        fast_concurrency: concurrent Instant / Translate / Makeup jobs.
        device: torch device for the models (``"cpu"``, ``"cuda"``, ``"auto"``).
        accounts: who may log in (``--auth``, ``--auth-file``); ``None``: no login.
        trusted_proxies: addresses / networks whose ``X-Forwarded-For`` names the client.
        max_jobs_per_client: jobs one client may have waiting or running (0: no limit).
        max_heavy_per_hour: optimisation jobs one client may start per hour (0: no limit).
        login_delay_s: the refusal of a failed login waits this long, doubling with each
            further failure from the same address (at most 30 s).
        broker: ``redis://…`` of the job queue (``serve --broker``): the per-client limits live
            there (shared with every front end), and the HTTP API at ``/v1`` runs jobs on its
            workers; ``None``: everything in this process.
    """

    host: str = "127.0.0.1"
    port: int = 7860
    models_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    instant_models: Path | None = None
    fast_concurrency: int = 2
    device: str = "cpu"
    accounts: Accounts | None = None
    trusted_proxies: tuple[str, ...] = ()
    max_jobs_per_client: int = 0
    max_heavy_per_hour: int = 0
    login_delay_s: float = 0.5
    broker: str | None = None


def run_with_deadline(fn: Callable[[], object], timeout_s: float, what: str = "this job") -> object:
    """``fn()`` in a worker thread; its result, its exception, or :class:`JobTimeout` after ``timeout_s``.

    The caller (a queue slot) is released at the deadline with a friendly message; a
    forward pass cannot be interrupted, so the worker finishes in the background and its
    result is dropped.
    """
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = e

    th = threading.Thread(target=work, name="styleforge-fast-job", daemon=True)
    th.start()
    th.join(timeout_s)
    if th.is_alive():
        raise JobTimeout(f"{what} ran past the {timeout_s:g} s limit; try a smaller image")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def _human(n: float) -> str:
    return f"{n / 1e6:.0f} MP" if n >= 1e6 else f"{n / 1e3:.0f} kP"


def open_upload(
    path: str | os.PathLike[str] | None,
    limits: Limits,
    *,
    what: str = "photo",
    name: str | None = None,
) -> Image.Image:
    """An uploaded file → RGB PIL image, or one friendly :class:`InputError`.

    Args:
        path: the stored upload (``None``: nothing was uploaded).
        what: how the message calls it ("photo", "style image").
        name: the user's file name for messages (default: the stored name).
    """
    if path is None or str(path) == "":
        raise InputError(f"please upload a {what} first")
    p = Path(path)
    label = name or p.name
    try:
        size = p.stat().st_size
    except OSError:
        raise InputError(f"the {what} upload is gone; please upload it again") from None
    if not p.is_file():
        raise InputError(f"the {what} upload is not a file")
    if size > limits.max_upload_bytes:
        raise InputError(
            f"the {what} '{label}' is too large ({size / 2**20:.1f} MB; the limit is {limits.max_upload_mb:g} MB)"
        )
    if size == 0:
        raise InputError(f"the {what} '{label}' is empty")
    try:
        with Image.open(p) as probe:  # header only: no pixels decoded yet
            w, h = probe.size
    except UnidentifiedImageError:
        raise InputError(f"'{label}' is not an image (use a JPEG, PNG or WebP {what})") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InputError(f"'{label}' is not a readable image (damaged or unsupported)") from None
    if w * h > limits.max_pixels:
        raise InputError(
            f"the {what} '{label}' is too large ({w}×{h} = {_human(w * h)}; the limit is {_human(limits.max_pixels)})"
        )
    try:
        return load_image(p, what=what, max_pixels=max(limits.max_pixels, 1))
    except InputError as e:
        raise InputError(str(e).replace(str(p), f"'{label}'")) from None


def list_checkpoints(models_dir: str | os.PathLike[str] | None, *, max_depth: int = 3) -> list[str]:
    """Checkpoint files under ``models_dir`` as sorted relative POSIX names.

    Symlinks that lead outside the folder are left out.  At most ``max_depth``
    folder levels are searched.
    """
    if models_dir is None:
        return []
    root = Path(models_dir).resolve()
    if not root.is_dir():
        return []
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and depth < max_depth)
        for f in filenames:
            if f.startswith(".") or not f.endswith(CHECKPOINT_SUFFIXES):
                continue
            full = Path(dirpath) / f
            try:
                real = full.resolve()
            except OSError:
                continue
            if real.is_relative_to(root) and real.is_file():
                found.append(full.relative_to(root).as_posix())
    return sorted(found)


def resolve_checkpoint(models_dir: str | os.PathLike[str] | None, name: str | None) -> Path:
    """A checkpoint name from the page → its path, only ever inside ``models_dir``."""
    if models_dir is None:
        raise InputError("no models folder: start the server with `styleforge serve --models DIR`")
    if not name:
        raise InputError("please pick a model")
    if "\x00" in name or "\\" in name or name.startswith(("/", "~")) or ".." in Path(name).parts:
        raise InputError(f"unknown model {name!r}")
    available = list_checkpoints(models_dir)
    if name not in available:
        raise InputError(f"unknown model {name!r}{suggest(name, available)}")
    root = Path(models_dir).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():  # belt and braces
        raise InputError(f"unknown model {name!r}")
    return path
