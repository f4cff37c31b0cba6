"""The WARC record format: what one fetch becomes in a WARC/1.1 file.

Shared by the crawl's writer (core/warc/writer.py), the archive importer
(index/archives/), re-extraction and the benchmarks; plain Python, no Scrapy.

The stored HTTP headers describe the stored payload, as Common Crawl does it: Scrapy has
already undone Content-Encoding (and Twisted the chunked Transfer-Encoding), so the
payload is the decoded body; a Transfer-Encoding header is renamed
`X-Crawler-Transfer-Encoding`, and Content-Length is set to the stored length (the
server's value kept as `X-Crawler-Content-Length` when it differs).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

Headers = list[tuple[bytes, bytes]]


@dataclass
class Evidence:
    url: str  # the URL fetched, as Scrapy had it (page_url() of it is the stored url)
    method: str
    request_headers: Headers
    protocol: str  # "HTTP/1.1"
    status: int
    headers: Headers  # as Scrapy hands them over: Content-Encoding already decoded
    body: bytes  # the payload after Content-Encoding and Transfer-Encoding were undone
    ip: str | None


SOFTWARE = "linkindex/0.1"
DEPTH_HEADER = "WARC-Linkindex-Depth"  # extension field: re-extraction restores pages.depth
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def warc_date(ms: int) -> str:
    """WARC/1.1 date with milliseconds: exactly the pages row's `fetched_at`."""
    when = _EPOCH + timedelta(milliseconds=ms)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def base32_digest(digest: Any) -> str:
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def sha1_digest(data: bytes) -> str:
    return base32_digest(hashlib.sha1(data))


def record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def record_head(fields: list[tuple[str, str]], length: int) -> bytes:
    head = ["WARC/1.1"] + [f"{name}: {value}" for name, value in fields]
    head.append(f"Content-Length: {length}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8")


def record_bytes(fields: list[tuple[str, str]], block: bytes) -> bytes:
    """One WARC/1.1 record: header fields, Content-Length, the block, two CRLFs."""
    return record_head(fields, len(block)) + block + b"\r\n\r\n"


def _header_lines(headers: Headers) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


def stored_headers(headers: Headers, body: bytes) -> Headers:
    """The response headers rewritten to describe the stored (decoded) payload."""
    out: Headers = []
    length = str(len(body)).encode()
    for name, value in headers:
        low = name.lower()
        if low == b"content-length":
            if value.strip() != length:
                out.append((b"X-Crawler-Content-Length", value))
        elif low == b"transfer-encoding":
            out.append((b"X-Crawler-Transfer-Encoding", value))
        else:
            out.append((name, value))
    out.append((b"Content-Length", length))
    return out


def response_head(evidence: Evidence) -> bytes:
    """The HTTP head of the response block (the payload, the body, follows it)."""
    protocol = evidence.protocol if evidence.protocol.startswith("HTTP/1.") else "HTTP/1.1"
    status = f"{protocol} {evidence.status} {_REASONS.get(evidence.status, '')}".rstrip()
    head = status.encode("ascii") + b"\r\n"
    return head + _header_lines(stored_headers(evidence.headers, evidence.body)) + b"\r\n"


def request_block(evidence: Evidence) -> bytes:
    parts = urlsplit(evidence.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = list(evidence.request_headers)
    if not any(name.lower() == b"host" for name, _ in headers):
        headers.insert(0, (b"Host", parts.netloc.encode("latin-1", "replace")))
    line = f"{evidence.method} {target} HTTP/1.1\r\n".encode("utf-8", "surrogateescape")
    return line + _header_lines(headers) + b"\r\n"
