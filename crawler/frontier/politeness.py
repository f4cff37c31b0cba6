"""Politeness when a request is sent: a download handler that waits for the domain's slot.

The frontier spaces a domain's pops by its delay plus a margin; but a popped request can
wait in a worker first (behind Scrapy's per-domain concurrency limit while the site is
slow, or in a CPU-starved process), and two requests popped a delay apart could then
leave a moment apart. So Scrapy's HTTP handler, called once a request has passed every
queue and middleware, checks how long ago the request was popped: within half the margin
it goes (the pop's spacing still holds, and no round trip is spent); later, it first
takes a fresh slot of its domain (store.FrontierStore.send_wait_ms: the domain's ready
time on Redis's clock, shared with every worker's pops) and waits for it. A wait longer
than SEND_WAIT_MAX_SECONDS (a long Crawl-delay learnt after the pop), a job paused or
stopped since the pop, or a worker closing, hands the request back to the front of its
queue instead.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.frontier import defaults
from crawler.frontier.client import WorkerFrontier
from crawler.frontier.robots import sleep

POPPED_AT = "popped_at"  # request.meta: time.monotonic() when its pop's answer came


class HandedBack(Exception):
    """Not fetched now: back in its queue, to be fetched in a later slot (no row)."""


class PoliteDownloadHandler(HTTP11DownloadHandler):
    """DOWNLOAD_HANDLERS for http and https in cluster mode."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.max_wait = crawler.settings.getfloat("LINKINDEX_SEND_WAIT_MAX_SECONDS",
                                                  defaults.SEND_WAIT_MAX_SECONDS)

    async def download_request(self, request: Request) -> Response:
        found = request.meta.get("frontier")
        if found is not None and self.late(request):  # leased, and held since its pop
            await self.wait_for_slot(request, found)
        return await super().download_request(request)

    def late(self, request: Request) -> bool:
        popped = request.meta.get(POPPED_AT)
        if popped is None:
            return True
        margin = float(WorkerFrontier.of(self._crawler).frontier.settings.get("margin_ms") or 0)
        return (time.monotonic() - popped) * 1000 > margin / 2

    async def wait_for_slot(self, request: Request, found: Any) -> None:
        crawler = self._crawler
        client = WorkerFrontier.of(crawler)
        while wait_ms := client.send_wait_ms(found.domain):
            engine = crawler.engine
            closing = engine is None or not engine.running
            if wait_ms < 0 or wait_ms / 1000 > self.max_wait or closing:
                client.retry(replace(found, retries=request.meta.get("retry_times", 0)))
                crawler.stats.inc_value("linkindex/send_handed_back")
                why = "the job is not running" if wait_ms < 0 else f"next slot in {wait_ms} ms"
                raise HandedBack(f"{found.domain}: {why}")
            crawler.stats.inc_value("linkindex/send_waits")
            await maybe_deferred_to_future(sleep(wait_ms / 1000))
