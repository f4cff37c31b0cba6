"""Backlink questions answered over the live index generation.

The questions themselves are DuckDB table macros, one per ``queries/<name>.sql`` file
(helpers in ``queries/_*.sql``). This module puts them in front of Python and of the
``linkindex`` command:

- ``QUERIES``: the catalogue, read from the files' headers (``queries.catalogue``);
- ``connect(data)``: an in-memory DuckDB with the views ``edges``, ``pages``, ``domains``,
  ``hosts`` over the live generation and every macro defined;
- ``init_sql(data)`` / ``write_init_file(data)``: the same as SQL text, so the stock
  DuckDB CLI or Python package gets the same session (``duckdb -init DATA/linkindex.sql``);
- ``run_query(data, name, args, ...)``: one macro, with targets normalised and every
  value bound as a prepared-statement parameter (never pasted into SQL text); a query's
  own options (``brands``, ``group_similar``, ...) in ``options`` (``queries.options``);
- ``run_sql(data, sql)``: any SQL over the same session.

Nothing here writes to the index: the views only read its Parquet files.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.errors import LinkindexError
from core.schema import KINDS, POSITIONS, TARGET_SCOPES, URL_SCOPES
from core.storage import Storage
from core.urls import normalize_host, normalize_url
from queries.catalogue import QuerySpec, catalogue
from queries.known import check_known, fetch
from queries.options import bind_options, filter_options, flag, parse_moment
from queries.session import (
    connect,
    first_line,
    init_sql,
    macro_files,
    shared_cursor,
    write_init_file,
)

__all__ = [
    "QUERIES",
    "SCOPES",
    "STANDARD_OPTIONS",
    "Filters",
    "QuerySpec",
    "Hidden",
    "catalogue",
    "connect",
    "explain_empty",
    "hidden_rows",
    "init_sql",
    "macro_files",
    "parse_moment",
    "run_query",
    "run_sql",
    "write_init_file",
]

SCOPES = TARGET_SCOPES
# Arguments of run_query that name a target (normalised per scope), in any query.
_TARGET_ARGS = ("target", "me", "competitors")


@dataclass(frozen=True)
class Filters:
    """Which links a query counts (the named parameters of every macro)."""

    live_only: bool = True
    dofollow_only: bool = False
    external_only: bool = True
    kind: str | None = None
    position: str | None = None
    # The index as it stood at a moment (every macro; docs/history.md).
    as_of: datetime | None = None
    # The end of new_lost's window (only the macros that take it).
    until: datetime | None = None

    def sql_options(self) -> dict[str, Any]:
        """The filters by the names of the macros' parameters (``position`` is
        ``link_position`` in SQL: DuckDB 1.5's parser, the stock CLI's, rejects
        ``position`` as a macro parameter name); ``until`` is not one of every macro's."""
        return {SQL_NAMES.get(name, name): value for name, value in asdict(self).items()
                if name != "until"}


# The macros' name of each Filters field that SQL spells differently.
SQL_NAMES = {"position": "link_position"}
# The named parameters run_query sets itself (scope, filters, min_overlap): any other
# named parameter of a macro is an option of that query's own (queries.options).
STANDARD_OPTIONS = frozenset({"scope", "until", "min_overlap", *Filters().sql_options()})


class _Queries(Mapping[str, QuerySpec]):
    """The catalogue by query name, read from the SQL files' headers on first use
    (``queries.catalogue``): adding a query is adding one ``queries/NAME.sql`` file."""

    def __getitem__(self, name: str) -> QuerySpec:
        return catalogue()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(catalogue())

    def __len__(self) -> int:
        return len(catalogue())

    def __repr__(self) -> str:
        return f"QUERIES({', '.join(catalogue())})"


QUERIES: Mapping[str, QuerySpec] = _Queries()


# ---------------------------------------------------------------------------
# Running queries
# ---------------------------------------------------------------------------


def run_query(
    data: Path | Storage,
    name: str,
    args: list[str],
    *,
    scope: str = "domain",
    filters: Filters = Filters(),
    limit: int | None = None,
    min_overlap: int = 1,
    options: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Run the macro `name` with positional `args`; every value is a bound parameter.

    ``min_overlap`` goes to the queries that take it (link_gap); ``options`` are the
    query's own named parameters (``{"group_similar": True}``; ``queries.options``).
    Raises LinkindexError with one line for any mistake the caller can fix, including a
    target the index knows nothing about. When the answer is empty, ``explain_empty``
    says which filter emptied it.
    """
    spec = _spec(name)
    _check_options(scope, filters, limit, min_overlap)
    own = bind_options(name, spec, options, STANDARD_OPTIONS)
    values = _bind_args(name, spec, args, scope)
    sql, params = _call(name, spec, values, scope, filters, min_overlap, own)
    if limit is not None:
        sql += " LIMIT $limit"
        params["limit"] = limit
    con = shared_cursor(data)  # the session is opened once per process (queries.session)
    try:
        table = fetch(con, sql, params)
        if name == "link_gap":  # a mistyped competitor would silently shrink the gap
            for competitor in values["competitors"]:
                check_known(con, competitor, scope)
        elif _looks_empty(name, table):
            check_known(con, values["target"], scope)
        return table
    finally:
        con.close()


def _call(name: str, spec: QuerySpec, values: dict[str, Any], scope: str, filters: Filters,
          min_overlap: int, own: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``SELECT * FROM name(...)`` with every value a named parameter, and the values."""
    params: dict[str, Any] = dict(values)
    call = [f"${arg}" for arg in spec.args]
    if "min_overlap" in spec.options:
        call.append("min_overlap := $min_overlap")
        params["min_overlap"] = min_overlap
    if "until" in spec.options and filters.until is not None:
        call.append("until := $until")
        params["until"] = filters.until
    for option, value in [("scope", scope), *filters.sql_options().items(), *own.items()]:
        call.append(f"{option} := ${option}")
        params[option] = value
    return f"SELECT * FROM {name}({', '.join(call)})", params


# ---------------------------------------------------------------------------
# An empty answer: which filter emptied it
# ---------------------------------------------------------------------------

HIDDEN_CAP = 10_000  # rows counted behind a filter, at most (the count is a hint)


@dataclass(frozen=True)
class Hidden:
    """Rows a query gives once one filter (or several) is lifted."""

    lifted: Filters  # the filters with it lifted
    option: str  # the same on the command line: "--include-internal", "without --kind"
    rows: int  # at most HIDDEN_CAP + 1
    options: Mapping[str, Any] = field(default_factory=dict)  # the query's own, likewise

    def __str__(self) -> str:
        count = f"{HIDDEN_CAP:,}+" if self.rows > HIDDEN_CAP else f"{self.rows:,}"
        return f"{count} more {self.option}"


def _liftable(filters: Filters, own: Mapping[str, Any],
              narrowing: list[str]) -> list[tuple[Filters, Mapping[str, Any], str]]:
    """Each filter that is on, lifted alone, with its command-line spelling: the
    standard ones, then the query's own that narrow the rows (`narrowing`)."""
    out: list[tuple[Filters, str]] = []
    if filters.external_only:
        out.append((replace(filters, external_only=False), "with --include-internal"))
    if filters.live_only:
        out.append((replace(filters, live_only=False), "with --include-lost"))
    if filters.dofollow_only:
        out.append((replace(filters, dofollow_only=False), "without --dofollow"))
    if filters.kind is not None:
        out.append((replace(filters, kind=None), "without --kind"))
    if filters.position is not None:
        out.append((replace(filters, position=None), "without --position"))
    lifts = [(lifted, own, option) for lifted, option in out]
    for name in narrowing:
        lifts.append((filters, {**own, name: None}, f"without {flag(name)}"))
    return lifts


def hidden_rows(
    data: Path | Storage,
    name: str,
    args: list[str],
    *,
    scope: str = "domain",
    filters: Filters = Filters(),
    min_overlap: int = 1,
    options: Mapping[str, Any] | None = None,
) -> list[Hidden]:
    """The rows each filter that is on hides from this query: one entry per filter that
    hides any, counted with that filter alone lifted; if none does, one entry for all
    of them lifted together (e.g. links that are both internal and lost). The filters
    are the standard ones and the query's own options that narrow its rows
    (``queries.options.filter_options``). Each count is a ``count(*)`` over at most
    HIDDEN_CAP + 1 rows. Empty for the queries whose rows are fixed (``overview``: one,
    ``anchor_mix``: one per class) and when nothing hides anything.
    """
    spec = _spec(name)
    _check_options(scope, filters, None, min_overlap)
    own = bind_options(name, spec, options, STANDARD_OPTIONS)
    if name in _FIXED_ROWS:
        return []
    values = _bind_args(name, spec, args, scope)
    con = shared_cursor(data)
    try:
        def count(lifted: Filters, lifted_own: Mapping[str, Any]) -> int:
            sql, params = _call(name, spec, values, scope, lifted, min_overlap, lifted_own)
            sql = f"SELECT count(*) AS n FROM ({sql} LIMIT {HIDDEN_CAP + 1})"
            return fetch(con, sql, params).column("n")[0].as_py()

        narrowing = filter_options(spec, own)
        lifts = _liftable(filters, own, narrowing)
        found = [Hidden(lifted, option, n, lifted_own) for lifted, lifted_own, option in lifts
                 if (n := count(lifted, lifted_own))]
        if found or len(lifts) < 2:
            return found
        everything = replace(filters, live_only=False, dofollow_only=False,
                             external_only=False, kind=None, position=None)
        everything_own = {**own, **dict.fromkeys(narrowing)}
        n = count(everything, everything_own)
        words: dict[str, list[str]] = {"with": [], "without": []}  # "with --a --b"
        for _, _, option in lifts:
            word, spelled = option.split(" ", 1)
            words[word].append(spelled)
        option = " ".join(f"{word} {' '.join(flags)}" for word, flags in words.items() if flags)
        return [Hidden(everything, option, n, everything_own)] if n else []
    finally:
        con.close()


def explain_empty(
    data: Path | Storage,
    name: str,
    args: list[str],
    *,
    scope: str = "domain",
    filters: Filters = Filters(),
    min_overlap: int = 1,
    options: Mapping[str, Any] | None = None,
) -> str | None:
    """For a query that gave no rows: one line saying which filters emptied it, e.g.
    ``0 rows; 12 more with --include-internal``; None when no filter hides anything."""
    hidden = hidden_rows(data, name, args, scope=scope, filters=filters,
                         min_overlap=min_overlap, options=options)
    return f"0 rows; {', '.join(str(h) for h in hidden)}" if hidden else None


def run_sql(data: Path | Storage, sql: str) -> pa.Table:
    """Run SQL text over the session; the result of its last statement (empty if none)."""
    con = connect(data)
    try:
        relation = con.sql(sql)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.Error as exc:
        raise LinkindexError(first_line(exc)) from None
    finally:
        con.close()


def _spec(name: str) -> QuerySpec:
    spec = QUERIES.get(name)
    if spec is None:
        raise LinkindexError(
            f"unknown query {name!r}: choose one of {', '.join(sorted(QUERIES))}"
        )
    return spec


def _check_options(scope: str, filters: Filters, limit: int | None, min_overlap: int) -> None:
    if scope not in SCOPES:
        raise LinkindexError(f"bad scope {scope!r}: use {_choices(SCOPES)}")
    if filters.kind is not None and filters.kind not in KINDS:
        raise LinkindexError(f"bad kind {filters.kind!r}: use {_choices(KINDS)}")
    if filters.position is not None and filters.position not in POSITIONS:
        raise LinkindexError(
            f"bad position {filters.position!r}: use {_choices(POSITIONS)}"
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise LinkindexError(f"bad limit {limit!r}: use a whole number, 0 or more")
    if isinstance(min_overlap, bool) or not isinstance(min_overlap, int) or min_overlap < 1:
        raise LinkindexError(
            f"bad min_overlap {min_overlap!r}: use a whole number, 1 or more"
        )


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1]


def _bind_args(name: str, spec: QuerySpec, args: list[str], scope: str) -> dict[str, Any]:
    """The macro's positional arguments by name, normalised and typed."""
    fixed = len(spec.args) - 1 if spec.variadic else len(spec.args)
    enough = len(args) >= len(spec.args) if spec.variadic else len(args) == len(spec.args)
    if not enough:
        raise LinkindexError(
            f"wrong number of arguments for {name} ({len(args)}): usage: {spec.usage(name)}"
        )
    raw: dict[str, Any] = dict(zip(spec.args[:fixed], args[:fixed], strict=True))
    if spec.variadic:
        raw[spec.args[-1]] = list(args[fixed:])
    values: dict[str, Any] = {}
    for arg, value in raw.items():
        if arg in _TARGET_ARGS:
            values[arg] = (
                [_normalize_target(v, scope) for v in value]
                if isinstance(value, list)
                else _normalize_target(value, scope)
            )
        elif arg == "since":
            values[arg] = parse_moment(value, "since")
        else:
            values[arg] = value
    return values


def _normalize_target(target: str, scope: str) -> str:
    if scope not in URL_SCOPES:
        host = normalize_host(target)
        if host is None:
            raise LinkindexError(f"bad target {target!r}: not a host name (scope {scope})")
        return host
    url = normalize_url(target)
    if url is None:
        raise LinkindexError(
            f"bad target {target!r}: not an absolute http(s) URL (scope {scope})"
        )
    return url


# Queries whose rows do not depend on the links found: overview (one), anchor_mix (one
# per anchor class), link_mix (one per rel value at least).
_FIXED_ROWS = ("overview", "anchor_mix", "link_mix")


def _looks_empty(name: str, table: pa.Table) -> bool:
    """No rows; for overview, nothing counted at all and unknown to the web graph; for
    anchor_mix and link_mix, no link."""
    if name in ("anchor_mix", "link_mix"):
        return not any(table.column("backlinks").to_pylist())
    if name != "overview":
        return table.num_rows == 0
    row = table.to_pylist()[0]
    known_to_graph = row["cc_harmonic_pos"] is not None or row["cc_referring_domains"]
    return not (row["backlinks"] or row["lost"] or row["pages_crawled"] or known_to_graph)
