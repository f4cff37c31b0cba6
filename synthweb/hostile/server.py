"""The hostile server: a loopback forward proxy whose every byte a case decides.

It reads one request per connection (absolute-form targets, `GET http://host/path
HTTP/1.1`, as a client configured with a proxy sends them), runs the reply of the case at
that URL step by step (bytes, pauses, one byte a second, a TCP reset) and closes the
connection. robots.txt of a case's host is its `robots` reply, else a 404. A URL that is
no case gets a 404 and is remembered (`unknown`), so a wrong expectation shows. Every
connection is bounded in time (`max_seconds`), whatever the reply asks.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from collections.abc import Iterable
from types import TracebackType

from synthweb.hostile.corpus import Case
from synthweb.hostile.steps import Drip, Pause, Reply, Reset, Send, http

MAX_HEAD = 256 * 1024
NOT_FOUND = http(b"no such case\n", "404 Not Found", "text/plain")
NO_ROBOTS = http(b"no robots.txt here\n", "404 Not Found", "text/plain")


def _key(target: str) -> str:
    """The lookup form of a request target: scheme and host lower case."""
    scheme, sep, rest = target.partition("://")
    if not sep:
        return target
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


class HostileServer:
    """Serves `cases` as a forward proxy on 127.0.0.1 (a free port) from a daemon thread.

        with HostileServer(cases) as server:
            ... crawl with --proxy server.proxy_url ...
            server.requests()  # (host, target) of every request, in arrival order
    """

    def __init__(self, cases: Iterable[Case], *, max_seconds: float = 30.0,
                 host: str = "127.0.0.1") -> None:
        self.cases = {_key(c.url): c for c in cases}
        self.robots = {c.host: c.robots for c in self.cases.values() if c.robots is not None}
        self.max_seconds = max_seconds
        self.host = host
        self.port = 0
        self._log: list[tuple[float, str, str]] = []
        self._unknown: list[str] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def requests(self) -> list[tuple[float, str, str]]:
        """(monotonic time, Host header, request target) of every request, oldest first."""
        with self._lock:
            return list(self._log)

    def unknown(self) -> list[str]:
        """Targets that were no case, no robots.txt: a crawl fetched what no case serves."""
        with self._lock:
            return list(self._unknown)

    # ---- serving ------------------------------------------------------------------

    def reply_for(self, target: str) -> Reply:
        key = _key(target)
        case = self.cases.get(key)
        if case is not None:
            return case.reply()
        scheme, _, rest = key.partition("://")
        host, _, path = rest.partition("/")
        if path == "robots.txt":
            robots = self.robots.get(host.partition(":")[0])
            return robots() if robots is not None else [Send(NO_ROBOTS)]
        with self._lock:
            self._unknown.append(target)
        return [Send(NOT_FOUND)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._one(reader, writer), self.max_seconds)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        host = next((line.partition(":")[2].strip() for line in lines[1:]
                     if line.lower().startswith("host:")), "")
        target = parts[1] if len(parts) == 3 else ""
        with self._lock:
            self._log.append((time.monotonic(), host, target))
        if parts[0] == "CONNECT":
            reply: Reply = [Send(http(b"no CONNECT\n", "405 Method Not Allowed", "text/plain"))]
        elif not target.startswith(("http://", "https://")):
            reply = [Send(http(b"absolute-form targets only\n", "400 Bad Request",
                               "text/plain"))]
        else:
            reply = self.reply_for(target)
        for step in reply:
            if isinstance(step, Send):
                writer.write(step.data)
                await writer.drain()
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Drip):
                for i in range(len(step.data)):
                    writer.write(step.data[i:i + 1])
                    await writer.drain()
                    await asyncio.sleep(step.interval)
            elif isinstance(step, Reset):
                await asyncio.sleep(step.after)
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
        if writer.can_write_eof():
            writer.write_eof()
        await asyncio.sleep(0.05)  # let the client read to the end before the close

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> HostileServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def handle(reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
                task = asyncio.current_task()
                assert task is not None
                self._tasks.add(task)
                try:
                    await self._serve(reader, writer)
                except asyncio.CancelledError:  # stopping: end quietly
                    writer.transport.abort()
                finally:
                    self._tasks.discard(task)

            try:
                server = loop.run_until_complete(asyncio.start_server(
                    handle, self.host, 0, limit=MAX_HEAD, backlog=512))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            try:
                loop.run_forever()
            finally:
                server.close()
                for task in list(self._tasks):
                    task.cancel()
                loop.run_until_complete(asyncio.sleep(0.1))
                loop.close()

        self._thread = threading.Thread(target=run, name="hostile-server", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("hostile server did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
