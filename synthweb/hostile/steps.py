"""What a hostile server sends for one request: raw bytes, pauses, drips and resets.

A reply is a sequence of steps run in order on the connection; after the last step the
server closes it (FIN), unless a `Reset` ended it first (RST). Bytes are sent exactly as
given: status line, headers, framing and body are the case's to get right or wrong.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Send:
    """Write these bytes."""

    data: bytes


@dataclass(frozen=True)
class Pause:
    """Send nothing for this long (the connection stays open)."""

    seconds: float


@dataclass(frozen=True)
class Drip:
    """Write `data` one byte at a time, `interval` seconds apart (slow-loris)."""

    data: bytes
    interval: float


@dataclass(frozen=True)
class Reset:
    """Abort the connection with a TCP RST (SO_LINGER 0), after `after` seconds."""

    after: float = 0.2


Step = Send | Pause | Drip | Reset
Reply = Sequence[Step]

HTML = "text/html; charset=utf-8"
Headers = Iterable[tuple[str, str | bytes]]


def head(status: str = "200 OK", headers: Headers = (("Content-Type", HTML),),
         *, version: str = "HTTP/1.1") -> bytes:
    """A response head, ending with its blank line; values may be raw bytes."""
    out = [f"{version} {status}\r\n".encode("latin-1")]
    for name, value in headers:
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        out.append(name.encode("latin-1") + b": " + raw + b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def http(body: bytes = b"", status: str = "200 OK", content_type: str | None = HTML,
         headers: Headers = (), *, length: bool = True) -> bytes:
    """A whole response: Content-Type (unless None), `headers`, Content-Length (unless
    `length` is False), Connection: close, the body."""
    fields: list[tuple[str, str | bytes]] = []
    if content_type is not None:
        fields.append(("Content-Type", content_type))
    fields.extend(headers)
    if length:
        fields.append(("Content-Length", str(len(body))))
    fields.append(("Connection", "close"))
    return head(status, fields) + body


def redirect(location: str | bytes, status: str = "302 Found", body: bytes = b"") -> bytes:
    return http(body, status, headers=[("Location", location)])


def chunked(body: bytes, size: int = 4096) -> bytes:
    """`body` in chunked transfer coding, with its last-chunk."""
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, 6, mtime=0)


def deflated_raw(body: bytes) -> bytes:
    """Raw deflate, no zlib header (what some servers send as `deflate`)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(body) + compressor.flush()


def gzip_bomb(size: int) -> bytes:
    """A gzip member that decompresses to `size` bytes (HTML start, then spaces)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"<!DOCTYPE html><title>bomb</title><p>")]
    block = b" " * (1 << 20)
    left = size
    while left > 0:
        take = min(left, len(block))
        parts.append(compressor.compress(block[:take]))
        left -= take
    parts.append(compressor.flush())
    return b"".join(parts)


def page(title: str, body: str, *, head_html: str = "", charset: str | None = "utf-8",
         encoding: str = "utf-8") -> bytes:
    """A small HTML document; `title` and `body` are markup, written as given."""
    meta = f'<meta charset="{charset}">' if charset else ""
    text = (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>{meta}<title>{title}</title>"
            f"{head_html}</head>\n<body>\n{body}\n</body>\n</html>\n")
    return text.encode(encoding)
