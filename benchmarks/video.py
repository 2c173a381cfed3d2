"""Video benchmark: temporal consistency (E_warp), style/content loss and frames per second.

Clips are made from photos with *known* camera motion (pan, zoom, a wandering crop) plus a
textured disc moving over a still background (:mod:`styleforge.video.synthetic`), so the
warping error uses the exact flow and occlusion mask, not an estimate:

    E_warp = mean over visible pixels of ‖o_t − warp(o_{t−1}, flow_t→t−1)‖²   (images in [0, 1])

For every mode, per clip: E_warp of the per-frame baseline (``--no-consistency``) and of
the consistent output, their ratio (goal ≤ 0.5), and the VGG style / content loss of the
frames (goal: style ≤ 1.1× the baseline's).  Speed: ``render_video`` end to end (decode,
flow, stylise, encode) at 480p and 720p; Gatys: one image's time vs each warm frame's.

    python benchmarks/video.py                              # ../shared/data/content photos
    python benchmarks/video.py --photos src/styleforge/assets/content --modes instant
    python benchmarks/video.py --strip docs/images/video_strip.jpg   # README strip (tubingen)

Timings print ``os.getloadavg()``: on a busy machine compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from styleforge.video.flow import warp  # noqa: E402
from styleforge.video.pipeline import VideoOptions, render_video, stylize_frames  # noqa: E402
from styleforge.video.synthetic import Clip, camera_clip, object_clip  # noqa: E402
from styleforge.video.temporal import TemporalBlender  # noqa: E402

MOTIONS = ("pan", "zoom", "crop", "object")


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def e_warp(outs: list[np.ndarray], clip: Clip) -> float:
    errs = []
    for t in range(1, len(outs)):
        flow, mask = clip.flows[t], clip.masks[t]
        cur = outs[t].astype(np.float32) / 255
        prev = warp(outs[t - 1].astype(np.float32) / 255, flow)
        d = ((cur - prev) ** 2).mean(-1)
        errs.append(float((d * mask).sum() / max(mask.sum(), 1)))
    return float(np.mean(errs))


class Losses:
    """neural-style's content (relu4_2) and Gram style (relu1_1…relu5_1) losses on VGG16."""

    def __init__(self) -> None:
        import torch

        from styleforge.backbones import DEFAULT_LAYERS, build_backbone

        self.torch = torch
        self.c_layers, self.s_layers = list(DEFAULT_LAYERS["vgg"][0]), list(DEFAULT_LAYERS["vgg"][1])
        self.net = build_backbone("vgg16-offline", layers=self.c_layers + self.s_layers)
        self.targets: dict[tuple[str, int], dict[str, object]] = {}

    def _t(self, img: np.ndarray):  # noqa: ANN202
        return self.torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]

    def __call__(
        self, outs: list[np.ndarray], frames: list[np.ndarray], style: np.ndarray, key: str
    ) -> tuple[float, float]:
        from styleforge.losses import content_loss, gram_matrix, style_loss

        torch = self.torch
        side = max(frames[0].shape[:2])
        with torch.no_grad():
            if (key, side) not in self.targets:
                s = Image.fromarray(style)
                s.thumbnail((side, side))
                sf = self.net(self._t(np.asarray(s)), self.s_layers)
                self.targets[(key, side)] = {k: gram_matrix(v) for k, v in sf.items()}
            tgt = self.targets[(key, side)]
            sl, cl = [], []
            for o, f in zip(outs[:: max(1, len(outs) // 6)], frames[:: max(1, len(outs) // 6)], strict=True):
                of = self.net(self._t(o), self.c_layers + self.s_layers)
                ff = self.net(self._t(f), self.c_layers)
                sl.append(float(sum(style_loss(gram_matrix(of[k]), tgt[k]) for k in self.s_layers)))  # type: ignore[index]
                cl.append(float(sum(content_loss(of[k], ff[k]) for k in self.c_layers)))
        return float(np.mean(sl)), float(np.mean(cl))


def make_stylizer(mode: str, args: argparse.Namespace):  # noqa: ANN201
    from styleforge.video.stylizers import GatysStylizer, InstantStylizer, PhotoStylizer

    if mode == "instant":
        return InstantStylizer(args.instant_style)
    if mode == "photo":
        return PhotoStylizer(args.photo_style)
    if mode == "gatys":
        from styleforge.transfer.gatys import GatysConfig

        cfg = GatysConfig(iterations=args.gatys_iterations, image_size=max(args.clip_size), seed=0)
        return GatysStylizer([args.gatys_style], cfg)
    raise SystemExit(f"unknown mode {mode}")


def style_image(mode: str, args: argparse.Namespace) -> np.ndarray:
    from styleforge.io import load_input

    name = {"instant": args.instant_style, "photo": args.photo_style, "gatys": args.gatys_style}[mode]
    return np.asarray(load_input(name, what="style"))


def label(img: np.ndarray, text: str) -> Image.Image:
    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, 7 * len(text) + 6, 14), fill=(0, 0, 0))
    d.text((3, 1), text, fill=(255, 255, 255))
    return im


def diff_image(outs: list[np.ndarray], clip: Clip, t: int) -> np.ndarray:
    cur = outs[t].astype(np.float32) / 255
    prev = warp(outs[t - 1].astype(np.float32) / 255, clip.flows[t])
    d = np.abs(cur - prev).mean(-1) * clip.masks[t]
    return (np.clip(d * 4, 0, 1)[..., None].repeat(3, -1) * 255).astype(np.uint8)


def quality(args: argparse.Namespace, photos: list[Path]) -> list[list[Image.Image]]:
    losses = Losses()
    rows: list[list[Image.Image]] = []
    print(
        f"\n== consistency: E_warp with the exact flow "
        f"({args.frames} frames of {args.clip_size[0]}×{args.clip_size[1]}; "
        f"consistency {args.consistency}) =="
    )
    print(
        f"{'mode':8s} {'clip':26s} {'E_warp per-frame':>16s} {'consistent':>10s} {'ratio':>6s} "
        f"{'style ratio':>11s} {'content ratio':>13s}"
    )
    summary: dict[str, dict[str, list[float]]] = {}
    for mode in args.modes:
        stylizer = make_stylizer(mode, args)
        sty = style_image(mode, args)
        n_frames = args.gatys_frames if mode == "gatys" else args.frames
        for photo in photos[: args.gatys_photos] if mode == "gatys" else photos:
            img = load(photo)
            for motion in args.motions if mode != "gatys" else args.gatys_motions:
                # Gatys: the first frames of the same clip (same motion per frame as the other modes)
                clip = (
                    object_clip(img, args.frames, tuple(args.clip_size))
                    if motion == "object"
                    else camera_clip(img, motion, args.frames, tuple(args.clip_size))
                )
                clip = Clip(clip.name, clip.frames[:n_frames], clip.flows[:n_frames], clip.masks[:n_frames])
                # the baseline is plain per-frame stylisation (Gatys: no warm start, no temporal loss)
                hint = stylizer.uses_hint
                stylizer.uses_hint = False
                base = list(stylize_frames(clip.frames, stylizer, VideoOptions(consistency=0.0)))
                stylizer.uses_hint = hint
                cons = list(stylize_frames(clip.frames, stylizer, VideoOptions(consistency=args.consistency)))
                eb, ec = e_warp(base, clip), e_warp(cons, clip)
                sb, cb = losses(base, clip.frames, sty, mode)
                sc, cc = losses(cons, clip.frames, sty, mode)
                name = f"{photo.stem}/{motion}"
                print(
                    f"{mode:8s} {name:26s} {eb:16.5f} {ec:10.5f} {ec / max(eb, 1e-9):6.2f} "
                    f"{sc / sb:11.3f} {cc / cb:13.3f}",
                    flush=True,
                )
                s = summary.setdefault(mode, {"ratio": [], "style": [], "content": []})
                s["ratio"].append(ec / max(eb, 1e-9))
                s["style"].append(sc / sb)
                s["content"].append(cc / cb)
                t = len(clip.frames) // 2
                rows.append(
                    [
                        label(clip.frames[t], f"{mode} {name}"),
                        label(base[t], f"per-frame E={eb:.4f}"),
                        label(cons[t], f"consistent E={ec:.4f}"),
                        label(diff_image(base, clip, t), "|o-warp| x4"),
                        label(diff_image(cons, clip, t), "|o-warp| x4"),
                    ]
                )
    print("\nmedians per mode (goal: E_warp ratio ≤ 0.5, style ratio ≤ 1.1):")
    for mode, s in summary.items():
        print(
            f"  {mode:8s} E_warp ratio {statistics.median(s['ratio']):.2f} (worst {max(s['ratio']):.2f})  "
            f"style ratio {statistics.median(s['style']):.3f} (worst {max(s['style']):.3f})  "
            f"content ratio {statistics.median(s['content']):.3f}"
        )
    return rows


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps, options={"crf": "16", "preset": "veryfast"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def speed(args: argparse.Namespace, photo: Path) -> None:
    img = load(photo)
    print(
        f"\n== speed: render_video end to end (decode, flow, stylise, encode), {args.speed_frames} frames; "
        f"torch/onnxruntime threads = {os.cpu_count()} =="
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label_, size in (("480p", (854, 480)), ("720p", (1280, 720))):
            clip = camera_clip(img, "pan", args.speed_frames, size)
            src = Path(tmp) / f"{label_}.mp4"
            write_clip(src, clip.frames)
            for mode in [m for m in args.modes if m != "gatys"]:
                stylizer = make_stylizer(mode, args)
                for k in (0.0, args.consistency):
                    out = Path(tmp) / f"out-{mode}-{label_}-{k}.mp4"
                    load_before = os.getloadavg()[0]
                    cpu = time.process_time()
                    res = render_video(src, out, stylizer, VideoOptions(consistency=k))
                    cpu = (time.process_time() - cpu) / res.frames
                    print(
                        f"  {mode:8s} {label_} consistency {k:.1f}: {res.frames_per_second:6.1f} frames/s "
                        f"({res.seconds:.1f} s; CPU {cpu * 1000:.0f} ms/frame → ≤ {2 / cpu:.1f} frames/s on 2 idle "
                        f"cores; load {load_before:.1f} → {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )


def gatys_speed(args: argparse.Namespace, photo: Path) -> None:
    import torch

    from styleforge.transfer.gatys import GatysConfig, stylize_tensor
    from styleforge.video.stylizers import GatysStylizer

    img = load(photo)
    clip = camera_clip(img, "pan", 4, tuple(args.gatys_size))
    cfg = GatysConfig(iterations=args.gatys_iterations, image_size=max(args.gatys_size), seed=0)
    g = GatysStylizer([args.gatys_style], cfg)
    g(clip.frames[0], None)  # builds the backbone (not timed)
    content = torch.from_numpy(clip.frames[0].astype(np.float32) / 255).permute(2, 0, 1)[None]
    t = time.perf_counter()
    stylize_tensor(content, g._styles, cfg, net=g._net)
    one = time.perf_counter() - t
    la = os.getloadavg()[0]
    times = []
    b = TemporalBlender(args.consistency, needs_hint=True)
    for f in clip.frames:
        t = time.perf_counter()
        b(f, g)
        times.append(time.perf_counter() - t)
    warm = statistics.median(times[1:])
    print(
        f"\n== Gatys speed at {args.gatys_size[0]}×{args.gatys_size[1]}, {args.gatys_iterations} iterations "
        f"(3 scales) ==\n  one image {one:.1f} s; first video frame {times[0]:.1f} s; each later frame "
        f"(warm start, 1 scale, {g.warm_iterations} iterations + flow) median {warm:.1f} s = "
        f"{warm / one:.2f}× one image (goal ≤ 0.33); load {la:.1f} → {os.getloadavg()[0]:.1f}"
    )


def strip(args: argparse.Namespace) -> None:
    """README picture: the bundled tubingen panned, per-frame vs consistent, with the difference to
    the previous warped frame."""
    from styleforge.assets import resolve_image
    from styleforge.video.stylizers import InstantStylizer

    img = load(resolve_image("tubingen", kind="content"))
    clip = camera_clip(img, "pan", 12, (256, 176))
    st = InstantStylizer(args.instant_style)
    base = list(stylize_frames(clip.frames, st, VideoOptions(consistency=0.0)))
    cons = list(stylize_frames(clip.frames, st, VideoOptions(consistency=args.consistency)))
    picks = [3, 4, 5, 6]
    w, h = 256, 176
    sheet = Image.new("RGB", (w * (len(picks) + 1), h * 2), "white")
    for r, (outs, name) in enumerate(((base, "per-frame"), (cons, "consistent"))):
        for c, t in enumerate(picks):
            sheet.paste(label(outs[t], f"{name} t={t}"), (c * w, r * h))
        sheet.paste(
            label(diff_image(outs, clip, picks[-1]), f"E_warp {e_warp(outs, clip):.4f}"), (len(picks) * w, r * h)
        )
    args.strip.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.strip, quality=85)
    print(f"wrote {args.strip} ({args.strip.stat().st_size // 1024} KB)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=Path, default=ROOT.parent / "shared" / "data" / "content")
    p.add_argument("--max-photos", type=int, default=3)
    p.add_argument("--modes", nargs="+", default=["instant", "photo", "gatys"])
    p.add_argument("--motions", nargs="+", default=list(MOTIONS))
    p.add_argument("--gatys-motions", nargs="+", default=["pan", "object"])
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--gatys-frames", type=int, default=6)
    p.add_argument("--gatys-photos", type=int, default=1)
    p.add_argument("--clip-size", type=int, nargs=2, default=[256, 160])
    p.add_argument("--consistency", type=float, default=0.5)
    p.add_argument("--instant-style", default="starry_night")
    p.add_argument("--photo-style", default="starry_night")
    p.add_argument("--gatys-style", default="starry_night")
    p.add_argument("--gatys-iterations", type=int, default=60)
    p.add_argument("--gatys-size", type=int, nargs=2, default=[384, 256])
    p.add_argument("--speed-frames", type=int, default=24)
    p.add_argument("--skip", nargs="*", default=[], choices=["quality", "speed", "gatys-speed"])
    p.add_argument("--sheet", type=Path, default=ROOT / "out" / "video_sheet.jpg")
    p.add_argument("--strip", type=Path, default=None, help="only write the README strip here")
    args = p.parse_args()
    print(f"load average {os.getloadavg()}")
    if args.strip:
        strip(args)
        return 0
    photos = sorted(args.photos.glob("*.jpg"))[: args.max_photos]
    if not photos:
        raise SystemExit(f"no photos in {args.photos}")
    if "quality" not in args.skip:
        rows = quality(args, photos)
        w, h = args.clip_size
        sheet = Image.new("RGB", (w * 5, h * len(rows)), "white")
        for r, row in enumerate(rows):
            for c, im in enumerate(row):
                sheet.paste(im, (c * w, r * h))
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.sheet, quality=88)
        print(f"wrote {args.sheet}")
    if "speed" not in args.skip:
        speed(args, photos[0])
    if "gatys-speed" not in args.skip and "gatys" in args.modes:
        gatys_speed(args, photos[0])
    print(f"load average {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
