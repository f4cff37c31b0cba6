"""DUPEFILTER_CLASS: Scrapy's dupefilter interface over the job's seen filter.

The spider sends its links in batches through the add script, which checks and sets
the filter atomically; this class answers Scrapy's own `request_seen` for requests
that come another way, through the seen script of the URL's shard (the same 8-byte
fingerprint as Scrapy's request fingerprinter in cluster mode, UrlFingerprinter).
"""

from __future__ import annotations

from typing import Any

from scrapy.dupefilters import BaseDupeFilter

from crawler.frontier.client import WorkerFrontier


class SeenDupeFilter(BaseDupeFilter):
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeenDupeFilter:
        return cls(crawler)

    def request_seen(self, request: Any) -> bool:
        return WorkerFrontier.of(self.crawler).frontier.seen(request.url)

    def clear(self) -> None:
        """Never: shared state outlives any one worker."""
