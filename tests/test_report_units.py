"""Unit tests of the report's pieces, without a browser: column definitions
(queries.catalogue.column_docs), paging a result (report.results.page_of), URL
parameters (report.params) and the domain rank histogram (report.charts.rank_bins).

Expected values are written by hand or computed with plain Python, not with pyarrow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from core.errors import LinkindexError
from queries import QUERIES, Filters, run_query
from queries.catalogue import column_docs
from report.charts import RANK_BINS, rank_bins
from report.params import call_from, call_params, view_request_from
from report.profile import ViewRequest
from report.results import QueryCall, page_of, result

# ---------------------------------------------------------------------------
# queries.catalogue.column_docs
# ---------------------------------------------------------------------------

# Positional arguments for the queries that take more than a target.
QUERY_ARGS = {
    "changes": ["site1.example", "c1", "c1"],
    "new_lost": ["site1.example", "2000-01-01"],
    "link_gap": ["site1.example", "site0.example", "site2.example"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(QUERIES))
def test_every_returned_column_has_a_definition(crawled: Path, name: str) -> None:
    table = run_query(crawled, name, QUERY_ARGS.get(name, ["site1.example"]))
    docs = column_docs(name)
    assert table.column_names
    assert [column for column in table.column_names if not docs.get(column)] == []


def test_the_queries_the_report_shows_are_all_documented() -> None:
    """The columns each of these queries returns (as its header lists them), every one
    with a definition of one line."""
    columns = {
        "overview": ["target", "scope", "backlinks", "referring_domains", "referring_hosts",
                     "referring_pages", "referring_ips", "referring_subnets", "dofollow",
                     "nofollow", "ugc", "sponsored", "image_links", "redirects",
                     "canonicals", "lost", "first_seen", "last_seen", "domain_rank",
                     "domain_trust", "pages_crawled", "cc_release", "cc_referring_domains",
                     "all_referring_domains", "cc_harmonic_pos", "cc_harmonic", "cc_pr_pos",
                     "cc_pr"],
        "link_mix": ["facet", "value", "backlinks", "referring_domains", "backlinks_share"],
        "history": ["crawl_id", "crawl_started", "crawl_ended", "backlinks",
                    "referring_domains", "dofollow_referring_domains", "new_backlinks",
                    "lost_backlinks", "new_referring_domains", "lost_referring_domains"],
    }
    for name, expected in columns.items():
        docs = column_docs(name)
        assert list(docs) == expected, name
        assert all(docs[column] for column in expected), name
    for name in ("overview", "referring_domains", "anchors", "top_pages", "new_lost",
                 "link_gap", "link_mix", "history"):
        docs = column_docs(name)
        assert docs, name
        assert [column for column, text in docs.items() if not text] == [], name


def test_column_doc_texts() -> None:
    overview = column_docs("overview")
    assert overview["backlinks"] == "links to the target"
    assert overview["target"] == overview["scope"] == "as given"
    # Two lines joined by one space; a line naming three columns defines all three.
    assert overview["referring_ips"] == (
        "distinct addresses the linking pages' sites resolved to (edges.src_ip, recorded "
        "by the crawler; NULL ones not counted)")
    for rel in ("nofollow", "ugc", "sponsored"):
        assert overview[rel] == "links carrying each rel token (a link may carry several)"
    assert column_docs("link_mix")["value"] == (
        "a link kind or a position on the page (core.schema's KINDS and POSITIONS) found "
        "among the links (NULL: links without a position, redirects and canonicals); for "
        "rel, each of dofollow, "
        "nofollow, ugc, sponsored, zeros included (dofollow: no nofollow, ugc or "
        "sponsored; a link may carry several)")
    assert column_docs("link_mix")["backlinks_share"] == (
        "backlinks / all the links counted, 0..1, rounded half up to 4 decimals (0 when none)")
    backlinks = column_docs("backlinks")
    for column in ("found_at", "lost_at", "lost_reason"):  # names on one line, text below
        assert backlinks[column] == (
            "its latest span: found, and (with live_only := false) when and why it was "
            "lost (docs/history.md)")


def test_column_docs_are_single_lines() -> None:
    for name in QUERIES:
        for column, text in column_docs(name).items():
            assert "\n" not in text and "  " not in text, (name, column)
            assert text == text.strip(), (name, column)


def test_column_docs_of_a_header(tmp_path: Path) -> None:
    (tmp_path / "x.sql").write_text(
        "-- x(target): a test query.\n"
        "--\n"
        "-- Parameters: target, scope := 'domain'\n"
        "--\n"
        "-- Columns:\n"
        "--   a                    first line,\n"
        "--                        second line\n"
        "--                          and a third\n"
        "--   b, c                 shared by two\n"
        "--   d\n"
        "--\n"
        "-- Order: a.\n"
        "--   e                    after the block\n"
        "SELECT 1;\n")
    assert column_docs("x", tmp_path) == {
        "a": "first line, second line and a third",
        "b": "shared by two",
        "c": "shared by two",
        "d": "",
    }
    (tmp_path / "y.sql").write_text("-- y(target): no columns block.\n--\nSELECT 1;\n")
    assert column_docs("y", tmp_path) == {}


# ---------------------------------------------------------------------------
# report.results.page_of
# ---------------------------------------------------------------------------

ROWS: list[dict[str, Any]] = [
    {"name": "Alpha", "n": 3, "x": 1.5, "tags": ["Red", "blue"], "ok": True},
    {"name": "beta", "n": None, "x": 2.25, "tags": [], "ok": False},
    {"name": None, "n": 1, "x": None, "tags": None, "ok": None},
    {"name": "Gamma", "n": 3, "x": 0.5, "tags": ["x", "Acme"], "ok": True},
    {"name": "delta", "n": 2, "x": 7.75, "tags": ["acme|co"], "ok": False},
    {"name": "alpha", "n": 1, "x": -1.25, "tags": ["Blue"], "ok": None},
]
SCHEMA = pa.schema([("name", pa.string()), ("n", pa.int64()), ("x", pa.float64()),
                    ("tags", pa.list_(pa.string())), ("ok", pa.bool_())])
COLUMNS = ["name", "n", "x", "tags", "ok"]


def table() -> pa.Table:
    return pa.Table.from_pylist(ROWS, schema=SCHEMA)


def chunked() -> pa.Table:
    """The same rows in three record batches."""
    whole = table()
    return pa.concat_tables([whole.slice(0, 2), whole.slice(2, 3), whole.slice(5)])


def order(column: str, descending: bool = False) -> list[int]:
    """Row numbers sorted by `column` with plain Python: stable, nulls last."""
    present = [i for i, row in enumerate(ROWS) if row[column] is not None]
    missing = [i for i, row in enumerate(ROWS) if row[column] is None]
    return sorted(present, key=lambda i: ROWS[i][column], reverse=descending) + missing


def rows_at(indexes: list[int]) -> list[dict[str, Any]]:
    return [ROWS[i] for i in indexes]


def test_order_helper() -> None:
    """The hand-checked orders the sort tests rely on."""
    assert order("n") == [2, 5, 4, 0, 3, 1]
    assert order("n", descending=True) == [0, 3, 4, 2, 5, 1]
    assert order("name") == [0, 3, 5, 1, 4, 2]
    assert order("name", descending=True) == [4, 1, 5, 3, 0, 2]
    assert order("ok") == [1, 4, 0, 3, 2, 5]
    assert order("ok", descending=True) == [0, 3, 1, 4, 2, 5]
    assert order("x", descending=True) == [4, 1, 0, 3, 5, 2]


@pytest.mark.parametrize("make", [table, chunked])
@pytest.mark.parametrize("column", ["name", "n", "x", "ok"])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_is_stable_with_nulls_last(make: Callable[[], pa.Table], column: str,
                                        descending: bool) -> None:
    page = page_of(make(), sort=column, descending=descending)
    assert page.records == rows_at(order(column, descending))
    assert (page.total, page.matched, page.page, page.pages, page.size) == (6, 6, 1, 1, 50)


def test_no_sort_keeps_the_query_order() -> None:
    page = page_of(chunked())
    assert page.columns == COLUMNS
    assert page.records == ROWS
    assert page.rows == [
        ["Alpha", "3", "1.5", "Red|blue", "true"],
        ["beta", "", "2.25", "", "false"],
        ["", "1", "", "", ""],
        ["Gamma", "3", "0.5", "x|Acme", "true"],
        ["delta", "2", "7.75", "acme|co", "false"],
        ["alpha", "1", "-1.25", "Blue", ""],
    ]


@pytest.mark.parametrize(("search", "expected"), [
    ("ALPHA", [0, 5]),  # any case
    ("lph", [0, 5]),  # a substring
    ("acme", [3, 4]),  # inside a list, any element
    ("BLUE", [0, 5]),
    ("red|blue", [0]),  # a list's elements joined with "|"
    ("e|co", [4]),  # ... and a "|" of the text itself
    ("x", [3]),
    ("2.25", [1]),  # numbers
    ("-1.2", [5]),
    ("3", [0, 3]),
    ("7", [4]),
    ("true", [0, 3]),  # booleans as true / false
    ("fals", [1, 4]),
    ("zzz", []),
])
def test_search(search: str, expected: list[int]) -> None:
    for make in (table, chunked):
        page = page_of(make(), search=search)
        assert page.records == rows_at(expected)
        assert (page.total, page.matched, page.page, page.pages) == (
            6, len(expected), 1, 1)


def test_search_then_sort() -> None:
    page = page_of(table(), search="A", sort="n", descending=True)
    # "a" is in rows 0, 1, 3, 4, 5 (names; 1 by "beta"): by n descending, null last
    assert page.records == rows_at([0, 3, 4, 5, 1])
    assert (page.total, page.matched) == (6, 5)


def test_paging() -> None:
    assert [page_of(table(), page=n, size=2).records for n in (1, 2, 3)] == [
        rows_at([0, 1]), rows_at([2, 3]), rows_at([4, 5])]
    page = page_of(table(), page=2, size=4)
    assert page.records == rows_at([4, 5])
    assert (page.total, page.matched, page.page, page.pages, page.size) == (6, 6, 2, 2, 4)
    page = page_of(table(), sort="n", page=2, size=4)
    assert page.records == rows_at([3, 1])


def test_page_clamps_to_the_last() -> None:
    page = page_of(table(), page=99, size=4)
    assert page.records == rows_at([4, 5])
    assert (page.page, page.pages) == (2, 2)
    page = page_of(table(), search="acme", page=5, size=1)
    assert page.records == rows_at([4])
    assert (page.total, page.matched, page.page, page.pages, page.size) == (6, 2, 2, 2, 1)
    page = page_of(table(), page=1, size=1000)
    assert (page.page, page.pages, page.size) == (1, 1, 1000)


def test_nothing_matched_is_one_empty_page() -> None:
    page = page_of(table(), search="no such text", page=3, size=2)
    assert (page.records, page.rows) == ([], [])
    assert (page.total, page.matched, page.page, page.pages) == (6, 0, 1, 1)
    empty = pa.Table.from_pylist([], schema=SCHEMA)
    page = page_of(empty, sort="n", page=2)
    assert (page.columns, page.records) == (COLUMNS, [])
    assert (page.total, page.matched, page.page, page.pages) == (0, 0, 1, 1)


def test_bad_sort() -> None:
    with pytest.raises(LinkindexError) as caught:
        page_of(table(), sort="nope")
    assert str(caught.value) == "bad sort 'nope': not a column (name, n, x, tags, ok)"


@pytest.mark.parametrize(("page", "size"), [(1, 0), (1, -1), (1, 1001), (0, 50), (-1, 50)])
def test_bad_page_or_size(page: int, size: int) -> None:
    with pytest.raises(LinkindexError) as caught:
        page_of(table(), page=page, size=size)
    assert str(caught.value) == "bad page: page is 1 or more, size 1 to 1000"


def test_search_a_list_holding_a_null() -> None:
    rows = pa.table({"tags": pa.array([["x", None, "Acme"], ["y"]], pa.list_(pa.string()))})
    assert page_of(rows, search="acme").matched == 1


def test_search_finds_the_text_a_cell_shows() -> None:
    moment = datetime(2026, 12, 5, 1, 25, 17, 980000, tzinfo=UTC)
    rows = pa.table({"rank": [10.0, 25.5],
                     "seen": pa.array([moment, moment], pa.timestamp("us", tz="UTC"))})
    shown = page_of(rows).rows
    assert shown == [["10.0", "2026-12-05T01:25:17.980Z"], ["25.5", "2026-12-05T01:25:17.980Z"]]
    assert page_of(rows, search="10.0").matched == 1
    assert page_of(rows, search="2026-12-05T01:25:17.980Z").matched == 2


def test_sort_by_a_list_column_sorts_by_its_text() -> None:
    """A list sorts as its cell shows it (a|b|c), nulls last: link_gap's competitors."""
    def text(i: int) -> str | None:
        tags = ROWS[i]["tags"]
        return None if tags is None else "|".join("" if t is None else t for t in tags)

    for descending in (False, True):
        present = [i for i in range(len(ROWS)) if text(i) is not None]
        missing = [i for i in range(len(ROWS)) if text(i) is None]
        expected = sorted(present, key=text, reverse=descending) + missing
        got = page_of(table(), sort="tags", descending=descending, size=100).records
        assert got == [ROWS[i] for i in expected]


# ---------------------------------------------------------------------------
# report.params
# ---------------------------------------------------------------------------

AS_OF = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
UNTIL = datetime(2025, 7, 1, tzinfo=UTC)


def round_trip(call: QueryCall) -> QueryCall:
    params = call_params(call)
    return call_from(dict(params), [value for key, value in params if key == "arg"])


def test_backlinks_call_round_trip() -> None:
    options = {"brands": ("Acme", "Acme Inc"), "group_similar": True, "min_domain_rank": 30.5,
               "sitewide": False, "src_tld": "co.uk", "seen_field": "last_seen",
               "seen_since": "2025-01-01", "anchor_contains": "blue widgets"}
    call = QueryCall("backlinks", ("site1.example",), "host",
                     Filters(live_only=False, dofollow_only=True, external_only=False,
                             kind="a", position="footer", as_of=AS_OF, until=UNTIL),
                     tuple(sorted(options.items())))
    assert call_params(call) == [
        ("query", "backlinks"), ("arg", "site1.example"), ("scope", "host"),
        ("include_lost", "yes"), ("dofollow", "yes"), ("include_internal", "yes"),
        ("kind", "a"), ("position", "footer"),
        ("as_of", "2025-06-01T12:30:00+00:00"), ("until", "2025-07-01T00:00:00+00:00"),
        ("anchor_contains", "blue widgets"), ("brands", "Acme, Acme Inc"),
        ("group_similar", "true"), ("min_domain_rank", "30.5"), ("seen_field", "last_seen"),
        ("seen_since", "2025-01-01"), ("sitewide", "false"), ("src_tld", "co.uk"),
    ]
    assert round_trip(call) == call


def test_anchors_call_round_trip() -> None:
    call = QueryCall("anchors", ("example.com",),
                     options=(("brands", ("Acme", "Acme Inc")), ("keywords", ("widgets",))))
    assert call_params(call) == [
        ("query", "anchors"), ("arg", "example.com"), ("scope", "domain"),
        ("brands", "Acme, Acme Inc"), ("keywords", "widgets"),
    ]
    assert round_trip(call) == call
    plain = QueryCall("anchors", ("example.com",))
    assert call_params(plain) == [("query", "anchors"), ("arg", "example.com"),
                                  ("scope", "domain")]
    assert round_trip(plain) == plain


def test_link_gap_call_round_trip() -> None:
    call = QueryCall("link_gap", ("me.example", "a.example", "b.example"),
                     filters=Filters(dofollow_only=True))
    assert round_trip(call) == call


def test_call_from_reads_forms() -> None:
    call = call_from({"query": "backlinks", "scope": "", "dofollow": " Yes ",
                      "include_lost": "0", "group_similar": "ON", "sitewide": "no",
                      "min_domain_rank": " 30 ", "brands": "Acme,  Foo ,\nBar,,",
                      "keywords": "  ", "src_tld": ""}, ["site1.example"])
    assert call == QueryCall(
        "backlinks", ("site1.example",), "domain", Filters(dofollow_only=True),
        (("brands", ("Acme", "Foo", "Bar")), ("group_similar", True),
         ("min_domain_rank", 30.0), ("sitewide", False)))
    assert call_from({"query": "anchors"}) == QueryCall("anchors", ())


@pytest.mark.parametrize(("params", "message"), [
    ({"query": "backlinks", "group_similar": "maybe"},
     "bad group_similar 'maybe': use true or false"),
    ({"query": "backlinks", "sitewide": "2"}, "bad sitewide '2': use true or false"),
    ({"query": "backlinks", "min_domain_rank": "thirty"},
     "bad min_domain_rank 'thirty': use a number"),
    ({"query": "backlinks", "dofollow": "maybe"}, "bad dofollow 'maybe': use yes or no"),
    ({"query": "anchors", "include_lost": "sometimes"},
     "bad include_lost 'sometimes': use yes or no"),
    ({"query": "anchors", "as_of": "yesterday"},
     "bad date 'yesterday' for as_of: use ISO 8601, e.g. 2025-06-01 or 2025-06-01T12:00:00Z"),
])
def test_bad_form_values(params: dict[str, str], message: str) -> None:
    with pytest.raises(LinkindexError) as caught:
        call_from(params, ["site1.example"])
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_unknown_query() -> None:
    with pytest.raises(LinkindexError) as caught:
        call_from({"query": "nope"})
    assert str(caught.value) == (
        f"unknown query 'nope': choose one of {', '.join(sorted(QUERIES))}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("params", [{}, {"target": ""}, {"target": "   "},
                                    {"scope": "host", "compare": "a.example"}])
def test_view_request_without_target(params: dict[str, str]) -> None:
    with pytest.raises(LinkindexError) as caught:
        view_request_from(params)
    assert str(caught.value) == "no target: name a domain, host, URL or URL prefix"


def test_view_request() -> None:
    assert view_request_from({"target": " example.com ", "scope": "host", "dofollow": "yes",
                              "as_of": "2025-06-01T12:30:00Z",
                              "compare": "a.example, b.example,\nc.example,"}) == ViewRequest(
        "example.com", "host", Filters(dofollow_only=True, as_of=AS_OF),
        ("a.example", "b.example", "c.example"))
    assert view_request_from({"target": "example.com"}) == ViewRequest("example.com")


def test_a_call_with_a_list_option_is_hashable() -> None:
    """A call is report.results.result's cache key."""
    params = {"query": "anchors", "brands": "Acme, Foo", "keywords": "widgets"}
    call = call_from(params, ["example.com"])
    assert hash(call) == hash(call_from(dict(params), ["example.com"]))
    assert {call: 1}[call_from(dict(params), ["example.com"])] == 1


@pytest.mark.slow
def test_a_call_from_a_form_runs(crawled: Path) -> None:
    """A form's call (list, boolean and number options) gives run_query's answer, cached
    or not."""
    call = call_from({"query": "anchors", "brands": "Site One, Acme", "keywords": "blog"},
                     ["site1.example"])
    expected = run_query(crawled, "anchors", ["site1.example"],
                         options={"brands": ["Site One", "Acme"], "keywords": ["blog"]})
    assert expected.num_rows > 0
    assert result(crawled, call).to_pylist() == expected.to_pylist()
    assert result(crawled, call).to_pylist() == expected.to_pylist()
    call = call_from({"query": "backlinks", "group_similar": "yes", "min_domain_rank": "1",
                      "dofollow": "yes"}, ["site1.example"])
    expected = run_query(crawled, "backlinks", ["site1.example"],
                         filters=Filters(dofollow_only=True),
                         options={"group_similar": True, "min_domain_rank": 1.0})
    assert expected.num_rows > 0
    assert result(crawled, call).to_pylist() == expected.to_pylist()


# ---------------------------------------------------------------------------
# report.charts.rank_bins
# ---------------------------------------------------------------------------


def one_in(index: int) -> list[int]:
    return [1 if i == index else 0 for i in range(10)]


def test_rank_bins_edges() -> None:
    assert len(RANK_BINS) == 10
    assert (RANK_BINS[0], RANK_BINS[1], RANK_BINS[-1]) == ("0-10", "10-20", "90-100")
    assert rank_bins([0]) == one_in(0)
    assert rank_bins([0.0]) == one_in(0)
    assert rank_bins([9.99]) == one_in(0)
    assert rank_bins([10]) == one_in(1)
    assert rank_bins([10.0]) == one_in(1)
    assert rank_bins([19.999]) == one_in(1)
    assert rank_bins([50.0]) == one_in(5)
    assert rank_bins([89.99]) == one_in(8)
    assert rank_bins([90]) == one_in(9)
    assert rank_bins([99.9]) == one_in(9)
    assert rank_bins([100]) == one_in(9)
    assert rank_bins([100.0]) == one_in(9)


def test_rank_bins_counts() -> None:
    assert rank_bins([]) == [0] * 10
    assert rank_bins([None, None]) == [0] * 10
    assert rank_bins([0, 9.99, None, 10, 25.3, 25.3, 99.9, 100, None]) == [
        2, 1, 2, 0, 0, 0, 0, 0, 0, 2]
