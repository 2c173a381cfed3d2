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

import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from .container import FrameWriter, check_complete, check_video_output, finalize, frame_size, probe, read_frames
from .defaults import CHECKPOINT, CONSISTENCY, FLOW_SIZE, GOP, HOLD
from .stylizers import Stylizer, make_stylizer
from .temporal import TemporalBlender, is_keyframe, needs_forward

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger("styleforge")


@dataclass(frozen=True)
class VideoOptions:
    """How a clip is read and made consistent (the mode's own options live in its stylizer)."""

    size: int | None = None  # long side of the output; None: the input's
    start: float = 0.0  # seconds
    duration: float | None = None  # seconds; None: to the end
    every: int = 1  # stylise every N-th frame (the output keeps the duration at fps / N)
    consistency: float = CONSISTENCY  # blending strength k; 0 = per-frame
    flow_size: int | None = FLOW_SIZE  # long side at which the optical flow is computed
    flow_preset: str = "fast"  # DIS preset: ultrafast, fast, medium
    hold: float = HOLD  # weight of the previous output where the input stays within the noise (0: plain k)
    frames: tuple[int, int] | None = None  # render kept frames a … b−1 only (a chunk); None: all
    fit_frames: int = 4  # frames drawn across the whole clip to fit a clip-level colour pass
    keyframes: int | None = None  # stylise one frame in N, carry the others along the flow; None: the mode's

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
        if not 0 <= self.hold < 1:
            raise InputError(f"--hold must be in [0, 1), got {self.hold}")
        if self.frames is not None and not 0 <= self.frames[0] < self.frames[1]:
            raise InputError(f"--frames must be A:B with 0 ≤ A < B, got {self.frames[0]}:{self.frames[1]}")
        if not 1 <= self.fit_frames <= 64:
            raise InputError(f"fit_frames must be between 1 and 64, got {self.fit_frames}")
        if self.keyframes is not None and not 1 <= self.keyframes <= 8:
            raise InputError(f"--keyframes must be between 1 and 8, got {self.keyframes}")

    def key_every(self, stylizer: Stylizer) -> int:
        """One frame in how many is stylised: ``keyframes``, else the mode's default (its
        ``keyframes`` attribute: 2 for instant styles; 1 for the rest, and without consistency)."""
        if self.consistency <= 0 or getattr(stylizer, "per_pixel", False):
            return 1
        if self.keyframes is not None:
            if self.keyframes > 1 and stylizer.uses_hint:
                raise InputError(
                    f"--keyframes {self.keyframes}: {stylizer.name} stylises each frame from the previous output; "
                    "use --keyframes 1"
                )
            return self.keyframes
        return 1 if stylizer.uses_hint else int(getattr(stylizer, "keyframes", 1))

    def blender(self, stylizer: Stylizer) -> TemporalBlender:
        """The consistency pass these options ask for."""
        return TemporalBlender(
            self.consistency,
            flow_size=self.flow_size,
            preset=self.flow_preset,
            needs_hint=stylizer.uses_hint,
            keep_detail=not getattr(stylizer, "per_pixel", False),
            hold=self.hold if self.consistency > 0 else 0.0,
        )


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def stylize_frames(
    frames: Iterable[np.ndarray],
    stylizer: Stylizer,
    options: VideoOptions = VideoOptions(),
    *,
    blender: TemporalBlender | None = None,
) -> Iterator[np.ndarray]:
    """Stylise ``(H, W, 3)`` uint8 RGB frames one by one → ``(H, W, 3)`` uint8 RGB frames."""
    options.validate()
    if blender is None:
        blender = options.blender(stylizer)
    every = options.key_every(stylizer)
    flowing = blender.active
    items = ((f, blender.motion(f, both=every > 1) if flowing else None, last) for f, last in _lookahead(frames))
    for out in blender.render(items, stylizer, every):
        yield _to_uint8(out)


def _lookahead(frames: Iterable[Any]) -> Iterator[tuple[Any, bool]]:
    """``(item, is_last)`` pairs."""
    it = iter(frames)
    try:
        cur = next(it)
    except StopIteration:
        return
    for nxt in it:
        yield cur, False
        cur = nxt
    yield cur, True


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


def _recipe(
    video: Path, stylizer: Stylizer, options: VideoOptions, size: tuple[int, int], codec: str, crf: int
) -> dict[str, Any]:
    """Everything that changes the pictures (compared on ``--resume``; kept in the output's comment)."""
    st = video.stat()
    opts = asdict(options)
    opts["frames"] = list(options.frames) if options.frames else None
    recipe = {
        "input": str(video.resolve()),
        "input_size": st.st_size,
        "input_mtime": int(st.st_mtime),
        "mode": stylizer.name,
        "settings": getattr(stylizer, "settings", {}),
        "frame_size": list(size),
        "codec": codec,
        "crf": crf if codec == "libx264" else None,
        "options": opts,
    }
    return json.loads(json.dumps(recipe))  # as it reads back from the file (tuples → lists)


def _read_recipe(recipe_path: Path, partial: Path) -> dict[str, Any]:
    try:
        data = json.loads(recipe_path.read_text())
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (OSError, ValueError):
        raise InputError(
            f"cannot resume: {recipe_path} is missing or unreadable; delete {partial} to start over"
        ) from None


def fit_times(start: float, frames: int, fps: float, k: int, stride: int = 1) -> list[float]:
    """``k`` times spread evenly over a clip of ``frames`` output frames at ``fps`` from ``start`` seconds (the
    whole clip, whatever chunk is rendered: every chunk fits the same clip-level pass), each the time of a
    frame the render stylises (an index that is a multiple of ``stride``, its keyframes), so the network's
    outputs on them serve both the fit and the render."""
    last = (max(frames, 1) - 1) // stride * stride
    return [start + min(last, stride * round((j + 0.5) / k * frames / stride)) / fps for j in range(k)]


def clip_samples(video: Path, size: tuple[int, int], times: list[float]) -> list[np.ndarray]:
    """The frames of ``video`` at ``times`` (seconds; :func:`fit_times`), at ``size``."""
    out: list[np.ndarray] = []
    for t in times:
        frames = read_frames(video, size=size, start=t, tolerant=True, threaded=False)
        assert isinstance(frames, Generator)
        try:
            frame = next(frames, None)
        finally:
            frames.close()  # closes the container now, in this thread (a decoder left to the GC can hang)
        if frame is not None:
            out.append(frame)
    return out


class StylizeAhead:
    """A stylizer that runs ahead, in its own thread, on the frames that will be keyframes.

    A stylizer that does not use the previous output (``uses_hint`` false) is a function of the
    frame alone, so the network can work on the next keyframe while this thread carries and blends
    the frames before it (2 cores: the two overlap instead of taking turns).  ``offer`` each frame
    with its index in the clip as it is read; a keyframe by index (:func:`.temporal.is_keyframe`) is
    submitted.  Called like the stylizer: the result made ahead for that frame, or the stylizer's own
    result (a frame that was not offered, or one that became a keyframe for another reason).
    """

    def __init__(self, st: Stylizer, pool: Any, every: int) -> None:
        self.st, self.pool, self.every = st, pool, max(1, every)
        self.uses_hint = bool(getattr(st, "uses_hint", False))
        self.made: dict[int, tuple[np.ndarray, Future[np.ndarray]]] = {}  # by id; the frame keeps its id its own

    def offer(self, frame: np.ndarray, index: int) -> None:
        if not self.uses_hint and is_keyframe(index, self.every):
            self.made[id(frame)] = (frame, self.pool.submit(self.st, frame, None))

    def __call__(self, frame: np.ndarray, hint: Any) -> np.ndarray:
        got = self.made.pop(id(frame), None)
        return got[1].result() if got is not None else self.st(frame, hint)


def _prefetch(frames: Iterator[np.ndarray], depth: int = 4) -> Iterator[np.ndarray]:
    """Decode in a background thread (``depth`` frames ahead); errors are raised here, in order."""
    import queue
    import threading

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for f in frames:
                if stop.is_set():
                    return
                q.put(("frame", f))
            q.put(("end", None))
        except BaseException as e:  # handed to the consumer
            q.put(("error", e))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # the decoder is closed in this thread, now

    th = threading.Thread(target=work, daemon=True, name="styleforge-decode")
    th.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while th.is_alive():  # unblock the producer
            try:
                q.get_nowait()
            except queue.Empty:
                th.join(0.05)


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
    gop: float = GOP,
    checkpoint: float = CHECKPOINT,
) -> RenderResult:
    """Stylise ``video`` into ``output`` (see the module docstring).

    ``stylizer`` may be a factory, called only after every input has been checked.
    The encoder makes a keyframe every ``gop`` seconds of video, and after ``checkpoint`` seconds
    of work (:class:`~.container.FrameWriter`): ``--resume`` copies what comes before the last one.
    ``on_frame(done, total, frame)`` is called after each written frame (raise to stop:
    the partial file stays, playable and resumable).  ``max_seconds`` refuses longer clips.
    """
    from concurrent.futures import ThreadPoolExecutor

    options.validate()
    src = Path(video)
    info = probe(src)
    check_complete(src)
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
    whole = total  # the clip's output frames (a chunk's are fewer)
    first_kept, last_kept = options.frames if options.frames else (0, None)
    if last_kept is not None and total:
        last_kept = min(last_kept, total)
    if options.frames and total and first_kept >= total:
        raise InputError(f"--frames {first_kept}:{options.frames[1]} starts beyond the clip's {total} frames")
    if options.frames:
        total = (last_kept or total) - first_kept

    def source(skip: int) -> Generator[np.ndarray, None, None]:
        frames = read_frames(
            src, size=size, start=options.start, duration=options.duration, every=options.every, skip=first_kept + skip
        )
        try:
            yield from itertools.islice(frames, None if last_kept is None else max(0, last_kept - first_kept - skip))
        finally:
            frames.close()  # type: ignore[attr-defined]  # the decoder is closed now, not left to the GC

    frames = source(0)
    try:
        first = next(frames)
    except StopIteration:
        raise InputError(
            f"{src} has no video frames"
            + (f" after {options.start:g} s" if options.start else "")
            + (" in that --frames range" if options.frames else "")
        ) from None
    partial, recipe_path = partial_paths(out)
    if partial.exists() and not resume:
        raise InputError(f"{partial} exists from an interrupted run: add --resume to continue it, or delete it")
    if resume and not partial.exists():
        raise InputError(f"nothing to resume: {partial} does not exist")
    old: dict[str, Any] | None = _read_recipe(recipe_path, partial) if resume else None
    if callable(stylizer) and not hasattr(stylizer, "uses_hint"):
        stylizer = stylizer()
    st: Stylizer = stylizer  # type: ignore[assignment]
    from dataclasses import replace

    from .container import keyframe_packets, pick_codec

    every = options.key_every(st)
    options = replace(options, keyframes=every)  # the recipe records what was used

    codec_name = pick_codec(codec)
    recipe = _recipe(src, st, options, size, codec_name, crf)
    enc: dict[str, Any] = {"codec": codec_name, "crf": crf, "gop": gop, "checkpoint": checkpoint}
    if old is not None:
        diff = [k for k in recipe if old.get(k) != recipe[k]]
        if "options" in diff:
            o_old: dict[str, Any] = old["options"] if isinstance(old.get("options"), dict) else {}
            diff[diff.index("options")] = (
                ", ".join(f"--{k.replace('_', '-')}" for k in recipe["options"] if o_old.get(k) != recipe["options"][k])
                or "options"
            )
        if diff:
            raise InputError(
                f"cannot resume {partial}: it was made with other settings ({', '.join(diff)}); "
                f"use the same options or delete it to start over"
            )
    timings = {"fit": 0.0}
    t0 = time.perf_counter()
    # the clip-level colour pass: fitted once on frames drawn across the whole clip, kept with the recipe
    if hasattr(st, "fit_clip"):
        if old is not None and old.get("clip_state") is not None:
            st.set_clip_state(old["clip_state"])  # type: ignore[attr-defined]
        elif getattr(st, "fits_clip", True):
            times = fit_times(options.start, whole, float(fps_out), options.fit_frames, every)
            samples = clip_samples(src, size, times)
            recipe["clip_state"] = st.fit_clip(samples)
        timings["fit"] = time.perf_counter() - t0
    blender = options.blender(st)
    done = 0
    work = partial.with_name(partial.stem + ".new.mp4") if resume else partial
    result = RenderResult(out, 0, 0.0, fps_out=float(fps_out), timings=timings)
    bar = None
    writer: FrameWriter | None = None
    copied_from = None
    try:
        if resume:
            copied_from, packets = keyframe_packets(partial)
            writer = FrameWriter(work, size[0], size[1], fps_out, template=copied_from.streams.video[0], **enc)
            for pkt in packets:
                writer.copy(pkt)
            copied_from.close()
            copied_from = None
            done = result.resumed_from = writer.count
            if done:
                last, prev_in = _nth(read_frames(partial, tolerant=True), done - 1), _nth(source(0), done - 1)
                if last is not None and prev_in is not None:
                    blender.seed(prev_in, last)
            if writer.count:
                os.replace(work, partial)  # the copy holds everything kept so far
                writer.path = partial
            else:  # nothing before the first keyframe survived: start the file again
                writer.close()
                work.unlink(missing_ok=True)
                writer = FrameWriter(partial, size[0], size[1], fps_out, **enc)
            work = partial
            recipe["clip_state"] = old.get("clip_state") if old is not None else None
            frames.close()
            frames = source(done)
            log.info("resuming %s after %d frames (copied)", partial, done)
        else:
            tmp = recipe_path.with_name(recipe_path.name + ".tmp")
            tmp.write_text(json.dumps(recipe, indent=1))
            os.replace(tmp, recipe_path)
            writer = FrameWriter(work, size[0], size[1], fps_out, **enc)
            frames = _chain(first, frames)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total or None, initial=done, unit="frame", dynamic_ncols=True, desc=out.name)
        flowing = blender.active

        def motion_of(frame: np.ndarray, index: int) -> Any:
            return blender.motion(frame, both=every > 1, forward=needs_forward(index, every)) if flowing else None

        with (
            ThreadPoolExecutor(1, thread_name_prefix="styleforge-flow") as flow_pool,
            ThreadPoolExecutor(1, thread_name_prefix="styleforge-style") as style_pool,
            ThreadPoolExecutor(1, thread_name_prefix="styleforge-encode") as enc_pool,
        ):
            it = _prefetch(frames)
            ahead_st = StylizeAhead(st, style_pool, every)
            index = itertools.count(first_kept + done)  # each frame's index in the clip (keyframes)

            def submit(f: np.ndarray) -> tuple[np.ndarray, Future[Any]]:
                i = next(index)
                ahead_st.offer(f, i)
                return f, flow_pool.submit(motion_of, f, i)

            def items() -> Iterator[tuple[np.ndarray, Any, bool]]:
                """(frame, its motion, last?): the flow (and the keyframes' stylisation) run two frames
                ahead, in their own threads."""
                ahead = [submit(f) for f in itertools.islice(it, 2)]
                while ahead:
                    frame, fut = ahead.pop(0)
                    nxt = next(it, None)
                    if nxt is not None:
                        ahead.append(submit(nxt))
                    yield frame, fut.result(), not ahead

            writes: list[Future[Any]] = []
            for out_f in blender.render(items(), ahead_st, every, start=first_kept + done):
                img = _to_uint8(out_f)
                while len(writes) >= 2:
                    writes.pop(0).result()
                writes.append(enc_pool.submit(writer.write, img))
                done += 1
                if bar is not None:
                    bar.update(1)
                if on_frame is not None:
                    on_frame(done, total, img)
            for w in writes:
                w.result()
    except BaseException:
        result.interrupted = True
        if copied_from is not None:
            copied_from.close()
        if writer is not None:
            writer.close()
        if work != partial and work.exists():
            work.unlink()
        if (writer is None or writer.count == 0) and not resume:  # nothing worth keeping
            partial.unlink(missing_ok=True)
            recipe_path.unlink(missing_ok=True)
        raise
    finally:
        if bar is not None:
            bar.close()
        result.seconds = time.perf_counter() - t0
        result.frames = done
    writer.close()
    audio_start = options.start + first_kept * options.every / float(info.fps)
    finalize(
        partial,
        out,
        audio_from=src if audio and info.has_audio else None,
        start=audio_start,
        duration=writer.count / float(fps_out),
        comment="styleforge:" + json.dumps(recipe, separators=(",", ":")),
    )
    partial.unlink(missing_ok=True)
    recipe_path.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - t0
    return result


def _nth(frames: Iterator[np.ndarray], k: int) -> np.ndarray | None:
    """The ``k``-th frame (or None); the iterator is closed either way."""
    try:
        return next(itertools.islice(frames, k, None), None)
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Generator[np.ndarray, None, None]:
    yield first
    yield from rest
