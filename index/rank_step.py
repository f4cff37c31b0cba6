"""The build's ranks step: domain rank and trust, page ranks and credits of the new
generation, from the bucket summaries and the pages (index.ranks), once, between the
reduce and the writers; and whether any rank stamped on edges moved (then every bucket
is rewritten)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from core import layout
from index import stage
from index.compact import (
    LOOKUP_ROW_GROUP_SIZE,
    TABLES,
    columns_ddl,
    connect,
    copy_table,
    summaries,
    write_credits,
)
from index.ranks import compute_domain_ranks, compute_domain_trust, compute_page_ranks


def ranks_path(data: Path) -> Path:
    return stage.next_dir(data) / "ranks.parquet"


def source_ranks_path(data: Path) -> Path:
    """The page ranks of the crawled pages, by URL: the only ones stamped on edges (every
    source is a crawled page), pages-sized, joined by text, no hash per edge; with the
    other facts of each page stamped on its links (src_external_links, src_ip,
    src_lang). Those change only with a new fetch of the page, which puts all its links
    in the build's delta: only the ranks can move under an unchanged link."""
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
    _write_lookup(con, data, "page_ranks", "SELECT url AS url_id, page_rank FROM page_rank")
    with layout.atomic_path(source_ranks_path(data)) as part:
        con.execute("COPY (SELECT p.url, r.page_rank, p.n_external_links, p.ip, p.lang "
                    "FROM read_parquet($pages) AS p "
                    "JOIN page_rank AS r ON r.url = md5_number_lower(p.url) ORDER BY p.url) "
                    "TO $path (FORMAT parquet)", {"pages": pages, "path": str(part)})
    return run.page_receipt()


# Each crawled page's terms weighted by TF-IDF and scaled to unit length (docs/audit.md,
# "Topical relevance"): tf is the count on the page, idf = ln((1 + N) / (1 + df)) + 1 over the N
# pages with terms (the smoothed form scikit-learn uses), so two pages' relevance is the
# sum of products of their shared terms' weights, 0..1.
PAGE_TERMS_SQL = """
WITH page AS (
    SELECT url, terms FROM read_parquet($pages) WHERE len(terms) > 0
),
term AS (
    SELECT page.url, t.term AS term, t.n AS n
    FROM page, unnest(page.terms) AS u(t)
),
df AS (SELECT term, count(*) AS df FROM term GROUP BY term),
weighted AS (
    SELECT term.url, term.term,
           term.n * (ln((1 + (SELECT count(*) FROM page)) / (1 + df.df)) + 1) AS weight
    FROM term JOIN df USING (term)
)
SELECT md5_number_lower(url) AS url_id,
       list({'term': term, 'weight': weight} ORDER BY term) AS terms,
FROM (
    SELECT url, term, weight / sqrt(sum(weight * weight) OVER (PARTITION BY url)) AS weight
    FROM weighted
)
GROUP BY url
"""


def _write_lookup(con: duckdb.DuckDBPyConnection, data: Path, table: str, sql: str,
                  params: dict[str, Any] | None = None) -> None:
    """One of the new generation's lookup tables (index.compact.TABLES) from `sql`."""
    file, schema, order = TABLES[table]
    con.execute(f"CREATE TEMP TABLE index_{table} ({columns_ddl(schema)})")
    con.execute(f"INSERT INTO index_{table} BY NAME {sql}", params or {})
    copy_table(con, f"index_{table}", schema, stage.next_gen_dir(data) / file, order=order,
               row_group_size=LOOKUP_ROW_GROUP_SIZE)


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
        _write_lookup(con, data, "domain_links",
                      "SELECT src_domain, dst_domain, links, dofollow_links FROM domain_pair")
        _write_lookup(con, data, "page_terms", PAGE_TERMS_SQL, {"pages": pages})
        moved = _moved(con, data, plan, out, "domains", "domain", "domain_rank")
        moved = _moved(con, data, plan, page_ranks_path(data), "page_ranks", "url_id",
                       "page_rank", stamped=pages) or moved
        layout.write_json(root / "ranks.json", {"moved": moved, **receipts})
        return moved
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
