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
    CC_LINKS,
    CC_VERTICES,
    INDEX_CREDITED,
    INDEX_CREDITS,
    INDEX_DOMAIN_LINKS,
    INDEX_DOMAINS,
    INDEX_EDGES,
    INDEX_FETCHES,
    INDEX_HOSTS,
    INDEX_PAGE_RANKS,
    INDEX_PAGE_TERMS,
    INDEX_PAGES,
    duckdb_type,
)
from core.storage import Storage
from queries.live import LiveIndex, register_store, resolve

SQL_DIR = Path(__file__).resolve().parent


def macro_files(folder: Path | None = None) -> list[Path]:
    """The macro files in load order: helpers (``_*.sql``) first, then alphabetical.

    ``folder`` defaults to SQL_DIR (this package's folder), read when called.
    """
    folder = SQL_DIR if folder is None else folder
    return sorted(folder.glob("*.sql"), key=lambda p: (not p.name.startswith("_"), p.name))


def init_sql(data: Path | Storage, *, relative: bool = False,
             live: LiveIndex | None = None) -> str:
    """SQL that defines the views over the live generation and every macro.

    With ``relative``, as in DATA/linkindex.sql: the Parquet paths are relative to DATA,
    which DuckDB resolves from its working directory (then from ``file_search_path``),
    so any copy of DATA works when DuckDB runs in it (``cd DATA && duckdb -init
    linkindex.sql``); the text starts with a check that stops it with one line anywhere
    else. Without, absolute paths: our own sessions, whatever the working directory.
    On an object store the paths are URLs (``s3://…``) either way: our sessions open
    them through a registered filesystem, a DuckDB with httpfs opens them itself.
    """
    live = live or resolve(data)
    relative = relative and live.storage is None
    generation = live.generation

    def where(path: str) -> str:
        return Path(path).relative_to(live.label).as_posix() if relative else path

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
            _here_check(where(live.location(layout.MANIFEST)), generation),
        ]
    else:
        head = [
            f"-- linkindex session over {_sql_comment(live.label)}, index generation "
            f"{generation}.",
            "-- Views and macros are TEMP: nothing is stored in a database file you have open.",
            "",
        ]
    parts = [
        *head,
        _view_sql("edges", live.edge_files, INDEX_EDGES, where,
                  glob=live.location("edges/bucket=*/*.parquet")),
        *(_view_sql(table, [live.tables[table]] if table in live.tables else [], schema, where)
          for table, schema in (("pages", INDEX_PAGES), ("domains", INDEX_DOMAINS),
                                ("hosts", INDEX_HOSTS), ("fetches", INDEX_FETCHES),
                                ("credits", INDEX_CREDITS),
                                ("page_ranks", INDEX_PAGE_RANKS),
                                ("page_terms", INDEX_PAGE_TERMS),
                                ("domain_links", INDEX_DOMAIN_LINKS))),
        _view_sql("credited_edges", [live.tables["credited"]] if "credited" in live.tables
                  else [], INDEX_CREDITED, where),
        # the active Common Crawl web graph (index/ccgraph/), empty views without one
        _view_sql("cc_vertices", [live.graph.vertices] if live.graph else [], CC_VERTICES,
                  where),
        _view_sql("cc_links", [live.graph.links] if live.graph else [], CC_LINKS, where,
                  glob=live.graph.links if live.graph else ""),
        "CREATE OR REPLACE TEMP MACRO cc_release() AS "
        f"{_sql_string(live.graph.release) if live.graph else 'CAST(NULL AS VARCHAR)'};",
        f"CREATE OR REPLACE TEMP MACRO cc_buckets() AS {live.graph.buckets if live.graph else 1};",
        f"CREATE OR REPLACE TEMP MACRO index_generation() AS {_sql_string(generation)};",
        f"CREATE OR REPLACE TEMP MACRO index_buckets() AS {live.buckets};",
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


def _open(live: LiveIndex, statements: list[str]) -> duckdb.DuckDBPyConnection:
    """A new in-memory database running `statements`; one clear line if they fail."""
    con = duckdb.connect(":memory:")
    try:
        if live.storage is not None:
            register_store(con, live.storage)
        for statement in statements:
            con.execute(statement)
    except duckdb.Error as exc:
        con.close()
        raise LinkindexError(
            f"cannot open the index in {live.label}: {first_line(exc)}"
        ) from None
    return con


def connect(data: Path | Storage) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session over the live generation (results in UTC)."""
    live = resolve(data)
    return _open(live, ["SET TimeZone = 'UTC'", init_sql(data, live=live)])


# Process-wide sessions for run_query, by (DATA, generation, manifest identity).
_SHARED_MAX = 4
_shared: OrderedDict[tuple[str, str, str, str], duckdb.DuckDBPyConnection] = OrderedDict()
_shared_lock = threading.Lock()


def shared_cursor(data: Path | Storage) -> duckdb.DuckDBPyConnection:
    """A cursor on a process-wide session over the live generation; close it after use.

    Opening a DuckDB database and defining every view and macro costs more (40-50 ms
    on 2 cores) than a query on a sorted index takes, so the session of each (DATA,
    generation) is opened once per process. Each caller gets its own cursor (a
    connection to the same in-memory database), so threads never share a connection.
    Views and macros are not TEMP here, since TEMP objects belong to one connection;
    the database lives in this process's memory only. A new build (new generation or
    manifest) gets a new session; generations are never modified in place.
    """
    live = resolve(data)  # CURRENT and the manifest, read once for this query
    key = live.key
    with _shared_lock:
        db = _shared.get(key)
        if db is None:
            sql = init_sql(data, live=live).replace("CREATE OR REPLACE TEMP ",
                                                    "CREATE OR REPLACE ")
            # Index files never change once written: their footers may be cached.
            db = _open(live, ["SET GLOBAL TimeZone = 'UTC'",
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


def _view_sql(name: str, files: list[str], schema: pa.Schema, where: Callable[[str], str],
              glob: str | None = None) -> str:
    """A view over Parquet files (named by `where`); an empty typed view when there are none."""
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
    return duckdb_type(arrow_type)  # every index timestamp is UTC: TIMESTAMPTZ


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_comment(text: str) -> str:
    return text.replace("\n", " ").replace("\r", " ")


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


