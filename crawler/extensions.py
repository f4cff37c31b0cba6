"""The live progress line: pages, pages/s, edges, errors (on a terminal only)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from scrapy import signals
from scrapy.crawler import Crawler


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

