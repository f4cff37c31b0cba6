"""SCHEDULER_QUEUE_CLASS: scrapy-redis's queue interface over the job's per-domain queues.

Requests become small JSON documents (crawler.frontier.requests), never pickles; a
popped request carries its lease in `meta["lease"]` until the page is acknowledged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import scrapy
from scrapy_redis.queue import Base

from crawler.frontier.client import WorkerFrontier
from crawler.frontier.politeness import POPPED_AT
from crawler.frontier.requests import FrontierRequest
from crawler.frontier.store import Popped

logger = logging.getLogger(__name__)


class DomainQueue(Base):
    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None) -> None:
        # No pickle: requests are (de)serialised by FrontierRequest, not by `serializer`.
        self.server = server
        self.spider = spider
        self.key = key
        self.client = WorkerFrontier.of(spider.crawler)

    def push(self, request: scrapy.Request) -> None:
        """A request from outside the spider's link batches: queued via the same script."""
        self.client.add([request.url], int(request.meta.get("depth", 0)))

    def pop_many(self, n: int) -> tuple[list[scrapy.Request], Popped | None]:
        """Up to n leased requests, and what the pop said (None: Redis unreachable)."""
        popped = self.client.pop(n)
        if popped is None:
            return [], None
        if popped.state in ("stopped", "gone"):
            self.spider.job_state = popped.state
        requests = [self.request(r) for r in popped.requests]
        now = time.monotonic()
        for request in requests:  # for the send-time check (politeness.py)
            request.meta[POPPED_AT] = now
        return requests, popped

    def pop(self, timeout: int = 0) -> scrapy.Request | None:
        requests, _ = self.pop_many(1)
        return requests[0] if requests else None

    def request(self, found: FrontierRequest) -> scrapy.Request:
        return self.spider.frontier_request(found)

    def __len__(self) -> int:
        return self.client.frontier.counts()["queued"]

    def clear(self) -> None:
        # Shared state is never cleared by a worker: `linkindex job purge` does that.
        logger.info("not clearing the shared queue of job %s", self.client.frontier.job)
