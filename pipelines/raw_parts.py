"""The Scrapy item pipeline writing PageItem items to raw Parquet parts."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler

from core.parts import PartWriter
from core.schema import is_failure
from core.warc.writer import WarcWriter
from crawler import signals
from crawler.items import PageItem


class RawPartsPipeline:
    """Buffers items as Arrow columns; writes a part by size (edges) or by age (seconds)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        # With LINKINDEX_WARC, each part gets a WARC of the same name (core/warc/writer.py).
        self.warc: WarcWriter | None = None
        if settings.getbool("LINKINDEX_WARC"):
            self.warc = WarcWriter(
                Path(settings["LINKINDEX_DATA"]),
                settings["LINKINDEX_CRAWL_ID"],
                level=settings.getint("LINKINDEX_WARC_GZIP_LEVEL", 1),
            )
        self.writer = PartWriter(
            Path(settings["LINKINDEX_DATA"]),
            settings["LINKINDEX_CRAWL_ID"],
            settings.get("LINKINDEX_WORKER_ID"),
            max_edges=settings.getint("LINKINDEX_PART_MAX_EDGES"),
            max_seconds=settings.getfloat("LINKINDEX_PART_MAX_SECONDS"),
            taken=self.warc.taken if self.warc is not None else None,
        )
        self.stats = crawler.stats
        self._timer = None
        # Cluster mode: leases of the buffered pages, acknowledged (signals.pages_stored)
        # only once their rows are on disk.
        self.crawler = crawler
        self.leases: list[tuple[str, str]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawPartsPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        from twisted.internet import task  # after the reactor is installed

        # Roll by age even when no item arrives (a slow site must not hold rows back).
        self._timer = task.LoopingCall(self._flush_if_due)
        self._timer.start(1.0, now=False)
        # Cluster mode: the job ran dry; don't hold the last pages back.
        self.crawler.signals.connect(self._flush, signal=signals.frontier_empty)

    async def process_item(self, item: PageItem) -> PageItem:
        page = item["page"]
        if self.warc is not None and item.get("evidence") is not None:
            page = self.warc.write(self.writer.part_name, page, item["evidence"])
        self.writer.add(page, item["links"])
        if item.get("lease") is not None:
            error = page.get("error")
            self.leases.append((item["lease"], f"failed: {error}" if is_failure(error) else "done"))
        self._flush_if_due()
        return item

    def _flush_if_due(self) -> None:
        if self.writer.due():
            self._flush()

    def _flush(self) -> None:
        if self.warc is not None and self.writer.pending_pages:
            self.warc.close()  # the WARC is whole before any row pointing into it is written
        written = self.writer.flush()
        if self.leases:  # only now: the rows are in renamed parts
            leases, self.leases = self.leases, []
            self.crawler.signals.send_catch_log(signals.pages_stored, outcomes=leases)
        if written:
            self.stats.inc_value("linkindex/parts_written")
            self.stats.inc_value("linkindex/pages_stored", len(written))

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
