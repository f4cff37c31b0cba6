"""`linkindex import-cc-graph`: a Common Crawl domain-level web graph into DATA, in steps
that each leave a resume point, so a stopped import goes on where it stopped. (A
host-level release is aggregated to domains by ``hostlevel`` into the same layout.)

Steps (``DATA/ccgraph/<release>/.import/state.json`` records which are done):

1. fetch: remote files downloaded whole, resumed by range (``remote``);
2. vertices: checked and stored as Parquet (id, rev, n_hosts);
3. ranks: checked and stored; joined to the vertices by name into ``vertices.parquet``
   (CC_VERTICES: forward name, the four rank columns), each vertex's bucket kept aside;
4. edges: read once in order, checked, each edge given its linking domain's name and
   ranks (the edges are sorted by linking id, so the vertices stream alongside: no
   name table in memory) and its linked domain's bucket; written in chunks of
   ``chunk_edges`` edges, each chunk sorted by bucket, the resume point after each;
5. reduce: per bucket, the chunks' rows sorted by linked domain into
   ``links/bucket=K/data.parquet`` (CC_LINKS), as the index's edges are laid out;
6. commit: ``manifest.json``, then ``DATA/ccgraph/ACTIVE`` names the release.

Memory is bounded by a chunk (``chunk_edges`` rows) and one bucket number per vertex
(4 bytes: 480 MB for a 120M-domain release), not by the number of edges.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core import layout
from core.errors import LinkindexError
from core.schema import CC_LINKS, CC_VERTICES
from index.ccgraph.formats import read_edges, read_ranks, read_vertices
from index.ccgraph.remote import fetch_file, is_remote

__all__ = ["DEFAULT_BASE", "LEVELS", "GraphImport", "ImportSummary", "import_graph",
           "release_files"]

DEFAULT_BASE = "https://data.commoncrawl.org/projects/hyperlinkgraph"
CHUNK_EDGES = 5_000_000  # about 600 MB of rows in memory at most
BYTES_PER_BUCKET = 64 << 20  # of gzipped edges: one bucket each, 1 to 1024
KINDS = ("vertices", "edges", "ranks")
LEVELS = ("domain", "host")
# DuckDB's share of memory in the join and the per-bucket sorts (it spills beyond): the
# import's peak stays near a chunk plus this, whatever the release's size
DUCKDB_MEMORY = "1GB"
Report = Callable[[str], None]


def release_files(release: str, base: str = DEFAULT_BASE, level: str = "domain") -> dict[str, str]:
    """Where a release's files are, as Common Crawl publishes them. At host level the
    vertices and edges are lists of shards (``.paths.gz``), the ranks one file."""
    def suffix(kind: str) -> str:
        return "paths.gz" if level == "host" and kind != "ranks" else "txt.gz"

    return {kind: f"{base.rstrip('/')}/{release}/{level}/{release}-{level}-{kind}.{suffix(kind)}"
            for kind in KINDS}


@dataclass
class GraphImport:
    """What to import: a release's name and its three files (paths or URLs)."""

    release: str
    files: dict[str, str]
    buckets: int | None = None  # default: from the edges file's size (host: the domains)
    chunk_edges: int = CHUNK_EDGES
    max_chunks: int | None = None  # stop after this many edge chunks (host: edge shards)
    level: str = "domain"  # "host": files are shard lists, aggregated to domains
    base: str = DEFAULT_BASE  # host level: what the shard lists' relative lines are under
    jobs: int | None = None  # host level: processes for the shards (default: the CPUs)


@dataclass
class ImportSummary:
    release: str
    vertices: int = 0
    edges: int = 0
    buckets: int = 0
    unranked: int = 0  # vertices the ranks file does not name
    finished: bool = False
    resumed_from: int = 0  # edges already imported by an earlier run
    seconds: dict[str, float] = field(default_factory=dict)
    level: str = "domain"
    hosts: int = 0  # host level: the release's hosts, its host links, its edge shards
    host_edges: int = 0
    shards: int = 0
    shards_done: int = 0


def _check_release(release: str) -> None:
    if not release or not all(c.isalnum() or c in "-_." for c in release) or \
            release.startswith("."):
        raise LinkindexError(f"bad release name {release!r}: use letters, digits, - _ .")


class _State:
    """The import's resume points, in ``.import/state.json`` (rewritten atomically)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "state.json"
        self.values: dict[str, Any] = json.loads(self.path.read_text()) \
            if self.path.exists() else {}

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, **values: Any) -> None:
        self.values.update(values)
        layout.write_json(self.path, self.values)


def _prepare(data: Path, job: GraphImport) -> tuple[Path, Path, _State]:
    """The release's folder, its ``.import`` folder and state: checks first."""
    _check_release(job.release)
    if job.level not in LEVELS:
        raise LinkindexError(f"level {job.level!r}: use one of {', '.join(LEVELS)}")
    if not data.is_dir():
        raise LinkindexError(f"data directory {data} does not exist")
    target = layout.ccgraph_dir(data, job.release)
    work = target / ".import"
    if (target / layout.MANIFEST).exists():
        raise LinkindexError(f"release {job.release} is already imported in {target}; "
                             "delete that folder to import it again")
    work.mkdir(parents=True, exist_ok=True)
    return target, work, _State(work)


def _commit(data: Path, target: Path, manifest: dict[str, Any]) -> None:
    """The manifest, then ACTIVE names the release; the work folder goes."""
    layout.write_json(target / layout.MANIFEST, {
        **manifest,
        "imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "counts_every_link": "the graph counts every link kind and ignores rel: nofollow, "
                             "ugc and sponsored links count",
    })
    with layout.atomic_open(layout.ccgraph_dir(data) / layout.CCGRAPH_ACTIVE) as fh:
        fh.write(manifest["release"] + "\n")
    shutil.rmtree(target / ".import")


def import_graph(data: Path, job: GraphImport, report: Report = lambda _: None) -> ImportSummary:
    """Import `job` into DATA/ccgraph/<release>/ (see the module's doc)."""
    if job.level == "host":
        from index.ccgraph.hostlevel import import_host_graph

        return import_host_graph(data, job, report)
    target, work, state = _prepare(data, job)
    summary = ImportSummary(job.release)

    started = time.monotonic()
    local = {kind: _local(job.files[kind], work / "downloads", report) for kind in KINDS}
    summary.seconds["fetch"] = time.monotonic() - started

    if state["vertices"] is None:
        started = time.monotonic()
        report("checking and storing the vertices")
        count = _store(work / "vertices_raw.parquet",
                       read_vertices(local["vertices"], domain_level=True))
        state.set(vertices=count)
        summary.seconds["vertices"] = time.monotonic() - started
    summary.vertices = state["vertices"]

    buckets = state["buckets"] or job.buckets or _buckets_for(local["edges"])
    if state["joined"] is None:
        started = time.monotonic()
        report("checking the ranks and joining them to the vertices")
        _store(work / "ranks_raw.parquet", read_ranks(local["ranks"], domain_level=True))
        unranked = _join(target, work, buckets)
        state.set(joined=True, buckets=buckets, unranked=unranked)
        summary.seconds["ranks"] = time.monotonic() - started
    summary.buckets, summary.unranked = state["buckets"], state["unranked"]

    done = state["edges_done"] or 0
    summary.resumed_from = done
    if not state["edges_finished"]:
        started = time.monotonic()
        finished, done = _edges(local["edges"], work, state, job, summary.vertices, report)
        summary.seconds["edges"] = time.monotonic() - started
        if not finished:
            summary.edges = done
            return summary
    summary.edges = state["edges_done"]

    started = time.monotonic()
    _reduce(target, work, state, summary.buckets, report)
    summary.seconds["reduce"] = time.monotonic() - started

    _commit(data, target, {
        "release": job.release, "level": "domain", "vertices": summary.vertices,
        "edges": summary.edges, "buckets": summary.buckets, "unranked": summary.unranked,
        "files": job.files})
    summary.finished = True
    return summary


def _local(source: str, folder: Path, report: Report) -> Path:
    if is_remote(source):
        report(f"fetching {source}")
        return fetch_file(source, folder)
    path = Path(source)
    if not path.is_file():
        raise LinkindexError(f"{source}: no such file")
    return path


def _buckets_for(edges: Path) -> int:
    return max(1, min(1024, math.ceil(edges.stat().st_size / BYTES_PER_BUCKET)))


def _store(path: Path, batches: Iterator[pa.RecordBatch]) -> int:
    """Write the batches to one Parquet file (whole or not at all); their row count."""
    rows = 0
    with layout.atomic_path(path) as tmp:
        writer: pq.ParquetWriter | None = None
        try:
            for batch in batches:
                if writer is None:
                    writer = pq.ParquetWriter(tmp, batch.schema, compression="zstd")
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise LinkindexError(f"{path.stem.removesuffix('_raw')} file is empty")
    return rows


_FORWARD = "array_to_string(list_reverse(string_split(lower({}), '.')), '.')"


def _duckdb(work: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY,
                                 "temp_directory": str(work / "duckdb-spill"),
                                 "preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")  # stderr holds errors only
    return con


def check_ranks_unique(con: duckdb.DuckDBPyConnection, ranks: str) -> None:
    """One line naming the first name the ranks (a read_parquet expression) hold twice."""
    twice = con.sql(f"SELECT rev FROM {ranks} GROUP BY rev HAVING count(*) > 1 "
                    "ORDER BY rev LIMIT 1").fetchall()
    if twice:
        raise LinkindexError(f"ranks file: {twice[0][0]!r} is there twice (names must "
                             "be unique)")


def _join(target: Path, work: Path, buckets: int) -> int:
    """vertices.parquet (CC_VERTICES) from the raw vertices and ranks; each vertex's
    bucket to ``buckets.npy``. The ranks must name each vertex once."""
    con = _duckdb(work)
    try:
        raw_ranks = f"read_parquet('{work / 'ranks_raw.parquet'}')"
        raw_vertices = f"read_parquet('{work / 'vertices_raw.parquet'}')"
        check_ranks_unique(con, raw_ranks)
        con.execute(f"""
            COPY (
                SELECT v.id, v.rev, {_FORWARD.format('v.rev')} AS domain,
                       coalesce(v.n_hosts, r.n_hosts) AS n_hosts,
                       r.harmonic_pos AS cc_harmonic_pos, r.harmonic AS cc_harmonic,
                       r.pr_pos AS cc_pr_pos, r.pr AS cc_pr
                FROM {raw_vertices} AS v LEFT JOIN {raw_ranks} AS r ON r.rev = v.rev
                ORDER BY v.id
            ) TO '{work / 'vertices.parquet'}' (FORMAT parquet, COMPRESSION zstd,
                                                ROW_GROUP_SIZE 100000)""")
        unranked = con.sql(f"SELECT count(*) FROM read_parquet('{work / 'vertices.parquet'}') "
                           "WHERE cc_harmonic_pos IS NULL").fetchall()[0][0]
        # core.layout.bucket_of, as the build computes it (index/buckets.py)
        bucket = con.sql(f"SELECT ('0x' || substr(md5(domain), 1, 8))::UBIGINT % {buckets} "
                         "AS b FROM "
                         f"read_parquet('{work / 'vertices.parquet'}') ORDER BY id"
                         ).fetch_arrow_table().column("b").to_numpy().astype(np.uint32)
    finally:
        con.close()
    np.save(work / "buckets.npy", bucket)
    table = pq.read_schema(work / "vertices.parquet")
    assert table.names == CC_VERTICES.names, table.names
    (work / "vertices.parquet").replace(target / "vertices.parquet")
    return int(unranked)


class _VertexWindow:
    """The vertices in id order, read alongside edges sorted by linking id: the names
    and ranks of ids from `lo` on, without holding every name."""

    def __init__(self, path: Path) -> None:
        self._batches = pq.ParquetFile(path).iter_batches(
            batch_size=1 << 20, columns=["id", "domain", "cc_harmonic_pos", "cc_pr_pos"])
        self._table: pa.Table | None = None
        self._start = 0

    def take(self, ids: np.ndarray) -> pa.Table:
        lo, hi = int(ids[0]), int(ids[-1])
        while self._table is None or self._start + self._table.num_rows <= hi:
            more = pa.Table.from_batches([next(self._batches)])
            self._table = more if self._table is None else pa.concat_tables([self._table, more])
        if lo > self._start:  # ids only grow: drop what is behind
            self._table = self._table.slice(lo - self._start)
            self._start = lo
        return self._table.take(pa.array(ids - np.uint64(self._start)))


def _edges(path: Path, work: Path, state: _State, job: GraphImport, vertices: int,
           report: Report) -> tuple[bool, int]:
    """Step 4; (finished, edges done). Each chunk is a file of rows sorted by bucket."""
    buckets = np.load(work / "buckets.npy")
    window = _VertexWindow(work.parent / "vertices.parquet")
    done = state["edges_done"] or 0
    chunk = state["chunks"] or 0
    runs = work / "runs"
    runs.mkdir(exist_ok=True)
    pending: list[pa.Table] = []
    pending_rows = 0
    written_now = 0

    def flush() -> None:
        nonlocal pending, pending_rows, chunk, written_now
        if not pending_rows:
            return
        table = pa.concat_tables(pending).sort_by([("bucket", "ascending")])
        with layout.atomic_path(runs / f"chunk-{chunk:06d}.parquet") as tmp:
            pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
        chunk += 1
        written_now += 1
        state.set(edges_done=done, chunks=chunk)
        report(f"edges: {done:,} imported")
        pending, pending_rows = [], 0

    for whole in read_edges(path, vertices, skip=done):
        offset = 0
        while offset < whole.num_rows:  # a resume point every chunk_edges edges exactly
            batch = whole.slice(offset, job.chunk_edges - pending_rows)
            offset += batch.num_rows
            src = batch.column("src").to_numpy()
            dst = batch.column("dst").to_numpy()
            names = window.take(src)
            pending.append(pa.table({
                "bucket": pa.array(buckets[dst]),
                "dst_id": pa.array(dst),
                "src_domain": names.column("domain"),
                "src_harmonic_pos": names.column("cc_harmonic_pos"),
                "src_pr_pos": names.column("cc_pr_pos"),
            }))
            pending_rows += batch.num_rows
            done += batch.num_rows
            if pending_rows >= job.chunk_edges:
                flush()
                if job.max_chunks is not None and written_now >= job.max_chunks:
                    return False, done
    flush()
    state.set(edges_finished=True, edges_done=done, chunks=chunk)
    return True, done


def _reduce(target: Path, work: Path, state: _State, buckets: int, report: Report) -> None:
    """Step 5: each bucket's rows from every chunk, sorted by linked domain."""
    runs = f"{work / 'runs'}/*.parquet"
    reduced = set(state["reduced"] or [])
    have_runs = any((work / "runs").glob("*.parquet"))
    con = _duckdb(work)
    try:
        for bucket in range(buckets):
            if bucket in reduced:
                continue
            final = target / "links" / f"bucket={bucket}" / "data.parquet"
            source = (f"SELECT {', '.join(CC_LINKS.names)} FROM read_parquet('{runs}') "
                      f"WHERE bucket = {bucket}" if have_runs else
                      "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in (
                          ("dst_id", "UBIGINT"), ("src_domain", "VARCHAR"),
                          ("src_harmonic_pos", "UBIGINT"), ("src_pr_pos", "UBIGINT")))
                      + " WHERE false")
            with layout.atomic_path(final) as tmp:
                con.execute(f"COPY ({source} ORDER BY dst_id, src_domain) TO '{tmp}' "
                            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)")
            reduced.add(bucket)
            state.set(reduced=sorted(reduced))
            report(f"bucket {bucket + 1} of {buckets} sorted")
    finally:
        con.close()
