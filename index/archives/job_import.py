"""One archive file of an import job (`linkindex job submit-import`): streamed from where
it is, written as raw parts named for the file and the attempt, so that a file is in
DATA exactly once whatever happened to the workers before.

- A file's parts are `<unit>-a<attempt>-<seq>.parquet`, unit = "f" + 16 hex digits of
  the SHA-1 of its URL. An attempt first removes every part an earlier attempt at the
  file left (a worker killed half-way, or presumed dead), writes its own, removes
  again what an attempt presumed dead may have written meanwhile, and only then is the
  file counted done (in Redis, by the lease's token: crawler/frontier/filejobs.py).
- When the attempt stops (its lease lapsed, or the worker is told to stop) or fails,
  it removes its own parts: a file is never half in DATA.
- Sources: a local path, an http(s) URL (streamed; a dropped connection resumes by a
  Range request: index/ccgraph/remote.HttpStream) or an s3:// URL (pyarrow's S3
  reader). Nothing is copied to disk first.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from itertools import count
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from core import layout
from core.errors import LinkindexError
from core.mirror import Spool
from core.parts import PartWriter
from core.warc.reader import iter_records
from index.archives.importer import check_head
from index.archives.records import ArchiveReader, Counts
from index.ccgraph.remote import HttpStream, RemoteGone, get

__all__ = ["DEFAULT_PREFIX", "ImportLost", "SourceGone", "import_attempt", "read_paths",
           "remove_attempts"]

DEFAULT_PREFIX = "https://data.commoncrawl.org/"
HEAD_BYTES = 64 * 1024
_SCHEMES = ("http", "https", "s3")


class ImportLost(Exception):
    """The attempt was told to stop (`lost()`); its parts are removed."""


class SourceGone(LinkindexError):
    """The file is missing or is not an archive: another attempt would fail the same."""


def read_paths(paths: str, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The files a path list names (Common Crawl's `wat.paths.gz`: one path per line,
    relative to `prefix`; gzipped or plain; local, http(s) or s3://). A line that is
    already a URL or an absolute path is kept as it is."""
    scheme = urlsplit(prefix).scheme
    if scheme not in _SCHEMES and not Path(prefix).is_absolute():
        raise LinkindexError(f"--prefix {prefix!r}: give an http(s) or s3:// URL, or an "
                             "absolute folder")
    raw = _read_whole(paths)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise LinkindexError(f"{paths}: a damaged gzip file ({exc})") from None
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise LinkindexError(f"{paths}: not a text list of paths") from None
    base = prefix if prefix.endswith("/") else prefix + "/"
    files = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if urlsplit(line).scheme in _SCHEMES or line.startswith("/"):
            files.append(line)
        else:
            files.append(base + line.lstrip("/"))
    if not files:
        raise LinkindexError(f"{paths} names no file")
    return files


def _read_whole(source: str) -> bytes:
    scheme = urlsplit(source).scheme
    if scheme in ("http", "https"):
        return get(source)
    if scheme == "s3":
        with _s3_input(source) as fh:
            return fh.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise LinkindexError(f"cannot read {source}: {exc.strerror or exc}") from None


@contextmanager
def _s3_input(url: str) -> Iterator[BinaryIO]:
    from core.storage import Storage

    parts = urlsplit(url)
    folder, _, name = parts.path.lstrip("/").rpartition("/")
    storage = Storage.of(f"s3://{parts.netloc}/{folder}" if folder else f"s3://{parts.netloc}")
    try:
        fh = storage.open_input(name)
    except FileNotFoundError:
        raise SourceGone(f"{url}: no such object") from None
    with fh:
        yield fh  # type: ignore[misc]


@contextmanager
def open_source(source: str) -> Iterator[BinaryIO]:
    """The file at `source`, read forward, checked to start like a WARC."""
    scheme = urlsplit(source).scheme
    try:
        if scheme in ("http", "https"):
            raw: BinaryIO = HttpStream(source)  # type: ignore[assignment]
        elif scheme == "s3":
            with _s3_input(source) as fh:
                yield _checked(fh, source)
            return
        else:
            try:
                raw = open(source, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise SourceGone(f"{source}: no such file") from None
    except RemoteGone as exc:
        raise SourceGone(str(exc)) from None
    with raw:
        yield _checked(raw, source)


def _checked(fh: BinaryIO, source: str) -> BinaryIO:
    buffered = io.BufferedReader(fh, buffer_size=1 << 20)  # type: ignore[arg-type]
    try:
        check_head(buffered.peek(HEAD_BYTES)[:HEAD_BYTES], source)
    except LinkindexError as exc:
        raise SourceGone(str(exc)) from None
    return buffered  # type: ignore[return-value]


def file_unit(source: str) -> str:
    """The stable part-name prefix of one file of a job."""
    return "f" + hashlib.sha1(source.encode()).hexdigest()[:16]


def attempt_worker_id(source: str, attempt: int) -> str:
    return f"{file_unit(source)}-a{attempt}"


def _attempt_parts(data: Path, crawl_id: str, worker: str,
                   stored: Callable[[str], bool]) -> Iterator[str]:
    """The parts one attempt wrote, as paths relative to DATA: its names are numbered
    from 0 with no gap, so the first number with neither file ends them."""
    for seq in count():
        name = f"{worker}-{seq:06d}.parquet"
        rels = [f"raw/{crawl_id}/{table}/{name}" for table in ("edges", "pages")]
        found = [rel for rel in rels if (data / rel).exists() or stored(rel)]
        if not found:
            return
        yield from found


def remove_attempts(data: Path, crawl_id: str, source: str, attempts: range,
                    spool: Spool | None = None) -> int:
    """Remove every part these attempts at `source` wrote (in DATA, and in the store
    when DATA is a spool); the number of files removed. Pages before edges, so no
    pages row is ever left without its links."""
    stored = spool.storage.exists if spool is not None else (lambda _: False)
    removed = 0
    for attempt in attempts:
        worker = attempt_worker_id(source, attempt)
        for table in ("pages", "edges"):  # a killed writer's temporary files
            for tmp in layout.raw_dir(data, crawl_id, table).glob(
                    f"{layout.TMP_PREFIX}*-{worker}-*"):
                tmp.unlink(missing_ok=True)
        rels = list(_attempt_parts(data, crawl_id, worker, stored))
        for rel in sorted(rels, key=lambda r: "/pages/" not in r):
            (data / rel).unlink(missing_ok=True)
            if spool is not None:
                spool.storage.delete(rel)
            removed += 1
    return removed


def import_attempt(source: str, attempt: int, data: Path, crawl_id: str,
                   lost: Callable[[], bool], *, spool: Spool | None = None,
                   max_edges: int = 250_000, max_seconds: float = 60.0) -> dict[str, int]:
    """Import `source` as attempt number `attempt` (1, 2, …) into raw/<crawl_id>/; its
    counts (records, pages, edges, skipped, failed_pages, revisits).

    Raises ImportLost when `lost()` turns true, SourceGone for a file that is missing or
    not an archive, LinkindexError or OSError for anything else; in each case this
    attempt's parts are removed first.
    """
    layout.raw_dir(data, crawl_id, "pages").mkdir(parents=True, exist_ok=True)
    remove_attempts(data, crawl_id, source, range(1, attempt + 1), spool)
    worker = attempt_worker_id(source, attempt)
    taken = (lambda name: spool.taken(f"raw/{crawl_id}/pages/{name}")) if spool else None
    writer = PartWriter(data, crawl_id, worker, max_edges=max_edges, max_seconds=max_seconds,
                        taken=taken)
    try:
        counts = _import_stream(source, writer, crawl_id, lost)
        if lost():
            raise ImportLost(source)
        # an attempt presumed dead, still running, may have written since the first sweep
        remove_attempts(data, crawl_id, source, range(1, attempt), spool)
        if spool is not None:
            spool.publish(rel for rel in spool.leftovers() if f"/{worker}-" in rel)
    except BaseException:
        remove_attempts(data, crawl_id, source, range(attempt, attempt + 1), spool)
        raise
    out = asdict(counts)
    out["failed_pages"] = out.pop("failed")
    return out


def _import_stream(source: str, writer: PartWriter, crawl_id: str,
                   lost: Callable[[], bool]) -> Counts:
    reader = ArchiveReader(crawl_id, source)
    with open_source(source) as stream:
        for item in iter_records(stream):
            fetched = reader.page(item)
            if fetched is None:
                continue
            writer.add(fetched.page, fetched.links)
            if writer.due():
                if lost():
                    raise ImportLost(source)
                writer.flush()
    if lost():
        raise ImportLost(source)
    writer.flush()
    return reader.counts
