"""Crawl the synthetic web, build, and compare with the generator's ground truth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from synthweb import ExpectedCrawl, SyntheticWeb

PAGE_COLUMNS = (
    "url", "host", "domain", "status", "content_type", "content_length", "title", "lang",
    "redirect_to", "canonical", "meta_noindex", "meta_nofollow", "n_links",
    "n_external_links", "n_skipped_links",
)
EDGE_COLUMNS = (
    "src_url", "src_host", "src_domain", "dst_url", "dst_host", "dst_domain", "anchor", "kind",
    "alt", "nofollow", "ugc", "sponsored", "position", "ordinal", "external",
)


@pytest.fixture(scope="module")
def truth(web: SyntheticWeb) -> ExpectedCrawl:
    return web.expected_crawl()


def select(sql: str) -> list[tuple]:
    return duckdb.sql(sql).fetchall()


def raw(data: Path, table: str, crawl_id: str = "c1") -> str:
    return f"read_parquet('{data}/raw/{crawl_id}/{table}/*.parquet')"


def test_fetched_pages_equal_ground_truth(crawled: Path, truth: ExpectedCrawl) -> None:
    got = select(f"SELECT {', '.join(PAGE_COLUMNS)} FROM {raw(crawled, 'pages')}")
    expected = [tuple(p.row()[c] for c in PAGE_COLUMNS) for p in truth.pages.values()]
    assert len(got) == len(set(got)), "a page was fetched twice"
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    # the special cases are really in there
    urls = {row[0] for row in got}
    assert not any("/private/" in u for u in urls)  # robots.txt obeyed
    assert "http://xn--bcher-kva.example/" in urls
    statuses = Counter(row[3] for row in got)
    assert {200, 301, 302, 404, 500} <= set(statuses)


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
    assert {r[-2:] for r in got} == {(True, True)}
