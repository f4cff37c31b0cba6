"""A small hostile web on loopback: pages a crawler must give up on, and say why.

    /            links to every page below
    /ok          a plain page
    /bomb        a gzip bomb: BOMB_GZIP_BYTES of gzip that inflate to BOMB_BYTES
    /big         announces BIG_BYTES in Content-Length (over the default DOWNLOAD_MAXSIZE)
    /chunked     sends BIG_BYTES in chunks, announcing no length
    /slow        answers after SLOW_SECONDS (crawl with a shorter DOWNLOAD_TIMEOUT)
    /fail        a plain page; tests/crawl_patched.py makes its extraction fail
    /blocked     disallowed by robots.txt (never requested by a polite crawler)

Served directly (no proxy): a crawl of it needs `--allow-private`.
"""

from __future__ import annotations

import gzip
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

BOMB_BYTES = 50 * 1024 * 1024  # after decompression: five times the default limit
BIG_BYTES = 11 * 1024 * 1024  # over DOWNLOAD_MAXSIZE (10 MB) as announced
SLOW_SECONDS = 3.0
ROBOTS_TXT = b"User-agent: *\nDisallow: /blocked\n"
PAGES = ("/ok", "/bomb", "/big", "/chunked", "/slow", "/fail", "/blocked")
CHUNK = 65536


@cache
def bomb() -> bytes:
    return gzip.compress(b"\0" * BOMB_BYTES, compresslevel=9)


def html(title: str, links: tuple[str, ...] = ()) -> bytes:
    anchors = "".join(f'<a href="{href}">{href}</a>\n' for href in links)
    return (f"<!doctype html><html lang=\"en\"><head><title>{title}</title></head>"
            f"<body>\n{anchors}</body></html>\n").encode()


class _Handler(BaseHTTPRequestHandler):
    server: HostileWeb.Server
    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self, "path", None):  # not for a request that did not parse
            self.server.log.append(self.path)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # quiet: a TLS hello sent to this plain-HTTP server is a 400 here

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
              **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's API)
        path = self.path.split("?", 1)[0]
        if path == "/robots.txt":
            self._send(200, ROBOTS_TXT, "text/plain")
        elif path == "/":
            self._send(200, html("Hostile", PAGES))
        elif path in ("/ok", "/fail", "/blocked"):
            self._send(200, html(path[1:]))
        elif path == "/bomb":
            self._send(200, bomb(), Content_Encoding="gzip")
        elif path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(BIG_BYTES))
            self.end_headers()
            try:
                self.wfile.write(b"<html>" + b" " * 65536)
            except OSError:
                pass  # the crawler hung up on seeing the length: as it should
            self.close_connection = True
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for _ in range(BIG_BYTES // CHUNK):
                    self.wfile.write(b"%x\r\n%s\r\n" % (CHUNK, b" " * CHUNK))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the crawler hung up past its limit: as it should
            self.close_connection = True
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            try:
                self._send(200, html("slow"))
            except OSError:
                pass  # the crawler gave up waiting
        else:
            self._send(404, html("not found"))


class HostileWeb:
    """`with HostileWeb() as web:` serves on a free loopback port; `web.url(path)`."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        log: list[str]

    def __init__(self) -> None:
        self.server = self.Server(("127.0.0.1", 0), _Handler)
        self.server.log = []
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requested(self) -> list[str]:
        return list(self.server.log)

    def __enter__(self) -> HostileWeb:
        bomb()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
