-- link_mix(target): how the links to the target split by kind, by position, and by rel.
--
-- Question: are my links editorial (content links that pass credit) or mostly footer,
-- navigation, image and nofollow links?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql).
--
-- Columns:
--   facet                'kind', 'position' or 'rel'
--   value                a link kind or a position on the page (core.schema's KINDS and
--                        POSITIONS) found among the links
--                        (NULL: links without a position, redirects and canonicals); for
--                        rel, each of dofollow, nofollow, ugc, sponsored, zeros included
--                        (dofollow: no nofollow, ugc or sponsored; a link may carry several)
--   backlinks            links with this value
--   referring_domains    distinct source domains of those links
--   backlinks_share      backlinks / all the links counted, 0..1, rounded half up to 4
--                        decimals (0 when none)
--
-- Order: kind, position, rel; within kind and position most backlinks first, then
-- value; rel in the order above.
--
-- Example: SELECT value, backlinks FROM link_mix('example.com') WHERE facet = 'position';

CREATE OR REPLACE TEMP MACRO link_mix(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
WITH link AS MATERIALIZED (
    SELECT
        counted.kind,
        counted.position,
        counted.src_domain,
        is_dofollow(counted.nofollow, counted.ugc, counted.sponsored) AS dofollow,
        counted.nofollow,
        counted.ugc,
        counted.sponsored
    FROM target_edges(
        target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of
    ) AS counted
),
total AS (
    SELECT count(*) AS backlinks FROM link
),
by_value AS (
    SELECT 1 AS facet_order, 'kind' AS facet, CAST(link.kind AS VARCHAR) AS value,
           0 AS value_order, count(*) AS backlinks,
           count(DISTINCT link.src_domain) AS referring_domains
    FROM link
    GROUP BY link.kind
    UNION ALL
    SELECT 2, 'position', CAST(link.position AS VARCHAR), 0, count(*),
           count(DISTINCT link.src_domain)
    FROM link
    GROUP BY link.position
    UNION ALL
    SELECT 3, 'rel', rel.value, rel.value_order,
           count(link.src_domain), count(DISTINCT link.src_domain)
    FROM (VALUES ('dofollow', 1), ('nofollow', 2), ('ugc', 3), ('sponsored', 4))
        AS rel(value, value_order)
    LEFT JOIN link
        ON (rel.value = 'dofollow' AND link.dofollow)
        OR (rel.value = 'nofollow' AND link.nofollow)
        OR (rel.value = 'ugc' AND link.ugc)
        OR (rel.value = 'sponsored' AND link.sponsored)
    GROUP BY rel.value, rel.value_order
)
SELECT
    by_value.facet,
    by_value.value,
    by_value.backlinks,
    by_value.referring_domains,
    CASE WHEN total.backlinks = 0 THEN 0.0
         ELSE round(by_value.backlinks / total.backlinks, 4) END AS backlinks_share
FROM by_value
CROSS JOIN total
ORDER BY by_value.facet_order, by_value.value_order, by_value.backlinks DESC, by_value.value;
