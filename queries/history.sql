-- history(target): the target's links and referring domains crawl by crawl.
--
-- Question: how did my backlinks and referring domains grow or shrink over time (the
-- data of a "referring domains over time" chart), and what was gained and lost when?
--
-- One row per crawl the index holds, in the order they ended. Each count is the index
-- as it stood when the crawl ended (as_of: a link counts from the fetch that found it
-- until the fetch that lost it; a page not fetched again keeps its links). New and lost
-- count the spans found and lost after the crawl before ended, up to this one's end.
-- A referring domain is lost only when no counted link from it remains.
--
-- Parameters:
--   target, scope := 'domain'   as in backlinks.sql
--   dofollow_only := false      count only links that passed credit at that moment
--   external_only := true, kind := NULL, link_position := NULL
--                               as in backlinks.sql
--   live_only := true, as_of := NULL
--                               accepted for uniformity and ignored: each row says when
--
-- Columns:
--   crawl_id                    the crawl
--   crawl_started, crawl_ended  its first and last fetch (UTC)
--   backlinks                   links counted at crawl_ended
--   referring_domains           distinct source domains of those links
--   dofollow_referring_domains  ... of those links that passed credit
--   new_backlinks, lost_backlinks
--                               links found / lost since the crawl before ended
--   new_referring_domains, lost_referring_domains
--                               domains with a counted link now and none at the crawl
--                               before's end, and the reverse
--
-- Order: crawl_ended, crawl_id.
--
-- Example: SELECT crawl_id, referring_domains FROM history('example.com');

CREATE OR REPLACE TEMP MACRO history(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
WITH crawl AS (
    SELECT fetched.crawl_id, min(fetched.fetched_at) AS crawl_started,
           max(fetched.fetched_at) AS crawl_ended
    FROM fetches AS fetched
    GROUP BY fetched.crawl_id
),
crawl_window AS (
    SELECT crawl.*, lag(crawl.crawl_ended) OVER (ORDER BY crawl.crawl_ended, crawl.crawl_id)
               AS previous_end
    FROM crawl
),
span AS (
    SELECT any_span.*
    FROM link_spans(
        target,
        scope := scope,
        external_only := external_only,
        kind := kind,
        link_position := link_position
    ) AS any_span
),
counted AS (  -- each span alive at a crawl's end, and whether it passed credit then
    SELECT crawl_window.crawl_id, span.src_domain,
           followed_at(span.nofollow, span.ugc, span.sponsored,
                       span.span_nofollow_at,
                       crawl_window.crawl_ended) AS followed
    FROM crawl_window
    JOIN span
      ON span.span_found_at <= crawl_window.crawl_ended
     AND (span.span_lost_at IS NULL OR span.span_lost_at > crawl_window.crawl_ended)
),
kept AS (
    SELECT * FROM counted WHERE counted.followed OR NOT dofollow_only
),
totals AS (
    SELECT kept.crawl_id, count(*) AS backlinks,
           count(DISTINCT kept.src_domain) AS referring_domains,
           count(DISTINCT kept.src_domain) FILTER (WHERE kept.followed)
               AS dofollow_referring_domains
    FROM kept
    GROUP BY kept.crawl_id
),
moved AS (
    SELECT crawl_window.crawl_id,
           count(*) FILTER (
               WHERE span.span_found_at <= crawl_window.crawl_ended
                 AND (crawl_window.previous_end IS NULL
                      OR span.span_found_at > crawl_window.previous_end)
                 AND (NOT dofollow_only
                      OR followed_at(span.nofollow, span.ugc, span.sponsored,
                                     span.span_nofollow_at,
                                     span.span_found_at))
           ) AS new_backlinks,
           count(*) FILTER (
               WHERE span.span_lost_at <= crawl_window.crawl_ended
                 AND span.span_lost_at > crawl_window.previous_end
                 AND (NOT dofollow_only OR is_dofollow(span.nofollow, span.ugc, span.sponsored))
           ) AS lost_backlinks
    FROM crawl_window
    CROSS JOIN span
    GROUP BY crawl_window.crawl_id
),
domain_state AS (  -- per crawl and referring domain: whether a counted link remains
    SELECT crawl_window.crawl_id, crawl_window.crawl_ended, domain.src_domain,
           EXISTS (SELECT 1 FROM kept
                   WHERE kept.crawl_id = crawl_window.crawl_id
                     AND kept.src_domain = domain.src_domain) AS linked
    FROM crawl_window
    CROSS JOIN (SELECT DISTINCT span.src_domain FROM span) AS domain
),
domain_moves AS (
    SELECT domain_state.crawl_id,
           domain_state.linked,
           coalesce(lag(domain_state.linked) OVER (
               PARTITION BY domain_state.src_domain
               ORDER BY domain_state.crawl_ended, domain_state.crawl_id), false) AS linked_before
    FROM domain_state
),
domain_totals AS (
    SELECT domain_moves.crawl_id,
           count(*) FILTER (WHERE domain_moves.linked AND NOT domain_moves.linked_before)
               AS new_referring_domains,
           count(*) FILTER (WHERE domain_moves.linked_before AND NOT domain_moves.linked)
               AS lost_referring_domains
    FROM domain_moves
    GROUP BY domain_moves.crawl_id
)
SELECT
    crawl_window.crawl_id,
    crawl_window.crawl_started,
    crawl_window.crawl_ended,
    coalesce(totals.backlinks, 0) AS backlinks,
    coalesce(totals.referring_domains, 0) AS referring_domains,
    coalesce(totals.dofollow_referring_domains, 0) AS dofollow_referring_domains,
    coalesce(moved.new_backlinks, 0) AS new_backlinks,
    coalesce(moved.lost_backlinks, 0) AS lost_backlinks,
    coalesce(domain_totals.new_referring_domains, 0) AS new_referring_domains,
    coalesce(domain_totals.lost_referring_domains, 0) AS lost_referring_domains
FROM crawl_window
LEFT JOIN totals ON totals.crawl_id = crawl_window.crawl_id
LEFT JOIN moved ON moved.crawl_id = crawl_window.crawl_id
LEFT JOIN domain_totals ON domain_totals.crawl_id = crawl_window.crawl_id
ORDER BY crawl_window.crawl_ended, crawl_window.crawl_id;
