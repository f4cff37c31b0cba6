-- new_lost(target, since): links to the target gained or lost since a moment.
--
-- Question: what changed in my link profile since `since` - which links appeared and
-- which disappeared?
--
--   'new'   a link first seen on or after `since`      (still live or not: see `live`)
--   'lost'  a link no longer live whose last sighting is on or after `since`
--           (it disappeared between its last_seen and the following crawl of its page)
-- A link both gained and lost after `since` gives two rows, one of each.
--
-- Parameters:
--   target, scope := 'domain'   as in backlinks.sql
--   since                       a TIMESTAMPTZ, DATE or ISO 8601 text such as '2025-06-01'
--                               or '2025-06-01T12:00:00Z' (text without an offset is read in
--                               the session's TimeZone; the linkindex command uses UTC)
--   dofollow_only := false, external_only := true, kind := NULL, link_position := NULL
--                               as in backlinks.sql
--   live_only := true           accepted for uniformity and ignored: lost links are never live
--
-- Columns:
--   change                    'new' or 'lost'
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   src_url, src_domain       the linking page and its registrable domain
--   src_domain_rank           domain_rank of src_domain, 0..100
--   dst_url, anchor, kind     the target page, anchor text, link kind
--   nofollow, ugc, sponsored  rel tokens on the link
--   live                      present on the latest fetch of src_url
--
-- Order: most recent change first (first_seen of a 'new' row, last_seen of a 'lost'
-- row), then change, strongest source domain, src_url, dst_url, kind, anchor.
--
-- Example: SELECT * FROM new_lost('example.com', DATE '2025-06-01');

CREATE OR REPLACE TEMP MACRO new_lost(
    target,
    since,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL
) AS TABLE
WITH link AS (
    SELECT any_link.*
    FROM target_edges(
        target,
        scope := scope,
        live_only := false,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position
    ) AS any_link
),
change AS (
    SELECT 'new' AS change, link.first_seen AS changed_at, link.*
    FROM link
    WHERE link.first_seen >= CAST(since AS TIMESTAMPTZ)
    UNION ALL
    SELECT 'lost' AS change, link.last_seen AS changed_at, link.*
    FROM link
    WHERE NOT link.live AND link.last_seen >= CAST(since AS TIMESTAMPTZ)
)
SELECT
    change.change,
    change.first_seen,
    change.last_seen,
    change.src_url,
    change.src_domain,
    change.src_domain_rank,
    change.dst_url,
    change.anchor,
    change.kind,
    change.nofollow,
    change.ugc,
    change.sponsored,
    change.live
FROM change
ORDER BY
    change.changed_at DESC,
    change.change,
    change.src_domain_rank DESC,
    change.src_url,
    change.dst_url,
    change.kind,
    change.anchor;
