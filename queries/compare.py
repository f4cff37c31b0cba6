"""Targets side by side: the overview numbers of each, and what changed lately.

``compare_targets(data, ["me.com", "rival1.com", ...])`` gives one row per target, in
the order given: every column of the ``overview`` query (run per target through
``queries.run_query``, so normalisation, scope, filters and the unknown-target error are
those of every query; a column added to overview.sql appears here unchanged), then

- ``dofollow_share``: dofollow / backlinks, rounded to 4 decimals; NULL with 0 backlinks;
- ``since``: where the window of changes starts (``since``; default: the start of the
  latest crawl, see ``default_since``), up to ``filters.until``, else ``filters.as_of``,
  else now (excluded);
- ``new_links``, ``lost_links``: the 'new' and 'lost' rows of the ``new_lost`` query over
  that window (a link lost and found again counts once each way; 'lost' includes a link
  that stopped passing credit, lost_reason now_nofollow, as new_lost lists it);
- ``new_referring_domains``, ``lost_referring_domains``: a source domain is new when it
  had no counted link to the target just before the window and has one at its end, lost
  when the reverse (counted: a span of the link covers the moment, after the scope and
  the filters external_only, kind, link_position; with dofollow_only, passing credit
  then), as ``history`` counts them crawl by crawl.

docs/compare.md says the same for users.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.errors import LinkindexError
from core.schema import URL_SCOPES
from core.storage import Storage
from core.urls import normalize_host, normalize_url
from queries import SCOPES, Filters, run_query
from queries.session import first_line, shared_cursor

__all__ = ["CHANGE_COLUMNS", "compare_targets", "default_since"]

NO_FILTERS = Filters()  # the defaults of every query
# The columns after overview's, in order.
CHANGE_COLUMNS = ("dofollow_share", "since", "new_links", "lost_links",
                  "new_referring_domains", "lost_referring_domains")

# The start of the latest crawl (by its last fetch, then its id) that started before the
# window's end ($until; NULL: any).
_LATEST_CRAWL_START = """
SELECT crawl.started
FROM (
    SELECT fetched.crawl_id, min(fetched.fetched_at) AS started,
           max(fetched.fetched_at) AS ended
    FROM fetches AS fetched
    GROUP BY fetched.crawl_id
) AS crawl
WHERE $until IS NULL OR crawl.started < CAST($until AS TIMESTAMPTZ)
ORDER BY crawl.ended DESC, crawl.crawl_id DESC
LIMIT 1
"""

# A span counted just before a moment (the window's start, or its end, both excluded
# from "before"): found before it, not lost before it, and, with dofollow_only, passing
# credit then (it stopped at span_nofollow_at: followed_at, _links.sql).
_COUNTED_BEFORE = """(
    span.span_found_at < {moment}
    AND (span.span_lost_at IS NULL OR span.span_lost_at >= {moment})
    AND (NOT $dofollow_only
         OR coalesce({moment} <= span.span_nofollow_at, false)
         OR is_dofollow(span.nofollow, span.ugc, span.sponsored))
)"""
_START = "CAST($since AS TIMESTAMPTZ)"
_END = "coalesce(CAST($until AS TIMESTAMPTZ), CAST('infinity' AS TIMESTAMPTZ))"

_CHANGES = f"""
WITH change AS (
    SELECT found.change
    FROM new_lost(
        $target,
        {_START},
        until := CAST($until AS TIMESTAMPTZ),
        scope := $scope,
        dofollow_only := $dofollow_only,
        external_only := $external_only,
        kind := $kind,
        link_position := $link_position
    ) AS found
),
span AS (
    SELECT any_span.*
    FROM link_spans(
        $target,
        scope := $scope,
        external_only := $external_only,
        kind := $kind,
        link_position := $link_position
    ) AS any_span
),
domain_state AS (
    SELECT span.src_domain,
           bool_or({_COUNTED_BEFORE.format(moment=_START)}) AS linked_before,
           bool_or({_COUNTED_BEFORE.format(moment=_END)}) AS linked_after
    FROM span
    GROUP BY span.src_domain
)
SELECT links.new_links, links.lost_links,
       domains.new_referring_domains, domains.lost_referring_domains
FROM (
    SELECT count(*) FILTER (WHERE change.change = 'new') AS new_links,
           count(*) FILTER (WHERE change.change = 'lost') AS lost_links
    FROM change
) AS links
CROSS JOIN (
    SELECT count(*) FILTER (WHERE domain_state.linked_after
                            AND NOT domain_state.linked_before) AS new_referring_domains,
           count(*) FILTER (WHERE domain_state.linked_before
                            AND NOT domain_state.linked_after) AS lost_referring_domains
    FROM domain_state
) AS domains
"""


def compare_targets(
    data: Path | Storage,
    targets: list[str],
    *,
    scope: str = "domain",
    filters: Filters = NO_FILTERS,
    since: datetime | None = None,
) -> pa.Table:
    """One row per target, in the order given (see the module's doc for the columns).

    Raises LinkindexError with one line for no target, a target given twice (after
    normalisation: ``Example.com`` and ``example.com.`` are one), a target the index
    knows nothing about, a window that ends before it starts, or no crawl to start it
    from.
    """
    if isinstance(targets, str):  # one target, not one per character
        targets = [targets]
    if not targets:
        raise LinkindexError("compare needs one target or more")
    if scope not in SCOPES:
        raise LinkindexError(f"bad scope {scope!r}: use {', '.join(SCOPES[:-1])} or "
                             f"{SCOPES[-1]}")
    _check_distinct(targets, scope)
    until = filters.until if filters.until is not None else filters.as_of
    if since is None:
        since = default_since(data, until)
    elif since.tzinfo is None:  # as parse_moment reads a moment without offset: UTC
        since = since.replace(tzinfo=UTC)
    if until is not None and since >= until:
        raise LinkindexError(
            f"nothing to compare between {since.isoformat()} and {until.isoformat()}: "
            "the window's start (--since) must be before its end (--until, else --as-of)")
    overviews = [run_query(data, "overview", [target], scope=scope, filters=filters)
                 for target in targets]
    table = pa.concat_tables(overviews)
    changes = [_changes(data, target, scope, filters, since, until)  # as normalised
               for target in table.column("target").to_pylist()]
    backlinks = table.column("backlinks").to_pylist()
    dofollow = table.column("dofollow").to_pylist()
    added: dict[str, pa.Array] = {
        "dofollow_share": pa.array(
            [round(d / b, 4) if b else None for d, b in zip(dofollow, backlinks, strict=True)],
            pa.float64()),
        "since": pa.array([since] * table.num_rows, pa.timestamp("us", tz="UTC")),
    }
    for name in CHANGE_COLUMNS[2:]:
        added[name] = pa.array([row[name] for row in changes], pa.int64())
    for name, column in added.items():
        if name in table.column_names:  # overview took the name: ours would hide it
            raise LinkindexError(f"overview already has a column {name!r}: compare cannot add it")
        table = table.append_column(name, column)
    return table


def _check_distinct(targets: list[str], scope: str) -> None:
    """One error for a target named twice, once normalised per scope as run_query does
    (a target that does not normalise is left to run_query's error)."""
    seen: dict[str, str] = {}
    for text in targets:
        target = (normalize_url(text) if scope in URL_SCOPES else normalize_host(text)) or text
        if target in seen:
            same = "" if seen[target] == text else f" (as {seen[target]!r} and {text!r})"
            raise LinkindexError(f"target {target} given twice{same}: name each target once")
        seen[target] = text


def default_since(data: Path | Storage, until: datetime | None = None) -> datetime:
    """The start of the latest crawl in the index (its first fetch): "since the last
    crawl started". The latest is the one whose last fetch is latest (then the greatest
    crawl id), among those that started before `until` when given."""
    rows = _fetch(data, _LATEST_CRAWL_START, {"until": until})
    if not rows or rows[0]["started"] is None:
        raise LinkindexError("the index holds no crawl to count changes from: give --since "
                             "DATE")
    return rows[0]["started"]


def _changes(data: Path | Storage, target: str, scope: str, filters: Filters,
             since: datetime, until: datetime | None) -> dict[str, int]:
    params: dict[str, Any] = {
        "target": target, "scope": scope, "since": since, "until": until,
        "dofollow_only": filters.dofollow_only, "external_only": filters.external_only,
        "kind": filters.kind, "link_position": filters.position,
    }
    [row] = _fetch(data, _CHANGES, params)
    return row


def _fetch(data: Path | Storage, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    con = shared_cursor(data)
    try:
        return con.sql(sql, params=params).to_arrow_table().to_pylist()
    except duckdb.Error as exc:
        raise LinkindexError(first_line(exc)) from None
    finally:
        con.close()
