"""The build's SQL that scales with pages and domains, not edges, and what every step
shares: the DuckDB connection, the file writer, the table declarations.

raw_pages is a view of the usable pages parts with exactly the schema's columns;
index_* are TEMP tables declared from core.schema, so the files written from them
carry its types and NOT NULLs. One statement per purpose. The edges' own SQL, per
part and per bucket, is index.buckets.

Determinism: every choice among rows has a total order (ties broken down to the
crawl id), every file is sorted on a unique key, and domain ranks are summed in fixed
point (index.ranks), so the same inputs give the same rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.errors import LinkindexError
from core.layout import TMP_PREFIX, parquet_metadata
from core.schema import (
    INDEX_CREDITED,
    INDEX_CREDITS,
    INDEX_DOMAIN_LINKS,
    INDEX_DOMAINS,
    INDEX_FETCHES,
    INDEX_HOSTS,
    INDEX_PAGE_RANKS,
    INDEX_PAGE_TERMS,
    INDEX_PAGES,
    PAGES,
    RAW_TABLES,
    duckdb_type,
    fetch_outcome_sql,
    unfetched_sql,
)
from index.part_checks import first_line

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
# Chosen once, by the first build (index.stage): later builds keep it, so the automatic
# count looks ahead. 4096 buckets hold 16B edges at 4M each.
MAX_AUTO_BUCKETS = 4096
EDGES_DIR = "edges"
EDGE_FILE = "data_0.parquet"
# Per-bucket domain pairs, hosts and counts kept in each generation, so that the next
# incremental build reduces only what changed (index.buckets).
SUMMARY_DIR = "summary"
# Each bucket's summary files: domain pairs, hosts, URL pairs (page ranks), counts.
# (Its credited links, `.credited.parquet`, go into the generation's credited.parquet.)
SUMMARY_FILES = (".pairs.parquet", ".hosts.parquet", ".links.parquet", ".json")
EDGE_ORDER = ("dst_domain", "dst_url", "src_domain", "src_url", "kind", "anchor")
# Each index table but edges: file, schema, sort order (a unique key).
TABLES = {
    "pages": ("pages.parquet", INDEX_PAGES, "domain, url"),
    "fetches": ("fetches.parquet", INDEX_FETCHES, "url, seq"),
    "hosts": ("hosts.parquet", INDEX_HOSTS, "host, domain"),
    "credits": ("credits.parquet", INDEX_CREDITS, "to_domain, to_url, from_url"),
    "page_ranks": ("page_ranks.parquet", INDEX_PAGE_RANKS, "url_id"),
    "credited": ("credited.parquet", INDEX_CREDITED, "dst_domain, dst_url, src_domain, src_url"),
    "domains": ("domains.parquet", INDEX_DOMAINS, "domain"),
    "page_terms": ("page_terms.parquet", INDEX_PAGE_TERMS, "url_id"),
    "domain_links": ("domain_links.parquet", INDEX_DOMAIN_LINKS, "src_domain, dst_domain"),
}


def choose_buckets(edges: int) -> int:
    """The smallest power of two >= edges / 4M, at most 4096: small indexes get one bucket."""
    n = 1
    while n < MAX_AUTO_BUCKETS and n * EDGES_PER_BUCKET < edges:
        n *= 2
    return n


# Per crawl, from its pages parts: what the manifest reports beside the edge counts
# that map records (index.buckets).
CRAWL_PAGES_SQL = """
SELECT crawl_id, count(*) AS pages,
       epoch_ms(min(fetched_at)) AS first_fetch_ms, epoch_ms(max(fetched_at)) AS last_fetch_ms
FROM raw_pages GROUP BY crawl_id ORDER BY crawl_id
"""

# Every fetch of each URL (a row of an unfetched kind is not one), numbered per URL in
# time order (ties: crawl id order), with what it says about the page's links
# (core.schema.FETCH_OUTCOMES): the index's fetches table, and the build's link lifecycle.
FETCHES_SQL = """
CREATE TEMP TABLE {name} AS
SELECT url,
       row_number() OVER (PARTITION BY url ORDER BY fetched_at, rank)::INTEGER AS seq,
       crawl_id, fetched_at, status, outcome,
       CASE outcome WHEN 'page_redirects' THEN redirect_to
                    WHEN 'canonical_changed' THEN canonical END AS outcome_to
FROM (
    SELECT DISTINCT ON (p.url, p.crawl_id, p.fetched_at)
           p.url, p.crawl_id, p.fetched_at, p.status, p.redirect_to, p.canonical, c.rank,
           {outcome} AS outcome
    FROM {pages} AS p JOIN crawl AS c ON c.crawl_id = p.crawl_id
    WHERE NOT {unfetched}
)
"""

# The fetches this build adds (all of them in a full build), each with its rank among
# the URL's new ones: the first new fetch of a URL decides whether its links' open spans
# go on (index.buckets). A rank below 1 is a new fetch older than one the index holds.
NEW_FETCHES_SQL = """
CREATE TEMP TABLE new_fetch AS
WITH before AS (SELECT url, count(*) AS fetches FROM fetch_before GROUP BY url)
SELECT n.*, (n.seq - coalesce(b.fetches, 0))::INTEGER AS new_rank
FROM fetch_now AS n
LEFT JOIN before AS b ON b.url = n.url
ANTI JOIN fetch_before AS o
  ON o.url = n.url AND o.crawl_id = n.crawl_id AND o.fetched_at = n.fetched_at
"""

# The latest row of each URL (ties: greater crawl id, packed with the time into one
# HUGEINT with the crawl's rank; a fetched row wins over a later unfetched one, see
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

# Every host the index mentions, with its domain, so SQL can resolve a host target:
# those of the edges (per bucket, index.buckets) and of the pages.
INDEX_HOSTS_SQL = """
INSERT INTO index_hosts
SELECT host, domain FROM bucket_hosts
UNION
SELECT host, domain FROM read_parquet($pages)
"""

# Totals per domain from the live external links per (linking, linked) domain pair,
# summed per bucket (index.buckets); domain_rank (index.ranks) holds every domain of
# index_hosts.
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
    SELECT domain, count(*) AS pages_crawled FROM read_parquet($pages)
    WHERE NOT {unfetched} GROUP BY domain
)
SELECT r.domain,
       coalesce(c.pages_crawled, 0) AS pages_crawled,
       coalesce(i.backlinks, 0) AS backlinks,
       coalesce(i.referring_domains, 0) AS referring_domains,
       coalesce(o.outlinks, 0) AS outlinks,
       coalesce(o.linked_domains, 0) AS linked_domains,
       r.domain_rank,
       r.domain_trust,
       CASE WHEN r.domain_rank > 0 THEN round(r.domain_trust / r.domain_rank, 2)
       END AS trust_ratio,
       g.cc_harmonic_pos, g.cc_harmonic, g.cc_pr_pos, g.cc_pr
FROM read_parquet($ranks) AS r
LEFT JOIN crawled AS c ON c.domain = r.domain
LEFT JOIN inbound AS i ON i.domain = r.domain
LEFT JOIN outbound AS o ON o.domain = r.domain
LEFT JOIN {graph} AS g ON g.domain = r.domain
"""
# The active web graph's ranks (CC_VERTICES), or no rows without one.
GRAPH_RANKS_SQL = ("(SELECT domain, cc_harmonic_pos, cc_harmonic, cc_pr_pos, cc_pr "
                   "FROM read_parquet($graph))")
NO_GRAPH_SQL = ("(SELECT NULL::VARCHAR AS domain, NULL::UBIGINT AS cc_harmonic_pos, "
                "NULL::DOUBLE AS cc_harmonic, NULL::UBIGINT AS cc_pr_pos, "
                "NULL::DOUBLE AS cc_pr WHERE false)")

# Chains longer than this are cut: a link counts for the URL this many hops away.
MAX_CREDIT_HOPS = 10
PERMANENT_REDIRECTS = (301, 308)

# Each URL that passes its links on (core.schema.INDEX_CREDITS), from the latest fetch of
# each URL (pages.parquet), followed to the end of its chain; a loop stops before it
# closes. The URL at the end must be a host the index knows (credit_host: its domain).
CREDITS_SQL = r"""
INSERT INTO index_credits BY NAME
WITH RECURSIVE step AS (
    SELECT url AS from_url, domain AS from_domain,
           CASE WHEN status IN ({redirects}) THEN redirect_to ELSE canonical END AS to_url,
           status IN ({redirects}) AS by_redirect
    FROM read_parquet($pages)
    WHERE (status IN ({redirects}) AND redirect_to IS NOT NULL AND redirect_to <> url)
       OR (status BETWEEN 200 AND 299 AND canonical IS NOT NULL AND canonical <> url)
),
chain AS (
    SELECT from_url, from_domain, to_url, by_redirect AS via_redirect,
           NOT by_redirect AS via_canonical, 1 AS hops, [from_url, to_url] AS seen
    FROM step
    UNION ALL
    SELECT c.from_url, c.from_domain, s.to_url, c.via_redirect OR s.by_redirect,
           c.via_canonical OR NOT s.by_redirect, c.hops + 1, list_append(c.seen, s.to_url)
    FROM chain AS c
    JOIN step AS s ON s.from_url = c.to_url
    WHERE c.hops < {max_hops} AND NOT list_contains(c.seen, s.to_url)
),
final AS (
    SELECT from_url, arg_max({{'from_domain': from_domain, 'to_url': to_url,
                               'via_redirect': via_redirect, 'via_canonical': via_canonical,
                               'hops': hops}}, hops) AS last
    FROM chain
    GROUP BY from_url
)
SELECT f.from_url, f.last.from_domain, f.last.to_url,
       h.host AS to_host, h.domain AS to_domain,
       f.last.via_redirect, f.last.via_canonical, f.last.hops
FROM final AS f
JOIN credit_host AS h
  ON h.host = regexp_extract(f.last.to_url, '^[A-Za-z][A-Za-z0-9+.-]*://(\[[^\]]*\]|[^/:?#]*)', 1)
""".format(redirects=", ".join(map(str, PERMANENT_REDIRECTS)), max_hops=MAX_CREDIT_HOPS)

COPY_SQL = """
COPY ({query}) TO $path (
    FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {row_group_size:d},
    TIMESTAMP_IS_ADJUSTED_TO_UTC true,
    KV_METADATA {{{metadata}}}
)
"""


def sql_literal(text: str) -> str:
    """A quoted SQL string literal, for the few statements that take no parameters
    (views); only ever given paths the build made itself."""
    return "'" + text.replace("'", "''") + "'"


def crawl_ranks(con: duckdb.DuckDBPyConnection, crawl_ids: list[str]) -> None:
    """TEMP TABLE crawl(crawl_id, rank): a small integer per crawl, in crawl id order,
    that breaks ties between crawls cheaply. Every step of a build gets the same list."""
    con.execute("CREATE OR REPLACE TEMP TABLE crawl (crawl_id VARCHAR, rank BIGINT)")
    if crawl_ids:  # none: edges parts whose pages parts are not written yet
        con.executemany("INSERT INTO crawl VALUES (?, ?)",
                        [(cid, rank) for rank, cid in enumerate(sorted(crawl_ids), 1)])


def raw_view(con: duckdb.DuckDBPyConnection, table: str, paths: list[str],
             *, union: bool = False, name: str | None = None) -> None:
    """TEMP VIEW `name` (default raw_<table>) of raw parts with exactly the schema's
    columns; an empty table of the right shape when there is no part."""
    schema = RAW_TABLES[table]
    name = name or f"raw_{table}"
    if paths:
        # The relational API writes the file list as a properly quoted literal.
        files = con.read_parquet(paths, union_by_name=union)
        files.create_view(f"{name}_files")
        # Columns added to the schema later are NULL in parts written before them.
        present = set(files.columns)
        columns = [f.name if f.name in present
                   else f"CAST(NULL AS {duckdb_type(f.type, 'TIMESTAMPTZ')}) AS {f.name}"
                   for f in schema]
        con.execute(f"CREATE TEMP VIEW {name} AS "
                    f"SELECT {', '.join(columns)} FROM {name}_files")
    else:
        con.execute(f"CREATE TEMP TABLE {name} ({columns_ddl(schema, raw=True)})")


def write_pages(con: duckdb.DuckDBPyConnection, out: Path, root: Path,
                pages_before: list[str], union: bool) -> tuple[list[dict[str, Any]], int]:
    """The global step over pages (raw_pages must exist, with crawl): pages.parquet and
    fetches.parquet of the new generation, and under `root` the fetches this build adds
    (fetches.parquet) and each URL's first new fetch (changed.parquet), given the
    previous generation's pages parts (`pages_before`). Returns per-crawl counts, and how
    many new fetches are older than a fetch of the same URL the previous index holds
    (the caller then builds in full: spans are built in fetch order)."""
    outcome = fetch_outcome_sql("p")
    unfetched = unfetched_sql("p.error")
    con.execute(FETCHES_SQL.format(name="fetch_now", pages="raw_pages", outcome=outcome,
                                   unfetched=unfetched))
    raw_view(con, "pages", pages_before, union=union, name="raw_pages_before")
    con.execute(FETCHES_SQL.format(name="fetch_before", pages="raw_pages_before",
                                   outcome=outcome, unfetched=unfetched))
    con.execute(NEW_FETCHES_SQL)
    (older,) = con.execute("SELECT count(*) FROM new_fetch WHERE new_rank < 1").fetchone()
    con.execute("COPY (SELECT * FROM new_fetch ORDER BY url, seq) TO $path (FORMAT parquet)",
                {"path": str(root / "fetches.parquet")})
    con.execute("COPY (SELECT url, crawl_id, fetched_at, outcome, outcome_to FROM new_fetch "
                "WHERE new_rank = 1 ORDER BY url) TO $path (FORMAT parquet)",
                {"path": str(root / "changed.parquet")})
    con.execute(f"CREATE TEMP TABLE index_fetches ({columns_ddl(INDEX_FETCHES)})")
    con.execute("INSERT INTO index_fetches BY NAME SELECT * FROM fetch_now")
    file, schema, order = TABLES["fetches"]
    copy_table(con, "index_fetches", schema, out / file, order=order,
               row_group_size=LOOKUP_ROW_GROUP_SIZE)
    con.execute(f"CREATE TEMP TABLE index_pages ({columns_ddl(INDEX_PAGES)})")
    page_fields = ", ".join(f"'{name}': p.{name}" for name in PAGES.names)
    con.execute(INDEX_PAGES_SQL.format(page=page_fields, unfetched=unfetched))
    file, schema, order = TABLES["pages"]
    copy_table(con, "index_pages", schema, out / file, order=order,
               row_group_size=LOOKUP_ROW_GROUP_SIZE)
    crawls = [
        {"crawl_id": cid, "pages": n, "first_fetch_ms": first, "last_fetch_ms": last}
        for cid, n, first, last in con.execute(CRAWL_PAGES_SQL).fetchall()
    ]
    return crawls, older


def write_credits(con: duckdb.DuckDBPyConnection, out: Path, hosts: str) -> None:
    """credits.parquet of the new generation (CREDITS_SQL), from its pages.parquet and
    `hosts`, a table or view of (host, domain) naming every host of the index."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW credit_host AS SELECT host, domain FROM {hosts}")
    con.execute(f"CREATE TEMP TABLE index_credits ({columns_ddl(INDEX_CREDITS)})")
    con.execute(CREDITS_SQL, {"pages": str(out / TABLES["pages"][0])})
    file, schema, order = TABLES["credits"]
    copy_table(con, "index_credits", schema, out / file, order=order,
               row_group_size=LOOKUP_ROW_GROUP_SIZE)


# A bucket's links to a URL that moved, as they count for where it moved (INDEX_CREDITED).
CREDITED_SQL = """
SELECT e.* REPLACE (c.to_url AS dst_url, c.to_host AS dst_host, c.to_domain AS dst_domain,
                    e.src_domain <> c.to_domain AS external),
       e.dst_url AS linked_url, e.dst_domain AS linked_domain,
       c.via_redirect, c.via_canonical,
       ('0x' || substr(md5(c.to_domain), 1, 8))::UBIGINT % $buckets AS bucket
FROM read_parquet($edges, hive_partitioning = false) AS e
JOIN read_parquet($credits) AS c ON c.from_url = e.dst_url
"""


def write_credited(con: duckdb.DuckDBPyConnection, out: Path, files: list[str]) -> None:
    """credited.parquet of the new generation: the buckets' credited links, in the order
    a per-target lookup reads them (by the domain and URL they count for)."""
    file, schema, order = TABLES["credited"]
    con.execute(f"CREATE TEMP TABLE index_credited ({columns_ddl(schema)})")
    present = [f for f in files if Path(f).exists()]
    if present:
        con.read_parquet(present).create_view("credited_files")
        con.execute("INSERT INTO index_credited BY NAME SELECT * FROM credited_files")
    copy_table(con, "index_credited", schema, out / file, order=order,
               row_group_size=LOOKUP_ROW_GROUP_SIZE)


def write_global_tables(con: duckdb.DuckDBPyConnection, out: Path, ranks: Path,
                        pairs: list[str], hosts: list[str],
                        graph_vertices: Path | None = None) -> None:
    """hosts.parquet and domains.parquet of the new generation, from the per-bucket
    summaries (`pairs`, `hosts`: their files), its pages.parquet, the ranks and the
    active web graph's vertices (their cc_* ranks), if any."""
    pages = str(out / TABLES["pages"][0])
    summaries(con, pairs, hosts)
    for table in ("hosts", "domains"):
        con.execute(f"CREATE TEMP TABLE index_{table} ({columns_ddl(TABLES[table][1])})")
    con.execute(INDEX_HOSTS_SQL, {"pages": pages})
    params = {"pages": pages, "ranks": str(ranks)}
    if graph_vertices is not None:
        params["graph"] = str(graph_vertices)
    con.execute(INDEX_DOMAINS_SQL.format(
        unfetched=unfetched_sql(),
        graph=GRAPH_RANKS_SQL if graph_vertices is not None else NO_GRAPH_SQL), params)
    for table in ("hosts", "domains"):
        file, schema, order = TABLES[table]
        copy_table(con, f"index_{table}", schema, out / file, order=order,
                   row_group_size=LOOKUP_ROW_GROUP_SIZE)


def summaries(con: duckdb.DuckDBPyConnection, pairs: list[str], hosts: list[str]) -> None:
    """TEMP VIEWs domain_pair and bucket_hosts over the per-bucket summary files."""
    for name, paths, ddl in (("domain_pair", pairs, PAIR_DDL), ("bucket_hosts", hosts, HOST_DDL)):
        if paths:
            con.read_parquet(paths).create_view(name)
        else:
            con.execute(f"CREATE TEMP TABLE {name} ({ddl})")


PAIR_DDL = 'src_domain VARCHAR, dst_domain VARCHAR, links BIGINT, dofollow_links BIGINT'
HOST_DDL = "host VARCHAR, domain VARCHAR"


def connect(temp_dir: Path, threads: int | None, memory_limit: str | None
            ) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for one build step, spilling into `temp_dir`."""
    config: dict[str, Any] = {"temp_directory": str(temp_dir)}
    if threads is not None:
        config["threads"] = threads
    if memory_limit is not None:
        config["memory_limit"] = memory_limit
    try:
        con = duckdb.connect(config=config)
    except duckdb.Error as exc:
        raise LinkindexError(f"bad build setting: {first_line(exc)}") from exc
    # Casting TIMESTAMPTZ to the index's UTC wall-clock timestamps must not shift them.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def copy_table(
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
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    # The same tags as every Parquet file we write (layout.parquet_metadata); the
    # values are our own constants, never user input.
    metadata = ", ".join(
        f"'{key.decode()}': '{value.decode()}'"
        for key, value in parquet_metadata(kind or table).items()
    )
    sql = COPY_SQL.format(query=query, row_group_size=row_group_size, metadata=metadata)
    con.execute(sql, {"path": str(tmp)})
    os.replace(tmp, path)  # whole or not at all: a killed step is simply rerun


def columns_ddl(schema: pa.Schema, *, raw: bool = False) -> str:
    """Column definitions for a pyarrow schema. Index timestamps are TIMESTAMP_MS (UTC
    wall time), written back as timestamp[ms, tz=UTC]; raw ones are TIMESTAMPTZ, as
    DuckDB reads the parts."""
    columns = []
    for f in schema:
        sql_type = duckdb_type(f.type, "TIMESTAMPTZ" if raw else "TIMESTAMP_MS")
        columns.append(f'"{f.name}" {sql_type}{"" if f.nullable else " NOT NULL"}')
    return ", ".join(columns)


def iso_ms(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


