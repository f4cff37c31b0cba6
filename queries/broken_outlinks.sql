-- broken_outlinks(target): links found on the target's pages that lead to broken URLs.
--
-- Question: which of my outgoing links are dead (to fix them), or - run on another
-- site - which dead resources does that site still link to (broken link building)?
--
-- Here the target matches the SOURCE of the link. A linked URL is broken when its
-- latest fetch answered 4xx or 5xx, or got no HTTP answer at all (status NULL, error
-- set). URLs never crawled are unknown and not listed. The index is sorted by link
-- target, not source, so this macro reads every bucket.
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql; with external_only false, broken internal links too).
--
-- Columns:
--   src_url                   the target's page carrying the link
--   dst_url, dst_domain       the broken URL and its registrable domain
--   status, error             its latest HTTP status (NULL if none) and download error
--   anchor, kind, position    anchor text, link kind, place on the page
--   nofollow, ugc, sponsored  rel tokens on the link
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   live                      counted on the latest fetch of src_url (docs/history.md)
--
-- Order: dst_url (all links to one dead URL together), then src_url, kind, anchor.
--
-- Example: SELECT * FROM broken_outlinks('example.com', external_only := false);

CREATE OR REPLACE TEMP MACRO broken_outlinks(
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
    link.src_url,
    link.dst_url,
    link.dst_domain,
    page.status,
    page.error,
    link.anchor,
    link.kind,
    link.position,
    link.nofollow,
    link.ugc,
    link.sponsored,
    link.first_seen,
    link.last_seen,
    link.live
FROM source_edges(
    target,
    scope := scope,
    live_only := live_only,
    dofollow_only := dofollow_only,
    external_only := external_only,
    kind := kind,
    link_position := link_position,
    as_of := as_of
) AS link
JOIN pages AS page ON page.url = link.dst_url
WHERE is_broken(page.status, page.error)
ORDER BY link.dst_url, link.src_url, link.kind, link.anchor;
