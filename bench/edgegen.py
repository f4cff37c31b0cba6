"""Realistic raw crawl parts for the index benchmark, generated inside DuckDB.

What a crawl of `pages` pages with `links` links each would write (raw parts of
250k edges, as the pipeline writes them), without crawling:

- a universe of `domains` registrable domains ("gardenriver12.co.uk"), 70% served
  from "www.", 80% https, a few links to "blog." subdomains;
- link targets drawn from a Zipf law (P(rank k) ∝ 1/k): a few domains get a large share
  of all links, most get a handful; target pages per domain Zipf too, a quarter of
  links to the home page; 30% of links stay on the source's own domain;
- source pages spread over domains by another Zipf law (big sites have many pages);
- anchors: brand names, naked URLs, generic words ("click here"), keyword phrases
  drawn from a skewed vocabulary; 8% image links with alt text; one canonical per page;
- rel: 10% nofollow (2% also ugc), 1% sponsored; positions content/nav/footer/aside/header.

Random draws are DuckDB hash() of the row key: the data is the same for a given size on
one DuckDB version (hash() is not promised stable across versions, which is fine here).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from core.layout import raw_dir

LINKS_PER_PAGE = 75
EDGES_PER_PART = 250_000  # the pipeline's LINKINDEX_PART_MAX_EDGES
CRAWL_ID = "bench"

_WORDS = (
    "garden river market winter travel coffee history science music design city mountain "
    "recipe bicycle ocean library photo guide review forest energy family report archive "
    "season journal health future kitchen lesson museum theatre harbor planet software "
    "bridge island weather village station studio festival story summer autumn spring "
    "lantern meadow pocket signal canvas engine compass best cheap online free news blog "
    "shop home local world tips"
).split()
assert len(_WORDS) == 64
_TLDS = [".com"] * 10 + [".org", ".org", ".net", ".net", ".de", ".de", ".co.uk", ".io",
                         ".fr", ".info", ".es", ".nl", ".com.au", ".ca"]
_GENERIC = ["click here", "here", "read more", "website", "this article", "source", "link",
            "more", "learn more", "home", "official site", "this page"]


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


MACROS = f"""
CREATE OR REPLACE TEMP MACRO rnd(a, b) AS (hash(a, b) % 1000003) / 1000003.0;
CREATE OR REPLACE TEMP MACRO word(k) AS {_sql_list(_WORDS)}[1 + (k::UBIGINT % 64)::BIGINT];
CREATE OR REPLACE TEMP MACRO cap(w) AS upper(w[1]) || w[2:];
CREATE OR REPLACE TEMP MACRO zipf(a, b, n) AS
    least(floor(pow(n, rnd(a, b)))::BIGINT - 1, n - 1);
CREATE OR REPLACE TEMP MACRO dname(d) AS
    word(d) || word(d // 64) || CASE WHEN d >= 4096 THEN (d // 4096)::VARCHAR ELSE '' END
    || {_sql_list(_TLDS)}[1 + (hash(d, 'tld') % {len(_TLDS)})::BIGINT];
CREATE OR REPLACE TEMP MACRO dhost(d) AS
    CASE WHEN hash(d, 'www') % 10 < 7 THEN 'www.' ELSE '' END || dname(d);
CREATE OR REPLACE TEMP MACRO scheme(d) AS
    CASE WHEN hash(d, 'tls') % 10 < 8 THEN 'https://' ELSE 'http://' END;
CREATE OR REPLACE TEMP MACRO generic(k) AS
    {_sql_list(_GENERIC)}[1 + (hash(k, 'gen') % {len(_GENERIC)})::BIGINT];
CREATE OR REPLACE TEMP MACRO phrase(k, salt) AS
    word(zipf(k, salt || '1', 64)) || ' ' || word(zipf(k, salt || '2', 64))
    || CASE WHEN rnd(k, salt || '3') < 0.5 THEN ' ' || word(zipf(k, salt || '4', 64))
            ELSE '' END;
"""

# One row per source page of the part: identity, URL, fetch time.
PAGE_SQL = """
SELECT p AS page,
       sd,
       scheme(sd) || dhost(sd) || '/' || word(hash(p, 'sec')) || '/'
           || word(hash(p, 'w1')) || '-' || word(hash(p, 'w2')) || '-' || p::VARCHAR
           || '.html' AS url,
       dhost(sd) AS host,
       dname(sd) AS domain,
       TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_milliseconds(p * 100) AS fetched_at
FROM (SELECT p, (zipf(p, 'site', $domains) * 7919 + 13) % $domains AS sd
      FROM range($lo, $hi) AS t(p))
"""

EDGES_SQL = f"""
WITH page AS ({PAGE_SQL}),
link AS (
    SELECT page.*, o.ordinal::INTEGER AS ordinal, page.page * 1000 + o.ordinal AS k
    FROM page CROSS JOIN range($links) AS o(ordinal)
),
drawn AS (
    SELECT *,
        CASE WHEN ordinal = 0 THEN 'canonical'
             WHEN rnd(k, 'kind') < 0.08 THEN 'img' ELSE 'a' END AS kind,
        CASE WHEN rnd(k, 'int') < 0.3 THEN sd ELSE zipf(k, 'dst', $domains) END AS dd,
        zipf(k, 'pg', 2000) AS pg,
        rnd(k, 'anchor') AS ra,
        rnd(k, 'rel') AS rr,
        rnd(k, 'pos') AS rp
    FROM link
),
target AS (
    SELECT *,
        CASE WHEN kind = 'canonical' THEN url
             ELSE scheme(dd)
                 || CASE WHEN rnd(k, 'sub') < 0.05 THEN 'blog.' || dname(dd) ELSE dhost(dd) END
                 || CASE WHEN rnd(k, 'home') < 0.25 THEN '/'
                         ELSE '/' || word(hash(dd, pg, 'a')) || '/' || word(hash(dd, pg, 'b'))
                              || '-' || word(hash(dd, pg, 'c')) || '-' || pg::VARCHAR || '/'
                    END
        END AS dst_url,
        CASE WHEN kind = 'img' AND rnd(k, 'alt') < 0.8 THEN cap(phrase(k, 'alt')) END AS alt
    FROM drawn
)
SELECT
    '{CRAWL_ID}' AS crawl_id,
    fetched_at,
    url AS src_url,
    host AS src_host,
    domain AS src_domain,
    dst_url,
    split_part(split_part(dst_url, '://', 2), '/', 1) AS dst_host,
    CASE WHEN kind = 'canonical' THEN domain ELSE dname(dd) END AS dst_domain,
    CASE WHEN kind = 'canonical' THEN ''
         WHEN kind = 'img' THEN coalesce(alt, '')
         WHEN ra < 0.25 THEN cap(word(dd)) || ' ' || cap(word(dd // 64))
         WHEN ra < 0.37 THEN dst_url
         WHEN ra < 0.52 THEN generic(k)
         ELSE cap(phrase(k, 'a'))
    END AS anchor,
    kind,
    alt,
    kind <> 'canonical' AND rr < 0.10 AS nofollow,
    kind <> 'canonical' AND rr < 0.02 AS ugc,
    kind <> 'canonical' AND rr >= 0.99 AS sponsored,
    CASE WHEN kind = 'canonical' THEN NULL
         WHEN rp < 0.50 THEN 'content' WHEN rp < 0.70 THEN 'nav'
         WHEN rp < 0.82 THEN 'footer' WHEN rp < 0.94 THEN 'aside' ELSE 'header'
    END AS position,
    ordinal,
    domain <> (CASE WHEN kind = 'canonical' THEN domain ELSE dname(dd) END) AS external
FROM target
"""

PAGES_SQL = f"""
WITH page AS ({PAGE_SQL})
SELECT
    '{CRAWL_ID}' AS crawl_id, fetched_at, url, host, domain,
    200::SMALLINT AS status, 'text/html' AS content_type,
    (40000 + hash(page, 'len') % 20000)::BIGINT AS content_length,
    cap(phrase(page, 'title')) AS title, 'en' AS lang,
    (1 + hash(page, 'depth') % 5)::SMALLINT AS depth,
    NULL::VARCHAR AS redirect_to, url AS canonical,
    false AS meta_noindex, false AS meta_nofollow,
    $links::INTEGER AS n_links, ($links * 7 // 10)::INTEGER AS n_external_links,
    -- one address per site, 256 sites a /24 (the audit's referring IPs and subnets)
    '198.' || (hash(sd, 'ip1') % 256)::VARCHAR || '.' || (hash(sd, 'ip2') % 256)::VARCHAR
        || '.' || (hash(sd, 'ip3') % 256)::VARCHAR AS ip,
    0 AS n_skipped_links, NULL::VARCHAR AS error,
    NULL::VARCHAR AS warc_file, NULL::BIGINT AS warc_offset,
    -- 32 terms a page from 32,000 words, as the extractor keeps them (page_terms)
    list_transform(range(32), lambda i: {{
        'term': word(hash(page, i, 't')) || (hash(page, i, 'v') % 500)::VARCHAR,
        'n': (32 - i)::INTEGER}}) AS terms
FROM page
"""

COPY = ("COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000, "
        "KV_METADATA {{'linkindex.schema_version': '1', 'linkindex.kind': '{kind}'}})")


def domains_for(edges: int) -> int:
    """Size of the domain universe: about one domain per 100 links, at least 1,000."""
    return max(1000, edges // 100)


def generate(data: Path, edges: int, *, links: int = LINKS_PER_PAGE,
             domains: int | None = None, threads: int | None = None) -> dict[str, int]:
    """Write raw parts of about `edges` edges (whole pages) under data/raw/bench/."""
    pages = max(1, edges // links)
    domains = domains or domains_for(edges)
    pages_per_part = max(1, EDGES_PER_PART // links)
    con = duckdb.connect(config={"threads": threads} if threads else {})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(MACROS)
        for table in ("edges", "pages"):
            raw_dir(data, CRAWL_ID, table).mkdir(parents=True, exist_ok=True)
        for part, lo in enumerate(range(0, pages, pages_per_part)):
            hi = min(pages, lo + pages_per_part)
            params = {"lo": lo, "hi": hi, "domains": domains, "links": links}
            for table, sql in (("edges", EDGES_SQL), ("pages", PAGES_SQL)):
                path = raw_dir(data, CRAWL_ID, table) / f"bench-{part:05d}.parquet"
                used = {k: v for k, v in params.items() if f"${k}" in sql}
                con.execute(COPY.format(sql=sql, path=path, kind=table), used)
    finally:
        con.close()
    return {"pages": pages, "edges": pages * links, "domains": domains}
