"""Reading and writing video files with PyAV (FFmpeg's libraries, bundled in PyAV's wheels).

* :func:`probe` checks a file up front (one :class:`~styleforge.errors.InputError` line for a
  missing file, a non-video, an image, a file without a video stream or without frames);
* :func:`read_frames` decodes RGB frames with ``start`` / ``duration`` / ``every`` and a size,
  turned upright as a player shows them (a phone's portrait clip stores landscape pictures and a
  rotation in its display matrix; the output is written upright, with none);
* :class:`FrameWriter` encodes to a *fragmented* MP4 that is flushed after every frame, so
  a killed run leaves a playable file (all frames but the one being written);
* :func:`finalize` remuxes that file with the input's audio into the final container,
  atomically (:func:`styleforge.io.atomic_path`).

PyAV's wheels bundle FFmpeg built with the GPL libx264: H.264 is the default codec, with
``openh264`` (BSD) or MPEG-4 part 2 as fallbacks (:func:`pick_codec`).
"""

from __future__ import annotations

__all__ = [
    "CODECS",
    "FrameWriter",
    "check_complete",
    "keyframe_packets",
    "VideoInfo",
    "check_video_output",
    "clock_rate",
    "audio_plan",
    "finalize",
    "frame_size",
    "pick_codec",
    "probe",
    "read_comment",
    "read_frames",
]

import heapq
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import InputError
from .defaults import CHECKPOINT, GOP
from .hdr import HLG, is_hdr, to_sdr

log = logging.getLogger("styleforge")

#: ``--codec`` values: ``auto`` = libx264, else openh264, else MPEG-4.
CODECS = ("auto", "h264", "openh264", "mpeg4")
#: Containers the final output may use.
OUTPUT_EXTENSIONS = (".mp4", ".mkv", ".mov", ".m4v", ".gif")
_IMAGE_FORMATS = (
    "image2",
    "png_pipe",
    "jpeg_pipe",
    "bmp_pipe",
    "webp_pipe",
    "tiff_pipe",
    "gif",
    "apng",
    "ppm_pipe",
    "pgm_pipe",
    "svg_pipe",
    "qoi_pipe",
    "j2k_pipe",
    "jpegxl_pipe",
)
#: FFmpeg's AVColorSpace / primaries / transfer value for BT.709, "unspecified", and the limited (MPEG) range.
_BT709, _UNSPECIFIED, _LIMITED = 1, 2, 1
_FRAGMENTED = "frag_keyframe+empty_moov+default_base_moof+frag_every_frame"


def _av() -> Any:
    try:
        import av
    except ImportError:  # pragma: no cover - the extra is missing
        raise InputError("video needs PyAV: pip install 'styleforge[video]' (or pip install av)") from None
    # FFmpeg's log stays off (PyAV's default): our own one-line errors say what went wrong. A level
    # (even FATAL) routes FFmpeg's decoder threads through a Python callback that takes the GIL, and
    # closing a frame-threaded decoder mid-stream then deadlocks (PyAV issues 751/909).
    if av.logging.get_level() is not None:
        av.logging.set_level(None)
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found in a video file."""

    path: Path
    width: int
    height: int
    fps: Fraction
    duration: float  # seconds (0 when the container does not say)
    frames: int  # estimate (stream header, else duration · fps)
    has_audio: bool
    codec: str
    #: quarter turns (counter-clockwise, ``np.rot90``'s ``k``) that make the stored pictures upright;
    #: ``width`` × ``height`` are the upright size
    turns: int = 0


def upright_turns(frame: Any) -> int:
    """Quarter turns (``np.rot90``'s ``k``) that show a decoded frame as players do: its display
    matrix's rotation (FFmpeg's counter-clockwise degrees; a phone's portrait clip says -90)."""
    return round(float(getattr(frame, "rotation", 0) or 0) / 90) % 4


def _first_frame_turns(c: Any, vs: Any) -> int:
    """:func:`upright_turns` of the first frame (0 when none decodes: later checks say why)."""
    av = _av()
    try:
        for frame in c.decode(vs):
            return upright_turns(frame)
    except (av.FFmpegError, ValueError):
        pass
    return 0


def clock_rate(vs: Any) -> Fraction:
    """The constant frame rate a video stream is read at (:func:`read_frames`) and written with.

    A constant-rate clip's own.  A phone's clip often varies (it slows down in dim light, drops
    frames): its average rate would play the fast parts slow and the slow parts fast, and the
    sound would drift away from the pictures; the clip's full rate (FFmpeg's guess, when it is at
    most twice the average) with each frame held until the next, as a player shows it, keeps both in time.
    """
    avg, guess = vs.average_rate, vs.guessed_rate
    fps = Fraction(avg or guess or 25)
    if avg and guess and avg < guess <= 2 * avg:
        fps = Fraction(guess)
    return fps if 0 < fps <= 1000 else Fraction(25)


def probe(path: str | os.PathLike[str], *, what: str = "input") -> VideoInfo:
    """Open ``path`` and describe its first video stream, or raise one :class:`InputError` line."""
    av = _av()
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputError(f"{what} is a folder, not a video: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"{what} {p} is an empty file, not a video")
    try:
        c = av.open(str(p))
    except av.error.EOFError:
        raise InputError(f"{what} {p} holds no video frames (zero-length clip)") from None
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{what} {p} is not a video ({getattr(e, 'strerror', None) or e})") from None
    with c:
        if (c.format.name in _IMAGE_FORMATS or c.format.name.startswith("image2")) and not _animated(p):
            raise InputError(f"{what} {p} is an image, not a video (use styleforge stylize or instant)")
        if not c.streams.video:
            raise InputError(f"{what} {p} has no video stream (or only an empty one)")
        vs = c.streams.video[0]
        if not vs.codec_context.width or not vs.codec_context.height:
            raise InputError(f"{what} {p} has a video stream without a frame size")
        fps = clock_rate(vs)
        if vs.duration is not None and vs.time_base is not None:
            duration = float(vs.duration * vs.time_base)
        elif c.duration is not None:
            duration = c.duration / 1e6
        else:
            duration = 0.0
        frames = int(vs.frames or round(duration * fps))
        if vs.average_rate is not None and fps != vs.average_rate:  # a variable rate: count the clock's ticks
            frames = _ticks(p, float(fps), float(vs.start_time * vs.time_base) if vs.start_time else 0.0) or frames
            duration = frames / float(fps)
        width, height = vs.codec_context.width, vs.codec_context.height
        codec, has_audio = vs.codec_context.name, bool(c.streams.audio)
        turns = _first_frame_turns(c, vs)
        if turns % 2:
            width, height = height, width
        return VideoInfo(p, width, height, fps, duration, frames, has_audio, codec, turns)


#: Image formats whose files can hold an animation (FFmpeg reads their frames as a clip's).
_ANIMATED_FORMATS = ("gif", "apng")


def _animated(path: Path) -> bool:
    """Whether an image file FFmpeg reads as an animation (a GIF, an APNG) holds more than one frame."""
    av = _av()
    try:
        with av.open(str(path)) as c:
            if c.format.name not in _ANIMATED_FORMATS or not c.streams.video:
                return False
            n = 0
            for pkt in c.demux(c.streams.video[0]):
                n += bool(pkt.size)
                if n > 1:
                    return True
    except av.FFmpegError:
        pass
    return False


def _ticks(path: Path, fps: float, start: float) -> int:
    """How many frames :func:`read_frames` gives of a variable-rate clip: the ticks of its clock
    up to its last frame's (the packets' times; nothing decoded), or 0 when none has a time."""
    av = _av()
    times = []
    try:
        with av.open(str(path)) as c:
            vs = c.streams.video[0]
            for pkt in c.demux(vs):
                if pkt.pts is not None and pkt.size:
                    times.append(float(pkt.pts * vs.time_base))
    except av.FFmpegError:
        pass  # a damaged tail: the ticks up to it
    return round((max(times) - min(start, *times)) * fps) + 1 if times else 0


def frame_size(width: int, height: int, size: int | None) -> tuple[int, int]:
    """``(w, h)`` with the long side ``size`` (default: unchanged), both even (yuv420p)."""
    if size is not None:
        k = size / max(width, height)
        width, height = max(2, round(width * k)), max(2, round(height * k))
    return max(2, width - width % 2), max(2, height - height % 2)


def _resized(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    interp = cv2.INTER_AREA if size[0] < rgb.shape[1] else cv2.INTER_CUBIC
    return cv2.resize(rgb, size, interpolation=interp)


def read_frames(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] | None = None,
    start: float = 0.0,
    duration: float | None = None,
    every: int = 1,
    skip: int = 0,
    tolerant: bool = False,
    threaded: bool = True,
) -> Iterator[np.ndarray]:
    """Decoded ``(H, W, 3)`` uint8 RGB frames, upright (:func:`upright_turns`), resized to ``size`` ``(w, h)``.

    Frames before ``start`` seconds and from ``start + duration`` on are dropped, then only
    every ``every``-th frame is kept and the first ``skip`` kept frames are decoded but not
    returned (``--resume``).  ``tolerant``: a decoding error ends the stream quietly (a
    truncated file) instead of raising :class:`InputError`.
    """
    av = _av()
    if every < 1:
        raise InputError(f"--every must be ≥ 1, got {every}")
    try:
        c = av.open(str(path))
    except av.FFmpegError as e:
        raise InputError(f"{path} is not a video ({getattr(e, 'strerror', None) or e})") from None
    with c:
        vs = c.streams.video[0]
        if threaded:  # (a seek into a frame-threaded decoder can hang: one-frame reads go without)
            vs.thread_type = "AUTO"
        fps = float(clock_rate(vs))
        eps = 0.5 / fps
        if start > 0:
            try:
                c.seek(int(start / vs.time_base) + int(vs.start_time or 0), stream=vs, backward=True)
            except av.FFmpegError:
                pass  # decode from the beginning instead
        t0 = float((vs.start_time or 0) * vs.time_base) if vs.time_base is not None else 0.0
        n = kept = 0
        for frame, t in _on_the_clock(_deinterlaced(c.decode(vs), vs), fps, t0, path, tolerant):
            if t < start - eps:
                continue
            if duration is not None and t >= start + duration - eps:
                return
            n += 1
            if (n - 1) % every:
                continue
            kept += 1
            if kept <= skip:
                continue
            turns = upright_turns(frame)
            if kept == skip + 1 and is_hdr(frame.color_trc) and str(path) not in _SAID_HDR:
                _SAID_HDR.add(str(path))  # once per clip and process (a command reads a clip several times)
                kind = "HLG" if frame.color_trc == HLG else "PQ"
                log.info("%s is HDR (%s): mapped to SDR as players show it", path, kind)
            rgb = _rgb(frame, size if size is None or turns % 2 == 0 else (size[1], size[0]))
            if turns:
                rgb = np.ascontiguousarray(np.rot90(rgb, turns))
            yield _resized(rgb, size) if size is not None else rgb


_SAID_HDR: set[str] = set()


def _rgb(frame: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as ``(H, W, 3)`` uint8 RGB with the colour matrix its stream says, and where it
    says none, the one players assume: BT.709 from 720 lines up (HD), else BT.601 (FFmpeg's default).
    An HDR frame (HLG, PQ) is mapped to the SDR picture a player shows for it (:func:`.hdr.to_sdr`),
    resized to ``size`` ``(w, h)`` first (a fifth of the work for 1080p read at 854×480)."""
    if is_hdr(frame.color_trc):
        rgb16 = np.asarray(frame.to_ndarray(format="rgb48le"))
        return to_sdr(_resized(rgb16, size) if size is not None else rgb16, int(frame.color_trc))
    if frame.colorspace == _UNSPECIFIED and min(frame.width, frame.height) >= 720 and frame.format.name != "rgb24":
        return np.asarray(frame.reformat(format="rgb24", src_colorspace=_BT709).to_ndarray())
    return np.asarray(frame.to_ndarray(format="rgb24"))


def _deinterlaced(frames: Iterator[Any], vs: Any) -> Iterator[Any]:
    """Decoded frames; an interlaced clip's (a camcorder's 1080i, broadcast) deinterlaced as players
    do it (FFmpeg's yadif, one frame out per frame in, on the frames flagged interlaced), so its two
    fields' combs are not painted as strokes.  A clip whose first frame is progressive passes as it is."""
    av = _av()
    graph = None
    for frame in frames:
        if graph is None:
            if not frame.interlaced_frame:
                yield frame
                yield from frames
                return
            graph = av.filter.Graph()
            chain = [
                graph.add_buffer(template=vs),
                graph.add("yadif", "mode=send_frame:parity=auto:deint=interlaced"),
                graph.add("buffersink"),
            ]
            chain[0].link_to(chain[1])
            chain[1].link_to(chain[2])
            graph.configure()
        graph.push(frame)
        yield from _pulled(graph)
    if graph is not None:
        graph.push(None)
        yield from _pulled(graph)


def _pulled(graph: Any) -> Iterator[Any]:
    """The frames a filter graph has ready."""
    av = _av()
    while True:
        try:
            yield graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def _on_the_clock(
    frames: Iterator[Any], fps: float, t0: float, path: str | os.PathLike[str], tolerant: bool
) -> Iterator[tuple[Any, float]]:
    """Decoded frames on a constant clock → ``(frame, k / fps)`` for every tick ``k``: each frame
    from the tick nearest its time until the next frame's, as a player shows it (a frame is
    repeated where a variable-rate clip slows down, and dropped where two fall on one tick).  A
    constant-rate clip's frames come one per tick, as they are.  ``t0``: the stream's start (a
    first frame before it counts instead: a Matroska stream can say it starts when its audio does)."""
    av = _av()
    prev, last, decoded = None, -1, 0
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except av.FFmpegError as e:
            if tolerant:
                return
            raise InputError(
                f"{path}: decoding failed after {decoded} frames ({getattr(e, 'strerror', None) or e})"
            ) from None
        if decoded == 0 and frame.time is not None:
            t0 = min(t0, frame.time)
        tick = round(((frame.time - t0) if frame.time is not None else decoded / fps) * fps)
        decoded += 1
        if tick <= last:
            continue  # its tick is taken: a faster part of a variable-rate clip
        if prev is not None:
            for k in range(last + 1, tick):  # a slower part: the previous frame stays on screen
                yield prev, k / fps
        yield frame, tick / fps
        prev, last = frame, tick


def codec_available(name: str) -> bool:
    av = _av()
    try:
        av.codec.Codec(name, "w")
        return True
    except (av.FFmpegError, ValueError):
        return False


def pick_codec(codec: str = "auto") -> str:
    """FFmpeg encoder name for ``--codec`` (``auto``: libx264, else libopenh264, else mpeg4)."""
    if codec in ("libx264", "libopenh264") and codec_available(codec):  # already an encoder's name
        return codec
    if codec not in CODECS:
        raise InputError(f"unknown --codec {codec!r}; choose {', '.join(CODECS)}")
    wanted = {
        "auto": ["libx264", "libopenh264", "mpeg4"],
        "h264": ["libx264", "libopenh264"],
        "openh264": ["libopenh264"],
        "mpeg4": ["mpeg4"],
    }[codec]
    for name in wanted:
        if codec_available(name):
            if codec == "auto" and name != "libx264":
                log.info("libx264 is not in this FFmpeg build: encoding with %s", name)
            return name
    if codec in ("h264", "openh264"):
        log.info("no %s encoder in this FFmpeg build: falling back to MPEG-4", codec)
        return "mpeg4"
    raise InputError("this FFmpeg build has no H.264 or MPEG-4 encoder")  # pragma: no cover


def check_video_output(path: str | os.PathLike[str]) -> Path:
    """Refuse up front an output that cannot be written (one line)."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.suffix.lower() not in OUTPUT_EXTENSIONS:
        raise InputError(f"unknown video output format {p.suffix or '(none)'!r} for {p}; use .mp4, .mkv, .mov or .gif")
    if not parent.is_dir():
        raise InputError(f"output folder does not exist: {parent}")
    if p.is_dir():
        raise InputError(f"output path is a folder: {p}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"output folder is not writable: {parent}")
    return p


class FrameWriter:
    """Encode RGB frames into a fragmented MP4 flushed after every frame (playable after a kill).

    ``template``: a video stream of an earlier partial file (``--resume``): the new file's stream
    copies its codec parameters, :meth:`copy` muxes its packets unchanged, and new frames are
    encoded by a fresh encoder with the same settings (its first frame a keyframe).

    Keyframes: one every ``gop`` seconds of video, and the next frame after ``checkpoint`` seconds
    of work without one (``--resume`` cuts at the last keyframe).  Not one a second: every keyframe
    re-codes the whole picture, and the parts that hold still pulse with it.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        fps: Fraction,
        *,
        codec: str = "auto",
        crf: int = 18,
        template: Any = None,
        gop: float = GOP,
        checkpoint: float = CHECKPOINT,
    ) -> None:
        av = _av()
        self.path = Path(path)
        self.checkpoint, self._key_at = checkpoint, time.monotonic()
        self.codec = pick_codec(codec)
        self.fps = Fraction(fps)
        self.count = 0
        self.container = av.open(
            str(self.path), "w", format="mp4", options={"movflags": _FRAGMENTED, "flush_packets": "1"}
        )
        opts: dict[str, str] = {}
        if self.codec == "libx264":
            opts = {"crf": str(crf), "preset": "veryfast", "tune": "zerolatency", "forced-idr": "1"}
        if template is None:
            self.stream = self.container.add_stream(self.codec, rate=self.fps, options=opts)
            cc = self.encoder = self.stream.codec_context
        else:
            self.stream = self.container.add_stream_from_template(template)
            cc = self.encoder = av.CodecContext.create(self.codec, "w")
            cc.framerate = self.fps
            cc.time_base = 1 / self.fps
            cc.options = opts
            cc.flags |= av.codec.context.Flags.global_header
        cc.width, cc.height = width, height
        cc.pix_fmt = "yuv420p"
        # BT.709, said in the stream: untagged, FFmpeg reads BT.601 and players BT.709 (greens 25 levels apart)
        cc.colorspace = cc.color_primaries = cc.color_trc = _BT709
        cc.color_range = _LIMITED
        cc.gop_size = max(1, round(float(self.fps) * gop))  # and one after `checkpoint` s of work: --resume cuts there
        if self.codec != "libx264":  # no CRF: a generous bit rate (≈ 0.15 bit per pixel per frame … ×2)
            cc.bit_rate = int(width * height * float(self.fps) * 0.3)
            cc.max_b_frames = 0

    def _mux(self, packets: Any) -> None:
        for packet in packets:
            if packet.is_keyframe:
                self._key_at = time.monotonic()
            if self.encoder is not self.stream.codec_context:
                if self.codec in ("libx264", "libopenh264"):
                    packet = _length_prefixed(packet)
                packet.stream = self.stream
            self.container.mux(packet)

    def copy(self, packet: Any) -> None:
        """Mux one packet of the template's stream unchanged (a finished frame of ``--resume``)."""
        packet.stream = self.stream
        self.container.mux(packet)
        self.count += 1

    def write(self, rgb: np.ndarray) -> None:
        av = _av()
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
            format="yuv420p", dst_colorspace=_BT709
        )
        frame.pts = self.count
        frame.time_base = 1 / self.fps
        if self.count and time.monotonic() - self._key_at >= self.checkpoint:
            frame.pict_type = av.video.frame.PictureType.I  # a point --resume can cut at
            self._key_at = time.monotonic()
        self._mux(self.encoder.encode(frame))
        self.count += 1

    def close(self) -> None:
        if self.container is None:
            return
        try:
            self._mux(self.encoder.encode(None))
        finally:
            self.container.close()
            self.container = None

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _length_prefixed(packet: Any) -> Any:
    """An H.264 packet in Annex B form (start codes, as a standalone encoder gives it) → MP4's
    length-prefixed form, as the template stream's ``avcC`` expects; parameter sets dropped (the
    template's are the same)."""
    av = _av()
    data = bytes(packet)
    if not (data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")):
        return packet
    import re

    starts = [m.end() for m in re.finditer(b"\x00\x00\x01", data)]
    out = bytearray()
    for i, a in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        nal = data[a:end].rstrip(b"\x00") if i + 1 < len(starts) else data[a:end]
        if nal and (nal[0] & 0x1F) not in (7, 8, 9):  # SPS, PPS, access unit delimiter
            out += len(nal).to_bytes(4, "big") + nal
    new = av.Packet(bytes(out))
    new.pts, new.dts, new.time_base = packet.pts, packet.dts, packet.time_base
    new.is_keyframe = packet.is_keyframe
    return new


def keyframe_packets(path: str | os.PathLike[str]) -> tuple[Any, list[Any]]:
    """(the opened container, the packets of its video stream before its last keyframe), for
    ``--resume``: what a killed run left, cut at a keyframe so every kept frame decodes.  Packets
    of a truncated tail are dropped.  The caller closes the container."""
    av = _av()
    c = av.open(str(path))
    packets: list[Any] = []
    cut = 0
    try:
        vs = c.streams.video[0]
        for pkt in c.demux(vs):
            if pkt.dts is None or pkt.size == 0:
                continue
            if pkt.is_keyframe:
                cut = len(packets)
            packets.append(pkt)
    except (av.FFmpegError, IndexError):
        pass
    return c, packets[:cut]


def _packets(container: Any, stream: Any, start: float, end: float | None) -> Iterator[tuple[float, Any]]:
    """Packets of ``stream`` in ``[start, end)`` seconds, re-timed to start at 0."""
    tb = stream.time_base
    shift = int(start / tb) if start else 0
    for pkt in container.demux(stream):
        if pkt.dts is None:
            continue
        t = float(pkt.pts * tb) if pkt.pts is not None else float(pkt.dts * tb)
        if t < start - 1e-6 or (end is not None and t >= end):
            continue
        if shift:
            pkt.pts = None if pkt.pts is None else pkt.pts - shift
            pkt.dts -= shift
        yield t - start, pkt


#: Audio codecs each output container plays as they are (stream copy); others are encoded to AAC.
_AUDIO_COPY = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac"},
}


def audio_plan(fmt: str, codec: str) -> str:
    """``"copy"`` where the container ``fmt`` (``mp4``, ``mov``, ``matroska``) holds audio ``codec``
    as players expect it, else ``"aac"`` (pure).  MP4 could be made to hold Vorbis, but players
    other than FFmpeg's do not play it; MOV holds PCM; Matroska holds everything."""
    if fmt == "matroska" or codec in _AUDIO_COPY.get(fmt, set()):
        return "copy"
    if fmt == "mov" and codec.startswith("pcm_"):
        return "copy"
    return "aac"


def _aac(ain: Any, astream: Any, out: Any, start: float, end: float | None) -> tuple[Any, Iterator[tuple[float, Any]]]:
    """An AAC stream in ``out`` and its packets: ``astream`` decoded in ``[start, end)`` seconds,
    re-timed to start at 0, and encoded (the source's rate, up to 48 kHz; mono stays mono)."""
    av = _av()
    cc = astream.codec_context
    rate = min(int(cc.sample_rate or 48000), 48000)
    layout = "mono" if cc.channels == 1 else "stereo"
    aout = out.add_stream("aac", rate=rate, layout=layout)
    aout.bit_rate = 96_000 if layout == "mono" else 192_000
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)

    def timed(out: list[Any]) -> Iterator[tuple[float, Any]]:
        return ((float(p.pts) / rate if p.pts is not None else 0.0, p) for p in out)

    def packets() -> Iterator[tuple[float, Any]]:
        n = 0

        def encode(frames: list[Any]) -> Iterator[tuple[float, Any]]:
            nonlocal n
            for f in frames:
                f.pts, f.time_base = n, Fraction(1, rate)
                n += f.samples
                yield from timed(aout.encode(f))

        try:
            for frame in ain.decode(astream):
                t = frame.time
                if t is None or t + frame.samples / frame.sample_rate <= start + 1e-6:
                    continue
                if end is not None and t >= end:
                    break
                yield from encode(resampler.resample(frame))
        except av.FFmpegError:
            pass  # a damaged audio tail: keep what decoded
        yield from encode(resampler.resample(None))
        yield from timed(aout.encode(None))

    return aout, packets()


def finalize(
    video: Path,
    output: Path,
    *,
    audio_from: Path | None = None,
    start: float = 0.0,
    duration: float | None = None,
    comment: str | None = None,
) -> Path:
    """Remux ``video`` (our fragmented file) into ``output`` with the audio of ``audio_from``
    between ``start`` and ``start + duration``; written atomically.  The audio is copied where
    the output's container plays it as it is (:func:`audio_plan`), else encoded to AAC (the PCM
    of a camera's ``.avi`` or ``.mov``, the Vorbis of a ``.webm``)."""
    from ..io import atomic_path

    if output.suffix.lower() == ".gif":
        return _gif(video, output, comment)
    av = _av()
    fmt = {".mkv": "matroska", ".mov": "mov"}.get(output.suffix.lower(), "mp4")
    with atomic_path(output) as tmp:
        with av.open(str(video)) as vin:
            vstream = vin.streams.video[0]
            total = None if vstream.duration is None else float(vstream.duration * vstream.time_base)
            end = None if duration is None else start + duration
            if total is not None:
                end = start + total if end is None else min(end, start + total)
            ain = av.open(str(audio_from)) if audio_from is not None else None
            try:
                astream = ain.streams.audio[0] if ain is not None and ain.streams.audio else None
                opts = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
                with av.open(str(tmp), "w", format=fmt, options=opts) as out:
                    if comment is not None:
                        out.metadata["comment"] = comment
                    vout = out.add_stream_from_template(vstream)
                    sources = [((t, 0, i, pkt) for i, (t, pkt) in enumerate(_packets(vin, vstream, 0.0, None)))]
                    aout = None
                    if astream is not None and ain is not None:
                        if start > 0 and astream.time_base is not None:
                            ain.seek(int(start / astream.time_base), stream=astream, backward=True)
                        if audio_plan(fmt, astream.codec_context.name) == "copy":
                            aout = out.add_stream_from_template(astream)
                            packets = _packets(ain, astream, start, end)
                        else:
                            aout, packets = _aac(ain, astream, out, start, end)
                        sources.append(((t, 1, i, pkt) for i, (t, pkt) in enumerate(packets)))
                    for _t, kind, _i, pkt in heapq.merge(*sources, key=lambda x: (x[0], x[1], x[2])):
                        pkt.stream = vout if kind == 0 else aout
                        out.mux(pkt)
            finally:
                if ain is not None:
                    ain.close()
    return output


#: Frames a GIF's one palette is drawn from (spread over the clip).
_GIF_PALETTE_FRAMES = 8


def _gif(video: Path, output: Path, comment: str | None) -> Path:
    """``video`` (our fragmented file) as a looping GIF, written atomically; a GIF has no sound.

    One 256-colour palette for the whole clip, drawn from frames spread over it, and no dithering:
    a palette or a dither pattern of each frame's own would make areas that hold still flicker.
    Frames are read twice (the palette, then the GIF), never all held at once.
    """
    from PIL import Image

    from ..io import atomic_path

    info = probe(video, what="video")
    step = max(1, info.frames // _GIF_PALETTE_FRAMES)
    picks: list[np.ndarray] = []
    n = 0
    for n, f in enumerate(read_frames(video), 1):
        if (n - 1) % step == 0 and len(picks) < _GIF_PALETTE_FRAMES:
            picks.append(f)
    if not picks:
        raise InputError(f"{video} holds no frames to write as a GIF")
    palette = Image.fromarray(np.concatenate(picks)).quantize(256, method=Image.Quantize.MEDIANCUT)
    frames = (Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in read_frames(video))
    first = next(frames)
    # GIF times are hundredths of a second: each frame ends at its time on the clip's clock, rounded
    ends = [round((i + 1) * 100 / float(info.fps)) * 10 for i in range(n)]
    durations = [max(10, b - a) for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    extra = {"comment": comment.encode()} if comment else {}
    with atomic_path(output) as tmp:
        first.save(tmp, format="GIF", save_all=True, append_images=frames, duration=durations, loop=0, **extra)
    return output


def read_comment(path: str | os.PathLike[str]) -> str | None:
    """The container's ``comment`` tag (``styleforge video`` keeps its recipe there), or ``None``."""
    av = _av()
    try:
        with av.open(str(path)) as c:
            return c.metadata.get("comment")
    except (av.FFmpegError, OSError):
        return None


def check_complete(path: str | os.PathLike[str], *, what: str = "input") -> None:
    """Refuse a truncated file: fewer video packets in it than its header says (demux only, no decoding)."""
    av = _av()
    try:
        with av.open(str(path)) as c:
            vs = c.streams.video[0]
            want = int(vs.frames or 0)
            if not want:
                return  # the container does not say (MKV, WebM, raw streams): decoding will tell
            have = 0
            try:
                for pkt in c.demux(vs):
                    if pkt.size:
                        have += 1
            except av.FFmpegError:
                pass
    except (av.FFmpegError, IndexError):
        return  # probe() has already said what is wrong
    if have < want:
        raise InputError(f"{what} {path} is truncated: it holds {have} of the {want} frames its header lists")
