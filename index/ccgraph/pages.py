"""`linkindex cc-fetch`: link-level detail for the domains that matter, from Common Crawl.

The web graph says that a domain links to the target, not with which anchor, rel or
position. For the target's referring domains, this finds their pages in Common Crawl's
columnar URL index, fetches just those WARC records by HTTP range request (each record
is a gzip member that decompresses alone), and imports them through the crawler's own
extractor (index/archives/records.py), as `import-warc` does: the next build has their
links with anchors, rel flags and positions.

- One scan of the index for all domains: each Parquet file is read over HTTP by range
  (``RangeFile``), only its row groups whose url_host_registered_domain statistics can
  hold one of the domains, and only five columns.
- At most ``per_domain`` pages per domain, successful HTML answers first.
- Every remote read has a timeout and retries with back-off; records already imported
  are listed in ``DATA/ccgraph/.cc-fetch/<crawl_id>.done``, so a rerun goes on where it
  stopped.
"""

from __future__ import annotations

import gzip
import io
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import layout
from core.errors import LinkindexError, check_crawl_id
from core.parts import PartWriter
from core.warc.reader import RawRecord
from index.archives.records import ArchiveReader, Counts
from index.ccgraph.remote import TIMEOUT, get

__all__ = ["DEFAULT_BASE", "FetchSummary", "IndexRecord", "RangeFile", "fetch_pages",
           "find_records", "index_files"]

DEFAULT_BASE = "https://data.commoncrawl.org"
INDEX_COLUMNS = ["url", "url_host_registered_domain", "fetch_status", "warc_filename",
                 "warc_record_offset", "warc_record_length"]
BATCH = 200  # records between two flushes (resume points)
Report = Callable[[str], None]


class RangeFile(io.RawIOBase):
    """A remote file read by HTTP range requests: what pyarrow needs to read a Parquet
    file's footer and chosen row groups without downloading the rest."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        request = urllib.request.Request(url, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                self.size = int(answer.headers["Content-Length"])
        except (urllib.error.URLError, OSError, TypeError, ValueError) as exc:
            raise LinkindexError(f"{url}: cannot read its size ({exc})") from None
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self.size - self.position)
        if want <= 0:
            return 0
        data = get(self.url, {"Range": f"bytes={self.position}-{self.position + want - 1}"})
        buffer[:len(data)] = data
        self.position += len(data)
        return len(data)


def index_files(base: str, crawl: str) -> list[str]:
    """The crawl's columnar index files (subset=warc), from its published path list."""
    listing = f"{base.rstrip('/')}/crawl-data/{crawl}/cc-index-table.paths.gz"
    try:
        lines = gzip.decompress(get(listing)).decode().split()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LinkindexError(f"{listing}: not a gzipped path list ({exc})") from None
    files = [f"{base.rstrip('/')}/{line}" for line in lines if "/subset=warc/" in line]
    if not files:
        raise LinkindexError(f"{listing} names no index file of subset=warc")
    return files


@dataclass(frozen=True)
class IndexRecord:
    url: str
    domain: str
    warc_filename: str
    offset: int
    length: int

    @property
    def key(self) -> str:
        return f"{self.warc_filename}:{self.offset}"


def _may_hold(row_group: pq.RowGroupMetaData, column: int, domains: list[str]) -> bool:
    stats = row_group.column(column).statistics
    if stats is None or not stats.has_min_max:
        return True
    return any(stats.min <= domain <= stats.max for domain in domains)


def find_records(files: Iterable[str], domains: Iterable[str], per_domain: int,
                 report: Report = lambda _: None) -> list[IndexRecord]:
    """At most `per_domain` WARC records per domain, 2xx answers first, in one pass over
    the index files (only the row groups whose statistics can hold a domain)."""
    wanted = sorted(set(domains))
    found: dict[str, list[tuple[int, IndexRecord]]] = {domain: [] for domain in wanted}
    for url in files:
        remote = RangeFile(url) if url.startswith(("http://", "https://")) else None
        try:
            parquet = pq.ParquetFile(remote or url)
        except (pa.ArrowInvalid, OSError) as exc:
            raise LinkindexError(f"{url}: not a Parquet file ({exc})") from None
        names = parquet.schema_arrow.names
        missing = [c for c in INDEX_COLUMNS if c not in names]
        if missing:
            raise LinkindexError(f"{url}: not a columnar URL index (no {', '.join(missing)})")
        column = names.index("url_host_registered_domain")
        groups = [i for i in range(parquet.num_row_groups)
                  if _may_hold(parquet.metadata.row_group(i), column, wanted)]
        report(f"{url.rsplit('/', 1)[-1]}: {len(groups)} of {parquet.num_row_groups} row "
               "groups")
        if not groups:
            continue
        table = parquet.read_row_groups(groups, columns=INDEX_COLUMNS)
        table = table.filter(pc.is_in(table.column("url_host_registered_domain"),
                                      pa.array(wanted)))
        for row in table.to_pylist():
            status = row["fetch_status"] or 0
            found[row["url_host_registered_domain"]].append((0 if 200 <= status < 300 else 1,
                IndexRecord(row["url"], row["url_host_registered_domain"],
                            row["warc_filename"], int(row["warc_record_offset"]),
                            int(row["warc_record_length"]))))
    records = []
    for domain in wanted:  # 2xx first, then by URL: the same choice on every run
        chosen = sorted(found[domain], key=lambda item: (item[0], item[1].url))[:per_domain]
        records += [record for _, record in chosen]
    return records


def fetch_record(base: str, record: IndexRecord) -> bytes:
    """One WARC record, uncompressed: a range of its WARC file, one gzip member."""
    url = f"{base.rstrip('/')}/{record.warc_filename}"
    end = record.offset + record.length - 1
    data = get(url, {"Range": f"bytes={record.offset}-{end}"})
    if len(data) != record.length:
        raise LinkindexError(f"{url} bytes {record.offset}-{end}: {len(data)} bytes came, "
                             f"{record.length} expected")
    try:
        return zlib.decompressobj(31).decompress(data)
    except zlib.error as exc:
        raise LinkindexError(f"{url} at byte {record.offset}: not a gzip member ({exc})"
                             ) from None


@dataclass
class FetchSummary:
    records: int = 0  # chosen from the index
    fetched: int = 0  # fetched and imported now
    skipped: int = 0  # imported by an earlier run
    counts: Counts = field(default_factory=Counts)
    failures: list[str] = field(default_factory=list)  # records that could not be fetched


def fetch_pages(data: Path, records: list[IndexRecord], *, base: str = DEFAULT_BASE,
                crawl_id: str = "cc-fetch", report: Report = lambda _: None) -> FetchSummary:
    """Fetch and import `records` into DATA/raw/<crawl_id>/; resumable (see the module)."""
    check_crawl_id(crawl_id)
    done_path = layout.ccgraph_dir(data) / ".cc-fetch" / f"{crawl_id}.done"
    done = set(done_path.read_text().split()) if done_path.exists() else set()
    summary = FetchSummary(records=len(records))
    writer = PartWriter(data, crawl_id)
    batch: list[str] = []

    def flush() -> None:
        writer.flush()  # the pages are on disk before they are listed as done
        done_path.parent.mkdir(parents=True, exist_ok=True)
        with open(done_path, "a") as fh:
            fh.write("".join(f"{key}\n" for key in batch))
        batch.clear()

    for record in records:
        if record.key in done:
            summary.skipped += 1
            continue
        try:
            raw = fetch_record(base, record)
        except LinkindexError as exc:  # counted and named; the others go on
            summary.failures.append(str(exc))
            continue
        reader = ArchiveReader(crawl_id, f"{base.rstrip('/')}/{record.warc_filename}")
        page = reader.page(RawRecord(record.offset, raw))
        summary.counts.add(reader.counts)
        if page is not None:
            writer.add(page.page, page.links)
        summary.fetched += 1
        batch.append(record.key)
        if len(batch) >= BATCH:
            flush()
            report(f"{summary.fetched:,} of {len(records):,} records imported")
    flush()
    return summary
