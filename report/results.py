"""Query results for the web UI: cached per generation, then sorted, searched and paged
on the server, so the browser only ever receives one page of rows.

A result is the whole answer of one query call (``run_query`` without a limit), kept in
a small LRU per live generation: turning a page or sorting again costs a slice of an
Arrow table, not a query. A new build is a new generation, so a new key: the UI picks it
up on the next request without a restart.
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
from queries.live import resolve

__all__ = ["Page", "QueryCall", "page_of", "result"]

CACHED_RESULTS = 16
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


def generation_key(data: Path | Storage) -> tuple[str, str, str]:
    live = resolve(data)
    return (live.label, live.generation, str(live.manifest.get("created_at")))


def result(data: Path | Storage, call: QueryCall) -> pa.Table:
    """The whole answer of `call` over DATA's live generation (cached per generation)."""
    key = (generation_key(data), call)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    table = call.run(data)
    with _lock:
        _cache[key] = table
        while len(_cache) > CACHED_RESULTS:
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
    """One page of `table`: rows containing `search` (any column, any case), sorted by
    `sort` (ties keep the query's own order; nulls last), page `page` of `size` rows."""
    if sort and sort not in table.column_names:
        raise LinkindexError(f"bad sort {sort!r}: not a column ({', '.join(table.column_names)})")
    if size < 1 or size > 1000 or page < 1:
        raise LinkindexError("bad page: page is 1 or more, size 1 to 1000")
    total = table.num_rows
    rows = table.append_column("__row", pa.array(range(total), pa.int64()))
    if search:
        rows = rows.filter(_contains(table, search))
    if sort:
        rows = rows.sort_by([(sort, "descending" if descending else "ascending"),
                             ("__row", "ascending")])
    matched = rows.num_rows
    pages = max(1, -(-matched // size))
    page = min(page, pages)
    chunk = rows.slice((page - 1) * size, size).drop_columns(["__row"])
    records = chunk.to_pylist()
    return Page(table.column_names, [[cell_text(v) for v in r.values()] for r in records],
                records, total, matched, page, pages, size)


def _contains(table: pa.Table, search: str) -> pa.ChunkedArray:
    """A mask: rows where any column's text contains `search`, ignoring case."""
    mask = None
    for column in table.columns:
        text = _as_text(column)
        if text is None:
            continue
        hit = pc.fill_null(pc.match_substring(text, search, ignore_case=True), False)
        mask = hit if mask is None else pc.or_(mask, hit)
    return mask if mask is not None else pa.chunked_array([pa.array([False] * table.num_rows)])


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if not pa.types.is_string(kind.value_type):
            return None
        return pc.binary_join(column, "|")
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
