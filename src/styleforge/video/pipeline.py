"""The video pipeline: frames → consistent stylised frames → a file that survives a kill.

:func:`stylize_frames` works on any iterable of frames (a webcam, a test's arrays);
:func:`stylize_video` on a file; :func:`render_video` writes the result: frames go to a
fragmented ``OUT.partial.mp4`` beside ``OUT`` (flushed after every frame, playable at any
time), with ``OUT.partial.json`` saying how it was made; at the end it is remuxed with the
input's audio into ``OUT`` and both are removed.  ``resume=True`` re-encodes the frames of
the partial file (no stylisation), seeds the temporal state from its last frame and
continues with the next one.
"""

from __future__ import annotations

__all__ = ["RenderResult", "VideoOptions", "partial_paths", "render_video", "stylize_frames", "stylize_video"]

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .container import FrameWriter, check_video_output, finalize, frame_size, probe, read_frames
from .stylizers import Stylizer, make_stylizer
from .temporal import TemporalBlender

log = logging.getLogger("styleforge")


@dataclass(frozen=True)
class VideoOptions:
    """How a clip is read and made consistent (the mode's own options live in its stylizer)."""

    size: int | None = None  # long side of the output; None: the input's
    start: float = 0.0  # seconds
    duration: float | None = None  # seconds; None: to the end
    every: int = 1  # stylise every N-th frame (the output keeps the duration at fps / N)
    consistency: float = 0.5  # blending strength k; 0 = per-frame
    flow_size: int | None = 640  # long side at which the optical flow is computed
    flow_preset: str = "fast"  # DIS preset: ultrafast, fast, medium

    def validate(self) -> None:
        if self.size is not None and not 16 <= self.size <= 4096:
            raise InputError(f"--size must be between 16 and 4096 pixels, got {self.size}")
        if self.start < 0:
            raise InputError(f"--start must be ≥ 0, got {self.start}")
        if self.duration is not None and self.duration <= 0:
            raise InputError(f"--duration must be > 0, got {self.duration}")
        if self.every < 1:
            raise InputError(f"--every must be ≥ 1, got {self.every}")
        if not 0 <= self.consistency < 1:
            raise InputError(f"--consistency must be in [0, 1), got {self.consistency}")
        if self.flow_preset not in ("ultrafast", "fast", "medium"):
            raise InputError(f"unknown flow preset {self.flow_preset!r}")


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def stylize_frames(frames: Iterable[np.ndarray], stylizer: Stylizer, options: VideoOptions = VideoOptions(), *,
                   blender: TemporalBlender | None = None) -> Iterator[np.ndarray]:
    """Stylise ``(H, W, 3)`` uint8 RGB frames one by one → ``(H, W, 3)`` uint8 RGB frames."""
    options.validate()
    if blender is None:
        blender = TemporalBlender(options.consistency, flow_size=options.flow_size, preset=options.flow_preset,
                                  needs_hint=stylizer.uses_hint)
    for frame in frames:
        yield _to_uint8(blender(frame, stylizer))


def stylize_video(
    video: str | os.PathLike[str],
    stylizer: Stylizer | None = None,
    options: VideoOptions = VideoOptions(),
    **mode: Any,
) -> Iterator[np.ndarray]:
    """Stylise a video file frame by frame (a generator of ``(H, W, 3)`` uint8 RGB arrays).

    ``mode``: exactly one of ``instant=``, ``style=``, ``look=``, ``photo_style=``,
    ``checkpoint=`` (plus that mode's options), unless a ``stylizer`` is given.

    Example:
        >>> from styleforge.video import stylize_video
        >>> for frame in stylize_video("clip.mp4", instant="starry_night"):  # doctest: +SKIP
        ...     show(frame)
    """
    options.validate()
    info = probe(video)
    if stylizer is None:
        stylizer = make_stylizer(**mode)
    size = frame_size(info.width, info.height, options.size)
    frames = read_frames(video, size=size, start=options.start, duration=options.duration, every=options.every)
    return stylize_frames(frames, stylizer, options)


def partial_paths(output: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(OUT.partial.mp4, OUT.partial.json)`` beside ``output``."""
    out = Path(output)
    return out.with_name(out.stem + ".partial.mp4"), out.with_name(out.stem + ".partial.json")


@dataclass
class RenderResult:
    output: Path
    frames: int
    seconds: float
    resumed_from: int = 0
    interrupted: bool = False
    fps_out: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        done = self.frames - self.resumed_from
        return done / self.seconds if self.seconds > 0 else 0.0


def _recipe(video: Path, stylizer: Stylizer, options: VideoOptions, size: tuple[int, int], codec: str) -> dict[str, Any]:
    st = video.stat()
    return {"input": str(video.resolve()), "input_size": st.st_size, "input_mtime": int(st.st_mtime),
            "mode": stylizer.name, "frame_size": list(size), "codec": codec,
            "options": {k: v for k, v in asdict(options).items() if k not in ("flow_size", "flow_preset")}}


def _resume_partial(partial: Path, recipe_path: Path, recipe: dict[str, Any], writer: FrameWriter) -> np.ndarray | None:
    """Copy the decodable frames of ``partial`` into ``writer``; the last one, or ``None``."""
    try:
        old = json.loads(recipe_path.read_text())
    except (OSError, json.JSONDecodeError):
        raise InputError(f"cannot resume: {recipe_path} is missing or unreadable; delete {partial} to start over") from None
    diff = [k for k in recipe if old.get(k) != recipe[k]]
    if diff:
        raise InputError(f"cannot resume {partial}: it was made with other settings ({', '.join(diff)}); "
                         f"use the same options or delete it to start over")
    last = None
    for frame in read_frames(partial, tolerant=True):
        writer.write(frame)
        last = frame
    return last


def render_video(
    video: str | os.PathLike[str],
    output: str | os.PathLike[str],
    stylizer: Stylizer | Callable[[], Stylizer],
    options: VideoOptions = VideoOptions(),
    *,
    codec: str = "auto",
    crf: int = 18,
    resume: bool = False,
    audio: bool = True,
    progress: bool = False,
    on_frame: Callable[[int, int, np.ndarray], None] | None = None,
    max_seconds: float | None = None,
) -> RenderResult:
    """Stylise ``video`` into ``output`` (see the module docstring).

    ``stylizer`` may be a factory, called only after every input has been checked.
    ``on_frame(done, total, frame)`` is called after each written frame (raise to stop:
    the partial file stays, playable and resumable).  ``max_seconds`` refuses longer clips.
    """
    options.validate()
    src = Path(video)
    info = probe(src)
    out = check_video_output(output)
    if src.resolve() == out.resolve():
        raise InputError(f"the output {out} would overwrite the input")
    clip = max(0.0, info.duration - options.start) if info.duration else 0.0
    if options.duration is not None:
        clip = min(clip, options.duration) if clip else options.duration
    if info.duration and options.start >= info.duration:
        raise InputError(f"--start {options.start:g} s is beyond the end of {src} ({info.duration:.2f} s)")
    if max_seconds is not None and clip > max_seconds:
        raise InputError(f"the clip is {clip:.1f} s long; the limit is {max_seconds:g} s (use --start/--duration)")
    size = frame_size(info.width, info.height, options.size)
    fps_out = info.fps / options.every
    total = max(1, round(clip * float(info.fps) / options.every)) if clip else 0
    frames = read_frames(src, size=size, start=options.start, duration=options.duration, every=options.every)
    try:
        first = next(frames)
    except StopIteration:
        raise InputError(f"{src} has no video frames" + (f" after {options.start:g} s" if options.start else "")) from None
    partial, recipe_path = partial_paths(out)
    if partial.exists() and not resume:
        raise InputError(f"{partial} exists from an interrupted run: add --resume to continue it, or delete it")
    if resume and not partial.exists():
        raise InputError(f"nothing to resume: {partial} does not exist")
    if callable(stylizer) and not hasattr(stylizer, "uses_hint"):
        stylizer = stylizer()
    from .container import pick_codec

    codec_name = pick_codec(codec)
    recipe = _recipe(src, stylizer, options, size, codec_name)  # type: ignore[arg-type]
    blender = TemporalBlender(options.consistency, flow_size=options.flow_size, preset=options.flow_preset,
                              needs_hint=stylizer.uses_hint)  # type: ignore[union-attr]
    t0 = time.perf_counter()
    done = 0
    work = partial.with_name(partial.stem + ".new.mp4") if resume else partial
    writer = FrameWriter(work, size[0], size[1], fps_out, codec=codec_name, crf=crf)
    result = RenderResult(out, 0, 0.0, fps_out=float(fps_out))
    bar = None
    try:
        if resume:
            last = _resume_partial(partial, recipe_path, recipe, writer)
            done = result.resumed_from = writer.count
            if last is not None:
                prev_in = None
                for i, frame in enumerate(read_frames(src, size=size, start=options.start, duration=options.duration,
                                                      every=options.every)):
                    if i == done - 1:
                        prev_in = frame
                        break
                if prev_in is not None:
                    blender.seed(prev_in, last)
            os.replace(work, partial)  # the re-encoded copy holds everything so far
            writer.path = partial
            frames = read_frames(src, size=size, start=options.start, duration=options.duration,
                                 every=options.every, skip=done)
            log.info("resuming %s after %d frames", partial, done)
        else:
            recipe_path.write_text(json.dumps(recipe, indent=1))
            frames = _chain(first, frames)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total or None, initial=done, unit="frame", dynamic_ncols=True, desc=out.name)
        for frame in frames:
            img = _to_uint8(blender(frame, stylizer))  # type: ignore[arg-type]
            writer.write(img)
            done += 1
            if bar is not None:
                bar.update(1)
            if on_frame is not None:
                on_frame(done, total, img)
    except BaseException:
        result.interrupted = True
        writer.close()
        if work != partial and work.exists():
            work.unlink()
        if writer.count == 0 and not resume:  # nothing worth keeping
            partial.unlink(missing_ok=True)
            recipe_path.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
        result.seconds = time.perf_counter() - t0
        result.frames = done
    writer.close()
    finalize(partial, out, audio_from=src if audio and info.has_audio else None, start=options.start,
             duration=done / float(fps_out))
    partial.unlink(missing_ok=True)
    recipe_path.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - t0
    return result


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest
