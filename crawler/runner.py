"""Run one crawl in this process: the code behind `linkindex crawl` and the demo."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import Spider
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.python.failure import Failure

from core.errors import LinkindexError
from crawler.failures import KINDS, label
from crawler.spiders.links import LinksSpider, check_scrapy_settings, prepare_settings


@dataclass
class CrawlSummary:
    crawl_id: str
    data: Path
    pages: int  # pages rows stored (those with an error too)
    edges: int
    errors: int
    parts: int
    seconds: float
    finish_reason: str
    fetched: int = 0  # HTTP responses received (whatever their status or size)
    errors_by_kind: dict[str, int] = field(default_factory=dict)  # crawler.failures kinds
    first_errors: dict[str, str] = field(default_factory=dict)  # kind → "URL: error"
    refused_seeds: int = 0  # seeds the private-address guard refused
    refused_requests: int = 0  # other requests it refused

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def error_counts(self) -> str:
        """ "2 DNS, 1 timeout": the errors per kind, in crawler.failures.KINDS order."""
        kinds = sorted(self.errors_by_kind, key=lambda k: (
            KINDS.index(k) if k in KINDS else len(KINDS), k))
        return ", ".join(f"{self.errors_by_kind[k]:,} {label(k, self.errors_by_kind[k])}"
                         for k in kinds if self.errors_by_kind[k])

    def refused(self) -> str | None:
        """What the private-address guard refused, and the flag that allows it."""
        if not (self.refused_seeds or self.refused_requests):
            return None
        parts = []
        if self.refused_seeds:
            parts.append(_plural(self.refused_seeds, "seed"))
        if self.refused_requests:
            parts.append(_plural(self.refused_requests, "other request"))
        first = self.first_errors.get("refused", "").partition(": refused: ")[2]
        why = first.removesuffix(" (allow with --allow-private)")
        return (f"refused {' and '.join(parts)} to private, loopback or link-local addresses"
                f"{f' (first: {why})' if why else ''}; allow them with --allow-private")

    def nothing_fetched(self) -> str | None:
        """Why a crawl that received no HTTP response at all fetched nothing (None when
        it fetched something): "no page fetched: 1 DNS failure"."""
        if self.fetched:
            return None
        failures = {kind: n for kind, n in self.errors_by_kind.items() if kind != "refused"}
        why = [CrawlSummary(**{**vars(self), "errors_by_kind": failures}).error_counts(),
               self.refused() or ""]
        return "no page fetched: " + ("; ".join(w for w in why if w) or "nothing to fetch")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def scrapy_settings(overrides: dict[str, Any]) -> Settings:
    """The project's settings (crawler.settings) with `overrides` on top, each checked
    (`check_scrapy_settings`): a value Scrapy cannot read is one line, now."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for name, value in overrides.items():
        try:
            settings.set(name, value, priority="cmdline")
        except (TypeError, ValueError):  # a dict setting given as a string: JSON
            raise LinkindexError(
                f'setting {name} must be a JSON object, e.g. \'{{"NAME": 100}}\', '
                f"not {value!r}") from None
    check_scrapy_settings(settings)
    return settings


def crawl_settings(overrides: dict[str, Any]) -> Settings:
    """The project's settings (crawler.settings) with `overrides` on top, validated."""
    settings = scrapy_settings(overrides)
    prepare_settings(settings)
    return settings


def check_proxy(proxy: str | None, timeout: float = 5.0) -> None:
    """Fail early, in one line, when the forward proxy cannot be reached."""
    if not proxy:
        return
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LinkindexError(f"bad proxy URL {proxy!r}: expected http://HOST:PORT")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise LinkindexError(f"bad proxy URL {proxy!r}: bad port") from None
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise LinkindexError(f"proxy {proxy} is unreachable: {reason}") from None


def run_crawl(overrides: dict[str, Any]) -> CrawlSummary:
    """Crawl until the frontier is empty or a limit is reached; parts land in DATA/raw."""
    return run_spider(crawl_settings(overrides), LinksSpider, "crawl")


def run_spider(settings: Settings, spider: type[Spider], what: str,
               **arguments: Any) -> CrawlSummary:
    """Run one of the project's spiders with `settings` (the proxy checked first) until
    it closes; its summary, or one LinkindexError line naming `what` failed."""
    check_proxy(settings.get("LINKINDEX_PROXY"))
    process = CrawlerProcess(settings)  # configures logging: adjust levels after it
    if settings.get("LOG_LEVEL") not in ("DEBUG", "INFO"):
        # A 5xx after retries is data (a pages row), not an error for the operator.
        logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
    crawler = process.create_crawler(spider)
    failures: list[Failure] = []
    # never "Unhandled error in Deferred"
    process.crawl(crawler, **arguments).addErrback(failures.append)
    process.start()
    if failures:
        error = failures[0].value
        if isinstance(error, LinkindexError):
            raise error
        raise LinkindexError(f"the {what} failed: {type(error).__name__}: {error}")
    return summary_of(crawler.stats.get_stats(), settings)


def summary_of(stats: dict[str, Any], settings: Settings) -> CrawlSummary:
    """A crawl's summary from its Scrapy stats."""
    start, finish = stats.get("start_time"), stats.get("finish_time")
    by_kind = {name.removeprefix("linkindex/errors/"): value for name, value in stats.items()
               if name.startswith("linkindex/errors/")}
    first = {name.removeprefix("linkindex/first_error/"): value
             for name, value in stats.items() if name.startswith("linkindex/first_error/")}
    return CrawlSummary(
        crawl_id=settings["LINKINDEX_CRAWL_ID"],
        data=Path(settings["LINKINDEX_DATA"]),
        pages=stats.get("linkindex/pages_stored", 0),
        edges=stats.get("linkindex/edges", 0),
        errors=stats.get("linkindex/errors", 0),
        parts=stats.get("linkindex/parts_written", 0),
        seconds=(finish - start).total_seconds() if start and finish else 0.0,
        finish_reason=stats.get("finish_reason", "unknown"),
        fetched=stats.get("linkindex/responses", 0),
        errors_by_kind=by_kind,
        first_errors=first,
        refused_seeds=stats.get("linkindex/refused/seeds", 0),
        refused_requests=stats.get("linkindex/refused/requests", 0),
    )
