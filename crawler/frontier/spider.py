"""What the `links` spider does differently in cluster mode (mixed into LinksSpider).

Requests come from the shared frontier as small JSON documents and are rebuilt here;
robots.txt requests are answered into Redis for every worker. A page of a domain
skipped for its Crawl-delay is not fetched: it becomes a pages row with the error
"skipped: crawl-delay N s over the cap M s" (acknowledged as failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from core.extractor import PageExtraction, page_url
from core.pages import page_row
from crawler.frontier.politeness import HandedBack
from crawler.frontier.requests import FrontierRequest, origin
from crawler.frontier.robots import (
    SKIPPED,
    CrawlDelaySkipped,
    crawl_delay_ms,
    robots_body,
    robots_user_agent,
)
from crawler.items import PageItem


class SharedFrontierSpider:
    crawler: Any
    shared: Any
    crawl_id: str

    def frontier_request(self, found: FrontierRequest) -> scrapy.Request:
        meta: dict[str, Any] = {"depth": found.depth, "lease": found.url, "frontier": found}
        if found.retries:
            meta["retry_times"] = found.retries
        if found.robots:
            meta["dont_obey_robotstxt"] = True
            meta["robots_domain"] = found.domain
            return scrapy.Request(found.url, callback=self.parse_robots,
                                  errback=self.on_robots_error, meta=meta, dont_filter=True)
        if found.skip:
            meta["crawl_delay_skip"] = found.skip
        return scrapy.Request(found.url, callback=self.parse,  # type: ignore[attr-defined]
                              errback=self.on_frontier_error, priority=-found.depth,
                              meta=meta, dont_filter=True)

    def on_frontier_error(self, failure: Failure) -> Iterator[PageItem]:
        """A skipped page's row; none for a request handed back to its queue (it is
        fetched later); any other failure is the spider's `on_error`."""
        if failure.check(HandedBack):
            return iter(())
        if not failure.check(CrawlDelaySkipped):
            return self.on_error(failure)  # type: ignore[attr-defined]
        request = failure.request  # type: ignore[attr-defined]
        url = page_url(request.url)
        page = page_row(self.crawl_id, url, request.meta.get("depth", 0), datetime.now(UTC))
        page["error"] = f"{SKIPPED}: {failure.value.reason}"
        stats = self.crawler.stats
        for name in ("linkindex/pages", "linkindex/errors", f"linkindex/errors/{SKIPPED}"):
            stats.inc_value(name)
        if stats.get_value(f"linkindex/first_error/{SKIPPED}") is None:
            stats.set_value(f"linkindex/first_error/{SKIPPED}", f"{url}: {page['error']}")
        item = PageItem(page=page, links=PageExtraction().links)
        item["lease"] = request.meta["lease"]
        return iter((item,))

    def _store_robots(self, url: str, domain: str, body: str) -> None:
        user_agent = robots_user_agent(self.crawler.settings)
        self.shared.store_robots(origin(url), body, domain, crawl_delay_ms(body, user_agent))
        self.shared.ack([(url, "robots")])
        self.crawler.stats.inc_value("linkindex/robots_shared")

    def parse_robots(self, response: Response) -> Iterator[Any]:
        self._store_robots(response.request.url, response.meta["robots_domain"],
                           robots_body(response))
        return iter(())

    def on_robots_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        # Unreachable robots.txt: allow all, as Scrapy's own middleware does.
        self._store_robots(request.url, request.meta["robots_domain"], "")
        return iter(())
