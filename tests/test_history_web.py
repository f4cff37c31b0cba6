"""Edition 2 of the synthetic web (the same web later) against its ground truth, and the
history oracle (tests/historytruth.py) from edition 1 to edition 2.

`crawled_edition2` is DATA after `linkindex crawl` of edition 2 (crawl id c2, raw parts
only, no build), for tests of a history feature to reuse.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from clitools import crawl_args, linkindex
from credittruth import credited, credits
from historytruth import counted_after, counted_links, expected_changes, links
from webtools import EDGE_COLUMNS, PAGE_COLUMNS, WEB_ARGS

from queries import Filters, run_query
from synthweb import (
    HISTORY_CASES,
    ExpectedCrawl,
    ExpectedEdge,
    ExpectedPage,
    SyntheticWeb,
    WebServer,
)
from synthweb.truth import NO_RESPONSE, NO_RESPONSE_ERROR, ROBOTS_ERROR
from synthweb.web import HISTORY_CANONICAL, HISTORY_REDIRECT_TO

# Every test here crawls edition 2 of the synthetic web, or reads that crawl.
pytestmark = pytest.mark.slow

ROW_COLUMNS = (*PAGE_COLUMNS, "error")
REASONS = {"link_removed", "page_gone", "page_redirects", "page_noindex", "now_nofollow",
           "canonical_changed", "page_error", "fetch_failed", "not_recrawled"}


@pytest.fixture(scope="module")
def web2() -> SyntheticWeb:
    return SyntheticWeb(**WEB_ARGS, edition=2)


@pytest.fixture(scope="module")
def truth1(web: SyntheticWeb) -> ExpectedCrawl:
    return web.expected_crawl()


@pytest.fixture(scope="module")
def truth2(web2: SyntheticWeb) -> ExpectedCrawl:
    return web2.expected_crawl()


@pytest.fixture(scope="module")
def server2(web2: SyntheticWeb) -> Iterator[WebServer]:
    with WebServer(web2, access_log=True) as server:
        yield server


@pytest.fixture(scope="module")
def crawled_edition2(server2: WebServer, seeds_file: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA after `linkindex crawl` of edition 2 with the session's seeds (crawl c2)."""
    data = tmp_path_factory.mktemp("edition2") / "data"
    linkindex("crawl", "--seeds-file", seeds_file, *crawl_args(server2.proxy_url, data, "c2"))
    return data


def raw(data: Path, table: str, crawl_id: str) -> str:
    return f"read_parquet('{data}/raw/{crawl_id}/{table}/*.parquet')"


def page_rows(data: Path, crawl_id: str) -> list[tuple]:
    return duckdb.sql(f"SELECT {', '.join(ROW_COLUMNS)} FROM {raw(data, 'pages', crawl_id)}"
                      ).fetchall()


def edge_rows(data: Path, crawl_id: str, src_url: str | None = None) -> list[tuple]:
    where = "" if src_url is None else f" WHERE src_url = '{src_url}'"
    return duckdb.sql(f"SELECT {', '.join(EDGE_COLUMNS)} FROM {raw(data, 'edges', crawl_id)}"
                      f"{where}").fetchall()


def expected_page_rows(truth: ExpectedCrawl) -> list[tuple]:
    return [tuple(p.row()[c] for c in ROW_COLUMNS) for p in truth.pages.values()]


def expected_edge_rows(edges: list[ExpectedEdge]) -> list[tuple]:
    return [tuple(e.row()[c] for c in EDGE_COLUMNS) for e in edges]


def assert_raw_rows_equal_truth(data: Path, crawl_id: str, truth: ExpectedCrawl) -> None:
    """The comparison of test_end_to_end.py: every raw pages row and edge, exactly."""
    got = page_rows(data, crawl_id)
    assert len(got) == len({row[0] for row in got}), "a page was recorded twice"
    assert sorted(got, key=repr) == sorted(expected_page_rows(truth), key=repr)
    assert Counter(edge_rows(data, crawl_id)) == Counter(expected_edge_rows(truth.edges))


def page_row(data: Path, url: str) -> dict[str, Any]:
    rows = [row for row in page_rows(data, "c2") if row[0] == url]
    assert len(rows) == 1, url
    return dict(zip(ROW_COLUMNS, rows[0], strict=True))


def test_raw_rows_equal_edition2_truth(crawled_edition2: Path, truth1: ExpectedCrawl,
                                       truth2: ExpectedCrawl) -> None:
    assert_raw_rows_equal_truth(crawled_edition2, "c2", truth2)
    # every page stays reachable (each is linked from its home page, a seed); the pages
    # whose fate differs (sizes and link counts follow the Related redraw) are the
    # history cases and their query-string variants, but now_nofollow (its links change)
    assert truth2.pages.keys() == truth1.pages.keys()

    def fate(page: ExpectedPage) -> tuple:
        return (page.status, page.redirect_to, page.canonical, page.meta_noindex,
                page.meta_nofollow, page.error)

    changed = {u for u in truth1.pages if fate(truth1.pages[u]) != fate(truth2.pages[u])}
    assert {u.partition("?")[0] for u in changed} == {
        u for u, case in HISTORY_CASES.items() if case.change != "now_nofollow"}


def _same_links(before: list[ExpectedEdge], after: list[ExpectedEdge], rel: bool) -> None:
    """Edition 2 keeps a page's links but its Related ones (drawn again); `rel`: and
    each one's nofollow, ugc and sponsored."""
    def keep(edges: list[ExpectedEdge]) -> list[tuple]:
        return [(e.dst_url, e.anchor, e.kind, e.alt, e.position, e.ordinal,
                 (e.nofollow, e.ugc, e.sponsored) if rel else None)
                for e in edges if e.position != "aside" and e.kind != "canonical"]
    assert keep(before) == keep(after)
    assert len(keep(after)) > 10


@pytest.mark.parametrize("url", list(HISTORY_CASES))
def test_history_case_happened(url: str, crawled_edition2: Path, server2: WebServer,
                               web: SyntheticWeb, truth1: ExpectedCrawl,
                               truth2: ExpectedCrawl) -> None:
    """The change HISTORY_CASES names for `url`, in the truth and in the crawled rows."""
    change = HISTORY_CASES[url].change
    facts, was = truth2.pages[url], truth1.pages[url]
    row = page_row(crawled_edition2, url)
    edges = [e for e in truth2.edges if e.src_url == url]
    got_edges = edge_rows(crawled_edition2, "c2", url)
    assert Counter(got_edges) == Counter(expected_edge_rows(edges))
    # a regular 200 page in edition 1 (with a self canonical), fetched and indexable
    assert (was.status, was.canonical, was.meta_noindex, was.error) == (200, url, False, None)
    assert row == facts.row()
    path = url[url.index("/", 7):]
    requests = [status for _, host, p, status in server2.access_log()
                if host == "site4.example" and p == path]
    if change == "page_gone":
        assert facts.status == row["status"] == 404 and not edges
    elif change == "page_redirects":
        assert facts.status == row["status"] == 301
        assert facts.redirect_to == row["redirect_to"] == HISTORY_REDIRECT_TO
        assert [(e.kind, e.dst_url) for e in edges] == [("redirect", HISTORY_REDIRECT_TO)]
    elif change == "page_noindex":
        assert facts.meta_noindex is row["meta_noindex"] is True
        assert facts.meta_nofollow is row["meta_nofollow"] is False
        assert b'<meta name="robots" content="noindex, follow">' in server2.web.response(
            "GET", url).body
        _same_links(web.page_links(url), edges, rel=True)
    elif change == "now_nofollow":
        links = [e for e in edges if e.kind != "canonical"]
        assert links and all(e.nofollow or e.ugc or e.sponsored for e in links)
        assert {r[EDGE_COLUMNS.index("nofollow")] or r[EDGE_COLUMNS.index("ugc")]
                or r[EDGE_COLUMNS.index("sponsored")] for r in got_edges
                if r[EDGE_COLUMNS.index("kind")] != "canonical"} == {True}
        # links followed before, kept, now nofollow: what a history calls now_nofollow
        assert any(not (e.nofollow or e.ugc or e.sponsored) for e in web.page_links(url)
                   if e.kind in ("a", "img") and e.position != "aside")
        _same_links(web.page_links(url), edges, rel=False)
    elif change == "canonical_changed":
        assert facts.canonical == row["canonical"] == HISTORY_CANONICAL
        assert (edges[0].kind, edges[0].dst_url, edges[0].ordinal) == (
            "canonical", HISTORY_CANONICAL, 0)
        _same_links(web.page_links(url), edges, rel=True)
    elif change == "page_error":
        assert facts.status == row["status"] == 500 and not edges
    elif change == "fetch_failed":
        assert facts.status is row["status"] is None and not edges
        assert facts.error == row["error"] == NO_RESPONSE_ERROR
        assert facts.fetched and requests and set(requests) == {NO_RESPONSE}
    elif change == "not_recrawled":
        assert not facts.fetched and facts.error == row["error"] == ROBOTS_ERROR
        assert row["status"] is None and not edges
        assert not requests  # robots.txt obeyed: never asked for
        assert b"Disallow: /p/3$" in server2.web.response(
            "GET", "http://site4.example/robots.txt").body
    else:
        pytest.fail(f"no check for {change}")
    if change not in ("not_recrawled", "fetch_failed"):
        assert facts.error is None


def test_history_oracle_from_edition1_to_edition2(truth1: ExpectedCrawl,
                                                  truth2: ExpectedCrawl) -> None:
    rows = expected_changes(truth1, truth2)
    assert {reason for _, reason, *_ in rows} >= REASONS
    assert "new" in {change for change, *_ in rows}
    for change, reason, src, *_, lost_to in rows:
        assert (change == "new") == (reason is None)
        assert (change == "unknown") == (reason == "not_recrawled")
        assert (lost_to is not None) == (reason in ("page_redirects", "canonical_changed"))
        if reason not in (None, "link_removed"):
            # the query string does not change a regular page: site3/p/4?from=base
            # (linked from a site0 case) is noindex too
            assert HISTORY_CASES[src.partition("?")[0]].change == reason, src
    for url, case in HISTORY_CASES.items():
        reasons = {reason for _, reason, src, *_ in rows if src == url and reason}
        extra = {"link_removed"} if case.change == "now_nofollow" else set()
        assert case.change in reasons and reasons <= {case.change} | extra, url
    redirect = ("new", None, "http://site3.example/p/2", HISTORY_REDIRECT_TO, "redirect", "",
                None)
    canonical = ("new", None, "http://site3.example/p/6", HISTORY_CANONICAL, "canonical", "",
                 None)
    assert {redirect, canonical} <= rows
    # counted_links agrees: every link counted in 1 has a row or is still counted in 2
    kept = counted_links(truth1) & counted_links(truth2)
    assert {tuple(r[2:6]) for r in rows if r[0] != "new"} | kept >= counted_links(truth1)


# ---------------------------------------------------------------------------
# Two crawls built into one index: the history queries against the oracle
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_crawls(crawled: Path, server2: WebServer, seeds_file: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA with crawl c1 (edition 1, built) and then c2 (edition 2), built incrementally."""
    data = tmp_path_factory.mktemp("two-crawls") / "data"
    shutil.copytree(crawled, data)
    linkindex("crawl", "--seeds-file", seeds_file, *crawl_args(server2.proxy_url, data, "c2"))
    linkindex("build", "--data", data)
    return data


def crawl_window(data: Path, crawl_id: str) -> tuple[Any, Any]:
    [(start, end)] = duckdb.sql(f"SELECT min(fetched_at), max(fetched_at) "
                                f"FROM {raw(data, 'pages', crawl_id)}").fetchall()
    return start, end


def targets(*truths: ExpectedCrawl) -> list[str]:
    return sorted({e.dst_domain for truth in truths for e in truth.edges})


def test_the_second_build_was_incremental(two_crawls: Path) -> None:
    manifest = json.loads((two_crawls / "index" / (two_crawls / "index" / "CURRENT")
                           .read_text().strip() / "manifest.json").read_text())
    assert manifest["build"]["previous"] is not None


def test_changes_between_two_crawls_equal_the_oracle(two_crawls: Path, truth1: ExpectedCrawl,
                                                     truth2: ExpectedCrawl) -> None:
    """Every link of both crawls, internal ones too, by way of each linked domain."""
    got = set()
    for domain in targets(truth1, truth2):
        for row in run_query(two_crawls, "changes", [domain, "c1", "c2"],
                             filters=Filters(external_only=False)).to_pylist():
            got.add((row["change"], row["lost_reason"], row["src_url"], row["dst_url"],
                     row["kind"], row["anchor"], row["lost_to"]))
    expected = expected_changes(truth1, truth2)
    assert {reason for _, reason, *_ in got} >= REASONS
    assert got == expected


def test_new_lost_between_two_crawls_equals_the_oracle(
        two_crawls: Path, truth1: ExpectedCrawl, truth2: ExpectedCrawl) -> None:
    """Since c2 began: the oracle's new and lost rows (not the not_recrawled ones, which
    are not lost), each dated by the fetch of c2 that found or lost it."""
    start, end = crawl_window(two_crawls, "c2")
    fetched_c2 = {url: page for url, page in truth2.pages.items()}
    got = set()
    for domain in targets(truth1, truth2):
        for row in run_query(two_crawls, "new_lost", [domain, start.isoformat()],
                             filters=Filters(external_only=False)).to_pylist():
            got.add((row["change"], row["lost_reason"], row["src_url"], row["dst_url"],
                     row["kind"], row["anchor"], row["lost_to"]))
            assert start <= row["changed_at"] <= end
            assert row["src_url"] in fetched_c2
    expected = {row for row in expected_changes(truth1, truth2) if row[0] != "unknown"}
    assert got == expected
    # nothing changed before c2 began (c1 found everything it has: not "new" since then)
    before = run_query(two_crawls, "new_lost", ["site1.example", "2000-01-01"],
                       filters=Filters(until=start)).to_pylist()
    assert {r["change"] for r in before} == {"new"}


@pytest.mark.parametrize("domain", ["site0.example", "site1.example", "site3.example",
                                    "site4.example", "site9.example"])
def test_history_per_crawl_equals_the_oracle(two_crawls: Path, truth1: ExpectedCrawl,
                                             truth2: ExpectedCrawl, domain: str) -> None:
    every = links(truth1) | links(truth2)
    credit = credits(truth1, truth2)  # links to a URL that moved count where it went

    def counts_for(key: tuple) -> str:
        edge = every[key]
        moved = credited(edge, credit)
        return moved.dst_domain if moved and edge.dst_domain != domain else edge.dst_domain

    def external_to(keys: set[tuple]) -> set[tuple]:
        return {k for k in keys if counts_for(k) == domain and every[k].src_domain != domain}

    at1, at2 = external_to(counted_links(truth1)), external_to(counted_after(truth1, truth2))
    domains1 = {every[k].src_domain for k in at1}
    domains2 = {every[k].src_domain for k in at2}
    changes = expected_changes(truth1, truth2)
    new = external_to({tuple(r[2:6]) for r in changes if r[0] == "new"})
    lost = external_to({tuple(r[2:6]) for r in changes
                        if r[0] == "lost" and r[1] != "now_nofollow"})
    state2 = links(truth2)

    def followed(key: tuple, second: bool) -> bool:
        edge = state2[key] if second and key in state2 else links(truth1)[key]
        return not (edge.nofollow or edge.ugc or edge.sponsored)

    rows = run_query(two_crawls, "history", [domain]).to_pylist()
    assert [r["crawl_id"] for r in rows] == ["c1", "c2"]
    c1, c2 = rows
    assert (c1["backlinks"], c1["referring_domains"], c1["new_backlinks"],
            c1["lost_backlinks"], c1["new_referring_domains"], c1["lost_referring_domains"]
            ) == (len(at1), len(domains1), len(at1), 0, len(domains1), 0)
    assert c1["dofollow_referring_domains"] == len(
        {every[k].src_domain for k in at1 if followed(k, False)})
    assert (c2["backlinks"], c2["referring_domains"], c2["new_backlinks"],
            c2["lost_backlinks"], c2["new_referring_domains"], c2["lost_referring_domains"]
            ) == (len(at2), len(domains2), len(new), len(lost), len(domains2 - domains1),
                  len(domains1 - domains2))
    assert c2["dofollow_referring_domains"] == len(
        {every[k].src_domain for k in at2 if followed(k, True)})


def test_as_of_the_first_crawl_is_the_index_after_it(two_crawls: Path, crawled: Path,
                                                     truth1: ExpectedCrawl) -> None:
    """backlinks as of c1's end, on the two-crawl index, equal backlinks on the index
    built from c1 alone (links first seen later left out, live and rel as they were)."""
    _, end = crawl_window(two_crawls, "c1")
    columns = ("src_url", "dst_url", "kind", "anchor", "nofollow", "ugc", "sponsored", "live")
    for domain in ("site0.example", "site3.example", "site4.example"):
        for live_only in (True, False):
            then = run_query(two_crawls, "backlinks", [domain], filters=Filters(
                as_of=end, live_only=live_only)).to_pylist()
            before = run_query(crawled, "backlinks", [domain], filters=Filters(
                live_only=live_only)).to_pylist()
            assert sorted(tuple(r[c] for c in columns) for r in then) == sorted(
                tuple(r[c] for c in columns) for r in before)
            assert then  # site3's links to itself are internal; others link to it
