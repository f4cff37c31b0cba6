"""The index build: raw Parquet parts in, one new index generation out.

    raw/<crawl>/pages/*.parquet ─┐  index.part_checks    ┌─ edges/bucket=<n>/data_0.parquet
                                 ├─ (footer, full read) ─┼─ pages.parquet, hosts.parquet
    raw/<crawl>/edges/*.parquet ─┘  index.compact        ├─ domains.parquet (index.ranks)
                                    (DuckDB SQL)         └─ manifest.json

This module is the orchestration: one build at a time (flock), nothing to do when the
inputs are those of the live generation (same paths, sizes and modification times),
corrupt parts skipped with one warning each (again on every build that keeps them out
of the live index), and the switch. Everything is written into index/.tmp-<generation>/,
renamed into place whole, and CURRENT is switched last. Earlier generations are never
modified, only pruned, so a reader that opened one keeps working.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb

from core import layout
from core.errors import LinkindexError
from core.schema import INDEX_FORMAT, RAW_TABLES, SCHEMA_VERSION
from index.compact import ROW_GROUP_SIZE, choose_buckets, write_tables
from index.part_checks import PartInfo, check_parts, first_line, probe_parts

__all__ = ["BuildResult", "build_index", "choose_buckets"]

MAX_BUCKETS = 4096
MAX_RETRIES = 3  # rebuilds after dropping parts DuckDB could not read
LOCK_FILE = ".build.lock"
DUCKDB_TMP = f"{layout.TMP_PREFIX}duckdb"


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
    buckets: int | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    row_group_size: int = ROW_GROUP_SIZE,
) -> BuildResult:
    """Build a new index generation from every whole raw part under `data`.

    Keeps the live generation (built=False) when its inputs are exactly the raw parts
    present now, unless `force` (or `buckets` asks for another layout). Afterwards
    keeps the `keep` most recent generations, and always the one that was live when
    the build started. `row_group_size` is rounded up by DuckDB to a multiple of 2048.

    Every part is read whole (index.part_checks) before it is trusted, once: a part the
    live generation read whole and that has not changed since (path, size, modification
    time) gets its footer checked only, unless `force`.
    """
    data = Path(data)
    if not data.is_dir():
        raise LinkindexError(f"data directory {data} does not exist")
    if keep < 1:
        raise LinkindexError(f"keep must be at least 1, not {keep}")
    if buckets is not None and not 1 <= buckets <= MAX_BUCKETS:
        raise LinkindexError(f"buckets must be between 1 and {MAX_BUCKETS}, not {buckets}")
    if row_group_size < 1:
        raise LinkindexError(f"row group size must be positive, not {row_group_size}")
    found = {table: layout.raw_parts(data, table) for table in RAW_TABLES}
    if not any(found.values()):
        raise LinkindexError(f"no crawl data in {data}: run linkindex crawl first")

    root = layout.index_root(data)
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock(root, data):
        _remove_leftovers(root)
        inputs = _input_listing(data, found)
        live = layout.current_generation(data)
        if live is not None and not force:
            manifest = _unchanged(data, live, inputs, buckets)
            if manifest is not None:  # the parts it skipped are still there: say so again
                warnings = [_skip_warning(s["path"], s["reason"])
                            for s in manifest.get("skipped_parts", [])]
                return BuildResult(live, manifest, built=False, warnings=warnings)
        read_before = set() if force or live is None else _read_whole_before(data, live, inputs)
        try:
            return _build(
                data,
                found,
                inputs,
                live,
                read_before,
                keep=keep,
                buckets=buckets,
                threads=threads,
                memory_limit=memory_limit,
                row_group_size=row_group_size,
            )
        finally:
            shutil.rmtree(root / DUCKDB_TMP, ignore_errors=True)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def _input_listing(data: Path, found: dict[str, list[Path]]) -> list[dict[str, Any]]:
    """Every whole raw part, usable or not, so that a corrupt one forces no rebuild.

    With its modification time: a part damaged or rewritten in place keeps its path and
    often its size, and must be read again (parts are append-only: never rewritten)."""
    listing = []
    for path in sorted(p for parts in found.values() for p in parts):
        with suppress(FileNotFoundError):
            stat = path.stat()
            listing.append({"path": path.relative_to(data).as_posix(), "size": stat.st_size,
                            "mtime_ns": stat.st_mtime_ns})
    return listing


def _unchanged(
    data: Path, live: str, inputs: list[dict[str, Any]], buckets: int | None
) -> dict[str, Any] | None:
    """The live manifest, if the live generation was built from exactly these inputs."""
    try:
        manifest = layout.read_manifest(data, live)
    except LinkindexError:
        return None

    def as_set(items: list[dict[str, Any]]) -> set[tuple[str, int, int | None]]:
        return {(item["path"], item["size"], item.get("mtime_ns")) for item in items}

    same = (
        manifest.get("schema_version") == SCHEMA_VERSION
        and layout.index_format(manifest) == INDEX_FORMAT
        and as_set(manifest.get("inputs", [])) == as_set(inputs)
        and buckets in (None, manifest.get("buckets"))
    )
    return manifest if same else None


def _read_whole_before(data: Path, live: str, inputs: list[dict[str, Any]]) -> set[Path]:
    """The parts the live generation read whole and used, unchanged since (its manifest
    lists them with their modification time: manifests written before parts were read
    whole do not)."""
    try:
        manifest = layout.read_manifest(data, live)
    except LinkindexError:
        return set()
    skipped = {s.get("path") for s in manifest.get("skipped_parts", [])}
    before = {(i.get("path"), i.get("size"), i.get("mtime_ns"))
              for i in manifest.get("inputs", []) if i.get("path") not in skipped}
    return {data / i["path"] for i in inputs if (i["path"], i["size"], i["mtime_ns"]) in before}


# ---------------------------------------------------------------------------
# The build proper
# ---------------------------------------------------------------------------


def _build(
    data: Path,
    found: dict[str, list[Path]],
    inputs: list[dict[str, Any]],
    live: str | None,
    read_before: set[Path],
    *,
    keep: int,
    buckets: int | None,
    threads: int | None,
    memory_limit: str | None,
    row_group_size: int,
) -> BuildResult:
    warnings: list[str] = []
    skipped: list[dict[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        rel = path.relative_to(data).as_posix()
        skipped.append({"path": rel, "reason": reason})
        warnings.append(_skip_warning(rel, reason))

    # The footer of every part; every page of those not read whole by the live build.
    usable, problems = check_parts(found, threads, footer_only=read_before)
    for path, reason in sorted(problems.items()):
        skip(path, reason)

    root = layout.index_root(data)
    generation = layout.next_generation(data)
    tmp = root / f"{layout.TMP_PREFIX}{generation}"
    try:
        stats = _write_with_retries(
            data, tmp, usable, skip, buckets, threads, memory_limit, row_group_size
        )
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "index_format": INDEX_FORMAT,
            "generation": generation,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "buckets": stats["buckets"],
            "psl": _psl_snapshot(),
            "crawls": stats["crawls"],
            "counts": stats["counts"],
            "inputs": inputs,
            "skipped_parts": skipped,
            "linkindex_version": _linkindex_version(),
        }
        layout.write_json(tmp / layout.MANIFEST, manifest)
        _fsync_tree(tmp)
        os.rename(tmp, layout.generation_dir(data, generation))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only left if something failed
    _fsync_dir(root)
    layout.switch_current(data, generation)  # last: readers see the new index from here
    warnings += _prune(data, keep, protect={generation, live})
    return BuildResult(generation, manifest, built=True, warnings=warnings)


def _write_with_retries(
    data: Path,
    tmp: Path,
    usable: dict[str, dict[Path, PartInfo]],
    skip: Callable[[Path, str], None],
    buckets: int | None,
    threads: int | None,
    memory_limit: str | None,
    row_group_size: int,
) -> dict[str, Any]:
    """Write the tables into `tmp`; when DuckDB cannot read a part, drop it and retry."""
    for attempt in range(MAX_RETRIES + 1):
        if not any(usable.values()):
            raise LinkindexError(f"no readable crawl data in {data}: every part was skipped")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            with _connect(tmp.parent, threads, memory_limit) as con:
                return write_tables(con, tmp, usable, buckets, row_group_size)
        except duckdb.Error as exc:
            bad = _unreadable_parts(exc, usable) if attempt < MAX_RETRIES else {}
            if not bad:
                raise LinkindexError(f"index build failed: {first_line(exc)}") from exc
            for path, reason in bad.items():
                for parts in usable.values():
                    parts.pop(path, None)
                skip(path, reason)
    raise AssertionError("unreachable")


def _unreadable_parts(
    exc: duckdb.Error, usable: dict[str, dict[Path, PartInfo]]
) -> dict[Path, str]:
    """The parts to blame for a failed build: those the error names, else those a
    one-by-one read cannot read. Errors that are not about reading parts blame none."""
    if isinstance(exc, duckdb.OutOfMemoryException | duckdb.InterruptException):
        return {}
    parts = [p for ps in usable.values() for p in ps]
    named = {p: f"DuckDB cannot read it ({first_line(exc)})" for p in parts if str(p) in str(exc)}
    return named or probe_parts(parts)


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


@contextmanager
def _connect(
    root: Path, threads: int | None, memory_limit: str | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    config: dict[str, Any] = {"temp_directory": str(root / DUCKDB_TMP)}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    try:
        con = duckdb.connect(config=config)
    except duckdb.Error as exc:
        raise LinkindexError(f"bad build setting: {first_line(exc)}") from exc
    try:
        # Casting TIMESTAMPTZ to the index's UTC wall-clock timestamps must not shift them.
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        yield con
    finally:
        con.close()


def _remove_leftovers(root: Path) -> None:
    """Temporary files and folders of a build that was killed (we hold the lock)."""
    for path in root.iterdir():
        if path.name.startswith(layout.TMP_PREFIX):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _prune(data: Path, keep: int, protect: set[str | None]) -> list[str]:
    """Delete generations beyond the `keep` most recent, never a protected one."""
    warnings = []
    names = layout.generations(data)
    root = layout.index_root(data)
    for name in names[: max(len(names) - keep, 0)]:
        if name in protect:
            continue
        # Renamed first, so a crash mid-delete leaves a .tmp- folder, not half a generation.
        doomed = root / f"{layout.TMP_PREFIX}pruned-{name}"
        try:
            os.rename(root / name, doomed)
            shutil.rmtree(doomed)
        except OSError as exc:
            warnings.append(f"could not remove old generation {name}: {exc}")
    return warnings


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
