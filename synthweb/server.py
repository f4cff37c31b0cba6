"""A small asyncio HTTP/1.1 server that serves a SyntheticWeb as a forward proxy.

It answers absolute-form requests (``GET http://site3.example/p/1 HTTP/1.1``, what a
client configured with an HTTP proxy sends) and origin-form requests routed by the
Host header. CONNECT is refused (405): the web is plain http only. Connections are
kept alive; bodies are rendered lazily and cached by the web (bounded LRU). A page
whose response is :data:`~synthweb.truth.NO_RESPONSE` gets none: the connection is
closed without a status line (a fetch that fails with no HTTP response).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from http import HTTPStatus
from types import TracebackType

from core.urls import normalize_url, url_host
from synthweb.truth import NO_RESPONSE, Response
from synthweb.web import SyntheticWeb

MAX_HEAD_BYTES = 64 * 1024
LogEntry = tuple[float, str, str, int]
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _Handler:
    """Turns a request head into response bytes; shared by the thread and foreground runs."""

    def __init__(self, web: SyntheticWeb, log: list[LogEntry] | None) -> None:
        self.web = web
        self.log = log

    def respond(self, method: str, target: str, host: str | None) -> tuple[bytes, bytes, bool]:
        """(head without Connection header and blank line, body, must close); an empty
        head: send nothing, close the connection."""
        if method == "CONNECT":
            self._log(target.rpartition(":")[0], "", 405)
            return (*_serialize(_text(405, "CONNECT is not supported\n",
                                      (("Allow", "GET, HEAD"),))), True)
        if target.startswith("/") and host:
            url = normalize_url(f"http://{host}{target}")
        elif target[:8].lower().startswith(("http://", "https://")):
            url = normalize_url(target)
        else:
            url = None
        if url is None:
            self._log(host or "", target, 400)
            return (*_serialize(_text(400, "Bad request target\n")), True)
        response = self.web.response(method, url)
        if self.log is not None:
            host_part = url_host(url)
            self._log(host_part, url[url.find("/", url.index("//") + 2):] or "/", response.status)
        if response.status == NO_RESPONSE:
            return b"", b"", True
        return (*_serialize(response), False)

    def _log(self, host: str, path: str, status: int) -> None:
        if self.log is not None:
            self.log.append((time.monotonic(), host, path, status))


def _text(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    body = text.encode()
    return Response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers,
                             ("Content-Length", str(len(body)))], body)


def _serialize(response: Response) -> tuple[bytes, bytes]:
    lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    return ("\r\n".join(lines) + "\r\n").encode("latin-1"), response.body


class _Protocol(asyncio.Protocol):
    """One client connection: parse pipelined request heads, write whole responses."""

    def __init__(self, handler: _Handler, conns: set[_Protocol]) -> None:
        self.handler = handler
        self.conns = conns
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.conns.discard(self)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            while buf[:2] == b"\r\n":  # RFC 9112: ignore empty lines before a request
                del buf[:2]
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD_BYTES:
                    self._send(*_serialize(_text(431, "Request header too large\n")), True)
                return
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            host = connection = None
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "host":
                    host = value.strip()
                elif name == "connection":
                    connection = value.strip().lower()
                elif name == "content-length" and value.strip().isdigit():
                    length = int(value)
                elif name == "transfer-encoding":
                    length = -1
            if length < 0:  # chunked request bodies are never needed here
                self._send(*_serialize(_text(411, "Length required\n")), True)
                return
            if len(buf) < end + 4 + length:
                return  # wait for the rest of the request body
            del buf[: end + 4 + length]
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                self._send(*_serialize(_text(400, "Bad request line\n")), True)
                return
            method, target, version = parts
            try:
                head, body, close = self.handler.respond(method, target, host)
            except Exception:  # keep serving; the traceback says what broke
                traceback.print_exc(file=sys.stderr)
                (head, body), close = _serialize(_text(500, "Internal server error\n")), True
            if version == "HTTP/1.0":
                close = close or connection is None or "keep-alive" not in connection
            else:
                close = close or (connection is not None and "close" in connection)
            self._send(head, b"" if method == "HEAD" else body, close)
            if close:
                return

    def _send(self, head: bytes, body: bytes, close: bool) -> None:
        assert self.transport is not None
        if head:  # none: the page gets no answer at all, only the close below
            conn = (b"Connection: close\r\n\r\n" if close
                    else b"Connection: keep-alive\r\n\r\n")
            self.transport.write(head + conn + body)
        if close:
            self.transport.close()
            self.buf.clear()


class WebServer:
    """Serves ``web`` on ``host:port`` (0: a free port) from a daemon thread."""

    def __init__(self, web: SyntheticWeb, host: str = "127.0.0.1", port: int = 0,
                 access_log: bool = False) -> None:
        self.web = web
        self.host = host
        self._port = port
        self._log: list[LogEntry] | None = [] if access_log else None
        self._conns: set[_Protocol] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    def access_log(self) -> list[LogEntry]:
        """(monotonic time, host, path with query, status) per request, oldest first."""
        return list(self._log or ())

    def start(self) -> WebServer:
        """Start serving; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        handler = _Handler(self.web, self._log)

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                server = loop.run_until_complete(loop.create_server(
                    lambda: _Protocol(handler, self._conns), self.host, self._port,
                    backlog=1024))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self._port = server.sockets[0].getsockname()[1]
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for conn in list(self._conns):
                    if conn.transport is not None:
                        conn.transport.close()
                loop.run_until_complete(asyncio.sleep(0))  # let the transports close
                loop.close()

        self._thread = threading.Thread(target=run, name="synthweb-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop serving and close open connections (idempotent)."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._thread = None

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (for foreground use; Ctrl-C interrupts)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> WebServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve_forever(web: SyntheticWeb, host: str = "127.0.0.1", port: int = 0,
                  access_log: bool = False) -> None:
    """Serve in the foreground until interrupted; prints the proxy URL once listening."""

    async def main() -> None:
        log: list[LogEntry] | None = [] if access_log else None
        handler = _Handler(web, log)
        conns: set[_Protocol] = set()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Protocol(handler, conns), host, port,
                                          backlog=1024)
        print(f"http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            if log is None:
                await server.serve_forever()
            while True:  # print the access log as it grows
                await asyncio.sleep(0.5)
                for when, h, path, status in log:
                    print(f"{when:.3f} {status} {h}{path}", flush=True)
                log.clear()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
