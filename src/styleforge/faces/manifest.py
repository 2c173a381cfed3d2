"""The prepare manifest: one CSV row per face (or per unusable file), and its summary table."""

from __future__ import annotations

__all__ = ["ManifestRow", "FIELDS", "write_manifest", "read_manifest", "summary_table"]

import csv
import os
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..io import atomic_path


@dataclass
class ManifestRow:
    """One face found in a source photo, or one source file that gave no face.

    ``status`` is ``kept`` or ``dropped``; ``reason`` says why a face was dropped
    (``not_an_image``, ``no_face``, ``too_small``, ``eyes_not_found``, ``profile``,
    ``grayscale``, ``blurry``, ``exact_duplicate``, ``near_duplicate``,
    ``cross_class_duplicate``, ``not_largest``).  ``split`` and ``output`` are set
    for kept faces (``trainA/…``); ``note`` holds why a file is unreadable.  Box and eyes are source-pixel coordinates.
    """

    source: str
    cls: str
    face: int = -1
    status: str = "dropped"
    reason: str = ""
    box_x: int = -1
    box_y: int = -1
    box_w: int = -1
    box_h: int = -1
    eye_left_x: float = -1.0
    eye_left_y: float = -1.0
    eye_right_x: float = -1.0
    eye_right_y: float = -1.0
    eyes_found: int = 0
    blur: float = -1.0
    color: float = -1.0
    phash: str = ""
    duplicate_of: str = ""
    split: str = ""
    output: str = ""
    note: str = ""


FIELDS = [f.name for f in fields(ManifestRow)]


def write_manifest(rows: list[ManifestRow], path: str | os.PathLike[str]) -> Path:
    """Write the rows as CSV (atomically)."""
    p = Path(path)
    with atomic_path(p) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            d = asdict(r)
            for k in ("eye_left_x", "eye_left_y", "eye_right_x", "eye_right_y", "blur", "color"):
                d[k] = f"{d[k]:.2f}"
            w.writerow(d)
    return p


def read_manifest(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a manifest as dicts of strings."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary_table(rows: list[ManifestRow], classes: list[str]) -> str:
    """A plain-text table: per class, files, faces found, kept per split and each drop reason."""
    reasons = sorted({r.reason for r in rows if r.status == "dropped"})
    head = ["class", "files", "faces", "kept", "train", "test", *reasons]
    lines = [head]
    for c in classes:
        rs = [r for r in rows if r.cls == c]
        cnt = Counter(r.reason for r in rs if r.status == "dropped")
        kept = [r for r in rs if r.status == "kept"]
        lines.append(
            [
                c,
                str(len({r.source for r in rs})),
                str(sum(1 for r in rs if r.face >= 0)),
                str(len(kept)),
                str(sum(1 for r in kept if r.split.startswith("train"))),
                str(sum(1 for r in kept if r.split.startswith("test"))),
                *(str(cnt.get(k, 0)) for k in reasons),
            ]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = []
    for j, row in enumerate(lines):
        out.append("  ".join(v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(row)))
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
