"""The SQL session: views over the live index generation, then every macro.

The same text serves our own connections (``connect``) and the stock DuckDB CLI or
Python package (``init_sql`` / ``write_init_file`` → ``DATA/linkindex.sql``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from index import layout
from index.schema import DUCKDB_TYPES, INDEX_DOMAINS, INDEX_EDGES, INDEX_HOSTS, INDEX_PAGES

SQL_DIR = Path(__file__).resolve().parent


def macro_files() -> list[Path]:
    """The macro files in load order: helpers (``_*.sql``) first, then alphabetical."""
    return sorted(SQL_DIR.glob("*.sql"), key=lambda p: (not p.name.startswith("_"), p.name))


def init_sql(data: Path) -> str:
    """SQL that defines the views over the live generation and every macro."""
    data = data.resolve()
    generation = layout.current_generation(data)
    manifest = layout.read_manifest(data, generation)  # raises when there is no index
    assert generation is not None
    gen_dir = layout.generation_dir(data, generation)
    try:
        buckets = int(manifest["buckets"])
    except (KeyError, TypeError, ValueError):
        raise layout.LinkindexError(
            f"index generation {generation} in {data} has no valid \"buckets\" in its manifest"
        ) from None
    parts = [
        f"-- linkindex session over {_sql_comment(str(data))}, index generation {generation}.",
        "-- Written by queries.write_init_file after each build; edits are overwritten.",
        f"-- Use: duckdb -init {_sql_comment(str(data / layout.INIT_SQL))}",
        "--      SELECT * FROM backlinks('example.com');",
        "-- Views and macros are TEMP: nothing is stored in a database file you have open.",
        "",
        _view_sql("edges", sorted(gen_dir.glob("edges/bucket=*/*.parquet")), INDEX_EDGES,
                  glob=gen_dir / "edges" / "bucket=*" / "*.parquet"),
        _view_sql("pages", [gen_dir / "pages.parquet"], INDEX_PAGES),
        _view_sql("domains", [gen_dir / "domains.parquet"], INDEX_DOMAINS),
        _view_sql("hosts", [gen_dir / "hosts.parquet"], INDEX_HOSTS),
        f"CREATE OR REPLACE TEMP MACRO index_generation() AS {_sql_string(generation)};",
        f"CREATE OR REPLACE TEMP MACRO index_buckets() AS {buckets};",
        "",
    ]
    return "\n".join(parts) + _macros_sql()


@cache
def _macros_sql() -> str:
    """Every macro file's text, read once per process (each query opens a session)."""
    return "\n".join(
        f"-- ---- queries/{path.name} ----\n{path.read_text().strip()}\n"
        for path in macro_files()
    )


def connect(data: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session over the live generation (results in UTC)."""
    sql = init_sql(data)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(sql)
    except duckdb.Error as exc:
        con.close()
        raise layout.LinkindexError(
            f"cannot open the index in {data}: {first_line(exc)}"
        ) from None
    return con


def write_init_file(data: Path) -> Path:
    """Write DATA/linkindex.sql (atomically) for the stock DuckDB CLI; return its path."""
    path = data / layout.INIT_SQL
    text = init_sql(data)
    with layout.atomic_open(path) as fh:
        fh.write(text)
    return path


def _view_sql(name: str, files: list[Path], schema: pa.Schema, glob: Path | None = None) -> str:
    """A view over Parquet files; an empty typed view when there are none."""
    files = [f for f in files if f.is_file() and not f.name.startswith(layout.TMP_PREFIX)]
    if not files:
        columns = [f"CAST(NULL AS {_duckdb_type(field.type)}) AS {field.name}" for field in schema]
        if glob is not None:  # the edges view also has the hive partition column
            columns.append("CAST(NULL AS UBIGINT) AS bucket")
        return f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(columns)} WHERE false;"
    source = f"read_parquet({_sql_string(str(glob or files[0]))}"
    if glob is not None:
        source += ", hive_partitioning = true, hive_types = {'bucket': UBIGINT}"
    return f"CREATE OR REPLACE TEMP VIEW {name} AS FROM {source});"


def _duckdb_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ" if arrow_type.tz else "TIMESTAMP"
    return DUCKDB_TYPES[arrow_type]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_comment(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ")


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


