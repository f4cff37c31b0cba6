"""`linkindex monitor`: recrawl what matters for the watched targets, build, compute what
changed since each watch's previous run, write the alert document, send it.

One run, one crawl for every watch: the pages known to link to a watched target (live,
or lost within RECENT_DAYS), the tracked links' source pages, and up to `own_pages` of
the target's own pages. How the crawl and the build run (locally, or as a cluster job)
is the caller's (`crawl`, `build`): linkindex/monitor_cmd.py wires them.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core import layout
from core.errors import LinkindexError
from core.storage import Storage
from monitor import alerts
from monitor.changes import counts_of, link_changes, query_rows, tracked_status, triggered
from monitor.defaults import OWN_PAGES, RECENT_DAYS
from monitor.watches import MonitorStore, Watch
from queries import Filters

RUN_DIR = layout.MONITOR_RUNS
DOCUMENT = "linkindex-alert"

Crawl = Callable[[list[str], str], int]  # (URLs, crawl id) → pages fetched
Build = Callable[[], None]


@dataclass
class RunResult:
    watch: str
    path: str  # where the document is, relative to DATA
    document: dict[str, Any]

    @property
    def triggered(self) -> list[str]:
        return self.document["triggered"]


@dataclass
class MonitorRun:
    run_id: str
    crawl_id: str
    started_at: datetime
    urls: list[str] = field(default_factory=list)
    results: list[RunResult] = field(default_factory=list)


def run_id_now(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """One monitor run at a time on a DATA: the second exits with one line."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "monitor.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LinkindexError("another `linkindex monitor` is running on this DATA; "
                                 "this one exits") from None
        try:
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def previous_run(storage: Storage, watch: str) -> dict[str, Any] | None:
    runs = storage.list(f"{RUN_DIR}/{watch}", suffix=".json")
    return json.loads(storage.get_bytes(runs[-1])) if runs else None


def recrawl_urls(data: Path | Storage, store: MonitorStore, watches: list[Watch], *,
                 now: datetime, own_pages: int = OWN_PAGES) -> list[str]:
    """Every URL the run fetches, each once, in a stable order."""
    recent = now - timedelta(days=RECENT_DAYS)
    urls: dict[str, None] = {}
    for watch in watches:
        links = query_rows(data, "backlinks", watch.target, watch.scope,
                           Filters(live_only=False))
        own = query_rows(data, "top_pages", watch.target, watch.scope,
                         limit=own_pages) if own_pages else []
        for row in links:
            if row["live"] or (row["lost_at"] is not None and row["lost_at"] >= recent):
                urls[row["src_url"]] = None
        for link in store.tracked(watch.name):
            urls[link.source_url] = None
        for row in own:
            urls[row["dst_url"]] = None
    return list(urls)


def summary_text(document: dict[str, Any]) -> str:
    counts = document["counts"]
    lines = [f"linkindex monitor: {document['target']} (watch {document['watch']}), "
             f"run {document['run']['id']}, changes since {document['run']['since']}",
             ""]
    lines += [f"  {name.replace('_', ' ')}: {count}" for name, count in counts.items()]
    lines += ["", "The attached linkindex-alert.json has every link and domain."]
    return "\n".join(lines)


def monitor(data: Path | Storage, watches: list[Watch], *, crawl: Crawl, build: Build,
            own_pages: int = OWN_PAGES, send: bool = True,
            now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> MonitorRun:
    """One monitoring run over `watches` (see the module's doc)."""
    storage = data if isinstance(data, Storage) else Storage.of(data)
    store = MonitorStore(storage)
    if not watches:
        raise LinkindexError("no watch to run: `linkindex watch add TARGET` first")
    started = now()
    run = MonitorRun(run_id_now(started), f"monitor-{run_id_now(started)}", started)
    run.urls = recrawl_urls(data, store, watches, now=started, own_pages=own_pages)
    fetched = crawl(run.urls, run.crawl_id) if run.urls else 0
    build()
    finished = now()
    for watch in watches:
        previous = previous_run(storage, watch.name)
        since = (datetime.fromisoformat(previous["run"]["finished_at"]) if previous
                 else started)
        body = link_changes(data, watch, since)
        body["tracked"] = tracked_status(data, store.tracked(watch.name))
        was = {(t["source_url"], t["target_url"]): t["status"]
               for t in (previous or {}).get("tracked", [])}
        for entry in body["tracked"]:  # news: a status that moved (or a new link not live)
            entry["previous_status"] = was.get((entry["source_url"], entry["target_url"]))
            entry["news"] = entry["status"] != (entry["previous_status"] or "live")
        counts = counts_of(body)
        fired = triggered(counts, watch.thresholds)
        document: dict[str, Any] = {
            "document": DOCUMENT,
            "version": alerts.ALERT_SCHEMA_VERSION,
            "watch": watch.name,
            "target": watch.target,
            "scope": watch.scope,
            "competitors": watch.competitors,
            "run": {"id": run.run_id, "crawl_id": run.crawl_id,
                    "started_at": started.isoformat(), "finished_at": finished.isoformat(),
                    "since": since.isoformat(),
                    "previous_run": previous["run"]["id"] if previous else None,
                    "urls_recrawled": len(run.urls), "pages_fetched": fetched},
            "thresholds": watch.thresholds,
            "counts": counts,
            "triggered": fired,
            **body,
            "deliveries": [],
        }
        path = f"{RUN_DIR}/{watch.name}/{run.run_id}.json"
        _write(storage, path, document)  # the run's results first: nothing waits on a send
        if fired and watch.notify and send:
            results = alerts.deliver(
                document, watch.notify, subject=f"linkindex: {watch.target}: "
                f"{', '.join(f'{counts[n]} {n.replace(chr(95), chr(32))}' for n in fired)}",
                text=summary_text(document))
            document["deliveries"] = [r.as_dict() for r in results]
            _write(storage, path, document)
        run.results.append(RunResult(watch.name, path, document))
    return run


def _write(storage: Storage, rel: str, document: dict[str, Any]) -> None:
    storage.put_bytes(rel, (json.dumps(document, indent=2, sort_keys=True, default=str)
                            + "\n").encode())
