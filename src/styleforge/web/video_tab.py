"""The Video tab's adapter: a short clip through any fast mode or Gatys (no Gradio in it).

:func:`video_job` stylises a clip (tested directly); :func:`check_clip` checks an upload at
once (a video, frames, length).  The tab itself is :mod:`.tabs.video`.
"""

from __future__ import annotations

__all__ = ["VideoResult", "check_clip", "unavailable", "video_job"]

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..video.defaults import CONSISTENCY
from .limits import JobCancelled, JobTimeout

MODES = ("instant", "photo", "gatys")
#: Gatys on the page: small and few steps (the CLI has every option).
GATYS_SIZE, GATYS_ITERATIONS = 256, 40


def unavailable() -> str | None:
    """Why the tab cannot work here (PyAV missing), else ``None``."""
    import importlib.util

    return None if importlib.util.find_spec("av") else "the Video tab needs PyAV (pip install 'styleforge[video]')"


def check_clip(clip: Path, max_seconds: float, *, label: str = "clip.mp4") -> float:
    """The clip's length in seconds, or one :class:`InputError` in the page's words (not a video,
    no frames, longer than ``max_seconds``)."""
    from ..video.container import probe

    try:
        info = probe(clip, what="clip")
    except InputError:
        raise InputError(f"'{label}' is not a video we can read (use an MP4, WebM or MOV clip)") from None
    if not info.frames and not info.duration:
        raise InputError(f"'{label}' holds no video frames")
    if info.duration and info.duration > max_seconds + 1e-6:
        raise InputError(
            f"'{label}' is {info.duration:.1f} s long; this page takes clips up to {max_seconds:g} s, so trim it first"
        )
    return float(info.duration or 0.0)


@dataclass
class VideoResult:
    image: str  # the output video's path (the first output of the page's job runner)
    command: str
    info: str = ""


def video_job(
    clip: Path,
    out_dir: Path,
    *,
    mode: str,
    style: str | Path,
    size: int = 384,
    consistency: float = CONSISTENCY,
    max_seconds: float = 10.0,
    clip_label: str = "clip.mp4",
    style_label: str | None = None,
    preview_every: float = 1.0,
    on_progress: Callable[[float, str, Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    deadline: float | None = None,
) -> VideoResult:
    """Stylise ``clip`` into ``out_dir`` (one new file); raise :class:`JobCancelled` / :class:`JobTimeout`.

    ``style``: a style's name, or the path of an uploaded style image.
    """
    from ..video.pipeline import VideoOptions, render_video
    from ..video.stylizers import make_stylizer

    style = str(style)
    if mode not in MODES:
        raise InputError(f"unknown video mode {mode!r}; choose {', '.join(MODES)}")
    if not 0 <= consistency < 1:
        raise InputError("consistency must be in [0, 1)")
    if mode == "gatys":
        from ..transfer.config import gatys_config

        size = min(size, GATYS_SIZE)  # the page's choices; every other option is the library's default
        cfg = gatys_config(image_size=size, iterations=GATYS_ITERATIONS, backbone="effnet-lite0", seed=0)
        factory = lambda: make_stylizer(style=[style], cfg=cfg)  # noqa: E731
        flag = f"--style {shlex.quote(style)} --backbone effnet-lite0 --iterations {GATYS_ITERATIONS}"
    elif mode == "instant":
        factory = lambda: make_stylizer(instant=style)  # noqa: E731
        flag = f"--instant {shlex.quote(style)}"
    else:
        factory = lambda: make_stylizer(photo_style=style)  # noqa: E731
        flag = f"--photo-style {shlex.quote(style)}"
    if style_label is not None:  # an uploaded style: the command names the user's file
        flag = flag.replace(shlex.quote(style), shlex.quote(style_label))
    out = out_dir / f"video-{time.strftime('%H%M%S')}-{time.monotonic_ns() % 10**6}.mp4"
    last_preview = [0.0]

    def on_frame(done: int, total: int, frame: Any) -> None:
        if should_stop is not None and should_stop():
            raise JobCancelled()
        if deadline is not None and time.monotonic() > deadline:
            raise JobTimeout()
        if on_progress is not None:
            preview = None
            now = time.monotonic()
            if frame is not None and (now - last_preview[0] >= preview_every or done == total):
                from PIL import Image

                last_preview[0] = now
                preview = Image.fromarray(frame)
            on_progress(done / total if total else 0.0, f"frame {done}/{total or '?'}", preview)

    t0 = time.perf_counter()
    try:
        res = render_video(
            clip,
            out,
            factory,
            VideoOptions(size=size, consistency=consistency),
            on_frame=on_frame,
            max_seconds=max_seconds,
        )
    finally:  # a cancelled job leaves nothing behind on the server
        for p in out_dir.glob(out.stem + ".partial.*"):
            p.unlink(missing_ok=True)
    changed = consistency != CONSISTENCY
    cons = "--no-consistency" if consistency == 0 else (f"--consistency {consistency:g}" if changed else "")
    cmd = " ".join(
        x for x in ("styleforge video", shlex.quote(clip_label), flag, f"--size {size}", cons, "-o out.mp4") if x
    )
    return VideoResult(
        str(out), cmd, f"{res.frames} frames in {time.perf_counter() - t0:.1f} s ({res.frames_per_second:.1f} frames/s)"
    )
