-- overview(target): one row of totals about the links pointing at a target.
--
-- Question: how many links and linking sites does this target have, of which kinds,
-- how strong is its domain, and how much of it has been crawled?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql; `lost` ignores live_only, everything else obeys it).
--
-- Columns:
--   target, scope            as given
--   backlinks                links to the target
--   referring_domains        distinct source registrable domains
--   referring_hosts          distinct source hosts
--   referring_pages          distinct source URLs
--   referring_ips            distinct addresses the linking pages' sites resolved to
--                            (edges.src_ip, recorded by the crawler; NULL ones not counted)
--   referring_subnets        distinct networks of those addresses (subnet_of: IPv4 /24,
--                            IPv6 /48): many domains on few subnets hints at one owner
--   dofollow                 links without rel nofollow / ugc / sponsored
--   nofollow, ugc, sponsored  links carrying each rel token (a link may carry several)
--   image_links              links of kind 'img' (an <a> around an image)
--   redirects                links of kind 'redirect' (a 3xx answer pointing here)
--   canonicals               links of kind 'canonical' (<link rel=canonical>)
--   lost                     links lost: no longer counted on their page's latest fetch
--                            (lost_at is set; docs/history.md)
--   first_seen, last_seen    first and last crawl any counted link was seen in (UTC)
--   domain_rank              domain_rank of the target's registrable domain, 0..100
--   domain_trust             its domain_trust, 0..100 (NULL unless built with trust seeds)
--   pages_crawled            the target's URLs in the index's pages (each fetched URL once)
--   cc_release               the imported Common Crawl web graph's release (NULL: none;
--                            docs/ccgraph.md)
--   cc_referring_domains     domains the graph says link to the target: every link kind,
--                            nofollow included; NULL unless scope 'domain' and no filter
--                            but the defaults (the graph knows no rel, kind or dates)
--   all_referring_domains    referring domains from the crawl or the graph, each once
--   cc_harmonic_pos, cc_harmonic
--                            the target domain's harmonic-centrality position (1 = first)
--                            and value in the release
--   cc_pr_pos, cc_pr         its PageRank position and value in the release
--
-- Example: SELECT * FROM overview('https://example.com/blog/', scope := 'prefix');

CREATE OR REPLACE TEMP MACRO overview(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
WITH link AS (
    SELECT
        any_link.*,
        any_link.live OR NOT live_only AS counted
    FROM target_edges(
        target,
        scope := scope,
        live_only := false,  -- lost links are counted apart, below
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of
    ) AS any_link
),
graph AS MATERIALIZED (  -- the web graph's referrers, when it can answer (_ccgraph.sql)
    SELECT referrer.src_domain
    FROM cc_referrers(target_domain(target, scope)) AS referrer
    WHERE cc_applies(scope, live_only, dofollow_only, kind, link_position, as_of)
),
target_cc AS (  -- the target domain's row of the graph's release
    SELECT * FROM cc_domain(target_domain(target, scope))
),
target_domain_row AS (  -- the target's registrable domain in domains.parquet, looked up once
    SELECT
        any_value(known.domain_rank) AS domain_rank,
        any_value(known.domain_trust) AS domain_trust,
        any_value(known.pages_crawled) AS pages_crawled
    FROM domains AS known
    WHERE known.domain = target_domain(target, scope)
)
SELECT
    target AS target,
    scope AS scope,
    count(*) FILTER (WHERE link.counted) AS backlinks,
    count(DISTINCT link.src_domain) FILTER (WHERE link.counted) AS referring_domains,
    count(DISTINCT link.src_host) FILTER (WHERE link.counted) AS referring_hosts,
    count(DISTINCT link.src_url) FILTER (WHERE link.counted) AS referring_pages,
    count(DISTINCT link.src_ip) FILTER (WHERE link.counted) AS referring_ips,
    count(DISTINCT subnet_of(link.src_ip)) FILTER (WHERE link.counted) AS referring_subnets,
    count(*) FILTER (
        WHERE link.counted AND is_dofollow(link.nofollow, link.ugc, link.sponsored)
    ) AS dofollow,
    count(*) FILTER (WHERE link.counted AND link.nofollow) AS nofollow,
    count(*) FILTER (WHERE link.counted AND link.ugc) AS ugc,
    count(*) FILTER (WHERE link.counted AND link.sponsored) AS sponsored,
    count(*) FILTER (WHERE link.counted AND link.kind = 'img') AS image_links,
    count(*) FILTER (WHERE link.counted AND link.kind = 'redirect') AS redirects,
    count(*) FILTER (WHERE link.counted AND link.kind = 'canonical') AS canonicals,
    count(*) FILTER (WHERE NOT link.live AND link.lost_at IS NOT NULL) AS lost,
    min(link.first_seen) FILTER (WHERE link.counted) AS first_seen,
    max(link.last_seen) FILTER (WHERE link.counted) AS last_seen,
    (SELECT target_domain_row.domain_rank FROM target_domain_row) AS domain_rank,
    (SELECT target_domain_row.domain_trust FROM target_domain_row) AS domain_trust,
    -- a domain's count is in domains.parquet: no scan of pages, whose row groups grow
    -- with the index (their checks cost more than the count at 100M edges)
    CASE WHEN scope = 'domain' THEN coalesce(
        (SELECT target_domain_row.pages_crawled FROM target_domain_row), 0
    ) ELSE (
        SELECT count(*)
        FROM pages AS page
        WHERE scope <> 'domain'  -- lets DuckDB drop this scan for scope 'domain'
          AND page.domain = target_domain(target, scope)
          AND matches_target(page.url, page.host, page.domain, target, scope)
          AND NOT coalesce(split_part(page.error, ':', 1) IN ('robots', 'refused', 'skipped'),
                           false)
    ) END AS pages_crawled,
    cc_release() AS cc_release,
    CASE WHEN cc_release() IS NOT NULL
              AND cc_applies(scope, live_only, dofollow_only, kind, link_position, as_of)
         THEN (SELECT count(*) FROM graph) END AS cc_referring_domains,
    (SELECT count(*) FROM (
        SELECT counted.src_domain FROM link AS counted WHERE counted.counted
        UNION SELECT graph.src_domain FROM graph)) AS all_referring_domains,
    (SELECT target_cc.cc_harmonic_pos FROM target_cc) AS cc_harmonic_pos,
    (SELECT target_cc.cc_harmonic FROM target_cc) AS cc_harmonic,
    (SELECT target_cc.cc_pr_pos FROM target_cc) AS cc_pr_pos,
    (SELECT target_cc.cc_pr FROM target_cc) AS cc_pr
FROM link;
