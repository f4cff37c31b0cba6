"""Pages from the templates, and the self-contained report file.

The report inlines everything it needs (our CSS and JavaScript, and Plotly's JavaScript
read from the installed ``plotly`` wheel), so it opens offline and fetches nothing. Each
table shows its first REPORT_ROWS rows and carries its whole answer as a CSV (the bytes
`linkindex export` writes) in a ``data:`` link.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from core import layout
from core.schema import KINDS, POSITIONS, TARGET_SCOPES
from core.storage import Storage
from queries.catalogue import column_docs
from queries.export import cell_text, csv_bytes
from report.profile import TableSpec, View, ViewRequest, call_of, mark_of, view_of
from report.results import result

__all__ = ["REPORT_ROWS", "TableView", "asset", "render", "render_report", "write_report"]

REPORT_ROWS = 100  # rows a report's table shows; its CSV holds them all


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals.update(cell=cell_text, scopes=TARGET_SCOPES, kinds=KINDS, positions=POSITIONS)
    return env


def render(template: str, **context: Any) -> str:
    context.setdefault("base", "")
    context.setdefault("version", _version())
    return _environment().get_template(template).render(**context)


@cache
def asset(name: str) -> str:
    """One of the page's assets as text: ``linkindex.css``, ``linkindex.js`` (ours) or
    ``plotly.min.js`` (from the plotly package)."""
    if name == "plotly.min.js":
        return resources.files("plotly").joinpath("package_data", name).read_text("utf-8")
    return resources.files("report").joinpath("static", name).read_text("utf-8")


@dataclass(frozen=True)
class Row:
    cells: list[str]
    mark: str | None


@dataclass(frozen=True)
class TableView:
    """A table as a template draws it: embedded rows (report), or a source (web UI)."""

    key: str
    title: str
    note: str
    columns: list[str]
    docs: dict[str, str]
    total: int = 0
    shown: tuple[Row, ...] = ()
    csv_base64: str = ""
    source: str = ""  # the web UI's URL of the rows, as JSON pages
    csv_url: str = ""


def embedded_table(data: Path | Storage, view: View, request: ViewRequest,
                   spec: TableSpec) -> TableView:
    table = result(data, call_of(request, spec), view.live)
    shown = tuple(Row([cell_text(v) for v in record.values()], mark_of(spec.query, record))
                  for record in table.slice(0, REPORT_ROWS).to_pylist())
    return TableView(spec.key, spec.title, spec.note, table.column_names,
                     column_docs(spec.query), table.num_rows, shown,
                     base64.b64encode(csv_bytes(table)).decode("ascii"))


def render_report(data: Path | Storage, request: ViewRequest) -> str:
    """The report of `request` as one self-contained HTML page."""
    view: View = view_of(data, request)
    tables = [embedded_table(data, view, request, spec) for spec in view.tables]
    assets = {"css": asset("linkindex.css"), "js": _script(asset("linkindex.js")),
              "plotly": _script(asset("plotly.min.js"))}
    return render("view.html.j2", title=f"Backlink report: {request.target}", inline=True,
                  assets=assets, view=view, tables=tables, form=False, error=None)


def write_report(data: Path | Storage, request: ViewRequest, path: Path) -> int:
    """Write the report to `path` whole or not at all; return its size in bytes."""
    text = render_report(data, request).encode("utf-8")
    with layout.atomic_path(path) as tmp:
        tmp.write_bytes(text)
    return len(text)


def _script(text: str) -> str:
    """JavaScript made safe inside <script>: no "</script" can end the element early."""
    return text.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


@cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("linkindex")
    except PackageNotFoundError:
        return "unknown"
