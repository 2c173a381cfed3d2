"""``faces prepare``: folders of raw photos → aligned, cleaned, de-duplicated, split face crops.

Layout in::

    RAW_DIR/<class A>/*.jpg   (default A = no_makeup)
    RAW_DIR/<class B>/*.jpg   (default B = makeup)

Layout out (ready for ``styleforge train cyclegan``)::

    OUT_DIR/trainA/ testA/ trainB/ testB/   aligned size×size PNG crops
    OUT_DIR/manifest.csv                    one row per face / unusable file
    OUT_DIR/dataset.json                    what made this folder (source, classes, specs)

Everything is built in a staging folder next to ``OUT_DIR`` and moved in at the
end: a failed run (bad input, empty result) leaves ``OUT_DIR`` untouched.
"""

from __future__ import annotations

__all__ = ["PrepareSpec", "PrepareResult", "prepare_dataset", "DATASET_MARKER"]

import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError, suggest
from ..io import IMAGE_EXTENSIONS, load_image
from .align import AlignSpec, align_crop, similarity_from_eyes
from .clean import CleanSpec, blur_score, color_spread, duplicate_groups, face_hash, quality_issue
from .detect import FaceDetector, HaarDetector
from .manifest import ManifestRow, summary_table, write_manifest
from .split import split_groups

DATASET_MARKER = "dataset.json"
_OUR_ENTRIES = ("trainA", "trainB", "testA", "testB", "manifest.csv", DATASET_MARKER)


@dataclass(frozen=True)
class PrepareSpec:
    """Everything ``prepare`` does, as one value (stored in ``dataset.json``).

    Args:
        classes: sub-folders of RAW_DIR for domain A and domain B.
        faces: ``"largest"`` keeps the largest face of each photo, ``"all"`` every face.
        test_ratio: fraction of source photos (per class) that go to ``test*``.
        seed: seed of the split.
        workers: processes for detection (0 = one per CPU core, at most 8).
    """

    classes: tuple[str, str] = ("no_makeup", "makeup")
    align: AlignSpec = field(default_factory=AlignSpec)
    clean: CleanSpec = field(default_factory=CleanSpec)
    faces: str = "largest"
    test_ratio: float = 0.1
    seed: int = 0
    workers: int = 0

    def __post_init__(self) -> None:
        if self.faces not in ("largest", "all"):
            raise InputError(f"--faces must be 'largest' or 'all', got {self.faces!r}")
        if len(self.classes) != 2 or self.classes[0] == self.classes[1]:
            raise InputError(f"need two different class folders, got {list(self.classes)}")
        if not 0.0 <= self.test_ratio < 1.0:
            raise InputError(f"--test-ratio must be in [0, 1), got {self.test_ratio}")


@dataclass
class PrepareResult:
    out_dir: Path
    rows: list[ManifestRow]
    summary: str
    skipped_files: list[tuple[str, str]]  # (source, why) for files that are not usable images

    def kept(self, cls: str | None = None) -> int:
        return sum(1 for r in self.rows if r.status == "kept" and (cls is None or r.cls == cls))


def _detector_for(spec: PrepareSpec) -> HaarDetector:
    # Search faces down to 3/4 of the size limit, so faces just under it are
    # reported as too_small rather than missing, without scanning tiny scales.
    return HaarDetector(min_face=0.0, min_face_px=max(24, int(0.75 * spec.clean.min_face)))


def _reference_spec(spec: AlignSpec) -> AlignSpec:
    return AlignSpec(size=256, eye_distance=spec.eye_distance, eye_y=spec.eye_y)


def _worker_init() -> None:
    # One OpenCV thread per worker process: the processes already fill the cores.
    import cv2

    cv2.setNumThreads(1)


def _process_file(task: tuple[str, str, str, PrepareSpec, FaceDetector | None, str]) -> list[tuple[ManifestRow, str]]:
    """Detect, align and check one photo; crops that pass are written to the staging folder."""
    path, cls, rel, spec, detector, stage = task
    det = detector or _detector_for(spec)
    try:
        img = np.asarray(load_image(path))
    except InputError as e:
        return [(ManifestRow(source=rel, cls=cls, reason="not_an_image", note=str(e)[:200]), "")]
    faces = det(img)
    if not faces:
        return [(ManifestRow(source=rel, cls=cls, reason="no_face"), "")]
    out: list[tuple[ManifestRow, str]] = []
    for i, f in enumerate(faces):
        x, y, w, h = f.box
        row = ManifestRow(
            source=rel, cls=cls, face=i, box_x=x, box_y=y, box_w=w, box_h=h,
            eye_left_x=f.eye_left[0], eye_left_y=f.eye_left[1],
            eye_right_x=f.eye_right[0], eye_right_y=f.eye_right[1], eyes_found=f.eyes_found,
        )  # fmt: skip
        if spec.faces == "largest" and i > 0:
            row.reason = "not_largest"
            out.append((row, ""))
            continue
        m = similarity_from_eyes(f.eye_left, f.eye_right, spec.align)
        crop = align_crop(img, m, spec.align.size)
        # Quality and hashes are measured on a 256 px crop whatever the output size,
        # so thresholds mean the same for --size 64 and --size 512.
        ref = (
            crop
            if spec.align.size == 256
            else align_crop(img, similarity_from_eyes(f.eye_left, f.eye_right, _reference_spec(spec.align)), 256)
        )
        row.blur, row.color = blur_score(ref), color_spread(ref)
        issue = quality_issue(f, ref, spec.clean)
        if issue:
            row.reason = issue
            out.append((row, ""))
            continue
        row.phash = f"{face_hash(img, f, ref):032x}"
        name = hashlib.sha1(f"{rel}#{i}".encode()).hexdigest()[:16] + ".png"
        dst = os.path.join(stage, name)
        Image.fromarray(crop).save(dst, compress_level=1)
        out.append((row, dst))
    return out


def _list_class(raw: Path, cls: str) -> tuple[list[Path], list[Path]]:
    folder = raw / cls
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and not any(s.startswith(".") for s in p.relative_to(folder).parts)
    )
    imgs = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    return imgs, [p for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]


def _check_out_dir(out: Path, raw: Path, spec: PrepareSpec, overwrite: bool) -> None:
    r, o = raw.resolve(), out.resolve()
    if o == r or r in o.parents or o in r.parents:
        raise InputError(f"OUT_DIR {out} and RAW_DIR {raw} must not contain each other")
    if out.exists() and not out.is_dir():
        raise InputError(f"OUT_DIR {out} is a file, not a folder")
    if not out.exists() or not any(out.iterdir()):
        return
    marker = out / DATASET_MARKER
    if not marker.is_file():
        raise InputError(
            f"OUT_DIR {out} is not empty and holds no styleforge face dataset; choose an empty or new folder"
        )
    try:
        old = json.loads(marker.read_text())
    except (OSError, ValueError):
        raise InputError(f"OUT_DIR {out} has an unreadable {DATASET_MARKER}; choose another folder") from None
    others = sorted(p.name for p in out.iterdir() if p.name not in _OUR_ENTRIES)
    if others:
        raise InputError(
            f"OUT_DIR {out} holds files that prepare did not write ({', '.join(others[:5])}); choose another folder"
        )
    same = old.get("source") == str(r) and list(old.get("classes", [])) == list(spec.classes)
    if not same and not overwrite:
        raise InputError(
            f"OUT_DIR {out} already holds a different dataset (made from {old.get('source')} with classes "
            f"{old.get('classes')}); choose another folder or pass --overwrite"
        )


def _unique_name(stem: str, taken: set[str]) -> str:
    name, k = f"{stem}.png", 1
    while name in taken:
        k += 1
        name = f"{stem}_{k}.png"
    taken.add(name)
    return name


def prepare_dataset(
    raw_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    spec: PrepareSpec = PrepareSpec(),
    *,
    overwrite: bool = False,
    detector: FaceDetector | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PrepareResult:
    """Build an aligned, cleaned, split face dataset; see the module docstring.

    Raises:
        InputError: RAW_DIR or a class folder missing, OUT_DIR holding something
            else, or a class with no face left after cleaning (nothing is written).
    """
    raw, out = Path(raw_dir), Path(out_dir)
    if not raw.is_dir():
        raise InputError(f"RAW_DIR not found: {raw}")
    present = sorted(p.name for p in raw.iterdir() if p.is_dir() and not p.name.startswith("."))
    for c in spec.classes:
        if not (raw / c).is_dir():
            raise InputError(
                f"class folder {raw / c} is missing{suggest(c, present)}; RAW_DIR holds: "
                f"{', '.join(present) or '(no folders)'} — put each class in its own sub-folder or pass --classes A,B"
            )
    _check_out_dir(out, raw, spec, overwrite)

    rows: list[ManifestRow] = []
    tasks = []
    seen_bytes: dict[str, tuple[str, str]] = {}
    exact: list[ManifestRow] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        (stage / "crops").mkdir()
        for cls in spec.classes:
            imgs, others = _list_class(raw, cls)
            for p in others:
                rows.append(
                    ManifestRow(
                        source=f"{cls}/{p.relative_to(raw / cls)}", cls=cls, reason="not_an_image",
                        note=f"not an image file ({p.suffix or 'no extension'})",
                    )
                )  # fmt: skip
            for p in imgs:
                rel = f"{cls}/{p.relative_to(raw / cls)}"
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
                if digest in seen_bytes:
                    first_rel, first_cls = seen_bytes[digest]
                    exact.append(ManifestRow(source=rel, cls=cls, reason="exact_duplicate", duplicate_of=first_rel))
                    if first_cls != cls:
                        exact[-1].reason = "cross_class_duplicate"
                        seen_bytes[digest] = (first_rel, "*cross*")
                    continue
                seen_bytes[digest] = (rel, cls)
                tasks.append((str(p), cls, rel, spec, detector, str(stage / "crops")))
        cross_sources = {first for first, c in seen_bytes.values() if c == "*cross*"}

        results: list[list[tuple[ManifestRow, str]]] = []
        workers = spec.workers or min(8, os.cpu_count() or 1)
        if workers > 1 and len(tasks) >= 16:
            with ProcessPoolExecutor(workers, initializer=_worker_init) as ex:
                for k, r in enumerate(ex.map(_process_file, tasks, chunksize=4)):
                    results.append(r)
                    if progress:
                        progress(k + 1, len(tasks))
        else:
            for k, t in enumerate(tasks):
                results.append(_process_file(t))
                if progress:
                    progress(k + 1, len(tasks))

        cands: list[tuple[ManifestRow, str]] = []
        for res in results:
            for row, crop in res:
                rows.append(row)
                if crop:
                    if row.source in cross_sources:
                        row.reason = "cross_class_duplicate"
                        os.unlink(crop)
                    else:
                        cands.append((row, crop))
        rows.extend(exact)

        # Near duplicates (within and across classes) on the aligned crops.
        # The copy to keep leads its group: the largest face (highest resolution), then by name.
        cands.sort(key=lambda rc: (-rc[0].box_w, rc[0].source, rc[0].face))
        for group in duplicate_groups([int(r.phash, 16) for r, _ in cands], spec.clean.dup_distance):
            members = [cands[i][0] for i in group]
            if len({m.cls for m in members}) > 1:
                for m in members:
                    m.reason = "cross_class_duplicate"
                    m.duplicate_of = ";".join(o.source for o in members if o is not m)[:300]
                continue
            best = members[0]
            for m in members:
                if m is not best:
                    m.reason, m.duplicate_of = "near_duplicate", best.source
        survivors = [(r, c) for r, c in cands if not r.reason]

        # Empty result → one clear message with the counts, nothing written.
        for cls in spec.classes:
            if not any(r.cls == cls for r, _ in survivors):
                rs = [r for r in rows if r.cls == cls]
                cnt = Counter(r.reason for r in rs if r.reason)
                why = ", ".join(f"{k} {v}" for k, v in cnt.most_common()) or "no image files"
                raise InputError(
                    f"no face of class '{cls}' is left after cleaning: {len({r.source for r in rs})} files, "
                    f"{sum(1 for r in rs if r.face >= 0)} faces found, 0 kept ({why})"
                )

        for ab, cls in zip("AB", spec.classes, strict=True):
            mine = [(r, c) for r, c in survivors if r.cls == cls]
            sides = split_groups([r.source for r, _ in mine], spec.test_ratio, spec.seed)
            taken: set[str] = set()
            for (row, crop), side in zip(mine, sides, strict=True):
                folder = f"{side}{ab}"
                (stage / folder).mkdir(exist_ok=True)
                stem = Path(row.source).with_suffix("").as_posix().split("/", 1)[1].replace("/", "__")
                name = _unique_name(stem if spec.faces == "largest" else f"{stem}_f{row.face}", taken)
                os.replace(crop, stage / folder / name)
                row.status, row.split, row.output = "kept", folder, f"{folder}/{name}"
        for folder in ("trainA", "testA", "trainB", "testB"):
            (stage / folder).mkdir(exist_ok=True)
        shutil.rmtree(stage / "crops")

        rows.sort(key=lambda r: (spec.classes.index(r.cls), r.source, r.face))
        write_manifest(rows, stage / "manifest.csv")
        meta = {
            "format": "styleforge-faces/1",
            "source": str(raw.resolve()),
            "classes": list(spec.classes),
            "A": spec.classes[0],
            "B": spec.classes[1],
            "spec": asdict(spec),
            "counts": {f"{s}{ab}": len(list((stage / f"{s}{ab}").iterdir())) for s in ("train", "test") for ab in "AB"},
        }
        (stage / DATASET_MARKER).write_text(json.dumps(meta, indent=2))

        if out.exists():
            for name in _OUR_ENTRIES:
                p = out / name
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
            for p in stage.iterdir():
                os.replace(p, out / p.name)
            stage.rmdir()
        else:
            os.replace(stage, out)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)

    skipped = [(r.source, r.note) for r in rows if r.reason == "not_an_image"]
    return PrepareResult(out_dir=out, rows=rows, summary=summary_table(rows, list(spec.classes)), skipped_files=skipped)
