-- referring_domains(target): the registrable domains that link to the target.
--
-- Question: which sites link to this target, how strong are they, and how many
-- links does each give?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL
--             (as in backlinks.sql; the filters pick which links are counted).
--
-- Columns:
--   src_domain           the linking registrable domain
--   domain_rank          its domain_rank, 0..100 (stored on the links by the build)
--   backlinks            links from it to the target
--   dofollow_backlinks   of which without rel nofollow / ugc / sponsored
--   first_seen           first crawl any of these links was seen in (UTC)
--   last_seen            last crawl any of these links was seen in (UTC)
--
-- Order: most backlinks first, then src_domain.
--
-- Example: SELECT * FROM referring_domains('example.com', scope := 'domain');

CREATE OR REPLACE TEMP MACRO referring_domains(
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
    link.src_domain,
    any_value(link.src_domain_rank) AS domain_rank,
    count(*) AS backlinks,
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
GROUP BY link.src_domain
ORDER BY backlinks DESC, link.src_domain;
