-- referring_domains(target): the registrable domains that link to the target.
--
-- Question: which sites link to this target, how strong are they, and how many
-- links does each give?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL (as in backlinks.sql), and these filters of backlinks.sql:
--   seen_since      := NULL          TIMESTAMPTZ: seen_field at or after it
--   seen_until      := NULL          TIMESTAMPTZ: seen_field before it
--   seen_field      := 'first_seen'  VARCHAR: first_seen or last_seen
--   anchor_contains := NULL          VARCHAR: a piece of the anchor (or alt) text
--   src_tld         := NULL          VARCHAR: the linking domain's suffix: 'de', 'co.uk'
--   min_domain_rank := NULL          DOUBLE: the least domain_rank
--   src_lang        := NULL          VARCHAR: the linking pages' language ('en')
--   sitewide        := NULL          BOOLEAN: only sitewide links, or none of them
--   with_relevance  := false         fill avg_relevance (it reads page_terms)
--   with_graph      := true          also the domains an imported Common Crawl web graph
--                                    says link here (_ccgraph.sql)
--   The filters pick which links are counted: a domain is listed when one of its
--   links passes them all, with the links that do. The graph's domains are listed for
--   scope 'domain' when no filter is set but the defaults and with_relevance (the graph
--   knows no rel, kind, position, dates, anchors or pages).
--
-- Columns:
--   src_domain           the linking registrable domain
--   domain_rank          its domain_rank, 0..100 (stored on the links by the build)
--   backlinks            links from it to the target
--   dofollow_backlinks   of which without rel nofollow / ugc / sponsored
--   first_seen           first crawl any of these links was seen in (UTC)
--   last_seen            last crawl any of these links was seen in (UTC)
--   sitewide             it links to the target from most of its crawled pages
--   ip, subnet           the address most of its linking pages resolved to, its /24
--   ips                  how many addresses its linking pages resolved to
--   domains_on_subnet    referring domains listed here on that subnet (this one too)
--   avg_relevance        the mean relevance of its links (TF-IDF cosine of linking and
--                        linked page, 0..1, 4 places; with_relevance := true; NULL
--                        when none has terms)
--   source               'crawl': links found by a crawl, with every column above; or the
--                        web graph's release name: a domain only the graph knows links
--                        here, every link kind, nofollow included; the link columns NULL
--   cc_harmonic_pos      its harmonic-centrality position in the graph's release (1 =
--                        first; NULL when the release does not list it or no graph)
--   cc_pr_pos            its PageRank position in the release
--
-- Order: most backlinks first, then src_domain; then the graph's domains, by
-- cc_harmonic_pos, then src_domain.
--
-- Example: SELECT * FROM referring_domains('example.com', scope := 'domain');

CREATE OR REPLACE TEMP MACRO referring_domains(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    seen_since := NULL,
    seen_until := NULL,
    seen_field := 'first_seen',
    anchor_contains := NULL,
    src_tld := NULL,
    min_domain_rank := NULL,
    src_lang := NULL,
    sitewide := NULL,
    with_relevance := false,
    with_graph := true
) AS TABLE
WITH referrer AS (
    SELECT
        link.src_domain,
        any_value(link.src_domain_rank) AS domain_rank,
        count(*) AS backlinks,
        count(*) FILTER (WHERE is_dofollow(link.nofollow, link.ugc, link.sponsored))
            AS dofollow_backlinks,
        min(link.first_seen) AS first_seen,
        max(link.last_seen) AS last_seen,
        count(DISTINCT link.src_url) AS linking_pages,
        mode(link.src_ip) AS ip,
        count(DISTINCT link.src_ip) AS ips,
        -- only when asked: the lookups read page_terms (docs/audit.md)
        round(avg(terms_similarity(src_terms.terms, dst_terms.terms)), 4) AS avg_relevance
    FROM target_links(
        target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of,
        seen_since := seen_since,
        seen_until := seen_until,
        seen_field := seen_field,
        anchor_contains := anchor_contains,
        src_tld := src_tld,
        min_domain_rank := min_domain_rank,
        src_lang := src_lang
    ) AS link
    LEFT JOIN page_terms AS src_terms
           ON with_relevance AND src_terms.url_id = md5_number_lower(link.src_url)
    LEFT JOIN page_terms AS dst_terms
           ON with_relevance AND dst_terms.url_id = md5_number_lower(link.dst_url)
    GROUP BY link.src_domain
),
judged AS (
    SELECT referrer.*, is_sitewide(referrer.linking_pages, known.pages_crawled) AS is_sitewide
    FROM referrer
    LEFT JOIN domains AS known ON known.domain = referrer.src_domain
),
crawled AS (
    SELECT
        judged.src_domain,
        judged.domain_rank,
        judged.backlinks,
        judged.dofollow_backlinks,
        judged.first_seen,
        judged.last_seen,
        judged.is_sitewide AS sitewide,
        judged.ip,
        judged.ips,
        subnet_of(judged.ip) AS subnet,
        CASE WHEN judged.ip IS NOT NULL
             THEN count(*) OVER (PARTITION BY subnet_of(judged.ip)) END AS domains_on_subnet,
        judged.avg_relevance,
        'crawl' AS source
    FROM judged
    WHERE sitewide IS NULL OR judged.is_sitewide = CAST(sitewide AS BOOLEAN)
),
graph AS MATERIALIZED (  -- the web graph's referrers, when it can answer (_ccgraph.sql)
    SELECT referrer.*
    FROM cc_referrers(target_domain(target, scope)) AS referrer
    WHERE with_graph
      AND cc_applies(scope, live_only, dofollow_only, kind, link_position, as_of)
      AND seen_since IS NULL AND seen_until IS NULL AND anchor_contains IS NULL
      AND src_tld IS NULL AND min_domain_rank IS NULL AND src_lang IS NULL
      AND sitewide IS NULL
),
graph_only AS (
    SELECT
        graph.src_domain,
        known.domain_rank,
        CAST(NULL AS BIGINT) AS backlinks,
        CAST(NULL AS BIGINT) AS dofollow_backlinks,
        CAST(NULL AS TIMESTAMPTZ) AS first_seen,
        CAST(NULL AS TIMESTAMPTZ) AS last_seen,
        CAST(NULL AS BOOLEAN) AS sitewide,
        CAST(NULL AS VARCHAR) AS ip,
        CAST(NULL AS BIGINT) AS ips,
        CAST(NULL AS VARCHAR) AS subnet,
        CAST(NULL AS BIGINT) AS domains_on_subnet,
        CAST(NULL AS DOUBLE) AS avg_relevance,
        cc_release() AS source
    FROM graph
    LEFT JOIN domains AS known ON known.domain = graph.src_domain
    WHERE graph.src_domain NOT IN (SELECT crawled.src_domain FROM crawled)
)
SELECT
    answer.*,
    graph.src_harmonic_pos AS cc_harmonic_pos,
    graph.src_pr_pos AS cc_pr_pos
FROM (SELECT * FROM crawled UNION ALL SELECT * FROM graph_only) AS answer
LEFT JOIN graph ON graph.src_domain = answer.src_domain
ORDER BY answer.backlinks DESC NULLS LAST, cc_harmonic_pos NULLS LAST, answer.src_domain;
