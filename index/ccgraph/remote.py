"""Remote files fetched whole to a local folder, a piece at a time, or streamed: timeouts,
retries with back-off, and a download or a stream that stopped resumes where it stopped
(an HTTP Range request for the rest).

A release's files are read several times over (checks, then the import) and a 15 GB
edges file is not re-downloaded because a connection dropped at 14 GB: the copy on
disk is the resume point, and ``name.part`` becomes ``name`` only when whole.
"""

from __future__ import annotations

import http.client
import io
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from core.errors import LinkindexError

__all__ = ["HttpStream", "RemoteGone", "fetch_file", "get", "is_remote"]

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


class RemoteGone(LinkindexError):
    """A final answer (missing, forbidden): another attempt would get the same."""


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
                raise RemoteGone(f"{url}: HTTP {exc.code} {exc.reason}") from None
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


class HttpStream(io.RawIOBase):
    """An http(s) file read forward as it arrives, without a copy on disk (a 1 GB WAT
    file is read once). A connection that drops or stalls is reopened at the byte
    reached, by a Range request, with the same retries and back-off as a download; a
    seek (rare: resynchronising after damage) reopens there."""

    def __init__(self, url: str, *, sleep: Callable[[float], None] = time.sleep,
                 retries: int = RETRIES) -> None:
        super().__init__()
        self.url = url
        self.sleep = sleep
        self.retries = retries
        self.position = 0
        self.size: int | None = None
        self.reopened = 0  # connections reopened after a drop (for tests and reports)
        self._answer: Any = None
        self._open()

    def _open(self) -> None:
        headers = {"Range": f"bytes={self.position}-"} if self.position else {}

        def attempt() -> Any:
            answer = urllib.request.urlopen(urllib.request.Request(self.url, headers=headers),
                                            timeout=TIMEOUT)
            if self.position and answer.status != 206:
                answer.close()
                raise LinkindexError(f"{self.url}: the server cannot resume at byte "
                                     f"{self.position:,} (it ignores Range requests)")
            return answer

        answer, last = _retrying(self.url, attempt, sleep=self.sleep, retries=self.retries)
        if answer is None:
            raise LinkindexError(f"{self.url}: failed after {self.retries + 1} attempts "
                                 f"({last}) at byte {self.position:,}")
        if self.size is None:
            self.size = _total(answer.headers, self.position)
        self._answer = answer

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence != io.SEEK_SET:
            raise io.UnsupportedOperation("HttpStream seeks from the start only")
        if offset != self.position:
            self._close_answer()
            self.position = offset
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.size is not None and self.position >= self.size:
            return 0
        for _ in range(self.retries + 1):
            if self._answer is None:
                self._open()
            try:  # what has arrived, up to len(buffer): never waits for a full buffer
                data = self._answer.read1(len(buffer))
                n = len(data)
                buffer[:n] = data
            except (OSError, http.client.HTTPException) as exc:
                n, reason = 0, str(exc) or type(exc).__name__
            else:
                reason = "the server ended the answer early"
            if n:
                self.position += n
                return n
            if self.size is None:  # no length announced: the end is the end
                return 0
            self._close_answer()  # dropped or cut short: reopen at self.position
            self.reopened += 1
        raise LinkindexError(f"{self.url}: the stream kept dropping at byte "
                             f"{self.position:,} ({reason})")

    def _close_answer(self) -> None:
        if self._answer is not None:
            self._answer.close()
            self._answer = None

    def close(self) -> None:
        self._close_answer()
        super().close()
