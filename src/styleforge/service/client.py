"""Batch over machines: ``styleforge stylize|instant|photo PHOTOS… --broker URL -o OUT/``.

Every photo becomes a job on the queue (run by ``styleforge worker`` on any machine); one progress
bar follows them; each result is written into the output folder as it arrives (atomically).
Resumable: a photo whose output exists is skipped, and the jobs already submitted are remembered
in ``OUT/.styleforge-jobs.json``, so a second run after Ctrl-C (or a lost connection) collects
them instead of submitting them again.
"""

from __future__ import annotations

__all__ = ["Batch", "RemoteJob", "collect_inputs", "options_from_args", "run_cli"]

import getpass
import io
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..io import png_bytes
from .config import ServiceConfig, job_class
from .modes import check
from .store import JobStore, new_job_id

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic")
STATE_FILE = ".styleforge-jobs.json"


def collect_inputs(items: Sequence[str]) -> list[Path]:
    """Files and folders (their images, sorted, not recursive) → image files."""
    out: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(f"{p} has no images ({', '.join(IMAGE_SUFFIXES)})")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise InputError(f"no such file or folder: {item}")
    return out


def _style(value: str | None, what: str, inputs: dict[str, bytes], options: dict[str, Any]) -> None:
    """A style that is a file travels as an input image; anything else is a built-in name."""
    if value is None:
        return
    p = Path(value).expanduser()
    if p.is_file():
        inputs["style"] = p.read_bytes()
    else:
        options[what] = value


def _one(values: Any, flag: str) -> str | None:
    if values is None or isinstance(values, str):
        return values
    if len(values) != 1:
        raise InputError(f"with --broker, give exactly one {flag}")
    return str(values[0])


def options_from_args(mode: str, args: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A command line's options → the job's options and its shared input images (the style)."""
    options: dict[str, Any] = {}
    inputs: dict[str, bytes] = {}
    if mode == "instant":
        _style(
            _one(getattr(args, "instant", None) or getattr(args, "style", None), "--style"), "style", inputs, options
        )
        options["strength"] = float(getattr(args, "strength", 1.0))
        size = getattr(args, "size", None)
        if size:
            options["size"] = int(size)
        options["original_colors"] = bool(getattr(args, "original_colors", False))
    elif mode == "artistic":
        _style(_one(getattr(args, "style", None), "--style"), "style", inputs, options)
        for name in ("iterations", "seed"):
            if getattr(args, name, None) is not None:
                options[name] = int(getattr(args, name))
        if getattr(args, "image_size", None):
            options["size"] = int(args.image_size)
        backbone = getattr(args, "backbone", None)
        if backbone:
            options["backbone"] = backbone
        if getattr(args, "style_weight", None):
            options["strength"] = float(args.style_weight) / 100.0
        options["original_colors"] = bool(getattr(args, "original_colors", False))
    elif mode == "photo":
        style = Path(str(args.style)).expanduser()
        if not style.is_file():
            raise InputError(f"style photo not found: {args.style}")
        inputs["style"] = style.read_bytes()
        options["method"] = getattr(args, "method", "fast") or "fast"
        if getattr(args, "image_size", None):
            options["size"] = int(args.image_size)
        if options["method"] == "fast":
            options["strength"] = float(getattr(args, "strength", 1.0))
    else:
        raise InputError(f"--broker batches stylize, instant and photo, not {mode}")
    return options, inputs


@dataclass
class Batch:
    """Photos → jobs → files in ``out``, remembering submitted jobs in ``out/.styleforge-jobs.json``."""

    store: JobStore
    app: Any
    mode: str
    options: dict[str, Any]
    shared: dict[str, bytes]
    out: Path
    owner: str = field(default_factory=lambda: f"cli:{getpass.getuser()}@{socket.gethostname()}")

    @property
    def state_path(self) -> Path:
        return self.out / STATE_FILE

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.state_path.read_text())
            return {str(k): str(v) for k, v in data.get("jobs", {}).items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def _save(self, jobs: dict[str, str]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"mode": self.mode, "jobs": jobs}, indent=1))
        os.replace(tmp, self.state_path)

    def targets(self, photos: Sequence[Path]) -> list[tuple[Path, Path]]:
        seen: dict[str, Path] = {}
        out = []
        for p in photos:
            target = self.out / f"{p.stem}.png"
            if target.name in seen:
                raise InputError(f"{p} and {seen[target.name]} would both be written to {target}")
            seen[target.name] = p
            out.append((p, target))
        return out

    def run(self, photos: Sequence[Path], *, poll_s: float = 0.5, progress: bool = True) -> tuple[int, int]:
        """Submit what is missing, collect everything; returns (written, failed)."""
        from tqdm import tqdm

        from .tasks import enqueue

        self.out.mkdir(parents=True, exist_ok=True)
        pairs = self.targets(photos)
        jobs = self._load()
        pending: dict[str, Path] = {}
        skipped = 0
        for photo, target in pairs:
            if target.exists():
                skipped += 1
                continue
            old = jobs.get(target.name)
            if old:
                job = self.store.get(old)
                if job is not None and job.state in ("queued", "running", "done") and job.owner == self.owner:
                    pending[old] = target
                    continue
            data = photo.read_bytes()
            if len(data) > self.store.config.max_upload_bytes:
                limit = self.store.config.max_upload_bytes
                raise InputError(f"{photo} is larger than the queue's limit ({limit} bytes)")
            job_id = new_job_id()
            cls = job_class(self.mode, self.options)
            self.store.create(job_id, self.owner, self.mode, cls, self.options, {"content": data, **self.shared})
            enqueue(self.app, self.store.config, job_id, cls)
            jobs[target.name] = job_id
            self._save(jobs)
            pending[job_id] = target
        written = failed = 0
        bar = tqdm(total=len(pairs), initial=skipped, unit="photo", disable=not progress, desc=self.mode)
        try:
            while pending:
                for job_id, target in list(pending.items()):
                    job = self.store.get(job_id)
                    if job is None or job.state in ("failed", "cancelled"):
                        why = "expired" if job is None else (job.error or job.state)
                        print(f"styleforge: {target.name}: {why}", file=sys.stderr)
                        failed += 1
                    elif job.state == "done":
                        result = self.store.result(job_id)
                        if result is None:
                            print(f"styleforge: {target.name}: the result expired", file=sys.stderr)
                            failed += 1
                        else:
                            _write(target, result)
                            written += 1
                    else:
                        continue
                    del pending[job_id]
                    jobs.pop(target.name, None)
                    bar.update(1)
                if pending:
                    time.sleep(poll_s)
        finally:
            bar.close()
            self._save(jobs)
        return written, failed


class RemoteJob:
    """One job on the queue, run like an in-process job of the page (``serve --broker``).

    ``RemoteJob(store, app, owner, mode, options, images)(on_progress=, should_stop=, deadline=)``
    submits the job, reports its progress as ``on_progress(fraction, message, preview)`` (``preview``:
    the worker's latest live picture when a new one came, else None), cancels it
    when ``should_stop()`` turns true (raising :class:`.modes.JobStopped`) or the ``deadline``
    (``time.monotonic()``) passes, and returns the result as a PIL image (or, for a result that is not a
    PNG — a video job's MP4 — its bytes; :attr:`media_type` says which).  A failed job raises
    :class:`~styleforge.errors.InputError` with the worker's message.

    After the call, :attr:`meta` holds the job's short texts (the page's ``command`` and ``info``)
    and :attr:`file` its extra output file ``(name, bytes)`` or None.

    Args:
        images: name → PIL image or encoded bytes (``content``, ``style``, ``reference``).
        cls: the job class (default: the mode's, :func:`.config.job_class`); required for ``page`` jobs.
        max_bytes: the largest input (default: the queue's upload limit).
    """

    def __init__(
        self,
        store: JobStore,
        app: Any,
        owner: str,
        mode: str,
        options: dict[str, Any],
        images: dict[str, Any],
        *,
        poll_s: float = 0.2,
        cls: str | None = None,
        max_bytes: int | None = None,
    ) -> None:
        from .modes import PAGE

        self.store, self.app, self.owner, self.mode, self.poll_s = store, app, owner, mode, poll_s
        self.inputs = {k: v if isinstance(v, bytes) else png_bytes(v) for k, v in images.items() if v is not None}
        self.options = options if mode == PAGE else check(mode, options, self.inputs)
        self.cls = cls or job_class(mode, self.options)
        self.max_bytes = max_bytes or store.config.max_upload_bytes
        self.job_id: str | None = None
        self.meta: dict[str, str] = {}
        self.file: tuple[str, bytes] | None = None
        self.media_type = "image/png"

    def __call__(self, *, on_progress: Any = None, should_stop: Any = None, deadline: float | None = None) -> Any:
        from PIL import Image

        from .modes import JobStopped
        from .tasks import enqueue

        config = self.store.config
        for name, data in self.inputs.items():
            if len(data) > self.max_bytes:
                raise InputError(f"the {name} image is too large for the queue ({self.max_bytes} bytes)")
        job_id = self.job_id = new_job_id()
        cls = self.cls
        self.store.create(job_id, self.owner, self.mode, cls, self.options, self.inputs)
        enqueue(self.app, config, job_id, cls)
        last = (-1.0, "")
        previews = 0
        while True:
            job = self.store.get(job_id)
            if job is None:
                raise InputError("the job expired before it finished")
            if job.state == "done":
                result = self.store.result(job_id)
                if result is None:
                    raise InputError("the result expired before it was collected")
                self.meta, self.file = self.store.meta(job_id), self.store.result_file(job_id)
                self.media_type = self.meta.pop("media_type", "image/png")
                if self.media_type != "image/png":
                    return result
                img = Image.open(io.BytesIO(result))
                img.load()
                return img
            if job.state == "failed":
                raise InputError(job.error or "the job failed")
            if job.state == "cancelled":
                raise JobStopped("cancelled")
            if (should_stop is not None and should_stop()) or (deadline is not None and time.monotonic() > deadline):
                self.store.cancel(job_id)
                raise JobStopped("cancelled" if deadline is None or time.monotonic() <= deadline else "timed out")
            now = (job.progress, job.message if job.state == "running" else f"waiting for a worker ({job.state})")
            preview = None
            if on_progress is not None and job.previews != previews:
                previews = job.previews
                preview = _image(self.store.preview(job_id))
            if on_progress is not None and (now != last or preview is not None):
                on_progress(job.progress, now[1], preview)
                last = now
            time.sleep(self.poll_s)


def _image(data: bytes | None) -> Any:
    """A live picture's bytes → PIL image (None when missing or unreadable)."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        return None
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
        return img.convert("RGB")
    except (UnidentifiedImageError, OSError):
        return None


def _write(target: Path, png: bytes) -> None:
    tmp = target.with_name(f".{target.name}.part")
    tmp.write_bytes(png)
    os.replace(tmp, target)


def run_cli(mode: str, args: Any) -> int:
    """The ``--broker`` path of ``stylize`` (artistic; instant with ``--instant``), ``instant`` and ``photo``."""
    from .tasks import make_app

    config = ServiceConfig.from_env(args.broker)
    content = args.content if isinstance(args.content, list) else [args.content]
    photos = collect_inputs(content)
    out = Path(args.output).expanduser()
    if out.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError("with --broker, -o is an output folder (results are written as NAME.png inside)")
    options, shared = options_from_args(mode, args)
    options = check(mode, options, {"content": b"", **shared})
    store = JobStore(config)
    store.ping()
    batch = Batch(store, make_app(config), mode, options, shared, out)
    written, failed = batch.run(photos, progress=not getattr(args, "quiet", False))
    print(f"styleforge: {written} written to {out}" + (f", {failed} failed" if failed else ""), file=sys.stderr)
    return 1 if failed else 0
