"""The link-history oracle (tests/historytruth.py) on small hand-made crawls (fast)."""

from __future__ import annotations

from historytruth import counted_links, expected_changes, outcome

from synthweb import ExpectedCrawl, ExpectedEdge, ExpectedPage

A = "http://a.example/"


def edge(src: str, dst: str, ordinal: int, *, kind: str = "a", anchor: str = "x",
         rel: str = "") -> ExpectedEdge:
    tokens = rel.split()
    return ExpectedEdge(src, dst, anchor, kind, None, "nofollow" in tokens, "ugc" in tokens,
                        "sponsored" in tokens, None if kind in ("redirect", "canonical")
                        else "content", ordinal)


def ok(url: str, **facts: object) -> ExpectedPage:
    return ExpectedPage(url, 200, "text/html", **facts)  # type: ignore[arg-type]


def crawl(pages: list[ExpectedPage], edges: list[ExpectedEdge]) -> ExpectedCrawl:
    return ExpectedCrawl({p.url: p for p in pages}, edges)


def test_outcome_of_a_pages_row() -> None:
    assert outcome(None) is None
    for kind in ("robots", "refused", "skipped"):
        assert outcome(ExpectedPage(A, None, None, error=f"{kind}: why")) is None
    assert outcome(ExpectedPage(A, None, None, error="connection: closed")) == "fetch_failed"
    assert outcome(ExpectedPage(A, None, None)) == "fetch_failed"
    assert outcome(ok(A, error="extract: KeyError: 'href'")) == "fetch_failed"
    assert outcome(ok(A, error="truncated: 10000 links")) == "ok"
    assert [outcome(ExpectedPage(A, s, None)) for s in (503, 500, 410, 404, 308, 301)] == [
        "page_error", "page_error", "page_gone", "page_gone", "page_redirects",
        "page_redirects"]
    assert outcome(ok(A, meta_noindex=True, canonical=A + "x")) == "page_noindex"
    assert outcome(ok(A, canonical=A + "x")) == "canonical_changed"
    assert outcome(ok(A, canonical=A)) == "ok"


def test_counted_links() -> None:
    p, q, r = A + "p", A + "q", A + "r"
    truth = crawl(
        [ok(A), ok(p, meta_noindex=True, canonical=p), ExpectedPage(q, 301, None,
                                                                      redirect_to=A),
         ExpectedPage(r, None, None, error="robots: disallowed by robots.txt")],
        [edge(A, p, 0), edge(A, p, 1, rel="nofollow"), edge(A, q, 2, kind="img"),
         edge(p, p, 0, kind="canonical", anchor=""), edge(p, A, 1),
         edge(q, A, 0, kind="redirect", anchor=""), edge(r, A, 0)],
    )
    assert counted_links(truth) == {
        (A, p, "a", "x"), (A, q, "img", "x"),  # the duplicate link is one
        (p, p, "canonical", ""),  # noindex page: only its canonical edge counts
        (q, A, "redirect", ""),
    }


def test_expected_changes_every_rule() -> None:
    p, q, g, n, c, h, f, u, z, w = (A + s for s in "pqgnchfuzw")
    before = crawl(
        [ok(A), ok(p), ok(q), ok(g), ok(n), ok(c, canonical=c), ok(h), ok(f), ok(u), ok(z),
         ok(w, meta_noindex=True)],
        [
            edge(A, p, 0), edge(A, q, 1), edge(A, q, 2, anchor="nf"),
            edge(A, z, 3, anchor="ugc", rel="ugc"), edge(A, z, 4, anchor="dup"),
            edge(A, z, 5, anchor="dup", rel="nofollow"),
            edge(p, A, 0, anchor="gone"), edge(g, A, 0, anchor="g"), edge(n, A, 0, anchor="n"),
            edge(c, c, 0, kind="canonical", anchor=""), edge(c, A, 1, anchor="c"),
            edge(h, A, 0, anchor="h"), edge(f, A, 0, anchor="f"), edge(u, A, 0, anchor="u"),
            edge(z, A, 0, anchor="z"), edge(w, A, 0, anchor="w"),
        ],
    )
    after = crawl(
        [ok(A), ok(p), ok(q), ExpectedPage(g, 404, "text/html"),
         ExpectedPage(n, 301, None, redirect_to=A), ok(c, canonical=A),
         ok(h, meta_noindex=True), ExpectedPage(f, None, None, error="timeout: 30 s"),
         ExpectedPage(u, None, None, error="robots: disallowed by robots.txt"), ok(w)],
        [
            edge(A, p, 0), edge(A, q, 1, rel="sponsored"), edge(A, q, 2, anchor="nf",
                                                                rel="nofollow"),
            edge(A, z, 3, anchor="ugc"), edge(A, z, 4, anchor="dup"),
            edge(p, A, 0, anchor="new"),
            edge(n, A, 0, kind="redirect", anchor=""),
            edge(c, A, 0, kind="canonical", anchor=""), edge(c, A, 1, anchor="c"),
            edge(h, A, 0, anchor="h"), edge(w, A, 0, anchor="w"),
            edge(u, A, 0, anchor="u"),  # of a page not fetched: never counted
        ],
    )
    assert expected_changes(before, after) == {
        ("lost", "now_nofollow", A, q, "a", "x", None),  # sponsored now
        ("lost", "now_nofollow", A, q, "a", "nf", None),
        ("lost", "link_removed", p, A, "a", "gone", None),
        ("new", None, p, A, "a", "new", None),
        ("lost", "page_gone", g, A, "a", "g", None),
        ("lost", "page_redirects", n, A, "a", "n", A),
        ("new", None, n, A, "redirect", "", None),
        ("lost", "canonical_changed", c, c, "canonical", "", A),
        ("lost", "canonical_changed", c, A, "a", "c", A),
        ("new", None, c, A, "canonical", "", None),
        ("lost", "page_noindex", h, A, "a", "h", None),
        ("lost", "fetch_failed", f, A, "a", "f", None),
        ("unknown", "not_recrawled", u, A, "a", "u", None),  # a robots row in b
        ("unknown", "not_recrawled", z, A, "a", "z", None),  # no row in b at all
        ("new", None, w, A, "a", "w", None),  # not counted in a: noindex then
        # A -> z "ugc" was never dofollow, A -> z "dup" keeps its first edge's rel: no rows
    }
    # a page fetched only in b: every link new; nothing counted anywhere: no rows
    assert expected_changes(crawl([], []), before) == {
        ("new", None, *key, None) for key in counted_links(before)}
    assert expected_changes(before, before) == set()
