-- anchor_mix(target): how the links to the target split over the anchor classes.
--
-- Question: is the anchor profile natural (mostly brand, URL and generic anchors) or
-- does it lean on exact-match keywords?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL (as in backlinks.sql), and
--   brands    := NULL   VARCHAR[]: brand names besides the target's own
--   keywords  := NULL   VARCHAR[]: the keywords an anchor matches exactly or partly
--   (as in anchors.sql; docs/anchors.md says how each anchor is classified)
--
-- Columns:
--   anchor_class              the class; every class has a row, zeros included
--   backlinks                 links whose anchor has this class
--   referring_domains         distinct source domains with such a link
--   dofollow_backlinks        of the backlinks, those without rel nofollow / ugc / sponsored
--   backlinks_share           backlinks / all the links counted, 0..1, 4 decimals
--   referring_domains_share   referring_domains / all the referring domains, 0..1,
--                             4 decimals; a domain that links with anchors of several
--                             classes counts in each, so these shares can sum above 1
--   Shares are 0 when no link is counted at all.
--
-- Order: the classes in a fixed order (core.schema.ANCHOR_CLASSES, anchor_classes()).
--
-- Example: SELECT * FROM anchor_mix('example.com', keywords := ['backlink index']);

CREATE OR REPLACE TEMP MACRO anchor_mix(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    brands := NULL,
    keywords := NULL
) AS TABLE
WITH by_class AS (
    SELECT
        link.anchor_class,
        count(*) AS backlinks,
        count(DISTINCT link.src_domain) AS referring_domains,
        count(*) FILTER (WHERE is_dofollow(link.nofollow, link.ugc, link.sponsored))
            AS dofollow_backlinks
    FROM classified_links(
        target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of,
        brands := brands,
        keywords := keywords
    ) AS link
    GROUP BY link.anchor_class
),
total AS (  -- all the links counted, and their distinct source domains
    SELECT count(*) AS backlinks, count(DISTINCT link.src_domain) AS referring_domains
    FROM target_links(
        target,
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
    class.anchor_class,
    coalesce(by_class.backlinks, 0) AS backlinks,
    coalesce(by_class.referring_domains, 0) AS referring_domains,
    coalesce(by_class.dofollow_backlinks, 0) AS dofollow_backlinks,
    CASE WHEN total.backlinks = 0 THEN 0.0
         ELSE round(coalesce(by_class.backlinks, 0) / total.backlinks, 4) END
        AS backlinks_share,
    CASE WHEN total.referring_domains = 0 THEN 0.0
         ELSE round(coalesce(by_class.referring_domains, 0) / total.referring_domains, 4) END
        AS referring_domains_share
FROM (SELECT unnest(anchor_classes()) AS anchor_class) AS class
CROSS JOIN total
LEFT JOIN by_class ON by_class.anchor_class = class.anchor_class
ORDER BY list_position(anchor_classes(), class.anchor_class);
