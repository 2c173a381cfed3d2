"""One clip in chunks: ranges of frames rendered apart (other processes, other machines), then joined.

``styleforge video IN --frames A:B -o part.mp4`` renders the kept frames ``A … B−1``; each part
keeps its recipe (input, mode, every option that changes the pictures, the clip-level colour
fit) in its container's comment.  :func:`join_chunks` checks that the parts come from the same
recipe and cover the clip, cross-fades the frames where two parts overlap (the later part
starts cold, without the temporal state of the earlier one: a linear blend over the overlap
hides the seam), encodes the result and adds the input's audio.  :func:`chunk_ranges` gives
``torchrun`` ranks their overlapping ranges.
"""

from __future__ import annotations

__all__ = ["OVERLAP", "chunk_ranges", "join_chunks", "read_chunk"]

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .container import FrameWriter, check_video_output, finalize, pick_codec, probe, read_comment, read_frames
from .defaults import OVERLAP


def chunk_ranges(total: int, parts: int, overlap: int = OVERLAP) -> list[tuple[int, int]]:
    """``parts`` ranges ``[a, b)`` covering ``0 … total−1``, neighbours sharing ``overlap`` frames (pure)."""
    if total < 1 or parts < 1:
        raise InputError(f"cannot split {total} frames into {parts} chunks")
    parts = min(parts, total)
    cuts = [round(i * total / parts) for i in range(parts + 1)]
    lo, hi = overlap // 2, overlap - overlap // 2
    return [
        (max(0, cuts[i] - (lo if i else 0)), min(total, cuts[i + 1] + (hi if i < parts - 1 else 0)))
        for i in range(parts)
    ]


def read_chunk(path: Path) -> dict[str, Any]:
    """The recipe a ``styleforge video`` output keeps in its comment (one line on anything else)."""
    probe(path, what="chunk")
    comment = read_comment(path) or ""
    if not comment.startswith("styleforge:"):
        raise InputError(f"{path} was not written by styleforge video (no recipe in it): cannot join it")
    try:
        recipe = json.loads(comment[len("styleforge:") :])
    except ValueError:
        raise InputError(f"{path}: its recipe is unreadable") from None
    if not isinstance(recipe, dict) or "options" not in recipe:
        raise InputError(f"{path}: its recipe is unreadable")
    return recipe


def crossfade(a: np.ndarray, b: np.ndarray, weight: float) -> np.ndarray:
    """``(1 − weight)·a + weight·b`` of two uint8 frames, rounded (pure)."""
    return np.clip(a.astype(np.float32) + weight * (b.astype(np.float32) - a.astype(np.float32)) + 0.5, 0, 255).astype(
        np.uint8
    )


def join_chunks(
    chunks: list[Path], output: str | os.PathLike[str], *, audio: bool = True, codec: str = "auto", crf: int = 18
) -> tuple[Path, list[int]]:
    """Join chunk files into ``output`` (atomic), with the input's audio → (output, first frame of each seam)."""
    out = check_video_output(output)
    if len(chunks) < 1:
        raise InputError("give the chunk files to join")
    parts = []
    for c in chunks:
        r = read_chunk(Path(c))
        frames = r["options"].get("frames") or [0, None]
        parts.append((int(frames[0]), Path(c), r))
    parts.sort(key=lambda x: x[0])
    base = parts[0][2]

    def same(r: dict[str, Any]) -> dict[str, Any]:
        return {**r, "options": {k: v for k, v in r["options"].items() if k != "frames"}}

    for _a, c, r in parts[1:]:
        if same(r) != same(base):
            diff = [k for k in same(base) if same(base).get(k) != same(r).get(k)]
            raise InputError(
                f"{c} was made from another clip or with other settings ({', '.join(diff)}) than "
                f"{parts[0][1]}: cannot join them"
            )
    ends = []
    for a, c, _ in parts:
        n = sum(1 for _ in read_frames(c, tolerant=True))
        ends.append(a + n)
    for (a, c, _), prev_end in zip(parts[1:], ends[:-1], strict=True):
        if a > prev_end:
            raise InputError(f"frames {prev_end}…{a - 1} are missing between the chunks (before {c})")
    info = probe(parts[0][1], what="chunk")
    w, h = base["frame_size"]
    opts = base["options"]
    src = Path(base["input"])
    fps_out = info.fps
    tmp = out.with_name(out.stem + ".join.partial.mp4")
    writer = FrameWriter(tmp, w, h, fps_out, codec=pick_codec(codec), crf=crf)
    seams: list[int] = []
    try:
        held: list[np.ndarray] = []  # the previous chunk's frames where it overlaps this one
        for i, (a, c, _) in enumerate(parts):
            nxt = parts[i + 1][0] if i + 1 < len(parts) else None
            carry: list[np.ndarray] = []
            n_ov = len(held)
            if i:
                seams.append(a)
            for j, f in enumerate(read_frames(c, tolerant=True)):
                if nxt is not None and a + j >= nxt:  # cross-faded into the next chunk
                    carry.append(f)
                    continue
                if j < n_ov:
                    f = crossfade(held[j], f, (j + 1) / (n_ov + 1))
                writer.write(f)
            held = carry
        writer.close()
        has_audio = audio and src.is_file() and probe(src).has_audio
        start = float(opts.get("start") or 0.0) + parts[0][0] * int(opts.get("every") or 1) / float(
            probe(src).fps if src.is_file() else fps_out
        )
        finalize(
            tmp,
            out,
            audio_from=src if has_audio else None,
            start=start,
            duration=writer.count / float(Fraction(fps_out)),
            comment="styleforge:" + json.dumps({**base, "options": {**opts, "frames": None}}, separators=(",", ":")),
        )
    finally:
        writer.close()
        tmp.unlink(missing_ok=True)
    return out, seams
