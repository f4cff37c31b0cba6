"""Raw crawl data for tests: page and edge rows with sensible defaults, written as
real raw parts (schema v1, atomic, tagged) where the pipelines would write them.

    t1 = utc("2025-01-01")
    page, edges = fetch("https://a.example/", ["https://b.example/x",
                                               link("https://c.example/", anchor="C")], at=t1)
    write_parts(data, "c1", [page], edges)

Hosts and registrable domains are derived from the URLs with the crawler's own rules
(core.domains), so rows look like the crawler's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from core import layout
from core.domains import registrable_domain
from core.schema import EDGES, PAGES

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def utc(when: str) -> datetime:
    """A UTC timestamp from an ISO date or date-time ("2025-01-02", "2025-01-02T10:00")."""
    return datetime.fromisoformat(when).replace(tzinfo=UTC)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def domain_of(url: str) -> str:
    return registrable_domain(host_of(url))


def page_row(url: str, *, crawl_id: str = "c1", fetched_at: datetime = T0, **columns: Any) -> dict:
    """One raw pages row: a 200 HTML page unless told otherwise."""
    status = columns.get("status", 200)
    row: dict[str, Any] = {
        "crawl_id": crawl_id,
        "fetched_at": fetched_at,
        "url": url,
        "host": host_of(url),
        "domain": domain_of(url),
        "status": status,
        "content_type": "text/html" if status is not None else None,
        "content_length": 1000 if status is not None else None,
        "title": f"Title of {url}",
        "lang": "en",
        "depth": 0,
        "redirect_to": None,
        "canonical": None,
        "meta_noindex": False,
        "meta_nofollow": False,
        "n_links": 0,
        "n_external_links": 0,
        "ip": "127.0.0.1",
        "n_skipped_links": 0,
        "error": None if status is not None else "ConnectionRefusedError",
        "warc_file": None,
        "warc_offset": None,
        "terms": None,
    }
    unknown = set(columns) - set(row)
    if unknown:
        raise TypeError(f"not a pages column: {sorted(unknown)}")
    row.update(columns)
    return row


def link(dst_url: str, **columns: Any) -> dict:
    """A link of a page, for fetch(): the dst_url plus any edge column to override."""
    return {"dst_url": dst_url, **columns}


def edge_row(
    src_url: str,
    dst_url: str,
    *,
    crawl_id: str = "c1",
    fetched_at: datetime = T0,
    ordinal: int = 0,
    **columns: Any,
) -> dict:
    """One raw edges row: a followed <a> link in the content, anchor "" unless told."""
    row: dict[str, Any] = {
        "crawl_id": crawl_id,
        "fetched_at": fetched_at,
        "src_url": src_url,
        "src_host": host_of(src_url),
        "src_domain": domain_of(src_url),
        "dst_url": dst_url,
        "dst_host": host_of(dst_url),
        "dst_domain": domain_of(dst_url),
        "anchor": "",
        "kind": "a",
        "alt": None,
        "nofollow": False,
        "ugc": False,
        "sponsored": False,
        "position": "content",
        "ordinal": ordinal,
        "external": None,
        "text_before": None,
        "text_after": None,
    }
    unknown = set(columns) - set(row)
    if unknown:
        raise TypeError(f"not an edges column: {sorted(unknown)}")
    row.update(columns)
    if row["external"] is None:
        row["external"] = row["src_domain"] != row["dst_domain"]
    return row


def fetch(
    url: str,
    links: Sequence[str | dict] = (),
    *,
    crawl_id: str = "c1",
    at: datetime = T0,
    **page_columns: Any,
) -> tuple[dict, list[dict]]:
    """One fetch of a page: its pages row and its edges rows (ordinals in order)."""
    edges = []
    for ordinal, item in enumerate(links):
        spec = link(item) if isinstance(item, str) else dict(item)
        dst = spec.pop("dst_url")
        spec.setdefault("ordinal", ordinal)
        edges.append(edge_row(url, dst, crawl_id=crawl_id, fetched_at=at, **spec))
    page_columns.setdefault("n_links", len(edges))
    page_columns.setdefault("n_external_links", sum(e["external"] for e in edges))
    return page_row(url, crawl_id=crawl_id, fetched_at=at, **page_columns), edges


def pages_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PAGES)


def edges_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=EDGES)


_seq: dict[tuple[str, str, str], int] = {}


def write_part(
    data: Path, crawl_id: str, table: str, rows: list[dict], name: str | None = None
) -> Path:
    """Write one raw part of `table` ("pages" or "edges") for a crawl; return its path."""
    folder = layout.raw_dir(data, crawl_id, table)
    if name is None:
        key = (str(data), crawl_id, table)
        _seq[key] = _seq.get(key, 0) + 1
        name = f"w0-{_seq[key]:06d}"
        while (folder / f"{name}.parquet").exists():
            _seq[key] += 1
            name = f"w0-{_seq[key]:06d}"
    path = folder / f"{name}.parquet"
    tbl = pages_table(rows) if table == "pages" else edges_table(rows)
    layout.write_table(path, tbl, table)
    return path


def write_parts(
    data: Path, crawl_id: str, pages: list[dict], edges: list[dict]
) -> tuple[Path, Path | None]:
    """Write a crawl's pages rows and edges rows as one part each (no edges part if none)."""
    pages_path = write_part(data, crawl_id, "pages", pages)
    edges_path = write_part(data, crawl_id, "edges", edges) if edges else None
    return pages_path, edges_path


def write_crawl(data: Path, crawl_id: str, fetches: list[tuple[dict, list[dict]]]) -> None:
    """Write the results of fetch() calls as one crawl's parts."""
    pages = [page for page, _ in fetches]
    edges = [e for _, page_edges in fetches for e in page_edges]
    write_parts(data, crawl_id, pages, edges)


def kill_writer_after_parts(script: str, data: Path, parts: int = 3) -> None:
    """Run `script` (Python, DATA as argv[1]) and kill -9 it once `parts` pages parts exist."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", script, str(data)], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(layout.raw_parts(data, "pages")) < parts:
            assert proc.poll() is None, "writer died"
            assert time.monotonic() < deadline, "writer made no parts"
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
