"""The index build: raw Parquet parts in, one new index generation out.

    raw/<crawl>/pages/*.parquet ─► plan (index.plan): parts checked, latest fetches,
                                   pages.parquet; incremental or full
    raw/<crawl>/edges/*.parquet ─► map (index.buckets): each part once, split by bucket
                                   ─► reduce: each bucket's previous file + new runs
                                   ─► write: sorted, ranked edges/bucket=<n>/data_0.parquet
                                   ─► commit (index.steps): hosts, domains, manifest

This module is the one-command build (`linkindex build`): one build at a time (flock),
nothing to do when the inputs are those of the live generation (same paths, sizes and
modification times), corrupt parts skipped with one warning each (again on every build
that keeps them out of the live index), and the switch. The new generation is written
under DATA/stage/next/gen/, renamed into index/ whole, and CURRENT is switched last.
Earlier generations are never modified, only pruned, so a reader that opened one keeps
working. The same steps run one by one on a cluster: `linkindex build plan|map|...`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from core import layout
from core.errors import LinkindexError
from core.schema import RAW_TABLES
from index.compact import ROW_GROUP_SIZE, choose_buckets
from index.plan import input_listing, plan_build, unchanged
from index.ranks import seeds_digest
from index.stage import (
    Plan,
    clear_next,
    missing_step,
    next_gen_dir,
    wait_for_plan,
    wait_until,
    write_up_to_date,
)
from index.steps import STEPS, active_graph, commit, run_local, run_map, run_reduce, run_write

__all__ = ["BuildResult", "build_index", "build_step", "choose_buckets", "commit_build"]

MAX_BUCKETS = 4096
LOCK_FILE = ".build.lock"


@dataclass
class BuildResult:
    generation: str
    manifest: dict[str, Any]
    built: bool  # False when nothing new: the live generation was kept
    # One line each: the parts the live index leaves out (corrupt: skipped, also when
    # nothing was new), old generations that could not be removed.
    warnings: list[str] = field(default_factory=list)


def build_index(
    data: Path,
    *,
    force: bool = False,
    keep: int = 3,
    keep_for: float | None = None,
    buckets: int | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    spill_dir: str | None = None,
    row_group_size: int = ROW_GROUP_SIZE,
    jobs: int = 1,
    trust_seeds: list[str] | None = None,
) -> BuildResult:
    """Build a new index generation from every whole raw part under `data`: plan, then
    map, reduce and write in `jobs` processes, then commit (index.steps).

    Keeps the live generation (built=False) when its inputs are exactly the raw parts
    present now, unless `force` (or `buckets` asks for another layout). Otherwise
    incremental when it can be (index.plan), a full build when not, with the same
    result. Afterwards keeps the `keep` most recent generations, every one younger than
    `keep_for` seconds, and always the one that was live when the build started.
    `row_group_size` is rounded up by DuckDB to a multiple of 2048. `trust_seeds`
    (registrable domains, index.ranks.read_trust_seeds) also computes domain trust;
    other seeds than the live generation's make a new build.
    """
    data = Path(data)
    _check_arguments(data, keep, buckets, row_group_size, jobs)
    if not any(layout.raw_parts(data, table) for table in RAW_TABLES):
        raise LinkindexError(f"no crawl data in {data}: run linkindex crawl first")
    root = layout.index_root(data)
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock(root, data):
        _remove_leftovers(root)
        up_to_date = _up_to_date(data, force, buckets, trust_seeds)
        if up_to_date is not None:
            return up_to_date
        started = time.perf_counter()
        plan = plan_build(data, force=force, buckets=buckets, threads=threads,
                          memory_limit=memory_limit, spill_dir=spill_dir,
                          row_group_size=row_group_size, trust_seeds=trust_seeds)
        seconds = {"plan": time.perf_counter() - started, **run_local(data, plan, jobs)}
        return commit_build(data, plan, keep=keep, keep_for=keep_for, jobs=jobs,
                            seconds=seconds)


def build_step(
    data: Path,
    step: str,
    *,
    task: int = 0,
    tasks: int = 1,
    build_id: str | None = None,
    wait: float = 0.0,
    force: bool = False,
    keep: int = 3,
    keep_for: float | None = None,
    buckets: int | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    spill_dir: str | None = None,
    row_group_size: int = ROW_GROUP_SIZE,
    trust_seeds: list[str] | None = None,
) -> BuildResult | str:
    """One step of a build, for a cluster: `plan`, then `map`, `reduce` and `write` as
    tasks `task` of `tasks` (any number of processes or pods), then `commit`.

    `build_id` ties the steps of one build together (a step never works on another
    build's plan); a step waits up to `wait` seconds for the step before it to be
    complete. Returns the BuildResult of plan (when up to date) and commit, else a line
    saying what the task did."""
    data = Path(data)
    _check_arguments(data, keep, buckets, row_group_size, 1)
    if step not in STEPS:
        raise LinkindexError(f"unknown build step {step!r}: one of {', '.join(STEPS)}")
    if not 0 <= task < tasks:
        raise LinkindexError(f"task must be in 0..{tasks - 1}, not {task}")
    root = layout.index_root(data)
    root.mkdir(parents=True, exist_ok=True)
    if step == "plan":
        with _build_lock(root, data):
            _remove_leftovers(root)
            up_to_date = _up_to_date(data, force, buckets, trust_seeds)
            if up_to_date is not None:
                write_up_to_date(data, up_to_date.generation, build_id)
                return up_to_date
            plan = plan_build(data, force=force, buckets=buckets, threads=threads,
                              memory_limit=memory_limit, spill_dir=spill_dir,
                              row_group_size=row_group_size, build_id=build_id,
                              trust_seeds=trust_seeds)
            how = f"incremental on {plan.previous}" if plan.previous else (
                f"full ({plan.full_reason})")
            return (f"planned {plan.generation}: {how}, {len(plan.new_edges):,} new edges "
                    f"parts to map, {plan.buckets:,} buckets")
    plan = wait_for_plan(data, build_id, wait)
    if plan is None:
        return "nothing to do: the index is up to date"
    if step == "commit":
        wait_until(lambda: missing_step(data, plan, "commit"), wait)
        with _build_lock(root, data):
            return commit_build(data, plan, keep=keep, keep_for=keep_for)
    wait_until(lambda: missing_step(data, plan, step), wait)
    done = {"map": run_map, "reduce": run_reduce, "write": run_write}[step](
        data, plan, task, tasks)
    unit = "parts" if step == "map" else "buckets"
    return f"{step} task {task}/{tasks}: {done:,} {unit} of {plan.generation}"


def commit_build(data: Path, plan: Plan, *, keep: int = 3, keep_for: float | None = None,
                 jobs: int | None = None, seconds: dict[str, float] | None = None
                 ) -> BuildResult:
    """The last step: the new generation into index/, CURRENT switched (last), old
    generations pruned, consumed runs deleted."""
    extra = {"psl": _psl_snapshot(), "linkindex_version": _linkindex_version()}
    manifest, runs = commit(data, plan, extra, jobs, seconds)
    generation = plan.generation
    out = next_gen_dir(data)
    _fsync_tree(out)
    os.rename(out, layout.generation_dir(data, generation))
    root = layout.index_root(data)
    _fsync_dir(root)
    live = layout.current_generation(data)  # a reader may hold it: never pruned now
    layout.switch_current(data, generation)  # last: readers see the new index from here
    warnings = [_skip_warning(s["path"], s["reason"]) for s in manifest["skipped_parts"]]
    warnings += _prune(data, keep, keep_for, protect={generation, live, plan.previous})
    for run in runs:  # the new generation holds them now
        Path(run).unlink(missing_ok=True)
    clear_next(data)
    return BuildResult(generation, manifest, built=True, warnings=warnings)


def _up_to_date(data: Path, force: bool, buckets: int | None,
                trust_seeds: list[str] | None = None) -> BuildResult | None:
    """The live generation, when it was built from exactly the parts there now (and the
    same trust seeds)."""
    live = layout.current_generation(data)
    if live is None or force:
        return None
    manifest = unchanged(data, live, input_listing(data), buckets)
    if manifest is None:
        return None
    trust = (manifest.get("metrics") or {}).get("domain_trust") or {}
    if trust.get("seeds", {}).get("sha256") != (seeds_digest(trust_seeds)
                                                 if trust_seeds else None):
        return None
    graph = active_graph(data)  # a newly imported web graph: domains' cc_* ranks change
    if manifest.get("cc_release") != (graph[0] if graph else None):
        return None
    # the parts it skipped are still there: say so again
    warnings = [_skip_warning(s["path"], s["reason"]) for s in manifest.get("skipped_parts", [])]
    return BuildResult(live, manifest, built=False, warnings=warnings)


def _check_arguments(data: Path, keep: int, buckets: int | None, row_group_size: int,
                     jobs: int) -> None:
    if not data.is_dir():
        raise LinkindexError(f"data directory {data} does not exist")
    if keep < 1:
        raise LinkindexError(f"keep must be at least 1, not {keep}")
    if buckets is not None and not 1 <= buckets <= MAX_BUCKETS:
        raise LinkindexError(f"buckets must be between 1 and {MAX_BUCKETS}, not {buckets}")
    if row_group_size < 1:
        raise LinkindexError(f"row group size must be positive, not {row_group_size}")
    if jobs < 1:
        raise LinkindexError(f"jobs must be at least 1, not {jobs}")


def _skip_warning(rel: str, reason: str) -> str:
    return f"skipped {rel}: {reason}"


# ---------------------------------------------------------------------------
# Files, lock, generations
# ---------------------------------------------------------------------------


@contextmanager
def _build_lock(root: Path, data: Path) -> Iterator[None]:
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LinkindexError(f"another build is running in {data}") from None
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays, so the lock never races a delete


def _remove_leftovers(root: Path) -> None:
    """Temporary files and folders of a build that was killed (we hold the lock)."""
    for path in root.iterdir():
        if path.name.startswith(layout.TMP_PREFIX):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _prune(data: Path, keep: int, keep_for: float | None,
           protect: set[str | None]) -> list[str]:
    """Delete generations beyond the `keep` most recent, but never a protected one nor
    one replaced less than `keep_for` seconds ago (an external job may be reading it:
    a generation was live until its successor was built)."""
    warnings = []
    names = layout.generations(data)
    root = layout.index_root(data)
    for i, name in enumerate(names[: max(len(names) - keep, 0)]):
        if name in protect or (keep_for is not None and _age(data, names[i + 1]) < keep_for):
            continue
        # Renamed first, so a crash mid-delete leaves a .tmp- folder, not half a generation.
        doomed = root / f"{layout.TMP_PREFIX}pruned-{name}"
        try:
            os.rename(root / name, doomed)
            shutil.rmtree(doomed)
        except OSError as exc:
            warnings.append(f"could not remove old generation {name}: {exc}")
    return warnings


def _age(data: Path, generation: str) -> float:
    """Seconds since a generation was built (its manifest), or since its folder changed."""
    path = layout.generation_dir(data, generation)
    with suppress(OSError, ValueError, KeyError, json.JSONDecodeError):
        created = json.loads((path / layout.MANIFEST).read_text())["created_at"]
        return time.time() - datetime.fromisoformat(created).timestamp()
    return time.time() - path.stat().st_mtime


def _fsync_tree(top: Path) -> None:
    for dirpath, _, filenames in os.walk(top):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _psl_snapshot() -> dict[str, str]:
    from core.domains import psl_snapshot  # tldextract only; no Scrapy

    return psl_snapshot()


def _linkindex_version() -> str:
    try:
        return metadata.version("linkindex")
    except metadata.PackageNotFoundError:
        pass
    # A source checkout that is not installed: read the version from pyproject.toml.
    with suppress(OSError, tomllib.TOMLDecodeError, KeyError):
        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    return "unknown"
