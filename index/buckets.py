"""The build's SQL over edges: map one raw part into per-bucket runs; reduce one bucket.

    map:     raw/<crawl>/edges/<part>.parquet ─► stage/edges/bucket=<n>/<crawl>/<part>.<k>.parquet
    reduce:  index/<previous>/edges/bucket=<n>/ + new runs ─► summary (domain pairs, hosts,
             counts) ─► (ranks) ─► index/<new>/edges/bucket=<n>/data_0.parquet

Each task reads and writes only its own part or bucket (plus small global tables), so
any number of processes or pods can run them, and a killed one is rerun.

The merge (index.spans) is the full build's aggregation made incremental: one row per
distinct link with its life as spans (docs/history.md).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from core import layout
from core.schema import EDGES, INDEX_EDGES
from index import part_checks, restamp, spans, stage
from index.compact import (
    CREDITED_SQL,
    EDGE_FILE,
    EDGE_ORDER,
    EDGES_DIR,
    SUMMARY_DIR,
    SUMMARY_FILES,
    TABLES,
    columns_ddl,
    connect,
    copy_table,
    crawl_ranks,
    raw_view,
    sql_literal,
)
from index.part_checks import PartProblem, check_part, first_line
from index.rank_step import ranks_path, source_ranks_path

# The first 32 bits of md5(dst_domain), as layout.bucket_of: computed once per target
# domain and joined (md5 per edge cost twice as much CPU: bench/RESULTS.md).
_BUCKET_OF_DOMAIN = """
CREATE TEMP TABLE domain_bucket AS
SELECT dst_domain, (('0x' || substr(md5(dst_domain), 1, 8))::UBIGINT % $n)::UINTEGER AS bucket
FROM (SELECT DISTINCT dst_domain FROM part)
"""

_MAP_STATS = """
SELECT crawl_id, count(*), epoch_ms(min(fetched_at)), epoch_ms(max(fetched_at))
FROM part GROUP BY crawl_id ORDER BY crawl_id
"""

# Live external links per (linking, linked) domain pair, and how many are dofollow (no
# nofollow, ugc or sponsored: queries' is_dofollow, the links that pass credit):
# domain totals and the graph of domain ranks start here. dst_domain decides the
# bucket, so buckets never share a pair. Counts, not flags, so that an incremental build
# can take the previous rows' share out and put the new rows' in.
_PAIRS = """
SELECT src_domain, dst_domain, count(*) AS links,
       count(*) FILTER (NOT (nofollow OR ugc OR sponsored)) AS dofollow_links
FROM {facts} WHERE live AND external
GROUP BY src_domain, dst_domain
"""

# An incremental bucket's pairs: the previous generation's, less the rows this build
# changes as they were, plus the same rows as they are now.
_PAIRS_INCREMENTAL = """
SELECT src_domain, dst_domain, sum(links)::BIGINT AS links,
       sum(dofollow_links)::BIGINT AS dofollow_links
FROM (
    SELECT * FROM read_parquet($before)
    UNION ALL
    SELECT src_domain, dst_domain, -links, -dofollow_links FROM (""" + _PAIRS.replace(
    "{facts}", "old_facts") + """)
    UNION ALL
    SELECT * FROM (""" + _PAIRS.replace("{facts}", "facts") + """)
)
GROUP BY src_domain, dst_domain
HAVING sum(links) > 0
"""

_HOSTS = """
SELECT src_host AS host, src_domain AS domain FROM facts
UNION
SELECT dst_host, dst_domain FROM facts
"""

_HOSTS_INCREMENTAL = _HOSTS + """
UNION
SELECT host, domain FROM read_parquet($before)
"""

_FACTS = ("src_domain, dst_domain, src_host, dst_host, src_url, dst_url, live, external, "
          "nofollow, ugc, sponsored")

# Live dofollow links per (linking, linked) URL pair, internal ones included: the graph
# of page ranks (index.ranks.compute_page_ranks), each URL by its number (core.layout.
# url_id: kept per bucket, the pairs as text cost 29 bytes per edge, bench/RESULTS.md).
# dst_url decides the bucket (through its domain), so buckets never share a pair.
_LINKS = """
WITH pair AS (
    SELECT src_url, dst_url, count(*) AS links
    FROM {facts} WHERE live AND NOT (nofollow OR ugc OR sponsored)
    GROUP BY src_url, dst_url
),
src AS (SELECT DISTINCT src_url AS url FROM pair),
dst AS (SELECT DISTINCT dst_url AS url FROM pair),
src_id AS (SELECT url, md5_number_lower(url) AS id FROM src),
dst_id AS (SELECT url, md5_number_lower(url) AS id FROM dst)
SELECT s.id AS src_id, d.id AS dst_id, pair.links
FROM pair
JOIN src_id AS s ON s.url = pair.src_url
JOIN dst_id AS d ON d.url = pair.dst_url
"""

_LINKS_INCREMENTAL = """
SELECT src_id, dst_id, sum(links)::BIGINT AS links
FROM (
    SELECT * FROM read_parquet($before)
    UNION ALL
    SELECT src_id, dst_id, -links FROM (""" + _LINKS.replace("{facts}", "old_facts") + """)
    UNION ALL
    SELECT * FROM (""" + _LINKS.replace("{facts}", "facts") + """)
)
GROUP BY src_id, dst_id
HAVING sum(links) > 0
"""

_RANKED = """
SELECT m.*, coalesce(r.domain_rank, 0.0) AS src_domain_rank,
       coalesce(pr.page_rank, 0.0) AS src_page_rank,
       pr.n_external_links AS src_external_links, pr.ip AS src_ip, pr.lang AS src_lang
FROM merged AS m
LEFT JOIN read_parquet($ranks) AS r ON r.domain = m.src_domain
LEFT JOIN read_parquet($page_ranks) AS pr ON pr.url = m.src_url
"""


# ---------------------------------------------------------------------------
# Map
# ---------------------------------------------------------------------------


def map_part(data: Path, rel: str, size: int, mtime_ns: int, buckets: int,
             *, threads: int | None = None, memory_limit: str | None = None) -> dict[str, Any]:
    """Split one raw edges part into per-bucket runs; record it as mapped, last.

    A part DuckDB cannot read is recorded as skipped, with the reason."""
    record: dict[str, Any] = {"path": rel, "size": size, "mtime_ns": mtime_ns}
    try:  # read whole, once: its footer alone was checked by the plan
        part_checks.read_part(data / rel, "edges", check_part(data / rel, "edges"))
    except PartProblem as problem:
        record.update(skipped=str(problem), runs={}, rows=0, crawls=[])
        layout.write_json(stage.map_record_path(data, rel), record)
        return record
    tmp_root = stage.stage_root(data) / f"{layout.TMP_PREFIX}map-{os.getpid()}"
    tmp_root.mkdir(parents=True, exist_ok=True)
    con = connect(tmp_root, threads, memory_limit)
    try:
        # Read twice (target domains, then the rows), not loaded: reading a part is
        # cheaper than holding it. Runs are not sorted: reduce sorts the bucket anyway
        # (sorting here cost a quarter of map: bench/RESULTS.md, "build").
        raw_view(con, "edges", [str(data / rel)], name="part")
        con.execute(_BUCKET_OF_DOMAIN, {"n": buckets})
        stats = con.execute(_MAP_STATS).fetchall()
        out = tmp_root / "runs"
        columns = ", ".join(f"p.{name}" for name in EDGES.names)
        con.execute(
            f"COPY (SELECT {columns}, b.bucket FROM part AS p "
            "JOIN domain_bucket AS b ON b.dst_domain = p.dst_domain) "
            "TO $out (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (bucket), "
            "FILENAME_PATTERN 'run', OVERWRITE_OR_IGNORE true)",
            {"out": str(out)},
        )
    except duckdb.Error as exc:
        record["skipped"] = f"DuckDB cannot read it ({first_line(exc)})"
        stats = []
    finally:
        con.close()
    runs: dict[str, list[str]] = {}
    if "skipped" not in record:
        for folder in sorted(out.glob("bucket=*")):
            bucket = int(folder.name.split("=", 1)[1])
            for file in sorted(folder.glob("*.parquet")):
                final = stage.run_path(data, rel, bucket, file.name)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(file, final)
                runs.setdefault(str(bucket), []).append(file.name)
    shutil.rmtree(tmp_root, ignore_errors=True)
    record["runs"] = runs
    record["rows"] = sum(n for _, n, _, _ in stats)
    record["crawls"] = [{"crawl_id": cid, "edges": n, "first_fetch_ms": first,
                         "last_fetch_ms": last} for cid, n, first, last in stats]
    layout.write_json(stage.map_record_path(data, rel), record)
    return record


# ---------------------------------------------------------------------------
# Reduce
# ---------------------------------------------------------------------------


def previous_file(data: Path, plan: stage.Plan, bucket: int) -> Path | None:
    if plan.previous is None:
        return None
    path = layout.generation_dir(data, plan.previous) / EDGES_DIR / f"bucket={bucket}" / EDGE_FILE
    return path if path.exists() else None


def new_runs(data: Path, plan: stage.Plan, bucket: int) -> list[Path]:
    runs = []
    for rel in plan.new_edges:
        runs += stage.runs_of(data, stage.read_json(stage.map_record_path(data, rel)) or {}, bucket)
    return runs


# The previous rows this build can change: links seen again (in the new runs) and links
# of pages fetched again. The write pass merges only these and streams the rest.
_AFFECTED = """
CREATE TEMP VIEW previous AS
SELECT p.* FROM read_parquet($old) AS p
WHERE EXISTS (SELECT 1 FROM sighting AS f
              WHERE f.src_url = p.src_url AND f.dst_url = p.dst_url
                AND f.kind = p.kind AND f.anchor = p.anchor)
   OR EXISTS (SELECT 1 FROM read_parquet($changed) AS c WHERE c.url = p.src_url)
"""


def _open_bucket(data: Path, plan: stage.Plan, bucket: int, crawls: list[str],
                 *, affected_only: bool = False) -> tuple[duckdb.DuckDBPyConnection, bool]:
    """A connection with TEMP VIEW merged: the bucket's rows in the new generation
    (without ranks), or only those this build changes (`affected_only`). Also whether
    the bucket has new runs."""
    con = connect(stage.spill_dir(data, plan, str(bucket)), plan.threads, plan.memory_limit)
    crawl_ranks(con, crawls)
    runs = new_runs(data, plan, bucket)
    raw_view(con, "edges", [str(p) for p in runs], name="runs")
    fetches = str(stage.next_dir(data) / "fetches.parquet")
    changed = sql_literal(str(stage.next_dir(data) / "changed.parquet"))
    con.execute(spans.SIGHTINGS, {"fetches": fetches})
    old = previous_file(data, plan, bucket)
    if old is None:
        con.execute(f"CREATE TEMP TABLE previous ({columns_ddl(INDEX_EDGES)})")
    elif affected_only:  # a view takes no parameters: paths as quoted literals
        con.execute(_AFFECTED.replace("$old", sql_literal(str(old)))
                    .replace("$changed", changed))
    else:
        con.read_parquet(str(old)).create_view("previous")
    con.execute(spans.REPLAYED, {"fetches": fetches})
    con.execute(spans.FRESH_AGG)
    con.execute(spans.GAPPED_SPANS, {"fetches": fetches})
    con.execute(spans.FRESH, {"fetches": fetches})
    con.execute(spans.KEPT.replace("$changed", changed))
    con.execute(spans.MERGED)
    return con, bool(runs)


def previous_summary(data: Path, plan: stage.Plan, bucket: int, suffix: str) -> Path | None:
    """A summary file the previous generation kept for `bucket`, if any."""
    if plan.previous is None:
        return None
    path = layout.generation_dir(data, plan.previous) / SUMMARY_DIR / f"bucket={bucket}{suffix}"
    return path if path.exists() else None


def summarize_bucket(data: Path, plan: stage.Plan, bucket: int, crawls: list[str]) -> None:
    """Reduce, first pass: the bucket's domain pairs, hosts and counts, and whether it
    can be reused as it is. Incremental when the previous generation kept its summary:
    then only the rows this build changes are merged (the delta, kept for the write)."""
    before = {suffix: previous_summary(data, plan, bucket, suffix) for suffix in SUMMARY_FILES}
    incremental = all(before.values()) and previous_file(data, plan, bucket) is not None
    con, has_runs = _open_bucket(data, plan, bucket, crawls, affected_only=incremental)
    try:
        if incremental:
            delta = stage.summary_path(data, bucket, ".delta.parquet")
            delta.parent.mkdir(parents=True, exist_ok=True)
            part = delta.with_name(f"{layout.TMP_PREFIX}{delta.name}")
            con.execute(f"COPY (SELECT * FROM merged ORDER BY {', '.join(EDGE_ORDER)}) "
                        "TO $path (FORMAT parquet)", {"path": str(part)})
            os.replace(part, delta)
            con.execute(f"CREATE TEMP TABLE facts AS SELECT {_FACTS} FROM read_parquet($p)",
                        {"p": str(delta)})
            con.execute(f"CREATE TEMP TABLE old_facts AS SELECT {_FACTS} FROM previous")
            queries = {".pairs.parquet": _PAIRS_INCREMENTAL, ".hosts.parquet": _HOSTS_INCREMENTAL,
                       ".links.parquet": _LINKS_INCREMENTAL}
        else:
            con.execute(f"CREATE TEMP TABLE facts AS SELECT {_FACTS} FROM merged")
            queries = {".pairs.parquet": _PAIRS.replace("{facts}", "facts"),
                       ".hosts.parquet": _HOSTS,
                       ".links.parquet": _LINKS.replace("{facts}", "facts")}
        for suffix, sql in queries.items():
            path = stage.summary_path(data, bucket, suffix)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{layout.TMP_PREFIX}{path.name}")
            params = {"path": str(tmp)}
            if incremental:
                params["before"] = str(before[suffix])
            con.execute(f"COPY ({sql}) TO $path (FORMAT parquet, COMPRESSION zstd)", params)
            os.replace(tmp, path)
        (edges, live) = con.execute(
            "SELECT count(*), count(*) FILTER (live) FROM facts").fetchone()
        changed_rows = 0
        if incremental:
            kept = stage.read_json(before[".json"]) or {}
            (changed_rows, changed_live) = con.execute(
                "SELECT count(*), count(*) FILTER (live) FROM old_facts").fetchone()
            edges += kept["edges"] - changed_rows
            live += kept["live_edges"] - changed_live
        reusable = incremental and not has_runs and changed_rows == 0
        layout.write_json(stage.summary_path(data, bucket, ".json"),
                          {"edges": edges, "live_edges": live, "reusable": reusable})
    finally:
        con.close()
        shutil.rmtree(stage.spill_dir(data, plan, str(bucket)), ignore_errors=True)


def write_bucket(data: Path, plan: stage.Plan, bucket: int, crawls: list[str],
                 ranks_moved: bool) -> None:
    """Reduce, second pass: the bucket's file of the new generation, sorted, each edge
    with its source's domain rank; the previous file itself when nothing changed."""
    out = stage.next_gen_dir(data) / EDGES_DIR / f"bucket={bucket}" / EDGE_FILE
    if not out.exists():  # else written whole by a task before (files appear only whole)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_bucket(data, plan, bucket, crawls, ranks_moved, out)
    _write_credited(data, plan, bucket, out)
    # Its runs are in the file now: freeing them as buckets are written keeps the peak
    # disk near the new index's size (a new plan remaps the parts of a build killed
    # after this point: index.plan).
    for path in new_runs(data, plan, bucket):
        path.unlink(missing_ok=True)


def credited_path(data: Path, bucket: int) -> Path:
    return stage.summary_path(data, bucket, ".credited.parquet")


def _write_credited(data: Path, plan: stage.Plan, bucket: int, edges: Path) -> None:
    """The bucket's links to URLs that moved, as they count where they went (CREDITED_SQL),
    for the commit to gather: every bucket, reused ones too, since credits follow the
    latest fetch of each URL."""
    path = credited_path(data, bucket)
    if path.exists():
        return
    con = connect(stage.spill_dir(data, plan, f"credited-{bucket}"), plan.threads,
                  plan.memory_limit)
    try:
        with layout.atomic_path(path) as tmp:
            con.execute(f"COPY ({CREDITED_SQL}) TO $path (FORMAT parquet)",
                        {"path": str(tmp), "edges": str(edges), "buckets": plan.buckets,
                         "credits": str(stage.next_gen_dir(data) / TABLES["credits"][0])})
    finally:
        con.close()
        shutil.rmtree(stage.spill_dir(data, plan, f"credited-{bucket}"), ignore_errors=True)


def _write_bucket(data: Path, plan: stage.Plan, bucket: int, crawls: list[str],
                  ranks_moved: bool, out: Path) -> None:
    summary = stage.read_json(stage.summary_path(data, bucket, ".json")) or {}
    old = previous_file(data, plan, bucket)
    if summary.get("reusable") and not ranks_moved and old is not None:
        out.unlink(missing_ok=True)
        try:
            os.link(old, out)  # the same bytes, no copy: generations never modify files
        except OSError:
            shutil.copyfile(old, out)
        return
    ranks = str(ranks_path(data))
    page_ranks = str(source_ranks_path(data))
    kept_delta = stage.summary_path(data, bucket, ".delta.parquet")
    if old is not None and kept_delta.exists():  # stream the rest (index.restamp)
        con = connect(stage.spill_dir(data, plan, str(bucket)), plan.threads, plan.memory_limit)
        try:
            con.execute("CREATE TEMP VIEW merged AS SELECT * FROM read_parquet("
                        f"{sql_literal(str(kept_delta))})")
            delta = con.sql(
                f"SELECT {', '.join(INDEX_EDGES.names)} FROM ({_RANKED}) "
                f"ORDER BY {', '.join(EDGE_ORDER)}",
                params={"ranks": ranks, "page_ranks": page_ranks}).to_arrow_table()
        finally:
            con.close()
        if restamp.streamable(old, delta):
            try:
                restamp.stream_bucket(old, delta, ranks_path(data), source_ranks_path(data),
                                      out, plan.row_group_size)
                return
            except restamp.NotStreamable:
                pass  # merged by SQL below
            finally:
                shutil.rmtree(stage.spill_dir(data, plan, str(bucket)), ignore_errors=True)
    con, _ = _open_bucket(data, plan, bucket, crawls)
    try:
        # Declared from the schema (NOT NULLs included), so the file carries its types;
        # filled in sorted order and written in that order.
        con.execute(f"CREATE TEMP TABLE ranked ({columns_ddl(INDEX_EDGES)})")
        con.execute(f"INSERT INTO ranked BY NAME {_RANKED} ORDER BY {', '.join(EDGE_ORDER)}",
                    {"ranks": ranks, "page_ranks": page_ranks})
        copy_table(con, "ranked", INDEX_EDGES, out, order=None, kind="index_edges",
                   row_group_size=plan.row_group_size)
    finally:
        con.close()
        shutil.rmtree(stage.spill_dir(data, plan, str(bucket)), ignore_errors=True)
