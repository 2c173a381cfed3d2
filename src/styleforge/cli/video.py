"""``styleforge video``: every mode on a clip, temporally consistent.

Examples::

    styleforge video clip.mp4 --instant starry_night -o out.mp4
    styleforge video clip.mp4 --style the_scream --size 384 -o out.mp4          # Gatys, warm-started
    styleforge video clip.mp4 --photo-style sunset.jpg -o out.mp4               # another photo's colours
    styleforge video clip.mp4 --look film.cube -o out.mp4                       # a .cube look
    styleforge video clip.mp4 --checkpoint runs/x/weights/G_A.safetensors -o out.mp4
    styleforge video clip.mp4 --instant the_scream --start 10 --duration 5 --every 3 -o preview.mp4
    styleforge video loop.gif --instant the_scream -o loop_art.gif        # an animated GIF in, a looping GIF out
    styleforge video clip.mp4 --instant starry_night -o out.mp4 --resume        # after Ctrl-C or a kill
    styleforge video clip.mp4 --instant starry_night --frames 0:108 -o part0.mp4   # a chunk (kept frames 0…107)
    styleforge video clip.mp4 --instant starry_night --frames 100:200 -o part1.mp4
    styleforge video join part0.mp4 part1.mp4 -o out.mp4     # seams cross-faded, the input's audio added
    torchrun --nproc-per-node 4 -m styleforge.cli.main video clip.mp4 --instant starry_night -o out.mp4
        # one clip: each rank renders an overlapping chunk beside OUT (a shared folder); rank 0 joins them
    torchrun --nproc-per-node 4 -m styleforge.cli.main video clips/ --instant starry_night -o out/

Frames go to OUT.partial.mp4 (playable at any time) and are moved into OUT at the end, with
the input's audio.  PyAV's wheels bundle FFmpeg with the GPL libx264 (H.264, the default);
``--codec openh264`` or ``mpeg4`` avoid it.
"""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from ..errors import InputError

log = logging.getLogger("styleforge")

VIDEO_EXTENSIONS = (
    ".mp4",
    ".mkv",
    ".mov",
    ".m4v",
    ".avi",
    ".webm",
    ".mpg",
    ".mpeg",
    ".wmv",
    ".flv",
    ".ts",
    ".mts",
    ".m2ts",
    ".3gp",
    ".ogv",
    ".gif",
)


def add_parser(sub: Any) -> None:
    from ..video.defaults import CHECKPOINT, CONSISTENCY, FLOW_SIZE, HOLD, OVERLAP
    from .stylize import add_gatys_options

    p = sub.add_parser(
        "video",
        help="stylise a video clip with any mode, without flicker (optical-flow consistency)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "input",
        nargs="+",
        metavar="INPUT",
        help="video file, or a folder of clips (then -o is a folder); 'join CHUNK…' joins chunks",
    )
    p.add_argument(
        "-o", "--output", required=True, help="output video (.mp4, .mkv, .mov; .gif: a looping GIF, no sound) or folder"
    )
    m = p.add_argument_group("mode (exactly one)")
    m.add_argument(
        "--instant", metavar="STYLE", help="instant style: built-in model, trained weights, or any image (AdaIN)"
    )
    m.add_argument(
        "--style", action="append", metavar="STYLE", help="Gatys optimisation with this painting (repeatable)"
    )
    m.add_argument("--look", metavar="LOOK.cube", help="a 3-D LUT look (.cube)")
    m.add_argument(
        "--photo-style", metavar="PHOTO", help="another photo's colours (one affine colour map for the clip)"
    )
    m.add_argument(
        "--checkpoint", metavar="G", help="a pix2pix / CycleGAN / makeup generator (or its training checkpoint)"
    )
    m.add_argument("--direction", choices=("AtoB", "BtoA"), help="which generator of a CycleGAN checkpoint")
    v = p.add_argument_group("video")
    v.add_argument(
        "--size",
        type=int,
        default=None,
        help="long side of the output in pixels (default: the input's; 512 for --style)",
    )
    v.add_argument("--start", type=float, default=0.0, help="start at this many seconds")
    v.add_argument("--duration", type=float, default=None, help="this many seconds only")
    v.add_argument("--every", type=int, default=1, help="stylise every N-th frame (a quick preview at fps/N)")
    v.add_argument(
        "--consistency",
        type=float,
        default=CONSISTENCY,
        help="temporal consistency strength in [0, 1) (default %(default)s)",
    )
    v.add_argument("--no-consistency", action="store_true", help="plain per-frame stylisation (flickers)")
    v.add_argument(
        "--hold",
        type=float,
        default=HOLD,
        help="weight of the previous output where the input did not change (default %(default)s; "
        "0: --consistency everywhere)",
    )
    v.add_argument(
        "--frames",
        metavar="A:B",
        default=None,
        help="render the kept frames A … B−1 only (a chunk for 'styleforge video join')",
    )
    v.add_argument(
        "--overlap",
        type=int,
        default=OVERLAP,
        help="frames shared by neighbouring chunks under torchrun (default %(default)s)",
    )
    v.add_argument(
        "--flow-size", type=int, default=FLOW_SIZE, help="long side for the optical flow (default %(default)s)"
    )
    v.add_argument(
        "--keyframes",
        type=int,
        default=None,
        metavar="N",
        help="stylise one frame in N and carry the others along the optical flow "
        "(default: 2 for --instant, else 1 = every frame)",
    )
    v.add_argument(
        "--codec",
        choices=("auto", "h264", "openh264", "mpeg4"),
        default="auto",
        help="auto = H.264 (libx264), falling back to openh264 or MPEG-4",
    )
    v.add_argument("--crf", type=int, default=18, help="H.264 quality (lower = better; default %(default)s)")
    v.add_argument(
        "--resume-every",
        type=float,
        default=CHECKPOINT,
        metavar="SECONDS",
        help="a point --resume can continue from at least every SECONDS of work: an encoder keyframe "
        "(default %(default)g; more often makes the still parts of the picture pulse)",
    )
    v.add_argument("--no-audio", action="store_true", help="drop the input's audio")
    v.add_argument("--resume", action="store_true", help="continue OUT.partial.mp4 from its last finished frame")
    v.add_argument("--max-seconds", type=float, default=None, help="refuse clips longer than this")
    i = p.add_argument_group("instant / look / photo")
    i.add_argument("--strength", type=float, default=1.0, help="0–1: blend with the input frame (default 1)")
    i.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto")
    i.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    g = p.add_argument_group("Gatys video (Ruder et al.)")
    g.add_argument(
        "--warm-iterations",
        type=int,
        default=None,
        help="evaluations per frame after the first, warm-started (default --iterations / 3)",
    )
    g.add_argument(
        "--temporal-weight", type=float, default=2e3, help="weight of the temporal loss (default %(default)g)"
    )
    g.add_argument("--style-scale", type=float, default=1.0)
    add_gatys_options(p)
    p.set_defaults(func=run, image_size=None)


def _stylizer_factory(args: argparse.Namespace) -> Any:
    from ..video.stylizers import make_stylizer

    if args.style:
        from .stylize import gatys_config_from_args

        args.image_size = args.size or args.image_size or 512
        cfg = gatys_config_from_args(args, style_scale=args.style_scale)
        kw: dict[str, Any] = {
            "cfg": cfg,
            "warm_iterations": args.warm_iterations,
            "temporal_weight": args.temporal_weight,
        }
    elif args.instant:
        kw = {"strength": args.strength, "backend": args.backend, "threads": args.threads}
    elif args.look or args.photo_style:
        kw = {"strength": args.strength}
    else:
        kw = {"direction": args.direction, "device": args.device}
    # Check the mode's arguments now (one line), build the model only after the inputs are checked.
    make_stylizer_args = dict(
        instant=args.instant, style=args.style, look=args.look, photo_style=args.photo_style, checkpoint=args.checkpoint
    )
    given = [k for k, v in make_stylizer_args.items() if v]
    if len(given) != 1:
        raise InputError("give exactly one of --instant, --style, --look, --photo-style or --checkpoint")
    if not 0 <= args.strength <= 1:
        raise InputError(f"--strength must be between 0 and 1, got {args.strength}")
    return lambda: make_stylizer(**make_stylizer_args, **kw)


def _parse_frames(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"--frames must be A:B (kept frames A … B−1), got {text!r}") from None
    if not 0 <= a < b:
        raise InputError(f"--frames must be A:B with 0 ≤ A < B, got {text!r}")
    return a, b


def _jobs(args: argparse.Namespace) -> list[tuple[Path, Path]]:
    if len(args.input) != 1:
        raise InputError(f"give one input clip or folder (got {len(args.input)}); 'styleforge video join' joins chunks")
    src, out = Path(args.input[0]), Path(args.output)
    if not src.is_dir():
        return [(src, out)]
    clips = sorted(f for f in src.iterdir() if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS)
    if not clips:
        raise InputError(f"no video clips in folder {src}")
    if out.suffix:
        raise InputError(f"a folder of clips needs an output folder, not {out}")
    if not out.parent.is_dir():
        raise InputError(f"output folder's parent does not exist: {out.parent}")
    out.mkdir(exist_ok=True)
    return [(c, out / (c.stem + ".mp4")) for c in clips]


def _join(args: argparse.Namespace) -> int:
    from ..video.chunks import join_chunks

    chunks = [Path(c) for c in args.input[1:]]
    if not chunks:
        raise InputError("styleforge video join CHUNK… -o OUT: give the chunk files")
    out, seams = join_chunks(chunks, args.output, audio=not args.no_audio, codec=args.codec, crf=args.crf)
    log.info("joined %d chunks into %s (seams at frames %s)", len(chunks), out, ", ".join(map(str, seams)) or "none")
    return 0


def _rank_chunk(
    args: argparse.Namespace, src: Path, out: Path, options: Any, rank: int, world: int
) -> tuple[Any, Path]:
    """torchrun on one clip: this rank's overlapping range and chunk file (beside OUT)."""
    from dataclasses import replace

    from ..video.chunks import chunk_ranges
    from ..video.container import probe

    info = probe(src)
    clip = max(0.0, info.duration - options.start)
    if options.duration is not None:
        clip = min(clip, options.duration)
    total = max(1, round(clip * float(info.fps) / options.every))
    a, b = chunk_ranges(total, world, args.overlap)[min(rank, total - 1)]
    return replace(options, frames=(a, b)), _chunk_path(out, rank, world)


def _chunk_path(out: Path, rank: int, world: int) -> Path:
    """Where rank ``rank`` of ``world`` writes its chunk of ``out`` (a GIF's chunks are MP4, joined into the GIF)."""
    return out.with_name(f"{out.stem}.chunk{rank}of{world}{'.mp4' if out.suffix.lower() == '.gif' else out.suffix}")


def run(args: argparse.Namespace) -> int:
    from ..video.pipeline import VideoOptions, partial_paths, render_video

    if args.input[0] == "join" and not Path("join").exists():
        return _join(args)
    size = args.size or ((args.image_size or 512) if args.style else None)  # --image-size: --size for Gatys
    options = VideoOptions(
        size=size,
        start=args.start,
        duration=args.duration,
        every=args.every,
        consistency=0.0 if args.no_consistency else args.consistency,
        flow_size=args.flow_size,
        hold=args.hold,
        frames=_parse_frames(args.frames),
        keyframes=args.keyframes,
    )
    options.validate()
    if not args.resume_every > 0:
        raise InputError(f"--resume-every must be a number of seconds > 0, got {args.resume_every:g}")
    factory = _stylizer_factory(args)
    jobs = _jobs(args)
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    chunked: list[Path] = []
    if world > 1 and Path(args.input[0]).is_dir():  # torchrun on a folder: each rank takes its share of the clips
        jobs = jobs[rank::world]
    elif world > 1:  # torchrun on one clip: each rank renders an overlapping chunk, rank 0 joins them
        if options.frames is not None:
            raise InputError("--frames and torchrun both choose the frames: give one of them")
        options, chunk = _rank_chunk(args, jobs[0][0], jobs[0][1], options, rank, world)
        chunked = [_chunk_path(jobs[0][1], r, world) for r in range(world)]
        jobs = [(jobs[0][0], chunk)]
    stylizer: list[Any] = []

    def make() -> Any:  # one model for every clip of this process
        if not stylizer:
            stylizer.append(factory())
        return stylizer[0]

    for src, out in jobs:
        try:
            res = render_video(
                src,
                out,
                make,
                options,
                codec=args.codec,
                crf=args.crf,
                checkpoint=args.resume_every,
                resume=args.resume,
                audio=not args.no_audio,
                progress=not args.quiet and sys.stderr.isatty(),
                max_seconds=args.max_seconds,
            )
        except KeyboardInterrupt:
            partial = partial_paths(out)[0]
            if partial.exists():
                print(
                    f"styleforge: interrupted; the frames so far are in {partial} (it plays); add --resume to continue",
                    file=sys.stderr,
                )
            return 130
        log.info(
            "wrote %s (%d frames at %.3g fps; %.1f frames/s%s)",
            out,
            res.frames,
            res.fps_out,
            res.frames_per_second,
            f", resumed after {res.resumed_from}" if res.resumed_from else "",
        )
    if chunked and rank == 0:  # wait for the other ranks' chunks (a shared folder), then join
        import time

        from ..video.chunks import join_chunks

        deadline = time.monotonic() + float(os.environ.get("STYLEFORGE_JOIN_TIMEOUT", "86400"))
        while not all(c.exists() for c in chunked):
            if time.monotonic() > deadline:
                raise InputError(f"gave up waiting for {', '.join(str(c) for c in chunked if not c.exists())}")
            time.sleep(1.0)
        out, _ = join_chunks(chunked, Path(args.output), audio=not args.no_audio, codec=args.codec, crf=args.crf)
        for c in chunked:
            c.unlink(missing_ok=True)
        log.info("joined %d chunks into %s", len(chunked), out)
    return 0
