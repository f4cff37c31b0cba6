"""Common Crawl WAT records (JSON metadata of a WARC response) → schema v1 rows.

A WAT record keeps what Common Crawl's extractor (webarchive-commons) saw in a page:
`Envelope` → `WARC-Header-Metadata` (URI, date, IP), `Payload-Metadata` →
`HTTP-Response-Metadata` (status, headers) → `HTML-Metadata` → `Head` (`Title`,
`Base`, `Metas`, `Link`) and `Links` (`path` such as `A@/href`, `url` as written in the
page, `text`, `rel`, `alt`). The rules of docs/extraction.md are mirrored where the
WAT carries the facts; docs/archives.md lists what it cannot carry:

- `A@/href` → kind `a`; kind `img` when its text is empty and the entry just before it
  is an `IMG@/src` (the WAT lists an image when its tag opens and a link when it
  closes, so an image inside a link comes right before it): anchor and alt are the
  image's alt. `AREA@/href` → `area`. The first `Head.Link` with rel `canonical` →
  `canonical` (ordinal 0). Other paths (`IMG@/src` alone, `SCRIPT`, `FORM`, …) are not
  links in schema v1 (nor are `STYLE/#text` CSS URLs, which carry `href`, not `url`).
- Link URLs are raw, as written in the page; they are resolved against `Head.Base`
  (itself against the page URL) with core.urls; what it rejects is counted in `n_skipped_links`.
- `position` is null (the WAT keeps no document structure); `lang` is null.
- text and URLs are HTML-unescaped (the WAT keeps them as written in the page); an
  anchor is at most what Common Crawl's extractor kept (100 characters, 128 in newer
  releases).
- a header repeated in the response is a JSON list since CC-MAIN-2024-51 (`_header`).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.domains import registrable_domain
from core.extractor import (
    PageExtraction,
    collapse,
    extract_redirect,
    is_html,
    media_type,
    page_url,
    robots_tokens,
)
from core.pages import PageRows, extraction_columns, page_row
from core.schema import TITLE_MAX_CHARS
from core.urls import absolutize, url_host


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return html.unescape(value) if "&" in value else value


def _header(headers: dict[str, Any], name: str, *, join: bool = False) -> str | None:
    """A header's value. Since CC-MAIN-2024-51 a repeated header is a JSON list of its
    values (before, only one was kept): the last one counts, as in Scrapy, or with
    `join` all of them (X-Robots-Tag: each line may carry a directive)."""
    name = name.lower()
    values: list[str] = []
    for key, value in headers.items():
        if key.lower() == name:
            if isinstance(value, str):
                values.append(value)
            elif isinstance(value, list):
                values += [v for v in value if isinstance(v, str)]
    if not values:
        return None
    return ", ".join(values) if join else values[-1]


def _url(entry: dict[str, Any]) -> str:
    """A link's URL as written in the page: `url`, or `href` (Common Crawl writes CSS
    URLs, `STYLE/#text`, with `href`)."""
    return _text(entry.get("url")) or _text(entry.get("href")) or ""


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


_NO_REL: frozenset[str] = frozenset()


def _rel(entry: dict[str, Any]) -> frozenset[str]:
    rel = entry.get("rel")
    return frozenset(rel.lower().split()) if isinstance(rel, str) else _NO_REL


def _alt(entry: dict[str, Any]) -> str | None:
    alt = _text(entry.get("alt"))
    return None if alt is None else collapse(alt)


def wat_extraction(url: str, meta: dict[str, Any], x_robots_tag: str | None) -> PageExtraction:
    """HTML-Metadata of a page fetched from `url` → page facts and link columns."""
    result = PageExtraction()
    src_domain = registrable_domain(url_host(url))
    head = meta.get("Head") if isinstance(meta.get("Head"), dict) else {}
    title = _text(head.get("Title"))
    result.title = None if title is None else collapse(title, TITLE_MAX_CHARS)

    noindex, nofollow = robots_tokens(x_robots_tag)
    for item in _list(head.get("Metas")):
        if str(item.get("name", "")).strip().lower() == "robots":
            m_noindex, m_nofollow = robots_tokens(_text(item.get("content")))
            noindex, nofollow = noindex or m_noindex, nofollow or m_nofollow
    result.meta_noindex, result.meta_nofollow = noindex, nofollow

    base = url
    base_href = _text(head.get("Base"))
    if base_href is not None:
        base = absolutize(base_href, url) or url

    for link in _list(head.get("Link")):
        if "canonical" in _rel(link):
            result.add_canonical(src_domain, _url(link), base)
            break

    rows: list[tuple[str, str, str, str | None, frozenset[str]]] = []
    previous: dict[str, Any] = {}
    for entry in _list(meta.get("Links")):
        path = entry.get("path")
        if path == "A@/href" or path == "AREA@/href":
            dst = absolutize(_url(entry), base)
            if dst is None:
                result.n_skipped_links += 1
            elif path == "AREA@/href":
                alt = _alt(entry)
                rows.append((dst, alt or "", "area", alt, _rel(entry)))
            else:
                anchor = collapse(_text(entry.get("text")))
                if not anchor and previous.get("path") == "IMG@/src":
                    alt = _alt(previous)
                    rows.append((dst, alt or "", "img", alt, _rel(entry)))
                else:
                    rows.append((dst, anchor, "a", None, _rel(entry)))
        previous = entry
    result.add_many(src_domain, rows)  # column by column: the per-link cost is the import's
    return result


class ExtractionFailed(Exception):
    """Mapping a well-formed record's links raised: `page` is its pages row so far."""

    def __init__(self, page: dict[str, Any], cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.page = page
        self.cause = cause


def wat_page(envelope: dict[str, Any], crawl_id: str,
             when: Callable[[str | None], datetime]) -> PageRows | None:
    """One WAT JSON record → rows; None unless it describes an HTTP response.

    Raises ValueError, KeyError or TypeError for a record of the wrong shape, and
    ExtractionFailed when the envelope reads well but mapping its links raises.
    """
    env = envelope["Envelope"]
    warc = env["WARC-Header-Metadata"]
    if warc.get("WARC-Type") != "response":
        return None
    uri = warc.get("WARC-Target-URI") or ""
    payload = env.get("Payload-Metadata") or {}
    http = payload.get("HTTP-Response-Metadata")
    if not uri.lower().startswith(("http://", "https://")) or not isinstance(http, dict):
        return None
    status = int(http["Response-Message"]["Status"])
    headers = http.get("Headers") if isinstance(http.get("Headers"), dict) else {}
    content_type = _header(headers, "Content-Type")
    url = page_url(uri)
    page = page_row(crawl_id, url, None, when(warc.get("WARC-Date")))
    length = http.get("Entity-Length")
    container = envelope.get("Container") if isinstance(envelope.get("Container"), dict) else {}
    offset = container.get("Offset")
    page.update(
        status=status,
        content_type=media_type(content_type),
        content_length=int(length) if length is not None else None,
        ip=warc.get("WARC-IP-Address"),
        # the evidence: the WARC this WAT was made from (Common Crawl's file name)
        warc_file=container.get("Filename"),
        warc_offset=int(offset) if offset is not None else None,
    )
    extraction = PageExtraction()
    location = _header(headers, "Location")
    meta = http.get("HTML-Metadata")
    try:
        if 300 <= status < 400 and location is not None:
            target, extraction = extract_redirect(url, location)
            page["redirect_to"] = target
        elif 200 <= status < 300 and is_html(content_type) and isinstance(meta, dict):
            extraction = wat_extraction(url, meta,
                                        _header(headers, "X-Robots-Tag", join=True))
    except Exception as exc:  # whatever the links hold: the page is kept, with the error
        raise ExtractionFailed(page, exc) from exc
    page.update(extraction_columns(extraction))
    return PageRows(page, extraction.links)
