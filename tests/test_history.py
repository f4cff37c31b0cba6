"""A link's life on small hand-made crawls: spans, reasons, re-found links, now_nofollow,
as_of, and the history queries in every scope (docs/history.md). The crawls of the
synthetic web are in tests/test_history_web.py."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from clitools import assert_one_line_error, linkindex
from rawdata import fetch, link, utc, write_crawl, write_part

from core import layout
from core.errors import LinkindexError
from index.build import build_index
from queries import Filters, run_query, run_sql

T1, T2, T3, T4 = (utc(f"2025-0{m}-01T10:00") for m in (1, 2, 3, 4))
SRC = "https://www.src.example/page"
OTHER = "https://blog.other.example/post"
TARGET = "https://www.target.example/"
PAGE = "https://www.target.example/page"


def edges(data: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Every index edge by (src_url, dst_url)."""
    root = layout.generation_dir(data, layout.current_generation(data))
    rows = [r for f in sorted(root.glob("edges/*/*.parquet")) for r in pq.read_table(f).to_pylist()]
    return {(r["src_url"], r["dst_url"]): r for r in rows}


def life(row: dict[str, Any]) -> tuple:
    return (row["live"], row["found_at"], row["lost_at"], row["lost_reason"], row["lost_to"],
            row["nofollow_at"], row["past_spans"])


def query(data: Path, name: str, *args: str, **filters: Any) -> list[dict[str, Any]]:
    scope = filters.pop("scope", "domain")
    return run_query(data, name, list(args), scope=scope, filters=Filters(**filters)).to_pylist()


def test_a_link_lost_and_found_again_keeps_its_history(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(SRC, [], at=T2, crawl_id="c2")])
    build_index(tmp_path)
    assert life(edges(tmp_path)[SRC, TARGET]) == (False, T1, T2, "link_removed", None, None,
                                                   None)
    write_crawl(tmp_path, "c3", [fetch(SRC, [TARGET], at=T3, crawl_id="c3")])
    build_index(tmp_path)  # incremental: the lost span is kept, a new one opens
    row = edges(tmp_path)[SRC, TARGET]
    past = [{"found_at": T1, "lost_at": T2, "lost_reason": "link_removed", "lost_to": None}]
    assert life(row) == (True, T3, None, None, None, None, past)
    assert (row["first_seen"], row["last_seen"]) == (T1, T3)
    changes = [(r["change"], r["changed_at"], r["lost_reason"], r["refound"])
               for r in query(tmp_path, "new_lost", "target.example", "2025-01-01")]
    assert changes == [("new", T3, None, True), ("lost", T2, "link_removed", False),
                       ("new", T1, None, False)]
    # as the index stood between the two spans, the link was lost; within each, live
    gap, first = T2 + timedelta(days=3), T1 + timedelta(days=3)
    assert query(tmp_path, "backlinks", "target.example", as_of=gap) == []
    assert [r["live"] for r in query(tmp_path, "backlinks", "target.example", as_of=gap,
                                     live_only=False)] == [False]
    assert len(query(tmp_path, "backlinks", "target.example", as_of=first)) == 1
    assert query(tmp_path, "backlinks", "target.example", as_of=T1 - timedelta(days=1),
                 live_only=False) == []  # not seen yet
    history = [(r["crawl_id"], r["backlinks"], r["referring_domains"], r["new_backlinks"],
                r["lost_backlinks"], r["new_referring_domains"], r["lost_referring_domains"])
               for r in query(tmp_path, "history", "target.example")]
    assert history == [("c1", 1, 1, 1, 0, 1, 0), ("c2", 0, 0, 0, 1, 0, 1),
                       ("c3", 1, 1, 1, 0, 1, 0)]
    assert [(r["change"], r["lost_reason"]) for r in
            query(tmp_path, "changes", "target.example", "c1", "c2")] == [("lost", "link_removed")]
    assert [r["change"] for r in query(tmp_path, "changes", "target.example", "c2", "c3")] == [
        "new"]
    assert query(tmp_path, "changes", "target.example", "c1", "c3") == []


@pytest.mark.parametrize(("page", "reason", "lost_to"), [
    ({"status": 404}, "page_gone", None),
    ({"status": 410}, "page_gone", None),
    ({"status": 503}, "page_error", None),
    ({"status": None}, "fetch_failed", None),
    ({"error": "extract: ValueError: bad"}, "fetch_failed", None),
    ({"status": 301, "redirect_to": PAGE}, "page_redirects", PAGE),
    ({"meta_noindex": True}, "page_noindex", None),
    ({"canonical": "https://www.src.example/other"}, "canonical_changed",
     "https://www.src.example/other"),
])
def test_each_reason_a_page_gives(tmp_path: Path, page: dict, reason: str,
                                  lost_to: str | None) -> None:
    """The page fetched again says why its link no longer counts; a noindex or
    canonicalised page keeps the link on it, and still passes nothing."""
    keeps = reason in ("page_noindex", "canonical_changed")
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET], at=T1, canonical=SRC)])
    write_crawl(tmp_path, "c2", [fetch(SRC, [TARGET] if keeps else [], at=T2, crawl_id="c2",
                                       **page)])
    build_index(tmp_path)
    row = edges(tmp_path)[SRC, TARGET]
    assert life(row) == (False, T1, T2, reason, lost_to, None, None)
    assert row["last_seen"] == (T2 if keeps else T1)
    [lost] = query(tmp_path, "new_lost", "target.example", "2025-01-15")
    assert (lost["change"], lost["changed_at"], lost["lost_reason"], lost["lost_to"]) == (
        "lost", T2, reason, lost_to)
    [change] = query(tmp_path, "changes", "target.example", "c1", "c2")
    assert (change["change"], change["lost_reason"], change["lost_to"]) == ("lost", reason, lost_to)
    [overview] = query(tmp_path, "overview", "target.example")
    assert (overview["backlinks"], overview["lost"]) == (0, 1)


def test_redirect_and_canonical_links_count_whatever_the_page_says(tmp_path: Path) -> None:
    moved = "https://www.src.example/moved"
    write_crawl(tmp_path, "c1", [
        fetch(moved, [link(TARGET, kind="redirect", position=None)], at=T1, status=301,
              redirect_to=TARGET),
        fetch(SRC, [link(PAGE, kind="canonical", position=None), OTHER], at=T1,
              canonical=PAGE, meta_noindex=True),
    ])
    build_index(tmp_path)
    got = {key: row["live"] for key, row in edges(tmp_path).items()}
    assert got == {(moved, TARGET): True, (SRC, PAGE): True, (SRC, OTHER): False}
    other = edges(tmp_path)[SRC, OTHER]
    assert (other["found_at"], other["lost_at"], other["lost_reason"]) == (None, None, None)
    [overview] = query(tmp_path, "overview", "other.example")
    assert (overview["backlinks"], overview["lost"]) == (0, 0)  # never counted: not lost
    assert query(tmp_path, "new_lost", "other.example", "2000-01-01") == []


def test_a_link_made_nofollow_is_lost_as_followed_and_stays_live(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(SRC, [link(TARGET, nofollow=True)], at=T2, crawl_id="c2")])
    write_crawl(tmp_path, "c3", [fetch(SRC, [link(TARGET, ugc=True)], at=T3, crawl_id="c3")])
    build_index(tmp_path)
    row = edges(tmp_path)[SRC, TARGET]
    assert life(row) == (True, T1, None, None, None, T2, None)
    [lost] = query(tmp_path, "new_lost", "target.example", "2025-01-15")
    assert (lost["change"], lost["changed_at"], lost["lost_reason"], lost["live"]) == (
        "lost", T2, "now_nofollow", True)
    assert [(r["change"], r["lost_reason"]) for r in query(
        tmp_path, "changes", "target.example", "c1", "c2", dofollow_only=True)] == [
        ("lost", "now_nofollow")]
    assert query(tmp_path, "changes", "target.example", "c2", "c3") == []  # still not followed
    # as of the first crawl it passed credit; now it does not
    assert len(query(tmp_path, "backlinks", "target.example", dofollow_only=True,
                     as_of=T1 + timedelta(days=1))) == 1
    assert query(tmp_path, "backlinks", "target.example", dofollow_only=True) == []
    assert [(r["crawl_id"], r["dofollow_referring_domains"], r["referring_domains"])
            for r in query(tmp_path, "history", "target.example")] == [
        ("c1", 1, 1), ("c2", 0, 1), ("c3", 0, 1)]
    # a link never followed did not stop passing credit: no now_nofollow
    write_crawl(tmp_path, "c4", [fetch(OTHER, [link(TARGET, sponsored=True)], at=T4,
                                       crawl_id="c4")])
    build_index(tmp_path)
    assert edges(tmp_path)[OTHER, TARGET]["nofollow_at"] == T4
    assert [(r["src_url"], r["change"]) for r in query(
        tmp_path, "new_lost", "target.example", "2025-03-15")] == [(OTHER, "new")]


def test_a_source_not_fetched_again_is_unknown_not_lost(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET], at=T1), fetch(OTHER, [TARGET], at=T1)])
    write_crawl(tmp_path, "c2", [
        fetch(SRC, [], at=T2, crawl_id="c2", status=None, error="robots: disallowed by robots.txt"),
        fetch(OTHER, [TARGET], at=T2, crawl_id="c2"),
    ])
    build_index(tmp_path)
    assert edges(tmp_path)[SRC, TARGET]["live"] is True  # nobody looked: still counted
    assert [(r["change"], r["lost_reason"], r["src_url"], r["fetched_b"]) for r in query(
        tmp_path, "changes", "target.example", "c1", "c2")] == [
        ("unknown", "not_recrawled", SRC, None)]
    assert query(tmp_path, "new_lost", "target.example", "2025-01-15") == []


def test_history_queries_in_every_scope(tmp_path: Path) -> None:
    blog = "https://blog.target.example/a"
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET, PAGE, blog], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(SRC, [PAGE], at=T2, crawl_id="c2"),
                                 fetch(OTHER, [blog], at=T2, crawl_id="c2")])
    build_index(tmp_path)
    cases = {  # scope, target -> (lost in c2, new in c2)
        ("domain", "target.example"): ({TARGET, blog}, {blog}),
        ("host", "www.target.example"): ({TARGET}, set()),
        ("host", "blog.target.example"): ({blog}, {blog}),
        ("exact", TARGET): ({TARGET}, set()),
        ("prefix", "https://www.target.example/p"): (set(), set()),
    }
    for (scope, target), (lost, new) in cases.items():
        changes = query(tmp_path, "changes", target, "c1", "c2", scope=scope)
        assert {r["dst_url"] for r in changes if r["change"] == "lost"} == lost, target
        assert {r["dst_url"] for r in changes if r["change"] == "new"} == new, target
        since = query(tmp_path, "new_lost", target, "2025-01-15", scope=scope)
        assert sorted((r["change"], r["dst_url"]) for r in since) == sorted(
            [("lost", u) for u in lost] + [("new", u) for u in new]), target
        c1, c2 = query(tmp_path, "history", target, scope=scope)
        assert (c2["lost_backlinks"], c2["new_backlinks"]) == (len(lost), len(new)), target
        assert c2["backlinks"] == c1["backlinks"] - len(lost) + len(new), target


def test_a_crawl_the_index_does_not_hold_is_one_clear_error(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET], at=T1)])
    build_index(tmp_path)
    with pytest.raises(LinkindexError, match="unknown crawl 'c9': the index holds no fetch of it"):
        query(tmp_path, "changes", "target.example", "c1", "c9")
    proc = linkindex("query", "changes", "target.example", "c1", "nope", "--data", tmp_path,
                     check=False)
    assert_one_line_error(proc, "unknown crawl 'nope'")
    proc = linkindex("query", "backlinks", "target.example", "--as-of", "last week",
                     "--data", tmp_path, check=False)
    assert_one_line_error(proc, "bad date 'last week' for --as-of")


def test_the_command_line_reads_as_of_and_until(tmp_path: Path) -> None:
    write_crawl(tmp_path, "c1", [fetch(SRC, [TARGET], at=T1)])
    write_crawl(tmp_path, "c2", [fetch(SRC, [PAGE], at=T2, crawl_id="c2")])
    build_index(tmp_path)
    csv = tmp_path / "out.csv"
    linkindex("export", "backlinks", "target.example", "--as-of", "2025-01-15",
              "--data", tmp_path, "-o", csv)
    out = csv.read_text()
    assert TARGET in out and PAGE not in out
    linkindex("export", "new_lost", "target.example", "2025-01-01", "--until", "2025-01-15",
              "--data", tmp_path, "-o", csv)
    lines = csv.read_text().strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("new,") and TARGET in lines[1]
    # sql: the history views and macros are there for an analyst too
    out = linkindex("sql", "SELECT crawl_id, backlinks FROM history('target.example')",
                    "--data", tmp_path).stdout
    assert "c1" in out and "c2" in out


def test_a_pages_part_after_its_edges_part_places_the_sightings(tmp_path: Path) -> None:
    """The build that reads a fetch late (its edges were read a build before) places the
    sightings kept in `unplaced`, as a full build would."""
    page, links = fetch(SRC, [TARGET], at=T1)
    write_part(tmp_path, "c1", "edges", links)
    build_index(tmp_path)
    row = edges(tmp_path)[SRC, TARGET]
    assert (row["live"], row["found_at"]) == (False, None)
    assert row["unplaced"] == [{"crawl_id": "c1", "fetched_at": T1, "follow": True}]
    write_part(tmp_path, "c1", "pages", [page])
    build_index(tmp_path)
    row = edges(tmp_path)[SRC, TARGET]
    assert (row["live"], row["found_at"], row["unplaced"]) == (True, T1, None)


def test_links_to_a_url_that_moved_count_for_where_it_went(tmp_path: Path) -> None:
    """Credit (docs/history.md): permanent redirects and canonicals, chains of both,
    flagged; a loop, a 302 and a URL of the target itself do not move credit."""
    old, mid = "https://old.example/a", "https://old.example/b"
    copy = "https://www.target.example/page?ref=1"
    temp, loop_a, loop_b = ("https://old.example/temp", "https://old.example/x",
                            "https://old.example/y")
    write_crawl(tmp_path, "c1", [
        fetch(SRC, [old, copy, temp, loop_a], at=T1),
        fetch(OTHER, [PAGE], at=T1),
        fetch(old, [link(mid, kind="redirect", position=None)], at=T1, status=301,
              redirect_to=mid),
        fetch(mid, [link(PAGE, kind="redirect", position=None)], at=T1, status=308,
              redirect_to=PAGE),
        fetch(copy, [link(PAGE, kind="canonical", position=None)], at=T1, canonical=PAGE),
        fetch(PAGE, [], at=T1, canonical=PAGE),
        fetch(temp, [link(PAGE, kind="redirect", position=None)], at=T1, status=302,
              redirect_to=PAGE),
        fetch(loop_a, [link(loop_b, kind="redirect", position=None)], at=T1, status=301,
              redirect_to=loop_b),
        fetch(loop_b, [link(loop_a, kind="redirect", position=None)], at=T1, status=301,
              redirect_to=loop_a),
    ])
    build_index(tmp_path)
    def backlinks(target: str, scope: str) -> dict[tuple, tuple]:
        return {(r["src_url"], r["linked_url"]): (r["dst_url"], r["kind"], r["via_redirect"],
                                                  r["via_canonical"])
                for r in query(tmp_path, "backlinks", target, scope=scope)}

    assert backlinks(PAGE, "exact") == {
        (SRC, old): (PAGE, "a", True, False),  # 301 then 308
        (SRC, copy): (PAGE, "a", False, True),  # the copy names PAGE canonical
        (old, mid): (PAGE, "redirect", True, False),  # old's redirect to mid moves on
        (OTHER, PAGE): (PAGE, "a", False, False),
        (mid, PAGE): (PAGE, "redirect", False, False),
        (temp, PAGE): (PAGE, "redirect", False, False),  # a 302 links, and passes nothing on
    }  # copy's canonical link is internal to target.example
    assert backlinks("target.example", "domain") == {
        (SRC, old): (PAGE, "a", True, False),
        (SRC, copy): (copy, "a", False, False),  # a URL of the target: counted as it is
        (old, mid): (PAGE, "redirect", True, False),
        (OTHER, PAGE): (PAGE, "a", False, False),
        (mid, PAGE): (PAGE, "redirect", False, False),
        (temp, PAGE): (PAGE, "redirect", False, False),
    }
    # a loop moves credit up to where it would close: x -> y, y -> x
    # (x's own redirect link to y is internal to old.example)
    assert backlinks(loop_b, "exact") == {(SRC, loop_a): (loop_b, "a", True, False)}
    [overview] = query(tmp_path, "overview", PAGE, scope="exact")
    assert (overview["backlinks"], overview["referring_domains"]) == (6, 3)
    [top] = query(tmp_path, "top_pages", "target.example")[:1]
    assert (top["dst_url"], top["backlinks"]) == (PAGE, 5)
    # the credits table, for a DuckDB user too
    assert run_sql(tmp_path, "SELECT from_url, to_url, hops FROM credits ORDER BY from_url"
                   ).to_pylist() == [
        {"from_url": old, "to_url": PAGE, "hops": 2},
        {"from_url": mid, "to_url": PAGE, "hops": 1},
        {"from_url": loop_a, "to_url": loop_b, "hops": 1},
        {"from_url": loop_b, "to_url": loop_a, "hops": 1},
        {"from_url": copy, "to_url": PAGE, "hops": 1},
    ]
