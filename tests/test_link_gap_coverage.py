"""link_gap's coverage: whether "does not link to me" was measured on a domain's crawled
pages, how many there are, and one example link to each competitor (docs/compare.md).

The hand-made index: me.example and its competitors rival.example and other.example.
crawled.example has fetched pages; archive.example's links come with no page of it (as
from an imported archive whose sources were not crawled); ghost.example has no domains
row at all; both.example links to me too, so it is no gap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from indexdata import edge, page, write_index

from core import layout
from queries import Filters, connect, run_query

ME, RIVAL, OTHER = "me.example", "rival.example", "other.example"
COMPETITORS = (RIVAL, OTHER)
CA, CB = "https://crawled.example/a", "https://crawled.example/b"
AX = "https://archive.example/x"


def ranked(row: dict[str, Any], src_page_rank: float) -> dict[str, Any]:
    return {**row, "src_page_rank": src_page_rank}


EDGES = [
    # crawled.example: /b has the higher page rank, so it is rival's example though /a
    # sorts first; other's only link is from /a.
    ranked(edge(CA, "https://rival.example/", "rival from a"), 0.2),
    ranked(edge(CB, "https://rival.example/pricing", "rival from b"), 0.9),
    ranked(edge(CA, "https://other.example/", "other from a"), 0.2),
    ranked(edge(CA, "https://rival.example/old", "gone", live=False), 5.0),  # not counted
    # archive.example: ties on page rank, then src_url, then dst_url, then anchor.
    ranked(edge(AX, "https://rival.example/2", "a"), 0.5),
    ranked(edge(AX, "https://rival.example/1", "z"), 0.5),
    ranked(edge(AX, "https://rival.example/1", "b"), 0.5),
    ranked(edge("https://archive.example/y", "https://rival.example/", "y"), 0.1),
    # ghost.example: no domains row (removed below)
    edge("https://ghost.example/", "https://other.example/", "ghost"),
    # both.example links to me as well: no gap, crawled or not
    edge("https://both.example/", "https://rival.example/", "both"),
    edge("https://both.example/", "https://me.example/", "me"),
    # me.example's own link to a competitor: my domain is never listed
    edge("https://me.example/", "https://rival.example/", "mine"),
    # links to nobody in the question: their bucket (6) is never read
    edge(CA, "https://elsewhere.example/", "elsewhere"),
]
PAGES = [page(CA), page(CB), page("https://crawled.example/c"), page("https://both.example/"),
         page("https://me.example/"), page("https://rival.example/")]
RANKS = {"crawled.example": 30, "archive.example": 20, "ghost.example": 10, "both.example": 5}
NO_DOMAINS_ROW = "ghost.example"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gap")
    generation = write_index(root, EDGES, PAGES, RANKS)
    domains = layout.generation_dir(root, generation) / "domains.parquet"
    table = pq.read_table(domains)
    kept = table.filter([d != NO_DOMAINS_ROW for d in table.column("domain").to_pylist()])
    assert kept.num_rows == table.num_rows - 1
    pq.write_table(kept, domains)  # before any session reads it
    return root


def expected_gap(min_overlap: int = 1) -> list[dict[str, Any]]:
    """The gap computed from EDGES and PAGES, without the index."""
    mine = {e["src_domain"] for e in EDGES if e["dst_domain"] == ME and e["live"]
            and e["external"]}
    links: dict[str, list[dict[str, Any]]] = {}
    for e in EDGES:
        if (e["dst_domain"] in COMPETITORS and e["live"] and e["external"]
                and e["src_domain"] not in mine and e["src_domain"] != ME):
            links.setdefault(e["src_domain"], []).append(e)
    crawled = {d: sum(p["domain"] == d for p in PAGES) for d in links}
    rows = []
    for domain, found in links.items():
        competitors = sorted({e["dst_domain"] for e in found})
        if len(competitors) < min_overlap:
            continue
        examples = []
        for competitor in competitors:
            best = min((e for e in found if e["dst_domain"] == competitor),
                       key=lambda e: (-e.get("src_page_rank", 0.0), e["src_url"], e["dst_url"],
                                      e["anchor"]))
            examples.append({"competitor": competitor, "src_url": best["src_url"],
                             "dst_url": best["dst_url"], "anchor": best["anchor"]})
        rows.append({
            "src_domain": domain, "domain_rank": float(RANKS[domain]),
            "competitors_linked": len(competitors), "competitors": competitors,
            "backlinks": len(found),
            "coverage": "measured" if crawled[domain] else "unknown",
            "pages_crawled": crawled[domain], "examples": examples,
            "source": "crawl", "cc_harmonic_pos": None,  # no web graph imported here
        })
    rows.sort(key=lambda r: (-r["competitors_linked"], -r["domain_rank"], r["src_domain"]))
    return rows


def gap(data: Path, *competitors: str, **options: Any) -> list[dict[str, Any]]:
    return run_query(data, "link_gap", [ME, *competitors], **options).to_pylist()


def test_coverage_pages_crawled_and_examples(data: Path) -> None:
    got = gap(data, RIVAL, OTHER)
    assert got == expected_gap()
    # The same, written out: what the computation above must give.
    assert got == [
        {"src_domain": "crawled.example", "domain_rank": 30.0, "competitors_linked": 2,
         "competitors": [OTHER, RIVAL], "backlinks": 3, "coverage": "measured",
         "pages_crawled": 3, "source": "crawl", "cc_harmonic_pos": None, "examples": [
             {"competitor": OTHER, "src_url": CA, "dst_url": "https://other.example/",
              "anchor": "other from a"},
             {"competitor": RIVAL, "src_url": CB, "dst_url": "https://rival.example/pricing",
              "anchor": "rival from b"}]},
        {"src_domain": "archive.example", "domain_rank": 20.0, "competitors_linked": 1,
         "competitors": [RIVAL], "backlinks": 4, "coverage": "unknown", "pages_crawled": 0,
         "source": "crawl", "cc_harmonic_pos": None,
         "examples": [{"competitor": RIVAL, "src_url": AX, "dst_url": "https://rival.example/1",
                       "anchor": "b"}]},
        {"src_domain": "ghost.example", "domain_rank": 10.0, "competitors_linked": 1,
         "competitors": [OTHER], "backlinks": 1, "coverage": "unknown", "pages_crawled": 0,
         "source": "crawl", "cc_harmonic_pos": None,
         "examples": [{"competitor": OTHER, "src_url": "https://ghost.example/",
                       "dst_url": "https://other.example/", "anchor": "ghost"}]},
    ]


def test_columns_keep_their_order_and_types(data: Path) -> None:
    table = run_query(data, "link_gap", [ME, RIVAL, OTHER])
    assert table.column_names == ["src_domain", "domain_rank", "competitors_linked",
                                  "competitors", "backlinks", "coverage", "pages_crawled",
                                  "examples", "source", "cc_harmonic_pos"]
    assert str(table.schema.field("examples").type) == (
        "list<l: struct<competitor: string, src_url: string, dst_url: string, anchor: string>>")
    assert str(table.schema.field("pages_crawled").type) == "int64"
    assert str(table.schema.field("backlinks").type) == "int64"


def test_min_overlap_and_filters_apply_to_the_examples(data: Path) -> None:
    assert gap(data, RIVAL, OTHER, min_overlap=2) == expected_gap(min_overlap=2)
    # With lost links counted, /old (page rank 5) becomes crawled.example's rival example.
    everything = gap(data, RIVAL, OTHER, filters=Filters(live_only=False))
    crawled = next(r for r in everything if r["src_domain"] == "crawled.example")
    assert crawled["backlinks"] == 4
    assert crawled["examples"][1] == {"competitor": RIVAL, "src_url": CA,
                                      "dst_url": "https://rival.example/old", "anchor": "gone"}
    # One competitor: one example each, in the competitor's name.
    assert [(r["src_domain"], [x["competitor"] for x in r["examples"]])
            for r in gap(data, RIVAL)] == [("crawled.example", [RIVAL]),
                                            ("archive.example", [RIVAL])]


def test_the_stock_session_gives_the_same_rows(data: Path) -> None:
    con = connect(data)
    sql = "SELECT * FROM link_gap($me, $competitors)"
    got = con.sql(sql, params={"me": ME, "competitors": [RIVAL, OTHER]}).to_arrow_table()
    assert got.to_pylist() == expected_gap()


def test_it_reads_only_the_row_groups_of_me_and_the_competitors(data: Path) -> None:
    """As before coverage and examples: my links come from my bucket's file; the
    competitors' from their buckets' row groups only (a dynamic filter on dst_domain;
    one row group per bucket file here)."""
    buckets = {p.parent.name for p in data.glob("index/*/edges/*/*.parquet")}
    competitors = {f"bucket={layout.bucket_of(d, 8)}" for d in COMPETITORS}
    mine = f"bucket={layout.bucket_of(ME, 8)}"
    assert len(buckets - competitors - {mine}) == 1, "elsewhere.example's bucket: skipped"
    con = connect(data)
    [(_, plan)] = con.sql(
        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM link_gap($me, $competitors)",
        params={"me": ME, "competitors": list(COMPETITORS)}).fetchall()
    scans: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        if (node.get("type") == "TABLE_SCAN"
                and "/edges/" in str(node.get("extra_info", {}).get("Filename(s)"))):
            scans.append(node)
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(plan)["operator"]:
        walk(node)
    by_files = {Path(s["extra_info"]["Filename(s)"]).parent.name: s for s in scans}
    assert set(by_files) == {mine, "bucket=*"}
    assert by_files[mine]["extra_info"]["Total Files Read"] == "1"
    theirs = by_files["bucket=*"]
    assert (theirs["row_groups_scanned"], theirs["total_row_groups_to_scan"]) == (
        len(competitors), len(buckets))


def test_the_command_shows_them(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from linkindex.cli import main

    assert main(["query", "link_gap", ME, RIVAL, OTHER, "--format", "json",
                 "--data", str(data)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(r["src_domain"], r["coverage"], r["pages_crawled"]) for r in shown] == [
        ("crawled.example", "measured", 3), ("archive.example", "unknown", 0),
        ("ghost.example", "unknown", 0)]
    assert shown[1]["examples"] == expected_gap()[1]["examples"]

