"""The build's inputs: checks of raw parts before a build trusts them.

First the Parquet footer (a few KB, `check_part`): a killed writer's 4-byte stub,
random bytes or a file cut short fail to give a footer and are skipped; a part written
by a newer linkindex stops the build, since guessing at an unknown schema could lose
data silently. Then every page of the columns the build reads is decoded (`read_part`):
damage inside a part behind an intact footer (flipped bytes in a column chunk, same
size) fails to decode, fails the page CRC32 that core.layout.write_table has written
since parts carry one, or gives another row count than the footer's. DuckDB verifies no
page checksums and may read such a part without an error, with other values.
`check_parts` runs both on every part, a few at a time.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import LinkindexError
from core.schema import (
    META_KIND,
    META_SCHEMA_VERSION,
    RAW_COLUMNS_ADDED,
    RAW_TABLES,
    SCHEMA_VERSION,
)


class PartProblem(Exception):
    """A raw part that cannot be used; the build skips it and says why."""


@dataclass(frozen=True)
class PartInfo:
    rows: int
    columns: tuple[str, ...]


def check_part(path: Path, table: str) -> PartInfo:
    """Check one raw part of `table` ("pages" or "edges") from its footer.

    Raises PartProblem for a part to skip, LinkindexError for a newer schema version.
    """
    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except (OSError, pa.ArrowException) as exc:
        raise PartProblem(f"unreadable Parquet footer ({first_line(exc)})") from exc
    kv = meta.metadata or {}
    if META_SCHEMA_VERSION in kv:
        raw_version = kv[META_SCHEMA_VERSION].decode(errors="replace")
        try:
            version = int(raw_version)
        except ValueError:
            raise PartProblem(f"bad schema version {raw_version!r}") from None
        if version > SCHEMA_VERSION:
            raise LinkindexError(
                f"{path} has schema version {version}, newer than this linkindex reads "
                f"({SCHEMA_VERSION}): upgrade linkindex"
            )
    kind = kv.get(META_KIND)
    if kind is not None and kind.decode(errors="replace") != table:
        raise PartProblem(f"a {kind.decode(errors='replace')!r} part among {table} parts")
    for expected in RAW_TABLES[table]:
        index = schema.get_field_index(expected.name)
        if index < 0 and expected.name in RAW_COLUMNS_ADDED:
            continue  # written before the column existed: read as NULL
        if index < 0:
            raise PartProblem(f"column {expected.name} is missing")
        actual = schema.field(index).type
        if not _compatible(actual, expected.type):
            raise PartProblem(f"column {expected.name} is {actual}, expected {expected.type}")
    return PartInfo(rows=meta.num_rows, columns=tuple(schema.names))


def read_part(path: Path, table: str, info: PartInfo) -> None:
    """Decode every page of the columns of `table` the build reads, verifying page
    checksums where the part has them; raises PartProblem for a part to skip."""
    columns = [f.name for f in RAW_TABLES[table] if f.name in info.columns]
    rows = 0
    try:
        part = pq.ParquetFile(path, page_checksum_verification=True)
        for group in range(part.num_row_groups):
            expected = part.metadata.row_group(group).num_rows
            decoded = part.read_row_group(group, columns=columns, use_threads=False).num_rows
            if decoded != expected:
                raise PartProblem(
                    f"row group {group} decodes to {decoded} rows, its footer says {expected}"
                )
            rows += decoded
    except (OSError, pa.ArrowException) as exc:
        raise PartProblem(f"damaged data ({first_line(exc)})") from exc
    if rows != info.rows:
        raise PartProblem(f"{rows} rows decoded, the footer says {info.rows}")


def check_parts(
    found: dict[str, list[Path]], threads: int | None = None, *,
    footer_only: Collection[Path] = (),
) -> tuple[dict[str, dict[Path, PartInfo]], dict[Path, str]]:
    """Footer and full read of every part (only the footer of those in `footer_only`:
    read whole before), `threads` at a time (default: one per CPU).

    Returns the usable parts by table, and the others with why. A part of a newer
    schema version raises LinkindexError.
    """

    def check(table: str, path: Path) -> PartInfo:
        info = check_part(path, table)
        if path not in footer_only:
            read_part(path, table, info)
        return info

    usable: dict[str, dict[Path, PartInfo]] = {table: {} for table in found}
    problems: dict[Path, str] = {}
    jobs = [(table, path) for table, paths in found.items() for path in paths]
    with ThreadPoolExecutor(max_workers=max(1, threads or os.cpu_count() or 1)) as pool:
        futures = [pool.submit(check, table, path) for table, path in jobs]
        for (table, path), future in zip(jobs, futures, strict=True):
            try:
                usable[table][path] = future.result()
            except PartProblem as problem:
                problems[path] = str(problem)
    return usable, problems


def _compatible(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Same type up to encoding: dictionaries, large strings, timestamp units."""
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    if pa.types.is_large_string(actual) or pa.types.is_string_view(actual):
        actual = pa.string()
    if pa.types.is_timestamp(actual) and pa.types.is_timestamp(expected):
        return actual.tz in ("UTC", "+00:00", "Etc/UTC")
    return actual == expected


def probe_parts(paths: list[Path]) -> dict[Path, str]:
    """Read every value of each part with DuckDB; the parts it cannot read, with why.

    Used only after a build failed with an error that names no file: it costs a full
    read of the inputs, once.
    """
    bad: dict[Path, str] = {}
    con = duckdb.connect()
    try:
        for path in paths:
            try:
                # max() of every column forces every page of every column to be decoded
                # (as text: timestamps would need pytz to reach Python).
                con.execute(
                    "SELECT max(COLUMNS(*))::VARCHAR FROM read_parquet($path)", {"path": str(path)}
                ).fetchall()
            except duckdb.Error as exc:
                bad[path] = f"DuckDB cannot read it ({first_line(exc)})"
    finally:
        con.close()
    return bad


def first_line(exc: BaseException) -> str:
    """The first line of an error message: LinkindexError messages are one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
