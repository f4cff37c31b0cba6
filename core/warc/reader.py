"""WARC files → whole records with their offsets, surviving damage.

warcio parses a record well but reads a file as one stream: a corrupt gzip member makes
it print to stderr and return a cut record, and the rest of the file is lost. Here the
framing is ours (records are parsed in index/archives/records.py, HTTP heads by warcio):

- a file starting with the gzip magic is read member by member, each with its own
  zlib decompressor; a member that fails (bad deflate data, bad CRC, cut short by the
  next member or by the end of the file) is reported as `Damage`, and reading resumes
  at the next offset where a gzip member starts that decompresses to `WARC/`;
- any other file is read as plain WARC: header block, `Content-Length` bytes of block,
  then the next record; a record whose length does not lead to the next record (or to
  the end) is `Damage`, and reading resumes at the next line starting `WARC/1.`.

Each damaged stretch is reported once. A record's offset is that of its gzip member
(or of the record itself in a plain file): what `pages.warc_offset` stores.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b\x08"
MAX_HEAD = 64 * 1024  # WARC header block
MAX_RECORD = 256 * 1024 * 1024  # one record, uncompressed: larger ones are skipped
_CHUNK = 64 * 1024  # small feeds keep zlib's copy of the unused tail small
_DIGEST_RE = re.compile(rb"\nWARC-Block-Digest:[ \t]*([A-Za-z0-9]+):([A-Za-z0-9=+/]+)", re.I)
_LENGTH_RE = re.compile(rb"\r?\ncontent-length:[ \t]*(\d+)[ \t]*\r?(?:\n|$)", re.I)


@dataclass
class RawRecord:
    offset: int
    data: bytes  # the whole record: WARC header block and content block, uncompressed


@dataclass
class Damage:
    offset: int
    reason: str


class _Input:
    """A seekable file read forward through a buffer; `offset` is the file position."""

    def __init__(self, fh: BinaryIO, chunk: int = 1 << 20) -> None:
        self.fh = fh
        self.chunk = chunk
        self.buf = b""
        self.start = 0  # file offset of buf[0]
        self.i = 0

    @property
    def offset(self) -> int:
        return self.start + self.i

    def fill(self, n: int) -> bool:
        """Make `n` bytes available from the offset; False if the file ends sooner."""
        # read1 where there is one: a network stream hands over what has arrived
        # instead of blocking until a whole chunk is there
        read = getattr(self.fh, "read1", self.fh.read)
        while len(self.buf) - self.i < n:
            data = read(max(self.chunk, n - (len(self.buf) - self.i)))
            if not data:
                return False
            self.buf = self.buf[self.i:] + data
            self.start += self.i
            self.i = 0
        return True

    def peek(self, n: int) -> bytes:
        self.fill(n)
        return self.buf[self.i:self.i + n]

    def take(self, n: int) -> memoryview:
        self.fill(1)
        view = memoryview(self.buf)[self.i:self.i + n]
        self.i += len(view)
        return view

    def seek(self, offset: int) -> None:
        if self.start <= offset <= self.start + len(self.buf):
            self.i = offset - self.start
        else:
            self.fh.seek(offset)
            self.buf, self.start, self.i = b"", offset, 0

    def find(self, needle: bytes) -> int | None:
        """Offset of the next `needle` at or after the offset (None: none). Scanning
        moves the offset forward; callers seek to what they found."""
        while True:
            found = self.buf.find(needle, self.i)
            if found >= 0:
                return self.start + found
            # keep the last len(needle) - 1 bytes: a match may straddle two reads
            self.i = max(self.i, len(self.buf) - len(needle) + 1)
            if not self.fill(len(self.buf) - self.i + 1):
                return None


def iter_records(source: Path | BinaryIO, progress: Callable[[int], None] | None = None
                 ) -> Iterator[RawRecord | Damage]:
    """Every whole record of a WARC file (gzipped per record, gzipped whole, or plain):
    a path, or a binary file open at its start (a remote stream: read forward, seeking
    only to resynchronise after damage)."""
    if isinstance(source, Path):
        with open(source, "rb") as fh:
            yield from iter_records(fh, progress)
        return
    inp = _Input(source)
    if inp.peek(2) == GZIP_MAGIC[:2]:
        yield from _gzip_records(inp, progress)
    else:
        yield from _plain_records(inp, inp.offset, progress)


# --- gzip ---------------------------------------------------------------------------

def _starts_warc(inp: _Input) -> bool:
    """Does a gzip member start here whose first bytes are `WARC/`? (no input consumed)"""
    head = inp.peek(_CHUNK)
    if not head.startswith(GZIP_MAGIC):
        return False
    try:
        return zlib.decompressobj(31).decompress(head, 5) == b"WARC/"
    except zlib.error:
        return False


def _member(inp: _Input) -> bytes | str:
    """Decompress one gzip member from the offset: its bytes, or why it failed."""
    decomp = zlib.decompressobj(31)
    out: list[bytes] = []
    size = 0
    while not decomp.eof:
        view = inp.take(_CHUNK)
        if not view:
            return "gzip member cut short by the end of the file"
        try:
            data = decomp.decompress(view)
        except zlib.error as exc:
            return f"corrupt gzip member ({exc})"
        size += len(data)
        if size <= MAX_RECORD:
            out.append(data)
    inp.i -= len(decomp.unused_data)  # the unused tail is always from the last feed
    if size > MAX_RECORD:
        return f"record larger than {MAX_RECORD} bytes"
    return b"".join(out)


def _resync_gzip(inp: _Input, after: int) -> bool:
    """Move to the next good member after offset `after`; False at the end of the file."""
    inp.seek(after + 1)
    while True:
        found = inp.find(GZIP_MAGIC)
        if found is None:
            return False
        inp.seek(found)
        if _starts_warc(inp):
            return True
        inp.seek(found + 1)


def _gzip_records(inp: _Input, progress: Callable[[int], None] | None
                  ) -> Iterator[RawRecord | Damage]:
    while inp.fill(1):
        start = inp.offset
        if inp.peek(2) != GZIP_MAGIC[:2]:
            if not inp.peek(_CHUNK).strip(b"\x00\r\n\t "):
                return  # trailing padding
            yield Damage(start, "bytes that are not a gzip member")
            if not _resync_gzip(inp, start):
                return
            continue
        result = _member(inp)
        if isinstance(result, str):
            yield Damage(start, result)
            if not _resync_gzip(inp, start):
                return
            continue
        if progress is not None:
            progress(inp.offset)
        # Usually one record per member (fast path); a file gzipped whole holds them all.
        one = _single_record(result)
        if one is not None:
            yield RawRecord(start, one)
        else:
            yield from _plain_records(_Input(_BytesReader(result)), start, None, fixed=True)


def _single_record(data: bytes) -> bytes | None:
    """The record, when `data` is exactly one sound record and its trailing CRLFs."""
    end = data.find(b"\r\n\r\n", 0, MAX_HEAD)
    if not data.startswith(b"WARC/") or end < 0 or data.find(b"WARC/1.", 5, end) >= 0:
        return None
    match = _LENGTH_RE.search(data, 0, end + 2)
    if match is None:
        return None
    total = end + 4 + int(match.group(1))
    if len(data) < total or data[total:].strip(b"\r\n"):
        return None
    return data[:total] if len(data) > total else data


class _BytesReader:
    """Just enough of a file over bytes for _Input (read, seek)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def seek(self, pos: int) -> None:
        self.pos = pos


# --- plain --------------------------------------------------------------------------

def _skip_blank(inp: _Input) -> None:
    while True:
        head = inp.peek(2)
        if head.startswith(b"\r\n"):
            inp.i += 2
        elif head.startswith(b"\n"):
            inp.i += 1
        else:
            return


def _next_is_record(inp: _Input, total: int) -> bool:
    """A right Content-Length leads past blank lines to the next record or the end."""
    for want in (64, 1 << 16):
        inp.fill(total + want)
        tail = inp.buf[inp.i + total:inp.i + total + want]
        rest = tail.lstrip(b"\r\n")
        if rest:
            return rest.startswith(b"WARC/")
        if len(tail) < want:
            return True  # blank lines, then the end
    return False


def _head(inp: _Input) -> tuple[int, int] | None:
    """(header length, Content-Length) of a WARC header block at the offset, if sound."""
    head = inp.peek(MAX_HEAD)
    end = head.find(b"\r\n\r\n")
    if not head.startswith(b"WARC/") or end < 0:
        return None
    if head.find(b"WARC/1.", 5, end) >= 0:  # a header cut short runs into the next one
        return None
    match = _LENGTH_RE.search(head, 0, end + 2)
    return (end + 4, int(match.group(1))) if match else None


def _digest_matches(inp: _Input, head_len: int, length: int) -> bool:
    """Is the block its WARC-Block-Digest? Decides, when bytes that are not a record
    follow, whether the damage is this record or what follows it."""
    match = _DIGEST_RE.search(inp.buf, inp.i, inp.i + head_len)
    if match is None:
        return False
    algorithm, value = match.group(1).lower().decode(), match.group(2).decode()
    try:
        digest = hashlib.new(algorithm, inp.buf[inp.i + head_len:inp.i + head_len + length])
    except ValueError:
        return False
    raw = digest.digest()
    return value in (base64.b32encode(raw).decode(), raw.hex()) or value.lower() == raw.hex()


def _resync_plain(inp: _Input, after: int) -> bool:
    """Move to the next sound WARC header after offset `after` (a cut record may run
    straight into the next one, without a line break)."""
    inp.seek(after + 1)
    while True:
        found = inp.find(b"WARC/1.")
        if found is None:
            return False
        inp.seek(found)
        if _head(inp) is not None:
            return True
        inp.seek(found + 1)


def _plain_records(inp: _Input, base: int, progress: Callable[[int], None] | None,
                   fixed: bool = False) -> Iterator[RawRecord | Damage]:
    """Records of a plain WARC stream. `fixed`: inside one gzip member, every record
    gets the member's offset `base`; otherwise offsets are file offsets."""
    while True:
        _skip_blank(inp)
        if not inp.fill(1):
            return
        start = inp.offset
        where = base if fixed else start
        head = _head(inp)
        problem = None
        if head is None:
            problem = "not a WARC record, or its header is cut short"
        else:
            total = head[0] + head[1]
            if total > MAX_RECORD:
                problem = f"record larger than {MAX_RECORD} bytes"
            elif not inp.fill(total):
                problem = "record cut short by the end of the file"
            elif not _next_is_record(inp, total) and not _digest_matches(inp, *head):
                problem = "record cut short, or its Content-Length is wrong"
        if problem is None:
            data = inp.buf[inp.i:inp.i + total]
            inp.i += total
            if progress is not None:
                progress(inp.offset)
            yield RawRecord(where, data)
            continue
        yield Damage(where, problem)
        if not _resync_plain(inp, start):
            return
