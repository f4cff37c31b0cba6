"""Query results for the web UI: cached per generation, then sorted, searched and paged
on the server, so the browser only ever receives one page of rows.

A result is the whole answer of one query call (``run_query`` without a limit), kept in
a small LRU per live generation (CACHED_RESULTS answers, CACHED_BYTES of them at most):
turning a page or sorting again costs a slice of an Arrow table, not a query. A new
build is a new generation, so a new key: the UI picks it up on the next request without
a restart.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core.errors import LinkindexError
from core.storage import Storage
from queries import Filters, run_query
from queries.export import cell_text
from queries.live import LiveIndex, resolve

__all__ = ["Page", "QueryCall", "page_of", "result"]

CACHED_RESULTS = 16  # answers kept at most
CACHED_BYTES = 1 << 30  # and their Arrow buffers at most (the newest is always kept)
_cache: OrderedDict[tuple, pa.Table] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class QueryCall:
    """One call of a query: what ``run_query`` takes, hashable."""

    query: str
    args: tuple[str, ...]
    scope: str = "domain"
    filters: Filters = Filters()
    options: tuple[tuple[str, Any], ...] = field(default=())

    def run(self, data: Path | Storage) -> pa.Table:
        return run_query(data, self.query, list(self.args), scope=self.scope,
                         filters=self.filters, options=dict(self.options))


def result(data: Path | Storage, call: QueryCall, live: LiveIndex | None = None) -> pa.Table:
    """The whole answer of `call` over DATA's live generation (cached per generation);
    `live`: DATA's live generation when the caller resolved it already."""
    key = ((live or resolve(data)).key, call)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    table = call.run(data)
    with _lock:
        _cache[key] = table
        while len(_cache) > 1 and (len(_cache) > CACHED_RESULTS or sum(
                cached.nbytes for cached in _cache.values()) > CACHED_BYTES):
            _cache.popitem(last=False)
    return table


@dataclass(frozen=True)
class Page:
    columns: list[str]
    rows: list[list[str]]  # cell texts (queries.export.cell_text)
    records: list[dict[str, Any]]  # the same rows as values
    total: int  # rows of the whole answer
    matched: int  # rows the search keeps
    page: int  # 1-based
    pages: int
    size: int


def page_of(table: pa.Table, *, sort: str | None = None, descending: bool = False,
            search: str = "", page: int = 1, size: int = 50) -> Page:
    """One page of `table`: rows where a cell's text as shown (``cell_text``) contains
    `search`, any case; sorted by `sort` (a list by its text; ties keep the query's own
    order; nulls last either way); page `page` of `size` rows."""
    if sort and sort not in table.column_names:
        raise LinkindexError(f"bad sort {sort!r}: not a column ({', '.join(table.column_names)})")
    if size < 1 or size > 1000 or page < 1:
        raise LinkindexError("bad page: page is 1 or more, size 1 to 1000")
    total = table.num_rows
    rows = table.append_column("__row", pa.array(range(total), pa.int64()))
    if search:
        rows = rows.filter(_contains(table, search))
    if sort:
        key = rows.column(sort)
        if not _sortable(key.type):
            rows = rows.append_column("__key", shown_text(key))
            sort = "__key"
        rows = rows.sort_by([(sort, "descending" if descending else "ascending"),
                             ("__row", "ascending")])
    matched = rows.num_rows
    pages = max(1, -(-matched // size))
    page = min(page, pages)
    chunk = rows.slice((page - 1) * size, size).select(table.column_names)
    records = chunk.to_pylist()
    return Page(table.column_names, [[cell_text(v) for v in r.values()] for r in records],
                records, total, matched, page, pages, size)


def _sortable(kind: pa.DataType) -> bool:
    return not (pa.types.is_nested(kind) or pa.types.is_dictionary(kind))


def _contains(table: pa.Table, search: str) -> pa.ChunkedArray:
    """A mask: rows where any cell's shown text contains `search`, ignoring case."""
    mask = None
    for column in table.columns:
        hit = pc.fill_null(pc.match_substring(shown_text(column), search, ignore_case=True),
                           False)
        mask = hit if mask is None else pc.or_(mask, hit)
    return mask if mask is not None else pa.chunked_array([], pa.bool_())


def shown_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Each cell as ``queries.export.cell_text`` shows it, computed by Arrow for the
    common types (text, numbers, booleans, UTC timestamps, lists of text) and cell by
    cell for the rest (lists of structs: link_gap's examples)."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_floating(kind):  # Python writes 10.0 where Arrow writes 10
        text = pc.cast(column, pa.string())
        whole = pc.match_substring_regex(text, r"^-?\d+$")
        return pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        return _iso_utc(column)
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and pa.types.is_string(
            kind.value_type):
        return pa.chunked_array([_joined(chunk) for chunk in column.chunks], pa.string())
    return pa.chunked_array([_cell_by_cell(column.to_pylist())])


def _cell_by_cell(values: list[Any]) -> pa.Array:
    """cell_text of each value; a null stays null (sorted last, matched by nothing)."""
    return pa.array([None if v is None else cell_text(v) for v in values], pa.string())


def _joined(chunk: pa.Array) -> pa.Array:
    """A list of text as ``a|b|c``; one holding a null item cell by cell (Arrow's join
    would give null; cell_text writes an empty item)."""
    if chunk.flatten().null_count:
        return _cell_by_cell(chunk.to_pylist())
    return pc.binary_join(chunk, "|")


def _iso_utc(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO 8601 in UTC with Z, to the second, millisecond or microsecond the value needs
    (as cell_text writes it)."""
    utc = column.cast(pa.timestamp("us", tz="UTC"), safe=False)
    seconds = pc.strftime(utc.cast(pa.timestamp("s", tz="UTC"), safe=False),
                          "%Y-%m-%dT%H:%M:%S")
    micros = pc.add(pc.multiply(pc.millisecond(utc), 1000), pc.microsecond(utc))
    millis = pc.divide(micros, 1000)  # integer division
    in_millis = pc.equal(pc.multiply(millis, 1000), micros)
    fraction = pc.if_else(
        pc.equal(micros, 0), "",
        pc.if_else(in_millis,
                   pc.binary_join_element_wise(".", pc.utf8_lpad(pc.cast(millis, pa.string()),
                                                                 3, "0"), ""),
                   pc.binary_join_element_wise(".", pc.utf8_lpad(pc.cast(micros, pa.string()),
                                                                 6, "0"), "")))
    return pc.binary_join_element_wise(seconds, fraction, "Z", "")
