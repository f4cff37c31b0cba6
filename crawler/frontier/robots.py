"""robots.txt in cluster mode: fetched once per job, shared by every worker.

The frontier queues each new site's robots.txt ahead of its pages, so it is fetched
by whichever worker pops it, inside the domain's politeness slot like any request,
and stored in Redis with its Crawl-delay. This middleware (in place of Scrapy's
RobotsTxtMiddleware) reads it from Redis; if it is not there yet (the fetch is in
flight elsewhere), it waits a little, and only then fetches it itself, as Scrapy would.

A Crawl-delay over the job's cap (`job submit --max-crawl-delay`) skips the domain: the
frontier marks it (store.FrontierStore.store_robots) and hands its pages out with the
reason; this middleware raises CrawlDelaySkipped for them, before any fetch, and the
spider records each as a pages row with the error "skipped: <reason>". A page leased
before its site's robots.txt was stored is checked here against that robots.txt too.
"""

from __future__ import annotations

import math
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

SKIPPED = "skipped"  # the pages.error kind of a page not fetched: "skipped: <reason>"


class CrawlDelaySkipped(Exception):
    """Not fetched: the site's robots.txt Crawl-delay is over the job's cap."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sleep(seconds: float) -> Deferred:
    from twisted.internet import reactor, task

    return task.deferLater(reactor, seconds, lambda: None)


def robots_body(response: Response) -> str:
    """What is stored for a robots.txt response: its text, or '' (allow all) if none."""
    if not 200 <= response.status < 300:
        return ""
    return response.body[: defaults.ROBOTS_MAX_BYTES].decode("utf-8", "replace")


def robots_user_agent(settings: Any) -> str:
    """The user agent robots.txt rules are matched against (as Scrapy's middleware)."""
    return settings.get("ROBOTSTXT_USER_AGENT") or settings["USER_AGENT"]


def delay_ms(delay: float | None) -> int:
    """A Crawl-delay in whole milliseconds (0: none)."""
    if not delay or not math.isfinite(delay) or delay < 0:
        return 0
    return int(delay * 1000)


def crawl_delay_ms(body: str, user_agent: str) -> int:
    return delay_ms(Protego.parse(body).crawl_delay(user_agent) if body else None)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.wait_seconds = crawler.settings.getfloat("LINKINDEX_ROBOTS_WAIT_SECONDS",
                                                      defaults.ROBOTS_WAIT_SECONDS)
        self.skips: dict[str, str | None] = {}  # netloc → why it is skipped (None: it is not)

    async def process_request(self, request: Request) -> None:
        """Skipped (CrawlDelaySkipped) before anything is fetched, robots.txt included;
        else Scrapy's robots.txt check (IgnoreRequest when disallowed); then the site's
        Crawl-delay against the cap, for a page leased before the frontier knew it."""
        reason = request.meta.get("crawl_delay_skip")
        if reason:
            await self._disallowed_if_known(request)
            raise CrawlDelaySkipped(reason)
        await super().process_request(request)
        if request.meta.get("dont_obey_robotstxt"):
            return
        netloc = urlparse_cached(request).netloc
        if netloc not in self.skips:
            parser = self._parsers.get(netloc)
            if isinstance(parser, Deferred):
                return
            delay = parser.crawl_delay(robots_user_agent(self.crawler.settings)) \
                if parser else None
            self.skips[netloc] = WorkerFrontier.of(self.crawler).skip_reason(delay_ms(delay))
        reason = self.skips[netloc]
        if reason:
            raise CrawlDelaySkipped(reason)

    async def _disallowed_if_known(self, request: Request) -> None:
        """A skipped page robots.txt disallows is not a page row, as when not skipped:
        checked when its robots.txt is known, without fetching or waiting for it."""
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            body = WorkerFrontier.of(self.crawler).robots(origin(request.url))
            if body is None:
                return
            self._parsers[netloc] = build_from_crawler(self._parserimpl, self.crawler,
                                                       body.encode())
        parser = self._parsers[netloc]
        if parser is not None and not isinstance(parser, Deferred):
            self.process_request_2(parser, request)

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
            await maybe_deferred_to_future(sleep(0.25))
