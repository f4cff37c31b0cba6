-- anchors(target): the anchor texts used in links to the target.
--
-- Question: with which words do other sites link here (brand, exact match, generic)?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL (as in backlinks.sql), and
--   brands    := NULL   VARCHAR[]: brand names besides the target's own
--   keywords  := NULL   VARCHAR[]: the keywords an anchor matches exactly or partly
--   (docs/anchors.md says how each anchor is classified)
--
-- Columns:
--   anchor               the anchor text as stored (whitespace collapsed, capped at
--                        256 characters; '' for redirects and canonicals); for an
--                        image link without text, its alt text
--   anchor_class         its class (docs/anchors.md); one anchor text has one class for
--                        one target, except that an image's alt text is always 'image':
--                        a row is one (anchor, anchor_class)
--   backlinks            links with this anchor
--   referring_domains    distinct source domains using it
--   dofollow_backlinks   links with this anchor without rel nofollow / ugc / sponsored
--   first_seen           first crawl one of these links was seen in (UTC)
--   last_seen            last crawl one of these links was seen in (UTC)
--
-- Order: most referring domains first, then most backlinks, then anchor, anchor_class.
--
-- Example: SELECT * FROM anchors('example.com', brands := ['Example Inc'],
--                                keywords := ['backlink index']) LIMIT 50;

CREATE OR REPLACE TEMP MACRO anchors(
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
SELECT
    link.anchor_text AS anchor,
    link.anchor_class,
    count(*) AS backlinks,
    count(DISTINCT link.src_domain) AS referring_domains,
    count(*) FILTER (WHERE is_dofollow(link.nofollow, link.ugc, link.sponsored))
        AS dofollow_backlinks,
    min(link.first_seen) AS first_seen,
    max(link.last_seen) AS last_seen
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
GROUP BY link.anchor_text, link.anchor_class
ORDER BY referring_domains DESC, backlinks DESC, anchor, anchor_class;
