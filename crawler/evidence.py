"""The one Scrapy-aware piece of WARC archiving: a Scrapy response → `Evidence`.

The spider attaches an `Evidence` to its item only when the crawl archives (`--warc`);
the writer (core/warc/writer.py) turns it into WARC records without Scrapy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.warc.format import Evidence, Headers

if TYPE_CHECKING:
    from scrapy.http import Response


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
