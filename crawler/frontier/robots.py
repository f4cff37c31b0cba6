"""robots.txt in cluster mode: fetched once per job, shared by every worker.

The frontier queues each new site's robots.txt ahead of its pages, so it is fetched
by whichever worker pops it, inside the domain's politeness slot like any request,
and stored in Redis with its Crawl-delay. This middleware (in place of Scrapy's
RobotsTxtMiddleware) reads it from Redis; if it is not there yet (the fetch is in
flight elsewhere), it waits a little, and only then fetches it itself, as Scrapy would.
"""

from __future__ import annotations

import time
from typing import Any

from protego import Protego
from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from crawler.frontier import defaults
from crawler.frontier.client import WorkerFrontier
from crawler.frontier.requests import origin


def _sleep(seconds: float) -> Deferred:
    from twisted.internet import reactor, task

    return task.deferLater(reactor, seconds, lambda: None)


def robots_body(response: Response) -> str:
    """What is stored for a robots.txt response: its text, or '' (allow all) if none."""
    if not 200 <= response.status < 300:
        return ""
    return response.body[: defaults.ROBOTS_MAX_BYTES].decode("utf-8", "replace")


def crawl_delay_ms(body: str, user_agent: str) -> int:
    delay = Protego.parse(body).crawl_delay(user_agent) if body else None
    return int(float(delay) * 1000) if delay else 0


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.wait_seconds = crawler.settings.getfloat("LINKINDEX_ROBOTS_WAIT_SECONDS",
                                                      defaults.ROBOTS_WAIT_SECONDS)

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        parser = self._parsers.get(netloc)
        if parser is not None and not isinstance(parser, Deferred):
            return parser
        client = WorkerFrontier.of(self.crawler)
        site = origin(request.url)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            body = client.robots(site)
            if body is not None:
                parser = build_from_crawler(self._parserimpl, self.crawler, body.encode())
                self._parsers[netloc] = parser
                return parser
            if time.monotonic() >= deadline:
                # Nobody stored it in time (its fetch failed or its worker died).
                return await super().robot_parser(request)
            await maybe_deferred_to_future(_sleep(0.25))
