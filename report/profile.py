"""What the analyst's view shows for a target, defined once for the report and the UI.

A view is: a header (when, which generation, which crawls, which metric versions), the
overview's numbers with their definitions (from overview.sql's header), the latest
monitoring run's changes when a watch covers the target (``report.monitoring``), the
charts (``report.charts``) and the tables. Each table is one query with its arguments
(``TableSpec``): the report embeds its rows, the web UI pages through them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.errors import LinkindexError
from core.storage import Storage
from queries import Filters
from queries.catalogue import column_docs
from queries.compare import default_since
from queries.live import LiveIndex, resolve
from report.charts import (
    Chart,
    anchor_mix_chart,
    history_chart,
    link_mix_charts,
    new_lost_chart,
    rank_chart,
)
from report.monitoring import SinceLastRun, since_last_run
from report.results import QueryCall, result

__all__ = ["Header", "TableSpec", "View", "ViewRequest", "call_of", "describe_filters",
           "filters_params", "header_of", "mark_of", "overview_tiles", "table_specs",
           "view_of"]


@dataclass(frozen=True)
class ViewRequest:
    """Whose profile, matched how, under which filters, against which competitors."""

    target: str
    scope: str = "domain"
    filters: Filters = Filters()
    compare: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """One table of the view: a query, its positional arguments and its own options."""

    key: str  # the table's id in the page and its CSV file's name
    title: str
    query: str
    args: tuple[str, ...]
    note: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


def _broken(row: dict[str, Any]) -> str | None:
    """A page whose latest fetch answered 4xx or 5xx."""
    status = row.get("status")
    return "broken" if status is not None and status >= 400 else None


# A row's mark by query (a CSS class, and the word shown at the row's end), or None.
MARKS: dict[str, Callable[[dict[str, Any]], str | None]] = {"top_pages": _broken}


def mark_of(query: str, row: dict[str, Any]) -> str | None:
    mark = MARKS.get(query)
    return mark(row) if mark else None


def table_specs(data: Path | Storage, request: ViewRequest, live: LiveIndex) -> list[TableSpec]:
    """The view's tables, in the order shown. Recent new and lost links are those since
    the latest crawl in the index started (as `linkindex compare` counts them), once the
    index holds two crawls: before, every link would be "new"."""
    target = request.target
    since = None
    if len(live.manifest.get("crawls", [])) > 1:
        try:
            since = default_since(data, request.filters.until or request.filters.as_of)
        except LinkindexError:  # no crawl started before --as-of / --until
            pass
    specs = [
        TableSpec("referring_domains", "Top referring domains", "referring_domains", (target,)),
        TableSpec("anchors", "Top anchors", "anchors", (target,)),
        TableSpec("top_pages", "Top pages", "top_pages", (target,),
                  note="pages whose latest fetch answered 4xx or 5xx are marked broken"),
    ]
    if since is not None:
        specs.append(TableSpec(
            "new_lost", "Recent new and lost links", "new_lost", (target, since.isoformat()),
            note=f"since the latest crawl started ({_moment(since)})"))
    if request.compare:
        specs.append(TableSpec(
            "link_gap", "Link gap", "link_gap", (target, *request.compare),
            note=f"domains linking to {', '.join(request.compare)} but not to {target}"))
    return specs


@dataclass(frozen=True)
class Header:
    """What the numbers are of: when, which generation, crawl window, metric versions."""

    target: str
    scope: str
    generated_at: str
    generation: str
    generation_created: str
    crawls: list[dict[str, Any]]
    window: tuple[str, str] | None  # the first and the last fetch of any crawl
    metrics: dict[str, Any]
    linkindex_version: str
    filters: list[str]
    compare: tuple[str, ...]


def header_of(live: LiveIndex, request: ViewRequest) -> Header:
    manifest = live.manifest
    crawls = [dict(crawl) for crawl in manifest.get("crawls", [])]
    firsts = [c["first_fetch"] for c in crawls if c.get("first_fetch")]
    lasts = [c["last_fetch"] for c in crawls if c.get("last_fetch")]
    window = (_moment(datetime.fromisoformat(min(firsts))),
              _moment(datetime.fromisoformat(max(lasts)))) if firsts and lasts else None
    metrics = {name: receipt.get("version") for name, receipt
               in (manifest.get("metrics") or {}).items() if isinstance(receipt, dict)}
    return Header(
        target=request.target, scope=request.scope,
        generated_at=_moment(datetime.now(UTC)),
        generation=live.generation,
        generation_created=str(manifest.get("created_at", "")),
        crawls=crawls, window=window, metrics=metrics,
        linkindex_version=str(manifest.get("linkindex_version", "")),
        filters=describe_filters(request.filters), compare=request.compare,
    )


def filters_params(filters: Filters) -> list[tuple[str, str]]:
    """The filters that differ from the defaults, as the UI's URL parameters name them
    (report.params reads them back), flags as ``yes``, moments in ISO 8601."""
    out = []
    if not filters.live_only:
        out.append(("include_lost", "yes"))
    if filters.dofollow_only:
        out.append(("dofollow", "yes"))
    if not filters.external_only:
        out.append(("include_internal", "yes"))
    for name in ("kind", "position"):
        if getattr(filters, name):
            out.append((name, getattr(filters, name)))
    for name in ("as_of", "until"):
        if getattr(filters, name):
            out.append((name, getattr(filters, name).isoformat()))
    return out


def describe_filters(filters: Filters) -> list[str]:
    """The same, as the command line spells them: --include-lost, --kind img, ..."""
    return [f"--{name.replace('_', '-')}" + ("" if value == "yes" else f" {value}")
            for name, value in filters_params(filters)]


@dataclass(frozen=True)
class Tile:
    name: str
    value: Any
    definition: str

    @property
    def text(self) -> str:
        """The value as a tile shows it: 12,345; 21.8; 2026-06-01 12:00 UTC; – for none."""
        return tile_text(self.value)


def tile_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, datetime):
        return _moment(value)
    return str(value)


# overview's columns that are not numbers about the target's links
_NOT_TILES = ("target", "scope")


def overview_tiles(overview: pa.Table) -> list[Tile]:
    """overview's one row as tiles, each with its definition from overview.sql."""
    docs = column_docs("overview")
    row = overview.to_pylist()[0]
    return [Tile(name, value, docs.get(name, "")) for name, value in row.items()
            if name not in _NOT_TILES]


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def call_of(request: ViewRequest, spec: TableSpec) -> QueryCall:
    """The query call behind one of the view's tables, under the view's scope and filters."""
    return QueryCall(spec.query, spec.args, request.scope, request.filters,
                     tuple(sorted(spec.options.items())))


@dataclass(frozen=True)
class View:
    header: Header
    tiles: list[Tile]
    charts: list[Chart]
    tables: list[TableSpec]
    live: LiveIndex  # the generation it was read from: its tables' rows come from it too
    monitoring: SinceLastRun | None = None  # the target's latest monitoring run, if any


def view_of(data: Path | Storage, request: ViewRequest, live: LiveIndex | None = None) -> View:
    """Everything the report and the UI show for `request`, but the tables' rows (the
    report embeds them, the UI pages through them: ``report.results``); with it the
    latest monitoring run of a watch on the target and scope (``report.monitoring``,
    whatever the filters). One clear LinkindexError for a target the index knows
    nothing about. DATA's live generation is resolved once for the whole view (`live`,
    unless the caller did)."""
    live = live or resolve(data)

    def answer(query: str, *args: str) -> pa.Table:
        return result(data, QueryCall(query, (request.target, *args), request.scope,
                                      request.filters), live)

    overview = answer("overview")  # raises first for an unknown target
    history = answer("history")
    charts = [history_chart(history), new_lost_chart(history),
              anchor_mix_chart(answer("anchor_mix")), rank_chart(answer("referring_domains")),
              *link_mix_charts(answer("link_mix"))]
    return View(header_of(live, request), overview_tiles(overview), charts,
                table_specs(data, request, live), live,
                since_last_run(data, request.target, request.scope))
