"""What the `links` spider does differently in cluster mode (mixed into LinksSpider).

Requests come from the shared frontier as small JSON documents and are rebuilt here;
robots.txt requests are answered into Redis for every worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.frontier.requests import FrontierRequest, origin
from crawler.frontier.robots import crawl_delay_ms, robots_body


class SharedFrontierSpider:
    crawler: Any
    shared: Any

    def frontier_request(self, found: FrontierRequest) -> scrapy.Request:
        meta: dict[str, Any] = {"depth": found.depth, "lease": found.url, "frontier": found}
        if found.retries:
            meta["retry_times"] = found.retries
        if found.robots:
            meta["dont_obey_robotstxt"] = True
            meta["robots_domain"] = found.domain
            return scrapy.Request(found.url, callback=self.parse_robots,
                                  errback=self.on_robots_error, meta=meta, dont_filter=True)
        return scrapy.Request(found.url, callback=self.parse,  # type: ignore[attr-defined]
                              errback=self.on_error,  # type: ignore[attr-defined]
                              priority=-found.depth, meta=meta, dont_filter=True)

    def _store_robots(self, url: str, domain: str, body: str) -> None:
        user_agent = self.crawler.settings.get("ROBOTSTXT_USER_AGENT") or \
            self.crawler.settings["USER_AGENT"]
        self.shared.store_robots(origin(url), body, domain, crawl_delay_ms(body, user_agent))
        self.shared.ack([(url, "done")])
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
