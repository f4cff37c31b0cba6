"""The view's "Since last run" section: the latest monitoring run of the view's target.

`linkindex monitor` writes one alert document per watch and run at
DATA/monitor/runs/<watch>/<run id>.json (docs/monitoring.md; run ids sort by time). This
module only reads them, through ``core.storage.Storage`` (a folder or an object store),
and never imports monitor/: report/ and monitor/ are independent siblings.

Which document: each watch's target and scope are those its newest readable document
names; of the watches whose target and scope are the view's, the newest run (the highest
file name) is shown. None: no section. A document that cannot be read (not JSON, a key
missing, a value of the wrong type) is one line in the section, never a failed view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from core.errors import LinkindexError
from core.layout import MONITOR_RUNS
from core.storage import Storage
from queries.export import cell_text

__all__ = ["COUNTS", "DOCUMENT", "ROWS", "RunTable", "SinceLastRun", "since_last_run"]

DOCUMENT = "linkindex-alert"  # the alert document's "document" key
ROWS = 100  # rows each of the section's tables shows
# The counts in the order docs/monitoring.md gives them (any others follow, as written).
COUNTS = ("new_links", "lost_links", "new_referring_domains", "lost_referring_domains",
          "anchor_shift", "toxic_score", "competitor_gains", "tracked_changes")
_LINK = ("src_url", "src_domain", "src_domain_rank", "dst_url", "anchor", "kind",
         "nofollow", "ugc", "sponsored", "changed_at")
# (key in the page, title, the document's list, its columns; a column ending in "?" may
# be missing from a row: shown empty)
_TABLES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("run_new_links", "New links", "new_links", (*_LINK, "sitewide")),
    ("run_lost_links", "Lost links", "lost_links", (*_LINK, "lost_reason", "lost_to")),
    ("run_new_referring_domains", "New referring domains", "new_referring_domains",
     ("domain", "domain_rank", "backlinks")),
    ("run_lost_referring_domains", "Lost referring domains", "lost_referring_domains",
     ("domain", "reasons")),
    ("run_anchor_shift", "Anchor shifts", "anchor_shift",
     ("anchor_class", "share_before", "share_now", "points")),
    ("run_new_toxic_domains", "New toxic domains", "new_toxic_domains",
     ("domain", "toxic_score", "reasons")),
)
_TRACKED = ("source_url", "target_url", "status", "previous_status?", "news?", "detail")
_DELIVERIES = ("destination", "ok", "attempts", "status", "delivered_at?")


@dataclass(frozen=True)
class RunTable:
    """One table of the section, as text cells (the template escapes them)."""

    key: str  # its id in the page
    title: str
    columns: list[str]
    rows: list[list[str]]  # the first ROWS
    total: int  # rows in the document


@dataclass(frozen=True)
class SinceLastRun:
    """The section's data; `error` alone (one line) when the document cannot be read."""

    path: str  # the document, relative to DATA
    error: str | None = None
    run_id: str = ""
    watch: str = ""
    since: str = ""  # the window, as "YYYY-MM-DD HH:MM:SS UTC"
    finished: str = ""
    triggered: tuple[str, ...] = ()
    counts: RunTable | None = None
    tables: tuple[RunTable, ...] = ()


class _Malformed(Exception):
    """What is wrong with a document, in a few words."""


def since_last_run(data: Path | Storage, target: str, scope: str) -> SinceLastRun | None:
    """The section for `target` under `scope`, or None when no monitoring run of a watch
    on that target and scope exists under DATA."""
    storage = Storage.of(data)
    by_watch: dict[str, list[str]] = {}
    for rel in storage.list(MONITOR_RUNS, suffix=".json"):
        parts = PurePosixPath(rel).relative_to(MONITOR_RUNS).parts
        if len(parts) == 2:  # <watch>/<run id>.json
            by_watch.setdefault(parts[0], []).append(rel)
    latest: tuple[str, str, Any] | None = None  # (file name, path, what it read)
    for _, runs in sorted(by_watch.items()):
        runs.sort(key=lambda rel: PurePosixPath(rel).name)
        reads: dict[str, Any] = {}
        for rel in reversed(runs):  # the watch's target: its newest readable document's
            reads[rel] = _read(storage, rel)
            named = _target_of(reads[rel])
            if named is None:
                continue
            name = PurePosixPath(runs[-1]).name
            if named == (target, scope) and (latest is None or name > latest[0]):
                latest = (name, runs[-1], reads[runs[-1]])
            break
    if latest is None:
        return None
    _, rel, read = latest
    try:
        if isinstance(read, _Malformed):
            raise read
        return _section(rel, read)
    except _Malformed as exc:
        return SinceLastRun(rel, error="the latest monitoring run's document could not be "
                                       f"read: {rel}: {exc}")


def _read(storage: Storage, rel: str) -> Any:
    """The parsed document, or the exception saying why it could not be read."""
    try:
        return json.loads(storage.get_bytes(rel))
    except (LinkindexError, OSError) as exc:
        return _Malformed(str(exc))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _Malformed(f"not JSON ({exc})")


def _target_of(read: Any) -> tuple[str, str] | None:
    if isinstance(read, dict) and isinstance(read.get("target"), str) \
            and isinstance(read.get("scope"), str):
        return read["target"], read["scope"]
    return None


def _section(rel: str, doc: Any) -> SinceLastRun:
    if not isinstance(doc, dict):
        raise _Malformed("not a JSON object")
    if doc.get("document") != DOCUMENT:
        raise _Malformed(f"not a {DOCUMENT} document (document: {doc.get('document')!r})")
    version = _need(doc, "version", int)
    if isinstance(version, bool) or version < 1:
        raise _Malformed(f"bad version {version!r}")
    run = _need(doc, "run", dict)
    counts = _need(doc, "counts", dict)
    fired = _need(doc, "triggered", list)
    names = [*(n for n in COUNTS if n in counts), *(n for n in counts if n not in COUNTS)]
    count_rows = [[name, cell_text(counts[name]), "yes" if name in fired else ""]
                  for name in names]
    tables = [_table(key, title, _need(doc, field, list), columns, field)
              for key, title, field, columns in _TABLES]
    gains = _need(doc, "competitor_gains", dict)
    listed = [c for c in _need(doc, "competitors", list) if c in gains]
    gain_rows: list[dict[str, Any]] = []
    for competitor in [*dict.fromkeys(listed), *sorted(set(gains) - set(listed))]:
        domains = gains[competitor]
        if not isinstance(domains, list):
            raise _Malformed(f"competitor_gains[{competitor!r}] is not a list")
        for i, item in enumerate(domains):
            if not isinstance(item, dict):
                raise _Malformed(f"competitor_gains[{competitor!r}][{i}] is not an object")
            gain_rows.append({**item, "competitor": competitor})
    tables.append(_table("run_competitor_gains", "Competitor gains", gain_rows,
                         ("competitor", "domain", "domain_rank"), "competitor_gains"))
    tables.append(_table("run_tracked", "Tracked links", _need(doc, "tracked", list),
                         _TRACKED, "tracked"))
    tables.append(_table("run_deliveries", "Deliveries", _need(doc, "deliveries", list),
                         _DELIVERIES, "deliveries"))
    return SinceLastRun(
        rel, run_id=str(_need(run, "id", str, "run")), watch=_need(doc, "watch", str),
        since=_moment(_need(run, "since", str, "run"), "run.since"),
        finished=_moment(_need(run, "finished_at", str, "run"), "run.finished_at"),
        triggered=tuple(cell_text(name) for name in fired),
        counts=RunTable("run_counts", "Counts", ["count", "value", "triggered"], count_rows,
                        len(count_rows)),
        tables=tuple(tables))


def _need(obj: Mapping[str, Any], key: str, kind: type, where: str = "") -> Any:
    name = f"{where}.{key}" if where else key
    if key not in obj:
        raise _Malformed(f"no {name!r}")
    value = obj[key]
    if not isinstance(value, kind):
        raise _Malformed(f"{name!r} is not {_KINDS.get(kind, kind.__name__)}")
    return value


_KINDS = {dict: "an object", list: "a list", str: "text", int: "a whole number"}


def _table(key: str, title: str, items: Sequence[Any], columns: Sequence[str],
           field: str) -> RunTable:
    names = [column.rstrip("?") for column in columns]
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Malformed(f"{field}[{i}] is not an object")
        for column in columns:
            if not column.endswith("?") and column not in item:
                raise _Malformed(f"{field}[{i}] has no {column!r}")
        if len(rows) < ROWS:
            rows.append([cell_text(item.get(name)) for name in names])
    return RunTable(key, title, names, rows, len(items))


def _moment(text: str, name: str) -> str:
    """An ISO 8601 moment as "YYYY-MM-DD HH:MM:SS UTC" (a naive one is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Malformed(f"{name!r} is not an ISO 8601 moment: {text!r}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
