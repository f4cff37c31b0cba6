"""The build's working area under DATA/stage/: what map has done, and the build under way.

    DATA/stage/buckets.json                              bucket count, fixed until a full build
    DATA/stage/maps/<crawl>/<part>.json                  one record per mapped edges part
    DATA/stage/edges/bucket=<n>/<crawl>/<part>.<k>.parquet  its runs, until a generation holds them
    DATA/stage/next/plan.json                            the build under way (index.build)
    DATA/stage/next/latest_fetch.parquet, changed.parquet, crawls.json   its global facts
    DATA/stage/next/summary/bucket=<n>.parquet, .json    per-bucket domain pairs, hosts, counts
    DATA/stage/next/ranks.parquet                        domain ranks of the new generation
    DATA/stage/next/gen/                                 the new generation; commit renames it

Every file here is written whole under a temporary name and renamed, so a task killed
half-way leaves nothing that looks done: rerunning it is always safe (idempotent).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import layout
from core.errors import LinkindexError

STAGE = "stage"
NEXT = "next"
PLAN = "plan.json"


def stage_root(data: Path) -> Path:
    return data / STAGE


def next_dir(data: Path) -> Path:
    return stage_root(data) / NEXT


def next_gen_dir(data: Path) -> Path:
    return next_dir(data) / "gen"


def buckets_file(data: Path) -> Path:
    return stage_root(data) / "buckets.json"


def part_key(rel: str) -> tuple[str, str]:
    """(crawl id, part stem) of a raw part's path relative to DATA."""
    parts = Path(rel).parts  # raw/<crawl>/<table>/<file>
    return parts[1], Path(parts[3]).stem


def map_record_path(data: Path, rel: str) -> Path:
    crawl, stem = part_key(rel)
    return stage_root(data) / "maps" / crawl / f"{stem}.json"


def run_path(data: Path, rel: str, bucket: int, name: str) -> Path:
    """A run of a part: DATA/stage/edges/bucket=<n>/<crawl>/<part>.<name>."""
    crawl, stem = part_key(rel)
    return stage_root(data) / "edges" / f"bucket={bucket}" / crawl / f"{stem}.{name}"


def runs_of(data: Path, record: dict[str, Any], bucket: int) -> list[Path]:
    """The runs a map record lists for one bucket."""
    names = record.get("runs", {}).get(str(bucket), [])
    return [run_path(data, record["path"], bucket, name) for name in names]


def summary_path(data: Path, bucket: int, suffix: str = ".parquet") -> Path:
    return next_dir(data) / "summary" / f"bucket={bucket}{suffix}"


@dataclass
class Plan:
    """What one build does: written by `build plan`, read by every later step."""

    generation: str
    previous: str | None  # the live generation the build starts from; None: full build
    buckets: int
    inputs: list[dict[str, Any]]  # every whole part (path, size, mtime_ns), usable or not
    pages: list[str]  # usable pages parts, relative to DATA
    edges: list[str]  # usable edges parts: all those the new generation holds
    new_edges: list[str]  # of those, the ones the previous generation does not hold
    skipped: list[dict[str, str]] = field(default_factory=list)  # {path, reason}
    pages_union: bool = False  # pages parts differ in columns: read them by name
    threads: int | None = None
    memory_limit: str | None = None
    spill_dir: str | None = None  # DuckDB's temp_directory; default: under the stage
    row_group_size: int = 25_000
    full_reason: str | None = None  # why a full build, when it is one
    build_id: str | None = None  # ties the steps of one build together (cluster)
    trust_seeds: list[str] = field(default_factory=list)  # TrustRank's seed domains

    def save(self, data: Path) -> None:
        layout.write_json(next_dir(data) / PLAN, asdict(self))

    @classmethod
    def load(cls, data: Path) -> Plan:
        try:
            raw = json.loads((next_dir(data) / PLAN).read_text())
        except FileNotFoundError:
            raise NotReady(
                f"no build planned in {data}: run `linkindex build plan --data {data}` first"
            ) from None
        return cls(**raw)


class NotReady(LinkindexError):
    """A step the one asked for depends on has not finished (yet): waiting may help."""


def read_json(path: Path) -> Any | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def map_record(data: Path, rel: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
    """The record of a part mapped before, if it was this very file (size, mtime)."""
    record = read_json(map_record_path(data, rel))
    if record and record.get("size") == size and record.get("mtime_ns") == mtime_ns:
        return record
    return None


def stage_buckets(data: Path) -> int | None:
    record = read_json(buckets_file(data))
    return int(record["buckets"]) if record else None


def reset(data: Path, buckets: int) -> None:
    """A full build: forget every map and run, and fix the bucket count."""
    root = stage_root(data)
    for name in ("maps", "edges"):
        shutil.rmtree(root / name, ignore_errors=True)
    layout.write_json(buckets_file(data), {"buckets": buckets})


def spill_dir(data: Path, plan: Plan, name: str) -> Path:
    """Where one task's DuckDB spills: the plan's spill directory, else under the stage."""
    root = Path(plan.spill_dir) if plan.spill_dir else next_dir(data)
    path = root / f"{layout.TMP_PREFIX}duckdb-{name}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_leftovers(data: Path) -> None:
    """Temporary folders of map tasks that were killed (a new plan: none is running)."""
    root = stage_root(data)
    if root.is_dir():
        for path in root.iterdir():
            if path.name.startswith(layout.TMP_PREFIX):
                shutil.rmtree(path, ignore_errors=True)


def clear_next(data: Path) -> None:
    shutil.rmtree(next_dir(data), ignore_errors=True)


UP_TO_DATE = "up-to-date.json"
POLL_SECONDS = 2.0


def write_up_to_date(data: Path, generation: str, build_id: str | None) -> None:
    """What `build plan` leaves when there is nothing to build: later steps exit 0."""
    clear_next(data)
    layout.write_json(next_dir(data) / UP_TO_DATE, {"generation": generation,
                                                    "build_id": build_id})


def wait_for_plan(data: Path, build_id: str | None, wait: float) -> Plan | None:
    """The plan of build `build_id` (any build when None), waiting up to `wait` seconds
    for `build plan` to write it; None when it found the index up to date."""
    def ready() -> bool:
        for name in (PLAN, UP_TO_DATE):
            record = read_json(next_dir(data) / name)
            if record is not None and (build_id is None or record.get("build_id") == build_id):
                return True
        return False

    wait_until(ready, wait)
    up_to_date = read_json(next_dir(data) / UP_TO_DATE)
    if up_to_date is not None and (build_id is None or up_to_date.get("build_id") == build_id):
        return None
    plan = Plan.load(data)
    if build_id is not None and plan.build_id != build_id:
        raise NotReady(f"the build planned in {data} is {plan.build_id!r}, not {build_id!r}")
    return plan


def missing_step(data: Path, plan: Plan, step: str) -> str | None:
    """What the steps before `step` have not finished yet, or None."""
    if step in ("reduce", "write", "commit"):
        for rel in plan.new_edges:
            if read_json(map_record_path(data, rel)) is None:
                return f"{rel} is not mapped yet: run `linkindex build map`"
    if step in ("write", "commit"):
        for bucket in range(plan.buckets):
            if not summary_path(data, bucket, ".json").exists():
                return f"bucket {bucket} is not reduced yet: run `linkindex build reduce`"
    if step == "commit":
        for bucket in range(plan.buckets):
            if not (next_gen_dir(data) / "edges" / f"bucket={bucket}" / "data_0.parquet").exists():
                return f"bucket {bucket} is not written yet: run `linkindex build write`"
    return None


def wait_until(done: Callable[[], bool | str | None], wait: float) -> None:
    """Poll `done` every few seconds for up to `wait` seconds. A str is a step not
    finished yet: raised as the error when the time is up."""
    deadline = time.monotonic() + wait
    while True:
        result = done()
        if result is True or result is None:
            return
        if time.monotonic() >= deadline:
            if isinstance(result, str):
                raise NotReady(result)
            return
        time.sleep(POLL_SECONDS)
