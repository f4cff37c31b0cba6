"""Rows for URLs the crawl never fetched (robots.txt, the private-address guard, a skipped
domain) say why; they are not broken pages, not crawled pages, and never hide a fetch."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
from rawdata import T0, fetch, write_crawl

from core import layout
from index.build import build_index
from queries import run_query


def test_unfetched_rows_are_not_broken_not_crawled_and_never_hide_a_fetch(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    later = T0 + timedelta(days=1)
    write_crawl(data, "c1", [
        fetch("http://src.example/", ["http://t.example/ok", "http://t.example/private",
                                      "http://t.example/gone", "http://t.example/refused"]),
        fetch("http://t.example/ok", status=200),
        fetch("http://t.example/gone", status=404),
    ])
    write_crawl(data, "c2", [
        # fetched in c1, disallowed in c2: the index keeps the c1 fetch
        fetch("http://t.example/ok", crawl_id="c2", at=later, status=None,
              error="robots: disallowed by robots.txt"),
        fetch("http://t.example/private", crawl_id="c2", at=later, status=None,
              error="robots: disallowed by robots.txt"),
        fetch("http://t.example/refused", crawl_id="c2", at=later, status=None,
              error="refused: t.example resolves to 10.0.0.1 (allow with --allow-private)"),
    ])
    build_index(data)
    generation = layout.current_generation(data)
    pages = pq.read_table(layout.generation_dir(data, generation) / "pages.parquet").to_pylist()
    by_url = {row["url"]: row for row in pages}
    assert by_url["http://t.example/ok"]["status"] == 200
    assert by_url["http://t.example/ok"]["error"] is None
    assert by_url["http://t.example/private"]["error"].startswith("robots: ")

    broken = run_query(data, "broken_backlinks", ["t.example"]).to_pylist()
    assert [row["dst_url"] for row in broken] == ["http://t.example/gone"]
    overview = run_query(data, "overview", ["t.example"]).to_pylist()[0]
    assert overview["pages_crawled"] == 2  # ok and gone; not private, not refused
    host_overview = run_query(data, "overview", ["t.example"], scope="host").to_pylist()[0]
    assert host_overview["pages_crawled"] == 2


def test_a_truncated_page_is_a_fetch_whose_links_are_live(tmp_path: Path) -> None:
    """A page cut before parsing (core/bounds.py) was fetched: the links found before the
    cut are live, and the row's note is not a failure."""
    from core.schema import is_failure

    data = tmp_path / "data"
    write_crawl(data, "c1", [
        fetch("http://deep.example/", ["http://t.example/before-the-cut"], status=200,
              error="truncated: nesting deeper than 512 at character 2596"),
    ])
    build_index(data)
    links = run_query(data, "backlinks", ["t.example"]).to_pylist()
    assert [(row["src_url"], row["dst_url"], row["live"]) for row in links] == [
        ("http://deep.example/", "http://t.example/before-the-cut", True)]
    assert not is_failure("truncated: nesting deeper than 512 at character 2596")
    assert is_failure("extract: KeyError: 'href'") and not is_failure(None)
