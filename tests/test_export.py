"""CSV export: quoting, formula injection, BOM, unicode, types, atomic files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from queries.export import to_csv_text, write_csv


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def one_column(values: list[object], arrow_type: pa.DataType) -> pa.Table:
    return pa.table({"cell": pa.array(values, type=arrow_type)})


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("safe = text", "safe = text"),
        ("a-b", "a-b"),
        ("", ""),
    ],
)
def test_text_cells_that_look_like_formulas_get_a_quote(value: str, cell: str) -> None:
    assert parse(to_csv_text(one_column([value], pa.string())))[1] == [cell]


def test_numbers_are_never_quoted_even_when_negative() -> None:
    table = pa.table({"n": pa.array([-1, 2], pa.int64()), "x": pa.array([-1.5, 0.25])})
    assert to_csv_text(table) == "n,x\n-1,-1.5\n2,0.25\n"


def test_rfc4180_quoting_of_commas_quotes_and_newlines() -> None:
    values = ['a,b', 'say "hi"', "two\nlines", "crlf\r\ninside", "plain"]
    text = to_csv_text(one_column(values, pa.string()))
    assert text.splitlines()[1] == '"a,b"'
    assert '"say ""hi"""' in text
    assert parse(text)[1:] == [[v] for v in values]


def test_unicode_round_trips_as_utf8(tmp_path: Path) -> None:
    values = ["Zürich – café", "日本語のアンカー", "emoji 🔗", "Ελληνικά"]
    path = tmp_path / "u.csv"
    assert write_csv(one_column(values, pa.string()), path) == 4
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert parse(raw.decode("utf-8"))[1:] == [[v] for v in values]


def test_bom_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    write_csv(one_column(["x"], pa.string()), path, bom=True)
    raw = path.read_bytes()
    assert raw == b"\xef\xbb\xbfcell\r\nx\r\n"


def test_types_lists_timestamps_booleans_nulls() -> None:
    moment = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
    table = pa.table(
        {
            "competitors": pa.array([["a.example", "b.example"], [], None], pa.list_(pa.string())),
            "seen": pa.array([moment, moment + timedelta(milliseconds=250), None],
                             pa.timestamp("ms", tz="UTC")),
            "live": pa.array([True, False, None]),
            "rank": pa.array([12.5, None, 0.0]),
            "day": pa.array([date(2025, 6, 1), None, None]),
            "status": pa.array([200, None, 404], pa.int16()),
        }
    )
    assert parse(to_csv_text(table)) == [
        ["competitors", "seen", "live", "rank", "day", "status"],
        ["a.example|b.example", "2025-06-01T12:30:00Z", "true", "12.5", "2025-06-01", "200"],
        ["", "2025-06-01T12:30:00.250Z", "false", "", "", ""],
        ["", "", "", "0.0", "", "404"],
    ]


def test_timestamps_in_another_zone_are_written_in_utc() -> None:
    moment = datetime(2025, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    table = one_column([moment], pa.timestamp("s", tz="Europe/Paris"))
    assert parse(to_csv_text(table))[1] == ["2025-06-01T12:00:00Z"]


def test_list_cells_are_guarded_like_text() -> None:
    table = one_column([["=evil()", "ok"]], pa.list_(pa.string()))
    assert parse(to_csv_text(table))[1] == ["'=evil()|ok"]


def test_file_uses_crlf_and_counts_rows(tmp_path: Path) -> None:
    path = tmp_path / "out" / "rows.csv"
    table = pa.table({"a": ["x", "y"], "b": [1, 2]})
    assert write_csv(table, path) == 2
    assert path.read_bytes() == b"a,b\r\nx,1\r\ny,2\r\n"


def test_empty_table_writes_the_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    table = pa.table({"src_domain": pa.array([], pa.string())})
    assert write_csv(table, path) == 0
    assert path.read_bytes() == b"src_domain\r\n"


def test_many_batches_keep_their_order() -> None:
    batches = [pa.record_batch({"n": [i, i + 1]}) for i in range(0, 6, 2)]
    table = pa.Table.from_batches(batches)
    assert [row[0] for row in parse(to_csv_text(table))[1:]] == ["0", "1", "2", "3", "4", "5"]


# Issue 13, item 7: a formula behind leading whitespace, or spelled in full-width signs.
# Expected cells are written out by hand: a quote in front of the whole value, as written.
@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (" =1+1", "' =1+1"),
        ("   @SUM(A1)", "'   @SUM(A1)"),
        (" \t-2", "' \t-2"),
        ("\n+1", "'\n+1"),
        ("\r\n=1", "'\r\n=1"),
        ("\u00a0=1+1", "'\u00a0=1+1"),  # NBSP
        ("\u2003+1", "'\u2003+1"),  # em space
        ("\u3000@x", "'\u3000@x"),  # ideographic space
        ("\u200b=1", "'\u200b=1"),  # zero-width space (not whitespace to str.isspace)
        ("\ufeff \u200d=1", "'\ufeff \u200d=1"),  # BOM, space, zero-width joiner
        ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
        ("\uff0b1", "'\uff0b1"),  # full-width plus
        ("\uff0d1", "'\uff0d1"),  # full-width hyphen-minus
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),  # full-width commercial at
        (" \uff1d1", "' \uff1d1"),
        # not formulas: text first, only whitespace, other dashes
        ("  x = 1", "  x = 1"),
        (" ", " "),
        ("\u00a0", "\u00a0"),
        ("a =1", "a =1"),
        ("\u2212 1", "\u2212 1"),  # minus sign
        ("1 +1", "1 +1"),
    ],
)
def test_formulas_behind_whitespace_and_full_width_signs_get_a_quote(
    value: str, cell: str
) -> None:
    assert parse(to_csv_text(one_column([value], pa.string())))[1] == [cell]


def test_leading_whitespace_formulas_in_lists_headers_and_files(tmp_path: Path) -> None:
    table = pa.table({
        " =head": pa.array(["ok"]),
        "list": pa.array([[" =a", "b"]], pa.list_(pa.string())),
    })
    assert parse(to_csv_text(table)) == [["' =head", "list"], ["ok", "' =a|b"]]
    path = tmp_path / "x.csv"
    write_csv(one_column(["\u00a0=1"], pa.string()), path, bom=True)
    assert path.read_bytes() == "\ufeffcell\r\n'\u00a0=1\r\n".encode()
