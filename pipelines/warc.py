"""WARC archiving of a crawl: one rolling WARC file per raw part, whole or not at all.

No Scrapy here. `RawPartsPipeline` calls `WarcWriter.write` for each archived page
before buffering its rows, and `WarcWriter.close` just before each Parquet flush, so:

- the WARC for part `<worker>-<seq>.parquet` is `DATA/warc/<crawl_id>/<worker>-<seq>.warc.gz`;
- it is written under a temporary name and renamed into place *before* the Parquet pair
  that points into it: a pages row never points at a missing file, and a killed worker
  leaves no partial WARC under a final name (only a `.tmp-*` file, which readers skip).

Each record is its own gzip member (so any record can be read from its offset alone),
compressed here with zlib at a low level: warcio writes level 9, measured at ~2 ms per
43 KB page, which would halve a crawl's throughput (bench/warc.py compares levels).
Level 0 writes plain, uncompressed `.warc` files.

The stored HTTP headers describe the stored payload, as Common Crawl does it: Scrapy has
already undone Content-Encoding (and Twisted the chunked Transfer-Encoding), so the
payload is the decoded body; a Transfer-Encoding header is renamed
`X-Crawler-Transfer-Encoding`, and Content-Length is set to the stored length (the
server's value kept as `X-Crawler-Content-Length` when it differs).
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from crawler.evidence import Evidence, Headers
from index.layout import TMP_PREFIX, warc_dir
from pipelines.parts import epoch_ms

SOFTWARE = "linkindex/0.1"
DEPTH_HEADER = "WARC-Linkindex-Depth"  # extension field: re-extraction restores pages.depth
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def warc_date(ms: int) -> str:
    """WARC/1.1 date with milliseconds: exactly the pages row's `fetched_at`."""
    when = _EPOCH + timedelta(milliseconds=ms)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _base32(digest: Any) -> str:
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def _digest(data: bytes) -> str:
    return _base32(hashlib.sha1(data))


def _record_id() -> str:
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


class WarcWriter:
    """Writes request + response records per page into the WARC of the current part."""

    def __init__(self, data: Path, crawl_id: str, *, level: int = 1,
                 software: str = SOFTWARE) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"WARC gzip level must be 0 (no compression) to 9, not {level}")
        self.data = data
        self.crawl_id = crawl_id
        self.level = level
        self.software = software
        self.suffix = ".warc.gz" if level else ".warc"
        self._fh: IO[bytes] | None = None
        self._name: str | None = None  # the part name the open file belongs to
        self._tmp: Path | None = None
        self._pos = 0
        self._info_id = ""
        self._relative = ""  # pages.warc_file of the open file

    def path_for(self, part_name: str) -> Path:
        return warc_dir(self.data, self.crawl_id) / (part_name.rsplit(".", 1)[0] + self.suffix)

    def taken(self, part_name: str) -> bool:
        """A WARC of that part's name exists (a killed run's): PartWriter skips the name."""
        return self.path_for(part_name).exists()

    def _append(self, *pieces: bytes) -> int:
        """Write one record (given in pieces, to spare copying the body) as one member."""
        assert self._fh is not None
        offset = self._pos
        if self.level:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, 31)  # 31 = gzip framing
            pieces = tuple(compressor.compress(piece) for piece in pieces) + (compressor.flush(),)
        for piece in pieces:
            self._fh.write(piece)
            self._pos += len(piece)
        return offset

    def _open(self, part_name: str) -> None:
        final = self.path_for(part_name)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = final.with_name(f"{TMP_PREFIX}{os.getpid()}-{final.name}")
        self._fh = open(self._tmp, "wb")
        self._name, self._pos = part_name, 0
        self._relative = final.relative_to(self.data).as_posix()
        self._info_id = _record_id()
        info = (f"software: {self.software}\r\nformat: WARC File Format 1.1\r\n"
                f"isPartOf: {self.crawl_id}\r\n").encode()
        self._append(record_bytes([
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", self._info_id),
            ("WARC-Date", warc_date(epoch_ms(datetime.now(UTC)))),
            ("WARC-Filename", final.name),
            ("Content-Type", "application/warc-fields"),
        ], info))

    def write(self, part_name: str, page: dict[str, Any], evidence: Evidence) -> dict[str, Any]:
        """Archive one fetch; return the pages row with `warc_file` and `warc_offset` set."""
        if self._name != part_name:
            self.close()
            self._open(part_name)
        date = warc_date(epoch_ms(page["fetched_at"]))
        response_id = _record_id()
        request = request_block(evidence)
        self._append(record_bytes([
            ("WARC-Type", "request"),
            ("WARC-Record-ID", _record_id()),
            ("WARC-Date", date),
            ("WARC-Target-URI", evidence.url),
            ("WARC-Concurrent-To", response_id),
            ("WARC-Warcinfo-ID", self._info_id),
            ("WARC-Block-Digest", _digest(request)),
            ("Content-Type", "application/http;msgtype=request"),
        ], request))
        head = response_head(evidence)
        body = evidence.body
        block_digest = hashlib.sha1(head)
        block_digest.update(body)
        fields = [
            ("WARC-Type", "response"),
            ("WARC-Record-ID", response_id),
            ("WARC-Date", date),
            ("WARC-Target-URI", evidence.url),
        ]
        if evidence.ip:
            fields.append(("WARC-IP-Address", evidence.ip))
        fields.append(("WARC-Warcinfo-ID", self._info_id))
        if page.get("depth") is not None:
            fields.append((DEPTH_HEADER, str(page["depth"])))
        fields += [
            ("WARC-Block-Digest", _base32(block_digest)),
            ("WARC-Payload-Digest", _digest(body)),
            ("Content-Type", "application/http;msgtype=response"),
        ]
        offset = self._append(record_head(fields, len(head) + len(body)), head, body,
                              b"\r\n\r\n")
        return {**page, "warc_file": self._relative, "warc_offset": offset}

    def close(self) -> Path | None:
        """Make the open WARC whole: flush, fsync, rename into place. None if none open."""
        if self._fh is None or self._name is None or self._tmp is None:
            return None
        final = self.path_for(self._name)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self._tmp, final)
        self._fh = self._name = self._tmp = None
        return final
