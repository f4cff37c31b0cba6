"""The `checklinks` spider: fetch link targets once each, to learn which are dead.

    linkindex check-links --data DATA                      (the URLs the index links to)
    scrapy crawl checklinks -a urls_file=URLS.txt -a data=DATA

Which URLs: `linkindex check-links` takes them from the live index
(queries.unchecked.link_targets); the spider fetches the URLs it is given.

How: HEAD first. A HEAD answered 405 or 501 (the method is not allowed or not
implemented) or not answered at all (the connection closed or reset, or a timeout) gets
one GET, stopped as soon as its headers arrive: no body is read, no link extracted. The
answer is recorded as it comes: a 3xx is a row with its redirect_to, not followed.
robots.txt, the private-address guard, the proxy, retries and politeness are the
crawler's (crawler/settings.py, its middlewares): a URL they do not let through gets
the same `robots: …` or `refused: …` row a crawl writes.

One pages row per URL (core.schema.PAGES, through pipelines.raw_parts like a crawl's),
no edges: status, content type, the announced Content-Length, redirect_to, the site's
address; a failure is a row with status NULL and its error, counted by kind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Headers, Response
from scrapy.settings import BaseSettings
from twisted.python.failure import Failure

from core.errors import LinkindexError, check_crawl_id
from core.extractor import PageExtraction, extract_redirect, media_type
from core.pages import page_row
from core.storage import is_store_url
from crawler.failures import classify, count_error, status_kind
from crawler.items import PageItem
from crawler.middlewares import site_address
from crawler.spiders.links import check_scrapy_settings, default_crawl_id

# A HEAD answered so says the method is not supported: the URL gets one GET.
HEAD_UNSUPPORTED = (405, 501)
# A HEAD that got no answer (crawler.failures kinds): the URL gets one GET. Not dns,
# connection refused, tls or proxy: a GET cannot reach a host a HEAD could not.
NO_ANSWER = ("connection", "timeout")

# -a NAME=VALUE → setting (as for the links spider)
ARGUMENT_SETTINGS = {
    "data": "LINKINDEX_DATA",
    "crawl_id": "LINKINDEX_CRAWL_ID",
    "proxy": "LINKINDEX_PROXY",
    "allow_private": "LINKINDEX_ALLOW_PRIVATE",
}
CHECK_URL = "linkindex_check_url"  # request.meta: the URL as the index spells it



def default_check_id() -> str:
    """check-<UTC start time>, e.g. check-20261121T053100Z."""
    return f"check-{default_crawl_id()}"


def prepare_check_settings(settings: BaseSettings) -> None:
    """Validate the settings as a crawl's (`check_scrapy_settings`) and fill in the
    check's crawl id (default_check_id)."""
    check_scrapy_settings(settings)
    if is_store_url(str(settings.get("LINKINDEX_DATA") or "")):
        raise LinkindexError("check-links writes to a DATA folder, not an object store")
    if settings.getbool("LINKINDEX_WARC"):
        raise LinkindexError("check-links archives nothing (it reads no body): drop --warc")
    crawl_id = settings.get("LINKINDEX_CRAWL_ID") or default_check_id()
    settings.set("LINKINDEX_CRAWL_ID", check_crawl_id(crawl_id), priority="cmdline")


class CheckLinksSpider(scrapy.Spider):
    name = "checklinks"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CheckLinksSpider:
        urls: Iterable[str] | None = kwargs.pop("urls", None)
        urls_file: str | None = kwargs.pop("urls_file", None)
        for argument, setting in ARGUMENT_SETTINGS.items():
            if argument in kwargs:
                crawler.settings.set(setting, kwargs.pop(argument), priority="cmdline")
        prepare_check_settings(crawler.settings)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings, urls, urls_file)
        crawler.signals.connect(spider.headers_received, signal=scrapy_signals.headers_received)
        return spider

    def configure(self, settings: BaseSettings, urls: Iterable[str] | None,
                  urls_file: str | None) -> None:
        self.crawl_id: str = settings["LINKINDEX_CRAWL_ID"]
        if urls is None and urls_file:
            try:
                lines = Path(urls_file).read_text().splitlines()
            except OSError as exc:
                raise LinkindexError(f"cannot read {urls_file}: {exc.strerror}") from None
            urls = [line.strip() for line in lines
                    if line.strip() and not line.lstrip().startswith("#")]
        if urls is None:  # the index is read above this layer (queries.unchecked)
            raise LinkindexError("checklinks needs its URLs: -a urls_file=FILE "
                                 "(`linkindex check-links` takes them from the index)")
        self.urls: list[str] = list(dict.fromkeys(urls))  # each URL once, in order

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield self.request(url, "HEAD")

    def request(self, url: str, method: str) -> scrapy.Request:
        # no Referer: a GET after a HEAD would otherwise name the URL itself
        return scrapy.Request(url, method=method, callback=self.parse, errback=self.on_error,
                              meta={CHECK_URL: url, "referrer_policy": "no-referrer"},
                              dont_filter=True)

    def headers_received(self, headers: Headers, body_length: int, request: scrapy.Request,
                         spider: scrapy.Spider) -> None:
        """A GET of ours stops at its headers: the status is all it is for."""
        if request.method == "GET" and CHECK_URL in request.meta:
            raise StopDownload(fail=False)

    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        request = response.request
        assert request is not None
        url = request.meta[CHECK_URL]
        if request.method == "HEAD" and response.status in HEAD_UNSUPPORTED:
            self.crawler.stats.inc_value("linkindex/check/get_after_head")
            yield self.request(url, "GET")
            return
        self.crawler.stats.inc_value("linkindex/responses")
        page = page_row(self.crawl_id, url, None, datetime.now(UTC))
        page.update(
            status=response.status,
            content_type=media_type(_header(response, b"Content-Type")),
            content_length=_announced_length(response),
            ip=site_address(request.meta, response.ip_address),
        )
        location = _header(response, b"Location")
        if 300 <= response.status < 400 and location is not None:
            page["redirect_to"] = extract_redirect(url, location)[0]
        kind = status_kind(response.status)
        if kind is not None:
            count_error(self.crawler.stats, kind, None, url)
        yield self.row(page)

    def on_error(self, failure: Failure) -> Iterator[PageItem | scrapy.Request]:
        """A HEAD with no answer gets its GET; any other failure is the URL's row, with
        its error, counted by kind (robots and refused as a crawl counts them)."""
        request = failure.request  # type: ignore[attr-defined]
        url = request.meta[CHECK_URL]
        kind, message = classify(failure.value)
        if (request.method == "HEAD" and kind in NO_ANSWER
                and not isinstance(failure.value, IgnoreRequest)):  # robots.txt unreachable
            self.crawler.stats.inc_value("linkindex/check/get_after_head")
            yield self.request(url, "GET")
            return
        page = page_row(self.crawl_id, url, None, datetime.now(UTC))
        page["error"] = count_error(self.crawler.stats, kind, message, url)
        if kind == "refused":
            self.crawler.stats.inc_value("linkindex/refused/requests")
        yield self.row(page)

    def row(self, page: dict[str, Any]) -> PageItem:
        """The URL's item: its pages row and no links."""
        self.crawler.stats.inc_value("linkindex/pages")
        return PageItem(page=page, links=PageExtraction().links)


def _announced_length(response: Response) -> int | None:
    """The Content-Length the server announced (no body is read), None if it sent none."""
    value = _header(response, b"Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:  # as the links spider reads them: the same redirect_to for the same Location
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
