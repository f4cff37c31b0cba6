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
--
-- Columns:
--   src_domain            the domain that links to competitors and not to me
--   domain_rank           its domain_rank, 0..100 (stored on the links by the build)
--   competitors_linked    how many of the competitors it links to
--   competitors           which, as a sorted list
--   backlinks             its links to those competitors, in total
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
    as_of := NULL
) AS TABLE
WITH competitor_link AS (
    SELECT competitor.target AS competitor, link.src_domain, link.src_domain_rank
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
)
SELECT
    gap.src_domain,
    any_value(gap.src_domain_rank) AS domain_rank,
    count(DISTINCT gap.competitor) AS competitors_linked,
    list_sort(list(DISTINCT gap.competitor)) AS competitors,
    count(*) AS backlinks
FROM competitor_link AS gap
WHERE gap.src_domain IS DISTINCT FROM target_domain(me, scope)
  AND NOT EXISTS (
      SELECT 1 FROM domain_linking_to_me AS mine WHERE mine.src_domain = gap.src_domain
  )
GROUP BY gap.src_domain
HAVING count(DISTINCT gap.competitor) >= min_overlap
ORDER BY competitors_linked DESC, domain_rank DESC, gap.src_domain;
