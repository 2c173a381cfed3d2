"""``styleforge datasets``: prepare paired datasets and download the paper's datasets.

Examples::

    styleforge datasets prepare combine --a photos/A --b photos/B -o data/mine/train
    styleforge datasets prepare edges photos/ -o data/edges2photos/train      # Canny (HED: no weights)
    styleforge datasets prepare gray photos/ -o data/gray2color/train
    styleforge datasets prepare split data/all -o data/mine --val 0.1 --test 0.1
    styleforge datasets download facades -o datasets/                         # needs internet
    styleforge datasets download horse2zebra -o datasets/                     # CycleGAN (unpaired)
    styleforge datasets list
"""

from __future__ import annotations

__all__ = ["add_parser", "run"]

import argparse
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "datasets",
        help="prepare or download paired datasets",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    prep = sub.add_parser("prepare", help="make a paired dataset from your images")
    psub = prep.add_subparsers(dest="what", metavar="KIND")
    c = psub.add_parser("combine", help="A/ and B/ folders with matching names → A|B images")
    c.add_argument("--a", required=True)
    c.add_argument("--b", required=True)
    c.add_argument("--resize-b", action="store_true", help="resize B to A's size when they differ")
    e = psub.add_parser("edges", help="photos → edges|photo pairs (Canny)")
    e.add_argument("src")
    e.add_argument("--method", default="canny", help="canny (hed needs weights styleforge cannot ship)")
    e.add_argument("--low", type=int, default=100)
    e.add_argument("--high", type=int, default=200)
    g = psub.add_parser("gray", help="photos → gray|colour pairs")
    g.add_argument("src")
    for q in (e, g):
        q.add_argument("--size", type=int, default=256, help="long side (0 = keep)")
    s = psub.add_parser("split", help="split a folder into train/val/test")
    s.add_argument("src")
    s.add_argument("--val", type=float, default=0.1)
    s.add_argument("--test", type=float, default=0.1)
    s.add_argument("--seed", type=int, default=0)
    for q in (c, e, g, s):
        q.add_argument("-o", "--output", required=True, help="output folder")
    d = sub.add_parser("download", help="download a paper dataset (needs internet)")
    d.add_argument("name")
    d.add_argument("-o", "--output", default="datasets")
    sub.add_parser("list", help="list the known datasets and presets")
    p.set_defaults(func=run, _parser=p)


def run(args: argparse.Namespace) -> int:
    from ..data import prepare

    action = getattr(args, "action", None)
    if action == "list":
        from ..gan.pix2pix import PRESETS

        for name, url in sorted(prepare.DOWNLOAD_URLS.items()):
            pr = PRESETS.get(name)
            detail = (
                f"{pr.direction}, {pr.n_epochs}+{pr.n_epochs_decay} epochs, batch {pr.batch_size}; {pr.note}"
                if pr
                else ""
            )
            print(f"{name:16s} {url}  {detail}")
        from ..data.unaligned import CYCLEGAN_DATASETS
        from ..gan.cyclegan import PRESETS as CYCLEGAN_PRESETS

        for name, url in sorted(CYCLEGAN_DATASETS.items()):
            cp = CYCLEGAN_PRESETS.get(name)
            print(f"{name:16s} {url}  cyclegan (unpaired){'; ' + cp.note if cp else ''}")
        return 0
    if action == "download":
        target = prepare.download_dataset(args.name, args.output)
        print(f"downloaded {args.name} into {target}")
        return 0
    what = getattr(args, "what", None)
    if action == "prepare" and what == "combine":
        n = prepare.combine_ab(args.a, args.b, args.output, resize_b=args.resize_b)
    elif action == "prepare" and what == "edges":
        n = prepare.edge_pairs(
            args.src, args.output, method=args.method, low=args.low, high=args.high, size=args.size or None
        )
    elif action == "prepare" and what == "gray":
        n = prepare.gray_pairs(args.src, args.output, size=args.size or None)
    elif action == "prepare" and what == "split":
        counts = prepare.split_dataset(args.src, args.output, val=args.val, test=args.test, seed=args.seed)
        print(", ".join(f"{k} {v}" for k, v in counts.items()))
        return 0
    else:
        args._parser.print_help()
        return 2
    print(f"wrote {n} pair(s) into {args.output}")
    return 0
