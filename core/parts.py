"""Raw Parquet parts: Arrow column buffers rolled into whole files.

No Scrapy here, so crawls, archive imports and re-extraction all write parts the same
way. Each flush writes the edges part first and the pages part last, each under a
temporary name renamed into place: a pages row on disk implies its edges are on disk,
and a killed writer leaves no partial file (measured: without the rename it leaves a
4-byte unreadable one).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.errors import check_worker_id
from core.layout import raw_dir, write_table
from core.schema import EDGE_LINK_COLUMNS, EDGE_PAGE_COLUMNS, EDGES, PAGES, RAW_COLUMNS_ADDED


def default_worker_id() -> str:
    """Unique per process: a part name must never collide with an earlier run's."""
    host = re.sub(r"[^A-Za-z0-9.]+", "-", socket.gethostname())[:40] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(value: datetime | int) -> int:
    """Milliseconds since the epoch, floored in integer arithmetic (a float product can
    land 1 ms low, and a WARC-Date read back must give the stored value exactly)."""
    return value if isinstance(value, int) else (value - _EPOCH) // _MS


def _table(schema: pa.Schema, columns: dict[str, list[Any]]) -> pa.Table:
    arrays = []
    for field in schema:
        values = columns[field.name]
        if pa.types.is_timestamp(field.type):
            arrays.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class PartWriter:
    """Buffers pages and their links; writes `<worker>-<seq>.parquet` pairs when due."""

    def __init__(
        self,
        data: Path,
        crawl_id: str,
        worker: str | None = None,
        *,
        max_edges: int = 250_000,
        max_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        taken: Callable[[str], bool] | None = None,
    ) -> None:
        self.data = data
        self.crawl_id = crawl_id
        self.worker = check_worker_id(worker) if worker else default_worker_id()
        self.max_edges = max_edges
        self.max_seconds = max_seconds
        self.clock = clock
        # Names also in use elsewhere (a WARC file named after its part), never reused.
        self.taken = taken
        self.seq = 0
        self._name: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.pages: dict[str, list[Any]] = {name: [] for name in PAGES.names}
        self.edges: dict[str, list[Any]] = {name: [] for name in EDGES.names}
        self.started = self.clock()
        self._name = None

    @property
    def part_name(self) -> str:
        """The file name the buffered rows will be written under, reserved on first use,
        so a companion file (the part's WARC) can be named after it before the flush."""
        if self._name is None:
            self._name = self._next_name()
        return self._name

    @property
    def pending_pages(self) -> int:
        return len(self.pages["url"])

    @property
    def pending_edges(self) -> int:
        return len(self.edges["dst_url"])

    def add(self, page: dict[str, Any], links: dict[str, list[Any]]) -> None:
        """Buffer one fetched page (a PAGES row) and its link columns (EDGE_LINK_COLUMNS)."""
        page = {**page, "fetched_at": epoch_ms(page["fetched_at"])}
        for name, values in self.pages.items():
            values.append(page.get(name))
        n = len(links["dst_url"])
        if n:
            src = {
                "crawl_id": page["crawl_id"],
                "fetched_at": page["fetched_at"],
                "src_url": page["url"],
                "src_host": page["host"],
                "src_domain": page["domain"],
            }
            for name in EDGE_PAGE_COLUMNS:
                self.edges[name].extend([src[name]] * n)
            for name in EDGE_LINK_COLUMNS:
                if name in links or name not in RAW_COLUMNS_ADDED:
                    self.edges[name].extend(links[name])
                else:  # a caller that predates the column: NULL, as in an older part
                    self.edges[name].extend([None] * n)

    def due(self) -> bool:
        if not self.pending_pages:
            return False
        return (
            self.pending_edges >= self.max_edges or self.clock() - self.started >= self.max_seconds
        )

    def _next_name(self) -> str:
        # Both folders: a killed run with the same worker id may have left an edges
        # part without its pages part, and that one must not be overwritten either.
        while True:
            name = f"{self.worker}-{self.seq:06d}.parquet"
            self.seq += 1
            if not any(
                (raw_dir(self.data, self.crawl_id, table) / name).exists()
                for table in ("pages", "edges")
            ) and not (self.taken is not None and self.taken(name)):
                return name

    def flush(self) -> list[str]:
        """Write what is buffered; return the URLs of the pages now safely on disk."""
        if not self.pending_pages:
            self.started = self.clock()
            return []
        name = self.part_name
        if self.pending_edges:
            write_table(
                raw_dir(self.data, self.crawl_id, "edges") / name,
                _table(EDGES, self.edges),
                "edges",
            )
        write_table(
            raw_dir(self.data, self.crawl_id, "pages") / name, _table(PAGES, self.pages), "pages"
        )
        urls = list(self.pages["url"])
        self._reset()
        return urls
