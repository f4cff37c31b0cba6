"""One worker's side of the shared frontier: its name, its outbox, its backoff.

Scheduler, spider, pipeline and robots middleware of one crawler share one
`WorkerFrontier` (`WorkerFrontier.of(crawler)`). When Redis is unreachable, calls do
not fail the crawl: new links and acknowledgements wait in an outbox and are sent,
links first, when Redis is back — a page's links reach the frontier before its lease
is acknowledged, so a worker dying in between loses nothing.

What a retry cannot mend ends the worker instead, loudly: any other Redis error (a
refused write at maxmemory, a wrong password, a script error), or Redis unreachable for
longer than OUTAGE_MAX_SECONDS. The crawl closes (its buffered rows are written), and
`linkindex worker` exits non-zero with one line, for an orchestrator to restart it.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import redis
from scrapy import signals as scrapy_signals

from core.domains import registrable_domain
from core.errors import LinkindexError
from core.urls import url_host
from crawler import signals
from crawler.frontier import defaults, health
from crawler.frontier.connection import OUTAGE_ERRORS, Backoff, connect, safe_url
from crawler.frontier.requests import FrontierRequest
from crawler.frontier.store import FrontierStore, Link, Popped, over_cap_reason

logger = logging.getLogger(__name__)


class WorkerFrontier:
    def __init__(self, redis_url: str, job: str, worker: str, settings: Any,
                 crawler: Any = None) -> None:
        self.url = redis_url
        self.crawler = crawler
        self.fatal: str | None = None  # why the worker must end (set once)
        self.outage_max = settings.getfloat("LINKINDEX_OUTAGE_MAX_SECONDS",
                                            defaults.OUTAGE_MAX_SECONDS)
        self.frontier = FrontierStore(connect(redis_url), job)
        self.worker = worker
        config = self.frontier.settings
        if not config:
            raise LinkindexError(f"no job {job!r} in Redis at {safe_url(redis_url)}")
        domains = json.loads(config.get("scope_domains") or "null")
        self.scope: set[str] | None = set(domains) if domains is not None else None
        self.max_depth = int(config["max_depth"]) if config.get("max_depth") else None
        self.lease_seconds = settings.getfloat("LINKINDEX_LEASE_SECONDS",
                                               defaults.LEASE_SECONDS)
        self.backoff = Backoff()
        self.outbox_links: deque[tuple[list[Link], int]] = deque()
        self.outbox_acks: list[tuple[str, str]] = []
        self.outbox_retries: list[FrontierRequest] = []
        # For heartbeats (`job status`): leased pages whose rows this worker made (fetched
        # or given up: live), of them those acknowledged once in a part (stored), and
        # pages its links queued.
        self.fetched = 0
        self.stored = 0
        self.queued = 0
        self._fetched_sent = 0  # of `fetched`, what the job's counter has had
        self.rate_window = settings.getfloat("LINKINDEX_RATE_WINDOW_SECONDS",
                                             defaults.RATE_WINDOW_SECONDS)
        self._marks: deque[tuple[float, int, int, int]] = deque()  # (time, fetched, …)
        self.rates = {"rate": 0.0, "stored_rate": 0.0, "queued_rate": 0.0}
        self.on_new_work: Callable[[], None] | None = None  # the scheduler's wake-up
        # Links this worker has already sent: most links of a page (menus, footers) were
        # on the page before, and a local set skips them without a round trip's worth of
        # arguments (measured: FrontierStore.add was a third of a worker's time). Redis stays
        # the authority; this is only a cache, cleared when it grows large.
        self.sent: set[int] = set()
        self.sent_max = settings.getint("LINKINDEX_SENT_CACHE", defaults.SENT_CACHE)

    @classmethod
    def of(cls, crawler: Any) -> WorkerFrontier:
        client = getattr(crawler, "_linkindex_frontier", None)
        if client is None:
            settings = crawler.settings
            client = cls(settings["LINKINDEX_REDIS_URL"], settings["LINKINDEX_JOB"],
                         settings["LINKINDEX_WORKER_ID"], settings, crawler)
            crawler._linkindex_frontier = client
            crawler.signals.connect(client.pages_stored, signal=signals.pages_stored)
            crawler.signals.connect(client.page_made, signal=scrapy_signals.item_scraped)
        return client

    def page_made(self, item: Any, **_: Any) -> None:
        """A page row passed the pipeline (buffered for the next part): live progress.
        Only a leased page's, as `stored` counts them (a page not fetched, acknowledged
        as ignored, is neither)."""
        if item.get("lease") is not None and item.get("lease_outcome") != "ignored":
            self.fetched += 1

    def pages_stored(self, outcomes: list[tuple[str, str]]) -> None:
        """The pipeline's word that these pages' rows are on disk: acknowledge them."""
        self.stored += sum(outcome != "ignored" for _, outcome in outcomes)
        self.ack(outcomes)

    def fail(self, reason: str) -> None:
        """End this worker's crawl for an error no retry mends; `linkindex worker` then
        exits non-zero with `reason`."""
        if self.fatal is not None:
            return
        self.fatal = reason
        logger.error("stopping: %s", reason)
        if self.crawler is not None:
            from scrapy.utils.defer import deferred_from_coro
            from twisted.internet import reactor

            # not from inside the engine's own call: the next turn of the reactor
            reactor.callLater(0, lambda: deferred_from_coro(self.crawler.stop_async()))

    # --- calls that survive outages ---------------------------------------------
    def _call(self, name: str, *args: Any) -> Any:
        """Run a FrontierStore method; None (and back off) when Redis is unreachable, or
        when the worker is ending for an error no retry mends."""
        if self.fatal is not None or not self.backoff.ready():
            return None
        try:
            result = getattr(self.frontier, name)(*args)
        except OUTAGE_ERRORS as exc:
            if not self.backoff.down:
                logger.warning("Redis at %s unreachable (%s): retrying with backoff",
                               safe_url(self.url), exc)
            self.backoff.failed()
            if self.backoff.down_seconds() > self.outage_max:
                self.fail(f"Redis at {safe_url(self.url)} unreachable for "
                          f"{self.backoff.down_seconds():.0f} s ({exc})")
            return None
        except redis.RedisError as exc:
            self.fail(f"Redis at {safe_url(self.url)}: {type(exc).__name__}: {exc}")
            return None
        if self.backoff.down:
            logger.warning("Redis at %s is back", safe_url(self.url))
        self.backoff.succeeded()
        return result

    def flush_outbox(self) -> bool:
        """Send what waited for Redis: links first, then acks. True when all is sent."""
        while self.outbox_links:
            links, depth = self.outbox_links[0]
            queued = self._call("add", links, depth)
            if queued is None:
                return False
            self.outbox_links.popleft()
            self.queued += max(0, queued)
            if queued > 0 and self.on_new_work is not None:
                self.on_new_work()
        if self.outbox_acks:
            if self._call("ack", self.worker, self.outbox_acks) is None:
                return False
            self.outbox_acks = []
        if self.outbox_retries:
            back = [(r.url, r.to_json()) for r in self.outbox_retries]
            if self._call("release", self.worker, back) is None:
                return False
            self.outbox_retries = []
        return True

    def add(self, urls: list[str], depth: int) -> None:
        """Queue a page's links: the ones in scope and within the depth limit."""
        if self.max_depth is not None and depth > self.max_depth:
            return
        if len(self.sent) >= self.sent_max:
            self.sent.clear()
        links = []
        sent = self.sent
        for url in urls:
            key = hash(url)
            if key in sent:
                continue
            sent.add(key)
            domain = registrable_domain(url_host(url))
            if self.scope is None or domain in self.scope:
                links.append(Link(url, domain))
        if not links:
            return
        self.outbox_links.append((links, depth))
        self.flush_outbox()

    def ack(self, outcomes: list[tuple[str, str]]) -> None:
        self.outbox_acks.extend(outcomes)
        self.flush_outbox()

    def pop(self, n: int) -> Popped | None:
        if not self.flush_outbox():
            return None
        return self._call("pop", self.worker, n)

    def finished(self) -> bool | None:
        """None when unknown (Redis unreachable)."""
        return self._call("finished")

    def _measure(self) -> None:
        """Rates over the last rate_window seconds (from the oldest mark within it)."""
        now = time.monotonic()
        marks = self._marks
        marks.append((now, self.fetched, self.stored, self.queued))
        while len(marks) > 2 and now - marks[1][0] >= self.rate_window:
            marks.popleft()
        then, fetched, stored, queued = marks[0]
        if now - then > 0:
            span = now - then
            self.rates = {"rate": (self.fetched - fetched) / span,
                          "stored_rate": (self.stored - stored) / span,
                          "queued_rate": (self.queued - queued) / span}

    def beat(self) -> int | None:
        """Alive, with this worker's counters and rates; returns leases reclaimed from
        silent workers (None: Redis unreachable)."""
        self._measure()
        stats: dict[str, object] = {"fetched": self.fetched, "stored": self.stored,
                                    **{k: round(v, 2) for k, v in self.rates.items()}}
        fetched = self.fetched
        reclaimed = self._call("beat", self.worker, stats, self.lease_seconds,
                               fetched - self._fetched_sent)
        if reclaimed is not None:
            self._fetched_sent = fetched
            health.touch()
        self.flush_outbox()
        return reclaimed

    def retry(self, request: FrontierRequest) -> None:
        """Back to the front of its domain's queue, to be fetched in a polite slot."""
        if self._call("release", self.worker, [(request.url, request.to_json())]) is None:
            self.outbox_retries.append(request)

    def send_wait_ms(self, domain: str) -> int:
        """0: send now (the domain's send slot is taken); else milliseconds to wait; -1:
        the job is not running. Redis unreachable: 0 — the pop already spaced the
        domain's requests."""
        return self._call("send_wait_ms", domain) or 0

    def robots(self, site: str) -> str | None:
        """The site's stored robots.txt ('' = allow all); None if not stored or unknown."""
        return self._call("robots", site)

    def store_robots(self, site: str, body: str, domain: str, delay_ms: int) -> None:
        reason = self._call("store_robots", site, body, domain, delay_ms)
        if reason:
            logger.warning("skipping %s: %s (robots.txt of %s)", domain, reason, site)

    def skip_reason(self, delay_ms: int) -> str | None:
        """Why a site with this Crawl-delay is not crawled; None: within the job's cap."""
        return over_cap_reason(delay_ms, self.frontier.crawl_delay_cap_ms)

    def release_all(self) -> None:
        """Leaving: send the outbox and a last heartbeat (the job's fetched counter),
        then hand every lease still held back at once."""
        if self.fatal is not None:
            return  # Redis refuses us: leases return when the heartbeat lapses
        self.backoff.succeeded()  # one last try each, whatever the backoff says
        self.flush_outbox()
        self.backoff.succeeded()
        self.beat()
        self.backoff.succeeded()
        if self._call("release", self.worker) is None:
            logger.warning("could not hand leases back (Redis unreachable): they return "
                           "to the queue when this worker's heartbeat lapses")
