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
    view = Table(title=title, title_justify="left", header_style="bold")
    numeric = {
        f.name for f in table.schema
        if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
    }
    for name in table.column_names:
        view.add_column(name, justify="right" if name in numeric else "left", overflow="fold")
    for row in table.to_pylist():
        view.add_row(*(_cell(row[name]) for name in table.column_names))
    return view


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
        console = Console()
        console.print(table_view(table, title))
        if table.num_rows == 0:
            console.print("(no rows)")
