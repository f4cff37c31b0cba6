"""The shared frontier of one job: the Python face of the scripts in scripts/.

Each method is one round trip per shard it touches (one, for a job of one shard).
Workers call `pop` for work, `add` with a page's new links, `ack` once the page's rows
are in a renamed Parquet part, `release` to hand work back, `beat` every few seconds
(which also returns dead workers' leases), `send_wait_ms` before each fetch, and
`store_robots` with a site's robots.txt (which may skip its domain: its Crawl-delay is
over the job's cap).
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import redis

from core.domains import registrable_domain
from core.urls import url_host
from crawler.frontier import defaults
from crawler.frontier.fingerprint import SeenFilter
from crawler.frontier.keys import JobKeys, shard_keys, shard_of
from crawler.frontier.requests import FrontierRequest, origin, robots_request

# queued, leased, done, failed, ignored, enqueued, robots: requests (robots.txt included);
# fetched: page rows workers made (live, from heartbeats; fetched or given up);
# stored: page rows in renamed parts, acknowledged (done or failed with a row);
# skipped: failed pages of domains skipped for their Crawl-delay (counted in failed too).
# failed_unrecorded: failed requests past the shard's cap on kept reasons (counted in failed).
COUNTERS = ("queued", "leased", "done", "failed", "ignored", "enqueued", "robots",
            "fetched", "stored", "skipped", "failed_unrecorded")
SCRIPTS = ("add", "seen", "pop", "ack", "release", "beat", "robots", "send")


@cache
def script_text(name: str) -> str:
    folder = resources.files("crawler.frontier") / "scripts"
    return (folder / "_common.lua").read_text() + (folder / f"{name}.lua").read_text()


@dataclass
class Popped:
    state: str  # running, paused, stopped, or gone (no such job)
    wait_ms: int  # when nothing was leased: until some domain is ready (-1: none queued)
    requests: list[FrontierRequest]


@dataclass(frozen=True)
class Link:
    url: str
    domain: str


class FrontierStore:
    """A job's frontier over its shards (one, unless submitted with --shards): each call
    goes to the shard of the domains it is about, one round trip per shard touched."""

    def __init__(self, server: redis.Redis | redis.RedisCluster, job: str) -> None:
        if not server.get_connection_kwargs().get("decode_responses"):
            raise ValueError("the frontier needs a Redis client with decode_responses=True")
        self.server = server
        self.keys = JobKeys(job)  # the home shard: the job's config and worker table
        self._scripts = {name: server.register_script(script_text(name)) for name in SCRIPTS}
        self._config: dict[str, str] | None = None
        self._next_shard = 0  # where the next pop starts: every shard comes first in turn

    @property
    def job(self) -> str:
        return self.keys.job

    @cached_property
    def shards(self) -> list[JobKeys]:
        """Fixed at submit: worked out once (every add, ack and pop routes through it)."""
        return shard_keys(self.job, int(self.settings.get("shards") or 1))

    def shard(self, domain: str) -> JobKeys:
        shards = self.shards
        return shards[shard_of(domain, len(shards))]

    def shard_of_url(self, url: str) -> JobKeys:
        if len(self.shards) == 1:
            return self.keys
        return self.shard(registrable_domain(url_host(url)))

    def _run(self, name: str, keys: JobKeys, *args: object) -> Any:
        return self._scripts[name](keys=[keys.config], args=[keys.prefix, *args])

    def config(self) -> dict[str, str]:
        return self.server.hgetall(self.keys.config)

    @property
    def settings(self) -> dict[str, str]:
        """The job's fixed settings, read once (the state is read live by the scripts)."""
        if self._config is None:
            self._config = self.config()
        return self._config

    @property
    def seen_filter(self) -> SeenFilter:
        return SeenFilter.from_config(self.settings)

    def add(self, links: Iterable[Link], depth: int) -> int:
        """Queue the links not seen before (within the job's limits); -1 if no such job."""
        by_shard: dict[int, list[Link]] = defaultdict(list)
        count = len(self.shards)
        for link in links:
            by_shard[shard_of(link.domain, count)].append(link)
        queued = 0
        for shard, shard_links in sorted(by_shard.items()):
            result = self._add(JobKeys(self.job, shard), shard_links, depth)
            if result < 0:
                return -1
            queued += result
        return queued

    def _add(self, keys: JobKeys, links: list[Link], depth: int) -> int:
        seen = self.seen_filter
        robots = self.settings.get("robots") == "1"
        hosts: dict[str, int] = {}
        host_args: list[str] = []
        link_args: list[object] = []
        for link in links:
            site = origin(link.url)
            index = hosts.get(site)
            if index is None:
                index = hosts[site] = len(hosts) + 1
                robots_json = robots_request(link.url, link.domain).to_json() if robots else ""
                host_args += [site, robots_json]
            a, b = seen.encode(link.url)
            link_args += [index, link.domain, a, b, link.url]
        if not link_args:
            return 0
        return int(self._run("add", keys, seen.mode, depth, len(hosts), *host_args, *link_args))

    def seen(self, url: str) -> bool:
        """Whether the seen filter has this URL (of its domain's shard)."""
        a, b = self.seen_filter.encode(url)
        return bool(self._run("seen", self.shard_of_url(url), self.seen_filter.mode, a, b))

    def pop(self, worker: str, n: int) -> Popped:
        """Up to n requests, from the shards in turn: each pop starts at the next shard,
        so no shard's domains wait behind another's."""
        shards = self.shards
        start = self._next_shard % len(shards)
        self._next_shard = start + 1
        found: list[FrontierRequest] = []
        waits: list[int] = []
        state = "gone"
        for keys in shards[start:] + shards[:start]:
            state, wait_ms, *requests = self._run("pop", keys, worker, n - len(found))
            if state != "running":  # paused, stopped or gone: the same on every shard
                return Popped(state, -1, found)
            found += [FrontierRequest.from_json(r) for r in requests]
            if len(found) >= n:
                break
            if int(wait_ms) >= 0:
                waits.append(int(wait_ms))
        wait = 0 if found else (min(waits) if waits else -1)
        return Popped(state, wait, found)

    def ack(self, worker: str, outcomes: Sequence[tuple[str, str]]) -> int:
        """outcomes: (url, 'done' | 'ignored' | 'failed: REASON' | 'robots'); 'robots':
        a robots.txt answered and stored with `store_robots` (done, but no page row)."""
        acked = 0
        for keys, pairs in self._by_shard(outcomes).items():
            acked += int(self._run("ack", keys, worker, *[x for pair in pairs for x in pair]))
        return acked

    def _by_shard(self, pairs: Iterable[tuple[str, str]]) -> dict[JobKeys, list[tuple[str, str]]]:
        """(url, …) pairs by the shard of the URL's domain."""
        out: dict[JobKeys, list[tuple[str, str]]] = defaultdict(list)
        for pair in pairs:
            out[self.shard_of_url(pair[0])].append(pair)
        return out

    def release(self, worker: str, requests: Sequence[tuple[str, str]] = ()) -> int:
        """Hand leases back: (url, replacement request JSON or ''); none given: all of
        them, on every shard (the worker is leaving)."""
        if not requests:
            return sum(int(self._run("release", keys, worker)) for keys in self.shards)
        back = 0
        for keys, pairs in self._by_shard(requests).items():
            back += int(self._run("release", keys, worker, *[x for p in pairs for x in p]))
        return back

    def beat(self, worker: str, stats: dict[str, object], lease_seconds: float,
             fetched: int = 0) -> int:
        """The worker is alive, with its `stats` (shown by `job status`); `fetched`: page
        rows it made since its last beat, added to the job's live `fetched` counter.
        Every shard hears it (its leases there stay held) and returns the leases of
        workers silent there; the home shard keeps the stats."""
        payload = json.dumps(stats, separators=(",", ":"))
        lease_ms = int(lease_seconds * 1000)
        reclaimed = 0
        for keys in self.shards:
            home = keys.shard == 0
            reclaimed += int(self._run("beat", keys, worker, payload if home else "", lease_ms,
                                       fetched if home else 0))
        return reclaimed

    def send_wait_ms(self, domain: str) -> int:
        """For a request held since its pop: 0 when it may be sent now (it takes the
        domain's next slot, as a pop would), else how long to wait; -1 when the job is
        no longer running (paused, stopped or gone)."""
        return int(self._run("send", self.shard(domain), domain))

    def counts(self) -> dict[str, int]:
        """The job's counters, summed over its shards."""
        pipe = self.server.pipeline(transaction=False)
        for keys in self.shards:
            pipe.hmget(keys.stats, COUNTERS)
        totals = dict.fromkeys(COUNTERS, 0)
        for values in pipe.execute():
            for name, value in zip(COUNTERS, values, strict=True):
                totals[name] += int(value or 0)
        return totals

    def finished(self) -> bool:
        """Nothing queued and nothing leased: no worker can find more work."""
        counts = self.counts()
        return counts["queued"] == 0 and counts["leased"] == 0

    def state(self) -> str | None:
        return self.server.hget(self.keys.config, "state")

    # robots.txt, shared: fetched by one worker, read by all
    def robots(self, site: str) -> str | None:
        stored = self.server.hget(self.shard_of_url(site).robots, site)
        return None if stored is None else unpack_robots(stored)

    @property
    def crawl_delay_cap_ms(self) -> float:
        """A robots.txt Crawl-delay longer than this skips its domain (inf: no cap)."""
        value = self.settings.get("max_crawl_delay_ms")
        return float(value) if value else defaults.MAX_CRAWL_DELAY_SECONDS * 1000

    def store_robots(self, site: str, body: str, domain: str, delay_ms: int) -> str | None:
        """Store a site's robots.txt and its Crawl-delay. Over the job's cap, the domain
        is skipped instead: its queued and future requests become failed page rows, not
        fetches. Returns the skip reason (None: not skipped)."""
        reason = over_cap_reason(delay_ms, self.crawl_delay_cap_ms)
        self._run("robots", self.shard(domain), site, pack_robots(body), domain, delay_ms,
                  reason or "")
        return reason

    def skipped(self) -> dict[str, str]:
        """Domains skipped for their Crawl-delay, with the reason."""
        out: dict[str, str] = {}
        for keys in self.shards:
            out.update(self.server.hgetall(keys.skipped))
        return out


def pack_robots(body: str) -> str:
    """A robots.txt body as stored: zlib and base64 above a few hundred bytes (a site's
    robots.txt is kept for the whole job, and its rules repeat). A leading NUL marks
    the encoding, so a body stored before (no NUL) still reads as itself."""
    if len(body) < defaults.ROBOTS_COMPRESS_BYTES:
        return "\0=" + body
    packed = zlib.compress(body.encode("utf-8", "surrogateescape"), 9)
    return "\0z" + base64.b64encode(packed).decode("ascii")


def unpack_robots(stored: str) -> str:
    if stored.startswith("\0z"):
        return zlib.decompress(base64.b64decode(stored[2:])).decode("utf-8", "surrogateescape")
    if stored.startswith("\0="):
        return stored[2:]
    return stored


def seconds_text(ms: float) -> str:
    """Milliseconds as seconds, without a needless fraction: 100000000000 → '100000000'."""
    if not math.isfinite(ms):
        return "inf"
    seconds = ms / 1000
    if seconds == int(seconds) and seconds < 1e15:
        return str(int(seconds))
    return f"{seconds:g}"


def over_cap_reason(delay_ms: float, cap_ms: float) -> str | None:
    """Why a domain with this Crawl-delay is skipped; None when the delay is within the cap.
    The page rows say "skipped: " and this."""
    if delay_ms <= cap_ms:
        return None
    return f"crawl-delay {seconds_text(delay_ms)} s over the cap {seconds_text(cap_ms)} s"
