"""The SQL session: views over the live index generation, then every macro.

The same text serves our own connections (``connect``: absolute paths) and the stock
DuckDB CLI or Python package (``write_init_file`` → ``DATA/linkindex.sql``: paths
relative to DATA, so it works in a moved or copied DATA, run from there).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from core import layout
from core.errors import LinkindexError
from core.schema import (
    DUCKDB_TYPES,
    INDEX_DOMAINS,
    INDEX_EDGES,
    INDEX_FORMAT,
    INDEX_HOSTS,
    INDEX_PAGES,
)

SQL_DIR = Path(__file__).resolve().parent


def macro_files(folder: Path | None = None) -> list[Path]:
    """The macro files in load order: helpers (``_*.sql``) first, then alphabetical.

    ``folder`` defaults to SQL_DIR (this package's folder), read when called.
    """
    folder = SQL_DIR if folder is None else folder
    return sorted(folder.glob("*.sql"), key=lambda p: (not p.name.startswith("_"), p.name))


def init_sql(data: Path, *, relative: bool = False) -> str:
    """SQL that defines the views over the live generation and every macro.

    With ``relative``, as in DATA/linkindex.sql: the Parquet paths are relative to DATA,
    which DuckDB resolves from its working directory (then from ``file_search_path``),
    so any copy of DATA works when DuckDB runs in it (``cd DATA && duckdb -init
    linkindex.sql``); the text starts with a check that stops it with one line anywhere
    else. Without, absolute paths: our own sessions, whatever the working directory.
    """
    data = data.resolve()
    generation = layout.current_generation(data)
    manifest = layout.read_manifest(data, generation)  # raises when there is no index
    assert generation is not None
    gen_dir = layout.generation_dir(data, generation)
    index_format = layout.index_format(manifest)
    if index_format != INDEX_FORMAT:
        raise LinkindexError(
            f"index generation {generation} in {data} has index format {index_format}; this "
            f"linkindex reads format {INDEX_FORMAT}: run `linkindex build` to rebuild it"
        )
    buckets = layout.manifest_buckets(data, generation, manifest)

    def where(path: Path) -> str:
        return path.relative_to(data).as_posix() if relative else str(path)

    if relative:
        head = [
            f"-- linkindex session over the DATA folder holding this file, index generation "
            f"{generation}.",
            "-- Written by queries.write_init_file after each build; edits are overwritten.",
            "-- Paths are relative to DATA, so a moved or copied DATA keeps working: run DuckDB",
            f"-- in DATA:  cd DATA && duckdb -init {layout.INIT_SQL}",
            "--            SELECT * FROM backlinks('example.com');",
            "-- From another folder, first: SET file_search_path = '/path/to/DATA';",
            "-- Views and macros are TEMP: nothing is stored in a database file you have open.",
            "",
            _here_check(where(gen_dir / layout.MANIFEST), generation),
        ]
    else:
        head = [
            f"-- linkindex session over {_sql_comment(str(data))}, index generation "
            f"{generation}.",
            "-- Views and macros are TEMP: nothing is stored in a database file you have open.",
            "",
        ]
    parts = [
        *head,
        _view_sql("edges", sorted(gen_dir.glob("edges/bucket=*/*.parquet")), INDEX_EDGES,
                  where, glob=gen_dir / "edges" / "bucket=*" / "*.parquet"),
        _view_sql("pages", [gen_dir / "pages.parquet"], INDEX_PAGES, where),
        _view_sql("domains", [gen_dir / "domains.parquet"], INDEX_DOMAINS, where),
        _view_sql("hosts", [gen_dir / "hosts.parquet"], INDEX_HOSTS, where),
        f"CREATE OR REPLACE TEMP MACRO index_generation() AS {_sql_string(generation)};",
        f"CREATE OR REPLACE TEMP MACRO index_buckets() AS {buckets};",
        "",
    ]
    return "\n".join(parts) + _macros_sql(SQL_DIR)


def _here_check(manifest: str, generation: str) -> str:
    """A statement that fails with one line unless DuckDB can see DATA's `manifest`
    (relative): run anywhere else, the views would read nothing, or another DATA."""
    message = (
        f"{layout.INIT_SQL}: no {manifest} here: run DuckDB in the DATA folder that holds "
        f"this file (cd DATA && duckdb -init {layout.INIT_SQL}), or first "
        "SET file_search_path = '/path/to/DATA'"
    )
    return (
        "SET VARIABLE linkindex_data_check = (\n"
        f"    SELECT CASE WHEN count(*) = 0 THEN error({_sql_string(message)}) END\n"
        f"    FROM glob({_sql_string(manifest)}));\n"
        "RESET VARIABLE linkindex_data_check;\n"
    )


@cache
def _macros_sql(folder: Path) -> str:
    """Every macro file's text, read once per process (each query opens a session)."""
    return "\n".join(
        f"-- ---- queries/{path.name} ----\n{path.read_text().strip()}\n"
        for path in macro_files(folder)
    )


def _open(data: Path, statements: list[str]) -> duckdb.DuckDBPyConnection:
    """A new in-memory database running `statements`; one clear line if they fail."""
    con = duckdb.connect(":memory:")
    try:
        for statement in statements:
            con.execute(statement)
    except duckdb.Error as exc:
        con.close()
        raise LinkindexError(
            f"cannot open the index in {data}: {first_line(exc)}"
        ) from None
    return con


def connect(data: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session over the live generation (results in UTC)."""
    return _open(data, ["SET TimeZone = 'UTC'", init_sql(data)])


# Process-wide sessions for run_query, by (index folder, generation, manifest identity).
_SHARED_MAX = 4
_shared: OrderedDict[tuple[str, str, int, int], duckdb.DuckDBPyConnection] = OrderedDict()
_shared_lock = threading.Lock()


def shared_cursor(data: Path) -> duckdb.DuckDBPyConnection:
    """A cursor on a process-wide session over the live generation; close it after use.

    Opening a DuckDB database and defining every view and macro costs more (40-50 ms
    on 2 cores) than a query on a sorted index takes, so the session of each (index
    folder, generation) is opened once per process. Each caller gets its own cursor (a
    connection to the same in-memory database), so threads never share a connection.
    Views and macros are not TEMP here, since TEMP objects belong to one connection;
    the database lives in this process's memory only. A new build (new generation or
    manifest) gets a new session; generations are never modified in place.
    """
    data = data.resolve()
    generation = stat = None
    try:
        generation = layout.current_generation(data)
        stat = (layout.generation_dir(data, generation) / layout.MANIFEST).stat() \
            if generation else None
    except OSError:
        stat = None
    if generation is None or stat is None:
        return connect(data)  # raises the usual one-line error when there is no index
    key = (str(data), generation, stat.st_ino, stat.st_mtime_ns)
    with _shared_lock:
        db = _shared.get(key)
        if db is None:
            sql = init_sql(data).replace("CREATE OR REPLACE TEMP ", "CREATE OR REPLACE ")
            # Index files never change once written: their footers may be cached.
            db = _open(data, ["SET GLOBAL TimeZone = 'UTC'",
                              "SET GLOBAL parquet_metadata_cache = true", sql])
            _shared[key] = db
            while len(_shared) > _SHARED_MAX:
                _shared.popitem(last=False)[1].close()  # open cursors keep their database
        _shared.move_to_end(key)
        cursor = db.cursor()
    cursor.execute("SET TimeZone = 'UTC'")
    return cursor


def write_init_file(data: Path) -> Path:
    """Write DATA/linkindex.sql (atomically) for the stock DuckDB CLI; return its path.

    Its paths are relative to DATA (``init_sql(data, relative=True)``)."""
    path = data / layout.INIT_SQL
    text = init_sql(data, relative=True)
    with layout.atomic_open(path) as fh:
        fh.write(text)
    return path


def _view_sql(name: str, files: list[Path], schema: pa.Schema, where: Callable[[Path], str],
              glob: Path | None = None) -> str:
    """A view over Parquet files (named by `where`); an empty typed view when there are none."""
    files = [f for f in files if f.is_file() and not f.name.startswith(layout.TMP_PREFIX)]
    if not files:
        columns = [f"CAST(NULL AS {_duckdb_type(field.type)}) AS {field.name}" for field in schema]
        if glob is not None:  # the edges view also has the hive partition column
            columns.append("CAST(NULL AS UBIGINT) AS bucket")
        return f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(columns)} WHERE false;"
    source = f"read_parquet({_sql_string(where(glob or files[0]))}"
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


