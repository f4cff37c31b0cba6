"""Every query on the crawled synthetic web equals an answer computed from the ground truth.

The expected rows come from the generator's link graph in plain Python, not from SQL,
so a wrong macro and a wrong build cannot agree by accident.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from credittruth import credited, credits
from historytruth import counted_links, links
from webtools import WEB_ARGS

from queries import Filters, run_query
from synthweb import ExpectedCrawl, ExpectedEdge, SyntheticWeb

# Every test queries the session's crawl of the synthetic web.
pytestmark = pytest.mark.slow

Edge = ExpectedEdge


@pytest.fixture(scope="module")
def index_edges(web: SyntheticWeb) -> list[Edge]:
    """The live links as the index holds them: one edge per (src, dst, kind, anchor),
    counted by the crawl (tests/historytruth.py: a page that is noindex or names another
    URL canonical counts none of its links but redirects and canonicals)."""
    truth = web.expected_crawl()
    counted = counted_links(truth)
    return [edge for key, edge in links(truth).items() if key in counted]


@pytest.fixture(scope="module")
def truth(web: SyntheticWeb) -> ExpectedCrawl:
    return web.expected_crawl()


# (scope, target) pairs covering every scope, a subdomain host and a special host.
TARGETS = [
    ("domain", "site1.example"),
    ("domain", "site0.example"),
    ("domain", "xn--bcher-kva.example"),
    ("host", "blog.site1.example"),
    ("host", "site1.example"),
    ("prefix", "http://site2.example/p/"),
    ("prefix", "http://site1.example/p/"),
    ("exact", "http://site1.example/"),
    ("exact", "http://site2.example/"),
]


def matcher(scope: str, target: str) -> Callable[[Edge], bool]:
    return {
        "domain": lambda e: e.dst_domain == target,
        "host": lambda e: e.dst_host == target,
        "prefix": lambda e: e.dst_url.startswith(target),
        "exact": lambda e: e.dst_url == target,
    }[scope]


def dofollow(edge: Edge) -> bool:
    return not (edge.nofollow or edge.ugc or edge.sponsored)


@cache
def credit() -> dict[str, tuple[str, bool, bool]]:
    """Where the links to a URL that moved count (tests/credittruth.py)."""
    return credits(SyntheticWeb(**WEB_ARGS).expected_crawl())


def links_to(edges: list[Edge], scope: str, target: str, *, external: bool = True,
             only_dofollow: bool = False, kind: str | None = None,
             position: str | None = None) -> list[Edge]:
    """The links that count for the target: to one of its URLs, or to a URL that moved
    to one (counted for that one, as the index does: dst_url is the URL credited)."""
    match = matcher(scope, target)
    counted = [e for e in edges if match(e)]
    counted += [moved for e in edges if not match(e)
                and (moved := credited(e, credit())) is not None and match(moved)]
    return [
        e for e in counted
        if (e.external or not external) and (dofollow(e) or not only_dofollow)
        and (kind is None or e.kind == kind) and (position is None or e.position == position)
    ]


def grouped(edges: list[Edge], key: Callable[[Edge], str]) -> dict[str, list[Edge]]:
    groups: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges:
        groups[key(edge)].append(edge)
    return groups


def query(data: Path, name: str, args: list[str], scope: str, **filters) -> list[dict]:
    return run_query(data, name, args, scope=scope, filters=Filters(**filters)).to_pylist()


@pytest.mark.parametrize(("scope", "target"), TARGETS)
def test_backlinks(crawled: Path, index_edges: list[Edge], scope: str, target: str) -> None:
    got = query(crawled, "backlinks", [target], scope)
    cols = ("src_url", "dst_url", "anchor", "kind", "alt", "nofollow", "ugc", "sponsored",
            "position")
    expected = sorted(
        (tuple(getattr(e, c) for c in cols) for e in links_to(index_edges, scope, target)),
        key=repr,
    )
    assert sorted((tuple(r[c] for c in cols) for r in got), key=repr) == expected
    assert expected, "a target without links tests nothing"
    assert all(r["live"] for r in got)
    ranks = [r["src_domain_rank"] for r in got]
    assert ranks == sorted(ranks, reverse=True)


@pytest.mark.parametrize(("scope", "target"), TARGETS)
def test_referring_domains(crawled: Path, index_edges: list[Edge], scope: str,
                           target: str) -> None:
    got = query(crawled, "referring_domains", [target], scope)
    groups = grouped(links_to(index_edges, scope, target), lambda e: e.src_domain)
    expected = sorted(
        ((d, len(es), sum(map(dofollow, es))) for d, es in groups.items()),
        key=lambda r: (-r[1], r[0]),
    )
    assert [(r["src_domain"], r["backlinks"], r["dofollow_backlinks"]) for r in got] == expected


@pytest.mark.parametrize(("scope", "target"), TARGETS)
def test_anchors(crawled: Path, index_edges: list[Edge], scope: str, target: str) -> None:
    got = query(crawled, "anchors", [target], scope)
    # one row per anchor text and class: an image's alt text (its anchor) is a row of its
    # own (class image); the other classes follow from the text (tests/test_anchor_classes.py)
    groups = grouped(links_to(index_edges, scope, target), lambda e: (e.anchor, e.kind == "img"))
    expected = sorted(
        ((a, img, len(es), len({e.src_domain for e in es}), sum(map(dofollow, es)))
         for (a, img), es in groups.items()),
        key=lambda r: (-r[3], -r[2], r[0], r[1]),
    )
    rows = [(r["anchor"], r["anchor_class"] == "image", r["backlinks"],
             r["referring_domains"], r["dofollow_backlinks"]) for r in got]
    assert sorted(rows, key=lambda r: (-r[3], -r[2], r[0], r[1])) == expected
    assert [(r[3], r[2]) for r in rows] == [(r[3], r[2]) for r in expected]  # in order


@pytest.mark.parametrize(("scope", "target"), TARGETS)
def test_top_pages(crawled: Path, index_edges: list[Edge], truth: ExpectedCrawl, scope: str,
                   target: str) -> None:
    got = query(crawled, "top_pages", [target], scope)
    groups = grouped(links_to(index_edges, scope, target), lambda e: e.dst_url)
    expected = sorted(
        ((u, len(es), len({e.src_domain for e in es}), sum(map(dofollow, es)),
          truth.pages[u].status if u in truth.pages else None)
         for u, es in groups.items()),
        key=lambda r: (-r[2], -r[1], r[0]),
    )
    assert [
        (r["dst_url"], r["backlinks"], r["referring_domains"], r["dofollow_backlinks"],
         r["status"])
        for r in got
    ] == expected


@pytest.mark.parametrize(("scope", "target"), TARGETS)
def test_overview(crawled: Path, index_edges: list[Edge], truth: ExpectedCrawl, scope: str,
                  target: str) -> None:
    [got] = query(crawled, "overview", [target], scope)
    links = links_to(index_edges, scope, target)
    match = {
        "domain": lambda u, p: p.row()["domain"] == target,
        "host": lambda u, p: p.row()["host"] == target,
        "prefix": lambda u, p: u.startswith(target),
        "exact": lambda u, p: u == target,
    }[scope]
    assert {k: got[k] for k in (
        "backlinks", "referring_domains", "referring_hosts", "referring_pages", "dofollow",
        "nofollow", "ugc", "sponsored", "image_links", "redirects", "canonicals", "lost",
        "pages_crawled",
    )} == {
        "backlinks": len(links),
        "referring_domains": len({e.src_domain for e in links}),
        "referring_hosts": len({e.src_host for e in links}),
        "referring_pages": len({e.src_url for e in links}),
        "dofollow": sum(map(dofollow, links)),
        "nofollow": sum(e.nofollow for e in links),
        "ugc": sum(e.ugc for e in links),
        "sponsored": sum(e.sponsored for e in links),
        "image_links": sum(e.kind == "img" for e in links),
        "redirects": sum(e.kind == "redirect" for e in links),
        "canonicals": sum(e.kind == "canonical" for e in links),
        "lost": 0,
        # URLs never requested (robots.txt) have rows, but were not crawled
        "pages_crawled": sum(1 for u, p in truth.fetched.items() if match(u, p)),
    }


@pytest.mark.parametrize(
    "filters",
    [
        {"dofollow_only": True},
        {"external_only": False},
        {"kind": "img"},
        {"kind": "redirect", "external_only": False},
        {"kind": "canonical", "external_only": False},
        {"position": "footer"},
        {"position": "nav", "external_only": False},
    ],
)
def test_filters(crawled: Path, index_edges: list[Edge], filters: dict) -> None:
    internal = [("prefix", "http://site0.example/case/"),
                ("exact", "http://site0.example/case/redirect-target")]
    for scope, target in TARGETS + internal:
        got = query(crawled, "backlinks", [target], scope, **filters)
        expected = links_to(
            index_edges, scope, target,
            external=filters.get("external_only", True),
            only_dofollow=filters.get("dofollow_only", False),
            kind=filters.get("kind"), position=filters.get("position"),
        )
        assert sorted((r["src_url"], r["dst_url"], r["kind"], r["anchor"]) for r in got) == \
            sorted((e.src_url, e.dst_url, e.kind, e.anchor) for e in expected), (scope, target)


@pytest.mark.parametrize(("scope", "me", "competitors"), [
    ("domain", "site9.example", ["site1.example", "site2.example", "site3.example"]),
    ("host", "site9.example", ["site1.example", "blog.site1.example"]),
])
@pytest.mark.parametrize("min_overlap", [1, 2])
def test_link_gap(crawled: Path, index_edges: list[Edge], scope: str, me: str,
                  competitors: list[str], min_overlap: int) -> None:
    got = run_query(crawled, "link_gap", [me, *competitors], scope=scope,
                    min_overlap=min_overlap).to_pylist()
    mine = {e.src_domain for e in links_to(index_edges, scope, me)}
    linked: dict[str, set[str]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    for competitor in competitors:
        for edge in links_to(index_edges, scope, competitor):
            linked[edge.src_domain].add(competitor)
            count[edge.src_domain] += 1
    expected = {
        d: (len(cs), sorted(cs), count[d])
        for d, cs in linked.items()
        if len(cs) >= min_overlap and d not in mine
        and d != matcher_domain(scope, me)
    }
    assert expected, "an empty gap tests nothing"
    assert {r["src_domain"]: (r["competitors_linked"], r["competitors"], r["backlinks"])
            for r in got} == expected
    assert [r["competitors_linked"] for r in got] == sorted(
        (r["competitors_linked"] for r in got), reverse=True)


def matcher_domain(scope: str, me: str) -> str:
    from core.domains import registrable_domain

    return registrable_domain(me)


def test_broken_backlinks(crawled: Path, index_edges: list[Edge], truth: ExpectedCrawl) -> None:
    got = query(crawled, "broken_backlinks", ["site0.example"], "domain", external_only=False)

    def broken(url: str) -> bool:  # a row of a URL never requested is not broken
        page = truth.pages.get(url)
        return page is not None and page.fetched and (page.status is None
                                                      or page.status >= 400)

    links = links_to(index_edges, "domain", "site0.example", external=False)
    expected = sorted((e.dst_url, e.src_url, e.anchor) for e in links if broken(e.dst_url))
    assert expected
    assert sorted((r["dst_url"], r["src_url"], r["anchor"]) for r in got) == expected
    # links to pages robots.txt disallows (status null rows) are there, and not broken
    assert {e.dst_url for e in links} & truth.disallowed
    assert not {r["dst_url"] for r in got} & truth.disallowed
    assert {r["status"] for r in got} >= {404, 500}
