"""Archive records → the crawl's own rows: WARC responses and WAT metadata records.

A WARC `response` record goes through `core.pages.page_rows`, the very function
the spider calls, so a page read back from an archive gives the rows its crawl gave.
What each record type becomes is written down in docs/archives.md:

- `response` (http/https target): one pages row; links from 2xx HTML, a redirect edge
  from 3xx; the payload is de-chunked and decoded (Content-Encoding) by warcio;
- `revisit`: counted and skipped (no payload; a pages row without its links would
  make every link of that page look lost in the index);
- `metadata` with a JSON block: a WAT record, mapped by index/archives/wat.py;
- anything else (`request`, `warcinfo`, `resource`, …): read and ignored.

A record that cannot be read as what it claims to be (bad headers, chunking, JSON) is
damage: counted in `skipped`, no row. A record that reads well but whose processing
raises (a bug or a page the extractor cannot handle) is never lost: it becomes a pages
row with `error` = "extract: <ExceptionType>: <message>" and no links, counted in
`failed`, and the import goes on with the next record. The build takes such a fetch as
saying nothing about the page's links (index/compact.py), as a 5xx.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pyarrow as pa
from warcio.bufferedreaders import BufferedReader
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders

from core.extractor import PageExtraction, media_type, page_url
from core.pages import PageRows, page_row, page_rows
from core.schema import PAGES
from core.warc.format import DEPTH_HEADER
from core.warc.reader import Damage, RawRecord
from index.archives.wat import ExtractionFailed, wat_page

_DATE_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z\Z")
_LOADER = ArcWarcRecordLoader(verify_http=False, arc2warc=False)
# Read from the raw header block first: warcio's header parsing is the largest cost of an
# import (measured ~40%), and half the records (requests, warcinfo) need no parsing.
_TYPE_RE = re.compile(rb"\nWARC-Type:[ \t]*([A-Za-z]+)", re.I)
_JSON_RE = re.compile(rb"\nContent-Type:[^\r\n]*json", re.I)
WANTED = {b"response", b"revisit", b"metadata"}
FAILURE_MAX_CHARS = 300  # pages.error of a record whose processing failed (as crawl errors)


class RecordProblem(Exception):
    """A whole record that cannot be read as what it claims to be: counted, skipped."""


@dataclass
class Counts:
    records: int = 0  # whole records read
    pages: int = 0  # pages rows produced
    edges: int = 0
    skipped: int = 0  # damaged: corrupt, truncated or unreadable records
    revisits: int = 0
    failed: int = 0  # processing raised: stored as a pages row with its error (in `pages`)

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def epoch_ms_of_warc_date(value: str | None) -> int:
    """WARC-Date → epoch milliseconds, exactly (WARC/1.1 dates may carry a fraction)."""
    match = _DATE_RE.match((value or "").strip())
    if match is None:
        try:
            when = datetime.fromisoformat((value or "").strip())
        except ValueError:
            raise RecordProblem(f"bad WARC-Date {value!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp()) * 1000 + when.microsecond // 1000
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        tzinfo=UTC)
    except ValueError:
        raise RecordProblem(f"bad WARC-Date {value!r}") from None
    ms = int((fraction or "0")[:3].ljust(3, "0"))
    return int(when.timestamp()) * 1000 + ms


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)


def _fetched_at(warc_date: str | None) -> datetime:
    return _utc(epoch_ms_of_warc_date(warc_date))


def last_header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The last value of a header, as Scrapy's `headers.get` gives it to the spider."""
    name = name.lower()
    for key, value in reversed(headers):
        if key.lower() == name:
            return value
    return None


def _warc_headers(head: bytes) -> StatusAndHeaders:
    """A WARC header block → warcio's StatusAndHeaders (warcio's own parser reads it line
    by line through a buffered stream: profiled at ~20% of an import)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    lines = text.split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # a continuation line
            headers[-1] = (headers[-1][0], headers[-1][1] + line)
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.rstrip(" \t"), value.strip()))
    return StatusAndHeaders("", headers, protocol=lines[0].strip())


def parse_record(data: bytes) -> ArcWarcRecord:
    """One whole record → warcio's record: our WARC header parse, warcio's HTTP one."""
    end = data.find(b"\r\n\r\n")
    try:
        rec = _warc_headers(data[:end])
        kind = rec.get_header("WARC-Type")
        uri = rec.get_header("WARC-Target-URI") or ""
        if uri.startswith("<") and uri.endswith(">"):  # as warcio: wget 1.19 wrote these
            uri = uri[1:-1]
            rec.replace_header("WARC-Target-URI", uri)
        length = int(rec.get_header("Content-Length") or "")
        stream = LimitReader(BufferedReader(BytesIO(data[end + 4:end + 4 + length])), length)
        http = _LOADER.load_http_headers(kind, uri.replace(" ", "%20"), stream, length)
        payload_length = length - stream.tell() if http else -1
    except Exception as exc:  # warcio raises many types for one cause: bad bytes
        raise RecordProblem(f"unreadable WARC record ({type(exc).__name__})") from None
    return ArcWarcRecord("warc", kind, rec, stream, http, rec.get_header("Content-Type"),
                         length, payload_length=payload_length)


def failure_text(exc: BaseException) -> str:
    """pages.error of a record whose processing raised: "extract: KeyError: 'href'"."""
    message = " ".join(str(exc).split())  # one line
    text = f"extract: {type(exc).__name__}" + (f": {message}" if message else "")
    return text[:FAILURE_MAX_CHARS]


def failed_page(page: dict[str, Any], exc: BaseException) -> PageRows:
    """The rows of a record whose processing raised: its pages row as far as it got
    (identity, status, …), the error, no links (their counts unknown: null)."""
    return PageRows({**page, "error": failure_text(exc)}, PageExtraction().links)


# The integer columns of a pages row and their ranges: a value out of range (a status
# line "HTTP/1.1 99999", a huge Entity-Length) would fail the whole part when it is
# written, so the record is rejected here, alone.
_INT_RANGES = {
    f.name: (-(1 << (f.type.bit_width - 1)), (1 << (f.type.bit_width - 1)) - 1)
    for f in PAGES if pa.types.is_signed_integer(f.type)
}


def _check_ranges(page: dict[str, Any]) -> None:
    for name, (low, high) in _INT_RANGES.items():
        value = page.get(name)
        if value is not None and not low <= value <= high:
            raise RecordProblem(f"{name} {value} out of range")


def _depth(value: str | None) -> int | None:
    try:
        depth = int(value) if value is not None else None
    except ValueError:
        return None
    return depth if depth is None or 0 <= depth <= _INT_RANGES["depth"][1] else None


_MAX_DECODED = 64 * 1024 * 1024  # a payload decoded here, at most (a gzip bomb stops there)


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """Undo what warcio leaves of a stacked Content-Encoding (`gzip, gzip`): warcio
    decodes a single known coding only; a crawl (Scrapy) undoes every layer."""
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    if len(codings) < 2:
        return body
    for coding in reversed(codings):
        if coding not in ("gzip", "x-gzip") or body[:2] != b"\x1f\x8b":
            break  # not (or no longer) gzip: warcio did this layer, or it is unknown
        inflater = zlib.decompressobj(31)
        body = inflater.decompress(body, _MAX_DECODED)
    return body


def response_page(record: ArcWarcRecord, crawl_id: str) -> PageRows | None:
    """A WARC response record → its rows (None: not an HTTP response)."""
    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
    if not uri.lower().startswith(("http://", "https://")) or record.http_headers is None:
        return None
    http = record.http_headers
    try:
        status = int(http.get_statuscode())
        body = _decoded(record.content_stream().read(),
                        last_header(http.headers, "Content-Encoding"))
    except Exception as exc:  # a bad status line, chunking or compression
        raise RecordProblem(f"unreadable HTTP response ({type(exc).__name__})") from None
    rec = record.rec_headers
    url = page_url(uri)
    depth = _depth(rec.get_header(DEPTH_HEADER))
    fetched_at = _fetched_at(rec.get_header("WARC-Date"))
    content_type = last_header(http.headers, "Content-Type")
    ip = rec.get_header("WARC-IP-Address")
    try:
        return page_rows(
            crawl_id,
            url,
            depth=depth,
            fetched_at=fetched_at,
            status=status,
            body=body,
            content_type=content_type,
            location=last_header(http.headers, "Location"),
            x_robots_tag=last_header(http.headers, "X-Robots-Tag"),
            ip=ip,
        )
    except Exception as exc:  # the page is kept, with what failed
        page = page_row(crawl_id, url, depth, fetched_at)
        page.update(status=status, content_type=media_type(content_type),
                    content_length=len(body), ip=ip)
        return failed_page(page, exc)


# The envelope's WARC-Type, found in its first bytes (WARC-Header-Metadata comes first in
# Common Crawl's WAT): two of three WAT records describe requests and metadata, and
# decoding their JSON only to drop them was 6% of an import (bench/RESULTS.md, wat).
_WAT_RESPONSE_RE = re.compile(rb'"WARC-Type"\s*:\s*"response"')
_WAT_OTHER_RE = re.compile(rb'"WARC-Type"\s*:\s*"(?:request|metadata|warcinfo|resource)"')


def metadata_page(record: ArcWarcRecord, crawl_id: str) -> PageRows | None:
    """A WAT record → its rows (None: metadata of something other than a response)."""
    content_type = (record.rec_headers.get_header("Content-Type") or "").lower()
    if "json" not in content_type:
        return None
    block = record.raw_stream.read()
    if _WAT_OTHER_RE.search(block[:4096]) and not _WAT_RESPONSE_RE.search(block[:4096]):
        return None  # a request's or a metadata record's envelope: not decoded at all
    try:
        envelope = json.loads(block)
    except (ValueError, UnicodeDecodeError):
        raise RecordProblem("WAT record with unreadable JSON") from None
    try:
        return wat_page(envelope, crawl_id, _fetched_at)
    except ExtractionFailed as failed:  # the page is kept, with what failed
        return failed_page(failed.page, failed.cause)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordProblem(f"WAT record of an unexpected shape ({type(exc).__name__})") from None


class ArchiveReader:
    """Turns one file's records into FetchedPages, counting what it reads and skips."""

    def __init__(self, crawl_id: str, warc_file: str) -> None:
        self.crawl_id = crawl_id
        self.warc_file = warc_file  # what pages.warc_file says for this file
        self.counts = Counts()
        self.first_damage: str | None = None
        self.first_failure: str | None = None  # "<url>: extract: <type>: <message>"

    def _damaged(self, offset: int, reason: str) -> None:
        self.counts.skipped += 1
        if self.first_damage is None:
            self.first_damage = f"{self.warc_file} at byte {offset}: {reason}"

    def page(self, item: RawRecord | Damage) -> PageRows | None:
        if isinstance(item, Damage):
            self._damaged(item.offset, item.reason)
            return None
        self.counts.records += 1
        head = item.data[: item.data.find(b"\r\n\r\n") + 2]
        kind_match = _TYPE_RE.search(head)
        if kind_match is None or kind_match.group(1).lower() not in WANTED:
            return None  # requests, warcinfo, resources: nothing to import
        if kind_match.group(1).lower() == b"metadata" and not _JSON_RE.search(head):
            return None  # metadata that is not a WAT record
        try:
            record = parse_record(item.data)
            kind = record.rec_type
            if kind == "revisit":
                self.counts.revisits += 1
                return None
            if kind == "response":
                page = response_page(record, self.crawl_id)
                if page is not None:
                    page.page["warc_file"] = self.warc_file
                    page.page["warc_offset"] = item.offset
            elif kind == "metadata":
                page = metadata_page(record, self.crawl_id)
            else:
                return None
        except RecordProblem as exc:
            self._damaged(item.offset, str(exc))
            return None
        except Exception as exc:  # not even a failed page could be made: no row, as damage
            self._damaged(item.offset, failure_text(exc))
            return None
        if page is not None:
            try:
                _check_ranges(page.page)
            except RecordProblem as exc:
                self._damaged(item.offset, str(exc))
                return None
            self.counts.pages += 1
            self.counts.edges += len(page.links["dst_url"])
            error = page.page.get("error")
            if error is not None and error.startswith("extract: "):
                self._failed(page.page["url"], error)
        return page

    def _failed(self, where: str, error: str) -> None:
        self.counts.failed += 1
        if self.first_failure is None:
            self.first_failure = f"{where}: {error}"


def warc_file_name(path: Path, data: Path) -> str:
    """pages.warc_file for an archive: relative to DATA when inside it, else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(data.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()
