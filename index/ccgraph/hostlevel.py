"""`linkindex import-cc-graph --level host`: a host-level release aggregated to
registrable domains, into the same layout as a domain-level import (``importer``), so
every query reads it unchanged.

Steps (``DATA/ccgraph/<release>/.import/state.json`` records which are done):

1. fetch: the two shard lists and the ranks file (``remote``, resumed by range);
2. vertex shards, in parallel (``shards.vertex_shard``): each checked, each host given
   its registrable domain by our rules (``core.domains``); then the shards are checked
   to continue each other (ids, C-locale order of names);
3. domains: the distinct domains, ids 0..n-1 in C-locale order of the reversed name,
   n_hosts, and the ranks of each domain's best-placed host (lowest harmonic position)
   into ``vertices.parquet`` (CC_VERTICES); ``host_domain.npy`` (host id -> domain id,
   4 bytes a host) and ``buckets.npy`` (domain id -> bucket) for the workers;
4. edge shards, in parallel (``shards.edge_shard``): host links to domain pairs, one
   resume point per shard; shard K's first link must follow shard K-1's last;
5. reduce, a group of buckets at a time: the pairs made unique, the linking domain's
   name and positions joined in by DuckDB, each bucket sorted by linked domain into
   ``links/bucket=K/data.parquet`` (CC_LINKS);
6. commit: ``manifest.json`` (``"level": "host"``, ``"ranks": "best host"``), then
   ``DATA/ccgraph/ACTIVE`` names the release.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import layout
from core.domains import psl_snapshot
from core.errors import LinkindexError
from core.schema import CC_LINKS, CC_VERTICES
from index.ccgraph.formats import GraphFileError, read_ranks
from index.ccgraph.importer import (
    _FORWARD,
    GraphImport,
    ImportSummary,
    Report,
    _commit,
    _duckdb,
    _local,
    _prepare,
    _State,
    _store,
    check_ranks_unique,
)
from index.ccgraph.shards import (
    NO_DOMAIN,
    EdgeTask,
    VertexTask,
    Workers,
    default_jobs,
    edge_shard,
    shard_list,
    tasks_in,
    vertex_shard,
    workers,
)

__all__ = ["import_host_graph"]

DOMAINS_PER_BUCKET = 500_000  # a domain-level release: 120M domains in about 240 buckets
GROUP_ROWS = 100_000_000  # domain pairs joined to their names at once in the reduce


def import_host_graph(data: Path, job: GraphImport, report: Report) -> ImportSummary:
    """Import the host-level release `job` (files: the two shard lists and the ranks)."""
    target, work, state = _prepare(data, job)
    summary = ImportSummary(job.release, level="host")
    started = time.monotonic()
    local = {kind: _local(job.files[kind], work / "downloads", report)
             for kind in ("vertices", "edges", "ranks")}
    vertex_sources = shard_list(local["vertices"], job.base, job.release, "vertices")
    edge_sources = shard_list(local["edges"], job.base, job.release, "edges")
    summary.seconds["fetch"] = time.monotonic() - started
    summary.shards = len(edge_sources)
    jobs = max(1, min(job.jobs or default_jobs(), max(len(vertex_sources), len(edge_sources))))
    with workers(jobs) as pool:
        if state["hosts"] is None:
            started = time.monotonic()
            _vertex_shards(pool, vertex_sources, work, state, report)
            summary.seconds["vertices"] = time.monotonic() - started
        summary.hosts = state["hosts"]
        if state["joined"] is None:
            started = time.monotonic()
            report("checking the ranks; hosts to domains")
            _store(work / "ranks_raw.parquet", read_ranks(local["ranks"], domain_level=False))
            state.set(joined=True, **_domains(target, work, summary.hosts, job.buckets))
            shutil.rmtree(work / "hosts")  # read once: the workers need the arrays only
            (work / "ranks_raw.parquet").unlink()
            summary.seconds["domains"] = time.monotonic() - started
        summary.vertices, summary.buckets = state["domains"], state["buckets"]
        summary.unranked = state["unranked"]
        started = time.monotonic()
        finished = _edge_shards(pool, edge_sources, work, state, job, summary, report)
        summary.seconds["edges"] = time.monotonic() - started
    if not finished:
        return summary
    started = time.monotonic()
    summary.edges = _reduce(target, work, state, summary.buckets, report)
    summary.seconds["reduce"] = time.monotonic() - started
    _commit(data, target, {
        "release": job.release, "level": "host", "ranks": "best host",
        "vertices": summary.vertices, "edges": summary.edges, "buckets": summary.buckets,
        "unranked": summary.unranked, "hosts": summary.hosts,
        "host_edges": summary.host_edges, "hosts_dropped": state["dropped"],
        "shards": {"vertices": len(vertex_sources), "edges": len(edge_sources)},
        "files": job.files, "base": job.base, "public_suffix_list": psl_snapshot(),
        "aggregation": "each host's registrable domain by linkindex's public-suffix rules; "
                       "a domain pair for each host link between two domains, once; a "
                       "domain's ranks are its best-placed host's (lowest harmonic "
                       "position)"})
    summary.finished = True
    return summary


def _vertex_shards(pool: Workers, sources: list[str], work: Path, state: _State,
                   report: Report) -> None:
    """Step 2: every vertex shard, then the checks across shards; sets ``hosts``."""
    done: dict[str, Any] = state["vertex_shards"] or {}
    tasks = [VertexTask(k, sources[k], str(work)) for k in tasks_in(done, len(sources))]
    for result in pool.run(vertex_shard, tasks):
        done[str(result["index"])] = result
        state.set(vertex_shards=done)
        report(f"vertices: {len(done)} of {len(sources)} shards")
    expected, previous = 0, None
    for k in range(len(sources)):
        shard = done[str(k)]
        if not shard["count"]:
            continue
        where = f"vertices file {shard['name']} line 1"
        if shard["first_id"] != expected:
            raise GraphFileError(f"{where}: id {shard['first_id']}, expected {expected} (ids "
                                 "continue from shard to shard, in the list's order)")
        if previous is not None and shard["first"].encode() <= previous["last"].encode():
            problem = "is there twice" if shard["first"] == previous["last"] else \
                f"comes after {previous['last']!r}"
            raise GraphFileError(f"{where}: {shard['first']!r} {problem}, the last name of "
                                 f"{previous['name']} (names must be unique, in C-locale "
                                 "order across the shards)")
        expected, previous = expected + shard["count"], shard
    if not expected:
        raise LinkindexError("vertices: the shards hold no host")
    state.set(hosts=expected, dropped=sum(shard["dropped"] for shard in done.values()))


def _domains(target: Path, work: Path, hosts: int, buckets: int | None) -> dict[str, int]:
    """Step 3; the state's domains, buckets and unranked."""
    host_files = f"read_parquet('{work / 'hosts'}/hosts-*.parquet')"
    ranks = f"read_parquet('{work / 'ranks_raw.parquet'}')"
    sorted_domains = work / "domains.parquet"
    con = _duckdb(work)
    try:
        check_ranks_unique(con, ranks)
        # www.x and x are one host for n_hosts: releases before cc-main-2025-26-nov-dec-jan
        # strip www., later ones keep it
        con.execute(f"""
            COPY (
                WITH d AS (
                    SELECT drev, count(DISTINCT CASE WHEN suffix(rev, '.www')
                                                     THEN left(rev, length(rev) - 4)
                                                     ELSE rev END) AS n_hosts
                    FROM {host_files} WHERE drev IS NOT NULL GROUP BY drev),
                best AS (
                    SELECT h.drev, min(r.harmonic_pos) AS cc_harmonic_pos,
                           arg_min(r.harmonic, r.harmonic_pos) AS cc_harmonic,
                           arg_min(r.pr_pos, r.harmonic_pos) AS cc_pr_pos,
                           arg_min(r.pr, r.harmonic_pos) AS cc_pr
                    FROM {ranks} AS r JOIN {host_files} AS h ON h.rev = r.rev
                    WHERE h.drev IS NOT NULL GROUP BY h.drev)
                SELECT d.drev AS rev, {_FORWARD.format('d.drev')} AS domain,
                       d.n_hosts::UBIGINT AS n_hosts, best.cc_harmonic_pos, best.cc_harmonic,
                       best.cc_pr_pos, best.cc_pr
                FROM d LEFT JOIN best ON best.drev = d.drev
                ORDER BY d.drev
            ) TO '{sorted_domains}' (FORMAT parquet, COMPRESSION zstd)""")
        domains, unranked = _number(sorted_domains, work / "vertices.parquet")
        if not domains:
            raise LinkindexError("vertices: no host has a registrable domain")
        if domains >= int(NO_DOMAIN):
            raise LinkindexError(f"{domains:,} domains: more than this import can number")
        buckets = buckets or max(1, min(1024, math.ceil(domains / DOMAINS_PER_BUCKET)))
        vertices = f"read_parquet('{work / 'vertices.parquet'}')"
        # core.layout.bucket_of, as the build computes it (index/buckets.py)
        _fill(work / "buckets.npy", domains, 0, con.sql(
            f"SELECT id, ('0x' || substr(md5(domain), 1, 8))::UBIGINT % {buckets} FROM "
            f"{vertices}"))
        _fill(work / "host_domain.npy", hosts, NO_DOMAIN, con.sql(
            f"SELECT h.id, v.id FROM {host_files} AS h JOIN {vertices} AS v "
            "ON v.rev = h.drev"))
    finally:
        con.close()
    assert pq.read_schema(work / "vertices.parquet").names == CC_VERTICES.names
    (work / "vertices.parquet").replace(target / "vertices.parquet")
    sorted_domains.unlink()
    return {"domains": domains, "buckets": buckets, "unranked": unranked}


def _number(source: Path, final: Path) -> tuple[int, int]:
    """The domains sorted by reversed name, each given its row number as id and checked
    to come after the one before; (domains, domains without ranks)."""
    count = unranked = 0
    last: str | None = None
    with layout.atomic_path(final) as tmp, pq.ParquetWriter(tmp, CC_VERTICES,
                                                            compression="zstd") as writer:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=100_000):
            rev = batch.column("rev")
            names = pa.concat_arrays([pa.array([last], pa.string()), rev]) \
                if last is not None else rev
            if not pc.all(pc.greater(names.slice(1), names.slice(0, len(names) - 1))).as_py():
                raise LinkindexError("domains: not in C-locale order (a DuckDB sort fault)")
            ids = pa.array(np.arange(count, count + batch.num_rows, dtype=np.uint64))
            writer.write_table(pa.Table.from_arrays(
                [ids, *(batch.column(name) for name in CC_VERTICES.names[1:])],
                schema=CC_VERTICES), row_group_size=100_000)
            unranked += batch.column("cc_harmonic_pos").null_count
            count += batch.num_rows
            last = rev[-1].as_py()
    return count, unranked


def _fill(path: Path, size: int, empty: np.uint32 | int, answer: Any) -> None:
    """A uint32 array of `size` in `path` (.npy, memory-mapped: not held in memory),
    ``array[first column] = second column`` for the rows of a DuckDB `answer`."""
    tmp = path.with_name(f"{layout.TMP_PREFIX}{path.name}")
    array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint32, shape=(size,))
    array[:] = empty
    for batch in answer.to_arrow_reader(1 << 20):
        array[batch.column(0).to_numpy()] = batch.column(1).to_numpy()
    array.flush()
    del array
    os.replace(tmp, path)


def _edge_shards(pool: Workers, sources: list[str], work: Path, state: _State,
                 job: GraphImport, summary: ImportSummary, report: Report) -> bool:
    """Step 4: the shards not done yet (at most ``max_chunks`` of them); finished?"""
    done: dict[str, Any] = state["edge_shards"] or {}
    summary.resumed_from = sum(shard["edges"] for shard in done.values())
    if not state["edges_finished"]:
        todo = tasks_in(done, len(sources))[:job.max_chunks]
        tasks = [EdgeTask(k, sources[k], str(work), job.chunk_edges) for k in todo]
        for result in pool.run(edge_shard, tasks):
            done[str(result["index"])] = result
            state.set(edge_shards=done)
            report(f"edges: {len(done)} of {len(sources)} shards")
            _check_order(done, len(sources))
        if len(done) == len(sources):
            state.set(edges_finished=True)
    summary.shards_done = len(done)
    summary.host_edges = sum(shard["edges"] for shard in done.values())
    return bool(state["edges_finished"])


def _check_order(done: dict[str, Any], count: int) -> None:
    """Each shard's first link after the last link of the shard before (as far as the
    shards are done in order)."""
    previous: dict[str, Any] | None = None
    for k in range(count):
        shard = done.get(str(k))
        if shard is None:
            return
        if shard["first"] is None:
            continue
        if previous is not None and shard["first"] <= previous["last"]:
            (src, dst), (before_src, before_dst) = shard["first"], previous["last"]
            problem = "the same edge twice" if shard["first"] == previous["last"] else \
                f"after {before_src}\t{before_dst}: not sorted"
            raise GraphFileError(f"edges file {shard['name']} line 1: {src}\t{dst}: {problem} "
                                 f"({before_src}\t{before_dst} is the last of "
                                 f"{previous['name']}; shards continue each other's order)")
        previous = shard


def _reduce(target: Path, work: Path, state: _State, buckets: int, report: Report) -> int:
    """Step 5; the domain pairs stored. A group of buckets is made unique and given
    the linking names at once (one read of the vertices), then each bucket sorted."""
    runs = f"read_parquet('{work / 'runs'}/shard-*.parquet')"
    have_runs = any((work / "runs").glob("shard-*.parquet"))
    reduced: dict[str, int] = state["reduced"] or {}
    con = _duckdb(work)
    try:
        rows = dict(con.sql(f"SELECT bucket, count(*) FROM {runs} GROUP BY bucket")
                    .fetchall()) if have_runs else {}
        for group in _groups([b for b in range(buckets) if str(b) not in reduced], rows):
            joined = work / "joined"
            shutil.rmtree(joined, ignore_errors=True)
            if any(rows.get(b) for b in group):
                con.execute(f"""
                    COPY (
                        SELECT e.bucket, e.dst_id, v.domain AS src_domain,
                               v.cc_harmonic_pos AS src_harmonic_pos, v.cc_pr_pos AS src_pr_pos
                        FROM (SELECT DISTINCT bucket, dst_id, src_id FROM {runs}
                              WHERE bucket IN ({', '.join(map(str, group))})) AS e
                        JOIN read_parquet('{target / 'vertices.parquet'}') AS v
                          ON v.id = e.src_id
                    ) TO '{joined}' (FORMAT parquet, PARTITION_BY (bucket),
                                     COMPRESSION zstd)""")
            for bucket in group:
                part = joined / f"bucket={bucket}"
                source = (f"SELECT {', '.join(CC_LINKS.names)} FROM "
                          f"read_parquet('{part}/*.parquet')" if part.is_dir() else
                          "SELECT " + ", ".join(f"CAST(NULL AS {t}) AS {n}" for n, t in (
                              ("dst_id", "UBIGINT"), ("src_domain", "VARCHAR"),
                              ("src_harmonic_pos", "UBIGINT"), ("src_pr_pos", "UBIGINT")))
                          + " WHERE false")
                final = target / "links" / f"bucket={bucket}" / "data.parquet"
                with layout.atomic_path(final) as tmp:
                    written = con.execute(
                        f"COPY ({source} ORDER BY dst_id, src_domain) TO '{tmp}' "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
                    ).fetchall()[0][0]
                reduced[str(bucket)] = int(written)
                state.set(reduced=reduced)
                report(f"bucket {len(reduced)} of {buckets} sorted")
            shutil.rmtree(joined, ignore_errors=True)
    finally:
        con.close()
    return sum(reduced.values())


def _groups(buckets: list[int], rows: dict[int, int]) -> list[list[int]]:
    """Consecutive buckets in groups of at most GROUP_ROWS rows (one bucket at least)."""
    groups: list[list[int]] = []
    size = 0
    for bucket in buckets:
        if not groups or size + rows.get(bucket, 0) > GROUP_ROWS:
            groups.append([])
            size = 0
        groups[-1].append(bucket)
        size += rows.get(bucket, 0)
    return groups
