"""Import jobs: `job submit-import` and the worker's import loop, wired from the lease
plumbing (crawler/frontier/filejobs.py, fileworker.py) and the file import
(index/archives/job_import.py). Parsing and wiring only."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import redis

from core.errors import LinkindexError, check_crawl_id
from core.mirror import Spool
from core.parts import default_worker_id
from core.storage import Storage
from crawler.frontier import defaults
from crawler.frontier.filejobs import FileJob, Lease, submit_files
from crawler.frontier.fileworker import (
    FileFailed,
    FileStopped,
    FileWorkerSettings,
    FileWorkerSummary,
    serve_files,
)
from crawler.frontier.worker import JobRun
from index.archives.job_import import (
    ImportLost,
    SourceGone,
    import_attempt,
    read_paths,
    remove_attempts,
)

log = logging.getLogger("linkindex.import")


def submit_import(server: redis.Redis, name: str, paths: str, prefix: str,
                  max_attempts: int) -> int:
    check_crawl_id(name)  # the job name is the crawl id of its raw parts
    files = read_paths(paths, prefix)
    return submit_files(server, name, files, source=paths, max_attempts=max_attempts)


def _number(overrides: dict[str, Any], name: str, default: float) -> float:
    value = overrides.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise LinkindexError(f"-s {name}={value!r}: give a number") from None


def serve_import_job(server: redis.Redis, name: str, data: Path, overrides: dict[str, Any],
                     stop: threading.Event) -> JobRun:
    """Import job `name`'s files into DATA/raw/<name>/ until none is left (or `stop`)."""
    worker = str(overrides.get("LINKINDEX_WORKER_ID") or default_worker_id())
    store = overrides.get("LINKINDEX_STORE")
    spool = Spool(Storage.of(store), data) if store else None
    max_attempts = int(server.hget(FileJob(server, name).keys.config, "max_attempts")
                       or defaults.MAX_ATTEMPTS)
    max_edges = int(_number(overrides, "LINKINDEX_PART_MAX_EDGES", 250_000))
    max_seconds = _number(overrides, "LINKINDEX_PART_MAX_SECONDS", 60.0)
    settings = FileWorkerSettings(
        lease_seconds=_number(overrides, "LINKINDEX_LEASE_SECONDS", defaults.LEASE_SECONDS),
        heartbeat_seconds=_number(overrides, "LINKINDEX_HEARTBEAT_SECONDS",
                                  defaults.HEARTBEAT_SECONDS))

    def handle(lease: Lease, lost: Any) -> dict[str, int]:
        try:
            return import_attempt(lease.file, lease.attempt, data, name, lost, spool=spool,
                                  max_edges=max_edges, max_seconds=max_seconds)
        except ImportLost:
            raise FileStopped(lease.file) from None
        except SourceGone as exc:
            raise FileFailed(str(exc), final=True) from None
        except (LinkindexError, OSError) as exc:
            raise FileFailed(str(exc)) from None
        except Exception as exc:  # a bug on one file: recorded, retried, the job goes on
            log.exception("importing %s failed", lease.file)
            raise FileFailed(f"{type(exc).__name__}: {exc}") from None

    def discard(file: str, attempt: int | None) -> None:
        attempts = range(attempt, attempt + 1) if attempt else range(1, max_attempts + 1)
        remove_attempts(data, name, file, attempts, spool)

    summary: FileWorkerSummary = serve_files(server, name, worker, handle, discard=discard,
                                             stop=stop, settings=settings)
    for failure in summary.failed:
        print(f"failed: {failure}", file=sys.stderr)
    return JobRun(name, summary.pages, "shutdown" if summary.stopped else "finished")


def run_import_worker(server: redis.Redis, name: str, data: Path,
                      overrides: dict[str, Any]) -> JobRun:
    """`linkindex worker --job NAME` for an import job: SIGTERM or Ctrl-C hands the
    file at hand back at once and exits 0."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return serve_import_job(server, name, data, overrides, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
