"""What a WARC archive keeps of one fetch: the HTTP request and response as fetched.

The spider attaches an `Evidence` to its item only when the crawl archives (`--warc`);
the pipeline (pipelines/warc.py) turns it into WARC records. The dataclass is plain
Python so the writer needs no Scrapy; `evidence_of` is the one Scrapy-aware helper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the writer (pipelines/warc.py) and importers must not need Scrapy
    from scrapy.http import Response

Headers = list[tuple[bytes, bytes]]


@dataclass
class Evidence:
    url: str  # the URL fetched, as Scrapy had it (page_url() of it is the stored url)
    method: str
    request_headers: Headers
    protocol: str  # "HTTP/1.1"
    status: int
    headers: Headers  # as Scrapy hands them over: Content-Encoding already decoded
    body: bytes  # the payload after Content-Encoding and Transfer-Encoding were undone
    ip: str | None


def _pairs(headers: object) -> Headers:
    # scrapy.http.Headers: name → list of values; one pair per value keeps repeats.
    return [(bytes(name), bytes(value)) for name, values in headers.items()  # type: ignore[attr-defined]
            for value in values]


def evidence_of(response: Response) -> Evidence:
    request = response.request
    return Evidence(
        url=response.url,
        method=request.method if request is not None else "GET",
        request_headers=_pairs(request.headers) if request is not None else [],
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        headers=_pairs(response.headers),
        body=response.body,
        ip=str(response.ip_address) if response.ip_address else None,
    )
