"""Tiny clips made in the test (64×48, a few frames): no video file is shipped."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np


def write_clip(
    path: Path, frames: list[np.ndarray], *, fps: int = 10, audio: bool | str = False, rotation: int = 0
) -> Path:
    """``frames`` encoded to ``path`` (its suffix picks the container); ``audio``: a 440 Hz tone in
    AAC (``True``) or in the codec named (``"pcm_s16le"``: a camera's ``.avi``); ``rotation``: a
    display matrix's rotation (counter-clockwise degrees, as a phone writes -90 for a portrait
    clip stored landscape)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if rotation:
            s.set_display_rotation(rotation)
        s.codec_context.bit_rate = 2_000_000
        a = c.add_stream("aac" if audio is True else audio, rate=8000, layout="mono") if audio else None
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, fps)
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
        if a is not None:
            n = 8000 * len(frames) // fps
            x = (0.2 * np.sin(np.arange(n) / 8000 * 2 * np.pi * 440)).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(x, format="fltp", layout="mono")
            af.sample_rate, af.pts = 8000, 0
            to = av.AudioResampler(format=a.codec_context.format.name, layout="mono", rate=8000)
            for f in [*to.resample(af), *to.resample(None)]:
                for p in a.encode(f):
                    c.mux(p)
            for p in a.encode(None):
                c.mux(p)
    return path


def pan_frames(n: int = 8, size: tuple[int, int] = (64, 48), step: int = 2) -> list[np.ndarray]:
    """A smooth colourful texture panning right by ``step`` pixels per frame."""
    w, h = size
    big_w = w + step * n + 8
    yy, xx = np.mgrid[0:h, 0:big_w].astype(np.float32)
    tex = np.stack(
        [np.sin(xx / 7.0) * 0.4 + 0.5, np.cos(yy / 6.0 + xx / 11.0) * 0.4 + 0.5, np.sin((xx + yy) / 13.0) * 0.3 + 0.5],
        -1,
    )
    tex = (tex * 255).astype(np.uint8)
    return [np.ascontiguousarray(tex[:, i * step : i * step + w]) for i in range(n)]


def count_network_runs(stylizer: Any) -> list[int]:
    """Wrap a torch-free :class:`~styleforge.video.stylizers.InstantStylizer`'s network session; the list
    returned grows by one on each of its runs."""
    runs: list[int] = []
    session = stylizer._lite.session

    class Counting:
        def run(self, *a: Any, **k: Any) -> Any:
            runs.append(1)
            return session.run(*a, **k)

    stylizer._lite.session = Counting()
    return runs
