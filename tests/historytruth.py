"""An independent oracle of link history: what changed between two crawls' ground truths.

Pure Python over two :class:`synthweb.ExpectedCrawl` objects (crawl a, then crawl b),
no DuckDB and no product code, so a history feature can be checked against rules
written down once, here:

- a link is ``(src_url, dst_url, kind, anchor)`` of an edge; several edges of one page
  with the same key are one link, whose rel is that of the edge with the lowest ordinal;
- a pages row's outcome: not a fetch when its error kind (text before the first ':')
  is robots, refused or skipped; else ``fetch_failed`` (no status, or an error other
  than a truncation), ``page_error`` (5xx), ``page_gone`` (4xx), ``page_redirects``
  (3xx, lost to redirect_to), ``page_noindex``, ``canonical_changed`` (a canonical
  other than the URL, lost to it), or ``ok``;
- a link is counted in a crawl when its page was fetched, the link is among the
  page's edges, and it is a redirect or canonical edge or the page's outcome is ok;
- rows ``(change, reason, src_url, dst_url, kind, anchor, lost_to)``: counted in both
  gives none unless it went from dofollow to not (``lost``, ``now_nofollow``); counted
  in a only: ``lost`` with the page's outcome in b (``link_removed`` when ok) if b
  fetched the page, else ``unknown``, ``not_recrawled``; counted in b only: ``new``.
"""

from __future__ import annotations

from synthweb import ExpectedCrawl, ExpectedEdge, ExpectedPage

Link = tuple[str, str, str, str]  # (src_url, dst_url, kind, anchor)
Change = tuple[str, str | None, str, str, str, str, str | None]

NOT_A_FETCH = ("robots", "refused", "skipped")  # error kinds of rows nothing was fetched for
ALWAYS_COUNTED = ("redirect", "canonical")  # kinds counted whatever the page's outcome


def link_key(edge: ExpectedEdge) -> Link:
    return (edge.src_url, edge.dst_url, edge.kind, edge.anchor)


def outcome(page: ExpectedPage | None) -> str | None:
    """What a pages row says of its page; None: no row, or the page was not fetched."""
    if page is None:
        return None
    if page.error is not None and page.error.partition(":")[0] in NOT_A_FETCH:
        return None
    if page.status is None or (page.error is not None and not page.error.startswith("truncated")):
        return "fetch_failed"
    if page.status >= 500:
        return "page_error"
    if page.status >= 400:
        return "page_gone"
    if page.status >= 300:
        return "page_redirects"
    if page.meta_noindex:
        return "page_noindex"
    if page.canonical is not None and page.canonical != page.url:
        return "canonical_changed"
    return "ok"


def lost_to(page: ExpectedPage, reason: str) -> str | None:
    """Where a page's links went: its redirect target or its other canonical URL."""
    if reason == "page_redirects":
        return page.redirect_to
    if reason == "canonical_changed":
        return page.canonical
    return None


def links(truth: ExpectedCrawl) -> dict[Link, ExpectedEdge]:
    """Every link of a crawl, each as its edge with the lowest ordinal (whose rel counts)."""
    out: dict[Link, ExpectedEdge] = {}
    for edge in sorted(truth.edges, key=lambda e: (e.src_url, e.ordinal)):
        out.setdefault(link_key(edge), edge)
    return out


def _counted(truth: ExpectedCrawl) -> dict[Link, ExpectedEdge]:
    result = {}
    for key, edge in links(truth).items():
        got = outcome(truth.pages.get(edge.src_url))
        if got is not None and (edge.kind in ALWAYS_COUNTED or got == "ok"):
            result[key] = edge
    return result


def counted_links(truth: ExpectedCrawl) -> set[Link]:
    """The links one crawl counts: fetched page, among its edges, and a redirect or
    canonical edge or a page whose outcome is ok."""
    return set(_counted(truth))


def counted_after(truth_a: ExpectedCrawl, truth_b: ExpectedCrawl) -> set[Link]:
    """The links an index of crawl a, then crawl b, counts: counted in b, or counted in
    a on a page b did not fetch (unknown there, so kept)."""
    fetched_b = {url for url, page in truth_b.pages.items() if outcome(page) is not None}
    return counted_links(truth_b) | {k for k in counted_links(truth_a) if k[0] not in fetched_b}


def dofollow(edge: ExpectedEdge) -> bool:
    return not (edge.nofollow or edge.ugc or edge.sponsored)


def expected_changes(truth_a: ExpectedCrawl, truth_b: ExpectedCrawl) -> set[Change]:
    """The rows ``(change, reason, src_url, dst_url, kind, anchor, lost_to)`` that going
    from crawl a to crawl b gives, by the rules of the module docstring."""
    counted_a, counted_b = _counted(truth_a), _counted(truth_b)
    rows: set[Change] = set()
    for key, edge_a in counted_a.items():
        page_b = truth_b.pages.get(key[0])
        got = outcome(page_b)
        if got is None:  # no row in b, or a row for a page not fetched: nothing known
            rows.add(("unknown", "not_recrawled", *key, None))
        elif key in counted_b:
            if dofollow(edge_a) and not dofollow(counted_b[key]):
                rows.add(("lost", "now_nofollow", *key, None))
        else:
            assert page_b is not None
            reason = got if got != "ok" else "link_removed"
            rows.add(("lost", reason, *key, lost_to(page_b, reason)))
    rows.update(("new", None, *key, None) for key in counted_b.keys() - counted_a.keys())
    return rows
