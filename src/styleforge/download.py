"""Downloads: one atomic, hash-checked HTTP fetch for the whole package (standard library only).

:func:`download` writes ``url`` to ``dest`` through a hidden ``.part`` file renamed at the end,
so a stopped, truncated or refused transfer never leaves a file that looks complete; with
``sha256`` the bytes must have that digest.  Every failure is one
:class:`DownloadError` line (an :class:`~styleforge.errors.InputError`), whose ``retry`` says
whether trying again may help.  The pretrained generators (:mod:`styleforge.gan.pretrained`),
the paper datasets (:mod:`styleforge.data.prepare`, :mod:`styleforge.data.unaligned`) and the
face-photo collector (:mod:`styleforge.faces.collect`) use it; :func:`sha256` is the package's
file/bytes digest.
"""

from __future__ import annotations

__all__ = ["DownloadError", "download", "sha256"]

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from .errors import InputError


class DownloadError(InputError):
    """A download that failed (one line).

    ``retry``: a timeout, a dropped connection or a server error that a later try may not meet
    (``False``: e.g. HTTP 404, a wrong digest, too large); ``reason``: the cause alone, short
    (``"HTTP 404"``, ``"timed out after 20 s"``), for logs that list many URLs.
    """

    def __init__(self, message: str, *, retry: bool, reason: str = "") -> None:
        super().__init__(message)
        self.retry = retry
        self.reason = reason or message


def sha256(data: bytes | os.PathLike[str] | str) -> str:
    """Hex SHA-256 of ``data`` (bytes) or of the file at a path (read in 1 MiB chunks).

    Example:
        >>> sha256(b"abc")[:16]
        'ba7816bf8f01cfea'
    """
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    h = hashlib.sha256()
    with open(data, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    timeout: float = 30.0,
    progress: bool | None = False,
    headers: Mapping[str, str] | None = None,
    max_bytes: int | None = None,
    what: str | None = None,
    hint: str | None = None,
) -> Path:
    """Fetch ``url`` into ``dest`` atomically; returns ``dest``.

    Args:
        sha256: expected hex digest; a download with another digest is refused and not kept.
        timeout: seconds per network operation.
        progress: a byte progress bar on stderr (``None``: when stderr is a terminal).
        headers: extra request headers (e.g. a ``User-Agent``).
        max_bytes: refuse (``retry=False``) a body larger than this.
        what: the name in the messages (default: the URL).
        hint: appended to the message when the server cannot be reached (how to get the file by hand).

    Raises:
        DownloadError: offline, HTTP error, truncated or oversized transfer, wrong digest —
            one line, nothing left at ``dest``.
    """
    dest = Path(dest)
    name = f"{what} from {url}" if what else url
    tail = f"; {hint}" if hint else ""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    got = 0
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(url, headers=dict(headers or {}))
        with urllib.request.urlopen(request, timeout=timeout) as r, open(tmp, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0) or None
            if max_bytes is not None and total is not None and total > max_bytes:
                raise DownloadError(
                    f"{name} is larger than {max_bytes // 2**20} MiB",
                    retry=False,
                    reason=f"larger than {max_bytes // 2**20} MiB",
                )
            bar = None
            if progress if progress is not None else sys.stderr.isatty():
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False, file=sys.stderr)
            try:
                while chunk := r.read(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)
                    got += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                    if max_bytes is not None and got > max_bytes:
                        raise DownloadError(
                            f"{name} is larger than {max_bytes // 2**20} MiB",
                            retry=False,
                            reason=f"larger than {max_bytes // 2**20} MiB",
                        )
            finally:
                if bar is not None:
                    bar.close()
        if total is not None and got != total:
            raise DownloadError(f"the download of {name} stopped after {got} of {total} bytes; try again", retry=True)
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise DownloadError(
                f"the download of {name} has SHA-256 {digest.hexdigest()[:16]}…, expected {sha256[:16]}…", retry=False
            )
        os.replace(tmp, dest)
    except http.client.IncompleteRead as e:
        raise DownloadError(
            f"the download of {name} stopped after {got + len(e.partial)} bytes; try again", retry=True
        ) from None
    except urllib.error.HTTPError as e:
        retry = e.code in (408, 429) or e.code >= 500
        raise DownloadError(
            f"cannot download {name}: HTTP {e.code} {e.reason}", retry=retry, reason=f"HTTP {e.code}"
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        cause = getattr(e, "reason", e)
        if isinstance(cause, TimeoutError) or isinstance(e, TimeoutError):
            short = f"timed out after {timeout:g} s"
        else:
            short = str(cause)
        raise DownloadError(
            f"cannot download {name} (offline or no internet access? {short}){tail}", retry=True, reason=short
        ) from None
    except OSError as e:
        raise DownloadError(f"cannot download {name} ({e}){tail}", retry=True) from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest
