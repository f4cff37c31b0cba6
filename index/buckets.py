"""The build's SQL over edges: map one raw part into per-bucket runs; reduce one bucket.

    map:     raw/<crawl>/edges/<part>.parquet ─► stage/edges/bucket=<n>/<crawl>/<part>.<k>.parquet
    reduce:  index/<previous>/edges/bucket=<n>/ + new runs ─► summary (domain pairs, hosts,
             counts) ─► (ranks) ─► index/<new>/edges/bucket=<n>/data_0.parquet

Each task reads and writes only its own part or bucket (plus small global tables), so
any number of processes or pods can run them, and a killed one is rerun.

The merge is the full build's aggregation made incremental. Per distinct link (src_url,
dst_url, kind, anchor): first_seen = min, last_seen = max, the other columns from the
latest sighting (latest fetch, then lowest ordinal, then greater crawl id). Its life is
a list of spans (docs/history.md): runs of consecutive fetches of its page on which it
counted, each lost at the next fetch of the page, with that fetch's reason; live = the
latest span is not lost. A previous row is one pre-aggregated sighting set with its
spans: its latest sighting is (last_seen, ordinal, last_seen_crawl); its open span goes
on if the page's first new fetch counted it, and else ends there. New fetches are
always later than the ones the previous generation holds (index.plan builds in full
otherwise), so spans only ever grow at the end.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from core import layout
from core.schema import EDGES, INDEX_EDGES, KINDS_COUNTED_ALWAYS
from index import part_checks, restamp, stage
from index.compact import (
    CREDITED_SQL,
    EDGE_FILE,
    EDGE_ORDER,
    EDGES_DIR,
    LOOKUP_ROW_GROUP_SIZE,
    SUMMARY_DIR,
    SUMMARY_FILES,
    TABLES,
    columns_ddl,
    connect,
    copy_table,
    crawl_ranks,
    raw_view,
    sql_literal,
    summaries,
    write_credits,
)
from index.part_checks import PartProblem, check_part, first_line
from index.ranks import compute_domain_ranks, compute_domain_trust, compute_page_ranks

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

_RECENCY = """epoch_ms({t}.fetched_at)::HUGEINT * 4611686018427387904
             + (2147483647 - {t}.ordinal)::HUGEINT * 1073741824
             + c.rank"""

# Every sighting in the new runs, with its fetch (the stage's fetches.parquet: the ones
# this build adds) and whether the link counted on it (core.schema.FETCH_OUTCOMES).
# recency packs (ms << 62 | ~ordinal << 30 | crawl rank) into one HUGEINT so that
# arg_max compares integers.
_SIGHTINGS = """
CREATE TEMP TABLE sighting AS
SELECT e.*,
       epoch_ms(e.fetched_at) AS fetched_ms,
       """ + _RECENCY.format(t="e") + """ AS recency,
       f.seq, f.new_rank,
       f.seq IS NOT NULL AND (e.kind IN ({always}) OR f.outcome = 'ok') AS counted
FROM runs AS e
JOIN crawl AS c ON c.crawl_id = e.crawl_id
LEFT JOIN read_parquet($fetches) AS f
  ON f.url = e.src_url AND f.crawl_id = e.crawl_id AND f.fetched_at = e.fetched_at
""".replace("{always}", ", ".join(f"'{kind}'" for kind in KINDS_COUNTED_ALWAYS))

# A previous row's sightings on fetches that build did not know (`unplaced`: its page's
# row came after its links', a build ran while a writer was between the two parts):
# replayed as sightings of the new runs, so that they count on those fetches as in a
# full build. No recency: the row's latest sighting is known already.
_REPLAYED = """
INSERT INTO sighting BY NAME
SELECT o.src_url, o.src_host, o.src_domain, o.dst_url, o.dst_host, o.dst_domain,
       o.anchor, o.kind, o.alt, NOT o.sighting.follow AS nofollow, false AS ugc,
       false AS sponsored, o.position, o.ordinal, o.external,
       o.sighting.crawl_id AS crawl_id, o.sighting.fetched_at AS fetched_at,
       epoch_ms(o.sighting.fetched_at) AS fetched_ms, NULL AS recency,
       f.seq, f.new_rank,
       f.seq IS NOT NULL AND (o.kind IN ({always}) OR f.outcome = 'ok') AS counted
FROM (SELECT *, unnest(unplaced) AS sighting FROM previous) AS o
LEFT JOIN read_parquet($fetches) AS f
  ON f.url = o.src_url AND f.crawl_id = o.sighting.crawl_id
 AND f.fetched_at = o.sighting.fetched_at
""".replace("{always}", ", ".join(f"'{kind}'" for kind in KINDS_COUNTED_ALWAYS))

# The new runs' sightings aggregated per link as a full build does, with what its
# spans need: when the fetches it counted on (seq) are consecutive, the usual case, it
# has one span and these aggregates say all of it; `unplaced`: sightings on fetches no
# build has read yet (_REPLAYED).
_FRESH_AGG = """
CREATE TEMP TABLE fresh_agg AS
SELECT src_url, dst_url, kind, anchor,
       min(fetched_ms) AS first_ms,
       max(fetched_ms) AS last_ms,
       max(recency) AS recency,
       arg_max({
           'src_host': src_host, 'src_domain': src_domain,
           'dst_host': dst_host, 'dst_domain': dst_domain,
           'alt': alt, 'nofollow': nofollow, 'ugc': ugc, 'sponsored': sponsored,
           'position': position, 'ordinal': ordinal, 'external': external,
           'last_seen_crawl': crawl_id
       }, recency) AS latest,
       count(*) FILTER (WHERE counted) AS n_counted,
       min(seq) FILTER (WHERE counted) AS min_seq,
       max(seq) FILTER (WHERE counted) AS max_seq,
       min(fetched_ms) FILTER (WHERE counted) AS found_ms,
       min(new_rank) FILTER (WHERE counted) AS first_rank,
       max(seq) FILTER (WHERE counted AND NOT (nofollow OR ugc OR sponsored)) AS last_follow,
       list({'crawl_id': crawl_id, 'fetched_at': fetched_at,
             'follow': NOT (nofollow OR ugc OR sponsored)}
            ORDER BY fetched_at, crawl_id, NOT (nofollow OR ugc OR sponsored))
           FILTER (WHERE seq IS NULL) AS unplaced
FROM sighting
GROUP BY src_url, dst_url, kind, anchor
"""

# The spans of the other links (counted on fetches with gaps between, or twice on one
# fetch), by gaps and islands: runs of consecutive fetches of the page (seq) on which it
# counted (docs/history.md). Per fetch, the link's first occurrence says its rel.
_GAPPED_SPANS = """
CREATE TEMP TABLE gapped_span AS
WITH gapped AS (
    SELECT src_url, dst_url, kind, anchor FROM fresh_agg
    WHERE n_counted <> max_seq - min_seq + 1
),
counted AS (
    SELECT s.src_url, s.dst_url, s.kind, s.anchor, s.seq,
           any_value(s.new_rank) AS new_rank, any_value(s.fetched_ms) AS ms,
           arg_min(NOT (s.nofollow OR s.ugc OR s.sponsored), s.ordinal) AS follow
    FROM sighting AS s
    SEMI JOIN gapped AS g
      ON g.src_url = s.src_url AND g.dst_url = s.dst_url
     AND g.kind = s.kind AND g.anchor = s.anchor
    WHERE s.counted
    GROUP BY s.src_url, s.dst_url, s.kind, s.anchor, s.seq
),
island AS (
    SELECT *, seq - row_number() OVER (PARTITION BY src_url, dst_url, kind, anchor
                                       ORDER BY seq) AS island
    FROM counted
),
marked AS (
    SELECT *, max(CASE WHEN follow THEN seq END)
                  OVER (PARTITION BY src_url, dst_url, kind, anchor, island) AS last_follow
    FROM island
),
span AS (
    SELECT src_url, dst_url, kind, anchor,
           min(ms) AS found_ms, min(new_rank) AS first_rank, max(seq) AS last_seq,
           bool_or(follow) AS any_follow,
           min(ms) FILTER (WHERE seq > coalesce(last_follow, -1)) AS nofollow_ms
    FROM marked
    GROUP BY src_url, dst_url, kind, anchor, island
)
SELECT s.src_url, s.dst_url, s.kind, s.anchor,
       list({'found_ms': s.found_ms, 'lost_ms': epoch_ms(f.fetched_at),
             'lost_reason': CASE f.outcome WHEN 'ok' THEN 'link_removed' ELSE f.outcome END,
             'lost_to': f.outcome_to, 'nofollow_ms': s.nofollow_ms,
             'first_rank': s.first_rank, 'any_follow': s.any_follow}
            ORDER BY s.found_ms) AS spans
FROM span AS s
LEFT JOIN read_parquet($fetches) AS f ON f.url = s.src_url AND f.seq = s.last_seq + 1
GROUP BY s.src_url, s.dst_url, s.kind, s.anchor
"""

# Each link of the new runs with its spans: one span from the aggregates when its
# fetches are consecutive (lost at the page's next fetch, if any; nofollow_ms: the fetch
# after its last followed sighting, or found_ms if none was followed), else the islands.
_FRESH = """
CREATE TEMP TABLE fresh AS
SELECT a.src_url, a.dst_url, a.kind, a.anchor, a.first_ms, a.last_ms, a.recency, a.latest,
       a.unplaced,
       CASE WHEN a.n_counted = 0 THEN NULL
            WHEN a.n_counted = a.max_seq - a.min_seq + 1 THEN [{
                'found_ms': a.found_ms, 'lost_ms': epoch_ms(lost.fetched_at),
                'lost_reason': CASE lost.outcome WHEN 'ok' THEN 'link_removed'
                                                 ELSE lost.outcome END,
                'lost_to': lost.outcome_to,
                'nofollow_ms': CASE WHEN a.last_follow = a.max_seq THEN NULL
                                    WHEN a.last_follow IS NULL THEN a.found_ms
                                    ELSE epoch_ms(unfollowed.fetched_at) END,
                'first_rank': a.first_rank, 'any_follow': a.last_follow IS NOT NULL}]
            ELSE g.spans
       END AS spans
FROM fresh_agg AS a
LEFT JOIN read_parquet($fetches) AS lost ON lost.url = a.src_url AND lost.seq = a.max_seq + 1
LEFT JOIN read_parquet($fetches) AS unfollowed
  ON unfollowed.url = a.src_url AND unfollowed.seq = a.last_follow + 1
LEFT JOIN gapped_span AS g
  ON g.src_url = a.src_url AND g.dst_url = a.dst_url AND g.kind = a.kind AND g.anchor = a.anchor
"""

_SPAN_MS = ("{{'found_ms': epoch_ms({p}found_at), 'lost_ms': epoch_ms({p}lost_at), "
            "'lost_reason': {p}lost_reason, 'lost_to': {p}lost_to, 'nofollow_ms': {nofollow}}}")

# The previous generation's rows as pre-aggregated sightings (see the module's doc), with
# their spans, and the first new fetch of their page (`changed`), if any.
_KEPT = """
CREATE TEMP VIEW kept AS
SELECT o.src_url, o.dst_url, o.kind, o.anchor,
       epoch_ms(o.first_seen) AS first_ms,
       epoch_ms(o.last_seen) AS last_ms,
       """ + _RECENCY.replace("{t}.fetched_at", "o.last_seen").replace("{t}", "o") + """
         AS recency,
       {
           'src_host': o.src_host, 'src_domain': o.src_domain,
           'dst_host': o.dst_host, 'dst_domain': o.dst_domain,
           'alt': o.alt, 'nofollow': o.nofollow, 'ugc': o.ugc, 'sponsored': o.sponsored,
           'position': o.position, 'ordinal': o.ordinal, 'external': o.external,
           'last_seen_crawl': o.last_seen_crawl
       } AS latest,
       CASE WHEN o.found_at IS NOT NULL THEN """ + _SPAN_MS.format(
           p="o.", nofollow="epoch_ms(o.nofollow_at)") + """ END AS span,
       list_transform(coalesce(o.past_spans, []),
                      lambda s: """ + _SPAN_MS.format(p="s.", nofollow="NULL::BIGINT") + """)
         AS past,
       epoch_ms(ch.fetched_at) AS next_ms, ch.outcome AS next_outcome,
       ch.outcome_to AS next_to
FROM previous AS o
JOIN crawl AS c ON c.crawl_id = o.last_seen_crawl
LEFT JOIN read_parquet($changed) AS ch ON ch.url = o.src_url
"""

# A view: the write pass sorts it straight into the file's table; the reduce pass keeps
# only the columns its summaries need (index.buckets.summarize_bucket). A previous
# row's open span goes on when its page's first new fetch starts a new span of the link,
# and else ends at that fetch; the new spans follow.
_MERGED = """
CREATE TEMP VIEW merged AS
WITH joined AS (
    SELECT coalesce(k.src_url, f.src_url) AS src_url,
           coalesce(k.dst_url, f.dst_url) AS dst_url,
           coalesce(k.kind, f.kind) AS kind,
           coalesce(k.anchor, f.anchor) AS anchor,
           least(k.first_ms, f.first_ms) AS first_ms,
           greatest(k.last_ms, f.last_ms) AS last_ms,
           CASE WHEN f.recency IS NULL OR k.recency >= f.recency THEN k.latest
                ELSE f.latest END AS latest,
           k.span, k.past, k.next_ms, k.next_outcome, k.next_to,
           k.span IS NOT NULL AND k.span.lost_ms IS NULL AS open,
           coalesce(f.spans[1].first_rank = 1, false) AS goes_on,
           list_transform(coalesce(f.spans, []),
                          lambda s: {'found_ms': s.found_ms, 'lost_ms': s.lost_ms,
                                'lost_reason': s.lost_reason, 'lost_to': s.lost_to,
                                'nofollow_ms': s.nofollow_ms}) AS new_spans,
           f.spans[1] AS first_new,
           f.unplaced
    FROM kept AS k
    FULL OUTER JOIN fresh AS f
      ON k.src_url = f.src_url AND k.dst_url = f.dst_url
     AND k.kind = f.kind AND k.anchor = f.anchor
),
spanned AS (
    SELECT *, list_concat(
        coalesce(past, []),
        CASE
            WHEN span IS NULL THEN []
            WHEN open AND goes_on THEN [{
                'found_ms': span.found_ms, 'lost_ms': first_new.lost_ms,
                'lost_reason': first_new.lost_reason, 'lost_to': first_new.lost_to,
                'nofollow_ms': CASE WHEN first_new.any_follow THEN first_new.nofollow_ms
                                    WHEN span.nofollow_ms IS NULL THEN first_new.found_ms
                                    ELSE span.nofollow_ms END}]
            WHEN open AND next_ms IS NOT NULL THEN [{
                'found_ms': span.found_ms, 'lost_ms': next_ms,
                'lost_reason': CASE next_outcome WHEN 'ok' THEN 'link_removed'
                                                 ELSE next_outcome END,
                'lost_to': next_to, 'nofollow_ms': span.nofollow_ms}]
            ELSE [span]
        END,
        CASE WHEN open AND goes_on THEN new_spans[2:] ELSE new_spans END
    ) AS spans
    FROM joined
),
latest_span AS (
    SELECT *, spans[-1] AS cur FROM spanned
)
SELECT src_url, dst_url, kind, anchor,
       epoch_ms(first_ms) AS first_seen, epoch_ms(last_ms) AS last_seen,
       coalesce(cur.found_ms IS NOT NULL AND cur.lost_ms IS NULL, false) AS live,
       epoch_ms(cur.found_ms) AS found_at, epoch_ms(cur.lost_ms) AS lost_at,
       cur.lost_reason AS lost_reason, cur.lost_to AS lost_to,
       epoch_ms(cur.nofollow_ms) AS nofollow_at,
       CASE WHEN len(spans) > 1 THEN list_transform(
           spans[1:len(spans) - 1],
           lambda s: {'found_at': epoch_ms(s.found_ms), 'lost_at': epoch_ms(s.lost_ms),
                 'lost_reason': s.lost_reason, 'lost_to': s.lost_to}) END AS past_spans,
       unplaced,
       unnest(latest)
FROM latest_span
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
       coalesce(pr.page_rank, 0.0) AS src_page_rank
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
    con.execute(_SIGHTINGS, {"fetches": fetches})
    old = previous_file(data, plan, bucket)
    if old is None:
        con.execute(f"CREATE TEMP TABLE previous ({columns_ddl(INDEX_EDGES)})")
    elif affected_only:  # a view takes no parameters: paths as quoted literals
        con.execute(_AFFECTED.replace("$old", sql_literal(str(old)))
                    .replace("$changed", changed))
    else:
        con.read_parquet(str(old)).create_view("previous")
    con.execute(_REPLAYED, {"fetches": fetches})
    con.execute(_FRESH_AGG)
    con.execute(_GAPPED_SPANS, {"fetches": fetches})
    con.execute(_FRESH, {"fetches": fetches})
    con.execute(_KEPT.replace("$changed", changed))
    con.execute(_MERGED)
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
        tmp = path.with_name(f"{layout.TMP_PREFIX}{path.name}")
        con.execute(f"COPY ({CREDITED_SQL}) TO $path (FORMAT parquet)",
                    {"path": str(tmp), "edges": str(edges), "buckets": plan.buckets,
                     "credits": str(stage.next_gen_dir(data) / TABLES["credits"][0])})
        os.replace(tmp, path)
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


def ranks_path(data: Path) -> Path:
    return stage.next_dir(data) / "ranks.parquet"


def source_ranks_path(data: Path) -> Path:
    """The page ranks of the crawled pages, by URL: the only ones stamped on edges (every
    source is a crawled page), pages-sized, joined by text, no hash per edge."""
    return stage.next_dir(data) / "source_ranks.parquet"


def page_ranks_path(data: Path) -> Path:
    """The new generation's page ranks: written by the ranks step, read by the writers."""
    return stage.next_gen_dir(data) / TABLES["page_ranks"][0]


def _write_page_ranks(con: duckdb.DuckDBPyConnection, data: Path, links: list[str],
                      pages: str) -> dict[str, Any]:
    """page_ranks.parquet of the new generation (index.ranks.compute_page_ranks) over
    the buckets' link summaries; every crawled page is a node, linked or not."""
    if links:
        con.read_parquet(links).create_view("url_link_files")
        con.execute("CREATE TEMP VIEW url_link AS "
                    "SELECT src_id AS src_url, dst_id AS dst_url FROM url_link_files")
    else:
        con.execute("CREATE TEMP TABLE url_link (src_url UBIGINT, dst_url UBIGINT)")
    con.execute("CREATE TEMP TABLE rank_url AS SELECT src_url AS url FROM url_link "
                "UNION SELECT dst_url FROM url_link "
                "UNION SELECT md5_number_lower(url) FROM read_parquet($pages)",
                {"pages": pages})
    run = compute_page_ranks(con, pages="rank_url", links="url_link")
    file, schema, order = TABLES["page_ranks"]
    con.execute(f"CREATE TEMP TABLE index_page_ranks ({columns_ddl(schema)})")
    con.execute("INSERT INTO index_page_ranks SELECT url, page_rank FROM page_rank")
    copy_table(con, "index_page_ranks", schema, page_ranks_path(data), order=order,
               row_group_size=LOOKUP_ROW_GROUP_SIZE)
    out = source_ranks_path(data)
    part = out.with_name(f"{layout.TMP_PREFIX}{out.name}")
    con.execute("COPY (SELECT p.url, r.page_rank FROM read_parquet($pages) AS p "
                "JOIN page_rank AS r ON r.url = md5_number_lower(p.url) ORDER BY p.url) "
                "TO $path (FORMAT parquet)", {"pages": pages, "path": str(part)})
    os.replace(part, out)
    return run.page_receipt()


def _moved(con: duckdb.DuckDBPyConnection, data: Path, plan: stage.Plan, new: Path,
           table: str, key: str, value: str, stamped: str | None = None) -> bool:
    """Whether a value of `new` differs from the previous generation's `table` for the
    same key: a stamped rank to change. A key new or gone needs no restamp: its edges
    are in buckets this build rewrites anyway (new runs, or lost rows). `stamped`: a
    file whose `url` column names the only keys stamped on edges (sources: crawled pages)."""
    if plan.previous is None:
        return True
    before = layout.generation_dir(data, plan.previous) / TABLES[table][0]
    if not before.exists():
        return True
    params = {"new": str(new), "old": str(before)}
    only = ""
    if stamped is not None:
        only = f" AND n.{key} IN (SELECT md5_number_lower(url) FROM read_parquet($stamped))"
        params["stamped"] = stamped
    (n,) = con.execute(
        f"SELECT count(*) FROM read_parquet($new) AS n "
        f"JOIN read_parquet($old) AS o ON o.{key} = n.{key} WHERE n.{value} <> o.{value}"
        + only, params).fetchone()
    return n > 0


def write_ranks(data: Path, plan: stage.Plan) -> bool:
    """Domain and page ranks of the new generation, from the bucket summaries and the
    pages (index.ranks); whether any rank differs from the previous generation's."""
    root = stage.next_dir(data)
    pairs = sorted(str(p) for p in (root / "summary").glob("bucket=*.pairs.parquet"))
    hosts = sorted(str(p) for p in (root / "summary").glob("bucket=*.hosts.parquet"))
    tmp = stage.spill_dir(data, plan, "ranks")
    con = connect(tmp, plan.threads, plan.memory_limit)
    try:
        summaries(con, pairs, hosts)
        pages = str(stage.next_gen_dir(data) / "pages.parquet")
        con.execute("CREATE TEMP TABLE rank_domain AS SELECT domain FROM bucket_hosts "
                    "UNION SELECT domain FROM read_parquet($pages)", {"pages": pages})
        con.execute("CREATE TEMP VIEW rank_link AS "
                    "SELECT src_domain, dst_domain FROM domain_pair WHERE dofollow_links > 0")
        run = compute_domain_ranks(con, domains="rank_domain", links="rank_link")
        receipts = {"domain_rank": run.receipt(), "domain_trust": None}
        trust = "CAST(NULL AS DOUBLE)"
        if plan.trust_seeds:
            con.execute("CREATE TEMP TABLE trust_seed AS SELECT unnest($seeds) AS domain",
                        {"seeds": plan.trust_seeds})
            trusted = compute_domain_trust(con, domains="rank_domain", links="rank_link",
                                           seeds="trust_seed")
            receipts["domain_trust"] = trusted.trust_receipt(plan.trust_seeds)
            trust = "(SELECT t.domain_trust FROM domain_trust AS t WHERE t.domain = r.domain)"
        out = ranks_path(data)
        part = out.with_name(f"{layout.TMP_PREFIX}{out.name}")
        con.execute(f"COPY (SELECT r.domain, r.domain_rank, {trust} AS domain_trust "
                    "FROM domain_rank AS r ORDER BY r.domain) "
                    "TO $path (FORMAT parquet)", {"path": str(part)})
        os.replace(part, out)
        con.execute("CREATE TEMP TABLE every_host AS SELECT host, domain FROM bucket_hosts "
                    "UNION SELECT host, domain FROM read_parquet($pages)", {"pages": pages})
        write_credits(con, stage.next_gen_dir(data), "every_host")
        links = sorted(str(p) for p in (root / "summary").glob("bucket=*.links.parquet"))
        receipts["page_rank"] = _write_page_ranks(con, data, links, pages)
        moved = _moved(con, data, plan, out, "domains", "domain", "domain_rank")
        moved = _moved(con, data, plan, page_ranks_path(data), "page_ranks", "url_id",
                       "page_rank", stamped=pages) or moved
        layout.write_json(root / "ranks.json", {"moved": moved, **receipts})
        return moved
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
