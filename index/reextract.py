"""`linkindex reextract`: rebuild a crawl's raw parts from its own WARCs.

With the current extractor, so a schema or extractor change needs no recrawl. The old
parts are never lost before the new ones are whole:

1. every WARC under DATA/warc/<crawl_id>/ is imported into a staging folder
   DATA/raw/.tmp-reextract-<crawl_id>/ (a name the build never reads);
2. every old row whose fetch (url, fetched_at) the WARCs did not give back is carried
   over unchanged, part by part: fetch errors (no response, no WARC record), pages of
   a crawl run without --warc, records found damaged now, and edges left without
   their page by a killed writer. A part that does not read whole (index.part_checks)
   is copied as it is;
3. the table folders are swapped by renames (old ones to `.tmp-old-*` inside the
   crawl's folder, then the new ones in place), and the old ones deleted.

A run killed during step 3 is repaired by the next `reextract` of the same crawl:
until the new pages folder is in place the old folders are authoritative and are
put back; once it is, the old ones are deleted.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from core.errors import LinkindexError, check_crawl_id
from core.layout import warc_dir, write_table
from core.schema import RAW_TABLES
from index.archives.importer import ImportSummary, import_archives
from index.part_checks import PartProblem, check_part, read_part

TABLES = ("edges", "pages")  # edges first: a pages row on disk implies its edges are


@dataclass
class ReextractSummary:
    imported: ImportSummary
    kept_pages: int  # old rows carried over unchanged
    kept_edges: int


def warc_files(data: Path, crawl_id: str) -> list[Path]:
    folder = warc_dir(data, crawl_id)
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.endswith((".warc.gz", ".warc"))
    )


def _parts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def recover(live: Path) -> None:
    """Finish or undo a swap that a killed run left half done.

    The swap moves the old pages folder out before the old edges folder, and the new
    pages folder in last: so once `pages` is back in place the swap had finished.
    """
    old = {table: live / f".tmp-old-{table}" for table in TABLES}
    if not any(path.exists() for path in old.values()):
        return
    finished = (live / "pages").exists()
    for table in TABLES:
        if not old[table].exists():
            continue
        if finished:
            shutil.rmtree(old[table])
        else:
            shutil.rmtree(live / table, ignore_errors=True)  # a new copy, if any
            os.rename(old[table], live / table)


def _swap(live: Path, staging: Path) -> None:
    live.mkdir(parents=True, exist_ok=True)
    for table in ("pages", "edges"):  # pages out first: no pages row without its edges
        if (live / table).exists():
            os.rename(live / table, live / f".tmp-old-{table}")
    for table in TABLES:
        (staging / table).mkdir(parents=True, exist_ok=True)
        os.rename(staging / table, live / table)
    for table in TABLES:
        shutil.rmtree(live / f".tmp-old-{table}", ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def _carry_over(live: Path, staging: Path) -> dict[str, int]:
    """Copy into `staging` every old row whose fetch the new pages do not hold."""
    con = duckdb.connect()
    kept = {table: 0 for table in TABLES}
    try:
        con.execute("SET TimeZone = 'UTC'")
        new_pages = _parts(staging / "pages")
        if new_pages:
            con.read_parquet([str(p) for p in new_pages]).create_view("new_pages")
            con.execute("CREATE TEMP TABLE fetches AS "
                        "SELECT DISTINCT url, epoch_ms(fetched_at) AS t FROM new_pages")
        else:
            con.execute("CREATE TEMP TABLE fetches (url VARCHAR, t BIGINT)")
        for table in TABLES:
            url = "src_url" if table == "edges" else "url"
            schema = RAW_TABLES[table]
            for part in _parts(live / table):
                target = staging / table / part.name
                try:
                    # read whole first: a part damaged behind its footer is copied as it
                    # is (the build names it), never rewritten with fresh checksums
                    read_part(part, table, check_part(part, table))
                    rows = con.sql(
                        f"SELECT {', '.join(schema.names)} FROM read_parquet($path) o "
                        f"ANTI JOIN fetches f ON o.{url} = f.url AND epoch_ms(o.fetched_at) = f.t",
                        params={"path": str(part)},
                    ).to_arrow_table()
                except (PartProblem, duckdb.Error):
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(part, target)  # unreadable now: kept as it was
                    continue
                if rows.num_rows:
                    write_table(target, _conform(rows, schema), table)
                    kept[table] += rows.num_rows
    finally:
        con.close()
    return kept


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """DuckDB's Arrow output (µs timestamps, NOT NULL dropped) → the raw schema."""
    arrays = [table.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def reextract(data: Path, crawl_id: str, *, jobs: int = 1,
              progress: bool | None = None) -> ReextractSummary:
    check_crawl_id(crawl_id)
    live = data / "raw" / crawl_id
    recover(live)
    files = warc_files(data, crawl_id)
    if not files:
        raise LinkindexError(
            f"crawl {crawl_id} has no WARC files in {warc_dir(data, crawl_id)}: "
            "only a crawl run with --warc can be re-extracted"
        )
    staging = data / "raw" / f".tmp-reextract-{crawl_id}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        imported = import_archives(data, crawl_id, files, jobs=jobs, progress=progress,
                                   folder=staging.name)
        kept = _carry_over(live, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(live, staging)
    return ReextractSummary(imported, kept["pages"], kept["edges"])
