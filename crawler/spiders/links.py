"""The `links` spider: fetch pages breadth-first from seeds, one PageItem item per page.

    scrapy crawl links -a seeds=https://example.com/ -a data=DATA
    linkindex crawl https://example.com/ --data DATA          (the same, friendlier)

Spider arguments are copied into the LINKINDEX_* settings of the same meaning, so both
commands configure the crawl the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from core.domains import registrable_domain
from core.errors import LinkindexError, check_crawl_id
from core.extractor import PageExtraction, page_url
from core.pages import page_row, page_rows
from core.urls import url_host
from crawler.evidence import evidence_of
from crawler.frontier.client import WorkerFrontier
from crawler.frontier.spider import SharedFrontierSpider
from crawler.items import PageItem
from crawler.spec import SEEDS_FILE_SETTING, SETTINGS, CrawlSpec, setting_int

# -a NAME=VALUE → setting: the crawl spec's fields (seeds, scope, max_depth, …) and these
ARGUMENT_SETTINGS = {
    **SETTINGS,
    "seeds_file": SEEDS_FILE_SETTING,
    "data": "LINKINDEX_DATA",
    "crawl_id": "LINKINDEX_CRAWL_ID",
    "proxy": "LINKINDEX_PROXY",
    "allow_private": "LINKINDEX_ALLOW_PRIVATE",
}


def default_crawl_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def crawl_spec(settings: BaseSettings) -> CrawlSpec | None:
    """The crawl the settings ask for, checked; None for a cluster worker (LINKINDEX_JOB),
    whose seeds, scope and limits are the job's, checked when it was submitted."""
    return None if settings.get("LINKINDEX_JOB") else CrawlSpec.from_settings(settings)


def prepare_settings(settings: BaseSettings) -> None:
    """Validate the crawl settings and fill in derived defaults (crawl id, seeds)."""
    spec = crawl_spec(settings)
    if spec is not None:
        # The file's URLs are now in LINKINDEX_SEEDS: a second call (the runner validates
        # before Scrapy starts, the spider again) must not read the file again.
        settings.update(spec.to_settings(), priority="cmdline")
        settings.set(SEEDS_FILE_SETTING, None, priority="cmdline")
    crawl_id = settings.get("LINKINDEX_CRAWL_ID") or default_crawl_id()
    settings.set("LINKINDEX_CRAWL_ID", check_crawl_id(crawl_id), priority="cmdline")
    level = setting_int(settings, "LINKINDEX_WARC_GZIP_LEVEL")
    if (level or 0) < 0:
        raise LinkindexError("LINKINDEX_WARC_GZIP_LEVEL must not be negative")
    if (level or 0) > 9:
        raise LinkindexError("LINKINDEX_WARC_GZIP_LEVEL must be 0 (plain .warc) to 9")


class LinksSpider(SharedFrontierSpider, scrapy.Spider):
    name = "links"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> LinksSpider:
        # Settings are not frozen yet when the spider is created (Scrapy 2.19).
        for argument, setting in ARGUMENT_SETTINGS.items():
            if argument in kwargs:
                crawler.settings.set(setting, kwargs.pop(argument), priority="cmdline")
        prepare_settings(crawler.settings)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        return spider

    def configure(self, settings: BaseSettings) -> None:
        self.crawl_id: str = settings["LINKINDEX_CRAWL_ID"]
        # A cluster worker has no spec here: its job's frontier applies scope and limits.
        spec = crawl_spec(settings)
        self.seeds: list[str] = list(spec.seeds) if spec else []
        self.scope_domains: set[str] | None = spec.scope_domains() if spec else None
        self.max_depth = spec.max_depth if spec else None
        self.max_pages = spec.max_pages if spec else None
        self.max_per_domain = spec.max_pages_per_domain if spec else None
        # Spider-side seen-set: yielding a Request for every extracted link costs far
        # more (fingerprint, middlewares, dupefilter) than a set lookup (68 → 417 pages/s).
        self.seen: set[int] = set()
        self.scheduled = 0
        self.per_domain: Counter[str] = Counter()
        self.archive = settings.getbool("LINKINDEX_WARC")  # attach evidence for the WARC
        # Cluster mode: the frontier is shared through Redis (crawler.frontier).
        self.shared: WorkerFrontier | None = (
            WorkerFrontier.of(self.crawler) if settings.get("LINKINDEX_JOB") else None
        )
        self.job_state: str | None = None  # set when the job is stopped or purged

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.shared is not None:
            return  # seeds were queued by `linkindex job submit`
        for url in self.seeds:
            request = self.request_for(url, 0)
            if request is not None:
                yield request

    def request_for(self, url: str, depth: int) -> scrapy.Request | None:
        """A request for `url` unless seen, out of scope or over a limit."""
        key = hash(url)
        if key in self.seen:
            return None
        if self.max_depth is not None and depth > self.max_depth:
            return None
        domain = registrable_domain(url_host(url))
        if self.scope_domains is not None and domain not in self.scope_domains:
            return None
        if self.max_pages is not None and self.scheduled >= self.max_pages:
            return None
        if self.max_per_domain is not None and self.per_domain[domain] >= self.max_per_domain:
            return None
        self.seen.add(key)
        self.scheduled += 1
        self.per_domain[domain] += 1
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            priority=-depth,
            meta={"depth": depth},
            dont_filter=True,
        )

    def follow(self, urls: Iterable[str], depth: int) -> Iterator[scrapy.Request]:
        if self.shared is not None:  # one round trip for all of a page's links
            self.shared.add(list(urls), depth)
            return
        for url in urls:
            request = self.request_for(url, depth)
            if request is not None:
                yield request

    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        depth = response.meta.get("depth", 0)
        fetched = page_rows(
            self.crawl_id,
            page_url(response.url),
            depth=depth,
            fetched_at=datetime.now(UTC),
            status=response.status,
            body=response.body,
            content_type=_header(response, b"Content-Type"),
            location=_header(response, b"Location"),
            x_robots_tag=_header(response, b"X-Robots-Tag"),
            ip=str(response.ip_address) if response.ip_address else None,
        )
        stats = self.crawler.stats
        stats.inc_value("linkindex/pages")
        stats.inc_value("linkindex/edges", len(fetched.links["dst_url"]))
        if response.status >= 400:
            stats.inc_value("linkindex/errors")
        item = PageItem(page=fetched.page, links=fetched.links)
        if "lease" in response.meta:
            item["lease"] = response.meta["lease"]
        if self.archive:
            item["evidence"] = evidence_of(response)
        yield item
        yield from self.follow(fetched.follow, depth + 1)

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest) and self.shared is not None:
            self.shared.ack([(request.meta["lease"], "ignored")])
            return
        if failure.check(IgnoreRequest):  # robots.txt or the private-address guard
            # Not fetched: give the slot back, so limits count pages actually fetched.
            self.scheduled -= 1
            self.per_domain[registrable_domain(url_host(request.url))] -= 1
            return
        page = page_row(
            self.crawl_id, page_url(request.url), request.meta.get("depth", 0), datetime.now(UTC)
        )
        message = failure.getErrorMessage() or failure.type.__name__
        page["error"] = f"{failure.type.__name__}: {message}"[:300]
        self.crawler.stats.inc_value("linkindex/errors")
        self.crawler.stats.inc_value("linkindex/pages")
        item = PageItem(page=page, links=PageExtraction().links)
        if "lease" in request.meta:
            item["lease"] = request.meta["lease"]
        yield item


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
