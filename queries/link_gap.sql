-- link_gap(me, competitors): sites that link to my competitors but not to me.
--
-- Question: which domains should I ask for a link, because they already link to one
-- or more of my competitors ("link intersect")?
--
-- A source domain is listed when it links to at least `min_overlap` of the competitors
-- and to none of `me`; my own registrable domain is never listed. The scope and the
-- filters apply to every target alike (a domain that links to me only through links the
-- filters drop is still a gap).
--
-- Parameters:
--   me                        my domain, host, URL or URL prefix (see scope)
--   competitors               VARCHAR[]: the competitors, named in the same scope
--   min_overlap   := 1        least number of competitors a listed domain links to
--   scope         := 'domain' 'domain' (with subdomains), 'host', 'exact' (URL) or 'prefix'
--   live_only := true, dofollow_only := false, external_only := true, kind := NULL,
--   link_position := NULL, as_of := NULL   as in backlinks.sql
--   with_graph    := true     also the links an imported Common Crawl web graph knows
--                             (_ccgraph.sql): for scope 'domain' and no filter but the
--                             defaults, a domain the graph says links to a competitor is
--                             a gap unless the crawl or the graph says it links to me
--
-- Columns:
--   src_domain            the domain that links to competitors and not to me
--   domain_rank           its domain_rank, 0..100 (stored on the links by the build)
--   competitors_linked    how many of the competitors it links to
--   competitors           which, as a sorted list
--   backlinks             its links to those competitors found by a crawl, in total (0 when
--                         only the graph knows them)
--   coverage              'measured': the index holds crawled pages of src_domain
--                         (domains.pages_crawled > 0), so "no link to me" was checked on
--                         them; 'unknown': none (its links are known from elsewhere, e.g.
--                         an imported archive), so it may link to me unseen
--   pages_crawled         src_domain's crawled pages (domains.pages_crawled; 0 if none)
--   examples              one link to each competitor it links to, in the order of
--                         `competitors`: a list of {competitor, src_url, dst_url, anchor};
--                         the link with the highest src_page_rank, then the first by
--                         src_url, dst_url, anchor (docs/compare.md); none for a
--                         competitor only the graph says it links to
--   source                'crawl' when a crawl found one of its links to a competitor, else
--                         the web graph's release (every link kind, nofollow included)
--   cc_harmonic_pos       its harmonic-centrality position in the graph's release (1 =
--                         first; NULL when the graph does not say it links to a competitor)
--
-- Order: most competitors linked first, then strongest domain, then src_domain.
--
-- Example:
--   SELECT * FROM link_gap('me.com', ['rival.com', 'other.com'], min_overlap := 2);

CREATE OR REPLACE TEMP MACRO link_gap(
    me,
    competitors,
    min_overlap := 1,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    with_graph := true
) AS TABLE
WITH competitor_link AS (
    SELECT competitor.target AS competitor, link.src_domain, link.src_domain_rank,
           link.src_page_rank, link.src_url, link.dst_url, link.anchor,
           false AS from_graph, CAST(NULL AS UBIGINT) AS cc_harmonic_pos
    FROM (SELECT DISTINCT unnest(competitors) AS target) AS competitor,
    LATERAL target_edges(
        competitor.target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of
    ) AS link
    UNION ALL  -- the web graph's referrers of each competitor (_ccgraph.sql)
    SELECT competitor.target, referrer.src_domain, NULL, NULL, NULL, NULL, NULL, true,
           referrer.src_harmonic_pos
    FROM (SELECT DISTINCT unnest(competitors) AS target) AS competitor,
    LATERAL cc_referrers(target_domain(competitor.target, scope)) AS referrer
    WHERE with_graph AND cc_applies(scope, live_only, dofollow_only, kind, link_position, as_of)
),
domain_linking_to_me AS (
    SELECT DISTINCT link.src_domain
    FROM target_edges(
        me,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of
    ) AS link
    UNION
    SELECT referrer.src_domain
    FROM cc_referrers(target_domain(me, scope)) AS referrer
    WHERE with_graph AND cc_applies(scope, live_only, dofollow_only, kind, link_position, as_of)
),
per_competitor AS (  -- one row per gap domain and competitor, with its example link
    SELECT
        gap.src_domain,
        gap.competitor,
        any_value(gap.src_domain_rank) AS src_domain_rank,
        count(*) FILTER (WHERE NOT gap.from_graph) AS backlinks,
        first({'competitor': gap.competitor, 'src_url': gap.src_url,
               'dst_url': gap.dst_url, 'anchor': gap.anchor}
              ORDER BY gap.src_page_rank DESC NULLS LAST, gap.src_url, gap.dst_url,
                       gap.anchor NULLS LAST) FILTER (WHERE NOT gap.from_graph) AS example,
        bool_or(NOT gap.from_graph) AS crawled,
        any_value(gap.cc_harmonic_pos) AS cc_harmonic_pos
    FROM competitor_link AS gap
    WHERE gap.src_domain IS DISTINCT FROM target_domain(me, scope)
      AND NOT EXISTS (
          SELECT 1 FROM domain_linking_to_me AS mine WHERE mine.src_domain = gap.src_domain
      )
    GROUP BY gap.src_domain, gap.competitor
),
gap_domain AS (
    SELECT
        linked.src_domain,
        any_value(linked.src_domain_rank) AS domain_rank,
        count(*) AS competitors_linked,
        list(linked.competitor ORDER BY linked.competitor) AS competitors,
        CAST(sum(linked.backlinks) AS BIGINT) AS backlinks,
        list(linked.example ORDER BY linked.competitor)
            FILTER (WHERE linked.example IS NOT NULL) AS examples,
        bool_or(linked.crawled) AS crawled,
        any_value(linked.cc_harmonic_pos) AS cc_harmonic_pos
    FROM per_competitor AS linked
    GROUP BY linked.src_domain
    HAVING count(*) >= min_overlap
)
SELECT
    gap_domain.src_domain,
    coalesce(gap_domain.domain_rank, known.domain_rank) AS domain_rank,
    gap_domain.competitors_linked,
    gap_domain.competitors,
    gap_domain.backlinks,
    CASE WHEN coalesce(known.pages_crawled, 0) > 0 THEN 'measured' ELSE 'unknown' END
        AS coverage,
    coalesce(known.pages_crawled, 0) AS pages_crawled,
    coalesce(gap_domain.examples, []) AS examples,
    CASE WHEN gap_domain.crawled THEN 'crawl' ELSE cc_release() END AS source,
    gap_domain.cc_harmonic_pos
FROM gap_domain
LEFT JOIN domains AS known ON known.domain = gap_domain.src_domain
ORDER BY gap_domain.competitors_linked DESC, 2 DESC NULLS LAST, gap_domain.src_domain;
