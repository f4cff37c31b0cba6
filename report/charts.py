"""Query results as Plotly figures: plain JSON that Plotly's JavaScript draws.

Why Plotly: its JavaScript ships inside the ``plotly`` wheel on PyPI
(``plotly/package_data/plotly.min.js``), so installing linkindex with pip is all it takes
to draw offline: no npm, no CDN at view time. It is kept by Plotly, Inc. (MIT, monthly
releases), and draws every chart here with hover values, zoom and PNG export built in.
Its cost is size: about 4.8 MB of JavaScript inside each report file.

Each function takes a query's result and returns one ``Chart``. A chart has one bar
or point per value the query returned, so a test can count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = ["RANK_BINS", "Chart", "anchor_mix_chart", "history_chart", "link_mix_charts",
           "new_lost_chart", "rank_chart", "rank_bins"]

GOOD, BAD, ACCENT, MUTED = "#2a9d8f", "#e76f51", "#264653", "#8d99ae"


@dataclass(frozen=True)
class Chart:
    key: str  # the element's id in the page
    title: str
    note: str
    figure: dict[str, Any]  # {"data": [traces], "layout": {...}}


def _layout(x_title: str, y_title: str, **more: Any) -> dict[str, Any]:
    return {"margin": {"l": 60, "r": 20, "t": 10, "b": 60}, "height": 320,
            "xaxis": {"title": {"text": x_title}, "type": "category"},
            "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.25}} | more


def _bars(key: str, title: str, note: str, x: list, y: list, x_title: str,
          y_title: str, color: str = ACCENT) -> Chart:
    trace = {"type": "bar", "x": x, "y": y, "marker": {"color": color}, "name": y_title}
    return Chart(key, title, note, {"data": [trace], "layout": _layout(x_title, y_title)})


def history_chart(history: pa.Table) -> Chart:
    """Referring domains and backlinks at the end of each crawl (history)."""
    crawls = history.column("crawl_id").to_pylist()
    return Chart("chart_history", "Referring domains and backlinks over crawls",
                 "each point counts the index as it stood when that crawl ended", {
                     "data": [
                         {"type": "scatter", "mode": "lines+markers", "name": "referring domains",
                          "x": crawls, "y": history.column("referring_domains").to_pylist(),
                          "line": {"color": ACCENT}},
                         {"type": "scatter", "mode": "lines+markers", "name": "backlinks",
                          "x": crawls, "y": history.column("backlinks").to_pylist(),
                          "yaxis": "y2", "line": {"color": MUTED, "dash": "dot"}},
                     ],
                     "layout": _layout("crawl", "referring domains", margin={
                         "l": 60, "r": 70, "t": 10, "b": 60}, yaxis2={
                         "title": {"text": "backlinks"}, "overlaying": "y", "side": "right",
                         "rangemode": "tozero"}),
                 })


def new_lost_chart(history: pa.Table) -> Chart:
    """Links found and lost per crawl (history): lost ones drawn below zero."""
    crawls = history.column("crawl_id").to_pylist()
    lost = [-n for n in history.column("lost_backlinks").to_pylist()]
    return Chart("chart_new_lost", "New and lost links per crawl",
                 "links found, and lost (below zero), since the crawl before ended", {
                     "data": [
                         {"type": "bar", "name": "new links", "x": crawls,
                          "y": history.column("new_backlinks").to_pylist(),
                          "marker": {"color": GOOD}},
                         {"type": "bar", "name": "lost links", "x": crawls, "y": lost,
                          "marker": {"color": BAD}},
                     ],
                     "layout": _layout("crawl", "links", barmode="relative"),
                 })


def anchor_mix_chart(anchor_mix: pa.Table) -> Chart:
    return _bars("chart_anchor_mix", "Anchor mix", "links by anchor class (docs/anchors.md)",
                 anchor_mix.column("anchor_class").to_pylist(),
                 anchor_mix.column("backlinks").to_pylist(), "anchor class", "backlinks")


# Domain rank is 0..100: ten bins of 10, the last one closed (100 falls in 90-100).
RANK_BINS = tuple(f"{low}-{low + 10}" for low in range(0, 100, 10))


def rank_bins(ranks: list[float | None]) -> list[int]:
    """How many of `ranks` fall in each of RANK_BINS (None: not counted)."""
    counts = [0] * len(RANK_BINS)
    for rank in ranks:
        if rank is not None:
            counts[min(int(rank // 10), len(RANK_BINS) - 1)] += 1
    return counts


def rank_chart(referring_domains: pa.Table) -> Chart:
    ranks = referring_domains.column("domain_rank").to_pylist()
    return _bars("chart_domain_ranks", "Domain rank of referring domains",
                 "referring domains by their domain_rank, in bins of 10 (docs/metrics.md)",
                 list(RANK_BINS), rank_bins(ranks), "domain rank", "referring domains")


_FACETS = {
    "kind": ("chart_kinds", "Link kinds", "links by kind (docs/extraction.md)",
             ACCENT),
    "position": ("chart_positions", "Link positions",
                 "links by where they sit on the page (docs/extraction.md)", MUTED),
    "rel": ("chart_rel", "Dofollow, nofollow, ugc, sponsored",
            "links by rel; a link may carry several tokens", GOOD),
}


def link_mix_charts(link_mix: pa.Table) -> list[Chart]:
    """One bar chart per facet of link_mix: kinds, positions, rel."""
    rows = link_mix.to_pylist()
    charts = []
    for facet, (key, title, note, color) in _FACETS.items():
        mine = [row for row in rows if row["facet"] == facet]
        charts.append(_bars(key, title, note, [row["value"] or "(none)" for row in mine],
                            [row["backlinks"] for row in mine], facet, "backlinks", color))
    return charts
