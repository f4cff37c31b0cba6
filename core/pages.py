"""One fetched response → one PAGES row, its link columns, and the URLs to follow.

No Scrapy here: the spider, WARC import and re-extraction all turn a response into
rows with this one function, so a page archived by a crawl and read back from its WARC
gives the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from w3lib.encoding import html_to_unicode, resolve_encoding

from core.domains import registrable_domain
from core.extractor import PageExtraction, extract_html, extract_redirect, is_html, media_type
from core.schema import TRUNCATED
from core.urls import url_host

# Statuses whose response has no content by definition (RFC 9110): a body sent with
# one is not read, as Scrapy and browsers do not read it.
NO_CONTENT = (204, 205)


@dataclass
class PageRows:
    page: dict[str, Any]  # one PAGES row
    links: dict[str, list[Any]]  # EDGE_LINK_COLUMNS
    follow: list[str] = field(default_factory=list)  # URLs a crawl would fetch next


def _auto_detect(body: bytes) -> str | None:
    # Scrapy's own order (TextResponse), so `response.text` and WARC import agree.
    for encoding in ("ascii", "utf-8"):
        try:
            body.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - Scrapy depends on it
        return None
    match = from_bytes(body).best()
    return resolve_encoding(match.encoding) if match else None


def extraction_columns(extraction: PageExtraction) -> dict[str, Any]:
    """The PAGES columns an extraction fills (crawl, WARC and WAT import alike)."""
    return {
        "title": extraction.title,
        "lang": extraction.lang,
        "canonical": extraction.canonical,
        "meta_noindex": extraction.meta_noindex,
        "meta_nofollow": extraction.meta_nofollow,
        "n_links": extraction.n_links,
        "n_external_links": extraction.n_external_links,
        "n_skipped_links": extraction.n_skipped_links,
        "terms": extraction.terms,
    }


def decode_html(body: bytes, content_type: str | None) -> str:
    """HTML bytes → text: HTTP charset, then BOM, then <meta charset>, then detection."""
    _, text = html_to_unicode(
        content_type or "", body, auto_detect_fun=_auto_detect, default_encoding="ascii"
    )
    return text


def page_row(crawl_id: str, url: str, depth: int | None, fetched_at: datetime) -> dict[str, Any]:
    """The identity columns of a PAGES row; the rest are filled by the caller."""
    host = url_host(url)
    return {
        "crawl_id": crawl_id,
        "fetched_at": fetched_at,
        "url": url,
        "host": host,
        "domain": registrable_domain(host),
        "depth": depth,
    }


def page_rows(
    crawl_id: str,
    url: str,
    *,
    depth: int | None,
    fetched_at: datetime,
    status: int,
    body: bytes,
    content_type: str | None = None,
    location: str | None = None,
    x_robots_tag: str | None = None,
    ip: str | None = None,
    snippet_chars: int = 0,
) -> PageRows:
    """Rows for one HTTP response; `url` is already normalised (`extractor.page_url`)."""
    page = page_row(crawl_id, url, depth, fetched_at)
    page.update(
        status=status,
        content_type=media_type(content_type),
        content_length=len(body),
        ip=ip,
    )
    follow: list[str] = []
    extraction = PageExtraction()
    if 300 <= status < 400 and location is not None:
        target, extraction = extract_redirect(url, location)
        page["redirect_to"] = target
        follow = [target] if target else []
    elif 200 <= status < 300 and status not in NO_CONTENT and is_html(content_type):
        extraction = extract_html(url, decode_html(body, content_type), x_robots_tag,
                                  snippet_chars)
        if not extraction.meta_nofollow:
            follow = extraction.links["dst_url"]
    page.update(extraction_columns(extraction))
    if extraction.truncated:  # links before the cut are kept (docs/extraction.md)
        page["error"] = f"{TRUNCATED}: {extraction.truncated}"
    return PageRows(page, extraction.links, follow)
