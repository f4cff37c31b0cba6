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


def eta_text(seconds: float | None) -> str:
    """An ETA for people: 'unknown', '45s', '12m 05s', '3h 20m', '2d 4h'."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days:,}d {hours}h"


def bytes_text(n: int) -> str:
    """1536 → '1.5 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def show_job_status(status: Any) -> None:
    """A crawl job's counters, live rates, a progress bar, ETA and its workers
    (`job status`; status: crawler.frontier.jobs.JobStatus)."""
    from rich.progress_bar import ProgressBar

    console = console_for(sys.stdout)
    console.print(f"[bold]job {status.name}[/bold]: {status.display_state}")
    view = Table(show_header=False, box=None)
    rows = (
        ("queued", status.queued, "requests waiting (robots.txt included)"),
        ("leased", status.leased, "being fetched, or fetched and not yet stored"),
        ("fetched", status.fetched, "pages fetched (or given up on) by workers, live"),
        ("stored", status.stored, "of them, pages in parts and acknowledged"),
        ("done", status.done, "requests settled: pages stored, robots.txt answered"),
        ("failed", status.failed, "given up on: stored as pages with their error"),
        ("ignored", status.ignored, "not fetched: refused by robots.txt or the guard"),
    )
    for name, value, note in rows:
        view.add_row(name, _cell(value), f"[dim]{note}[/dim]")
    if status.skipped:
        view.add_row("skipped", _cell(status.skipped),
                     "[dim]of failed: domains over the Crawl-delay cap[/dim]")
    view.add_row("pages/s", f"{status.pages_per_second:,.1f}",
                 f"[dim]fetched; stored {status.stored_per_second:,.1f}/s[/dim]")
    growing = " (the frontier grows)" if status.growing and status.eta_seconds is None else ""
    view.add_row("ETA", eta_text(status.eta_seconds) + growing, "")
    if status.memory_bytes is not None:
        about = "≈ " if status.memory_estimated else ""
        how = " (scaled from a sample)" if status.memory_estimated else ""
        view.add_row("memory", about + bytes_text(status.memory_bytes),
                     f"[dim]the job's {status.memory_keys:,} keys in Redis{how}[/dim]")
    nodes = ", ".join(f"{node} ({n})" for node, n in status.nodes.items())
    view.add_row("shards", _cell(status.shards), f"[dim]on {nodes}[/dim]" if nodes else "")
    console.print(view)
    console.print(ProgressBar(total=1.0, completed=status.progress, width=40),
                  f"{status.progress:.0%}")
    if status.skipped_domains:
        shown = list(status.skipped_domains.items())[:10]
        console.print(f"skipped domains ({len(status.skipped_domains):,}):")
        for domain, reason in shown:
            console.print(f"  {domain}: {reason}", markup=False, highlight=False)
        if len(status.skipped_domains) > len(shown):
            console.print(f"  … and {len(status.skipped_domains) - len(shown):,} more "
                          "(--json lists all)")
    if status.workers:
        workers = Table(title="workers", title_justify="left", header_style="bold")
        for column in ("worker", "last beat", "fetched", "stored", "pages/s"):
            workers.add_column(column, justify="left" if column == "worker" else "right")
        for w in status.workers:
            workers.add_row(w.name, f"{w.seconds_since_beat:.0f}s ago", _cell(w.fetched),
                            _cell(w.stored), f"{w.pages_per_second:,.1f}")
        console.print(workers)


def show_job_list(statuses: list[Any]) -> None:
    """Every job, one line each: its state and counts (`job list`)."""
    if not statuses:
        print("no jobs in this Redis")
        return
    view = Table(header_style="bold", box=None)
    columns = ("job", "state", "queued", "leased", "fetched", "done", "failed", "workers",
               "pages/s", "ETA")
    for column in columns:
        view.add_column(column, justify="left" if column in ("job", "state") else "right")
    for s in statuses:
        if getattr(s, "kind", "crawl") == "import":  # files, not requests; pages imported
            view.add_row(s.name, f"{s.display_state} (import)", _cell(s.pending),
                         _cell(s.leased), _cell(s.counts.get("pages", 0)), _cell(s.done),
                         _cell(s.failed), _cell(len(s.workers)),
                         f"{s.pages_per_second:,.1f}", "")
            continue
        view.add_row(s.name, s.display_state, _cell(s.queued), _cell(s.leased),
                     _cell(s.fetched), _cell(s.done), _cell(s.failed), _cell(len(s.workers)),
                     f"{s.pages_per_second:,.1f}", eta_text(s.eta_seconds))
    console_for(sys.stdout).print(view)


def show_import_job_status(status: Any) -> None:
    """An import job's files and pages (`job status`; crawler.frontier.filejobs)."""
    console = console_for(sys.stdout)
    console.print(f"[bold]import job {status.name}[/bold]: {status.display_state}")
    view = Table(show_header=False, box=None)
    rows = (
        ("files", status.files, "in the path list, each once"),
        ("pending", status.pending, "waiting for a worker"),
        ("leased", status.leased, "being imported"),
        ("done", status.done, "imported: parts whole and counted"),
        ("failed", status.failed, "given up on (reasons below)"),
        ("pages", status.counts.get("pages", 0), "pages rows of the files done"),
        ("links", status.counts.get("edges", 0), "their links"),
        ("damaged", status.counts.get("skipped", 0), "records skipped as damaged"),
        ("page errors", status.counts.get("failed_pages", 0), "pages kept with an error"),
    )
    for name, value, note in rows:
        view.add_row(name, _cell(value), f"[dim]{note}[/dim]")
    view.add_row("pages/s", f"{status.pages_per_second:,.1f}", "[dim]live workers[/dim]")
    console.print(view)
    for file, reason in status.failed_files.items():
        console.print(f"  failed: {file}: {reason}", markup=False, highlight=False)
    if status.workers:
        workers = Table(title="workers", title_justify="left", header_style="bold")
        for column in ("worker", "last beat", "files", "pages", "pages/s", "file"):
            workers.add_column(column, justify="left" if column in ("worker", "file")
                               else "right")
        for w in status.workers:
            workers.add_row(w.name, f"{w.seconds_since_beat:.0f}s ago", _cell(w.files_done),
                            _cell(w.pages), f"{w.pages_per_second:,.1f}", w.file)
        console.print(workers)
