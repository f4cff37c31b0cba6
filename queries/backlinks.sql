-- backlinks(target): every link pointing at the target, one row per link.
--
-- Question: which pages link to this site / host / URL / section, with what anchor
-- text, of what kind, where on the page, and since when?
--
-- Parameters:
--   target                  the domain, host, URL or URL prefix (see scope)
--   scope         := 'domain'  'domain' (with subdomains), 'host', 'exact' (URL) or 'prefix'
--   live_only     := true      only links counted on the latest fetch of their page
--   dofollow_only := false     only links without rel nofollow / ugc / sponsored
--   external_only := true      only links from other registrable domains
--   kind          := NULL      a, img, area, redirect, canonical or refresh
--   link_position := NULL      content, nav, header, footer or aside
--   as_of         := NULL      a moment: the index as it stood then (live, rel)
--                              (docs/history.md)
--
-- Columns:
--   src_url, src_domain       the linking page and its registrable domain
--   src_domain_rank           domain_rank of src_domain, 0..100 (stored on the link by the build)
--   src_page_rank             page_rank of src_url, 0..100 (likewise; docs/metrics.md)
--   dst_url                   the target page the link counts for
--   linked_url                the URL on the page: dst_url, or a URL that moved there
--   via_redirect              it reached dst_url through a permanent redirect (301, 308)
--   via_canonical             ... through a page naming dst_url canonical (both can hold)
--   anchor                    the anchor text ('' for images, redirects and canonicals)
--   kind, alt                 link kind; alt text of a linked image
--   nofollow, ugc, sponsored  rel tokens on the link
--   position                  where on the page (NULL for redirect / canonical / refresh / unknown)
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   live                      counted on the latest fetch of src_url (docs/history.md)
--   found_at, lost_at, lost_reason
--                             its latest span: found, and (with live_only := false) when
--                             and why it was lost (docs/history.md)
--
-- Order: strongest source domain first, then src_url, dst_url, kind, anchor, linked_url.
--
-- Example: SELECT * FROM backlinks('example.com', dofollow_only := true) LIMIT 100;

CREATE OR REPLACE TEMP MACRO backlinks(
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
    link.src_domain,
    link.src_domain_rank,
    link.src_page_rank,
    link.dst_url,
    link.linked_url,
    link.via_redirect,
    link.via_canonical,
    link.anchor,
    link.kind,
    link.alt,
    link.nofollow,
    link.ugc,
    link.sponsored,
    link.position,
    link.first_seen,
    link.last_seen,
    link.live,
    link.found_at,
    link.lost_at,
    link.lost_reason
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
ORDER BY
    link.src_domain_rank DESC,
    link.src_url,
    link.dst_url,
    link.kind,
    link.anchor,
    link.linked_url;
