"""The Scrapy item pipeline writing PageItem items to raw Parquet parts."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.crawler import Crawler

from core.errors import LinkindexError
from core.mirror import Spool
from core.parts import PartWriter
from core.schema import is_failure
from core.warc.writer import WarcWriter
from crawler import signals
from crawler.items import PageItem

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)


class RawPartsPipeline:
    """Buffers items as Arrow columns; writes a part by size (edges) or by age (seconds).

    With LINKINDEX_STORE (DATA on an object store), LINKINDEX_DATA is a local spool:
    each finished part (and its WARC) is published to the store, then removed here."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.spool: Spool | None = None
        if settings.get("LINKINDEX_STORE"):
            from core.storage import Storage

            self.spool = Spool(Storage.of(settings["LINKINDEX_STORE"]),
                               Path(settings["LINKINDEX_DATA"]))
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
            taken=self._taken(settings["LINKINDEX_CRAWL_ID"]),
        )
        self.stats = crawler.stats
        self._timer = None
        # Cluster mode: leases of the buffered pages, acknowledged (signals.pages_stored)
        # only once their rows are on disk.
        self.crawler = crawler
        self.leases: list[tuple[str, str]] = []

    def _taken(self, crawl_id: str) -> Callable[[str], bool] | None:
        """Part names in use elsewhere: a killed run's WARC here, or a part in the store."""
        warc, spool = self.warc, self.spool
        if spool is None:
            return warc.taken if warc is not None else None

        def taken(name: str) -> bool:
            return ((warc is not None and warc.taken(name))
                    or any(spool.taken(f"raw/{crawl_id}/{table}/{name}")
                           for table in ("pages", "edges")))
        return taken

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
        self._publish()  # what a stopped run left in the spool goes first

    async def process_item(self, item: PageItem) -> PageItem:
        page = item["page"]
        if self.warc is not None and item.get("evidence") is not None:
            page = self.warc.write(self.writer.part_name, page, item["evidence"])
        self.writer.add(page, item["links"])
        if item.get("lease") is not None:
            error = page.get("error")
            outcome = item.get("lease_outcome") or (
                f"failed: {error}" if is_failure(error) else "done")
            self.leases.append((item["lease"], outcome))
        self._flush_if_due()
        return item

    def _flush_if_due(self) -> None:
        if self.writer.due():
            self._flush()

    def _flush(self) -> None:
        if self.warc is not None and self.writer.pending_pages:
            self.warc.close()  # the WARC is whole before any row pointing into it is written
        written = self.writer.flush()
        if written:
            self.stats.inc_value("linkindex/parts_written")
            self.stats.inc_value("linkindex/pages_stored", len(written))
        if not self._publish():
            return  # kept in the spool; the leases wait for the next flush
        if self.leases:  # only now: the rows are in renamed (or published) parts
            leases, self.leases = self.leases, []
            self.crawler.signals.send_catch_log(signals.pages_stored, outcomes=leases)

    def _publish(self) -> bool:
        """Publish the spool's finished files; False (said once per failure) if the store
        refused: they stay in the spool, counted, for the next flush or run."""
        if self.spool is None:
            return True
        try:
            published = self.spool.publish(self.spool.leftovers())
        except LinkindexError as exc:
            left = len(self.spool.leftovers())
            self.stats.set_value("linkindex/unpublished", left)
            self.stats.set_value("linkindex/publish_error", str(exc))
            logger.error("cannot publish %d files to the store, kept in %s: %s",
                         left, self.spool.local, exc)
            return False
        self.stats.inc_value("linkindex/published", published)
        self.stats.set_value("linkindex/unpublished", 0)
        return True

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._flush()
