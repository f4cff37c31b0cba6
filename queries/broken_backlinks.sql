-- broken_backlinks(target): links pointing at pages of the target that are broken.
--
-- Question: which links are wasted on my dead pages, so that I can restore the page or
-- redirect it (link reclamation)?
--
-- A target page is broken when its latest fetch answered 4xx or 5xx, or got no HTTP
-- answer at all (timeout, DNS or connection error: status NULL, error set). Pages never
-- crawled are unknown and not listed; a page answering 3xx is not broken here.
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql).
--
-- Columns:
--   dst_url                   the broken page of the target
--   status, error             its latest HTTP status (NULL if none) and download error
--   src_url, src_domain       the linking page and its registrable domain
--   src_domain_rank           domain_rank of src_domain, 0..100
--   anchor, kind              anchor text and link kind
--   nofollow, ugc, sponsored  rel tokens on the link
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   live                      counted on the latest fetch of src_url (docs/history.md)
--
-- Order: strongest source domain first, then src_url, dst_url, kind, anchor.
--
-- Example: SELECT * FROM broken_backlinks('example.com', dofollow_only := true);

CREATE OR REPLACE TEMP MACRO broken_backlinks(
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
    link.dst_url,
    page.status,
    page.error,
    link.src_url,
    link.src_domain,
    link.src_domain_rank,
    link.anchor,
    link.kind,
    link.nofollow,
    link.ugc,
    link.sponsored,
    link.first_seen,
    link.last_seen,
    link.live
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
JOIN (
    SELECT target_page.url, target_page.status, target_page.error
    FROM pages AS target_page
    WHERE target_page.domain = target_domain(target, scope)
) AS page ON page.url = link.dst_url
WHERE is_broken(page.status, page.error)
ORDER BY
    link.src_domain_rank DESC,
    link.src_url,
    link.dst_url,
    link.kind,
    link.anchor;
