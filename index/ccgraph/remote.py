"""Remote files fetched whole to a local folder: timeouts, retries with back-off, and a
download that stopped resumes where it stopped (an HTTP Range request for the rest).

A release's files are read several times over (checks, then the import) and a 15 GB
edges file is not re-downloaded because a connection dropped at 14 GB: the copy on
disk is the resume point, and ``name.part`` becomes ``name`` only when whole.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from core.errors import LinkindexError

__all__ = ["fetch_file", "get", "is_remote"]

TIMEOUT = 30.0  # seconds without a byte before a read gives up (then retried)
RETRIES = 6
BACKOFF = 0.5  # seconds before the first retry, doubled each time
CHUNK = 1 << 20


def is_remote(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https", "s3")


def fetch_file(url: str, folder: Path, *, sleep: Callable[[float], None] = time.sleep,
               retries: int = RETRIES) -> Path:
    """The file at `url` as a local file in `folder` (downloaded once; resumed)."""
    name = Path(urlsplit(url).path).name or "download"
    final = folder / name
    if final.exists():
        return final
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{name}.part"
    if urlsplit(url).scheme == "s3":
        _fetch_s3(url, partial)
        os.replace(partial, final)
        return final
    whole, last = _retrying(url, lambda: True if _download(url, partial) else None,
                            sleep=sleep, retries=retries)
    if whole:
        os.replace(partial, final)
        return final
    kept = partial.stat().st_size if partial.exists() else 0
    resume = f"; run the command again to resume from byte {kept:,}" if kept else ""
    raise LinkindexError(f"{url}: download failed after {retries + 1} attempts ({last})"
                         f"{resume}")


def get(url: str, headers: dict[str, str] | None = None, *,
        sleep: Callable[[float], None] = time.sleep) -> bytes:
    """One HTTP GET answered whole (a Range in `headers` for a piece), with a timeout
    and retries with back-off; one LinkindexError line when it cannot be had."""
    def read() -> bytes:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=TIMEOUT) as answer:
            return answer.read()

    data, last = _retrying(url, read, sleep=sleep)
    if data is None:
        raise LinkindexError(f"{url}: failed after {RETRIES + 1} attempts ({last})")
    return data


T = TypeVar("T")
FINAL = (403, 404, 410, 416)  # answers that another attempt would not change


def _retrying(url: str, attempt: Callable[[], T | None], *,
              sleep: Callable[[float], None], retries: int = RETRIES) -> tuple[T | None, str]:
    """`attempt()` until it gives a value, with back-off between tries: the value, or
    None and the last failure's reason. A final HTTP answer is one LinkindexError."""
    delay, last = BACKOFF, ""
    for number in range(retries + 1):
        try:
            value = attempt()
            if value is not None:
                return value, ""
            last = "the server ended the answer early"
        except urllib.error.HTTPError as exc:
            if exc.code in FINAL:
                raise LinkindexError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            last = f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            last = str(getattr(exc, "reason", exc)) or type(exc).__name__
        if number < retries:
            sleep(delay)
            delay *= 2
    return None, last


def _download(url: str, partial: Path) -> bool:
    """Append the rest of `url` to `partial`; True when the file is whole."""
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        answer = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left: the part is whole
            return True
        raise
    with answer:
        if have and answer.status != 206:  # the server ignored Range: start again
            have = 0
        total = _total(answer.headers, have)
        with open(partial, "ab" if have else "wb") as fh:
            while chunk := answer.read(CHUNK):
                fh.write(chunk)
    size = partial.stat().st_size
    return total is None or size >= total


def _total(headers: object, have: int) -> int | None:
    """The whole file's size from Content-Range (206) or Content-Length (200)."""
    content_range = headers.get("Content-Range")  # type: ignore[attr-defined]
    if content_range and "/" in content_range:
        size = content_range.rsplit("/", 1)[1]
        return int(size) if size.isdigit() else None
    length = headers.get("Content-Length")  # type: ignore[attr-defined]
    return have + int(length) if length and length.isdigit() else None


def _fetch_s3(url: str, partial: Path) -> None:
    """An s3:// object through the project's storage layer (its endpoint and errors)."""
    from core.storage import Storage

    parts = urlsplit(url)
    folder, _, name = parts.path.lstrip("/").rpartition("/")
    storage = Storage.of(f"s3://{parts.netloc}/{folder}" if folder else f"s3://{parts.netloc}")
    storage.get_file(name, partial)
