"""The `links` spider: fetch pages breadth-first from seeds, one PageItem item per page.

    scrapy crawl links -a seeds=https://example.com/ -a data=DATA
    linkindex crawl https://example.com/ --data DATA          (the same, friendlier)

Spider arguments are copied into the LINKINDEX_* settings of the same meaning, so both
commands configure the crawl the same way.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings, default_settings
from twisted.python.failure import Failure

from core.domains import registrable_domain
from core.errors import LinkindexError, check_crawl_id
from core.extractor import PageExtraction, media_type, page_url
from core.mirror import cache_dir
from core.pages import PageRows, page_row, page_rows
from core.storage import Storage, is_store_url
from core.urls import url_host
from crawler import settings as project_settings
from crawler.evidence import evidence_of
from crawler.failures import (
    NOT_FETCHED,
    RECEIVED,
    ResponseTooLarge,
    classify,
    count_error,
    status_kind,
)
from crawler.frontier.client import WorkerFrontier
from crawler.frontier.spider import SharedFrontierSpider
from crawler.items import PageItem
from crawler.middlewares import site_address
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


# Scrapy settings this project sets itself, because the spider does their work: a
# different value would change what is recorded, so it is refused with what to use.
_REDIRECTS = ("each redirect is recorded (a page and a link) and its target fetched as a "
              "new request: limit chains with --max-depth")
OVERRIDDEN: dict[str, str] = {
    "DEPTH_LIMIT": "use --max-depth N",
    "DEPTH_PRIORITY": "crawls are breadth-first already (a request's priority is -depth)",
    "REDIRECT_ENABLED": _REDIRECTS,
    "REDIRECT_MAX_TIMES": _REDIRECTS,
    "METAREFRESH_ENABLED": _REDIRECTS,
    "DUPEFILTER_CLASS": "the spider keeps its own set of URLs seen",
    "HTTPERROR_ALLOW_ALL": "every response is recorded in pages, whatever its status",
    "CLOSESPIDER_PAGECOUNT": "use --max-pages N (it counts pages, not robots.txt responses)",
}
_DEPTH_MIDDLEWARE = "scrapy.spidermiddlewares.depth.DepthMiddleware"
# Scrapy reads these with getfloat although their defaults are whole numbers.
_FLOAT_SETTINGS = frozenset({
    "AUTOTHROTTLE_MAX_DELAY", "AUTOTHROTTLE_START_DELAY", "AUTOTHROTTLE_TARGET_CONCURRENCY",
    "CLOSESPIDER_TIMEOUT", "DNS_TIMEOUT", "DOWNLOAD_DELAY", "DOWNLOAD_DELAY_JITTER",
    "DOWNLOAD_TIMEOUT", "LOGSTATS_INTERVAL", "LINKINDEX_PART_MAX_SECONDS",
})
_CMDLINE = SETTINGS_PRIORITIES["cmdline"]


def _default(name: str) -> Any:
    """A setting's value before the user's: this project's, else Scrapy's."""
    value = getattr(project_settings, name, None)
    return value if value is not None else getattr(default_settings, name, None)


def _check_type(settings: BaseSettings, name: str) -> None:
    """One line, not a traceback mid-crawl, for a value Scrapy cannot read."""
    value, default = settings.get(name), _default(name)
    if value is None or default is None:
        return
    try:
        if isinstance(default, bool):
            settings.getbool(name)
        elif isinstance(default, float) or (isinstance(default, int) and name in _FLOAT_SETTINGS):
            settings.getfloat(name)
        elif isinstance(default, int):
            settings.getint(name)
        elif isinstance(default, dict):
            settings.getdict(name)
        elif name == "LOG_LEVEL" and not (isinstance(value, int)
                                          or value in logging.getLevelNamesMapping()):
            raise ValueError
    except (TypeError, ValueError):
        if isinstance(default, bool):
            expected = "true or false"
        elif isinstance(default, float) or name in _FLOAT_SETTINGS:
            expected = "a number"
        elif isinstance(default, int):
            expected = "a whole number"
        elif isinstance(default, dict):
            expected = 'a JSON object, e.g. \'{"NAME": 100}\''
        else:
            expected = "one of " + ", ".join(logging.getLevelNamesMapping())
        raise LinkindexError(f"setting {name} must be {expected}, not {value!r}") from None


def _same(settings: BaseSettings, name: str) -> bool:
    default = _default(name)
    if isinstance(default, bool):
        return settings.getbool(name) == default
    if isinstance(default, int):
        return settings.getint(name) == default
    return settings.get(name) == default


def check_scrapy_settings(settings: BaseSettings) -> None:
    """The Scrapy settings given on the command line (-s, or `scrapy crawl -s`): values
    Scrapy can read, and none of the settings the spider does the work of (OVERRIDDEN)."""
    given = [name for name in settings if settings.getpriority(name) >= _CMDLINE]
    for name in given:
        _check_type(settings, name)
    cluster = bool(settings.get("LINKINDEX_JOB"))  # its frontier has its own dupefilter
    for name, instead in OVERRIDDEN.items():
        if name in given and not (cluster and name == "DUPEFILTER_CLASS") \
                and not _same(settings, name):
            raise LinkindexError(f"setting {name} is not used by linkindex: {instead}")
    if "SPIDER_MIDDLEWARES" in given:
        middlewares = settings.getdict("SPIDER_MIDDLEWARES")
        if middlewares.get(_DEPTH_MIDDLEWARE, None) is not None:
            raise LinkindexError(f"{_DEPTH_MIDDLEWARE} stays off in linkindex: use --max-depth N")
        settings.set("SPIDER_MIDDLEWARES", {**middlewares, _DEPTH_MIDDLEWARE: None},
                     priority=settings.getpriority("SPIDER_MIDDLEWARES"))
    if "DOWNLOADER_MIDDLEWARES" in given:
        middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
        for path, order in project_settings.DOWNLOADER_MIDDLEWARES.items():
            if order is not None and path in middlewares and middlewares[path] is None:
                raise LinkindexError(f"{path} stays on in linkindex (see crawler/settings.py)")
        ours = {path: order for path, order in project_settings.DOWNLOADER_MIDDLEWARES.items()
                if path not in middlewares}
        settings.set("DOWNLOADER_MIDDLEWARES", {**ours, **middlewares},
                     priority=settings.getpriority("DOWNLOADER_MIDDLEWARES"))


def prepare_settings(settings: BaseSettings) -> None:
    """Validate the crawl settings and fill in derived defaults (crawl id, seeds)."""
    check_scrapy_settings(settings)
    spec = crawl_spec(settings)
    if spec is not None:
        # The file's URLs are now in LINKINDEX_SEEDS: a second call (the runner validates
        # before Scrapy starts, the spider again) must not read the file again.
        settings.update(spec.to_settings(), priority="cmdline")
        settings.set(SEEDS_FILE_SETTING, None, priority="cmdline")
    data = str(settings.get("LINKINDEX_DATA") or "")
    if is_store_url(data) and not settings.get("LINKINDEX_STORE"):
        # `scrapy crawl links -a data=s3://…`: parts go to a local spool, then the store
        storage = Storage.of(data)
        settings.set("LINKINDEX_STORE", storage.url, priority="cmdline")
        settings.set("LINKINDEX_DATA", str(cache_dir(storage, "spool")), priority="cmdline")
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
        # A chunked response over DOWNLOAD_MAXSIZE is cancelled with no word of its size:
        # count what arrived, so that its row says "too large" (crawler.failures).
        crawler.signals.connect(_count_bytes, signal=scrapy_signals.bytes_received)
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
        self.snippet_chars = settings.getint("LINKINDEX_SNIPPET_CHARS")
        self.archive = settings.getbool("LINKINDEX_WARC")  # attach evidence for the WARC
        self.max_size = settings.getint("DOWNLOAD_MAXSIZE")
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
        url = page_url(response.url)
        fetched_at = datetime.now(UTC)
        content_type = _header(response, b"Content-Type")
        ip = site_address(response.meta, response.ip_address)
        stats = self.crawler.stats
        stats.inc_value("linkindex/responses")
        try:
            fetched = page_rows(
                self.crawl_id,
                url,
                depth=depth,
                fetched_at=fetched_at,
                status=response.status,
                body=response.body,
                content_type=content_type,
                location=_header(response, b"Location"),
                x_robots_tag=_header(response, b"X-Robots-Tag"),
                ip=ip,
                snippet_chars=self.snippet_chars,
            )
        except Exception as exc:  # noqa: BLE001 - one page's failure never loses the page
            page = page_row(self.crawl_id, url, depth, fetched_at)
            page.update(status=response.status, content_type=media_type(content_type),
                        content_length=len(response.body), ip=ip)
            page["error"] = count_error(self.crawler.stats, "extract",
                                        f"{type(exc).__name__}: {exc}", url)
            fetched = PageRows(page, PageExtraction().links)
        else:
            kind = status_kind(response.status)
            if kind is not None:
                count_error(self.crawler.stats, kind, None, url)
        stats.inc_value("linkindex/pages")
        stats.inc_value("linkindex/edges", len(fetched.links["dst_url"]))
        item = PageItem(page=fetched.page, links=fetched.links)
        if "lease" in response.meta:
            item["lease"] = response.meta["lease"]
        if self.archive:  # WARC-IP-Address as pages.ip: the site's address, not a proxy's
            item["evidence"] = replace(evidence_of(response), ip=ip)
        yield item
        yield from self.follow(fetched.follow, depth + 1)

    def give_back(self, request: scrapy.Request) -> None:
        """A request not fetched (robots.txt, the private-address guard): limits count
        pages actually fetched, so its slot goes back (in cluster mode the frontier's,
        when the row's lease is acknowledged "ignored")."""
        if self.shared is not None:
            return
        self.scheduled -= 1
        self.per_domain[registrable_domain(url_host(request.url))] -= 1

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        """Every request given up on is a pages row with its error, counted by kind; one
        not fetched (robots.txt, the private-address guard) gives its slot back."""
        request = failure.request  # type: ignore[attr-defined]
        exc = failure.value
        kind, message = classify(exc, request.meta.get(RECEIVED, 0),
                                 request.meta.get("download_maxsize", self.max_size))
        stats = self.crawler.stats
        depth = request.meta.get("depth", 0)
        url = page_url(request.url)
        page = page_row(self.crawl_id, url, depth, datetime.now(UTC))
        if kind == "too large":  # the site answered: the crawl reached it
            stats.inc_value("linkindex/responses")
        if isinstance(exc, ResponseTooLarge):  # a response came, too large to keep
            page.update(status=exc.status, content_type=media_type(exc.content_type),
                        ip=site_address(request.meta, exc.ip))
        page["error"] = count_error(self.crawler.stats, kind, message, url)
        stats.inc_value("linkindex/pages")
        item = PageItem(page=page, links=PageExtraction().links)
        if kind in NOT_FETCHED:  # the slot goes back (and the lease, acked ignored)
            if kind == "refused":
                stats.inc_value("linkindex/refused/seeds" if depth == 0
                                else "linkindex/refused/requests")
            if "lease" in request.meta:
                # acknowledged with the row, once it is in a part: a worker killed before
                # that loses no row (the lease returns and the page is looked at again)
                item["lease"] = request.meta["lease"]
                item["lease_outcome"] = "ignored"
            self.give_back(request)
        elif "lease" in request.meta:
            item["lease"] = request.meta["lease"]
        yield item


def _count_bytes(data: bytes, request: scrapy.Request, **_: Any) -> None:
    request.meta[RECEIVED] = request.meta.get(RECEIVED, 0) + len(data)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
