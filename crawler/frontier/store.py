"""The shared frontier of one job: the Python face of the scripts in scripts/.

Each method is one round trip. Workers call `pop` for work, `add` with a page's new
links, `ack` once the page's rows are in a renamed Parquet part, `release` to hand
work back, `beat` every few seconds (which also returns dead workers' leases), and
`store_robots` with a site's robots.txt (which may skip its domain: its Crawl-delay is
over the job's cap).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import redis

from crawler.frontier import defaults
from crawler.frontier.fingerprint import SeenFilter
from crawler.frontier.keys import JobKeys
from crawler.frontier.requests import FrontierRequest, origin, robots_request

# queued, leased, done, failed, ignored, enqueued, robots: requests (robots.txt included);
# fetched: page rows workers made (live, from heartbeats; fetched or given up);
# stored: page rows in renamed parts, acknowledged (done or failed with a row);
# skipped: failed pages of domains skipped for their Crawl-delay (counted in failed too).
COUNTERS = ("queued", "leased", "done", "failed", "ignored", "enqueued", "robots",
            "fetched", "stored", "skipped")


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
    def __init__(self, server: redis.Redis, job: str) -> None:
        if not server.get_connection_kwargs().get("decode_responses"):
            raise ValueError("the frontier needs a Redis client with decode_responses=True")
        self.server = server
        self.keys = JobKeys(job)
        self._scripts = {
            name: server.register_script(script_text(name))
            for name in ("add", "pop", "ack", "release", "beat", "robots")
        }
        self._config: dict[str, str] | None = None

    @property
    def job(self) -> str:
        return self.keys.job

    def _run(self, name: str, *args: object) -> object:
        return self._scripts[name](keys=[self.keys.config], args=[self.keys.prefix, *args])

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
        return int(self._run("add", seen.mode, depth, len(hosts), *host_args, *link_args))

    def pop(self, worker: str, n: int) -> Popped:
        state, wait_ms, *found = self._run("pop", worker, n)
        return Popped(state, int(wait_ms), [FrontierRequest.from_json(r) for r in found])

    def ack(self, worker: str, outcomes: Sequence[tuple[str, str]]) -> int:
        """outcomes: (url, 'done' | 'ignored' | 'failed: REASON' | 'robots'); 'robots':
        a robots.txt answered and stored with `store_robots` (done, but no page row)."""
        if not outcomes:
            return 0
        return int(self._run("ack", worker, *[x for pair in outcomes for x in pair]))

    def release(self, worker: str, requests: Sequence[tuple[str, str]] = ()) -> int:
        """Hand leases back: (url, replacement request JSON or ''); none given: all of
        them (the worker is leaving)."""
        return int(self._run("release", worker, *[x for pair in requests for x in pair]))

    def beat(self, worker: str, stats: dict[str, object], lease_seconds: float,
             fetched: int = 0) -> int:
        """The worker is alive, with its `stats` (shown by `job status`); `fetched`: page
        rows it made since its last beat, added to the job's live `fetched` counter."""
        payload = json.dumps(stats, separators=(",", ":"))
        return int(self._run("beat", worker, payload, int(lease_seconds * 1000), fetched))

    def counts(self) -> dict[str, int]:
        values = self.server.hmget(self.keys.stats, COUNTERS)
        return {name: int(v or 0) for name, v in zip(COUNTERS, values, strict=True)}

    def finished(self) -> bool:
        """Nothing queued and nothing leased: no worker can find more work."""
        counts = self.counts()
        return counts["queued"] == 0 and counts["leased"] == 0

    def state(self) -> str | None:
        return self.server.hget(self.keys.config, "state")

    # robots.txt, shared: fetched by one worker, read by all
    def robots(self, site: str) -> str | None:
        return self.server.hget(self.keys.robots, site)

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
        self._run("robots", site, body, domain, delay_ms, reason or "")
        return reason

    def skipped(self) -> dict[str, str]:
        """Domains skipped for their Crawl-delay, with the reason."""
        return self.server.hgetall(self.keys.skipped)


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
