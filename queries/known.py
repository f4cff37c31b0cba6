"""Whether the index knows a target at all, for an empty answer (queries.run_query).

An empty answer for a target the index holds nothing about is most likely a typo: it is
an error naming the target, with a hint when a host was given where a registrable domain
was meant.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from core.domains import registrable_domain
from core.errors import LinkindexError
from core.schema import URL_SCOPES
from core.urls import url_host
from queries.session import first_line

__all__ = ["check_known", "fetch"]


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pa.Table:
    """The answer of `sql` with `params` bound; a DuckDB error as one LinkindexError line."""
    try:
        return con.sql(sql, params=params).to_arrow_table()
    except duckdb.Error as exc:
        raise LinkindexError(first_line(exc)) from None


# Cheapest first; the first probe that finds a row proves the target is in the index.
_PROBES: dict[str, list[str]] = {
    "domain": [
        "SELECT 1 FROM hosts WHERE domain = $target LIMIT 1",
        "SELECT 1 FROM target_edges($target, live_only := false, external_only := false) LIMIT 1",
        "SELECT 1 FROM cc_domain($target) LIMIT 1",  # a domain the web graph knows
    ],
    "host": ["SELECT 1 FROM hosts WHERE host = $target LIMIT 1"],
    "url": [
        "SELECT 1 FROM target_edges($target, scope := $scope, live_only := false,"
        " external_only := false) LIMIT 1",
        "SELECT 1 FROM pages WHERE matches_target(url, host, domain, $target, $scope) LIMIT 1",
        "SELECT 1 FROM source_edges($target, scope := $scope, live_only := false,"
        " external_only := false) LIMIT 1",
    ],
}


def check_known(con: duckdb.DuckDBPyConnection, target: str, scope: str) -> None:
    """Raise when `target` is nowhere in the index (no link to it, from it, no page of it)
    and, for a domain, not in the imported web graph either."""
    if scope in URL_SCOPES:
        host_seen = fetch(con, "SELECT 1 FROM hosts WHERE host = $host LIMIT 1",
                          {"host": url_host(target)}).num_rows > 0
        probes = _PROBES["url"] if host_seen else []
    else:
        probes = _PROBES[scope]
    for sql in probes:
        params = {"target": target, "scope": scope} if "$scope" in sql else {"target": target}
        if fetch(con, sql, params).num_rows:
            return
    hint = ""
    if scope == "domain" and registrable_domain(target) != target:
        hint = f"; its registrable domain is {registrable_domain(target)} (or use scope host)"
    raise LinkindexError(f"no data for target {target} (scope {scope}) in the index{hint}")
