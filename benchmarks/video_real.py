"""Video on real footage: does the output hold still, keep its style, leave no ghosts, and how fast?

For every clip of ``benchmarks/clips`` (SOURCES.md: a still camera with people walking, a moving
camera, a face) and every mode, against the **per-frame output** (each frame stylised on its own,
as ``styleforge instant`` / ``stylize`` would: the palette pass and colour maps fitted per frame):

* still-area flicker: mean ``|o_t − o_{t−1}|`` over pixels whose input changed by < 3 levels
  (no flow; goal ≤ 0.3× the per-frame output's);
* E_warp with **Farnebäck's** flow of the input (the pipeline uses DIS and never imports it;
  goal ≤ 0.5×);
* the VGG16 Gram style loss against the painting (goal ≤ 1.1×);
* edges kept on moving pixels (gradient correlation with the input frame; goal ≥ 0.95×) and
  ghosting on the motion mask (0 = no trail of the previous picture);
* frames per second = output frames ÷ wall time of the whole ``styleforge video`` command
  (start-up, decoding, the clip-level fit, flow, stylisation, encoding, audio remux).

Outputs: ``benchmarks/results/video_real.json`` (receipts), a strip per clip and mode under
``out/video_real/`` (input, per-frame, ours, and both outputs' frame differences ×4), and with
``--docs-strip`` the README's strip.

    flock /tmp/heavy.lock python benchmarks/video_real.py                       # instant + wct + photo
    flock /tmp/heavy.lock python benchmarks/video_real.py --modes gatys          # 16 frames at 384 px
    flock /tmp/heavy.lock python benchmarks/video_real.py --seams-only --name video_real_seams
    flock /tmp/heavy.lock python benchmarks/video_real.py --sealed    # the sealed clips, ONCE

``--sealed`` scores the clips of ``benchmarks/sealed/clips`` (``benchmarks/sealed/SOURCES.md``),
which no setting was chosen by, into ``benchmarks/results/video_sealed.json`` (no seams).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from receipts import write_results  # noqa: E402
from video_measures import e_warp, ghosting, moving_edges, seam_flicker, still_flicker  # noqa: E402

CLIPS = ROOT / "benchmarks" / "clips"
SEALED = ROOT / "benchmarks" / "sealed"
STYLES = ROOT / "src" / "styleforge" / "assets" / "styles"


def sealed_clips() -> list[Path]:
    """The sealed clips, in ``benchmarks/sealed/clips.json``'s order."""
    return [SEALED / e["file"] for e in json.loads((SEALED / "clips.json").read_text())["clips"]]


def mode_args(mode: str) -> list[str]:
    return {
        "instant": ["--instant", "starry_night"],
        "wct": ["--instant", str(STYLES / "starry_night.jpg")],
        "photo": ["--photo-style", str(STYLES / "udnie.jpg")],
        "gatys": [
            "--style",
            "starry_night",
            "--size",
            "384",
            "--iterations",
            "30",
            "--warm-iterations",
            "10",
            "--seed",
            "0",
        ],
    }[mode]


def painting(mode: str) -> Path:
    return STYLES / ("udnie.jpg" if mode == "photo" else "starry_night.jpg")


class PerFrame:
    """A stylizer run frame by frame: its colour pass / map fitted on each frame anew."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.uses_hint = inner, "per-frame:" + inner.name, False

    def __call__(self, frame: np.ndarray, hint: Any) -> np.ndarray:
        if hasattr(self.inner, "set_clip_state"):
            self.inner.set_clip_state(None)  # photo: fit this frame's map; instant: per-frame palette
        return self.inner(frame, None)


def per_frame_stylizer(mode: str) -> Any:
    from styleforge.video.stylizers import GatysStylizer, InstantStylizer, PhotoStylizer

    if mode == "instant":
        return InstantStylizer("starry_night")
    if mode == "wct":
        return InstantStylizer(str(STYLES / "starry_night.jpg"))
    if mode == "photo":
        return PhotoStylizer(str(STYLES / "udnie.jpg"))
    from styleforge.transfer.gatys import GatysConfig

    return GatysStylizer(["starry_night"], GatysConfig(iterations=30, image_size=384, seed=0))


def decode(path: Path, size: tuple[int, int] | None = None, n: int | None = None) -> list[np.ndarray]:
    from styleforge.video.container import read_frames

    out = []
    for f in read_frames(path, size=size):
        out.append(f)
        if n is not None and len(out) >= n:
            break
    return out


def label(img: np.ndarray, text: str) -> Image.Image:
    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 6 * len(text) + 6, 12), fill=(0, 0, 0))
    d.text((3, 0), text, fill=(255, 255, 255))
    return im


def diff(outs: list[np.ndarray], t: int) -> np.ndarray:
    d = np.abs(outs[t].astype(np.int16) - outs[t - 1].astype(np.int16)).mean(-1) * 4
    return np.clip(d, 0, 255).astype(np.uint8)[..., None].repeat(3, -1)


def strip(
    frames: list[np.ndarray], base: list[np.ndarray], ours: list[np.ndarray], title: str, path: Path, width: int = 320
) -> None:
    n = len(ours)
    picks = [max(1, round(n * q)) for q in (0.2, 0.45, 0.7)]
    h0, w0 = frames[0].shape[:2]
    h = round(h0 * width / w0)
    rows = [("input", frames), ("per-frame", base), ("ours", ours)]
    sheet = Image.new("RGB", (width * (len(picks) + 1), h * 3), "white")
    for r, (name, outs) in enumerate(rows):
        for c, t in enumerate(picks):
            sheet.paste(
                label(outs[t], f"{name} t={t}" if c else f"{title}: {name} t={t}").resize((width, h)),
                (c * width, r * h),
            )
        if r:
            sheet.paste(label(diff(outs, picks[1]), "|o_t - o_t-1| x4").resize((width, h)), (len(picks) * width, r * h))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=82)


def against(per_frame: float, ours: float, digits: int, *, footage: float | None = None) -> dict[str, float]:
    """A measure of ours beside the per-frame output's (``ratio``: ours ÷ per-frame), and the footage's own."""
    res = {"per_frame": round(per_frame, digits), "ours": round(ours, digits), "ratio": round(ours / per_frame, 3)}
    if footage is not None:
        res |= {"input": round(footage, digits), "input_ratio": round(footage / per_frame, 3)}
    return res


def run_clip(clip: Path, mode: str, tmp: Path, losses: Any, args: argparse.Namespace) -> dict[str, Any]:
    from styleforge.video.container import probe
    from styleforge.video.pipeline import VideoOptions, render_video

    info = probe(clip)
    extra: list[str] = []
    n = None
    if mode == "gatys":
        n = args.gatys_frames
        extra = ["--duration", f"{(n + 0.5) / float(info.fps):.4f}"]
    extra += args.video_args.split() if args.video_args else []
    out = tmp / f"{clip.stem}-{mode}.mp4"
    cmd = [
        str(Path(sys.executable).parent / "styleforge"),
        "video",
        str(clip),
        *mode_args(mode),
        *extra,
        "-o",
        str(out),
    ]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}")
    ours = decode(out)
    size = (ours[0].shape[1], ours[0].shape[0])
    base_path = tmp / f"{clip.stem}-{mode}-base.mp4"
    opts = VideoOptions(
        size=384 if mode == "gatys" else None, consistency=0.0, duration=(n + 0.5) / float(info.fps) if n else None
    )
    render_video(clip, base_path, PerFrame(per_frame_stylizer(mode)), opts, audio=False)
    base = decode(base_path)
    frames = decode(clip, size=size, n=len(ours))
    k = min(len(frames), len(base), len(ours))
    frames, base, ours = frames[:k], base[:k], ours[:k]
    flows: list[Any] = []
    sf_b, sf_o = still_flicker(frames, base), still_flicker(frames, ours)
    sf_i = still_flicker(frames, frames)  # the footage's own on those pixels (sensor noise, compression)
    ew_b, ew_o = e_warp(frames, base, flows=flows), e_warp(frames, ours, flows=flows)
    ew_i = e_warp(frames, frames, flows=flows)  # the footage's own: what an output that follows it keeps
    style = np.asarray(Image.open(painting(mode)).convert("RGB"))
    st_b, ct_b = losses(base, frames, style, mode)
    st_o, ct_o = losses(ours, frames, style, mode)
    me_b, me_o = moving_edges(frames, base), moving_edges(frames, ours)
    res = {
        "frames": k,
        "size": f"{size[0]}x{size[1]}",
        "command": " ".join(["styleforge", "video", clip.name, *mode_args(mode), *extra, "-o", "out.mp4"]),
        "still_flicker": against(sf_b, sf_o, 3, footage=sf_i),
        "e_warp_farneback": against(ew_b, ew_o, 6, footage=ew_i),
        "style_loss": against(st_b, st_o, 4),
        "content_loss_ratio": round(ct_o / ct_b, 3),
        "moving_edges": against(me_b, me_o, 4),
        "ghosting": round(ghosting(frames, ours, base), 3),
        "frames_per_second": round(k / wall, 2),
        "wall_s": round(wall, 2),
        "load_before": round(load0, 2),
    }
    strip(frames, base, ours, f"{clip.stem} {mode}", ROOT / "out" / "video_real" / f"{clip.stem}_{mode}.jpg")
    if args.docs_strip and mode == "instant" and clip.stem == "people_still":
        strip(frames, base, ours, "people_still", args.docs_strip, width=256)
    print(
        f"{clip.stem:14s} {mode:8s} still {sf_b:6.2f} → {sf_o:6.2f} ({sf_o / sf_b:.2f}×)  E_warp "
        f"{ew_o / ew_b:.2f}×  style {st_o / st_b:.3f}×  edges {me_o / me_b:.3f}×  ghost {res['ghosting']:.3f}  "
        f"{k / wall:.2f} frames/s ({k} frames {size[0]}×{size[1]}, {wall:.1f} s, load {load0:.1f})",
        flush=True,
    )
    return res


def seams(clip: Path, tmp: Path) -> dict[str, Any]:
    """Two overlapping chunks of one clip, joined: flicker on the seam frames against the clip's median,
    and against the same frames of the clip rendered in one piece (what the seam adds).  Twice: on the
    pixels whose input held still (the issue's flicker, the goal) and on every pixel (motion included)."""
    from styleforge.video.chunks import OVERLAP, chunk_ranges
    from styleforge.video.container import probe
    from video_measures import flicker_series

    sf = str(Path(sys.executable).parent / "styleforge")
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    total = probe(clip).frames
    ranges = chunk_ranges(total, 2, OVERLAP)
    parts = []
    for i, (a, b) in enumerate([*ranges, (0, total)]):
        p = tmp / f"seam{i}.mp4"
        cmd = [sf, "video", str(clip), "--instant", "starry_night", "--frames", f"{a}:{b}", "-o", str(p)]
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        parts.append(p)
    one_piece = decode(parts.pop())
    joined = tmp / "joined.mp4"
    subprocess.run([sf, "video", "join", *map(str, parts), "-o", str(joined)], check=True, capture_output=True)
    outs = decode(joined)
    inputs = decode(clip, size=(outs[0].shape[1], outs[0].shape[0]))
    cut, end = ranges[1][0], ranges[0][1]
    at = list(range(cut, end + 1))
    res: dict[str, Any] = {"frames": len(outs), "overlap": OVERLAP}
    for key, inp in (("still", inputs), ("all_pixels", None)):
        worst, median = seam_flicker(outs, at, inp)
        series, whole = flicker_series(outs, inp), flicker_series(one_piece, inp)
        frames = [i for s_ in at for i in (s_, s_ + 1) if 0 < i < min(len(series), len(whole))]
        whole_worst = max(whole[i] for i in frames)
        added = max(series[i] - whole[i] for i in frames)
        print(
            f"seams {clip.stem} ({key}): {len(outs)} frames, overlap frames {cut}…{end - 1}; worst seam flicker "
            f"{worst:.2f} vs median {median:.2f} ({worst / median:.2f}×); in one piece the same frames reach "
            f"{whole_worst:.2f} ({whole_worst / median:.2f}×); the seam adds at most {added:.2f} "
            f"({added / median:.2f}× the median)"
        )
        res[key] = {
            "worst_seam_flicker": round(worst, 3),
            "median_flicker": round(median, 3),
            "ratio": round(worst / median, 3),
            "one_piece_worst_on_those_frames": round(whole_worst, 3),
            "one_piece_ratio": round(whole_worst / median, 3),
            "added_by_seam": round(added, 3),
            "added_ratio": round(added / median, 3),
            "series_max": round(max(series), 3),
        }
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", nargs="+", default=["people_still", "moving_camera", "face"])
    p.add_argument("--modes", nargs="+", default=["instant", "wct", "photo"])
    p.add_argument("--gatys-frames", type=int, default=16)
    p.add_argument("--docs-strip", type=Path, default=None)
    p.add_argument("--name", default="video_real", help="results file name (benchmarks/results/NAME.json)")
    p.add_argument("--no-seams", action="store_true")
    p.add_argument("--seams-only", action="store_true", help="only the chunks-and-join measure")
    p.add_argument("--video-args", default="", help="more options for every styleforge video run (recorded)")
    p.add_argument(
        "--sealed",
        action="store_true",
        help="score the sealed clips (benchmarks/sealed/clips) ONCE, at the end of an issue; "
        "writes benchmarks/results/video_sealed.json (other --name to change), no seams",
    )
    args = p.parse_args()
    if args.sealed:
        args.no_seams = True
        args.name = "video_sealed" if args.name == "video_real" else args.name
    from video import Losses

    losses = Losses()
    figures: dict[str, Any] = {"per_clip": {}}
    path = ROOT / "benchmarks" / "results" / f"{args.name}.json"
    if path.is_file():  # keep the other modes' figures of an earlier run
        figures = json.loads(path.read_text()).get("figures", figures)
    with tempfile.TemporaryDirectory() as tmp:
        clips = sealed_clips() if args.sealed else [CLIPS / f"{name}.mp4" for name in args.clips]
        for clip in [] if args.seams_only else clips:
            for mode in args.modes:
                figures["per_clip"].setdefault(clip.stem, {})[mode] = run_clip(clip, mode, Path(tmp), losses, args)
        if not args.no_seams:
            figures["seams"] = seams(CLIPS / "people_still.mp4", Path(tmp))
    figures["internal_resolution"] = (
        "none: the networks run at the output size (the optical flow at 640 px on the long side); "
        "instant styles (per-style networks and WCT) stylise one frame in 2 (--keyframes 2, their default) "
        "and carry the others along the flow; photo looks and Gatys every frame"
    )
    print(f"wrote {write_results(args.name, figures, threads=os.cpu_count() or 1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
