"""`linkindex compare` and queries.compare.compare_targets on two hand-made crawls.

Crawl c1 (T1) and c2 (T2, and T2 + 1h), what happens to the links of the three targets:

- alpha.example: s1's dofollow link stays; s2's nofollow link stays; s3/a answers 404 in
  c2 (its link lost, page_gone, and s3 with it); s4 is new in c2 with two links, one to
  www.alpha.example.
- beta.example: s1 drops its (nofollow) link in c2 (lost, and s1 with it); s3/b keeps
  its link; alpha.example's home page links to it and is not fetched again (unknown,
  still counted); s4 is new.
- gamma.example: s2's link becomes nofollow in c2 (a 'lost' row, now_nofollow; still a
  link, so s2 stays a referring domain unless --dofollow); s5 is new with two links.

The default window starts when c2 started (T2, its first fetch).
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from clitools import assert_one_line_error, linkindex
from indexdata import edge, write_index
from rawdata import fetch, link, utc, write_crawl

from core import layout
from core.errors import LinkindexError
from index.build import build_index
from queries import Filters, run_query
from queries.compare import compare_targets

T1, T2 = utc("2025-01-01T10:00"), utc("2025-02-01T10:00")
HOUR = timedelta(hours=1)
S1, S2, S3, S3B = ("https://s1.example/a", "https://s2.example/a", "https://s3.example/a",
                   "https://s3.example/b")
S4, S5 = "https://s4.example/a", "https://s5.example/a"
ALPHA, BETA, GAMMA = "https://alpha.example/", "https://beta.example/", "https://gamma.example/"
TARGETS = ["alpha.example", "beta.example", "gamma.example"]

OVERVIEW_COLUMNS = [
    "target", "scope", "backlinks", "referring_domains", "referring_hosts", "referring_pages",
    "dofollow", "nofollow", "ugc", "sponsored", "image_links", "redirects", "canonicals",
    "lost", "first_seen", "last_seen", "domain_rank", "domain_trust", "pages_crawled",
]
CHANGE_COLUMNS = ["dofollow_share", "since", "new_links", "lost_links",
                  "new_referring_domains", "lost_referring_domains"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    write_crawl(root, "c1", [
        fetch(S1, [ALPHA, link(BETA, nofollow=True)], at=T1),
        fetch(S2, [link("https://alpha.example/x", nofollow=True), GAMMA], at=T1),
        fetch(S3, [ALPHA], at=T1),
        fetch(S3B, [BETA], at=T1 + 2 * HOUR),
        fetch(ALPHA, [BETA], at=T1 + HOUR),
        fetch(GAMMA, [], at=T1 + HOUR),
    ])
    write_crawl(root, "c2", [
        fetch(S1, [ALPHA], at=T2, crawl_id="c2"),
        fetch(S2, [link("https://alpha.example/x", nofollow=True), link(GAMMA, nofollow=True)],
              at=T2, crawl_id="c2"),
        fetch(S3, [], at=T2 + HOUR, crawl_id="c2", status=404),
        fetch(S3B, [BETA], at=T2 + HOUR, crawl_id="c2"),
        fetch(S4, ["https://alpha.example/new", "https://www.alpha.example/p", BETA], at=T2,
              crawl_id="c2"),
        fetch(S5, [GAMMA, "https://gamma.example/about"], at=T2, crawl_id="c2"),
    ])
    build_index(root)
    return root


def ranks(data: Path) -> dict[str, float]:
    """domain_rank of each domain, read from the generation's domains.parquet."""
    path = layout.generation_dir(data, layout.current_generation(data)) / "domains.parquet"
    return {r["domain"]: r["domain_rank"] for r in pq.read_table(path).to_pylist()}


def row(target: str, rank: float, **values: Any) -> dict[str, Any]:
    """A whole expected row: the counts given, zero for the other counts."""
    counts = dict.fromkeys(("ugc", "sponsored", "image_links", "redirects", "canonicals"), 0)
    return {"target": target, "scope": "domain", **counts, "domain_rank": rank,
            "domain_trust": None, "since": T2, **values}


def test_three_targets_side_by_side(data: Path) -> None:
    rank = ranks(data)
    got = compare_targets(data, TARGETS)
    overview = run_query(data, "overview", ["alpha.example"]).column_names
    assert got.column_names == overview + CHANGE_COLUMNS
    # the overview columns this test knows, in order (overview may have gained others)
    assert [name for name in overview if name in OVERVIEW_COLUMNS] == OVERVIEW_COLUMNS
    expected = [
        # live: s1 -> /, s2 -> /x (nofollow), s4 -> /new and www./p; s3's link lost
        row("alpha.example", rank["alpha.example"], backlinks=4, referring_domains=3,
            referring_hosts=3, referring_pages=3, dofollow=3, nofollow=1, lost=1,
            first_seen=T1, last_seen=T2, pages_crawled=1, dofollow_share=0.75,
            new_links=2, lost_links=1, new_referring_domains=1, lost_referring_domains=1),
        # live: s3/b, s4, alpha.example/ (not fetched again); s1's nofollow link lost
        row("beta.example", rank["beta.example"], backlinks=3, referring_domains=3,
            referring_hosts=3, referring_pages=3, dofollow=3, nofollow=0, lost=1,
            first_seen=T1 + HOUR, last_seen=T2 + HOUR, pages_crawled=0, dofollow_share=1.0,
            new_links=1, lost_links=1, new_referring_domains=1, lost_referring_domains=1),
        # live: s2 (now nofollow), s5 twice; the now_nofollow row is lost_links' one
        row("gamma.example", rank["gamma.example"], backlinks=3, referring_domains=2,
            referring_hosts=2, referring_pages=2, dofollow=2, nofollow=1, lost=0,
            first_seen=T1, last_seen=T2, pages_crawled=1, dofollow_share=round(2 / 3, 4),
            new_links=2, lost_links=1, new_referring_domains=1, lost_referring_domains=0),
    ]
    assert all(set(e) == {*OVERVIEW_COLUMNS, *CHANGE_COLUMNS} for e in expected)  # whole rows
    assert [{name: r[name] for name in e} for r, e in zip(got.to_pylist(), expected,
                                                         strict=True)] == expected
    assert expected[2]["dofollow_share"] == 0.6667


def test_order_is_as_given_and_targets_are_normalised(data: Path) -> None:
    got = compare_targets(data, ["GAMMA.example.", "alpha.example"])
    assert got.column("target").to_pylist() == ["gamma.example", "alpha.example"]
    [one] = compare_targets(data, ["beta.example"]).to_pylist()
    assert (one["backlinks"], one["new_links"]) == (3, 1)


def test_no_backlinks_no_share(data: Path) -> None:
    [s3] = compare_targets(data, ["s3.example"]).to_pylist()  # pages, no links to it
    assert (s3["backlinks"], s3["pages_crawled"], s3["dofollow_share"]) == (0, 2, None)
    assert [s3[c] for c in CHANGE_COLUMNS[2:]] == [0, 0, 0, 0]


def changes(table: Any) -> list[tuple[Any, ...]]:
    return [(r["target"], r["backlinks"], r["since"], r["new_links"], r["lost_links"],
             r["new_referring_domains"], r["lost_referring_domains"]) for r in table.to_pylist()]


def test_dofollow_counts_a_domain_lost_when_its_link_stops_passing_credit(data: Path) -> None:
    got = compare_targets(data, ["gamma.example"], filters=Filters(dofollow_only=True))
    # s2's link passed credit before T2 and not since: s2 is lost; s5's two links are new
    assert changes(got) == [("gamma.example", 2, T2, 2, 1, 1, 1)]


def test_scope_host(data: Path) -> None:
    got = compare_targets(data, ["alpha.example", "WWW.alpha.example"], scope="host")
    assert got.column("scope").to_pylist() == ["host", "host"]
    assert changes(got) == [
        ("alpha.example", 3, T2, 1, 1, 1, 1),  # s4 -> /new new; s3 lost
        ("www.alpha.example", 1, T2, 1, 0, 1, 0),  # s4 -> www./p
    ]
    assert got.column("pages_crawled").to_pylist() == [1, 0]


def test_the_window(data: Path) -> None:
    # Since the first crawl: every link found is new, none of the domains was linked before.
    since_c1 = compare_targets(data, ["alpha.example"], since=utc("2025-01-01"))
    assert changes(since_c1) == [("alpha.example", 4, utc("2025-01-01"), 5, 1, 3, 0)]
    # Up to T2 (excluded): the latest crawl started before it is c1.
    until_t2 = compare_targets(data, ["alpha.example"], filters=Filters(until=T2))
    assert changes(until_t2) == [("alpha.example", 4, T1, 3, 0, 3, 0)]
    # As of a day after c1: the index then, and the window up to then.
    then = T1 + timedelta(days=1)
    as_of = compare_targets(data, ["alpha.example"], filters=Filters(as_of=then))
    assert changes(as_of) == [("alpha.example", 3, T1, 3, 0, 3, 0)]
    # A moment without an offset is UTC.
    naive = compare_targets(data, ["alpha.example"], since=datetime(2025, 2, 1, 10))
    assert changes(naive) == changes(compare_targets(data, ["alpha.example"]))


ERRORS = [
    (["alpha.example", "nosuch.example"], {},
     r"^no data for target nosuch.example \(scope domain\) in the index$"),
    (["alpha.example", "beta.example", "Alpha.Example."], {},
     r"^target alpha.example given twice \(as 'alpha.example' and 'Alpha.Example.'\): "),
    (["beta.example", "beta.example"], {}, r"^target beta.example given twice: name each"),
    ([ALPHA, "HTTPS://alpha.example:443"], {"scope": "exact"},
     r"^target https://alpha.example/ given twice"),
    ([], {}, "^compare needs one target or more$"),
    (["alpha.example"], {"scope": "url"}, "^bad scope 'url': use domain, host, exact or prefix$"),
    (["alpha.example"], {"since": T2, "filters": Filters(until=T2)},
     "^nothing to compare between 2025-02-01T10:00:00"),
    (["bad target"], {}, "^bad target 'bad target'"),
    (["alpha.example"], {"filters": Filters(kind="link")}, "^bad kind 'link'"),
]


@pytest.mark.parametrize(("targets", "options", "message"), ERRORS)
def test_errors_are_one_clear_line(data: Path, targets: list[str], options: dict[str, Any],
                                   message: str) -> None:
    with pytest.raises(LinkindexError, match=message) as caught:
        compare_targets(data, targets, **options)
    assert "\n" not in str(caught.value)


def test_an_index_without_crawls_needs_since(tmp_path: Path) -> None:
    write_index(tmp_path, [edge("https://a.example/", "https://b.example/")])  # no pages
    with pytest.raises(LinkindexError, match="^the index holds no crawl to count changes "
                                             "from: give --since DATE$"):
        compare_targets(tmp_path, ["b.example"])
    [got] = compare_targets(tmp_path, ["b.example"], since=utc("2025-01-01")).to_pylist()
    assert (got["backlinks"], got["new_links"], got["new_referring_domains"]) == (1, 1, 1)


def test_every_overview_column_comes_through(data: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Overview's columns are taken as they come, whatever they are: a column added to
    overview.sql later (the lead's referring_ips, say) appears without a change here."""
    import queries.compare

    def overview_with_more(*args: Any, **kwargs: Any) -> Any:
        table = run_query(*args, **kwargs)
        return table.append_column("added_later", pa.array([42] * table.num_rows))

    monkeypatch.setattr(queries.compare, "run_query", overview_with_more)
    got = compare_targets(data, ["alpha.example", "beta.example"])
    overview = run_query(data, "overview", ["alpha.example"]).column_names
    assert got.column_names == [*overview, "added_later", *CHANGE_COLUMNS]
    assert got.column("added_later").to_pylist() == [42, 42]
    monkeypatch.undo()
    for row in compare_targets(data, TARGETS).to_pylist():  # as overview gives each
        [alone] = run_query(data, "overview", [row["target"]]).to_pylist()
        assert {name: row[name] for name in alone} == alone


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def cli(data: Path, *args: str) -> int:
    from linkindex.cli import main

    return main(["compare", *args, "--data", str(data)])


def csv_cell(value: Any) -> str:
    """How a cell must read in CSV: written out here, not by queries.export."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def test_csv_file_equals_the_table(data: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "compare.csv"
    assert cli(data, *TARGETS, "-o", str(out), "--bom") == 0
    assert capsys.readouterr().out == f"wrote 3 rows to {out}\n"
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    with open(out, encoding="utf-8-sig", newline="") as fh:
        written = list(csv.reader(fh))
    table = compare_targets(data, TARGETS)
    assert written[0] == table.column_names
    assert written[1:] == [[csv_cell(r[c]) for c in table.column_names]
                           for r in table.to_pylist()]
    assert written[1][table.column_names.index("first_seen")] == "2025-01-01T10:00:00Z"
    # the same rows on standard output
    assert cli(data, *TARGETS, "--format", "csv") == 0
    assert list(csv.reader(capsys.readouterr().out.splitlines())) == written


def test_json_and_table(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(data, *TARGETS, "--format", "json", "--since", "2025-01-01") == 0
    shown = json.loads(capsys.readouterr().out)
    expected = compare_targets(data, TARGETS, since=utc("2025-01-01")).to_pylist()
    assert shown == [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in r.items()}
                     for r in expected]
    assert shown[0]["since"] == "2025-01-01T00:00:00+00:00"
    assert cli(data, *TARGETS) == 0  # a table: one column per target, one line per field
    lines = capsys.readouterr().out.splitlines()
    cells = {line.split()[1]: [c.strip() for c in re.split("[│┃]", line)[2:-1]]
             for line in lines if line.startswith(("│", "┃"))}
    assert cells["field"] == TARGETS
    assert "target" not in cells  # the column's head says it
    assert cells["backlinks"] == ["4", "3", "3"]
    assert cells["dofollow_share"] == ["75.00%", "100.00%", "66.67%"]
    assert cells["first_seen"] == ["2025-01-01 10:00", "2025-01-01 11:00", "2025-01-01 10:00"]
    assert cells["lost_referring_domains"] == ["1", "1", "0"]
    assert lines[0].strip() == "compare (scope domain; new and lost since 2025-02-01 10:00 UTC)"


def test_filters_reach_every_column(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(data, "gamma.example", "--dofollow", "--format", "json") == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["backlinks"], shown["lost_referring_domains"]) == (2, 1)
    assert cli(data, "alpha.example", "--as-of", "2025-01-02T10:00:00Z", "--format",
               "json") == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["backlinks"], shown["since"], shown["new_links"]) == (
        3, "2025-01-01T10:00:00+00:00", 3)


@pytest.mark.parametrize(("args", "message"), [
    (["alpha.example", "nosuch.example"], "no data for target nosuch.example (scope domain)"),
    (["alpha.example", "alpha.example"], "target alpha.example given twice"),
    (["alpha.example", "--since", "yesterday"], "bad date 'yesterday' for --since"),
    (["alpha.example", "-o", "x.csv", "--format", "json"], "-o writes CSV: drop --format json"),
    (["alpha.example", "--bom"], "--bom goes with -o FILE.csv"),
])
def test_command_errors(data: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                        message: str) -> None:
    assert cli(data, *args) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith(f"linkindex: error: {message}") and out.err.count("\n") == 1


@pytest.mark.parametrize("flag", ["--limit", "--min-overlap", "--brand", "--group-similar"])
def test_options_of_single_queries_are_not_compares_options(
        data: Path, flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    """compare takes the scope and the standard filters only: --limit, --min-overlap and
    a query's own options are not among its options (argparse refuses them)."""
    from linkindex.cli import build_parser

    parser = build_parser()
    compare = next(a for a in parser._actions if a.dest == "command").choices["compare"]
    assert flag not in compare.format_help()
    with pytest.raises(SystemExit) as exit_:
        cli(data, "alpha.example", flag, "2")
    assert exit_.value.code == 2
    assert f"unrecognized arguments: {flag}" in capsys.readouterr().err


def test_one_line_error_from_the_shell(data: Path) -> None:
    proc = linkindex("compare", "alpha.example", "nosuch.example", "--data", data, check=False)
    assert_one_line_error(proc, "no data for target nosuch.example (scope domain) in the index")
