-- top_pages(target): the target's pages that receive links, best linked first.
--
-- Question: which of my pages attract links, and does each still answer 200?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql).
--
-- Columns:
--   dst_url              a page of the target that is linked to
--   backlinks            links to it
--   referring_domains    distinct source domains linking to it
--   dofollow_backlinks   links to it without rel nofollow / ugc / sponsored
--   status               HTTP status of its latest fetch; NULL if never crawled or if
--                        the latest fetch got no HTTP answer
--   page_rank            its page rank, 0..100 (PageRank over URLs, internal links
--                        included: docs/metrics.md); 0 when nothing links it
--
-- Order: most referring domains first, then most backlinks, then dst_url.
--
-- Example: SELECT * FROM top_pages('example.com') WHERE status <> 200;

CREATE OR REPLACE TEMP MACRO top_pages(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
WITH linked_page AS (
    SELECT
        link.dst_url,
        count(*) AS backlinks,
        count(DISTINCT link.src_domain) AS referring_domains,
        count(*) FILTER (WHERE is_dofollow(link.nofollow, link.ugc, link.sponsored))
            AS dofollow_backlinks
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
    GROUP BY link.dst_url
)
SELECT
    linked_page.dst_url,
    linked_page.backlinks,
    linked_page.referring_domains,
    linked_page.dofollow_backlinks,
    page.status,
    coalesce(ranked.page_rank, 0.0) AS page_rank
FROM linked_page
LEFT JOIN (
    SELECT target_page.url, target_page.status
    FROM pages AS target_page
    WHERE target_page.domain = target_domain(target, scope)
) AS page ON page.url = linked_page.dst_url
LEFT JOIN page_ranks AS ranked ON ranked.url_id = md5_number_lower(linked_page.dst_url)
ORDER BY
    linked_page.referring_domains DESC,
    linked_page.backlinks DESC,
    linked_page.dst_url;
