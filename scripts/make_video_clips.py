"""Cut and re-encode the real clips of ``benchmarks/clips/`` from their sources (see SOURCES.md there).

The sources are public GitHub files (their repository, path and commit are in SOURCES.md); the
clips are committed so that tests and ``benchmarks/video.py`` run offline.  To rebuild them::

    python scripts/make_video_clips.py SRC_DIR             # SRC_DIR holds the three source files by name
    python scripts/make_video_clips.py --sealed SRC_DIR    # the sealed clips (benchmarks/sealed/clips)

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

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "clips"
SEALED_OUT = REPO / "benchmarks" / "sealed" / "clips"

#: name → (source file, start s, duration s)
CLIPS = {
    "people_still.mp4": ("one-by-one-person-detection.mp4", 17.0, 6.0),
    "moving_camera.mp4": ("cockatoo.mp4", 0.0, 4.0),
    "face.mp4": ("book.mkv", 0.0, 3.6),
}

#: the sealed clips (benchmarks/sealed/SOURCES.md): chosen before they were scored, scored once
SEALED_CLIPS = {
    "street_still.mp4": ("car-detection.mp4", 10.0, 4.0),
    "bottles_still.mp4": ("bottle-detection.mp4", 5.0, 3.0),
    "face_other.mp4": ("again.mkv", 0.0, 4.0),
    "cockatoo_late.mp4": ("cockatoo.mp4", 9.0, 4.0),
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
    args = sys.argv[1:]
    sealed = "--sealed" in args
    args = [a for a in args if a != "--sealed"]
    src = Path(args[0]) if args else Path(".")
    out, clips = (SEALED_OUT, SEALED_CLIPS) if sealed else (OUT, CLIPS)
    out.mkdir(parents=True, exist_ok=True)
    for name, (file, start, duration) in clips.items():
        cut(src / file, out / name, start, duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
