"""The steps after the plan: map, reduce, write, commit; and running them in N processes.

    plan ─► map (per part) ─► reduce (per bucket) ─► write (per bucket) ─► commit

Each of map, reduce and write is a list of independent tasks: `linkindex build map
--task I --tasks P` (or JOB_COMPLETION_INDEX in a Kubernetes Indexed Job) runs every
P-th one from I, and `linkindex build --jobs N` runs them in N local processes. A task
whose output is already there whole is done (a killed one is simply rerun). Domain
ranks are computed by the first write task to need them (the same bytes whoever
does: index.ranks is deterministic), so no step waits on a single process.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import layout
from core.errors import LinkindexError
from core.schema import INDEX_FORMAT, SCHEMA_VERSION
from index import stage
from index.buckets import (
    credited_path,
    map_part,
    summarize_bucket,
    write_bucket,
)
from index.compact import (
    SUMMARY_DIR,
    SUMMARY_FILES,
    connect,
    iso_ms,
    write_credited,
    write_global_tables,
)
from index.plan import write_parts_list
from index.rank_step import ranks_path, write_ranks

STEPS = ("plan", "map", "reduce", "write", "commit")


def _mine(items: list[Any], task: int, tasks: int) -> list[Any]:
    return items[task::tasks]


def run_map(data: Path, plan: stage.Plan, task: int = 0, tasks: int = 1) -> int:
    """Map this task's share of the new parts (every `tasks`-th, a stable split), but
    not one mapped already (by a killed build, or a task before)."""
    sizes = {i["path"]: i for i in plan.inputs}
    done = 0
    for rel in _mine(plan.new_edges, task, tasks):
        item = sizes[rel]
        if stage.map_record(data, rel, item["size"], item["mtime_ns"]) is None:
            map_part(data, rel, item["size"], item["mtime_ns"], plan.buckets,
                     threads=plan.threads, memory_limit=plan.memory_limit)
            done += 1
    return done


def crawl_ids(data: Path, plan: stage.Plan) -> list[str]:
    """Every crawl of the new generation: of its pages and of its mapped edges."""
    ids = {c["crawl_id"] for c in stage.read_json(stage.next_dir(data) / "crawls.json") or []}
    for record in _records(data, plan):
        ids.update(c["crawl_id"] for c in record.get("crawls", []))
    return sorted(ids)


def _records(data: Path, plan: stage.Plan) -> list[dict[str, Any]]:
    records = []
    for rel in plan.edges:
        record = stage.read_json(stage.map_record_path(data, rel))
        if record is None:
            raise LinkindexError(f"{rel} is not mapped yet: run `linkindex build map`")
        records.append(record)
    return records


def run_reduce(data: Path, plan: stage.Plan, task: int = 0, tasks: int = 1) -> int:
    missing = stage.missing_step(data, plan, "reduce")
    if missing:
        raise LinkindexError(missing)
    crawls = crawl_ids(data, plan)
    mine = _mine(list(range(plan.buckets)), task, tasks)
    for bucket in mine:
        if not stage.summary_path(data, bucket, ".json").exists():
            summarize_bucket(data, plan, bucket, crawls)
    return len(mine)


def _ranks_moved(data: Path, plan: stage.Plan) -> bool:
    done = stage.read_json(stage.next_dir(data) / "ranks.json")
    if done is None or not ranks_path(data).exists():
        return write_ranks(data, plan)
    return bool(done["moved"])


def run_write(data: Path, plan: stage.Plan, task: int = 0, tasks: int = 1) -> int:
    missing = stage.missing_step(data, plan, "write")
    if missing:
        raise LinkindexError(missing)
    crawls = crawl_ids(data, plan)
    moved = _ranks_moved(data, plan)
    mine = _mine(list(range(plan.buckets)), task, tasks)
    for bucket in mine:
        write_bucket(data, plan, bucket, crawls, moved)
    return len(mine)


def run_local(data: Path, plan: stage.Plan, jobs: int) -> dict[str, float]:
    """Map, reduce and write in `jobs` processes on this machine (1: in this one).
    Returns each step's wall seconds."""
    total = plan.threads or os.cpu_count() or 1
    each = stage.Plan(**{**plan.__dict__, "threads": max(1, total // jobs)}) if jobs > 1 else plan
    seconds = {}
    for name, step in (("map", run_map), ("reduce", run_reduce)):
        started = time.perf_counter()
        _fan_out(step, data, each, jobs)
        seconds[name] = time.perf_counter() - started
    started = time.perf_counter()
    _ranks_moved(data, plan)  # once, with every thread, before the writers start
    seconds["ranks"] = time.perf_counter() - started
    started = time.perf_counter()
    _fan_out(run_write, data, each, jobs)
    seconds["write"] = time.perf_counter() - started
    return seconds


def _fan_out(step: Callable[..., int], data: Path, plan: stage.Plan, jobs: int) -> None:
    if jobs <= 1:
        step(data, plan)
        return
    # spawn, not fork: a forked DuckDB (threads, locks) is not safe to use.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        for future in [pool.submit(step, data, plan, i, jobs) for i in range(jobs)]:
            future.result()


def commit(data: Path, plan: stage.Plan, extra: dict[str, Any] | None = None,
           jobs: int | None = None, seconds: dict[str, float] | None = None,
           ) -> tuple[dict[str, Any], list[str]]:
    """hosts and domains, the part list and the manifest into the new generation, which
    is then renamed into index/. CURRENT is switched by the caller, last. Returns the
    manifest and the runs this generation consumed (to delete once it is live)."""
    out = stage.next_gen_dir(data)
    missing = stage.missing_step(data, plan, "commit")
    if missing:
        raise LinkindexError(missing)
    records = _records(data, plan)
    skipped = {s["path"]: s["reason"] for s in plan.skipped}
    skipped.update({r["path"]: r["skipped"] for r in records if r.get("skipped")})
    summary = [stage.read_json(stage.summary_path(data, b, ".json")) or {}
               for b in range(plan.buckets)]
    files = [str(stage.summary_path(data, b, s)) for b in range(plan.buckets)
             for s in (".pairs.parquet", ".hosts.parquet")]
    con = connect(stage.spill_dir(data, plan, "commit"), plan.threads, plan.memory_limit)
    try:
        graph = active_graph(data)
        write_global_tables(con, out, ranks_path(data), files[0::2], files[1::2],
                            graph[1] if graph else None)
        write_credited(con, out, [str(credited_path(data, b)) for b in range(plan.buckets)])
        (pages,) = con.execute("SELECT count(*) FROM read_parquet($path)",
                               {"path": str(out / "pages.parquet")}).fetchone()
        (domains,) = con.execute("SELECT count(*) FROM index_domains").fetchone()
        (hosts,) = con.execute("SELECT count(*) FROM index_hosts").fetchone()
    finally:
        con.close()
    used = [r for r in records if not r.get("skipped")]
    write_parts_list(out, plan.inputs, skipped)
    # The bucket summaries stay with the generation: the next build starts from them.
    kept = out / SUMMARY_DIR
    kept.mkdir(exist_ok=True)
    for bucket in range(plan.buckets):
        for suffix in SUMMARY_FILES:
            source = stage.summary_path(data, bucket, suffix)
            os.replace(source, kept / source.name)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "index_format": INDEX_FORMAT,
        "generation": plan.generation,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "buckets": plan.buckets,
        "crawls": _crawls(data, used),
        "counts": {
            "edges": sum(s.get("edges", 0) for s in summary),
            "live_edges": sum(s.get("live_edges", 0) for s in summary),
            "raw_edges": sum(r["rows"] for r in used),
            "pages": pages, "domains": domains, "hosts": hosts,
        },
        "parts": "parts.parquet",
        "skipped_parts": [{"path": p, "reason": r} for p, r in sorted(skipped.items())],
        "build": {
            "previous": plan.previous,
            "full_reason": plan.full_reason,
            "new_parts": len(plan.new_edges),
            "buckets_rewritten": sum(not s.get("reusable") for s in summary),
            "threads": plan.threads, "memory_limit": plan.memory_limit,
            "spill_dir": plan.spill_dir, "jobs": jobs,
            # wall seconds of each step, when one command ran them all
            "seconds": {k: round(v, 3) for k, v in (seconds or {}).items()},
        },
        # how each score was computed, on what graph, and whether it converged
        "metrics": {name: receipt for name, receipt in (
            stage.read_json(stage.next_dir(data) / "ranks.json") or {}).items()
            if name != "moved" and receipt is not None},
        # the web graph whose ranks domains.parquet carries (cc_*), or null
        "cc_release": graph[0] if graph else None,
        **(extra or {}),
    }
    layout.write_json(out / layout.MANIFEST, manifest)
    new = set(plan.new_edges)
    runs = [str(path) for r in used if r["path"] in new
            for b in range(plan.buckets) for path in stage.runs_of(data, r, b)]
    return manifest, runs


def _crawls(data: Path, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per crawl: pages and raw edges, first and last fetch (of either)."""
    merged: dict[str, dict[str, Any]] = {}

    def add(cid: str, pages: int, edges: int, first: int | None, last: int | None) -> None:
        row = merged.setdefault(cid, {"crawl_id": cid, "pages": 0, "edges": 0,
                                      "first": None, "last": None})
        row["pages"] += pages
        row["edges"] += edges
        if first is not None:
            row["first"] = first if row["first"] is None else min(row["first"], first)
        if last is not None:
            row["last"] = last if row["last"] is None else max(row["last"], last)

    for c in stage.read_json(stage.next_dir(data) / "crawls.json") or []:
        add(c["crawl_id"], c["pages"], 0, c["first_fetch_ms"], c["last_fetch_ms"])
    for record in records:
        for c in record.get("crawls", []):
            add(c["crawl_id"], 0, c["edges"], c["first_fetch_ms"], c["last_fetch_ms"])
    return [{"crawl_id": cid, "pages": row["pages"], "edges": row["edges"],
             "first_fetch": iso_ms(row["first"]), "last_fetch": iso_ms(row["last"])}
            for cid, row in sorted(merged.items())]


def active_graph(data: Path) -> tuple[str, Path] | None:
    """The active web graph (DATA/ccgraph/ACTIVE) and its vertices, whose ranks
    domains.parquet carries; None without an imported graph (or on a build mirror of an
    object store, which holds none)."""
    active = layout.ccgraph_dir(data) / layout.CCGRAPH_ACTIVE
    if not active.exists():
        return None
    release = active.read_text().strip()
    vertices = layout.ccgraph_dir(data, release) / "vertices.parquet"
    return (release, vertices) if vertices.exists() else None
