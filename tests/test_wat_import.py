"""import-warc on Common Crawl WAT records: their Links mapped to schema v1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcdata import rows, wat, wat_envelope, write_warc

from index.archives.importer import import_archives

A = "http://a.example"
EDGES = "ordinal, kind, dst_url, anchor, alt, nofollow, ugc, sponsored, position, external"
HTML = {
    "Head": {
        "Title": "  Caf&eacute;\n menu ",
        "Base": "/dir/",
        "Metas": [{"name": "description", "content": "x"},
                  {"name": "ROBOTS", "content": "noindex"}],
        "Link": [
            {"path": "LINK@/href", "rel": "stylesheet", "url": "/s.css"},
            {"path": "LINK@/href", "rel": "Canonical", "url": "/canon"},
            {"path": "LINK@/href", "rel": "canonical", "url": "/second"},
        ],
        "Scripts": [{"path": "SCRIPT@/src", "url": "/app.js"}],
    },
    "Links": [
        {"path": "A@/href", "url": "page?a=1&amp;b=2", "text": "Tom &amp;\u00a0Jerry"},
        {"path": "IMG@/src", "url": "/logo.png", "alt": "Our  logo"},
        {"path": "A@/href", "url": "http://b.example/", "rel": "nofollow UGC"},
        {"path": "IMG@/src", "url": "/banner.png"},
        {"path": "A@/href", "url": "/with-text", "text": "Text after an image"},
        {"path": "A@/href", "url": "javascript:void(0)", "text": "JS"},
        {"path": "A@/href", "url": "#top", "text": "Top"},
        {"path": "AREA@/href", "url": "http://c.example/map", "rel": "sponsored"},
        {"path": "FORM@/action", "url": "/search"},
        {"path": "IFRAME@/src", "url": "http://ads.example/"},
        {"path": "IMG@/src", "url": "/pixel.gif"},
        {"path": "A@/href", "url": "//b.example/proto", "text": "  "},
    ],
}


def test_wat_links_map_to_schema_v1(tmp_path: Path) -> None:
    path = tmp_path / "CC-MAIN-x.warc.wat.gz"
    write_warc(path, [wat(f"{A}/start", wat_envelope(f"{A}/start", html=HTML))])
    summary = import_archives(tmp_path / "data", "cc", [path], progress=False)
    assert (summary.counts.pages, summary.counts.edges, summary.counts.skipped) == (1, 6, 0)
    assert rows(tmp_path / "data", "cc", "pages") == [(
        "cc", datetime(2025, 3, 4, 5, 6, 7, 89000, tzinfo=UTC), f"{A}/start", "a.example",
        "a.example", 200, "text/html", 1234, "Café menu", None, None, None, f"{A}/canon",
        True, False, 6, 3, "192.0.2.7", 2, None, "CC-MAIN-x.warc.gz", 4242,
        None,  # terms: a WAT record has the page's links, not its text
    )]
    assert rows(tmp_path / "data", "cc", "edges", EDGES, "ordinal") == [
        (0, "canonical", f"{A}/canon", "", None, False, False, False, None, False),
        (1, "a", f"{A}/dir/page?a=1&b=2", "Tom & Jerry", None, False, False, False, None, False),
        (2, "img", "http://b.example/", "Our logo", "Our logo", True, True, False, None, True),
        (3, "a", f"{A}/with-text", "Text after an image", None, False, False, False, None, False),
        (4, "area", "http://c.example/map", "", None, False, False, True, None, True),
        (5, "img", "http://b.example/proto", "", None, False, False, False, None, True),
    ]


def test_wat_redirects_errors_and_other_records(tmp_path: Path) -> None:
    links = {"Links": [{"path": "A@/href", "url": "/x", "text": "X"}]}
    records = [
        wat(f"{A}/moved", wat_envelope(f"{A}/moved", status=301,
                                       headers={"location": "/new", "Content-Type": "text/html"},
                                       html=links)),
        wat(f"{A}/missing", wat_envelope(f"{A}/missing", status=404, html=links)),
        wat(f"{A}/file.pdf", wat_envelope(f"{A}/file.pdf",
                                          headers={"Content-Type": "application/pdf"})),
        wat(f"{A}/robots", wat_envelope(f"{A}/robots", html=links,
                                        headers={"Content-Type": "text/html; charset=utf-8",
                                                 "X-Robots-Tag": "none"})),
        # metadata of a request, of a warcinfo: not pages
        wat(f"{A}/moved", wat_envelope(f"{A}/moved", warc_type="request")),
        wat("", {"Envelope": {"WARC-Header-Metadata": {"WARC-Type": "warcinfo"}}}),
        # no Container: no evidence pointer
        wat(f"{A}/bare", {**wat_envelope(f"{A}/bare", html=links, ip=None), "Container": {}}),
    ]
    path = tmp_path / "x.wat.gz"
    write_warc(path, records)
    counts = import_archives(tmp_path / "data", "cc", [path], progress=False).counts
    assert (counts.records, counts.pages, counts.skipped) == (7, 5, 0)
    assert rows(tmp_path / "data", "cc", "pages",
                "url, status, content_type, redirect_to, meta_noindex, meta_nofollow, n_links, "
                "ip, warc_file, warc_offset") == [
        (f"{A}/bare", 200, "text/html", None, False, False, 1, None, None, None),
        (f"{A}/file.pdf", 200, "application/pdf", None, False, False, 0, "192.0.2.7",
         "CC-MAIN-x.warc.gz", 4242),
        (f"{A}/missing", 404, "text/html", None, False, False, 0, "192.0.2.7",
         "CC-MAIN-x.warc.gz", 4242),
        (f"{A}/moved", 301, "text/html", f"{A}/new", False, False, 1, "192.0.2.7",
         "CC-MAIN-x.warc.gz", 4242),
        (f"{A}/robots", 200, "text/html", None, True, True, 1, "192.0.2.7",
         "CC-MAIN-x.warc.gz", 4242),
    ]
    assert rows(tmp_path / "data", "cc", "edges", "src_url, kind, dst_url, position") == [
        (f"{A}/bare", "a", f"{A}/x", None),
        (f"{A}/moved", "redirect", f"{A}/new", None),
        (f"{A}/robots", "a", f"{A}/x", None),
    ]


def test_a_wat_record_whose_links_fail_is_kept_as_a_page_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13, item 1: mapping one record's links raises (here on purpose): that page
    is kept with its error and no links, counted as failed; the next records go on."""
    from index.archives import wat as wat_module

    mapped = wat_module.wat_extraction

    def failing(url: str, meta: dict, x_robots_tag: str | None) -> object:
        if url.endswith("/fail"):
            raise TypeError("unhashable type: 'list'")
        return mapped(url, meta, x_robots_tag)

    monkeypatch.setattr(wat_module, "wat_extraction", failing)
    links = {"Links": [{"path": "A@/href", "url": "/x", "text": "X"}]}
    path = tmp_path / "CC-MAIN-y.warc.wat.gz"
    write_warc(path, [wat(f"{A}/{name}", wat_envelope(f"{A}/{name}", html=links))
                      for name in ("first", "fail", "last")])
    summary = import_archives(tmp_path / "data", "cc", [path], progress=False)
    counts = summary.counts
    assert (counts.records, counts.pages, counts.edges, counts.failed, counts.skipped) == (
        3, 3, 2, 1, 0)
    assert summary.first_failure == f"{A}/fail: extract: TypeError: unhashable type: 'list'"
    assert rows(tmp_path / "data", "cc", "pages",
                "url, status, content_type, content_length, title, n_links, error, warc_file, "
                "warc_offset", "url") == [
        (f"{A}/fail", 200, "text/html", 1234, None, None,
         "extract: TypeError: unhashable type: 'list'", "CC-MAIN-x.warc.gz", 4242),
        (f"{A}/first", 200, "text/html", 1234, None, 1, None, "CC-MAIN-x.warc.gz", 4242),
        (f"{A}/last", 200, "text/html", 1234, None, 1, None, "CC-MAIN-x.warc.gz", 4242),
    ]
    assert rows(tmp_path / "data", "cc", "edges", "src_url, dst_url") == [
        (f"{A}/first", f"{A}/x"), (f"{A}/last", f"{A}/x"),
    ]


def test_wat_facts_of_newer_crawls_lists_of_headers_and_css_hrefs(tmp_path: Path) -> None:
    """Since CC-MAIN-2024-51 a repeated header is a JSON list; CSS URLs carry `href`;
    anchors are as long as Common Crawl's extractor kept them (128 characters)."""
    anchor = "x" * 128
    html = {
        "Head": {"Base": "http://base.example/b/",
                 "Link": [{"path": "LINK@/href", "rel": "canonical", "href": "/via-href"}]},
        "Links": [
            {"path": "STYLE/#text", "href": "/img/bg.png"},  # CSS: not a link in v1
            {"path": "A@/href", "url": "rel/ative", "text": anchor},
            {"path": "A@/href", "url": "https://c.example/"},
        ],
    }
    records = [
        # the last Content-Type counts; every X-Robots-Tag line counts
        wat(f"{A}/listed", wat_envelope(f"{A}/listed", html=html, headers={
            "Content-Type": ["application/octet-stream", "text/html; charset=utf-8"],
            "X-Robots-Tag": ["googlebot: noarchive", "nofollow"],
            "Set-Cookie": ["a=1", "b=2"]})),
        wat(f"{A}/moved", wat_envelope(f"{A}/moved", status=302, headers={
            "Location": ["/first", "/second"], "Content-Type": "text/html"})),
        # a list of something else than strings is no value
        wat(f"{A}/odd", wat_envelope(f"{A}/odd", html=html, headers={"Content-Type": [1, None]})),
    ]
    path = tmp_path / "new.warc.wat.gz"
    write_warc(path, records)
    counts = import_archives(tmp_path / "data", "cc", [path], progress=False).counts
    assert (counts.records, counts.pages, counts.failed, counts.skipped) == (3, 3, 0, 0)
    assert rows(tmp_path / "data", "cc", "pages",
                "url, content_type, redirect_to, canonical, meta_noindex, meta_nofollow, "
                "n_links") == [
        (f"{A}/listed", "text/html", None, "http://base.example/via-href", False, True, 3),
        (f"{A}/moved", "text/html", f"{A}/second", None, False, False, 1),
        (f"{A}/odd", None, None, None, False, False, 0),
    ]
    assert rows(tmp_path / "data", "cc", "edges", "src_url, ordinal, kind, dst_url, anchor",
                "src_url, ordinal") == [
        (f"{A}/listed", 0, "canonical", "http://base.example/via-href", ""),
        (f"{A}/listed", 1, "a", "http://base.example/b/rel/ative", anchor),
        (f"{A}/listed", 2, "a", "https://c.example/", ""),
        (f"{A}/moved", 0, "redirect", f"{A}/second", ""),
    ]
