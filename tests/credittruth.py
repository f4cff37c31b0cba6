"""An independent oracle of credit through redirects and canonicals (docs/history.md).

Pure Python over a crawl's ground truth: a URL whose page answered a permanent redirect
(301, 308) with a target, or answered 2xx naming another URL canonical, passes the links
to it on to that URL, following chains of both up to 10 hops and stopping before a loop
closes. The URL at the end must be on a host the crawl knows (a page's or a link's).
"""

from __future__ import annotations

from dataclasses import replace

from synthweb import ExpectedCrawl, ExpectedEdge
from synthweb.truth import host_of

PERMANENT = (301, 308)
MAX_HOPS = 10


def credits(truth: ExpectedCrawl, later: ExpectedCrawl | None = None
            ) -> dict[str, tuple[str, bool, bool]]:
    """from_url -> (the URL at the end of its chain, via a redirect, via a canonical), as
    each URL's latest fetch says: `later`'s when it fetched the URL, else `truth`'s."""
    pages = dict(truth.pages)
    edges = list(truth.edges)
    if later is not None:
        pages |= {url: page for url, page in later.pages.items() if page.fetched}
        edges += later.edges
    step: dict[str, tuple[str, bool]] = {}
    for url, page in pages.items():
        if page.status in PERMANENT and page.redirect_to and page.redirect_to != url:
            step[url] = (page.redirect_to, True)
        elif (page.status is not None and 200 <= page.status < 300 and page.canonical
              and page.canonical != url):
            step[url] = (page.canonical, False)
    hosts = {host_of(url) for url in pages} | {e.src_host for e in edges} | {
        e.dst_host for e in edges}
    out = {}
    for start in step:
        seen, url, redirect, canonical = [start], start, False, False
        while url in step and len(seen) <= MAX_HOPS:
            nxt, by_redirect = step[url]
            if nxt in seen:
                break
            seen.append(nxt)
            url, redirect, canonical = nxt, redirect or by_redirect, canonical or not by_redirect
        if url != start and host_of(url) in hosts:
            out[start] = (url, redirect, canonical)
    return out


def credited(edge: ExpectedEdge, credit: dict[str, tuple[str, bool, bool]]) -> ExpectedEdge | None:
    """The edge as it counts for the URL its target moved to, or None."""
    if edge.dst_url not in credit:
        return None
    return replace(edge, dst_url=credit[edge.dst_url][0])
