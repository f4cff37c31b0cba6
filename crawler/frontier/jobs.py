"""Crawl jobs in Redis: submit, status, pause, resume, stop, purge.

A job is the unit many workers share: its config, its frontier and its counters, all
under `linkindex:{JOB}:` (and `linkindex:{JOB:k}:` for its shards k > 0, each with a copy
of the config, so each shard's scripts see the state). Its name is also the crawl id of
the raw parts its workers write. Finished means nothing queued and nothing leased. What
a job crawls, and how politely, is a crawler.spec.CrawlSpec, checked when it is built.

On a Redis Cluster the job's shards and the job list live on different nodes, so no
step here is atomic across them: submit undoes what it wrote when a step fails, state
changes go to every shard, and purge deletes by pattern on every node.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import redis

from core.domains import registrable_domain
from core.errors import LinkindexError
from core.urls import url_host
from crawler.frontier import defaults, filejobs
from crawler.frontier.connection import is_cluster
from crawler.frontier.keys import JobKeys, job_patterns, shard_keys
from crawler.frontier.store import FrontierStore, Link
from crawler.spec import CrawlSpec

STATES = ("running", "paused", "stopped")


def _ms(seconds: float) -> str:
    return str(round(seconds * 1000)) if math.isfinite(seconds) else "inf"


def submit(server: redis.Redis | redis.RedisCluster, name: str, spec: CrawlSpec) -> int:
    """Create job `name` crawling `spec` and queue its seeds; returns the number queued."""
    keys = JobKeys(name)
    seen = spec.seen_filter()
    domains = spec.scope_domains()
    config = {
        "state": "running",
        "created_ms": str(int(time.time() * 1000)),
        "scope": spec.scope,
        "scope_domains": json.dumps(sorted(domains) if domains is not None else None),
        "delay_ms": _ms(spec.delay),
        "max_crawl_delay_ms": _ms(spec.max_crawl_delay),
        "margin_ms": _ms(spec.margin),
        "max_attempts": str(spec.max_attempts),
        "robots": "1" if spec.robots else "0",
        "seeds": str(len(spec.seeds)),
        "shards": str(spec.shards),
        "failed_max": str(defaults.FAILED_RECORD_MAX),
        **seen.as_config(),
    }
    limits = {"max_depth": spec.max_depth, "max_pages": spec.max_pages,
              "max_per_domain": spec.max_pages_per_domain}
    config.update({k: str(v) for k, v in limits.items() if v is not None})
    # HSETNX on state first: two submits of one name cannot both create it.
    if not server.hsetnx(keys.config, "state", "running"):
        raise LinkindexError(f"job {name!r} exists: `linkindex job purge {name}` "
                             "first, or pick another name")
    try:
        for shard in shard_keys(name, spec.shards):
            server.hset(shard.config, mapping=config)
            if seen.mode == "bloom":  # allocate the whole bitmap now, not piecemeal mid-crawl
                server.setbit(shard.bloom, seen.bloom_bits - 1, 0)
        server.zadd(defaults.JOBS_KEY, {name: int(config["created_ms"])})
        frontier = FrontierStore(server, name)
        links = [Link(url, registrable_domain(url_host(url))) for url in spec.seeds]
        return frontier.add(links, 0)
    except redis.RedisError as exc:
        # Half a job must not stay behind (a retry would say "job exists").
        try:
            purge(server, name)
            left = "nothing of it is left in Redis"
        except (redis.RedisError, LinkindexError):
            left = f"remove what is left with `linkindex job purge {name}`"
        raise LinkindexError(f"job {name!r} not submitted: {describe(exc)}; {left}") from None


def _require(server: redis.Redis | redis.RedisCluster, name: str) -> JobKeys:
    keys = JobKeys(name)
    if not server.exists(keys.config):
        raise LinkindexError(f"no job {name!r} in this Redis")
    return keys


def set_state(server: redis.Redis | redis.RedisCluster, name: str, state: str) -> None:
    """pause → 'paused', resume → 'running', stop → 'stopped', on every shard."""
    assert state in STATES
    _require(server, name)
    for keys in FrontierStore(server, name).shards:
        server.hset(keys.config, "state", state)


def job_keys(server: redis.Redis | redis.RedisCluster, name: str) -> Iterator[str]:
    """Every key of the job, on every shard and node (SCAN, a batch at a time)."""
    for pattern in job_patterns(name):
        yield from server.scan_iter(match=pattern, count=1000)


def purge(server: redis.Redis | redis.RedisCluster, name: str) -> int:
    """Delete every key of this job, on every shard (and no other job's); returns the
    number deleted. A job left half-made (its config gone, some keys not) is purged too."""
    registered = server.zscore(defaults.JOBS_KEY, name) is not None
    deleted = 0
    batch: list[str] = []
    for key in job_keys(server, name):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += server.unlink(*batch)
            batch = []
    if batch:
        deleted += server.unlink(*batch)
    server.zrem(defaults.JOBS_KEY, name)
    if not deleted and not registered:
        raise LinkindexError(f"no job {name!r} in this Redis")
    return deleted


@dataclass(frozen=True)
class Memory:
    bytes: int  # the job's keys in Redis (estimated when not every key was measured)
    keys: int  # the job's keys
    measured: int  # of them, measured with MEMORY USAGE

    @property
    def estimated(self) -> bool:
        return self.measured < self.keys


def memory(server: redis.Redis | redis.RedisCluster, name: str,
           max_measured: int = defaults.MEMORY_KEYS_MEASURED) -> Memory:
    """The job's bytes in Redis: MEMORY USAGE of each of its keys (big hashes and sets
    sampled, as Redis does by default). Past `max_measured` keys (an exact-mode seen
    filter has millions of small sets) the rest are only counted, and the total scaled
    from the measured ones: SCAN returns keys in hash-table order, a fair sample."""
    total = measured = count = 0
    pending: list[str] = []

    def measure() -> None:
        nonlocal total, measured
        pipe = server.pipeline(transaction=False)
        for key in pending:
            pipe.memory_usage(key)
        total += sum(int(n or 0) for n in pipe.execute())
        measured += len(pending)
        pending.clear()

    for key in job_keys(server, name):
        count += 1
        if measured + len(pending) < max_measured:
            pending.append(key)
            if len(pending) >= 1000:
                measure()
    if pending:
        measure()
    scaled = round(total * count / measured) if measured else 0
    return Memory(scaled, count, measured)


def shard_nodes(server: redis.Redis | redis.RedisCluster, name: str) -> dict[int, str]:
    """Shard → the node holding it ('host:port'); on a plain Redis, all on the one."""
    frontier = FrontierStore(server, name)
    if not is_cluster(server):
        kwargs = server.get_connection_kwargs()
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return {keys.shard: str(where) for keys in frontier.shards}
    return {keys.shard: server.get_node_from_key(keys.config).name for keys in frontier.shards}


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def job_names(server: redis.Redis) -> list[str]:
    """Every submitted job, oldest first."""
    return list(server.zrange(defaults.JOBS_KEY, 0, -1))


@dataclass
class WorkerStatus:
    name: str
    seconds_since_beat: float
    fetched: int  # page rows made (fetched or given up), live
    stored: int  # of them, in renamed parts and acknowledged
    pages_per_second: float  # fetched, over the last few seconds
    stored_per_second: float
    queued_per_second: float  # new pages its links queued


@dataclass
class JobStatus:
    """A job's counters. Requests (robots.txt included): queued, leased, done, failed,
    ignored. Pages: fetched (live, from the workers' heartbeats) and stored (rows in
    parts, acknowledged: done and failed pages)."""

    name: str
    state: str  # as set: running, paused or stopped (see display_state)
    queued: int
    leased: int
    done: int
    failed: int
    ignored: int
    robots: int  # robots.txt requests (one per site), counted in queued/leased/done
    fetched: int = 0
    stored: int = 0
    skipped: int = 0  # failed pages of skipped domains (counted in failed)
    failed_unrecorded: int = 0  # failed past the cap on kept reasons (counted in failed)
    pages_limit: int | None = None
    skipped_domains: dict[str, str] = field(default_factory=dict)  # domain → reason
    workers: list[WorkerStatus] = field(default_factory=list)
    shards: int = 1
    nodes: dict[str, int] = field(default_factory=dict)  # Redis node → shards on it
    memory_bytes: int | None = None  # the job's keys in Redis (None: not measured)
    memory_keys: int | None = None
    memory_estimated: bool = False  # scaled from a sample of the keys

    @property
    def finished(self) -> bool:
        return self.queued == 0 and self.leased == 0

    @property
    def display_state(self) -> str:
        """finished (nothing queued, nothing leased, whatever the state), else the state."""
        return "finished" if self.finished else self.state

    @property
    def pages_per_second(self) -> float:
        """Pages fetched per second by the live workers (over their last few seconds)."""
        return sum(w.pages_per_second for w in self.workers)

    @property
    def stored_per_second(self) -> float:
        return sum(w.stored_per_second for w in self.workers)

    @property
    def growing(self) -> bool:
        """The workers queue new pages at least as fast as they fetch them."""
        rate = self.pages_per_second
        return rate > 0 and sum(w.queued_per_second for w in self.workers) >= rate

    @property
    def progress(self) -> float:
        """Share of the requests known so far that are settled (0..1)."""
        total = self.queued + self.leased + self.done + self.failed + self.ignored
        return 1.0 if total == 0 else (self.done + self.failed + self.ignored) / total

    @property
    def eta_seconds(self) -> float | None:
        """At the workers' current rate, until what is queued now is fetched; None
        (unknown) when nothing is fetched or the frontier grows faster than it drains."""
        if self.finished:
            return 0.0
        rate = self.pages_per_second
        if rate <= 0 or self.growing:
            return None
        return (self.queued + self.leased) / rate

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        eta = self.eta_seconds
        out.update(finished=self.finished, display_state=self.display_state,
                   pages_per_second=round(self.pages_per_second, 2),
                   stored_per_second=round(self.stored_per_second, 2),
                   growing=self.growing, progress=round(self.progress, 4),
                   eta_seconds=None if eta is None else round(eta, 1))
        return out


def status(server: redis.Redis | redis.RedisCluster, name: str, *,
           with_memory: bool = False) -> JobStatus:
    """The job's counters (over all its shards) and workers; with_memory: also its bytes
    in Redis, one MEMORY USAGE per key."""
    keys = _require(server, name)
    if filejobs.is_import_job(server, name):
        raise LinkindexError(f"job {name!r} is an import job (filejobs.status)")
    used = memory(server, name) if with_memory else None
    frontier = FrontierStore(server, name)
    counts = frontier.counts()
    config = frontier.config()
    seconds, micros = server.time()  # heartbeats carry Redis's clock
    now_ms = seconds * 1000 + micros // 1000
    beats = dict(server.zrange(keys.workers, 0, -1, withscores=True))
    workers = []
    for worker, payload in sorted(server.hgetall(keys.wstats).items()):
        info = json.loads(payload)
        workers.append(WorkerStatus(
            worker,
            max(0.0, (now_ms - beats.get(worker, now_ms)) / 1000),
            int(info.get("fetched", 0)),
            int(info.get("stored", info.get("pages", 0))),  # "pages": an older worker's
            float(info.get("rate", 0.0)),
            float(info.get("stored_rate", 0.0)),
            float(info.get("queued_rate", 0.0)),
        ))
    limit = config.get("max_pages")
    return JobStatus(
        name=name,
        state=config.get("state", "?"),
        queued=counts["queued"],
        leased=counts["leased"],
        done=counts["done"],
        failed=counts["failed"],
        ignored=counts["ignored"],
        robots=counts["robots"],
        fetched=counts["fetched"],
        stored=counts["stored"],
        skipped=counts["skipped"],
        failed_unrecorded=counts["failed_unrecorded"],
        pages_limit=int(limit) if limit else None,
        skipped_domains=dict(sorted(frontier.skipped().items())),
        workers=workers,
        shards=len(frontier.shards),
        nodes=dict(sorted(Counter(shard_nodes(server, name).values()).items())),
        memory_bytes=used.bytes if used else None,
        memory_keys=used.keys if used else None,
        memory_estimated=used.estimated if used else False,
    )


def statuses(server: redis.Redis | redis.RedisCluster) -> list[JobStatus | filejobs.FileJobStatus]:
    """Every job's status, crawl and import jobs, oldest first (`job list`)."""
    out: list[JobStatus | filejobs.FileJobStatus] = []
    for name in job_names(server):
        try:
            if filejobs.is_import_job(server, name):
                out.append(filejobs.status(server, name))
            else:
                out.append(status(server, name))
        except LinkindexError:  # purged between the two calls
            continue
    return out
