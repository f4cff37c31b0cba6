"""Show a query's answer on the terminal: a table, CSV or JSON."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.table import Table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def table_view(table: pa.Table, title: str | None = None) -> Table:
    """A rich table; a one-row answer (overview) reads better as field | value."""
    if table.num_rows == 1 and table.num_columns > 4:
        view = Table(title=title, title_justify="left", header_style="bold")
        view.add_column("field")
        view.add_column("value", overflow="fold")
        row = table.to_pylist()[0]
        for name in table.column_names:
            view.add_row(name, _cell(row[name]))
        return view
    view = Table(title=title, title_justify="left", header_style="bold")
    numeric = {
        f.name for f in table.schema
        if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
    }
    for name in table.column_names:
        view.add_column(name, justify="right" if name in numeric else "left", overflow="fold",
                        min_width=min(len(name), 20))
    for row in table.to_pylist():
        view.add_row(*(_cell(row[name]) for name in table.column_names))
    return view


def console_for(stream: Any) -> Console:
    """A console as wide as the terminal; wide enough for URLs when piped to a file."""
    return Console(file=stream, width=None if stream.isatty() else 240)


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def show(table: pa.Table, fmt: str, title: str | None = None) -> None:
    if fmt == "csv":
        from queries.export import to_csv_text

        sys.stdout.write(to_csv_text(table))
    elif fmt == "json":
        json.dump(table.to_pylist(), sys.stdout, default=_json_default, ensure_ascii=False,
                  indent=1)
        sys.stdout.write("\n")
    else:
        console = console_for(sys.stdout)
        console.print(table_view(table, title))
        if table.num_rows == 0:
            console.print("(no rows)")
