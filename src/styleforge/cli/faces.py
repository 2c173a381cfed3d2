"""``styleforge faces collect|prepare``: build a two-class face dataset from raw photos."""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
import sys
import time

from ..errors import InputError


def _progress(label: str):  # noqa: ANN202 - tiny closure
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        if sys.stderr.isatty() and (now - last[0] > 0.2 or done == total):
            last[0] = now
            print(f"\r{label} {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    return show


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "faces",
        help="collect and prepare face datasets (makeup / no makeup)",
        description="Download face photos, then detect, align, clean and split them into "
        "trainA/trainB/testA/testB for CycleGAN training.",
    )
    sub = p.add_subparsers(dest="faces_command", metavar="ACTION")

    c = sub.add_parser("collect", help="download image URLs (parallel, resumable)")
    c.add_argument("urls", metavar="URLS.txt", help="one URL per line, optionally 'CLASS URL'")
    c.add_argument("raw_dir", metavar="RAW_DIR")
    c.add_argument("--workers", type=int, default=8, help="parallel downloads (default 8)")
    c.add_argument("--timeout", type=float, default=20.0, help="seconds per request (default 20)")
    c.add_argument("--retries", type=int, default=2, help="retries on timeouts and 5xx (default 2)")
    c.set_defaults(func=run_collect)

    q = sub.add_parser("prepare", help="detect, align, clean, de-duplicate and split faces")
    q.add_argument("raw_dir", metavar="RAW_DIR", help="one sub-folder of photos per class")
    q.add_argument("out_dir", metavar="OUT_DIR")
    q.add_argument("--classes", default="no_makeup,makeup", help="A,B class folders (default no_makeup,makeup)")
    q.add_argument("--size", type=int, default=256, help="crop side in pixels (default 256)")
    q.add_argument("--eye-distance", type=float, default=0.30, help="eye distance / crop size (default 0.30)")
    q.add_argument("--eye-y", type=float, default=0.35, help="eye line height / crop size (default 0.35)")
    q.add_argument("--faces", choices=("largest", "all"), default="largest", help="faces kept per photo")
    q.add_argument("--min-face", type=int, default=80, help="smallest face box kept, source px (default 80)")
    q.add_argument("--min-blur", type=float, default=30.0, help="smallest variance of Laplacian kept (default 30)")
    q.add_argument(
        "--dup-distance", type=int, default=22, help="near-duplicate limit, Hamming bits of 128 (default 22)"
    )
    q.add_argument(
        "--allow-no-eyes", action="store_true", help="keep faces whose eyes were not found (box-based alignment)"
    )
    q.add_argument("--test-ratio", type=float, default=0.1, help="fraction of photos for test (default 0.1)")
    q.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    q.add_argument(
        "--detector",
        choices=("haar", "mesh"),
        default="haar",
        help="haar: OpenCV cascades; mesh: BlazeFace + face mesh, eyes from the landmarks "
        "(needs `weights fetch faces`)",
    )
    q.add_argument("--workers", type=int, default=0, help="processes (default: one per core; 1 with --detector mesh)")
    q.add_argument("--overwrite", action="store_true", help="replace a different dataset already in OUT_DIR")
    q.set_defaults(func=run_prepare)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_collect(args: argparse.Namespace) -> int:
    from ..faces.collect import collect

    if args.workers < 1 or args.retries < 0 or args.timeout <= 0:
        raise InputError("--workers must be >= 1, --retries >= 0 and --timeout > 0")
    res = collect(
        args.urls,
        args.raw_dir,
        workers=args.workers,
        timeout=args.timeout,
        retries=args.retries,
        progress=_progress("downloading"),
    )
    print(f"downloaded {len(res.downloaded)}, already there {len(res.skipped)}, failed {len(res.failed)}")
    for url, why in res.failed[:20]:
        print(f"  failed: {url}  ({why})")
    if len(res.failed) > 20:
        print(f"  … and {len(res.failed) - 20} more")
    if res.failed:
        print(f"failures listed in {args.raw_dir}/failures.csv; run the same command again to retry them")
    return 0 if res.downloaded or res.skipped else 1


def run_prepare(args: argparse.Namespace) -> int:
    from ..faces.align import AlignSpec
    from ..faces.clean import CleanSpec
    from ..faces.prepare import PrepareSpec, prepare_dataset

    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    if len(classes) != 2:
        raise InputError(f"--classes needs two folder names like no_makeup,makeup, got {args.classes!r}")
    try:
        align = AlignSpec(size=args.size, eye_distance=args.eye_distance, eye_y=args.eye_y)
    except ValueError as e:
        raise InputError(str(e)) from None
    clean = CleanSpec(
        min_face=args.min_face,
        min_blur=args.min_blur,
        dup_distance=args.dup_distance,
        require_eyes=not args.allow_no_eyes,
    )
    spec = PrepareSpec(
        classes=classes, align=align, clean=clean, faces=args.faces,
        test_ratio=args.test_ratio, seed=args.seed, workers=args.workers or (1 if args.detector == "mesh" else 0),
    )  # fmt: skip
    detector = None
    if args.detector == "mesh":
        from ..faces.facemesh import MeshDetector

        detector = MeshDetector()  # eye centres from the mesh's eye contours; low face presence = rejected
    t0 = time.perf_counter()
    res = prepare_dataset(
        args.raw_dir, args.out_dir, spec, overwrite=args.overwrite, detector=detector, progress=_progress("faces")
    )
    dt = time.perf_counter() - t0
    if res.skipped_files:
        print(f"skipped {len(res.skipped_files)} files that are not usable images:")
        for src, why in res.skipped_files[:20]:
            print(f"  {src}: {why}")
        if len(res.skipped_files) > 20:
            print(f"  … and {len(res.skipped_files) - 20} more (see manifest.csv)")
    print(res.summary)
    n_files = len({r.source for r in res.rows})
    print(
        f"A = {classes[0]}, B = {classes[1]}; {res.kept()} faces kept from {n_files} files in {dt:.1f} s "
        f"({n_files / max(dt, 1e-9):.1f} files/s) → {res.out_dir} (manifest.csv, dataset.json)"
    )
    return 0


def run(args: argparse.Namespace) -> int:  # pragma: no cover - dispatch is via the sub-parsers
    return int(args.func(args))
