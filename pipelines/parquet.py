"""The Scrapy item pipeline writing PageLinks items to raw Parquet parts."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler

from crawler.items import PageLinks
from pipelines.parts import PartWriter


class RawPartsPipeline:
    """Buffers items as Arrow columns; writes a part by size (edges) or by age (seconds)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.writer = PartWriter(
            Path(settings["LINKINDEX_DATA"]),
            settings["LINKINDEX_CRAWL_ID"],
            settings.get("LINKINDEX_WORKER_ID"),
            max_edges=settings.getint("LINKINDEX_PART_MAX_EDGES"),
            max_seconds=settings.getfloat("LINKINDEX_PART_MAX_SECONDS"),
        )
        self.stats = crawler.stats
        self._timer = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawPartsPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        from twisted.internet import task  # after the reactor is installed

        # Roll by age even when no item arrives (a slow site must not hold rows back).
        self._timer = task.LoopingCall(self._flush_if_due)
        self._timer.start(1.0, now=False)

    async def process_item(self, item: PageLinks) -> PageLinks:
        self.writer.add(item["page"], item["links"])
        self._flush_if_due()
        return item

    def _flush_if_due(self) -> None:
        if self.writer.due():
            self._flush()

    def _flush(self) -> None:
        written = self.writer.flush()
        if written:
            self.stats.inc_value("linkindex/parts_written")
            self.stats.inc_value("linkindex/pages_stored", len(written))

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
