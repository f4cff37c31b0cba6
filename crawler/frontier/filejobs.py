"""Import jobs in Redis: a job whose units are files (WARC or WAT), not URLs.

`linkindex job submit-import NAME --paths LIST` puts the list into the job; workers
lease one file at a time under the rules of crawl jobs (crawler/frontier/store.py):

- a lease is held while its worker beats (every HEARTBEAT_SECONDS); a worker silent
  for LEASE_SECONDS is dead and its file goes back to the front of the queue, failed
  instead once it was leased `max_attempts` times (a file that kills its worker every
  time must not stall the job);
- each lease carries a random token; a file is counted done only if the token that
  finishes it still holds its lease, so a worker presumed dead that wakes up cannot
  count a file twice (its parts are removed instead: index/archives/job_import.py);
- finished means nothing pending and nothing leased.

The scripts are in scripts/file_*.lua; every key is under the job's hash tag, as for
crawl jobs, so `job status`, `pause`, `stop` and `purge` work on both kinds.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources

import redis

from core.errors import LinkindexError
from crawler.frontier import defaults
from crawler.frontier.keys import JobKeys

KIND = "import"  # the job config's `kind` (crawl jobs have none)
# What a finished file adds to the job's counters (from index.archives' Counts).
FILE_COUNTERS = ("records", "pages", "edges", "skipped", "failed_pages", "revisits")
PUSH_BATCH = 10_000  # file names per RPUSH at submit


@cache
def _script_text(name: str) -> str:
    folder = resources.files("crawler.frontier") / "scripts"
    return "\n".join((folder / f"{part}.lua").read_text()
                     for part in ("_common", "_files", name))


def is_import_job(server: redis.Redis, name: str) -> bool:
    return server.hget(JobKeys(name).config, "kind") == KIND


def submit_files(server: redis.Redis, name: str, files: Sequence[str], *,
                 source: str = "", max_attempts: int = defaults.MAX_ATTEMPTS) -> int:
    """Create import job `name` over `files` (each once, in the order given); returns
    the number queued."""
    keys = JobKeys(name)
    unique = list(dict.fromkeys(files))
    if not unique:
        raise LinkindexError("the path list names no file")
    if max_attempts < 1:
        raise LinkindexError("--max-attempts must be at least 1")
    created = int(time.time() * 1000)
    if not server.hsetnx(keys.config, "state", "running"):
        raise LinkindexError(f"job {name!r} exists: `linkindex job purge {name}` "
                             "first, or pick another name")
    server.hset(keys.config, mapping={
        "kind": KIND, "created_ms": str(created), "files": str(len(unique)),
        "source": source, "max_attempts": str(max_attempts)})
    for start in range(0, len(unique), PUSH_BATCH):
        server.rpush(keys.files, *unique[start:start + PUSH_BATCH])
    server.zadd(defaults.JOBS_KEY, {name: created})
    return len(unique)


@dataclass(frozen=True)
class Lease:
    file: str
    attempt: int  # 1 for the first lease of this file, 2 after a lapse or a failure …
    token: str


@dataclass
class Leased:
    """What asking for work gave: a lease, or why there is none, and the files that
    failed by lapsed leases just now (their parts are to be removed)."""

    state: str  # leased, waiting, finished, paused, stopped, gone
    lease: Lease | None
    failed: list[str]


class FileJob:
    """The Python face of scripts/file_*.lua: one round trip per call."""

    def __init__(self, server: redis.Redis, name: str) -> None:
        self.server = server
        self.name = name
        self.keys = JobKeys(name)
        self._scripts = {n: server.register_script(_script_text(n))
                         for n in ("file_lease", "file_beat", "file_done", "file_fail",
                                   "file_release")}

    def _run(self, script: str, *args: object) -> list | int | str:
        return self._scripts[script](keys=[self.keys.config],
                                     args=[self.keys.prefix, *args])

    def lease(self, worker: str, lease_seconds: float) -> Leased:
        token = secrets.token_hex(8)
        state, file, attempt, *failed = self._run("file_lease", worker,
                                                  int(lease_seconds * 1000), token)
        lease = Lease(file, int(attempt), token) if state == "leased" else None
        return Leased(state, lease, list(failed))

    def beat(self, worker: str, stats: dict[str, object], lease_seconds: float,
             lease: Lease | None) -> tuple[bool, list[str]]:
        """(whether `lease` is still held, files failed by lapsed leases just now)."""
        held, *failed = self._run("file_beat", worker, json.dumps(stats),
                                  int(lease_seconds * 1000),
                                  lease.file if lease else "", lease.token if lease else "")
        return bool(int(held)), list(failed)

    def done(self, worker: str, lease: Lease, counts: dict[str, int]) -> bool:
        pairs: list[object] = []
        for name in FILE_COUNTERS:
            pairs += [name, int(counts.get(name, 0))]
        pairs += ["files_done", 1]
        return bool(self._run("file_done", worker, lease.file, lease.token, *pairs))

    def fail(self, worker: str, lease: Lease, reason: str, *, final: bool) -> str:
        return str(self._run("file_fail", worker, lease.file, lease.token, reason[:500],
                             "1" if final else "0"))

    def release(self, worker: str, lease: Lease | None) -> bool:
        return bool(self._run("file_release", worker, lease.file if lease else "",
                              lease.token if lease else ""))

    def failed(self) -> dict[str, str]:
        return self.server.hgetall(self.keys.ffailed)

    def has_work(self) -> bool:
        """Running, with files pending (what a worker without --job looks for)."""
        return (self.server.hget(self.keys.config, "state") == "running"
                and self.server.llen(self.keys.files) > 0)


@dataclass
class FileWorkerStatus:
    name: str
    seconds_since_beat: float
    file: str  # the file it holds ("" between files)
    files_done: int
    pages: int
    pages_per_second: float


@dataclass
class FileJobStatus:
    """An import job's counts: files pending, leased, done, failed; pages imported."""

    name: str
    state: str
    files: int
    pending: int
    leased: int
    done: int
    failed: int
    counts: dict[str, int] = field(default_factory=dict)  # FILE_COUNTERS of done files
    failed_files: dict[str, str] = field(default_factory=dict)  # first 20: file → reason
    workers: list[FileWorkerStatus] = field(default_factory=list)
    kind: str = KIND

    @property
    def finished(self) -> bool:
        return self.pending == 0 and self.leased == 0

    @property
    def display_state(self) -> str:
        return "finished" if self.finished else self.state

    @property
    def pages_per_second(self) -> float:
        return sum(w.pages_per_second for w in self.workers)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out.update(finished=self.finished, display_state=self.display_state,
                   pages_per_second=round(self.pages_per_second, 2))
        return out


def status(server: redis.Redis, name: str) -> FileJobStatus:
    keys = JobKeys(name)
    if not is_import_job(server, name):
        raise LinkindexError(f"no import job {name!r} in this Redis")
    config = server.hgetall(keys.config)
    stats = server.hgetall(keys.stats)
    seconds, micros = server.time()
    now_ms = seconds * 1000 + micros // 1000
    beats = dict(server.zrange(keys.workers, 0, -1, withscores=True))
    workers = []
    for worker, payload in sorted(server.hgetall(keys.wstats).items()):
        info = json.loads(payload)
        workers.append(FileWorkerStatus(
            worker, max(0.0, (now_ms - beats.get(worker, now_ms)) / 1000),
            str(info.get("file", "")), int(info.get("files_done", 0)),
            int(info.get("pages", 0)), float(info.get("rate", 0.0))))
    failed_files = dict(sorted(server.hgetall(keys.ffailed).items())[:20])
    return FileJobStatus(
        name=name, state=config.get("state", "?"), files=int(config.get("files", 0)),
        pending=server.llen(keys.files), leased=server.hlen(keys.fleases),
        done=server.scard(keys.fdone), failed=server.hlen(keys.ffailed),
        counts={n: int(stats.get(n, 0)) for n in FILE_COUNTERS},
        failed_files=failed_files, workers=workers)


def done_files(server: redis.Redis, name: str) -> set[str]:
    return set(server.smembers(JobKeys(name).fdone))


def pending_files(server: redis.Redis, name: str) -> Iterable[str]:
    return server.lrange(JobKeys(name).files, 0, -1)
