"""A worker of an import job: lease a file, import it, say it is done; until finished.

What importing a file means is the caller's (`handle`, wired by linkindex/ from
index/archives/job_import.py): this module is the lease plumbing only. A heartbeat
thread keeps the lease; when it finds the lease lapsed (this worker was silent too
long and the file was handed on), `lost()` turns true and the handler stops and
removes what it made. SIGTERM / Ctrl-C (`stop` set): the file at hand is dropped and
handed back at once, not counted against max_attempts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import redis

from crawler.frontier import defaults, health
from crawler.frontier.connection import OUTAGE_ERRORS, Backoff
from crawler.frontier.filejobs import FileJob, Lease

log = logging.getLogger(__name__)
T = TypeVar("T")


class FileFailed(Exception):
    """The handler could not import this file. `final`: another attempt would fail the
    same way (missing, not an archive); otherwise the file is retried later."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final


class FileStopped(Exception):
    """The handler stopped because `lost()` turned true (it removed what it made)."""


# handle(lease, lost) → counters of the imported file (FILE_COUNTERS)
Handler = Callable[[Lease, Callable[[], bool]], dict[str, int]]
Discard = Callable[[str, "int | None"], None]


@dataclass
class FileWorkerSummary:
    files: int = 0
    pages: int = 0
    failed: list[str] = field(default_factory=list)  # "file: reason"
    lost: int = 0  # attempts dropped because their lease lapsed
    stopped: bool = False  # by the stop event or the job's state


@dataclass
class FileWorkerSettings:
    lease_seconds: float = defaults.LEASE_SECONDS
    heartbeat_seconds: float = defaults.HEARTBEAT_SECONDS
    poll_seconds: float = 0.5  # nothing to lease while others still hold files


class _Heartbeat(threading.Thread):
    """Beats every few seconds for the lease at hand; `lost` once it lapsed."""

    def __init__(self, job: FileJob, worker: str, settings: FileWorkerSettings,
                 discard: Discard, summary: FileWorkerSummary) -> None:
        super().__init__(name="file-heartbeat", daemon=True)
        self.job, self.worker, self.settings = job, worker, settings
        self.discard, self.summary = discard, summary
        self.lease: Lease | None = None
        self.lost = threading.Event()
        self.quit = threading.Event()
        self.lock = threading.Lock()
        self.started_at = time.monotonic()

    def hold(self, lease: Lease | None) -> None:
        with self.lock:
            self.lease = lease
            self.lost.clear()

    def stats(self) -> dict[str, object]:
        elapsed = max(1e-9, time.monotonic() - self.started_at)
        return {"file": self.lease.file if self.lease else "",
                "files_done": self.summary.files, "pages": self.summary.pages,
                "rate": round(self.summary.pages / elapsed, 2)}

    def beat(self) -> None:
        with self.lock:
            lease = self.lease
        held, failed = self.job.beat(self.worker, self.stats(),
                                     self.settings.lease_seconds, lease)
        if lease is not None and not held:
            self.lost.set()
        for file in failed:
            self.discard(file, None)

    def run(self) -> None:
        backoff = Backoff()
        while not self.quit.wait(self.settings.heartbeat_seconds
                                 if not backoff.down else backoff.wait):
            try:
                self.beat()
                backoff.succeeded()
                health.touch()
            except OUTAGE_ERRORS as exc:
                backoff.failed()
                log.warning("heartbeat: Redis unreachable (%s); retrying", exc)


def _until_answered(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A call that must reach Redis (counting a file done): retried through an outage."""
    backoff = Backoff()
    while True:
        try:
            return call(*args, **kwargs)
        except OUTAGE_ERRORS as exc:
            backoff.failed()
            log.warning("Redis unreachable (%s); retrying in %.1f s", exc, backoff.wait)
            time.sleep(backoff.wait)


def serve_files(server: redis.Redis, name: str, worker: str, handle: Handler, *,
                discard: Discard, stop: threading.Event,
                settings: FileWorkerSettings | None = None) -> FileWorkerSummary:
    """Import job `name`'s files until none is pending or leased (or `stop`, or the job
    is stopped). `discard(file, attempt)` removes the parts of one attempt at a file
    (None: of every attempt, for a file failed for good)."""
    settings = settings or FileWorkerSettings()
    job = FileJob(server, name)
    summary = FileWorkerSummary()
    heart = _Heartbeat(job, worker, settings, discard, summary)
    heart.start()
    lease: Lease | None = None
    try:
        while not stop.is_set():
            leased = _until_answered(job.lease, worker, settings.lease_seconds)
            for file in leased.failed:
                discard(file, None)
            lease, state = leased.lease, leased.state
            if lease is None:
                if state in ("finished", "stopped", "gone"):
                    summary.stopped = state != "finished"
                    return summary
                stop.wait(settings.poll_seconds)  # paused, or others hold the last files
                continue
            heart.hold(lease)

            def lost() -> bool:
                return stop.is_set() or heart.lost.is_set()

            try:
                counts = handle(lease, lost)
            except FileStopped:
                if stop.is_set():
                    break  # handed back below
                summary.lost += 1
                lease = None
                heart.hold(None)
                continue
            except FileFailed as exc:
                outcome = _until_answered(job.fail, worker, lease, str(exc), final=exc.final)
                if outcome == "failed":
                    summary.failed.append(f"{lease.file}: {exc}")
                lease = None
                heart.hold(None)
                continue
            if _until_answered(job.done, worker, lease, counts):
                summary.files += 1
                summary.pages += counts.get("pages", 0)
            else:  # lapsed while finishing: the attempt that holds it now imports it
                discard(lease.file, lease.attempt)
                summary.lost += 1
            lease = None
            heart.hold(None)
        summary.stopped = True
        return summary
    finally:
        heart.quit.set()
        heart.join(timeout=5)
        try:
            job.release(worker, lease)
        except OUTAGE_ERRORS:  # the lease lapses by itself
            pass
