"""robots.txt as RFC 9309 says, in place of Scrapy's RobotsTxtMiddleware (local mode).

Scrapy parses any answer's body as rules, allows everything when the download fails and,
with REDIRECT_ENABLED off (crawler/settings.py), never follows a robots.txt redirect.
This subclass keeps its per-netloc cache, its stats and its `robots_parsed` signal, and
decides by what the fetch gave:

- 2xx: the rules in the first 500 KiB of the body (RFC 9309 2.5); the download stops
  there, whatever DOWNLOAD_MAXSIZE and the announced length say;
- 3xx: up to five redirects followed (2.3.1.2), each a request through the engine like
  the first one (the private-address guard and the proxy apply); a sixth, a loop, a
  missing Location or a target refused by the guard: unavailable, as a 4xx;
- 4xx (and anything else below 500): "unavailable", everything allowed;
- 5xx, or the download failed (DNS, timeout, refused, reset): "unreachable", everything
  on the host disallowed (2.3.1.4), each page an IgnoreRequest "Forbidden by robots.txt
  (…)" that the spider records as a `robots:` row (crawler/failures.py).

One log line per host at most, no traceback. Cluster workers use their own middleware
(crawler/frontier/robots.py); when another RobotsTxtMiddleware is enabled this one steps
aside.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as ScrapyRobotsTxt
from scrapy.exceptions import IgnoreRequest, NotConfigured, StopDownload
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred
from w3lib.url import safe_url_string

from crawler.failures import RobotsUnreachable, classify, error_text

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

MAX_BYTES = 500 * 1024  # RFC 9309 2.5: parse at least the first 500 KiB
MAX_REDIRECTS = 5  # RFC 9309 2.3.1.2: follow at least five consecutive redirects
# request.meta key marking our robots.txt requests: the body bytes received so far
RECEIVED = "linkindex_robots_received"
FORBIDDEN = "Forbidden by robots.txt"  # crawler/failures.py matches "robots.txt"


class DisallowAll(RobotParser):
    """The parser of an unreachable robots.txt: nothing is allowed (RFC 9309 2.3.1.4)."""

    def __init__(self, reason: str, failure: tuple[str, str] | None = None) -> None:
        self.reason = reason
        self.failure = failure  # (kind, message) of a robots.txt download that failed

    @classmethod
    def from_crawler(cls, crawler: Crawler, robotstxt_body: bytes) -> DisallowAll:
        return cls("robots.txt unreachable")

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def sitemaps(self) -> list[str]:
        return []


class RobotsTxtMiddleware(ScrapyRobotsTxt):
    """Scrapy's RobotsTxtMiddleware with RFC 9309's statuses, redirects and size."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        if _other_robots_middleware(crawler):
            raise NotConfigured("another robots.txt middleware is enabled")
        crawler.signals.connect(self._bytes_received, signal=signals.bytes_received)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        meta = request.meta
        if RECEIVED in meta:  # our robots.txt request (again after a retry: reset)
            meta.update({RECEIVED: 0, "download_maxsize": 0, "download_warnsize": 0})
            return
        await super().process_request(request)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        if isinstance(rp, DisallowAll):
            self._stats.inc_value("robotstxt/forbidden")
            if rp.failure is not None:  # the host did not answer: its pages say how
                raise RobotsUnreachable(*rp.failure)
            raise IgnoreRequest(f"{FORBIDDEN} ({rp.reason}: disallow all)")
        super().process_request_2(rp, request)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            waiting: Deferred[RobotParser | None] = Deferred()
            self._parsers[netloc] = waiting
            try:
                rp = await self._fetch(f"{url.scheme}://{netloc}/robots.txt", request)
            except Exception as exc:  # noqa: BLE001 - a robots.txt must never stop a crawl
                rp = self._unreachable(netloc, exc)
            self._stats.inc_value("robotstxt/request_count")
            self._parsers[netloc] = rp
            waiting.callback(rp)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _fetch(self, robots_url: str, request: Request) -> RobotParser | None:
        """The parser for the host of `request` (None: allow everything)."""
        netloc = urlparse_cached(request).netloc
        seen = {robots_url}
        url = robots_url
        for hop in range(MAX_REDIRECTS + 1):
            robots_request = Request(
                url,
                priority=self.DOWNLOAD_PRIORITY,
                # identity: the 500 KiB read are 500 KiB of the file
                headers={"Accept-Encoding": "identity"},
                meta={"dont_obey_robotstxt": True, RECEIVED: 0},
                callback=NO_CALLBACK,
            )
            try:
                response = await self.crawler.engine.download_async(robots_request)
            except Exception as exc:  # noqa: BLE001 - judged below
                kind = "" if isinstance(exc, IgnoreRequest) else classify(exc)[0]
                if isinstance(exc, IgnoreRequest) or kind == "refused":
                    # not fetched on purpose (the guard): Scrapy's choice, allow all; a
                    # page refused by the guard gets its own row
                    self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
                    return None
                return self._unreachable(netloc, exc)
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            status = response.status
            if 300 <= status < 400:
                target = _redirect_target(response)
                if target is None or target in seen or hop == MAX_REDIRECTS:
                    why = ("a redirect loop" if target in seen else
                           "no usable Location" if target is None else
                           f"more than {MAX_REDIRECTS} redirects")
                    logger.info("robots.txt of %s unavailable (%s): every page allowed",
                                netloc, why, extra={"spider": self.crawler.spider})
                    self._stats.inc_value("robotstxt/redirects_given_up")
                    return None
                seen.add(target)
                url = target
                continue
            if status >= 500:
                reason = f"robots.txt answered {status}"
                logger.warning("robots.txt of %s answered %d: every page disallowed",
                               netloc, status, extra={"spider": self.crawler.spider})
                self._stats.inc_value("robotstxt/disallow_all")
                return DisallowAll(reason)
            if not 200 <= status < 300:
                return None  # 4xx (and the odd 1xx): unavailable, allow all
            rp = build_from_crawler(self._parserimpl, self.crawler, response.body[:MAX_BYTES])
            await self.crawler.signals.send_catch_log_async(
                signal=signals.robots_parsed, robotparser=rp, request=request
            )
            return rp
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns

    def _unreachable(self, netloc: str, exc: BaseException) -> DisallowAll:
        kind, message = classify(exc)
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._stats.inc_value("robotstxt/disallow_all")
        # INFO (-v): each page of the host is a row naming this failure, counted by kind
        logger.info("robots.txt of %s unreachable (%s): every page disallowed",
                       netloc, error_text(kind, message), extra={"spider": self.crawler.spider})
        return DisallowAll(f"robots.txt unreachable: {kind}", (kind, message))

    def _bytes_received(self, data: bytes, request: Request, spider: Any = None) -> None:
        """Stop a robots.txt download at MAX_BYTES, keeping what came (StopDownload)."""
        meta = request.meta
        received = meta.get(RECEIVED)
        if received is None:
            return
        # The download handler has read its (unlimited) size limit; decompression, if a
        # server compresses anyway, gets the crawl's DOWNLOAD_MAXSIZE again.
        meta.pop("download_maxsize", None)
        meta[RECEIVED] = received = received + len(data)
        if received >= MAX_BYTES:
            raise StopDownload(fail=False)


def _redirect_target(response: Response) -> str | None:
    location = response.headers.get(b"Location")
    if not location:
        return None
    try:
        target = safe_url_string(urljoin(response.url, location.decode("latin-1").strip()))
        scheme = urlsplit(target).scheme
    except ValueError:
        return None
    return target if scheme in ("http", "https") else None


def _other_robots_middleware(crawler: Crawler) -> bool:
    """Whether another RobotsTxtMiddleware (a cluster worker's) is enabled."""
    enabled = crawler.settings.getwithbase("DOWNLOADER_MIDDLEWARES")
    for path, order in enabled.items():
        if order is None:
            continue
        cls = load_object(path) if isinstance(path, str) else path
        if (isinstance(cls, type) and issubclass(cls, ScrapyRobotsTxt)
                and not issubclass(RobotsTxtMiddleware, cls)):
            return True
    return False
