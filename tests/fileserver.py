"""A static file server on loopback, for tests of code that downloads files.

Importers fetch large files over HTTP and must resume a dropped download with a Range
request and retry a server that is briefly unavailable. This server serves one folder on
127.0.0.1 and can misbehave on purpose, so those paths are tested against a real socket:

    with serve_folder(tmp_path, fail_after={"big.gz": 1000}, fail_first={"x.gz": 2}) as srv:
        srv.url            # "http://127.0.0.1:PORT/"
        srv.url_for("big.gz")
        srv.requests       # [(path, range header or None), ...] in arrival order

What it answers:
    GET / HEAD of a file     200 with Content-Length (HEAD: the same headers, no body)
    Range: bytes=S-E, S-, -N 206 with Content-Range and the exact Content-Length
    a range starting past the end   416 with Content-Range: bytes */SIZE
    a missing file, a folder, a path outside the folder   404
    a Range header it cannot parse (several ranges, another unit)   ignored: 200 (RFC 9110)

Misbehaviour, keyed by the file's path relative to the folder (its name, for files at
the top):
    fail_after={name: N}  the first GET for that file sends the headers announcing the
        whole length, then N bytes of body, then closes the connection (the client sees
        the stream end early, e.g. http.client.IncompleteRead with N bytes in .partial).
        Later requests succeed. If the body is N bytes or shorter it is sent whole.
    fail_first={name: N}  the first N requests (GET or HEAD) for that file get a 503.
    bytes_per_second=R    every body is sent at about R bytes per second (16 KB at a
        time), so a client is still reading a file when a test acts on it.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 64 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass
class FileServer:
    """What `serve_folder` yields: where the server is and what it was asked."""

    url: str  # "http://127.0.0.1:PORT/"
    folder: Path
    # (URL path as sent, e.g. "/a.txt.gz", Range header or None), in arrival order
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url_for(self, name: str) -> str:
        """The URL of `name` (a path relative to the folder)."""
        return self.url + name.lstrip("/")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, info: FileServer, fail_after: dict[str, int],
                 fail_first: dict[str, int], bytes_per_second: float | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bytes_per_second = bytes_per_second
        self.info = info
        self.root = info.folder.resolve()
        self.fail_after = dict(fail_after)
        self.fail_first = dict(fail_first)  # counts down as 503s are sent
        self.dropped: set[str] = set()
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: tests read `requests` instead of stderr."""

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        srv = self.server
        url_path = urlsplit(self.path).path
        range_header = self.headers.get("Range")
        name = unquote(url_path).lstrip("/")
        with srv.lock:
            srv.info.requests.append((url_path, range_header))
            if srv.fail_first.get(name, 0) > 0:
                srv.fail_first[name] -= 1
                unavailable = True
            else:
                unavailable = False
            drop_after = None
            if send_body and name in srv.fail_after and name not in srv.dropped:
                srv.dropped.add(name)
                drop_after = srv.fail_after[name]
        if unavailable:
            self._empty(503)
            return
        path = self._file(name)
        if path is None:
            self._empty(404)
            return
        size = path.stat().st_size
        span = _parse_range(range_header, size)
        if span == "unsatisfiable":
            self._empty(416, {"Content-Range": f"bytes */{size}"})
            return
        if span is None:
            start, end, status = 0, size - 1, 200
            headers = {}
        else:
            start, end = span
            status = 206
            headers = {"Content-Range": f"bytes {start}-{end}/{size}"}
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not send_body:
            return
        budget = length if drop_after is None else min(length, drop_after)
        rate = srv.bytes_per_second
        size = CHUNK if rate is None else 16 * 1024
        try:
            with path.open("rb") as f:
                f.seek(start)
                while budget > 0:
                    chunk = f.read(min(size, budget))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    budget -= len(chunk)
                    if rate is not None:
                        time.sleep(len(chunk) / rate)
            if drop_after is not None and drop_after < length:
                # The end of the stream before the announced length: a dropped download.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_WR)
        except (ConnectionError, OSError):
            self.close_connection = True

    def _file(self, name: str) -> Path | None:
        """The file `name` names inside the folder, or None (missing, a folder, outside)."""
        if "\0" in name:
            return None
        path = (self.server.root / name).resolve()
        if not path.is_relative_to(self.server.root) or not path.is_file():
            return None
        return path

    def _empty(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive, "unsatisfiable", or None to serve the whole file."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match.group(1) and not match.group(2)):
        return None  # several ranges or another unit: ignored, as RFC 9110 allows
    first, last = match.group(1), match.group(2)
    if not first:  # bytes=-N: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if last and int(last) < start:
        return None  # an invalid range is ignored
    if start >= size:
        return "unsatisfiable"
    return start, end


@contextmanager
def serve_folder(folder: Path, *, fail_after: dict[str, int] | None = None,
                 fail_first: dict[str, int] | None = None,
                 bytes_per_second: float | None = None) -> Iterator[FileServer]:
    """Serve `folder` on 127.0.0.1 (a free port) for the duration of the block."""
    info = FileServer(url="", folder=Path(folder))
    server = _Server(info, fail_after or {}, fail_first or {}, bytes_per_second)
    host, port = server.server_address[:2]
    info.url = f"http://{host}:{port}/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fileserver", daemon=True)
    thread.start()
    try:
        yield info
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
