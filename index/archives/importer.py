"""`linkindex import-warc`: WARC and WAT files → raw parts of a crawl, N files at a time.

Each file is read by one process (spawned, so no Scrapy or reactor state is inherited)
with its own PartWriter, hence its own worker id in the part names; a process flushes
its parts at the end of every file, so a file's rows are on disk when it is reported
done. Parts appear whole or not at all (core/parts.py): an interrupted import
leaves whole parts of the files it reached, never a partial file. A record whose
processing fails is kept as a pages row with its error (index/archives/records.py),
counted in `failed`, and the import goes on.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import queue as queues
import signal
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import LinkindexError, check_crawl_id
from core.parts import PartWriter
from core.warc.reader import GZIP_MAGIC, iter_records
from index.archives.records import ArchiveReader, Counts, warc_file_name

Report = Callable[[int], None]  # bytes read so far in the current file
# What one file gave: its counts, its first damaged record, its first failed record.
FileResult = tuple[Counts, str | None, str | None]


@dataclass
class ImportSummary:
    crawl_id: str
    files: int
    counts: Counts
    seconds: float
    first_damage: str | None = None
    first_failure: str | None = None  # "<url>: extract: <type>: <message>"

    @property
    def records_per_second(self) -> float:
        return self.counts.records / self.seconds if self.seconds else 0.0


def expand_inputs(patterns: Sequence[str]) -> list[Path]:
    """Paths and globs → distinct files, in the order given; one-line errors."""
    if not patterns:
        raise LinkindexError("give at least one WARC or WAT file (or a glob)")
    files: list[Path] = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matches = sorted(glob.glob(pattern, recursive=True))
            matches = [m for m in matches if Path(m).is_file()]
            if not matches:
                raise LinkindexError(f"no files match {pattern!r}")
            files += [Path(m) for m in matches]
        else:
            path = Path(pattern)
            if not path.exists():
                raise LinkindexError(f"no such file: {pattern}")
            if not path.is_file():
                raise LinkindexError(f"not a file: {pattern}")
            files.append(path)
    return list(dict.fromkeys(files))


def check_archive(path: Path) -> None:
    """A one-line error unless the file starts like a WARC (plain or gzipped)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
    except OSError as exc:
        raise LinkindexError(f"cannot read {path}: {exc.strerror or exc}") from None
    check_head(head, str(path))


def check_head(head: bytes, name: str) -> None:
    """A one-line error unless `head`, a file's first bytes, starts like a WARC."""
    if not head:
        raise LinkindexError(f"{name} is empty, not a WARC file")
    if head.startswith(GZIP_MAGIC):
        try:
            head = zlib.decompressobj(31).decompress(head, 16)
        except zlib.error:
            head = b""
    if not head.startswith(b"WARC/"):
        raise LinkindexError(f"{name} is not a WARC file (WARC, WAT; gzipped or not)")


def import_file(path: Path, writer: PartWriter, crawl_id: str, data: Path,
                report: Report | None = None) -> FileResult:
    """Every record of one file into `writer`, flushed at the end."""
    reader = ArchiveReader(crawl_id, warc_file_name(path, data))
    for item in iter_records(path, report):
        fetched = reader.page(item)
        if fetched is not None:
            writer.add(fetched.page, fetched.links)
            if writer.due():
                writer.flush()
    writer.flush()
    return reader.counts, reader.first_damage, reader.first_failure


# --- worker processes ---------------------------------------------------------------

_state: dict[str, Any] = {}


def _init_worker(data: str, crawl_id: str, folder: str, queue: Any) -> None:
    # Ctrl-C: the parent reports it; a worker just stops (its unfinished part stays a
    # temporary file, which nothing reads) instead of printing a traceback.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    _state.update(data=Path(data), crawl_id=crawl_id, queue=queue,
                  writer=PartWriter(Path(data), folder))


def _import_in_worker(path: str) -> FileResult:
    queue, last = _state["queue"], [0, time.monotonic()]

    def report(offset: int) -> None:
        now = time.monotonic()
        if now - last[1] >= 0.2:
            queue.put(offset - last[0])
            last[:] = [offset, now]

    result = import_file(Path(path), _state["writer"], _state["crawl_id"], _state["data"],
                         report)
    queue.put(Path(path).stat().st_size - last[0])
    return result


class _Progress:
    """A rich progress bar over bytes on a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.bar = Progress(TextColumn("import"), BarColumn(), DownloadColumn(),
                                TransferSpeedColumn(), TimeRemainingColumn(),
                                TextColumn("{task.fields[status]}"), transient=True,
                                console=Console(stderr=True))
            self.task = self.bar.add_task("import", total=total, status="")
            self.bar.start()

    def advance(self, n: int, status: str | None = None) -> None:
        if self.bar is not None:
            fields = {"status": status} if status is not None else {}
            self.bar.update(self.task, advance=n, **fields)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def import_archives(data: Path, crawl_id: str, files: Sequence[Path], *, jobs: int = 1,
                    progress: bool | None = None, folder: str | None = None) -> ImportSummary:
    """Import `files` as crawl `crawl_id` into DATA/raw/<folder or crawl_id>/."""
    check_crawl_id(crawl_id)
    if jobs < 1:
        raise LinkindexError("--jobs must be at least 1")
    for path in files:
        check_archive(path)
    folder = folder or crawl_id
    started = time.monotonic()
    total = Counts()
    first_damage: str | None = None
    first_failure: str | None = None
    bar = _Progress(sum(p.stat().st_size for p in files),
                    sys.stderr.isatty() if progress is None else progress)

    def done(counts: Counts, damage: str | None, failure: str | None) -> None:
        nonlocal first_damage, first_failure
        total.add(counts)
        first_damage = first_damage or damage
        first_failure = first_failure or failure
        failed = f"  {total.failed:,} failed" if total.failed else ""
        bar.advance(0, f"{total.pages:,} pages  {total.skipped:,} skipped{failed}")

    try:
        if jobs == 1 or len(files) == 1:  # in this process: no start-up cost
            writer = PartWriter(data, folder)
            for path in files:
                last = [0]

                def report(offset: int, last: list[int] = last) -> None:
                    bar.advance(offset - last[0])
                    last[0] = offset

                done(*import_file(path, writer, crawl_id, data, report))
                bar.advance(path.stat().st_size - last[0])
        else:
            _run_pool(data, crawl_id, folder, files, jobs, bar, done)
    except OSError as exc:  # disk full, a file gone: one line, whole parts stay
        raise LinkindexError(f"import stopped: {exc}") from None
    finally:
        bar.close()
    return ImportSummary(crawl_id, len(files), total, time.monotonic() - started, first_damage,
                         first_failure)


def _run_pool(data: Path, crawl_id: str, folder: str, files: Sequence[Path], jobs: int,
              bar: _Progress, done: Callable[[Counts, str | None, str | None], None]) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    with ProcessPoolExecutor(max_workers=min(jobs, len(files)), mp_context=ctx,
                             initializer=_init_worker,
                             initargs=(str(data), crawl_id, folder, queue)) as pool:
        pending: set[Future[FileResult]] = {
            pool.submit(_import_in_worker, str(path)) for path in files
        }
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(queue, bar)
                for future in finished:
                    done(*future.result())
        except BrokenProcessPool:  # Ctrl-C reached the workers first, or one was killed
            pool.shutdown(wait=False, cancel_futures=True)
            raise LinkindexError(
                "import stopped: a worker process was interrupted or killed "
                "(the whole parts it wrote are kept)"
            ) from None
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _drain(queue: Any, bar: _Progress) -> None:
    while True:
        try:
            bar.advance(queue.get_nowait())
        except queues.Empty:
            return
