"""Requests in the shared frontier: small JSON documents, never pickle.

    {"u": URL, "d": depth, "q": queue (the registrable domain; not stored in the queue
    itself, whose key names it: the pop adds it)}
    + "a": lapsed leases so far, "t": retries so far, when any; "r": 1 for robots.txt;
      "s": why it is not fetched (its domain is skipped for its Crawl-delay), set by pop

Everything else a request needs (callback, errback, headers) is the same for every
request of the `links` spider, so it is rebuilt by the worker, not stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class FrontierRequest:
    url: str
    depth: int
    domain: str
    attempts: int = 0
    robots: bool = False
    retries: int = 0  # Scrapy's retry_times: a retry waits in the queue for its slot
    skip: str = ""  # not to be fetched, why: "crawl-delay N s over the cap M s"

    def to_json(self) -> str:
        doc: dict[str, object] = {"u": self.url, "d": self.depth, "q": self.domain}
        if self.attempts:
            doc["a"] = self.attempts
        if self.robots:
            doc["r"] = 1
        if self.retries:
            doc["t"] = self.retries
        if self.skip:
            doc["s"] = self.skip
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> FrontierRequest:
        doc = json.loads(text)
        return cls(
            url=doc["u"],
            depth=int(doc.get("d", 0)),
            domain=doc["q"],
            attempts=int(doc.get("a", 0)),
            robots=bool(doc.get("r")),
            retries=int(doc.get("t", 0)),
            skip=str(doc.get("s") or ""),
        )


def origin(url: str) -> str:
    """scheme://host[:port], the unit robots.txt applies to."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def robots_request(url: str, domain: str) -> FrontierRequest:
    return FrontierRequest(f"{origin(url)}/robots.txt", 0, domain, robots=True)
