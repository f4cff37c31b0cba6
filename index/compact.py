"""The SQL of the build: raw parts in, index table files out, in one DuckDB connection.

raw_pages and raw_edges are views of the usable raw parts with exactly the schema's
columns; index_* are TEMP tables declared from core.schema, so the files written
from them carry its types and NOT NULLs. One statement per purpose.

Determinism: every choice among rows has a total order (ties broken down to the
crawl id), every file is sorted on a unique key, and domain ranks are summed in fixed
point (index.ranks), so the same inputs give the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.layout import parquet_metadata
from core.schema import (
    BUILT_EDGE_COLUMNS,
    DUCKDB_TYPES,
    INDEX_DOMAINS,
    INDEX_EDGES,
    INDEX_HOSTS,
    INDEX_PAGES,
    PAGES,
    RAW_TABLES,
    TRUNCATED,
    unfetched_sql,
)
from index.part_checks import PartInfo
from index.ranks import compute_domain_ranks

# Edge files: a per-target query decodes every row group holding the target's rows, so
# the group size is the floor of its cost. 25k rows against 100k: overview of a median
# target at 100M edges 52 → 35-45 ms, for 2-6% more bytes (bench/RESULTS.md, "index").
ROW_GROUP_SIZE = 25_000
# pages, hosts and domains are looked up by key (a target's rank, its crawled pages, the
# ranks of its referring domains): small row groups let DuckDB read only the groups
# whose min/max can hold the keys, instead of an edge-sized group per lookup
# (bench/RESULTS.md).
LOOKUP_ROW_GROUP_SIZE = 4096
EDGES_PER_BUCKET = 4_000_000  # automatic bucket count: smallest power of two >= edges / this
MAX_AUTO_BUCKETS = 64
EDGES_DIR = "edges"
EDGE_FILE = "data_0.parquet"
EDGE_ORDER = ("dst_domain", "dst_url", "src_domain", "src_url", "kind", "anchor")
# Each index table but edges: file, schema, sort order (a unique key).
TABLES = {
    "pages": ("pages.parquet", INDEX_PAGES, "domain, url"),
    "hosts": ("hosts.parquet", INDEX_HOSTS, "host, domain"),
    "domains": ("domains.parquet", INDEX_DOMAINS, "domain"),
}


def choose_buckets(edges: int) -> int:
    """The smallest power of two >= edges / 4M, at most 64: small indexes get one bucket."""
    n = 1
    while n < MAX_AUTO_BUCKETS and n * EDGES_PER_BUCKET < edges:
        n *= 2
    return n


# One row per crawl: what the manifest reports, and a small integer rank (crawl ids
# in order) that breaks ties between crawls cheaply.
CRAWLS_SQL = """
CREATE TEMP TABLE crawl AS
WITH per_table AS (
    SELECT crawl_id, count(*) AS pages, 0 AS edges,
           min(fetched_at) AS first_fetch, max(fetched_at) AS last_fetch
    FROM raw_pages GROUP BY crawl_id
    UNION ALL
    SELECT crawl_id, 0, count(*), min(fetched_at), max(fetched_at)
    FROM raw_edges GROUP BY crawl_id
)
SELECT crawl_id,
       row_number() OVER (ORDER BY crawl_id) AS rank,
       sum(pages)::BIGINT AS pages,
       sum(edges)::BIGINT AS edges,
       epoch_ms(min(first_fetch)) AS first_fetch_ms,
       epoch_ms(max(last_fetch)) AS last_fetch_ms
FROM per_table
GROUP BY crawl_id
"""

# The fetch of each URL that says which links it has now: the latest one with a
# response below 500 whose processing did not fail. A 5xx, a network error (status
# NULL) or a response the extractor failed on (error "extract: ...", no links) says
# nothing about the links, so the fetch before stays authoritative; a 404 says they
# are gone. A page cut before parsing (error "truncated: ...", core/bounds.py) is a
# fetch: its links are what the page is known to link to. Ties go to the greater crawl id.
LATEST_FETCH_SQL = """
CREATE TEMP TABLE latest_fetch AS
SELECT url,
       max(fetched_at) AS fetched_at,
       arg_max(crawl_id, (fetched_at, crawl_id)) AS crawl_id
FROM raw_pages
WHERE status < 500 AND (error IS NULL OR split_part(error, ':', 1) = '""" + TRUNCATED + """')
GROUP BY url
"""

# One row per distinct (src_url, dst_url, kind, anchor). The other columns come from
# the latest occurrence: the latest fetch, then the first place on the page (lowest
# ordinal), then the greater crawl id; the three are packed into one HUGEINT
# (ms << 62 | ~ordinal << 30 | crawl rank) so that arg_max compares integers.
# live: some occurrence belongs to the latest fetch of its page (raw edges carry
# their page row's crawl_id and fetched_at). Times are aggregated as epoch ms and
# turned back into plain UTC timestamps: cheaper than casting each TIMESTAMPTZ
# through the time zone machinery. dst_hash: the first 32 bits of
# md5(dst_domain) as in layout.bucket_of, so bucket = dst_hash % N, computed once per
# target domain and joined (md5 per edge cost twice as much CPU: bench/RESULTS.md); not
# computed ($hashed false) when the index cannot need more than one bucket.
INDEX_EDGES_SQL = """
INSERT INTO index_edges BY NAME
WITH occurrence AS (
    SELECT e.*,
           epoch_ms(e.fetched_at) AS fetched_ms,
           epoch_ms(e.fetched_at)::HUGEINT * 4611686018427387904
             + (2147483647 - e.ordinal)::HUGEINT * 1073741824
             + c.rank AS recency,
           coalesce(e.crawl_id = f.crawl_id AND e.fetched_at = f.fetched_at, false)
             AS on_latest_fetch
    FROM raw_edges AS e
    JOIN crawl AS c ON c.crawl_id = e.crawl_id
    LEFT JOIN latest_fetch AS f ON f.url = e.src_url
),
edge AS (
    SELECT src_url, dst_url, kind, anchor,
           epoch_ms(min(fetched_ms)) AS first_seen,
           epoch_ms(max(fetched_ms)) AS last_seen,
           arg_max({
               'src_host': src_host, 'src_domain': src_domain,
               'dst_host': dst_host, 'dst_domain': dst_domain,
               'alt': alt, 'nofollow': nofollow, 'ugc': ugc, 'sponsored': sponsored,
               'position': position, 'ordinal': ordinal, 'external': external
           }, recency) AS latest,
           bool_or(on_latest_fetch) AS live
    FROM occurrence
    GROUP BY src_url, dst_url, kind, anchor
),
domain_hash AS (
    SELECT dst_domain, ('0x' || substr(md5(dst_domain), 1, 8))::UBIGINT AS dst_hash
    FROM (SELECT DISTINCT dst_domain FROM raw_edges WHERE $hashed)
)
SELECT src_url, dst_url, kind, anchor, first_seen, last_seen, live,
       unnest(latest),
       coalesce(h.dst_hash, 0) AS dst_hash
FROM edge
LEFT JOIN domain_hash AS h ON h.dst_domain = edge.latest.dst_domain
"""

# The latest row of each URL (ties: greater crawl id, packed with the time into one
# HUGEINT as above; a fetched row wins over a later unfetched one, see
# core.schema.UNFETCHED_ERROR_KINDS), with its first fetch and number of distinct fetches.
INDEX_PAGES_SQL = """
INSERT INTO index_pages BY NAME
SELECT unnest(latest), first_fetched, n_fetches
FROM (
    SELECT arg_max({{{page}}},
                   ((CASE WHEN {unfetched} THEN 0 ELSE 1 END)::HUGEINT << 100)
                   + epoch_ms(p.fetched_at)::HUGEINT * 1073741824 + c.rank) AS latest,
           min(p.fetched_at) AS first_fetched,
           count(DISTINCT (p.crawl_id, p.fetched_at))::INTEGER AS n_fetches
    FROM raw_pages AS p
    JOIN crawl AS c ON c.crawl_id = p.crawl_id
    GROUP BY p.url
)
"""

# Every host the index mentions, with its domain, so SQL can resolve a host target.
INDEX_HOSTS_SQL = """
INSERT INTO index_hosts
SELECT src_host, src_domain FROM index_edges
UNION
SELECT dst_host, dst_domain FROM index_edges
UNION
SELECT host, domain FROM index_pages
"""

# Live external links per (linking domain, linked domain) pair: the totals of
# index_domains and the graph of domain ranks (followed pairs) both start here.
DOMAIN_PAIR_SQL = """
CREATE TEMP TABLE domain_pair AS
SELECT src_domain, dst_domain,
       count(*) AS links,
       bool_or(NOT nofollow) AS followed
FROM index_edges
WHERE live AND external
GROUP BY src_domain, dst_domain
"""

# Totals per domain; domain_rank (index.ranks) holds every domain of index_hosts.
INDEX_DOMAINS_SQL = """
INSERT INTO index_domains BY NAME
WITH inbound AS (
    SELECT dst_domain AS domain, sum(links) AS backlinks, count(*) AS referring_domains
    FROM domain_pair GROUP BY dst_domain
),
outbound AS (
    SELECT src_domain AS domain, sum(links) AS outlinks, count(*) AS linked_domains
    FROM domain_pair GROUP BY src_domain
),
crawled AS (
    SELECT domain, count(*) AS pages_crawled FROM index_pages
    WHERE NOT {unfetched} GROUP BY domain
)
SELECT r.domain,
       coalesce(c.pages_crawled, 0) AS pages_crawled,
       coalesce(i.backlinks, 0) AS backlinks,
       coalesce(i.referring_domains, 0) AS referring_domains,
       coalesce(o.outlinks, 0) AS outlinks,
       coalesce(o.linked_domains, 0) AS linked_domains,
       r.domain_rank
FROM domain_rank AS r
LEFT JOIN crawled AS c ON c.domain = r.domain
LEFT JOIN inbound AS i ON i.domain = r.domain
LEFT JOIN outbound AS o ON o.domain = r.domain
"""

COUNTS_SQL = """
SELECT (SELECT count(*) FROM index_edges),
       (SELECT count(*) FROM index_edges WHERE live),
       (SELECT coalesce(sum(edges), 0)::BIGINT FROM crawl),
       (SELECT count(*) FROM index_pages),
       (SELECT count(*) FROM index_domains),
       (SELECT count(*) FROM index_hosts)
"""

COPY_SQL = """
COPY ({query}) TO $path (
    FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {row_group_size:d},
    TIMESTAMP_IS_ADJUSTED_TO_UTC true,
    KV_METADATA {{{metadata}}}
)
"""


def write_tables(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    usable: dict[str, dict[Path, PartInfo]],
    buckets: int | None,
    row_group_size: int,
) -> dict[str, Any]:
    """Run the build SQL over the usable parts and write every table file under `out`.

    Returns what the manifest reports: buckets, crawls and counts.
    """
    for table, parts in usable.items():
        schema = RAW_TABLES[table]
        if parts:
            # Matching columns by name costs a little; only when the parts differ.
            layouts = {info.columns for info in parts.values()}
            # The relational API writes the file list as a properly quoted literal.
            con.read_parquet(
                [str(p) for p in parts], union_by_name=len(layouts) > 1
            ).create_view(f"raw_{table}_files")
            con.execute(
                f"CREATE TEMP VIEW raw_{table} AS "
                f"SELECT {', '.join(schema.names)} FROM raw_{table}_files"
            )
        else:  # no part at all: an empty table of the right shape
            con.execute(f"CREATE TEMP TABLE raw_{table} ({_columns_ddl(schema, raw=True)})")
    edges_schema = pa.schema(
        [INDEX_EDGES.field(name) for name in BUILT_EDGE_COLUMNS]
        + [pa.field("dst_hash", pa.uint32(), nullable=False)]
    )
    con.execute(f"CREATE TEMP TABLE index_edges ({_columns_ddl(edges_schema)})")
    for table, (_, schema, _) in TABLES.items():
        con.execute(f"CREATE TEMP TABLE index_{table} ({_columns_ddl(schema)})")

    con.execute(CRAWLS_SQL)
    con.execute(LATEST_FETCH_SQL)
    # Bucket hashes are needed only if more than one bucket is possible.
    raw_edges = sum(info.rows for info in usable["edges"].values())
    hashed = (buckets or choose_buckets(raw_edges)) > 1
    con.execute(INDEX_EDGES_SQL, {"hashed": hashed})
    page_fields = ", ".join(f"'{name}': p.{name}" for name in PAGES.names)
    con.execute(INDEX_PAGES_SQL.format(page=page_fields, unfetched=unfetched_sql("p.error")))
    con.execute(INDEX_HOSTS_SQL)
    con.execute(DOMAIN_PAIR_SQL)
    con.execute(
        "CREATE TEMP VIEW rank_link AS "
        "SELECT src_domain, dst_domain FROM domain_pair WHERE followed"
    )
    compute_domain_ranks(con, domains="index_hosts", links="rank_link")
    con.execute(INDEX_DOMAINS_SQL.format(unfetched=unfetched_sql()))

    counts = dict(
        zip(
            ("edges", "live_edges", "raw_edges", "pages", "domains", "hosts"),
            _one(con, COUNTS_SQL),
            strict=True,
        )
    )
    n_buckets = buckets or choose_buckets(counts["edges"])
    assert hashed or n_buckets == 1  # distinct edges are never more than raw ones
    _write_edge_buckets(con, out, n_buckets, row_group_size)
    for table, (file, schema, order_by) in TABLES.items():
        _copy(
            con, f"index_{table}", schema, out / file, order=order_by,
            row_group_size=min(row_group_size, LOOKUP_ROW_GROUP_SIZE),
        )

    crawls = [
        {
            "crawl_id": crawl_id,
            "pages": pages,
            "edges": edges,
            "first_fetch": _iso_ms(first),
            "last_fetch": _iso_ms(last),
        }
        for crawl_id, pages, edges, first, last in con.execute(
            "SELECT crawl_id, pages, edges, first_fetch_ms, last_fetch_ms FROM crawl ORDER BY rank"
        ).fetchall()
    ]
    return {"buckets": n_buckets, "crawls": crawls, "counts": counts}


def _write_edge_buckets(
    con: duckdb.DuckDBPyConnection, out: Path, n_buckets: int, row_group_size: int
) -> None:
    """One file per bucket, each sorted on EDGE_ORDER, with each source's domain rank;
    every bucket gets a file, empty or not, so a query may name any bucket.

    All buckets come from one sort: the edges are stored once in (bucket, EDGE_ORDER)
    order, and each bucket's COPY reads only its own row groups (DuckDB skips the
    others by their min/max of `bucket`) in stored order. Sorting per bucket instead
    rescanned the whole table for every bucket: 32 scans of a spilled 100M-edge table
    (bench/RESULTS.md)."""
    # Declared from the schema (NOT NULLs included), filled in sorted order. Every
    # source domain is in domain_rank (it holds every domain of index_hosts); the
    # coalesce only keeps the NOT NULL true should that ever change.
    bucketed = INDEX_EDGES.append(pa.field("bucket", pa.uint32(), nullable=False))
    con.execute(f"CREATE TEMP TABLE bucketed_edges ({_columns_ddl(bucketed)})")
    con.execute(
        "INSERT INTO bucketed_edges BY NAME "
        "SELECT e.* EXCLUDE (dst_hash), "
        "       coalesce(r.domain_rank, 0.0) AS src_domain_rank, "
        "       (e.dst_hash % $n)::UINTEGER AS bucket "
        "FROM index_edges AS e LEFT JOIN domain_rank AS r ON r.domain = e.src_domain "
        f"ORDER BY bucket, {', '.join(f'e.{c}' for c in EDGE_ORDER)}",
        {"n": n_buckets},
    )
    con.execute("DROP TABLE index_edges")
    for bucket in range(n_buckets):
        _copy(con, "bucketed_edges", INDEX_EDGES,
              out / EDGES_DIR / f"bucket={bucket}" / EDGE_FILE, order=None, kind="index_edges",
              where=f"bucket = {bucket:d}", row_group_size=row_group_size)


def _copy(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: pa.Schema,
    path: Path,
    *,
    order: str | None,
    row_group_size: int,
    where: str | None = None,
    kind: str | None = None,
) -> None:
    """Write the schema's columns of one table to one Parquet file tagged like every
    file linkindex writes (as `kind`, by default the table's name): sorted by `order`,
    or in stored order when None."""
    # DuckDB marks a column REQUIRED when it knows it holds no NULL, from the NOT NULL
    # constraint or from the data's statistics. The identity CASE hides the statistics,
    # so a nullable column stays nullable in every file, whatever the data.
    columns = ", ".join(
        f"CASE WHEN {f.name} IS NULL THEN NULL ELSE {f.name} END AS {f.name}"
        if f.nullable
        else f.name
        for f in schema
    )
    query = f"SELECT {columns} FROM {table}"
    if where:
        query += f" WHERE {where}"
    if order:
        query += f" ORDER BY {order}"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The same tags as every Parquet file we write (layout.parquet_metadata); the
    # values are our own constants, never user input.
    metadata = ", ".join(
        f"'{key.decode()}': '{value.decode()}'"
        for key, value in parquet_metadata(kind or table).items()
    )
    sql = COPY_SQL.format(query=query, row_group_size=row_group_size, metadata=metadata)
    con.execute(sql, {"path": str(path)})


def _columns_ddl(schema: pa.Schema, *, raw: bool = False) -> str:
    """Column definitions for a pyarrow schema. Index timestamps are TIMESTAMP_MS (UTC
    wall time), written back as timestamp[ms, tz=UTC]; raw ones are TIMESTAMPTZ, as
    DuckDB reads the parts."""
    columns = []
    for f in schema:
        if pa.types.is_timestamp(f.type):
            sql_type = "TIMESTAMPTZ" if raw else "TIMESTAMP_MS"
        else:
            sql_type = DUCKDB_TYPES[f.type]
        columns.append(f'"{f.name}" {sql_type}{"" if f.nullable else " NOT NULL"}')
    return ", ".join(columns)


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row


def _iso_ms(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


