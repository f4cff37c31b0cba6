"""The cluster-mode Scheduler: scrapy-redis's, with leases and no shared-state flush.

What changes from scrapy_redis.scheduler.Scheduler, and why:
- requests are leased in batches (one round trip for up to BATCH), only as many as the
  downloader can start now: a leased request holds its domain's politeness slot;
- when nothing is ready, it wakes the engine when the next domain is, instead of
  waiting for Scrapy's 5-second heartbeat;
- "no pending requests" means the job is finished (nothing queued, nothing leased,
  by any worker) or stopped — not an idle timer;
- a retry goes back to the front of its domain's queue: it waits for a polite slot;
- close() never flushes shared state; it hands this worker's leases back at once;
- a heartbeat every few seconds keeps the leases alive and returns dead workers' ones.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import replace
from typing import Any

import scrapy
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from crawler import signals
from crawler.frontier import defaults
from crawler.frontier.client import WorkerFrontier
from crawler.frontier.dupefilter import SeenDupeFilter
from crawler.frontier.queue import DomainQueue

logger = logging.getLogger(__name__)


class Scheduler(RedisScheduler):
    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.client = WorkerFrontier.of(crawler)
        super().__init__(
            server=self.client.frontier.server,
            persist=True,  # never delete shared state because one worker stops
            queue_key=self.client.frontier.keys.prefix + "q",
            queue_cls="crawler.frontier.queue.DomainQueue",
            dupefilter=SeenDupeFilter(crawler),
        )
        self.stats = crawler.stats
        self.batch = settings.getint("LINKINDEX_FRONTIER_BATCH", defaults.BATCH)
        self.heartbeat_seconds = settings.getfloat("LINKINDEX_HEARTBEAT_SECONDS",
                                                   defaults.HEARTBEAT_SECONDS)
        self.idle_poll = settings.getfloat("LINKINDEX_IDLE_POLL_SECONDS",
                                           defaults.IDLE_POLL_SECONDS)
        self.local: deque[scrapy.Request] = deque()  # leased, not yet sent
        self.next_poll = 0.0
        self._finished_checked = (0.0, False)
        self._beat = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Scheduler:
        return cls(crawler)

    def open(self, spider: scrapy.Spider) -> None:
        from twisted.internet import task  # after the reactor is installed

        self.spider = spider
        self.queue = DomainQueue(self.server, spider, self.queue_key)
        self.client.on_new_work = self._new_work
        self._beat = task.LoopingCall(self.heartbeat)
        self._beat.start(self.heartbeat_seconds, now=True)

    def close(self, reason: str) -> None:
        if self._beat is not None and self._beat.running:
            self._beat.stop()
        self.local.clear()
        self.client.release_all()

    def heartbeat(self) -> None:
        reclaimed = self.client.beat()
        if reclaimed:
            logger.info("returned %d leases of silent workers to the queue", reclaimed)
            self.stats.inc_value("linkindex/leases_reclaimed", reclaimed)
        self._wake()

    def enqueue_request(self, request: scrapy.Request) -> bool:
        found = request.meta.get("frontier")
        if found is not None:  # a retry: it waits for its domain's slot in the queue
            self.client.retry(replace(found, retries=request.meta.get("retry_times", 0)))
            return True
        return super().enqueue_request(request)

    def _free_slots(self) -> int:
        engine = self.crawler.engine
        active = len(engine.downloader.active) if engine is not None else 0
        return max(0, self.crawler.settings.getint("CONCURRENT_REQUESTS") - active)

    def next_request(self) -> scrapy.Request | None:
        if self.local:
            return self.local.popleft()
        now = time.monotonic()
        if now < self.next_poll or getattr(self.spider, "job_state", None):
            return None
        n = min(self.batch, self._free_slots())
        if n <= 0:
            return None
        requests, popped = self.queue.pop_many(n)
        if requests:
            self.stats.inc_value("scheduler/dequeued/redis", len(requests))
            self.local.extend(requests[1:])
            return requests[0]
        nothing_ready = popped is not None and popped.wait_ms == -1  # or paused
        if nothing_ready and not self.crawler.engine.downloader.active:
            # Nothing queued anywhere and nothing in flight here: the buffered rows
            # (and their leases) are all this worker holds up; write them now.
            self.crawler.signals.send_catch_log(signals.frontier_empty)
        if popped is None or popped.state != "running":
            wait = 1.0  # Redis unreachable (backing off), paused or stopping
        elif popped.wait_ms < 0:
            # Nothing queued this instant; another worker's next page may queue links
            # at any moment (this worker's own adds wake it at once).
            wait = self.idle_poll
        else:  # the next domain is ready then
            wait = min(1.0, popped.wait_ms / 1000)
        self.next_poll = now + wait
        self._wake(wait)
        return None

    def _new_work(self) -> None:
        """This worker queued links: look for work now, not at the next poll."""
        if self.next_poll:
            self.next_poll = 0.0
            self._wake()

    def _wake(self, after: float = 0.0) -> None:
        """Have the engine ask for requests again (it otherwise waits 5 s)."""
        from twisted.internet import reactor

        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None:
            reactor.callLater(after, slot.nextcall.schedule)

    def has_pending_requests(self) -> bool:
        if self.local:
            return True
        if getattr(self.spider, "job_state", None):  # stopped or purged
            return False
        # The engine asks often: ask Redis at most every half second.
        checked_at, pending = self._finished_checked
        now = time.monotonic()
        if now - checked_at >= 0.5:
            finished = self.client.finished()
            pending = finished is not True  # unknown (Redis down) counts as pending
            self._finished_checked = (now, pending)
        return pending
