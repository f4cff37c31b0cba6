"""Plan a build: which parts are in, whether it is incremental, and the global page facts.

Incremental when the live generation is of this format and every part it holds is still
there unchanged (path, size, modification time): then only the parts it does not hold
are mapped, and each bucket merges its previous file with its new runs. Anything else
is a full build: the stage is reset, every part is mapped again, and the bucket count
is chosen anew (rebucketing is always a full build).

The plan step also runs the one global step that reads pages (their size, not the
edges', sets its cost): pages.parquet of the new generation, each URL's latest fetch,
and the URLs whose latest fetch changed since the previous generation.
"""

from __future__ import annotations

import shutil
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core import layout
from core.errors import LinkindexError
from core.schema import INDEX_FORMAT, RAW_TABLES, SCHEMA_VERSION
from index import stage
from index.compact import choose_buckets, connect, crawl_ranks, raw_view, write_pages
from index.part_checks import check_parts, first_line, probe_parts

PARTS_FILE = "parts.parquet"  # every input of a generation: a manifest stays small
PARTS_SCHEMA = pa.schema([
    pa.field("path", pa.string(), nullable=False),
    pa.field("table", pa.string(), nullable=False),
    pa.field("size", pa.int64(), nullable=False),
    pa.field("mtime_ns", pa.int64(), nullable=False),
    pa.field("skipped", pa.string()),  # why it is left out; null: used
])
MAX_RETRIES = 3  # reads of the pages after dropping parts DuckDB could not read


def input_listing(data: Path) -> list[dict[str, Any]]:
    """Every whole raw part, usable or not, so that a corrupt one forces no rebuild.

    With its modification time: a part damaged or rewritten in place keeps its path and
    often its size, and must be read again (parts are append-only: never rewritten)."""
    listing = []
    for table in RAW_TABLES:
        for path in layout.raw_parts(data, table):
            with suppress(FileNotFoundError):
                stat = path.stat()
                listing.append({"path": path.relative_to(data).as_posix(), "table": table,
                                "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return sorted(listing, key=lambda item: item["path"])


def read_parts_list(data: Path, generation: str) -> list[dict[str, Any]] | None:
    """The inputs of a generation (parts.parquet), None if it has none we can read."""
    try:
        return pq.read_table(layout.generation_dir(data, generation) / PARTS_FILE).to_pylist()
    except (OSError, pa.ArrowException):
        return None


def write_parts_list(out: Path, inputs: list[dict[str, Any]], skipped: dict[str, str]) -> None:
    rows = [{**item, "skipped": skipped.get(item["path"])} for item in inputs]
    layout.write_table(out / PARTS_FILE, pa.Table.from_pylist(rows, schema=PARTS_SCHEMA),
                       "parts")


def _key(item: dict[str, Any]) -> tuple[str, int, int]:
    return item["path"], item["size"], item["mtime_ns"]


def unchanged(data: Path, live: str, inputs: list[dict[str, Any]],
              buckets: int | None) -> dict[str, Any] | None:
    """The live manifest, if the live generation was built from exactly these inputs."""
    try:
        manifest = layout.read_manifest(data, live)
    except LinkindexError:
        return None
    before = read_parts_list(data, live)
    same = (
        before is not None
        and manifest.get("schema_version") == SCHEMA_VERSION
        and layout.index_format(manifest) == INDEX_FORMAT
        and {_key(i) for i in before} == {_key(i) for i in inputs}
        and buckets in (None, manifest.get("buckets"))
    )
    return manifest if same else None


def plan_build(
    data: Path,
    *,
    force: bool = False,
    buckets: int | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    spill_dir: str | None = None,
    row_group_size: int,
    build_id: str | None = None,
    trust_seeds: list[str] | None = None,
) -> stage.Plan:
    """Decide the build, run its global pages step, and save the plan under the stage."""
    inputs = input_listing(data)
    live = layout.current_generation(data)
    previous, before, full_reason = _previous(data, live, inputs, force, buckets)
    used_before = {i["path"] for i in before if not i.get("skipped")}
    # Footers of every part; pages read whole unless the previous generation read them
    # whole. Edges parts are read whole by their map task, once.
    found = {table: [data / i["path"] for i in inputs if i["table"] == table]
             for table in RAW_TABLES}
    footer_only = {data / p for p in used_before} | set(found["edges"])
    usable, problems = check_parts(found, threads, footer_only=footer_only)
    skipped = {path.relative_to(data).as_posix(): reason for path, reason in problems.items()}
    if not any(usable.values()):
        raise LinkindexError(f"no readable crawl data in {data}: every part was skipped")

    edges = sorted(p.relative_to(data).as_posix() for p in usable["edges"])
    if previous is None:
        n = buckets or choose_buckets(sum(info.rows for info in usable["edges"].values()))
        stage.reset(data, n)
    else:
        n = int(layout.read_manifest(data, previous)["buckets"])
    _forget_freed_runs(data)
    stage.remove_leftovers(data)
    stage.clear_next(data)
    stage.next_gen_dir(data).mkdir(parents=True)
    plan = stage.Plan(
        generation=layout.next_generation(data),
        previous=previous,
        buckets=n,
        inputs=[{k: i[k] for k in ("path", "table", "size", "mtime_ns")} for i in inputs],
        pages=sorted(p.relative_to(data).as_posix() for p in usable["pages"]),
        edges=edges,
        new_edges=[e for e in edges if e not in used_before],
        skipped=[{"path": p, "reason": r} for p, r in sorted(skipped.items())],
        pages_union=len({info.columns for info in usable["pages"].values()}) > 1,
        threads=threads,
        memory_limit=memory_limit,
        spill_dir=spill_dir,
        row_group_size=row_group_size,
        full_reason=full_reason,
        build_id=build_id,
        trust_seeds=sorted(set(trust_seeds or [])),
    )
    pages_before = sorted(i["path"] for i in before
                          if i["table"] == "pages" and not i.get("skipped"))
    older = _pages_step(data, plan, pages_before)
    if older and previous is not None:
        # A link's spans are built in fetch order; fetches older than the index's newest
        # of the same page would have to be woven into them: build them anew instead.
        stage.reset(data, plan.buckets)
        stage.clear_next(data)
        stage.next_gen_dir(data).mkdir(parents=True)
        plan.previous, plan.new_edges = None, list(plan.edges)
        plan.full_reason = (f"{older} new fetches are older than a fetch of the same page "
                            "the index holds")
        _pages_step(data, plan, [])
    plan.save(data)
    return plan


def _forget_freed_runs(data: Path) -> None:
    """A build that stopped after writing some buckets has freed their runs (index.
    buckets.write_bucket): a part of it whose runs are not all there is mapped again by
    this one (its record goes; its runs are overwritten)."""
    try:
        before = stage.Plan.load(data)
    except LinkindexError:
        return
    for rel in before.new_edges:
        record = stage.read_json(stage.map_record_path(data, rel))
        if record and not all(path.exists() for bucket in record.get("runs", {})
                              for path in stage.runs_of(data, record, int(bucket))):
            stage.map_record_path(data, rel).unlink(missing_ok=True)


def _previous(data: Path, live: str | None, inputs: list[dict[str, Any]], force: bool,
              buckets: int | None) -> tuple[str | None, list[dict[str, Any]], str | None]:
    """The generation to build on, its inputs, and else why the build is a full one."""
    if force:
        return None, [], "asked for (--force)"
    if live is None:
        return None, [], "no index yet"
    try:
        manifest = layout.read_manifest(data, live)
    except LinkindexError:
        return None, [], f"the live generation {live} is unreadable"
    before = read_parts_list(data, live)
    if layout.index_format(manifest) != INDEX_FORMAT or before is None:
        return None, [], f"the live generation {live} is of an older format"
    if manifest.get("schema_version") != SCHEMA_VERSION:
        return None, [], "the schema version changed"
    if buckets is not None and buckets != manifest.get("buckets"):
        return None, [], f"asked for {buckets} buckets (the index has {manifest.get('buckets')})"
    if stage.stage_buckets(data) != manifest.get("buckets"):
        return None, [], "the stage does not match the live generation"
    now = {_key(i) for i in inputs}
    gone = sorted(i["path"] for i in before if _key(i) not in now)
    if gone:
        return None, [], f"{gone[0]} changed or was removed since {live}"
    for item in before:  # every part it holds must still be mapped (a stage left intact)
        if (item["table"] == "edges" and not item.get("skipped")
                and stage.map_record(data, item["path"], item["size"], item["mtime_ns"]) is None):
            return None, [], f"the stage lost the map of {item['path']}"
    return live, before, None


def _pages_step(data: Path, plan: stage.Plan, pages_before: list[str]) -> int:
    """pages.parquet and fetches.parquet of the new generation; the new fetches,
    changed.parquet and crawls.json under the stage; a pages part DuckDB cannot read is
    dropped and the step retried. Returns how many new fetches are older than one the
    previous generation holds (index.compact.write_pages)."""
    root = stage.next_dir(data)
    usable = list(plan.pages)
    for attempt in range(MAX_RETRIES + 1):
        tmp = stage.spill_dir(data, plan, "pages")
        con = connect(tmp, plan.threads, plan.memory_limit)
        try:
            raw_view(con, "pages", [str(data / p) for p in usable], union=plan.pages_union)
            crawl_ids = [r[0] for r in con.execute(
                "SELECT DISTINCT crawl_id FROM raw_pages").fetchall()]
            crawl_ranks(con, crawl_ids)
            kept = set(usable)
            before = [str(data / p) for p in pages_before if p in kept]
            crawls, older = write_pages(con, stage.next_gen_dir(data), root, before,
                                        plan.pages_union)
            layout.write_json(root / "crawls.json", crawls)
            plan.pages = usable
            return older
        except duckdb.Error as exc:
            bad = {}
            if attempt < MAX_RETRIES and not isinstance(
                    exc, duckdb.OutOfMemoryException | duckdb.InterruptException):
                named = {p: f"DuckDB cannot read it ({first_line(exc)})"
                         for p in usable if str(data / p) in str(exc)}
                bad = named or {p.relative_to(data).as_posix(): r for p, r in
                                probe_parts([data / p for p in usable]).items()}
            if not bad:
                raise LinkindexError(f"index build failed: {first_line(exc)}") from exc
            plan.skipped = sorted(plan.skipped + [{"path": p, "reason": r}
                                                  for p, r in bad.items()],
                                  key=lambda s: s["path"])
            usable = [p for p in usable if p not in bad]
            if not usable and not plan.edges:
                raise LinkindexError(
                    f"no readable crawl data in {data}: every part was skipped") from exc
        finally:
            con.close()
            shutil.rmtree(tmp, ignore_errors=True)
