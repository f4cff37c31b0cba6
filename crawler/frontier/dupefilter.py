"""DUPEFILTER_CLASS: Scrapy's dupefilter interface over the job's seen filter.

The spider sends its links in batches through the add script, which checks and sets
the filter atomically; this class answers Scrapy's own `request_seen` for requests
that come another way, using Scrapy's request fingerprinter (in cluster mode our
UrlFingerprinter: the same 8 bytes the add script stores).
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
        frontier = WorkerFrontier.of(self.crawler).frontier
        seen = frontier.seen_filter
        a, b = seen.encode_fingerprint(self.crawler.request_fingerprinter.fingerprint(request))
        server, keys = frontier.server, frontier.keys
        if seen.mode == "bloom":
            return all(server.getbit(keys.bloom, int(p)) for p in a.split(","))
        return bool(server.sismember(keys.seen(a), b))

    def clear(self) -> None:
        """Never: shared state outlives any one worker."""
