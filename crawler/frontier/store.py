"""The shared frontier of one job: the Python face of the scripts in scripts/.

Each method is one round trip. Workers call `pop` for work, `add` with a page's new
links, `ack` once the page's rows are in a renamed Parquet part, `release` to hand
work back, and `beat` every few seconds (which also returns dead workers' leases).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import redis

from crawler.frontier.fingerprint import SeenFilter
from crawler.frontier.keys import JobKeys
from crawler.frontier.requests import FrontierRequest, origin, robots_request

COUNTERS = ("queued", "leased", "done", "failed", "ignored", "enqueued", "robots")


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
            for name in ("add", "pop", "ack", "release", "beat")
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
        """outcomes: (url, 'done' | 'ignored' | 'failed: REASON')."""
        if not outcomes:
            return 0
        return int(self._run("ack", worker, *[x for pair in outcomes for x in pair]))

    def release(self, worker: str, requests: Sequence[tuple[str, str]] = ()) -> int:
        """Hand leases back: (url, replacement request JSON or ''); none given: all of
        them (the worker is leaving)."""
        return int(self._run("release", worker, *[x for pair in requests for x in pair]))

    def beat(self, worker: str, stats: dict[str, object], lease_seconds: float) -> int:
        payload = json.dumps(stats, separators=(",", ":"))
        return int(self._run("beat", worker, payload, int(lease_seconds * 1000)))

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

    def store_robots(self, site: str, body: str, domain: str, delay_ms: int) -> None:
        pipe = self.server.pipeline(transaction=True)
        pipe.hset(self.keys.robots, site, body)
        if delay_ms > 0:
            # the longest Crawl-delay of the domain's hosts governs its queue
            current = int(self.server.hget(self.keys.delay, domain) or 0)
            pipe.hset(self.keys.delay, domain, max(current, delay_ms))
        pipe.execute()
