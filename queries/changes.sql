-- changes(target, crawl_a, crawl_b): how the links to the target changed from one crawl to another.
--
-- Question: between crawl A and crawl B, which links were gained, which were lost and
-- why, and which could not be checked?
--
-- Each link's state in a crawl is read on that crawl's (latest) fetch of its source
-- page: it counted there or not (docs/history.md). Rows:
--   'new'      not counted in A (or its page not fetched in A), counted in B
--   'lost'     counted in A; B fetched the page and the link did not count: lost_reason
--              is what that fetch said (page_gone, page_error, page_redirects,
--              page_noindex, canonical_changed, fetch_failed; link_removed when the page
--              was fine), lost_to where a redirect or new canonical points; or counted
--              in both but passing credit in A and not in B: 'now_nofollow'
--   'unknown'  counted in A, its page not fetched in B: lost_reason 'not_recrawled'
--              (not lost: nobody looked)
--
-- Parameters:
--   target, scope := 'domain'   as in backlinks.sql
--   crawl_a, crawl_b            crawl ids (linkindex crawls lists them); an id the index
--                               holds no fetch of is an error
--   dofollow_only := false      only links that passed credit in the crawl that had them
--   external_only := true, kind := NULL, link_position := NULL
--                               as in backlinks.sql
--   live_only := true, as_of := NULL
--                               accepted for uniformity and ignored: the crawls say when
--
-- Columns:
--   change                    'new', 'lost' or 'unknown'
--   lost_reason, lost_to      why (NULL for 'new')
--   fetched_a, fetched_b      the fetches of src_url compared (NULL: not fetched)
--   src_url, src_domain       the linking page and its registrable domain
--   src_domain_rank           domain_rank of src_domain, 0..100
--   dst_url, anchor, kind     the target page, anchor text, link kind
--   nofollow, ugc, sponsored  rel tokens on the link (as last seen)
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   live                      counted on the latest fetch of src_url
--
-- Order: change, strongest source domain, src_url, dst_url, kind, anchor.
--
-- Example: SELECT * FROM changes('example.com', 'c1', 'c2') WHERE change = 'lost';

CREATE OR REPLACE TEMP MACRO changes(
    target,
    crawl_a,
    crawl_b,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
WITH link AS (
    SELECT any_link.*
    FROM target_edges(
        target,
        scope := scope,
        live_only := false,
        dofollow_only := false,
        external_only := external_only,
        kind := kind,
        link_position := link_position
    ) AS any_link
),
fetch_a AS (
    SELECT fetched.url, max(fetched.fetched_at) AS fetched_at
    FROM fetches AS fetched
    WHERE fetched.crawl_id = known_crawl(crawl_a)
    GROUP BY fetched.url
),
fetch_b AS (
    SELECT fetched.url, max(fetched.fetched_at) AS fetched_at,
           arg_max(fetched.outcome, fetched.fetched_at) AS outcome,
           arg_max(fetched.outcome_to, fetched.fetched_at) AS outcome_to
    FROM fetches AS fetched
    WHERE fetched.crawl_id = known_crawl(crawl_b)
    GROUP BY fetched.url
),
state AS (
    SELECT
        link.*,
        a.fetched_at AS fetched_a,
        b.fetched_at AS fetched_b,
        b.outcome,
        b.outcome_to,
        coalesce(live_at(link.found_at, link.lost_at, link.past_spans, a.fetched_at), false)
            AS in_a,
        coalesce(live_at(link.found_at, link.lost_at, link.past_spans, b.fetched_at), false)
            AS in_b,
        followed_at(link.nofollow, link.ugc, link.sponsored, link.nofollow_at, a.fetched_at)
            AS followed_a,
        followed_at(link.nofollow, link.ugc, link.sponsored, link.nofollow_at, b.fetched_at)
            AS followed_b
    FROM link
    LEFT JOIN fetch_a AS a ON a.url = link.src_url
    LEFT JOIN fetch_b AS b ON b.url = link.src_url
),
change AS (
    SELECT
        CASE WHEN NOT state.in_a THEN 'new'
             WHEN state.fetched_b IS NULL THEN 'unknown'
             ELSE 'lost' END AS change,
        CASE WHEN NOT state.in_a THEN NULL
             WHEN state.fetched_b IS NULL THEN 'not_recrawled'
             WHEN state.in_b THEN 'now_nofollow'
             WHEN state.outcome = 'ok' THEN 'link_removed'
             ELSE state.outcome END AS lost_reason,
        CASE WHEN state.in_a AND NOT state.in_b THEN state.outcome_to END AS lost_to,
        state.*
    FROM state
    WHERE (state.in_a <> state.in_b
           OR (state.in_a AND state.in_b AND state.followed_a AND NOT state.followed_b)
           OR (state.in_a AND state.fetched_b IS NULL))
      AND (NOT dofollow_only
           OR CASE WHEN state.in_a THEN state.followed_a ELSE state.followed_b END)
)
SELECT
    change.change,
    change.lost_reason,
    change.lost_to,
    change.fetched_a,
    change.fetched_b,
    change.src_url,
    change.src_domain,
    change.src_domain_rank,
    change.dst_url,
    change.anchor,
    change.kind,
    change.nofollow,
    change.ugc,
    change.sponsored,
    change.first_seen,
    change.last_seen,
    change.live
FROM change
ORDER BY
    change.change,
    change.src_domain_rank DESC,
    change.src_url,
    change.dst_url,
    change.kind,
    change.anchor;
