"""Run one crawl in this process: the code behind `linkindex crawl` and the demo."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from core.errors import LinkindexError
from crawler.spiders.links import LinksSpider, prepare_settings


@dataclass
class CrawlSummary:
    crawl_id: str
    data: Path
    pages: int
    edges: int
    errors: int
    parts: int
    seconds: float
    finish_reason: str

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def crawl_settings(overrides: dict[str, Any]) -> Settings:
    """The project's settings (crawler.settings) with `overrides` on top, validated."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.update(overrides, priority="cmdline")
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
    settings = crawl_settings(overrides)
    check_proxy(settings.get("LINKINDEX_PROXY"))
    process = CrawlerProcess(settings)  # configures logging: adjust levels after it
    if settings.get("LOG_LEVEL") not in ("DEBUG", "INFO"):
        # A 5xx after retries is data (a pages row), not an error for the operator.
        logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
    crawler = process.create_crawler(LinksSpider)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    start, finish = stats.get("start_time"), stats.get("finish_time")
    return CrawlSummary(
        crawl_id=settings["LINKINDEX_CRAWL_ID"],
        data=Path(settings["LINKINDEX_DATA"]),
        pages=stats.get("linkindex/pages_stored", 0),
        edges=stats.get("linkindex/edges", 0),
        errors=stats.get("linkindex/errors", 0),
        parts=stats.get("linkindex/parts_written", 0),
        seconds=(finish - start).total_seconds() if start and finish else 0.0,
        finish_reason=stats.get("finish_reason", "unknown"),
    )
