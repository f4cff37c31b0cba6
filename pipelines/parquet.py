"""The Scrapy item pipeline writing PageLinks items to raw Parquet parts."""

from __future__ import annotations

from pathlib import Path

from scrapy.crawler import Crawler

from crawler.frontier.client import WorkerFrontier
from crawler.frontier.scheduler import FRONTIER_EMPTY
from crawler.items import PageLinks
from pipelines.parts import PartWriter
from pipelines.warc import WarcWriter


class RawPartsPipeline:
    """Buffers items as Arrow columns; writes a part by size (edges) or by age (seconds)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        # With LINKINDEX_WARC, each part gets a WARC of the same name (pipelines/warc.py).
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
        # Cluster mode: leases of the buffered pages, acknowledged once they are on disk.
        self.crawler = crawler
        self.shared: WorkerFrontier | None = (
            WorkerFrontier.of(crawler) if settings.get("LINKINDEX_JOB") else None
        )
        self.leases: list[tuple[str, str]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawPartsPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        from twisted.internet import task  # after the reactor is installed

        # Roll by age even when no item arrives (a slow site must not hold rows back).
        self._timer = task.LoopingCall(self._flush_if_due)
        self._timer.start(1.0, now=False)
        if self.shared is not None:  # the job ran dry: don't hold the last pages back
            self.crawler.signals.connect(self._flush, signal=FRONTIER_EMPTY)

    async def process_item(self, item: PageLinks) -> PageLinks:
        page = item["page"]
        if self.warc is not None and item.get("evidence") is not None:
            page = self.warc.write(self.writer.part_name, page, item["evidence"])
        self.writer.add(page, item["links"])
        if item.get("lease") is not None:
            error = page.get("error")
            self.leases.append((item["lease"], f"failed: {error}" if error else "done"))
        self._flush_if_due()
        return item

    def _flush_if_due(self) -> None:
        if self.writer.due():
            self._flush()

    def _flush(self) -> None:
        if self.warc is not None and self.writer.pending_pages:
            self.warc.close()  # the WARC is whole before any row pointing into it is written
        written = self.writer.flush()
        if self.shared is not None and self.leases:
            self.shared.pages += len(self.leases)
            self.shared.ack(self.leases)  # only now: the rows are in renamed parts
            self.leases = []
        if written:
            self.stats.inc_value("linkindex/parts_written")
            self.stats.inc_value("linkindex/pages_stored", len(written))

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
