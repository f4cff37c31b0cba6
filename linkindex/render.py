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


def show_job_status(status: Any) -> None:
    """A crawl job's counters, a progress bar, ETA and its workers (`job status`)."""
    from rich.progress_bar import ProgressBar

    console = console_for(sys.stdout)
    eta = status.eta_seconds
    eta_text = "—" if eta is None else f"{eta:,.0f}s"
    state = "finished" if status.finished else status.state
    console.print(f"[bold]job {status.name}[/bold]: {state}")
    view = Table(show_header=False, box=None)
    for name in ("queued", "leased", "done", "failed", "ignored"):
        view.add_row(name, _cell(getattr(status, name)))
    view.add_row("pages/s", f"{status.pages_per_second:,.1f}")
    view.add_row("ETA", eta_text)
    console.print(view)
    console.print(ProgressBar(total=1.0, completed=status.progress, width=40),
                  f"{status.progress:.0%}")
    if status.workers:
        workers = Table(title="workers", title_justify="left", header_style="bold")
        for column in ("worker", "last beat", "pages", "pages/s"):
            workers.add_column(column)
        for w in status.workers:
            workers.add_row(w.name, f"{w.seconds_since_beat:.0f}s ago", _cell(w.pages),
                            f"{w.pages_per_second:,.1f}")
        console.print(workers)
