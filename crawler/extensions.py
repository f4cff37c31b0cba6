"""Extensions: the live progress line (pages, pages/s, edges, errors, on a terminal
only), and Scrapy's failure logs turned into one line each."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler

from crawler.failures import classify, error_text


class CrawlProgress:
    def __init__(self, crawler: Crawler, stream: TextIO = sys.stderr) -> None:
        self.crawler = crawler
        self.stream = stream
        mode = crawler.settings.get("LINKINDEX_PROGRESS", "auto")
        self.enabled = mode is True or mode == "on" or (mode == "auto" and stream.isatty())
        self._timer = None
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def line(self) -> str:
        stats = self.crawler.stats
        pages = stats.get_value("linkindex/pages", 0)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return (
            f"pages {pages:,}  {pages / elapsed:,.0f}/s  "
            f"edges {stats.get_value('linkindex/edges', 0):,}  "
            f"errors {stats.get_value('linkindex/errors', 0):,}"
        )

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        if self.enabled:
            from twisted.internet import task  # after the reactor is installed

            self._timer = task.LoopingCall(self.show)
            self._timer.start(0.5, now=False)

    def show(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()

    def spider_closed(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
            self.show()
            self.stream.write("\n")



# Scrapy's log lines that repeat, as a traceback or an alarm, what a crawl records as
# data: a failed robots.txt fetch in cluster mode (its pages are crawled as if allowed;
# local mode follows RFC 9309, crawler/robotstxt.py), retries given up on, responses over
# DOWNLOAD_MAXSIZE (each a pages row with its error, counted per kind in the summary).
_QUIET = {
    "scrapy.downloadermiddlewares.robotstxt": ("Error downloading",),
    "scrapy.downloadermiddlewares.retry": ("Gave up retrying",),
    "scrapy.core.downloader.handlers.http11": ("larger than download max size",
                                               "larger than download warn size"),
    "scrapy.downloadermiddlewares.httpcompression": ("during decompression",
                                                     "larger than the download warning size"),
}


class _OneLineInfo(logging.Filter):
    """Turn the matching records into one line at INFO (shown with --verbose only)."""

    def __init__(self, needles: tuple[str, ...]) -> None:
        super().__init__()
        self.needles = needles

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if not any(needle in text for needle in self.needles):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(record.args, dict) and isinstance(record.args.get("f_exception"),
                                                        BaseException):
            exc = record.args["f_exception"]
        if exc is not None:
            kind, message = classify(exc)
            request = record.args.get("request") if isinstance(record.args, dict) else None
            site = urlsplit(request.url) if request is not None else None
            where = f" of {site.scheme}://{site.netloc}" if site is not None else ""
            text = (f"robots.txt{where} not fetched ({error_text(kind, message)}): "
                    "its pages are crawled as if allowed")
        record.msg, record.args = text, None
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class QuietFailures:
    """Scrapy's failure logs as one INFO line each: the crawl records each failure as a
    pages row and counts it by kind (crawler.failures), never as a traceback."""

    installed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> QuietFailures:
        if not QuietFailures.installed:  # loggers are per process
            for name, needles in _QUIET.items():
                logging.getLogger(name).addFilter(_OneLineInfo(needles))
            QuietFailures.installed = True
        return cls()
