"""DATA/linkindex.sql in the DuckDB CLI users can install, in a moved copy of DATA.

The only DuckDB CLI on PyPI is `duckdb-cli` 1.5.x (in the test extra): its parser is
older than the duckdb 2.0 Python package the index is built with. The init file must
load there, read Parquet written by DuckDB 2.0 (the index) and pyarrow 26 (raw parts),
and keep working when DATA is moved or copied: its paths are relative to DATA, and it
stops with one line when DuckDB runs anywhere else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from rawdata import fetch, link, utc, write_crawl

from core import layout
from index.build import build_index
from queries import Filters, run_query, write_init_file

DUCKDB_CLI = Path(sys.executable).with_name("duckdb")  # the duckdb-cli package's executable

A, B, C = "https://www.a.example/", "https://www.b.example/", "https://www.c.example/"
FETCHES = [
    fetch(A, [link(B, anchor="bee"), link(C, anchor="sea", position="nav", nofollow=True)],
          at=utc("2025-01-01T10:00")),
    fetch(C, [link(f"{B}x", anchor="ex", position="footer"), link(B, anchor="B")],
          at=utc("2025-01-02T10:00")),
    fetch(B, [link(A, anchor="A")], at=utc("2025-01-03T10:00")),
    fetch(f"{B}x", [], at=utc("2025-01-04T10:00"), status=404),
]
RAW_EDGES = sum(len(edges) for _, edges in FETCHES)

# (SQL for the stock tools, the same through run_query, the columns compared)
QUERIES = [
    ("SELECT * FROM referring_domains('b.example')",
     ("referring_domains", ["b.example"], Filters()),
     ["src_domain", "backlinks", "dofollow_backlinks"]),
    ("SELECT * FROM backlinks('b.example', link_position := 'footer')",
     ("backlinks", ["b.example"], Filters(position="footer")),
     ["src_url", "dst_url", "anchor", "kind", "position"]),
    ("SELECT * FROM backlinks('c.example', dofollow_only := false, link_position := 'nav')",
     ("backlinks", ["c.example"], Filters(position="nav")),
     ["src_url", "dst_url", "anchor", "nofollow", "position"]),
    ("SELECT * FROM anchors('b.example')",
     ("anchors", ["b.example"], Filters()),
     ["anchor", "backlinks", "referring_domains"]),
]


def select(sql: str, columns: list[str]) -> str:
    return f"SELECT {', '.join(columns)} FROM ({sql})"


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built DATA, copied elsewhere under another name; the original deleted."""
    root = tmp_path_factory.mktemp("initfile")
    original = root / "data"
    write_crawl(original, "c1", FETCHES)
    build_index(original)
    write_init_file(original)
    copy = root / "elsewhere" / "DATA copy"  # a space in the name, too
    shutil.copytree(original, copy)
    shutil.rmtree(original)  # nothing can silently read the old folder any more
    return copy


def cli(cwd: Path, init: str, sql: str) -> subprocess.CompletedProcess[str]:
    assert DUCKDB_CLI.is_file(), f"no {DUCKDB_CLI}: pip install -e '.[test]' (duckdb-cli)"
    return subprocess.run(
        [str(DUCKDB_CLI), "-init", init, "-json", "-c", sql],
        cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        env={**os.environ, "TZ": "UTC", "HOME": str(cwd)},  # no ~/.duckdbrc
    )


def cli_rows(cwd: Path, init: str, sql: str) -> list[dict[str, Any]]:
    proc = cli(cwd, init, sql)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout or "[]")


def expected(data: Path, call: tuple[str, list[str], Filters], columns: list[str]) -> list:
    name, args, filters = call
    table = run_query(data, name, args, filters=filters).select(columns)
    return table.to_pylist()


def test_the_cli_is_the_one_users_install() -> None:
    version = subprocess.run([str(DUCKDB_CLI), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("v1.5."), version.stdout


def test_the_init_file_names_no_absolute_path_and_no_position_parameter(moved: Path) -> None:
    text = (moved / layout.INIT_SQL).read_text()
    assert str(moved.parent.parent) not in text
    assert "read_parquet('/" not in text and "read_parquet('index/" in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    assert "position :=" not in code.replace("link_position :=", "")


def test_stock_cli_in_a_moved_copy_gives_run_querys_answers(moved: Path) -> None:
    for sql, call, columns in QUERIES:
        want = expected(moved, call, columns)
        assert want, sql  # each query has rows to compare
        assert cli_rows(moved, layout.INIT_SQL, select(sql, columns)) == want, sql


def test_stock_cli_reads_parquet_written_by_duckdb_2_and_pyarrow(moved: Path) -> None:
    generation = layout.current_generation(moved)
    gen = layout.generation_dir(moved, generation)
    counts = {
        "edges": sum(pq.read_metadata(p).num_rows for p in gen.glob("edges/*/*.parquet")),
        **{t: pq.read_metadata(gen / f"{t}.parquet").num_rows
           for t in ("pages", "domains", "hosts")},
    }
    assert counts["pages"] == len(FETCHES) and counts["edges"] == RAW_EDGES  # no duplicates
    sql = ("SELECT (SELECT count(*) FROM edges) AS edges, (SELECT count(*) FROM pages) AS pages,"
           " (SELECT count(*) FROM domains) AS domains, (SELECT count(*) FROM hosts) AS hosts,"
           " index_generation() AS generation,"
           " (SELECT count(*) FROM read_parquet('raw/*/edges/*.parquet')) AS raw_edges,"
           " (SELECT count(*) FROM read_parquet('raw/*/pages/*.parquet')) AS raw_pages")
    assert cli_rows(moved, layout.INIT_SQL, sql) == [
        {**counts, "generation": generation, "raw_edges": RAW_EDGES, "raw_pages": len(FETCHES)}
    ]
    # Every column of every table decodes (not only the ones the queries above read).
    for view in ("edges", "pages", "domains", "hosts"):
        rows = cli_rows(moved, layout.INIT_SQL, f"SELECT max(COLUMNS(*))::VARCHAR FROM {view}")
        assert len(rows) == 1 and any(v is not None for v in rows[0].values()), view


def test_run_elsewhere_it_stops_with_one_line(moved: Path) -> None:
    proc = cli(moved.parent, f"{moved.name}/{layout.INIT_SQL}", "SELECT 42 AS answer")
    assert proc.returncode != 0
    assert "42" not in proc.stdout
    stderr = re.sub(r"\x1b\[[0-9;]*m", "", proc.stderr)  # the CLI colours its messages
    message = [line for line in stderr.splitlines() if "linkindex.sql: no " in line]
    assert message == [
        "Invalid Input Error: linkindex.sql: no index/g000001/manifest.json here: run DuckDB "
        "in the DATA folder that holds this file (cd DATA && duckdb -init linkindex.sql), or "
        "first SET file_search_path = '/path/to/DATA'"
    ]


def test_the_python_package_runs_the_same_file(moved: Path, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    text = (moved / layout.INIT_SQL).read_text()
    wanted = [(select(sql, columns), expected(moved, call, columns))
              for sql, call, columns in QUERIES]
    # In DATA, as the CLI (the paths are resolved when a view is read, so stay there) ...
    monkeypatch.chdir(moved)
    con = duckdb.connect()
    con.execute(text)
    for sql, want in wanted:
        assert con.sql(sql).to_arrow_table().to_pylist() == want, sql
    # ... and from another folder with file_search_path (the README's way).
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect(config={"file_search_path": str(moved)})
    con.execute(text)
    for sql, want in wanted:
        assert con.sql(sql).to_arrow_table().to_pylist() == want, sql
    # Neither: an error naming the relative path (the Python package binds every statement
    # before running the first, so DuckDB's own "No files found" comes before the check's).
    with pytest.raises(duckdb.Error, match=r"index/g000001/"):
        duckdb.connect().execute(text)
