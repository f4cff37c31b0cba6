-- new_lost(target, since): links to the target gained and lost in a window, and why.
--
-- Question: what did I gain and lose since `since` (until `until`), and why?
--
-- A link is found on the first fetch of its page on which it counts and lost on the
-- first later fetch on which it does not (docs/history.md, _timeline.sql). Rows:
--   'new'   found in the window; refound: the link had been lost before
--   'lost'  lost in the window, with lost_reason (page_gone, page_error, page_redirects,
--           page_noindex, canonical_changed, fetch_failed, link_removed) and where
--           the page went (lost_to: the redirect target or the new canonical); or still on the page but no longer
--           passing credit since a fetch in the window: lost_reason 'now_nofollow'
-- A link lost and found again in the window gives one row for each. A page not fetched
-- again loses nothing: its links are unknown, not lost (changes() says not_recrawled).
--
-- Parameters:
--   target, scope := 'domain'   as in backlinks.sql
--   since                       a TIMESTAMPTZ, DATE or ISO 8601 text such as '2025-06-01'
--                               or '2025-06-01T12:00:00Z' (text without an offset is read in
--                               the session's TimeZone; the linkindex command uses UTC)
--   until := NULL               the window's end, excluded (NULL: now)
--   dofollow_only := false      only links that passed credit before the change
--   external_only := true, kind := NULL, link_position := NULL
--                               as in backlinks.sql
--   live_only := true, as_of := NULL
--                               accepted for uniformity and ignored: the window says when
--
-- Columns:
--   change                    'new' or 'lost'
--   changed_at                the fetch that found or lost it (UTC)
--   lost_reason, lost_to      why it was lost, and where its page went (NULL for 'new')
--   refound                   a 'new' row of a link that had been lost before
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   src_url, src_domain       the linking page and its registrable domain
--   src_domain_rank           domain_rank of src_domain, 0..100
--   dst_url, anchor, kind     the target page, anchor text, link kind
--   nofollow, ugc, sponsored  rel tokens on the link (as last seen)
--   live                      counted on the latest fetch of src_url
--
-- Order: most recent change first, then change, strongest source domain, src_url,
-- dst_url, kind, anchor.
--
-- Example: SELECT * FROM new_lost('example.com', DATE '2025-06-01');

CREATE OR REPLACE TEMP MACRO new_lost(
    target,
    since,
    until := NULL,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
WITH span AS (
    SELECT any_span.*
    FROM link_spans(
        target,
        scope := scope,
        external_only := external_only,
        kind := kind,
        link_position := link_position
    ) AS any_span
),
change AS (
    SELECT 'new' AS change, span.span_found_at AS changed_at, NULL AS lost_reason,
           NULL AS lost_to, span.span_number > 1 AS refound, span.*
    FROM span
    WHERE NOT dofollow_only
       OR followed_at(span.nofollow, span.ugc, span.sponsored,
                      span.span_nofollow_at,
                      span.span_found_at)
    UNION ALL
    SELECT 'lost', span.span_lost_at, span.span_lost_reason, span.span_lost_to, false,
           span.*
    FROM span
    WHERE span.span_lost_at IS NOT NULL
      AND (NOT dofollow_only OR is_dofollow(span.nofollow, span.ugc, span.sponsored))
    UNION ALL
    SELECT 'lost', span.nofollow_at, 'now_nofollow', NULL, false, span.*
    FROM span
    WHERE span.latest_span AND span.nofollow_at > span.span_found_at
)
SELECT
    change.change,
    change.changed_at,
    change.lost_reason,
    change.lost_to,
    change.refound,
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
WHERE change.changed_at >= CAST(since AS TIMESTAMPTZ)
  AND (until IS NULL OR change.changed_at < CAST(until AS TIMESTAMPTZ))
ORDER BY
    change.changed_at DESC,
    change.change,
    change.src_domain_rank DESC,
    change.src_url,
    change.dst_url,
    change.kind,
    change.anchor,
    change.lost_reason;
