"""Crawl the synthetic web, build, and compare with the generator's ground truth."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from clitools import crawl_args, linkindex
from historytruth import counted_after, counted_links
from webtools import EDGE_COLUMNS, PAGE_COLUMNS, WEB_ARGS

from synthweb import ExpectedCrawl, SyntheticWeb, WebServer

# Every test here reads the session's crawl of the synthetic web (or crawls again).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def truth(web: SyntheticWeb) -> ExpectedCrawl:
    return web.expected_crawl()


def select(sql: str) -> list[tuple]:
    return duckdb.sql(sql).fetchall()


def raw(data: Path, table: str, crawl_id: str = "c1") -> str:
    return f"read_parquet('{data}/raw/{crawl_id}/{table}/*.parquet')"


def test_page_rows_equal_ground_truth(crawled: Path, truth: ExpectedCrawl,
                                      web_server: WebServer) -> None:
    columns = (*PAGE_COLUMNS, "error")
    got = select(f"SELECT {', '.join(columns)} FROM {raw(crawled, 'pages')}")
    expected = [tuple(p.row()[c] for c in columns) for p in truth.pages.values()]
    assert len(got) == len(set(got)), "a page was fetched twice"
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    # the special cases are really in there
    urls = {row[0] for row in got}
    assert "http://xn--bcher-kva.example/" in urls
    statuses = Counter(row[3] for row in got)
    assert {200, 301, 302, 404, 500, None} <= set(statuses)
    # robots.txt obeyed: every /private/ page reached is a row with no response, no
    # links and the robots error, and the server never saw a request for one
    private = {row[0]: row for row in got if "/private/" in row[0]}
    assert set(private) == truth.disallowed
    assert len(private) > len(truth.pages) // 20  # every home page links one
    for row in private.values():
        assert row[columns.index("status")] is None
        assert row[columns.index("n_links")] is None
        assert row[columns.index("error")] == "robots: disallowed by robots.txt"
    [(sources,)] = select(
        f"SELECT count(*) FROM {raw(crawled, 'edges')} WHERE src_url LIKE '%/private/%'")
    assert sources == 0
    requested = web_server.access_log()
    assert len(requested) > len(truth.fetched)
    assert not [path for _, _, path, _ in requested if path.startswith("/private/")]
    # and nothing but /private/ pages is a robots row, nor any other error here
    assert {row[-1] for row in got if "/private/" not in row[0]} == {None}


def test_every_link_equals_ground_truth(crawled: Path, truth: ExpectedCrawl) -> None:
    got = select(f"SELECT {', '.join(EDGE_COLUMNS)} FROM {raw(crawled, 'edges')}")
    expected = [tuple(e.row()[c] for c in EDGE_COLUMNS) for e in truth.edges]
    assert len(expected) > 2000
    assert Counter(got) == Counter(expected)
    kinds = {row[7] for row in got}
    positions = {row[12] for row in got}
    assert kinds == {"a", "img", "area", "redirect", "canonical"}
    assert positions == {"content", "nav", "header", "footer", "aside", None}


def test_edges_and_pages_of_one_fetch_share_crawl_id_and_time(crawled: Path) -> None:
    orphans = select(
        f"SELECT count(*) FROM {raw(crawled, 'edges')} e ANTI JOIN {raw(crawled, 'pages')} p "
        "ON e.src_url = p.url AND e.crawl_id = p.crawl_id AND e.fetched_at = p.fetched_at"
    )
    assert orphans == [(0,)]


def test_index_edges_are_the_deduplicated_ground_truth(crawled: Path, truth: ExpectedCrawl) -> None:
    first: dict[tuple, tuple] = {}
    for edge in sorted(truth.edges, key=lambda e: (e.src_url, e.ordinal)):
        row = edge.row()
        key = (row["src_url"], row["dst_url"], row["kind"], row["anchor"])
        first.setdefault(key, tuple(row[c] for c in EDGE_COLUMNS))
    got = select(
        f"SELECT {', '.join(EDGE_COLUMNS)}, live, first_seen = last_seen "
        f"FROM read_parquet('{crawled}/index/*/edges/*/*.parquet')"
    )
    assert sorted((r[:-2] for r in got), key=repr) == sorted(first.values(), key=repr)
    assert {r[-1] for r in got} == {True}
    # live: counted by the crawl (a noindex or canonicalised page counts none of its
    # links but redirects and canonicals: docs/history.md)
    counted = counted_links(truth)
    at = {name: EDGE_COLUMNS.index(name) for name in ("src_url", "dst_url", "kind", "anchor")}
    live = {tuple(r[i] for i in at.values()) for r in got if r[-2]}
    assert live == counted and len(counted) < len(got)


def _keys(edges) -> set[tuple]:
    return {(e.src_url, e.dst_url, e.kind, e.anchor) for e in edges}


def test_history_across_two_crawls(crawled: Path, tmp_path: Path, truth: ExpectedCrawl,
                                   seeds_file: Path) -> None:
    """Crawl 2 sees the web later: lost links stop being live and keep first_seen."""
    data = tmp_path / "data"
    shutil.copytree(crawled, data)
    later = SyntheticWeb(**WEB_ARGS, edition=2)
    truth2 = later.expected_crawl()
    assert truth2.pages.keys() == truth.pages.keys()
    before, after = _keys(truth.edges), _keys(truth2.edges)
    lost, new, kept = before - after, after - before, before & after
    live_after = counted_after(truth, truth2)
    assert len(lost) > 50 and len(new) > 50
    with WebServer(later) as server:
        linkindex("crawl", "--seeds-file", seeds_file, *crawl_args(server.proxy_url, data, "c2"))
    linkindex("build", "--data", data)
    [(c1_end,)] = select(f"SELECT max(fetched_at) FROM {raw(data, 'pages', 'c1')}")
    [(c2_start,)] = select(f"SELECT min(fetched_at) FROM {raw(data, 'pages', 'c2')}")
    assert c1_end < c2_start
    generation = (data / "index" / "CURRENT").read_text().strip()
    got = {
        row[:4]: row[4:]
        for row in select(
            "SELECT src_url, dst_url, kind, anchor, live, first_seen, last_seen "
            f"FROM read_parquet('{data}/index/{generation}/edges/*/*.parquet')"
        )
    }
    assert got.keys() == before | after
    assert {k for k, (live, _, _) in got.items() if live} == live_after
    for key in lost:
        _, first, last = got[key]
        assert first <= last <= c1_end
    for key in new:
        _, first, _ = got[key]
        assert first >= c2_start
    for key in kept:
        _, first, last = got[key]
        assert first <= c1_end and last >= c2_start
