"""``faces collect``: download a list of image URLs into RAW_DIR.

``URLS.txt`` holds one URL per line, optionally preceded by a class folder
(``makeup https://…/a.jpg``); blank lines and ``#`` comments are ignored.

* parallel (a thread pool), each URL retried with exponential back-off on
  timeouts, connection errors and HTTP 5xx/429 (not on 404 or other 4xx);
* resumable: a file that is already there is skipped, and partial downloads
  are written to ``.part`` files and renamed only when complete and verified;
* every download is checked to be a decodable image (an HTML error page with
  status 200 is a failure, not a ``.jpg``);
* failures go to ``RAW_DIR/failures.csv`` (url, error), rewritten each run so
  it lists what is still missing.
"""

from __future__ import annotations

__all__ = ["CollectResult", "parse_url_list", "target_name", "collect"]

import csv
import hashlib
import io
import os
import re
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..download import DownloadError, download
from ..errors import InputError
from ..io import atomic_path

_FORMAT_EXT = {
    "JPEG": ".jpg",
    "PNG": ".png",
    "WEBP": ".webp",
    "GIF": ".gif",
    "BMP": ".bmp",
    "TIFF": ".tif",
    "MPO": ".jpg",
}
_USER_AGENT = "styleforge-faces-collect/0.1"


@dataclass
class CollectResult:
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def parse_url_list(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """``(class_folder, url)`` pairs from a URL list (class ``""`` = RAW_DIR itself)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"URL list not found: {p}")
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) == 1:
            cls, url = "", parts[0]
        elif len(parts) == 2:
            cls, url = parts
        else:
            raise InputError(f"{p}:{n}: expected 'URL' or 'CLASS URL', got {line[:80]!r}")
        if urllib.parse.urlparse(url).scheme not in ("http", "https"):
            raise InputError(f"{p}:{n}: not an http(s) URL: {url[:80]!r}")
        if cls and (not re.fullmatch(r"[\w.-]+", cls) or cls in (".", "..")):
            raise InputError(f"{p}:{n}: bad class folder name {cls!r}")
        out.append((cls, url))
    if not out:
        raise InputError(f"URL list {p} holds no URLs")
    return out


def target_name(url: str) -> str:
    """A stable, collision-free file stem for a URL: ``<basename>-<8 hex of the URL hash>``."""
    base = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).stem or "image"
    base = re.sub(r"[^\w.-]+", "_", base)[:60] or "image"
    return f"{base}-{hashlib.sha1(url.encode()).hexdigest()[:8]}"


def _existing(folder: Path, stem: str) -> Path | None:
    for ext in set(_FORMAT_EXT.values()):
        if (folder / f"{stem}{ext}").is_file():
            return folder / f"{stem}{ext}"
    return None


def _fetch(url: str, timeout: float, max_bytes: int) -> bytes:
    """The body of ``url`` (:func:`styleforge.download.download` through a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="styleforge-collect-") as tmp:
        path = download(
            url, Path(tmp) / "body", timeout=timeout, max_bytes=max_bytes, headers={"User-Agent": _USER_AGENT}
        )
        return path.read_bytes()


def _download_one(
    cls: str, url: str, raw: Path, *, timeout: float, retries: int, backoff: float, max_bytes: int
) -> tuple[str, str, str]:
    """Returns ``(status, url, detail)`` with status ``ok``/``skip``/``fail``."""
    folder = raw / cls if cls else raw
    stem = target_name(url)
    have = _existing(folder, stem)
    if have is not None:
        return "skip", url, str(have)
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            data = _fetch(url, timeout, max_bytes)
        except DownloadError as e:
            if not e.retry:
                return "fail", url, e.reason
            last = e.reason
            continue
        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or ""
                im.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            head = data[:40].decode("latin-1").strip().replace("\n", " ")
            return "fail", url, f"not an image ({len(data)} bytes starting {head[:30]!r})"
        ext = _FORMAT_EXT.get(fmt, ".img")
        folder.mkdir(parents=True, exist_ok=True)
        dst = folder / f"{stem}{ext}"
        with atomic_path(dst) as tmp:
            tmp.write_bytes(data)
        return "ok", url, str(dst)
    return "fail", url, last or "failed"


def collect(
    url_list: str | os.PathLike[str],
    raw_dir: str | os.PathLike[str],
    *,
    workers: int = 8,
    timeout: float = 20.0,
    retries: int = 2,
    backoff: float = 0.5,
    max_bytes: int = 50 * 2**20,
    progress: Callable[[int, int], None] | None = None,
) -> CollectResult:
    """Download every URL of ``url_list`` into ``raw_dir`` (see the module docstring)."""
    items = parse_url_list(url_list)
    raw = Path(raw_dir)
    if raw.exists() and not raw.is_dir():
        raise InputError(f"RAW_DIR {raw} is a file, not a folder")
    raw.mkdir(parents=True, exist_ok=True)
    res = CollectResult()
    unique = list(dict.fromkeys(items))  # first occurrence of each (class, url), in order
    with ThreadPoolExecutor(max(1, workers)) as ex:
        futs = [
            ex.submit(_download_one, c, u, raw, timeout=timeout, retries=retries, backoff=backoff, max_bytes=max_bytes)
            for c, u in unique
        ]
        for k, f in enumerate(futs):
            status, url, detail = f.result()
            if status == "ok":
                res.downloaded.append(detail)
            elif status == "skip":
                res.skipped.append(detail)
            else:
                res.failed.append((url, detail))
            if progress:
                progress(k + 1, len(futs))
    fail_path = raw / "failures.csv"
    if res.failed:
        with atomic_path(fail_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["url", "error"])
            w.writerows(res.failed)
    elif fail_path.exists():
        fail_path.unlink()
    return res
