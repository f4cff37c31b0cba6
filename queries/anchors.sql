-- anchors(target): the anchor texts used in links to the target.
--
-- Question: with which words do other sites link here (brand, exact match, generic)?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql).
--
-- Columns:
--   anchor               the anchor text as stored (whitespace collapsed, capped at
--                        256 characters; '' for images, redirects and canonicals)
--   backlinks            links with this anchor
--   referring_domains    distinct source domains using it
--   dofollow_backlinks   links with this anchor without rel nofollow / ugc / sponsored
--   first_seen           first crawl one of these links was seen in (UTC)
--   last_seen            last crawl one of these links was seen in (UTC)
--
-- Order: most referring domains first, then most backlinks, then anchor.
--
-- Example: SELECT * FROM anchors('example.com') LIMIT 50;

CREATE OR REPLACE TEMP MACRO anchors(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
SELECT
    link.anchor,
    count(*) AS backlinks,
    count(DISTINCT link.src_domain) AS referring_domains,
    count(*) FILTER (WHERE is_dofollow(link.nofollow, link.ugc, link.sponsored))
        AS dofollow_backlinks,
    min(link.first_seen) AS first_seen,
    max(link.last_seen) AS last_seen
FROM target_edges(
    target,
    scope := scope,
    live_only := live_only,
    dofollow_only := dofollow_only,
    external_only := external_only,
    kind := kind,
    link_position := link_position,
    as_of := as_of
) AS link
GROUP BY link.anchor
ORDER BY referring_domains DESC, backlinks DESC, link.anchor;
