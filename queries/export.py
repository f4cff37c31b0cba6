"""Query results as CSV that spreadsheets open safely.

- UTF-8, one header row, RFC 4180 quoting (the csv module), CRLF line ends in files;
- lists as ``a|b|c``; timestamps ISO 8601 in UTC (``2025-06-01T12:00:00Z``);
  booleans ``true``/``false``; nulls empty;
- a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a
  leading ``'`` so a spreadsheet shows it instead of running it as a formula (OWASP,
  "CSV injection"); so does one whose first character after any whitespace (spaces,
  tabs, CR, LF, NBSP, any Unicode space) and invisible zero-width characters is one of
  those four, or their full-width forms ``＝ ＋ － ＠``, which spreadsheets may read as
  the ASCII ones; numbers are never touched;
- an optional byte order mark, for Excel to detect UTF-8;
- files appear whole or not at all (core.layout.atomic_path).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from core import layout

__all__ = ["cell_text", "csv_bytes", "to_csv_text", "write_csv"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# What starts a formula after leading whitespace: the ASCII signs and their full-width forms.
FORMULA_SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# Skipped before that sign: Unicode whitespace (\s: space, tab, CR, LF, NBSP, U+2000-U+200A,
# U+3000, ...) and the zero-width characters str.isspace() does not count (zero-width
# space, non-joiner, joiner, word joiner, BOM).
_LEADING = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]*")
LIST_SEPARATOR = "|"


def write_csv(table: pa.Table, path: Path, *, bom: bool = False) -> int:
    """Write `table` as CSV to `path` atomically; return the number of data rows."""
    encoding = "utf-8-sig" if bom else "utf-8"
    with layout.atomic_path(path) as tmp, open(tmp, "w", encoding=encoding, newline="") as fh:
        rows = _write(table, fh)
    return rows


def csv_bytes(table: pa.Table, *, bom: bool = False) -> bytes:
    """Exactly the bytes write_csv writes to a file (CRLF records), e.g. for a download."""
    buffer = io.StringIO(newline="")
    _write(table, buffer)
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def cell_text(value: Any) -> str:
    """One value as a CSV cell shows it, without the formula guard (for a page, where
    text is escaped instead): ISO 8601 UTC, ``a|b|c``, true/false, '' for null."""
    return "" if value is None else _render(value)


def to_csv_text(table: pa.Table) -> str:
    """`table` as CSV text (``\\n`` after each record, no BOM), e.g. for standard output."""
    buffer = io.StringIO(newline="")
    _write(table, _UnixRecordEnds(buffer))
    return buffer.getvalue()


class _UnixRecordEnds:
    """Ends each record with \\n instead of \\r\\n, leaving quoted cells alone.

    The writer keeps \\r\\n as its line terminator so that it still quotes any cell
    holding a CR (with a plain \\n terminator, the csv module would not). It hands
    over one whole record per write() call.
    """

    def __init__(self, fh: IO[str]) -> None:
        self._fh = fh

    def write(self, record: str) -> int:
        if record.endswith("\r\n"):
            record = record[:-2] + "\n"
        return self._fh.write(record)


def _write(table: pa.Table, fh: IO[str] | _UnixRecordEnds) -> int:
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow([_guard(name) for name in table.column_names])
    rows = 0
    for row in _rows(table):
        writer.writerow(row)
        rows += 1
    return rows


def _rows(table: pa.Table) -> Iterator[list[str]]:
    renderers = [_renderer(field.type) for field in table.schema]
    for batch in table.to_batches():
        columns = [
            [render(value) for value in column.to_pylist()]
            for render, column in zip(renderers, batch.columns, strict=True)
        ]
        yield from (list(row) for row in zip(*columns, strict=True))


def _renderer(arrow_type: pa.DataType) -> Callable[[Any], str]:
    """How to write one cell of a column of this type."""
    if _is_text(arrow_type) or _is_list(arrow_type):
        return lambda value: "" if value is None else _guard(_render(value))
    return lambda value: "" if value is None else _render(value)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join("" if item is None else _render(item) for item in value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z; naive timestamps are taken as UTC already."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment.microsecond == 0:
        spec = "seconds"
    elif moment.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _guard(text: str) -> str:
    """Neutralise a cell a spreadsheet would read as a formula."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    lead = _LEADING.match(text)
    start = lead.end() if lead else 0
    return "'" + text if text[start:start + 1] in FORMULA_SIGNS else text


def _is_text(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
        or (pa.types.is_dictionary(arrow_type) and _is_text(arrow_type.value_type))
    )


def _is_list(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_list_view(arrow_type)
    )
