"""Watch lists and link tracking lists: what `linkindex monitor` watches, stored under
DATA/monitor/ as JSON a person can read (and on an object store when DATA is one).

- `monitor/watches/<name>.json`: a target, its scope, competitors, where alerts go and
  the thresholds under which a run sends nothing;
- `monitor/tracks/<name>.json`: links a user built or is chasing (source page, the
  target URL expected, and optionally the anchor and rel expected), checked each run.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import LinkindexError
from core.storage import Storage
from core.urls import normalize_url
from monitor.alerts import parse_destination
from monitor.defaults import SCOPES, THRESHOLDS

WATCH_DIR = "monitor/watches"
TRACK_DIR = "monitor/tracks"
FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")



def check_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise LinkindexError(f"bad watch name {name!r}: letters, digits, '.', '_', '-'")
    return name


def name_for(target: str) -> str:
    """A watch's default name: its target, with what a file name cannot hold replaced."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("._-")[:100] or "watch"


@dataclass
class Watch:
    name: str
    target: str
    scope: str = "domain"
    competitors: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=lambda: dict(THRESHOLDS))
    # for the anchor classes (docs/anchors.md): what "exact" and "branded" mean here
    keywords: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    created_at: str = ""
    version: int = FORMAT_VERSION

    def anchor_options(self) -> dict[str, list[str]]:
        """The anchor_mix / toxic_domains options of this watch (none: their defaults)."""
        return {k: v for k, v in (("keywords", self.keywords), ("brands", self.brands)) if v}

    def check(self) -> Watch:
        check_name(self.name)
        if self.scope not in SCOPES:
            raise LinkindexError(f"--scope {self.scope!r}: one of {', '.join(SCOPES)}")
        for destination in self.notify:
            parse_destination(destination)  # one line if it cannot be used
        unknown = set(self.thresholds) - set(THRESHOLDS)
        if unknown:
            raise LinkindexError(f"unknown threshold {sorted(unknown)[0]!r}: one of "
                                 f"{', '.join(THRESHOLDS)}")
        return self


@dataclass(frozen=True)
class TrackedLink:
    source_url: str  # the page expected to link
    target_url: str  # the URL it is expected to link to
    anchor: str | None = None  # expected anchor text (None: any)
    rel: str | None = None  # expected rel: "dofollow", "nofollow", "ugc", "sponsored"


RELS = ("dofollow", "nofollow", "ugc", "sponsored")


class MonitorStore:
    """The watch and track lists of one DATA (a folder or an object store)."""

    def __init__(self, data: Path | str | Storage) -> None:
        self.storage = data if isinstance(data, Storage) else Storage.of(data)

    def _read(self, rel: str) -> dict[str, Any] | None:
        if not self.storage.exists(rel):
            return None
        try:
            return json.loads(self.storage.get_bytes(rel))
        except json.JSONDecodeError as exc:
            raise LinkindexError(f"{rel}: not JSON ({exc})") from None

    def _write(self, rel: str, value: dict[str, Any]) -> None:
        self.storage.put_bytes(rel, (json.dumps(value, indent=2, sort_keys=True) + "\n"
                                     ).encode())

    # -- watches --------------------------------------------------------------------

    def add_watch(self, watch: Watch, *, replace: bool = False) -> Watch:
        watch.check()
        rel = f"{WATCH_DIR}/{watch.name}.json"
        if not replace and self.storage.exists(rel):
            raise LinkindexError(f"watch {watch.name!r} exists: `linkindex watch remove "
                                 f"{watch.name}` first, or pick another --name")
        watch.created_at = watch.created_at or datetime.now(UTC).isoformat(timespec="seconds")
        self._write(rel, asdict(watch))
        return watch

    def watch(self, name: str) -> Watch:
        value = self._read(f"{WATCH_DIR}/{check_name(name)}.json")
        if value is None:
            raise LinkindexError(f"no watch {name!r} (`linkindex watch list` shows them)")
        thresholds = {**THRESHOLDS, **value.get("thresholds", {})}
        return Watch(**{**value, "thresholds": thresholds}).check()

    def watches(self) -> list[Watch]:
        names = [Path(rel).stem for rel in self.storage.list(WATCH_DIR, suffix=".json")]
        return [self.watch(name) for name in sorted(names)]

    def remove_watch(self, name: str) -> None:
        rel = f"{WATCH_DIR}/{check_name(name)}.json"
        if not self.storage.exists(rel):
            raise LinkindexError(f"no watch {name!r}")
        self.storage.delete(rel)

    # -- tracked links --------------------------------------------------------------

    def add_tracked(self, name: str, links: list[TrackedLink]) -> int:
        """Add links to watch `name`'s tracking list (each once); the new total."""
        self.watch(name)  # the watch must exist
        rel = f"{TRACK_DIR}/{name}.json"
        known = self.tracked(name)
        merged = list(dict.fromkeys([*known, *links]))
        self._write(rel, {"version": FORMAT_VERSION, "watch": name,
                          "links": [asdict(link) for link in merged]})
        return len(merged)

    def tracked(self, name: str) -> list[TrackedLink]:
        value = self._read(f"{TRACK_DIR}/{check_name(name)}.json")
        return [TrackedLink(**link) for link in (value or {}).get("links", [])]


def read_tracked_links(text: str, source: str = "links file") -> list[TrackedLink]:
    """A CSV of links to track: `source_url,target_url[,anchor][,rel]`, a header line
    optional; one line naming the row for anything wrong."""
    links = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if number == 1 and row[0].strip().lower() == "source_url":
            continue
        if len(row) < 2 or len(row) > 4:
            raise LinkindexError(f"{source} line {number}: expected source_url,target_url"
                                 "[,anchor][,rel]")
        cells = [cell.strip() for cell in row] + [""] * (4 - len(row))
        source_url, target_url = (normalize_url(cells[0]), normalize_url(cells[1]))
        if source_url is None or target_url is None:
            raise LinkindexError(f"{source} line {number}: not an http(s) URL: "
                                 f"{cells[0] if source_url is None else cells[1]!r}")
        rel = cells[3].lower() or None
        if rel is not None and rel not in RELS:
            raise LinkindexError(f"{source} line {number}: rel {cells[3]!r}: one of "
                                 f"{', '.join(RELS)}")
        links.append(TrackedLink(source_url, target_url, cells[2] or None, rel))
    if not links:
        raise LinkindexError(f"{source} holds no link")
    return links
