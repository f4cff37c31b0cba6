"""The index build, on real raw parts and real DuckDB/Parquet output."""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import random
import re
import threading
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from clitools import linkindex
from rawdata import (
    edge_row,
    edges_table,
    fetch,
    link,
    page_row,
    utc,
    write_crawl,
    write_part,
    write_parts,
)

from core import layout
from core.errors import LinkindexError
from core.schema import (
    EDGE_LINK_COLUMNS,
    EDGE_PAGE_COLUMNS,
    EDGES,
    INDEX_DOMAINS,
    INDEX_EDGES,
    INDEX_FORMAT,
    INDEX_HOSTS,
    INDEX_PAGES,
)
from index.build import build_index
from index.compact import EDGE_ORDER, choose_buckets

T1, T2, T3 = utc("2025-01-01T10:00"), utc("2025-02-01T10:00"), utc("2025-03-01T10:00")
A, B, C, D = (f"https://www.{x}.example/" for x in "abcd")


# ---------------------------------------------------------------------------
# Reading an index back
# ---------------------------------------------------------------------------


def gen_dir(data: Path, generation: str | None = None) -> Path:
    return layout.generation_dir(data, generation or layout.current_generation(data))


def edge_files(data: Path, generation: str | None = None) -> list[Path]:
    return sorted((gen_dir(data, generation) / "edges").glob("bucket=*/*.parquet"))


LIFECYCLE = ("found_at", "lost_at", "lost_reason", "lost_to", "nofollow_at", "past_spans",
             "unplaced")


def index_edges(data: Path, generation: str | None = None) -> list[dict]:
    """Every index edge, bucket by bucket, in file order, without src_domain_rank, which
    is checked here against domains.parquet for every edge of every test."""
    ranks = {r["domain"]: r["domain_rank"] for r in table_rows(data, "domains", generation)}
    pages = {r["url_id"]: r["page_rank"] for r in table_rows(data, "page_ranks", generation)}
    facts = {r["url"]: (r["n_external_links"], r["ip"], r["lang"])
             for r in table_rows(data, "pages", generation)}
    rows = [row for f in edge_files(data, generation) for row in pq.read_table(f).to_pylist()]
    for row in rows:
        assert row.pop("src_domain_rank") == ranks[row["src_domain"]]
        assert row.pop("src_page_rank") == pages.get(layout.url_id(row["src_url"]), 0.0)
        stamped = (row.pop("src_external_links"), row.pop("src_ip"), row.pop("src_lang"))
        assert stamped == facts.get(row["src_url"], (None, None, None)), row
        for name in LIFECYCLE:  # checked by tests/test_history.py
            row.pop(name)
    return rows


def table_rows(data: Path, name: str, generation: str | None = None) -> list[dict]:
    return pq.read_table(gen_dir(data, generation) / f"{name}.parquet").to_pylist()


def expected_edge(src: str, dst: str, *, first_seen, last_seen, live: bool,
                  last_seen_crawl: str | None = None, **columns) -> dict:
    """An index edge row: raw edge defaults (tests/rawdata.py), then `columns`; seen last
    in its crawl_id unless told."""
    row = edge_row(src, dst, **columns)
    out = {name: row[name] for name in INDEX_EDGES.names if name in row}
    return {**out, "first_seen": first_seen, "last_seen": last_seen, "live": live,
            "last_seen_crawl": last_seen_crawl or row["crawl_id"]}


def by_link(rows: list[dict]) -> dict[tuple, dict]:
    return {(r["src_url"], r["dst_url"], r["kind"], r["anchor"]): r for r in rows}


def all_tables(data: Path, generation: str) -> dict[str, pa.Table]:
    out: dict[str, pa.Table] = {
        name: pq.read_table(gen_dir(data, generation) / f"{name}.parquet")
        for name in ("pages", "hosts", "domains")
    }
    for f in edge_files(data, generation):
        out[f.relative_to(gen_dir(data, generation)).as_posix()] = pq.read_table(f)
    return out


# ---------------------------------------------------------------------------
# Edges: dedup, history, live, attributes
# ---------------------------------------------------------------------------


def test_same_link_twice_is_one_edge_with_the_first_occurrence(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [
        fetch(A, [
            link(B + "x", anchor="go", position="nav"),
            link(B + "x", anchor="go", position="content"),
            link(B + "x", anchor="other"),
        ], at=T1),
    ])
    result = build_index(tmp_path)
    assert result.built and result.warnings == []
    assert index_edges(tmp_path) == [
        expected_edge(A, B + "x", anchor="go", position="nav", ordinal=0,
                      first_seen=T1, last_seen=T1, live=True),
        expected_edge(A, B + "x", anchor="other", ordinal=2,
                      first_seen=T1, last_seen=T1, live=True),
    ]
    assert result.manifest["counts"]["raw_edges"] == 3
    assert result.manifest["counts"]["edges"] == 2


def test_same_link_in_two_parts_of_one_crawl_is_one_edge(tmp_path: Path) -> None:
    page, edges = fetch(A, [B], at=T1)
    write_parts(tmp_path, "c1", [page], edges)
    write_part(tmp_path, "c1", "edges", edges)  # e.g. a part written twice
    build_index(tmp_path)
    assert index_edges(tmp_path) == [expected_edge(A, B, first_seen=T1, last_seen=T1, live=True)]


def test_first_seen_last_seen_and_live_across_two_crawls(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B, C], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(A, [B, D], at=T2, crawl_id="c2")])
    build_index(tmp_path)
    assert by_link(index_edges(tmp_path)) == by_link([
        # kept: first seen in crawl 1, still there
        expected_edge(A, B, ordinal=0, first_seen=T1, last_seen=T2, live=True, crawl_id="c2"),
        # removed in crawl 2: lost, keeps its history
        expected_edge(A, C, ordinal=1, first_seen=T1, last_seen=T1, live=False),
        # added in crawl 2
        expected_edge(A, D, ordinal=1, first_seen=T2, last_seen=T2, live=True, crawl_id="c2"),
    ])


def lifecycle(data: Path) -> dict[str, tuple]:
    """(live, lost_at, lost_reason) of every index edge, by its source URL."""
    rows = [row for f in edge_files(data) for row in pq.read_table(f).to_pylist()]
    return {r["src_url"]: (r["live"], r["lost_at"], r["lost_reason"]) for r in rows}


def test_a_5xx_404_or_network_error_loses_the_links_with_its_reason(tmp_path: Path) -> None:
    """A refetch that shows no link says why (docs/history.md): as the commercial tools
    do, a 5xx or a failed fetch loses the links too (they come back, re-found, when a
    later fetch has them); a 404 loses them as gone."""
    pages = ["https://www.a.example/5xx", "https://www.a.example/gone", "https://www.a.example/down"]
    write_crawl(tmp_path, "c1", [fetch(url, [B + str(i)], at=T1) for i, url in enumerate(pages)])
    write_crawl(tmp_path, "c2", [
        fetch(pages[0], [], at=T2, crawl_id="c2", status=503),
        fetch(pages[1], [], at=T2, crawl_id="c2", status=404),
        fetch(pages[2], [], at=T2, crawl_id="c2", status=None),
    ])
    build_index(tmp_path)
    assert lifecycle(tmp_path) == {pages[0]: (False, T2, "page_error"),
                                   pages[1]: (False, T2, "page_gone"),
                                   pages[2]: (False, T2, "fetch_failed")}
    assert {r["url"]: r["status"] for r in table_rows(tmp_path, "pages")} == {
        pages[0]: 503, pages[1]: 404, pages[2]: None,
    }


def test_a_fetch_whose_extraction_failed_loses_the_links_as_fetch_failed(tmp_path: Path) -> None:
    """Issue 13, item 1: a response the extractor failed on is stored with its error and
    no links: the links before are lost as fetch_failed, not removed."""
    failed = "https://www.a.example/failed"
    write_crawl(tmp_path, "c1", [fetch(failed, [B], at=T1), fetch(A, [C], at=T1)])
    error = "extract: KeyError: 'href'"
    write_crawl(tmp_path, "c2", [
        fetch(failed, [], at=T2, crawl_id="c2", error=error, n_links=None,
              n_external_links=None, n_skipped_links=None),
        fetch(A, [], at=T2, crawl_id="c2"),  # a 200 without the link: removed
    ])
    build_index(tmp_path)
    assert by_link(index_edges(tmp_path)) == by_link([
        expected_edge(failed, B, first_seen=T1, last_seen=T1, live=False),
        expected_edge(A, C, first_seen=T1, last_seen=T1, live=False),
    ])
    assert lifecycle(tmp_path) == {failed: (False, T2, "fetch_failed"),
                                   A: (False, T2, "link_removed")}
    latest = {r["url"]: (r["status"], r["error"], r["fetched_at"])
              for r in table_rows(tmp_path, "pages")}
    assert latest[failed] == (200, error, T2)  # the page shows its latest fetch, as it went


def test_a_link_back_after_a_gap_is_live_with_its_first_seen(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(A, [], at=T2, crawl_id="c2")])
    write_crawl(tmp_path, "c3", [fetch(A, [B], at=T3, crawl_id="c3")])
    build_index(tmp_path)
    assert index_edges(tmp_path) == [
        expected_edge(A, B, first_seen=T1, last_seen=T3, live=True, crawl_id="c3")
    ]


def test_edges_without_a_page_row_are_not_live(tmp_path: Path) -> None:
    write_part(tmp_path, "c1", "edges", [edge_row(A, B, fetched_at=T1)])
    write_part(tmp_path, "c1", "pages", [page_row(C, fetched_at=T1)])
    build_index(tmp_path)
    assert index_edges(tmp_path) == [expected_edge(A, B, first_seen=T1, last_seen=T1, live=False)]


def test_attributes_come_from_the_latest_occurrence(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [
        fetch(A, [link(B, anchor="x", position="content", alt="old")], at=T1),
    ])
    write_crawl(tmp_path, "c2", [
        fetch(A, [
            C,
            link(B, anchor="x", position="aside", nofollow=True, ugc=True, alt="new"),
            link(B, anchor="x", position="footer", sponsored=True),  # same link again: later
        ], at=T2, crawl_id="c2"),
    ])
    build_index(tmp_path)
    got = by_link(index_edges(tmp_path))[(A, B, "a", "x")]
    assert got == expected_edge(
        A, B, anchor="x", position="aside", nofollow=True, ugc=True, alt="new", ordinal=1,
        first_seen=T1, last_seen=T2, live=True, last_seen_crawl="c2",
    )


def test_a_tie_between_crawls_goes_to_the_greater_crawl_id(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [link(B, position="nav")], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(A, [link(B, position="footer")], at=T1, crawl_id="c2",
                                       title="from c2")])
    build_index(tmp_path)
    assert [r["position"] for r in index_edges(tmp_path)] == ["footer"]
    pages = table_rows(tmp_path, "pages")
    assert [(r["crawl_id"], r["title"]) for r in pages] == [("c2", "from c2")]


# ---------------------------------------------------------------------------
# Pages, hosts, domains
# ---------------------------------------------------------------------------


def test_pages_hold_the_latest_fetch_and_its_history(tmp_path: Path) -> None:
    other = "https://blog.c.example/post"
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1, title="first"), fetch(other, at=T1)])
    write_crawl(tmp_path, "c2", [
        fetch(A, at=T2, crawl_id="c2", status=404, title=None),
        fetch(A, at=T3, crawl_id="c2", status=503, title=None, error="HTTP 503"),
    ])
    build_index(tmp_path)
    expected_a = {
        **page_row(A, crawl_id="c2", fetched_at=T3, status=503, title=None, error="HTTP 503"),
        "first_fetched": T1,
        "n_fetches": 3,
    }
    expected_other = {**page_row(other, fetched_at=T1), "first_fetched": T1, "n_fetches": 1}
    # sorted by (domain, url): a.example before c.example
    assert table_rows(tmp_path, "pages") == [expected_a, expected_other]


def test_hosts_are_every_host_of_edges_and_pages(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [
        fetch(A, ["https://shop.b.example/", "https://news.bbc.co.uk/x"], at=T1),
        fetch("https://c.example/", at=T1),
    ])
    build_index(tmp_path)
    assert table_rows(tmp_path, "hosts") == [
        {"host": "c.example", "domain": "c.example"},
        {"host": "news.bbc.co.uk", "domain": "bbc.co.uk"},
        {"host": "shop.b.example", "domain": "b.example"},
        {"host": "www.a.example", "domain": "a.example"},
    ]


def test_domain_totals_count_live_external_links(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [
        fetch(A, [B, B + "2", C, A + "internal", link(B, anchor="again", nofollow=True)], at=T1),
        fetch(C, [B, D], at=T1),
        fetch(D, [B + "lost"], at=T1),
        fetch(A + "other", [], at=T1),
    ])
    write_crawl(tmp_path, "c2", [fetch(D, [], at=T2, crawl_id="c2")])  # D's link is lost
    build_index(tmp_path)
    totals = {
        r["domain"]: (r["pages_crawled"], r["backlinks"], r["referring_domains"],
                      r["outlinks"], r["linked_domains"])
        for r in table_rows(tmp_path, "domains")
    }
    assert totals == {
        # pages, backlinks, referring domains, outlinks, linked domains
        "a.example": (2, 0, 0, 4, 2),  # nofollow counts as a backlink; internal does not
        "b.example": (0, 4, 2, 0, 0),
        "c.example": (1, 1, 1, 2, 2),
        "d.example": (1, 1, 1, 0, 0),
    }
    assert [r["domain"] for r in table_rows(tmp_path, "domains")] == sorted(totals)


def fixed_scale(value: float, base: float, top: float = 0.0) -> float:
    """docs/metrics.md: `top` + 20 points per tenfold above the base, within 0..100."""
    if value <= 0:
        return 0.0
    return min(100.0, max(0.0, round(top + 20 * math.log10(value / base), 1)))


def reference_pagerank(nodes: list[str], arcs: set[tuple[str, str]]
                       ) -> tuple[dict[str, float], int, float]:
    """Textbook PageRank in floats: the values, the iterations run, the last L1 change."""
    n = len(nodes)
    out = {x: [d for s, d in sorted(arcs) if s == x] for x in nodes}
    pr = {x: 1 / n for x in nodes}
    iterations = 0
    for iterations in range(1, 51):  # noqa: B007 - the count is returned
        dangling = sum(pr[x] for x in nodes if not out[x])
        new = {x: 0.15 / n + 0.85 * dangling / n for x in nodes}
        for s in nodes:
            for d in out[s]:
                new[d] += 0.85 * pr[s] / len(out[s])
        change = sum(abs(new[x] - pr[x]) for x in nodes)
        pr = new
        if change < 1e-9:
            break
    return pr, iterations, change


def reference_ranks(nodes: list[str], arcs: set[tuple[str, str]]) -> dict[str, float]:
    """Textbook PageRank in floats, scaled as the build promises: from the base, the
    share a domain no link reaches gets (teleport plus dangling mass)."""
    pr, _, _ = reference_pagerank(nodes, arcs)
    n, sources = len(nodes), {s for s, _ in arcs}
    base = (0.15 + 0.85 * sum(pr[x] for x in nodes if x not in sources)) / n
    return {x: fixed_scale(pr[x], base) for x in nodes}


def test_domain_ranks_follow_the_dofollow_live_external_links(tmp_path: Path) -> None:
    """Only links that pass credit (is_dofollow: no nofollow, ugc or sponsored) pass
    rank: a domain linked by ugc or sponsored links only ranks as one linked by none."""
    hub, big, small, spam, quiet = (f"https://{x}.example/" for x in
                                    ("hub", "big", "small", "spam", "quiet"))
    forum, ad = "https://forum.example/", "https://ad.example/"
    leaves = [f"https://leaf{i}.example/" for i in range(6)]
    extra = {0: [big], 1: [big], 2: [small]}
    fetches = [fetch(leaf, [hub, link(hub + "p", anchor="2"), *extra.get(i, [])], at=T1)
               for i, leaf in enumerate(leaves)]
    fetches += [
        fetch(hub, [hub + "self"], at=T1),  # internal links pass nothing
        fetch(spam, [link(hub, nofollow=True), link(quiet, nofollow=True)], at=T1),
        # every leaf links the forum in a comment and the ad as a paid link
        *(fetch(leaf + "comments", [link(forum, ugc=True), link(ad, sponsored=True)], at=T1)
          for leaf in leaves),
        fetch(small, [quiet], at=T1),  # lost below: passes nothing
    ]
    write_crawl(tmp_path, "c1", fetches)
    write_crawl(tmp_path, "c2", [fetch(small, [], at=T2, crawl_id="c2")])
    build_index(tmp_path)
    ranks = {r["domain"]: r["domain_rank"] for r in table_rows(tmp_path, "domains")}

    nodes = sorted(ranks)
    arcs = {(f"leaf{i}.example", "hub.example") for i in range(6)}
    arcs |= {("leaf0.example", "big.example"), ("leaf1.example", "big.example"),
             ("leaf2.example", "small.example")}
    expected = reference_ranks(nodes, arcs)
    assert len(nodes) == 13
    for domain in nodes:
        assert abs(ranks[domain] - expected[domain]) <= 0.1, domain
    assert ranks["hub.example"] > ranks["big.example"] > ranks["small.example"] > 0.0
    for domain in ("quiet.example", "spam.example", "leaf0.example", "leaf5.example",
                   "forum.example", "ad.example"):
        assert ranks[domain] == 0.0, domain
    # the manifest's receipt describes this graph and run, as the reference sees them
    receipt = layout.read_manifest(tmp_path)["metrics"]["domain_rank"]
    _, iterations, change = reference_pagerank(nodes, arcs)
    assert receipt["graph"] == {
        "nodes": 13, "arcs": len(arcs), "dangling": 13 - len({s for s, _ in arcs}),
        "links": "live, external, dofollow (no nofollow, ugc or sponsored), "
                 "one arc per distinct domain pair"}
    assert (receipt["iterations"], receipt["converged"]) == (iterations, True)
    assert abs(receipt["final_delta"] - change) < 1e-12
    assert (receipt["version"], receipt["damping"], receipt["tolerance"]) == (3, 0.85, 1e-9)
    out = linkindex("metrics", "--data", tmp_path).stdout
    assert f"domain_rank.graph.arcs\t{len(arcs)}\n" in out
    assert f"domain_rank.iterations\t{iterations}\n" in out
    as_json = json.loads(linkindex("metrics", "--data", tmp_path, "--format", "json").stdout)
    assert as_json["domain_rank"] == receipt



def test_page_ranks_over_the_url_graph_internal_links_included(tmp_path: Path) -> None:
    """Page rank (docs/metrics.md): PageRank over URLs and their live dofollow links, of
    any kind, internal ones included (as URL Rating does), on the fixed scale; against a
    float power iteration on the same graph; shown on top_pages and on backlinks."""
    home, about, post, other = ("https://www.a.example/", "https://www.a.example/about",
                                "https://www.a.example/post", "https://www.b.example/")
    c_page, d_page = "https://www.c.example/x", "https://www.d.example/"
    write_crawl(tmp_path, "c1", [
        fetch(home, [about, post, link(other, nofollow=True)], at=T1),
        fetch(about, [home, post], at=T1),
        fetch(post, [home, other, link(c_page, sponsored=True)], at=T1),
        fetch(other, [post, d_page], at=T1),
        fetch(c_page, [post, d_page], at=T1),
    ])
    write_crawl(tmp_path, "c2", [fetch(c_page, [d_page], at=T2, crawl_id="c2")])  # drops post
    build_index(tmp_path)
    arcs = {(home, about), (home, post), (about, home), (about, post), (post, home),
            (post, other), (other, post), (other, d_page), (c_page, d_page)}
    nodes = sorted({home, about, post, other, c_page, d_page})
    pr, _, _ = reference_pagerank(nodes, arcs)
    sources = {s for s, _ in arcs}
    base = (0.15 + 0.85 * sum(pr[x] for x in nodes if x not in sources)) / len(nodes)
    expected = {x: fixed_scale(pr[x], base) for x in nodes}
    by_id = {r["url_id"]: r["page_rank"] for r in table_rows(tmp_path, "page_ranks")}
    assert by_id.keys() == {layout.url_id(url) for url in nodes}
    got = {url: by_id[layout.url_id(url)] for url in nodes}
    for url in nodes:
        assert abs(got[url] - expected[url]) <= 0.1, url
    assert got[post] > got[home] > got[about] > got[c_page] == 0.0
    receipt = layout.read_manifest(tmp_path)["metrics"]["page_rank"]
    assert (receipt["version"], receipt["graph"]["nodes"], receipt["graph"]["arcs"]) == (
        1, len(nodes), len(arcs))
    from queries import Filters, run_query
    top = run_query(tmp_path, "top_pages", ["a.example"],
                    filters=Filters(external_only=False)).to_pylist()
    assert {r["dst_url"]: r["page_rank"] for r in top} == {
        u: got[u] for u in (home, about, post)}
    linking = run_query(tmp_path, "backlinks", ["b.example"]).to_pylist()
    assert {(r["src_url"], r["src_page_rank"]) for r in linking} == {
        (post, got[post]), (home, got[home])}  # home's link is nofollow: a backlink still


def test_url_ids_of_python_and_sql_agree() -> None:
    urls = ["https://www.a.example/", "http://xn--bcher-kva.example/p?q=1#x", "", "ü", "a'b"]
    con = duckdb.connect()
    for url in urls:
        [(number,)] = con.execute("SELECT md5_number_lower($u)", {"u": url}).fetchall()
        assert number == layout.url_id(url), url


def test_a_domain_rank_does_not_move_when_unrelated_domains_join(tmp_path: Path) -> None:
    """The fixed scale (docs/metrics.md): a new group of domains, linked among themselves
    and to none of these, with a far stronger hub, leaves every rank here as it was
    (min-max scaling would have made the new hub 100 and moved everyone else)."""
    def url(name: str) -> str:
        return f"https://{name}.example/"

    write_crawl(tmp_path, "c1", [fetch(url(f"a{i}"), [url("hub")], at=T1) for i in range(3)]
                + [fetch(url("hub"), [url("a0")], at=T1)])
    build_index(tmp_path)
    before = {r["domain"]: r["domain_rank"] for r in table_rows(tmp_path, "domains")}
    write_crawl(tmp_path, "c2", [fetch(url(f"b{i}"), [url("bighub")], at=T2, crawl_id="c2")
                                 for i in range(40)])
    build_index(tmp_path)
    after = {r["domain"]: r["domain_rank"] for r in table_rows(tmp_path, "domains")}
    assert {d: after[d] for d in before} == before
    assert after["bighub.example"] > before["hub.example"] > before["a1.example"] == 0.0
    assert before["a0.example"] > 0.0


def test_equal_ranks_are_zero(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [], at=T1), fetch(B, [], at=T1)])
    build_index(tmp_path)
    assert [r["domain_rank"] for r in table_rows(tmp_path, "domains")] == [0.0, 0.0]


# ---------------------------------------------------------------------------
# Layout: buckets, order, row groups, schema
# ---------------------------------------------------------------------------


# Domains for the bucket hash: random ones, public suffixes, punycode (what the index
# stores), raw Unicode and odd strings (the hash must agree on any text it is given).
BUCKET_DOMAINS = [f"d{rng.randrange(10**9)}.example" for rng in [random.Random(7)]
                  for _ in range(300)] + [
    "example.com", "bbc.co.uk", "xn--bcher-kva.example", "xn--fiqs8s", "xn--80ak6aa92e.com",
    "bücher.example", "例え.jp", "пример.рф", "127.0.0.1", "[::1]", "localhost", "", "a'b",
]
BUCKET_COUNTS = (1, 2, 3, 7, 8, 64, 1000, 2**31 - 1)


def test_the_bucket_macro_of_the_queries_agrees_with_layout_bucket_of() -> None:
    from queries.session import macro_files

    (path,) = [p for p in macro_files() if p.name == "_bucket.sql"]
    con = duckdb.connect()
    con.execute(path.read_text())  # as queries.session loads it
    for n in BUCKET_COUNTS:
        got = con.execute(
            "SELECT d, bucket_of(d, $n) FROM unnest($ds) AS t(d)", {"n": n, "ds": BUCKET_DOMAINS}
        ).fetchall()
        assert dict(got) == {d: layout.bucket_of(d, n) for d in BUCKET_DOMAINS}, n


def test_the_bucket_hash_of_the_build_agrees_with_layout_bucket_of() -> None:
    # index/buckets.py hashes each target domain once, modulo the bucket count, when it
    # maps a part into runs: run its own expression.
    from index import buckets

    bucket = re.search(r"SELECT dst_domain, (.+?) AS bucket", buckets._BUCKET_OF_DOMAIN)
    assert bucket, "index/buckets.py no longer computes buckets as this test reads"
    con = duckdb.connect()
    for n in BUCKET_COUNTS:
        got = con.execute(
            f"SELECT dst_domain, {bucket[1]} FROM unnest($ds) AS t(dst_domain)",
            {"n": n, "ds": BUCKET_DOMAINS},
        ).fetchall()
        assert dict(got) == {d: layout.bucket_of(d, n) for d in BUCKET_DOMAINS}, n


@pytest.mark.parametrize("buckets", [3, 8])
def test_a_build_puts_each_edge_in_the_bucket_of_its_target_domain(
    tmp_path: Path, buckets: int
) -> None:
    targets = ["https://xn--bcher-kva.example/", "https://bücher.example/",
               "https://www.xn--80ak6aa92e.com/", "https://127.0.0.1/", "https://bbc.co.uk/",
               *(f"https://d{i}.example/" for i in range(30))]
    write_crawl(tmp_path, "c1", [fetch(A, targets, at=T1)])
    build_index(tmp_path, buckets=buckets)
    rows = [(row["dst_domain"], int(path.parent.name.removeprefix("bucket=")))
            for path in edge_files(tmp_path) for row in pq.read_table(path).to_pylist()]
    assert len(rows) == len(targets) and len({d for d, _ in rows}) == len(targets)
    assert [b for _, b in rows] == [layout.bucket_of(d, buckets) for d, _ in rows]


def test_index_edges_keep_their_column_order_and_take_their_types_from_edges() -> None:
    # The files' column order is part of the format: INDEX_EDGES derives from EDGES
    # without moving a column.
    assert INDEX_EDGES.names == [
        "dst_domain", "dst_url", "src_domain", "dst_host", "src_host", "src_url", "anchor",
        "kind", "alt", "nofollow", "ugc", "sponsored", "position", "ordinal", "external",
        "text_before", "text_after",
        "first_seen", "last_seen", "live", "last_seen_crawl", *LIFECYCLE, "src_domain_rank",
        "src_page_rank", "src_external_links", "src_ip", "src_lang",
    ]
    shared = [name for name in INDEX_EDGES.names if name in EDGES.names]
    assert sorted(shared) == sorted(set(EDGES.names) - {"crawl_id", "fetched_at"})
    assert all(INDEX_EDGES.field(name).equals(EDGES.field(name)) for name in shared)
    assert [field.name for field in INDEX_EDGES if field.nullable] == [
        "alt", "position", "text_before", "text_after", *LIFECYCLE, "src_external_links",
        "src_ip", "src_lang"]
    assert (*EDGE_PAGE_COLUMNS, *EDGE_LINK_COLUMNS) == tuple(EDGES.names)
    assert EDGE_PAGE_COLUMNS == ("crawl_id", "fetched_at", "src_url", "src_host", "src_domain")


def test_choose_buckets() -> None:
    assert choose_buckets(0) == 1
    assert choose_buckets(4_000_000) == 1
    assert choose_buckets(4_000_001) == 2
    assert choose_buckets(10_000_000) == 4
    assert choose_buckets(10**12) == 4096  # fixed by the first build: it looks ahead


def test_edges_are_bucketed_by_target_domain(tmp_path: Path) -> None:
    targets = [f"https://www.t{i}.example/page" for i in range(40)]
    write_crawl(tmp_path, "c1", [fetch(A, targets, at=T1), fetch(B, targets[:10], at=T1)])
    result = build_index(tmp_path, buckets=4)
    root = gen_dir(tmp_path)
    assert result.manifest["buckets"] == 4
    assert sorted(p.name for p in (root / "edges").iterdir()) == [f"bucket={n}" for n in range(4)]
    seen = 0
    for n in range(4):
        (file,) = (root / "edges" / f"bucket={n}").glob("*.parquet")
        rows = pq.read_table(file).to_pylist()
        for row in rows:
            assert layout.bucket_of(row["dst_domain"], 4) == n
            seen += 1
        # Each bucket is sorted on its own (all four come from one sort of the edges).
        keys = [tuple(row[c] for c in EDGE_ORDER) for row in rows]
        assert keys == sorted(keys) and len(rows) > 1
    assert seen == 50
    # As a hive dataset, the bucket column comes from the folder names.
    con = duckdb.connect()
    rows = con.execute(
        "SELECT dst_domain, bucket FROM read_parquet($glob, hive_partitioning = true)",
        {"glob": str(root / "edges" / "*" / "*.parquet")},
    ).fetchall()
    assert all(layout.bucket_of(d, 4) == b for d, b in rows) and len(rows) == 50


def test_one_bucket_for_a_small_index_even_with_no_edges(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, at=T1)])
    result = build_index(tmp_path)
    assert result.manifest["buckets"] == 1
    assert [f.relative_to(gen_dir(tmp_path)).as_posix() for f in edge_files(tmp_path)] == [
        "edges/bucket=0/data_0.parquet"
    ]
    assert index_edges(tmp_path) == []
    assert [r["domain"] for r in table_rows(tmp_path, "domains")] == ["a.example"]


def test_files_are_sorted_with_bounded_row_groups_and_the_schema(tmp_path: Path) -> None:
    rng = random.Random(1)
    fetches = []
    for i in range(60):
        src = f"https://www.s{i % 13}.example/p{i}"
        dsts = [f"https://www.t{rng.randrange(30)}.example/{rng.randrange(50)}" for _ in range(100)]
        fetches.append(fetch(src, [link(d, anchor=f"a{j % 3}") for j, d in enumerate(dsts)], at=T1))
    write_crawl(tmp_path, "c1", fetches)
    build_index(tmp_path, row_group_size=2048)
    (file,) = edge_files(tmp_path)
    meta = pq.read_metadata(file)
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert len(sizes) >= 2 and max(sizes) <= 2048
    rows = pq.read_table(file).to_pylist()
    assert len(rows) == sum(sizes) > 4096
    keys = [tuple(r[c] for c in EDGE_ORDER) for r in rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # Row groups hold disjoint target ranges: a per-target query reads few of them.
    col = meta.schema.to_arrow_schema().get_field_index("dst_domain")
    bounds = [(meta.row_group(i).column(col).statistics.min,
               meta.row_group(i).column(col).statistics.max) for i in range(meta.num_row_groups)]
    assert all(bounds[i][1] <= bounds[i + 1][0] for i in range(len(bounds) - 1))

    root = gen_dir(tmp_path)
    for path, schema, kind in (
        (file, INDEX_EDGES, "index_edges"),
        (root / "pages.parquet", INDEX_PAGES, "index_pages"),
        (root / "hosts.parquet", INDEX_HOSTS, "index_hosts"),
        (root / "domains.parquet", INDEX_DOMAINS, "index_domains"),
    ):
        assert pq.read_schema(path).remove_metadata() == schema, path.name
        kv = pq.read_metadata(path).metadata
        assert kv[b"linkindex.schema_version"] == b"1" and kv[b"linkindex.kind"] == kind.encode()
    pages = table_rows(tmp_path, "pages")
    page_keys = [(p["domain"], p["url"]) for p in pages]
    assert page_keys == sorted(set(page_keys))
    hosts = [(h["host"], h["domain"]) for h in table_rows(tmp_path, "hosts")]
    assert hosts == sorted(set(hosts))


# ---------------------------------------------------------------------------
# Rebuilds, manifest
# ---------------------------------------------------------------------------


def test_nothing_new_keeps_the_live_generation(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    first = build_index(tmp_path)
    again = build_index(tmp_path)
    assert not again.built
    assert (again.generation, again.manifest) == (first.generation, first.manifest)
    assert layout.generations(tmp_path) == [first.generation]

    write_crawl(tmp_path, "c2", [fetch(A, [C], at=T2, crawl_id="c2")])
    third = build_index(tmp_path)
    assert third.built and third.generation > first.generation
    assert layout.current_generation(tmp_path) == third.generation


def test_asking_for_other_buckets_rebuilds(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    first = build_index(tmp_path)
    assert not build_index(tmp_path, buckets=1).built
    assert build_index(tmp_path, buckets=2).manifest["buckets"] == 2
    assert first.manifest["buckets"] == 1


def test_a_forced_rebuild_writes_identical_tables(tmp_path: Path) -> None:
    rng = random.Random(3)
    for c in ("c1", "c2"):
        at = T1 if c == "c1" else T2
        fetches = [
            fetch(f"https://www.s{i}.example/", [
                link(f"https://www.t{rng.randrange(20)}.example/{rng.randrange(5)}",
                     anchor=rng.choice(["", "x", "y"]), nofollow=rng.random() < 0.3)
                for _ in range(30)
            ], at=at, crawl_id=c, status=rng.choice([200, 200, 404, 503]))
            for i in range(20)
        ]
        write_crawl(tmp_path, c, fetches)
    first = build_index(tmp_path, buckets=3)
    second = build_index(tmp_path, buckets=3, force=True)
    assert second.built and second.generation != first.generation
    one, two = all_tables(tmp_path, first.generation), all_tables(tmp_path, second.generation)
    assert one.keys() == two.keys()
    for name in one:
        assert one[name].equals(two[name]), name
    how = ("generation", "created_at", "build")  # "build": how it was built, and why
    assert {k: v for k, v in first.manifest.items() if k not in how} == {
        k: v for k, v in second.manifest.items() if k not in how
    }


def test_manifest(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B, C], at=T1), fetch(B, [A], at=T2)])
    write_crawl(tmp_path, "c2", [fetch(A, [B], at=T3, crawl_id="c2")])
    result = build_index(tmp_path)
    manifest = json.loads((gen_dir(tmp_path) / "manifest.json").read_text())
    assert manifest == result.manifest
    assert manifest["schema_version"] == 1
    assert manifest["generation"] == result.generation == "g000001"
    assert manifest["created_at"].endswith("+00:00")
    assert manifest["buckets"] == 1
    assert manifest["psl"]["policy"] == "icann" and len(manifest["psl"]["sha256"]) == 64
    assert manifest["crawls"] == [
        {"crawl_id": "c1", "pages": 2, "edges": 3,
         "first_fetch": "2025-01-01T10:00:00.000+00:00",
         "last_fetch": "2025-02-01T10:00:00.000+00:00"},
        {"crawl_id": "c2", "pages": 1, "edges": 1,
         "first_fetch": "2025-03-01T10:00:00.000+00:00",
         "last_fetch": "2025-03-01T10:00:00.000+00:00"},
    ]
    assert manifest["counts"] == {
        "edges": 3, "live_edges": 2, "raw_edges": 4, "pages": 2, "domains": 3, "hosts": 3,
    }
    parts = sorted(layout.raw_parts(tmp_path, "pages") + layout.raw_parts(tmp_path, "edges"))
    # The part list is a Parquet file beside the manifest, which stays small at scale.
    assert manifest["parts"] == "parts.parquet"
    assert pq.read_table(gen_dir(tmp_path) / "parts.parquet").to_pylist() == [
        {"path": p.relative_to(tmp_path).as_posix(), "table": p.parent.name,
         "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns, "skipped": None}
        for p in parts
    ]
    assert manifest["skipped_parts"] == []
    seconds = manifest["build"].pop("seconds")
    assert set(seconds) == {"plan", "map", "reduce", "ranks", "write"}
    assert all(s >= 0 for s in seconds.values())
    assert manifest["build"] == {
        "previous": None, "full_reason": "no index yet", "new_parts": 2,
        "buckets_rewritten": 1, "threads": None, "memory_limit": None, "spill_dir": None,
        "jobs": 1,
    }
    assert manifest["linkindex_version"]


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def test_corrupt_parts_are_skipped_and_the_rest_indexed(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    good = write_part(tmp_path, "c2", "edges", [edge_row(C, D, crawl_id="c2", fetched_at=T2)])
    half = write_part(tmp_path, "c2", "edges", [edge_row(C, A, crawl_id="c2", fetched_at=T2)])
    half.write_bytes(half.read_bytes()[: half.stat().st_size // 2])
    stub = layout.raw_dir(tmp_path, "c2", "edges") / "w1-000001.parquet"
    stub.write_bytes(b"PAR1")  # what a killed writer leaves
    garbage = layout.raw_dir(tmp_path, "c2", "pages") / "w1-000001.parquet"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(random.Random(0).randbytes(5000))

    result = build_index(tmp_path)
    skipped = {p.relative_to(tmp_path).as_posix() for p in (half, stub, garbage)}
    assert {s["path"] for s in result.manifest["skipped_parts"]} == skipped
    assert len(result.warnings) == 3
    for path in skipped:
        assert any(path in w for w in result.warnings)
    assert by_link(index_edges(tmp_path)) == by_link([
        expected_edge(A, B, first_seen=T1, last_seen=T1, live=True),
        expected_edge(C, D, crawl_id="c2", first_seen=T2, last_seen=T2, live=False),
    ])
    assert good.exists() and stub.exists()  # nothing is deleted from raw
    # The skipped parts are inputs too: nothing new next time.
    assert not build_index(tmp_path).built


def test_a_part_duckdb_cannot_read_is_dropped_and_the_build_retried(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    bad = write_part(tmp_path, "c2", "edges", [
        edge_row(C, f"https://www.t{i}.example/", crawl_id="c2", fetched_at=T2, ordinal=i)
        for i in range(200)
    ])
    # A good footer over a broken data page: wipe the first zstd frame's magic number.
    raw = bytearray(bad.read_bytes())
    frame = raw.index(b"\x28\xb5\x2f\xfd", 4)
    raw[frame : frame + 4] = b"\0\0\0\0"
    bad.write_bytes(bytes(raw))
    pq.read_metadata(bad)  # the cheap check passes

    result = build_index(tmp_path)
    rel = bad.relative_to(tmp_path).as_posix()
    assert [s["path"] for s in result.manifest["skipped_parts"]] == [rel]
    assert len(result.warnings) == 1 and rel in result.warnings[0]
    assert index_edges(tmp_path) == [expected_edge(A, B, first_seen=T1, last_seen=T1, live=True)]


def test_a_part_failing_without_naming_itself_is_found_by_probing(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    bad = write_part(tmp_path, "c2", "edges", [edge_row(C, D, crawl_id="c2", fetched_at=T2)])
    # Garbage over the first page header: DuckDB's error then names no file.
    first_page = pq.read_metadata(bad).row_group(0).column(0).data_page_offset
    raw = bytearray(bad.read_bytes())
    raw[first_page : first_page + 16] = b"\xff" * 16
    bad.write_bytes(bytes(raw))
    con = duckdb.connect()
    with pytest.raises(duckdb.Error) as info:
        con.execute("SELECT count(*) FROM read_parquet($p) GROUP BY crawl_id", {"p": str(bad)})
    assert str(bad) not in str(info.value)

    result = build_index(tmp_path)
    assert [s["path"] for s in result.manifest["skipped_parts"]] == [
        bad.relative_to(tmp_path).as_posix()
    ]
    assert index_edges(tmp_path) == [expected_edge(A, B, first_seen=T1, last_seen=T1, live=True)]


def test_a_part_with_missing_columns_is_skipped(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    odd = layout.raw_dir(tmp_path, "c1", "edges") / "w9-000001.parquet"
    layout.write_table(odd, pa.table({"src_url": [A]}), "edges")
    result = build_index(tmp_path)
    assert result.manifest["skipped_parts"] == [
        {"path": odd.relative_to(tmp_path).as_posix(), "reason": "column crawl_id is missing"}
    ]
    assert len(index_edges(tmp_path)) == 1


def test_a_part_of_the_wrong_kind_is_skipped(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    stray = write_part(tmp_path, "c1", "pages", [page_row(C)])
    moved = layout.raw_dir(tmp_path, "c1", "edges") / "w0-000099.parquet"
    stray.rename(moved)
    result = build_index(tmp_path)
    rel = moved.relative_to(tmp_path).as_posix()
    assert result.manifest["skipped_parts"] == [
        {"path": rel, "reason": "a 'pages' part among edges parts"}
    ]


def test_parts_with_other_column_orders_and_extra_columns_are_read_by_name(tmp_path: Path) -> None:
    page, edges = fetch(A, [B], at=T1)
    write_parts(tmp_path, "c1", [page], edges)
    # A part with its columns in reverse order and one column more (a later writer).
    table = edges_table([edge_row(C, D, fetched_at=T2, anchor="d")])
    table = table.select(list(reversed(table.column_names))).append_column(
        "extra", pa.array(["x"])
    )
    other = layout.raw_dir(tmp_path, "c1", "edges") / "w1-000001.parquet"
    layout.write_table(other, table, "edges")
    result = build_index(tmp_path)
    assert result.warnings == []
    assert by_link(index_edges(tmp_path)) == by_link([
        expected_edge(A, B, first_seen=T1, last_seen=T1, live=True),
        expected_edge(C, D, anchor="d", first_seen=T2, last_seen=T2, live=False),
    ])


def test_an_index_of_an_older_format_is_refused_by_queries_and_rebuilt(tmp_path: Path) -> None:
    from queries import run_query

    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    old = build_index(tmp_path)
    # What linkindex wrote before edges carried src_domain_rank: no index_format.
    manifest_path = gen_dir(tmp_path) / layout.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    del manifest["index_format"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(LinkindexError, match="index format 1") as info:
        run_query(tmp_path, "backlinks", ["b.example"])
    assert "run `linkindex build`" in str(info.value) and "\n" not in str(info.value)
    rebuilt = build_index(tmp_path)  # the raw parts are the same: rebuilt all the same
    assert rebuilt.built and rebuilt.generation != old.generation
    assert rebuilt.manifest["index_format"] == INDEX_FORMAT
    assert [r["src_url"] for r in run_query(tmp_path, "backlinks", ["b.example"]).to_pylist()] == [
        A
    ]


def test_a_newer_schema_version_stops_the_build(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    first = build_index(tmp_path)
    newer = write_part(tmp_path, "c2", "pages", [page_row(C, crawl_id="c2")])
    table = pq.read_table(newer)
    table = table.replace_schema_metadata({**table.schema.metadata,
                                           b"linkindex.schema_version": b"2"})
    pq.write_table(table, newer)
    with pytest.raises(LinkindexError, match="schema version 2") as info:
        build_index(tmp_path)
    assert str(newer) in str(info.value) and "\n" not in str(info.value)
    assert layout.current_generation(tmp_path) == first.generation
    assert layout.generations(tmp_path) == [first.generation]
    assert not any(p.name.startswith(".tmp-") for p in layout.index_root(tmp_path).iterdir())


def test_no_crawl_data_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LinkindexError, match="no crawl data in .*: run linkindex crawl first"):
        build_index(tmp_path)
    with pytest.raises(LinkindexError, match="does not exist"):
        build_index(tmp_path / "missing")


# Issue 13, item 11: damage inside a part behind an intact footer, found by every build.


def _dst_url_chunk(path: Path) -> tuple[int, int]:
    """(first byte, length) of the dst_url column chunk of a one-row-group part."""
    column = pq.read_metadata(path).row_group(0)
    for i in range(column.num_columns):
        chunk = column.column(i)
        if chunk.path_in_schema == "dst_url":  # its dictionary page first, if any
            return (chunk.dictionary_page_offset or chunk.data_page_offset,
                    chunk.total_compressed_size)
    raise AssertionError("no dst_url column")


def flip_a_byte_duckdb_reads_silently(path: Path) -> None:
    """Flip one byte inside the dst_url column's data (same size, footer intact) where
    DuckDB then reads the part without an error, and other URLs than were written."""
    written = pq.read_table(path).column("dst_url").to_pylist()
    good = path.read_bytes()
    start, size = _dst_url_chunk(path)
    con = duckdb.connect()
    for position in range(start, start + size):
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        path.write_bytes(bytes(damaged))
        try:
            read = con.execute("SELECT dst_url FROM read_parquet($p)", {"p": str(path)}).fetchall()
        except duckdb.Error:
            continue
        if [r[0] for r in read] != written:
            assert path.stat().st_size == len(good)
            pq.read_metadata(path)  # the footer check passes
            return
    raise AssertionError("no byte whose damage DuckDB reads silently")


def hundred_links(crawl_id: str, src: str, at: datetime) -> list[dict]:
    return [edge_row(src, f"https://www.t{i}.example/page-{i}", crawl_id=crawl_id,
                     fetched_at=at, ordinal=i, anchor=f"target number {i}") for i in range(100)]


def test_damage_inside_a_part_is_found_and_skipped_by_every_build(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    bad = write_part(tmp_path, "c2", "edges", hundred_links("c2", C, T2))
    flip_a_byte_duckdb_reads_silently(bad)
    rel = bad.relative_to(tmp_path).as_posix()

    first = build_index(tmp_path)
    assert first.built and [s["path"] for s in first.manifest["skipped_parts"]] == [rel]
    [reason] = [s["reason"] for s in first.manifest["skipped_parts"]]
    assert reason.startswith("damaged data (") and "CRC" in reason
    assert first.warnings == [f"skipped {rel}: {reason}"]  # one warning, naming the part
    assert index_edges(tmp_path) == [expected_edge(A, B, first_seen=T1, last_seen=T1, live=True)]
    # Nothing new: the live index still leaves the part out, and says so again, once.
    again = build_index(tmp_path)
    assert not again.built and again.warnings == first.warnings


def test_a_part_damaged_after_it_was_indexed_is_found_without_force(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    part = write_part(tmp_path, "c2", "edges", hundred_links("c2", C, T2))
    first = build_index(tmp_path)
    assert first.warnings == [] and len(index_edges(tmp_path)) == 101
    before = part.stat()
    flip_a_byte_duckdb_reads_silently(part)  # in place: same path, same size
    if part.stat().st_mtime_ns == before.st_mtime_ns:  # a coarse clock: still a new write
        os.utime(part, ns=(before.st_atime_ns, before.st_mtime_ns + 1))
    assert part.stat().st_size == before.st_size

    second = build_index(tmp_path)
    rel = part.relative_to(tmp_path).as_posix()
    assert second.built and [s["path"] for s in second.manifest["skipped_parts"]] == [rel]
    assert len(second.warnings) == 1 and second.warnings[0].startswith(f"skipped {rel}: ")
    assert index_edges(tmp_path) == [expected_edge(A, B, first_seen=T1, last_seen=T1, live=True)]


def test_each_part_is_read_whole_once_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index import part_checks

    read: list[str] = []
    real = part_checks.read_part

    def recording(path: Path, table: str, info: part_checks.PartInfo) -> None:
        read.append(path.relative_to(tmp_path).as_posix())
        real(path, table, info)

    monkeypatch.setattr(part_checks, "read_part", recording)
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    stub = layout.raw_dir(tmp_path, "c1", "edges") / "w9-000001.parquet"
    stub.write_bytes(b"PAR1")  # skipped by its footer: never read whole, never trusted
    first = {p.relative_to(tmp_path).as_posix()
             for p in layout.raw_parts(tmp_path, "pages") + layout.raw_parts(tmp_path, "edges")}
    assert build_index(tmp_path).built and sorted(read) == sorted(first - {
        stub.relative_to(tmp_path).as_posix()})
    read.clear()
    assert not build_index(tmp_path).built and read == []  # nothing new: nothing read
    page, edges = fetch(C, [D], at=T2, crawl_id="c2")
    new_pages, new_edges = write_parts(tmp_path, "c2", [page], edges)
    second = build_index(tmp_path)
    assert second.built and len(second.warnings) == 1
    assert sorted(read) == sorted(p.relative_to(tmp_path).as_posix()
                                  for p in (new_pages, new_edges))  # only the new parts
    read.clear()
    assert build_index(tmp_path, force=True).built
    assert len(read) == 4  # forced: every usable part again


def test_parts_carry_page_checksums_and_rows_must_match_the_footer(tmp_path: Path) -> None:
    from index.part_checks import PartInfo, PartProblem, check_part, read_part

    part = write_part(tmp_path, "c1", "edges", hundred_links("c1", C, T1))
    # Pages carry a CRC32 (Parquet's page checksum): damage DuckDB reads silently fails it.
    flip_a_byte_duckdb_reads_silently(part)
    with pytest.raises(OSError, match="CRC"):
        pq.read_table(part, page_checksum_verification=True)
    info = check_part(part, "edges")
    assert info.rows == 100
    with pytest.raises(PartProblem, match="^damaged data"):
        read_part(part, "edges", info)
    good = write_part(tmp_path, "c1", "edges", hundred_links("c1", D, T1))
    read_part(good, "edges", check_part(good, "edges"))
    with pytest.raises(PartProblem, match="^100 rows decoded, the footer says 99$"):
        read_part(good, "edges", PartInfo(rows=99, columns=info.columns))


def test_only_corrupt_parts_is_an_error(tmp_path: Path) -> None:
    stub = layout.raw_dir(tmp_path, "c1", "edges") / "w0-000001.parquet"
    stub.parent.mkdir(parents=True)
    stub.write_bytes(b"PAR1")
    with pytest.raises(LinkindexError, match="no readable crawl data"):
        build_index(tmp_path)
    assert layout.current_generation(tmp_path) is None


# ---------------------------------------------------------------------------
# Generations, readers, lock
# ---------------------------------------------------------------------------


def test_a_reader_keeps_reading_its_generation_during_and_after_builds(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B, C], at=T1)])
    old = build_index(tmp_path).generation
    old_glob = str(gen_dir(tmp_path, old) / "edges" / "*" / "*.parquet")
    con = duckdb.connect()
    con.read_parquet(old_glob).create_view("old_edges")
    dataset = ds.dataset(gen_dir(tmp_path, old) / "edges", format="parquet", partitioning="hive")

    def snapshot() -> list[tuple]:
        return con.execute("SELECT src_url, dst_url, live FROM old_edges ORDER BY ALL").fetchall()

    before = snapshot()
    assert before == [(A, B, True), (A, C, True)]
    more = [fetch(f"https://www.x{i}.example/", [A, B], at=T2, crawl_id="c2") for i in range(50)]
    write_crawl(tmp_path, "c2", [fetch(A, [D], at=T2, crawl_id="c2"), *more])

    errors: list[BaseException] = []
    results = []

    def run() -> None:
        try:
            results.append(build_index(tmp_path, keep=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    builder = threading.Thread(target=run)
    builder.start()
    reads = 0
    while builder.is_alive() or reads == 0:
        assert snapshot() == before
        live = layout.current_generation(tmp_path)
        assert (gen_dir(tmp_path, live) / "manifest.json").exists()  # never half a generation
        reads += 1
    builder.join()
    assert not errors and results[0].built
    assert snapshot() == before
    assert dataset.to_table().num_rows == 2
    assert layout.generations(tmp_path) == [old, results[0].generation]  # the old live one kept


def test_old_generations_are_pruned_beyond_keep(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    built = [build_index(tmp_path, force=True, keep=2).generation for _ in range(4)]
    assert layout.generations(tmp_path) == built[-2:]
    build_index(tmp_path, force=True, keep=1)
    # keep=1, but the generation live when the build started is never deleted
    assert layout.generations(tmp_path) == ["g000004", "g000005"]
    assert not any(p.name.startswith(".tmp-") for p in layout.index_root(tmp_path).iterdir())


def test_a_second_build_at_once_is_refused(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    root = layout.index_root(tmp_path)
    root.mkdir()
    with open(root / ".build.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LinkindexError, match="another build is running"):
            build_index(tmp_path)
    assert build_index(tmp_path).built


def test_leftovers_of_a_killed_build_are_removed(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    root = layout.index_root(tmp_path)
    (root / ".tmp-g000001" / "edges").mkdir(parents=True)
    (root / ".tmp-g000001" / "edges" / "junk.parquet").write_bytes(b"PAR1")
    (root / ".tmp-duckdb").mkdir()
    (root / f".tmp-{os.getpid()}-CURRENT").write_text("g000001\n")
    result = build_index(tmp_path)
    assert result.generation == "g000001"
    assert sorted(p.name for p in root.iterdir()) == [".build.lock", "CURRENT", "g000001"]


def test_bad_arguments(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    with pytest.raises(LinkindexError, match="keep"):
        build_index(tmp_path, keep=0)
    with pytest.raises(LinkindexError, match="buckets"):
        build_index(tmp_path, buckets=0)
    with pytest.raises(LinkindexError, match="bad build setting"):
        build_index(tmp_path, memory_limit="lots")


def test_metrics_of_an_index_built_before_receipts_is_one_line(tmp_path: Path) -> None:
    from clitools import assert_one_line_error
    from indexdata import edge, write_index

    write_index(tmp_path, [edge("https://a.example/", "https://b.example/")])
    assert "metrics" not in layout.read_manifest(tmp_path)
    proc = linkindex("metrics", "--data", tmp_path, check=False)
    assert_one_line_error(proc, "records no metrics (built before they were recorded): run "
                                "`linkindex build --force` to rebuild it")


def reference_trust(nodes: list[str], arcs: set[tuple[str, str]],
                    seeds: set[str]) -> tuple[dict[str, float], int, float]:
    """TrustRank in floats: PageRank whose teleport and dangling mass go to the seeds
    only (Gyöngyi et al. 2004), scaled as docs/metrics.md says; with the iterations run
    and the last L1 change."""
    out = {x: [d for s, d in sorted(arcs) if s == x] for x in nodes}
    k = len(seeds & set(nodes))
    t = {x: (1 / k if x in seeds else 0.0) for x in nodes}
    iterations = 0
    for iterations in range(1, 51):  # noqa: B007 - the count is returned
        dangling = sum(t[x] for x in nodes if not out[x])
        new = {x: (0.15 + 0.85 * dangling) / k if x in seeds else 0.0 for x in nodes}
        for s in nodes:
            for d in out[s]:
                new[d] += 0.85 * t[s] / len(out[s])
        change = sum(abs(new[x] - t[x]) for x in nodes)
        t = new
        if change < 1e-9:
            break
    dangling = sum(t[x] for x in nodes if not out[x])
    base = (0.15 + 0.85 * dangling) / k  # a seed's share of the teleport and dangling mass
    return {x: fixed_scale(t[x], base, top=100.0) for x in nodes}, iterations, change


def test_domain_trust_flows_from_the_seeds_along_dofollow_links(tmp_path: Path) -> None:
    """TrustRank: a chain from the seed loses trust with each hop; a domain the seeds
    reach only through nofollow, ugc or sponsored links, or not at all, has none; trust
    beside rank in `domains`, with their ratio; the receipt names the seeds."""
    def url(name: str) -> str:
        return f"https://{name}.example/"

    fetches = [
        fetch(url("seed"), [url("one"), url("two"), link(url("ugc"), ugc=True)], at=T1),
        fetch(url("one"), [url("two"), url("three")], at=T1),
        fetch(url("three"), [url("far")], at=T1),
        # a link farm: many domains linking one another, none reached from the seed
        *(fetch(url(f"farm{i}"), [url(f"farm{(i + 1) % 4}"), url("spam")], at=T1)
          for i in range(4)),
        fetch(url("ugc"), [url("spam")], at=T1),
    ]
    write_crawl(tmp_path, "c1", fetches)
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("# vouched for\nhttps://www.seed.example/about\n\nseed.example\n")
    assert linkindex("build", "--data", tmp_path, "--trust-seeds", seeds_file).returncode == 0
    rows = {r["domain"]: r for r in table_rows(tmp_path, "domains")}

    nodes = sorted(rows)
    arcs = {("seed.example", "one.example"), ("seed.example", "two.example"),
            ("one.example", "two.example"), ("one.example", "three.example"),
            ("three.example", "far.example"), ("ugc.example", "spam.example")}
    arcs |= {(f"farm{i}.example", f"farm{(i + 1) % 4}.example") for i in range(4)}
    arcs |= {(f"farm{i}.example", "spam.example") for i in range(4)}
    expected, iterations, change = reference_trust(nodes, arcs, {"seed.example"})
    for domain in nodes:
        assert abs(rows[domain]["domain_trust"] - expected[domain]) <= 0.1, domain
    assert rows["seed.example"]["domain_trust"] == 100.0
    assert rows["one.example"]["domain_trust"] > rows["three.example"]["domain_trust"] \
        > rows["far.example"]["domain_trust"] > 0.0
    for domain in ("ugc.example", "spam.example", "farm0.example"):
        assert rows[domain]["domain_trust"] == 0.0, domain
    assert rows["spam.example"]["domain_rank"] > rows["two.example"]["domain_rank"]
    for row in rows.values():
        ratio = (round(row["domain_trust"] / row["domain_rank"], 2)
                 if row["domain_rank"] > 0 else None)
        assert row["trust_ratio"] == ratio, row["domain"]
    overview = json.loads(linkindex("query", "overview", "three.example", "--data", tmp_path,
                                    "--format", "json").stdout)
    assert overview[0]["domain_trust"] == rows["three.example"]["domain_trust"]
    receipt = layout.read_manifest(tmp_path)["metrics"]["domain_trust"]
    assert receipt["seeds"] == {"given": 1, "in_graph": 1,
                                "sha256": hashlib.sha256(b"seed.example\n").hexdigest()}
    assert receipt["graph"]["arcs"] == len(arcs)
    # trust going round the chain seed → one → three → far → (dangling) → seed shrinks
    # by the damping each step: 50 steps leave it short of 1e-9, and the receipt says so
    assert (receipt["iterations"], receipt["converged"]) == (iterations, change < 1e-9)
    assert abs(receipt["final_delta"] - change) < 1e-12

    # the same seeds: up to date; other seeds or none: a new build, trust with them
    again = linkindex("build", "--data", tmp_path, "--trust-seeds", seeds_file).stdout
    assert "is up to date" in again
    seeds_file.write_text("farm0.example\n")
    linkindex("build", "--data", tmp_path, "--trust-seeds", seeds_file)
    rows = {r["domain"]: r for r in table_rows(tmp_path, "domains")}
    assert rows["farm0.example"]["domain_trust"] == 100.0
    assert rows["seed.example"]["domain_trust"] == 0.0
    linkindex("build", "--data", tmp_path)
    rows = {r["domain"]: r for r in table_rows(tmp_path, "domains")}
    assert {r["domain_trust"] for r in rows.values()} == {None}
    assert "domain_trust" not in layout.read_manifest(tmp_path)["metrics"]


def test_a_bad_trust_seeds_file_is_one_line(tmp_path: Path) -> None:
    from clitools import assert_one_line_error

    write_crawl(tmp_path, "c1", [fetch(A, [B], at=T1)])
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("good.example\nnot a domain at all\n")
    proc = linkindex("build", "--data", tmp_path, "--trust-seeds", seeds, check=False)
    assert_one_line_error(proc, f"{seeds}:2: not a domain: 'not a domain at all'")
    seeds.write_text("# nothing\n")
    proc = linkindex("build", "--data", tmp_path, "--trust-seeds", seeds, check=False)
    assert_one_line_error(proc, "no trust seeds in it")
    proc = linkindex("build", "--data", tmp_path, "--trust-seeds", tmp_path / "nope",
                     check=False)
    assert_one_line_error(proc, "cannot read trust seeds")
    assert layout.current_generation(tmp_path) is None
