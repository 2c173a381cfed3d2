"""Cut and re-encode the real clips of ``benchmarks/clips/`` from their sources (see SOURCES.md there).

The sources are public GitHub files (their repository, path and commit are in SOURCES.md); the
clips are committed so that tests and ``benchmarks/video.py`` run offline.  To rebuild them::

    python scripts/make_video_clips.py SRC_DIR    # SRC_DIR holds the three source files by name

Each clip: H.264 (libx264, CRF 26), yuv420p, long side ≤ 854, a few seconds; the moving-camera
clip keeps its (AAC) audio track.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "clips"

#: name → (source file, start s, duration s)
CLIPS = {
    "people_still.mp4": ("one-by-one-person-detection.mp4", 17.0, 6.0),
    "moving_camera.mp4": ("cockatoo.mp4", 0.0, 4.0),
    "face.mp4": ("book.mkv", 0.0, 3.6),
}


def cut(src: Path, dst: Path, start: float, duration: float, max_side: int = 854) -> None:
    with av.open(str(src)) as cin, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as cout:
        vin = cin.streams.video[0]
        fps = Fraction(vin.average_rate)
        w, h = vin.codec_context.width, vin.codec_context.height
        k = min(1.0, max_side / max(w, h))
        w2, h2 = round(w * k) // 2 * 2, round(h * k) // 2 * 2
        vout = cout.add_stream("libx264", rate=fps, options={"crf": "26", "preset": "slow"})
        vout.width, vout.height, vout.pix_fmt = w2, h2, "yuv420p"
        ain = cin.streams.audio[0] if cin.streams.audio else None
        aout = cout.add_stream("aac", rate=ain.codec_context.sample_rate) if ain is not None else None
        n = 0
        for frame in cin.decode(vin):
            t = float(frame.time)
            if t < start - 1e-6:
                continue
            if t >= start + duration - 1e-6:
                break
            rgb = frame.to_ndarray(format="rgb24")
            if (w2, h2) != (w, h):
                rgb = cv2.resize(rgb, (w2, h2), interpolation=cv2.INTER_AREA)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts, vf.time_base = n, 1 / fps
            n += 1
            for p in vout.encode(vf):
                cout.mux(p)
        for p in vout.encode(None):
            cout.mux(p)
        if ain is not None and aout is not None:
            cin.seek(0)
            for frame in cin.decode(ain):
                t = float(frame.time)
                if t < start or t >= start + duration:
                    continue
                frame.pts = None
                for p in aout.encode(frame):
                    cout.mux(p)
            for p in aout.encode(None):
                cout.mux(p)
    print(f"{dst.name}: {n} frames {w2}×{h2} at {float(fps):g} fps, {dst.stat().st_size // 1024} KB")


def main() -> int:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (file, start, duration) in CLIPS.items():
        cut(src / file, OUT / name, start, duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
