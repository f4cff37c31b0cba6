-- Facts about one link, and the standard link filters.
--
-- is_dofollow(nofollow, ugc, sponsored)
--     true when the link carries none of rel="nofollow", rel="ugc", rel="sponsored"
--     (search engines treat all three as "do not pass ranking credit").
--
-- is_broken(status, error)
--     true when a fetched URL answered 4xx or 5xx, or gave no HTTP answer at all
--     (status is null and a download error was recorded). A URL never fetched is unknown,
--     not broken: no row, or a row saying why it was not fetched (error kinds robots,
--     refused, skipped: core/schema.py UNFETCHED_ERROR_KINDS).
--
-- live_at(found_at, lost_at, past_spans, moment)
--     true when one of a link's spans covers the moment: it counted on every fetch of
--     its page from found_at until lost_at (docs/history.md).
--
-- followed_at(nofollow, ugc, sponsored, nofollow_at, moment)
--     whether the link passed credit at a moment within its latest span: before
--     nofollow_at it was followed; from then on, as its rel tokens say now.
--
-- filtered_edges(live_only, dofollow_only, external_only, kind, link_position, as_of,
--                credited)
--     every edge of the index that passes the standard filters; all query macros get
--     their links through it (by way of target_edges / source_edges), so these rules
--     exist once:
--       live_only     := true   only links seen on the latest fetch of their source page
--       dofollow_only := false  only links that pass credit (is_dofollow)
--       external_only := true   only links between two registrable domains
--       kind          := NULL   only this kind: a, img, area, redirect, canonical, refresh
--       link_position := NULL   only this place on the page: content, nav, header, footer, aside
--       as_of         := NULL   the index as it stood at this moment: links first seen
--                               later are left out, `live` says whether the link counted
--                               then (live_at), and its rel tokens are those it had then
--                               (followed_at). NULL: now.
--       credited      := false  also each link to a URL that moved, once more, as it
--                               counts for where it moved (the `credited_edges` view;
--                               target_edges asks for them, source_edges does not)
--     A kind or position not in these lists is an error (raised when a link is checked).
--     The parameter is link_position, not position: DuckDB 1.5's parser (the CLI on
--     PyPI) rejects `position` as a macro parameter name. The column stays `position`.
--     The lists are core.schema.KINDS and POSITIONS; tests/test_closed_lists.py checks
--     that every list spelled here says the same.
--     Columns: those of the edges view (core.schema.INDEX_EDGES) plus bucket, linked_url,
--     linked_domain, via_redirect and via_canonical (for a direct link: its dst_url, its
--     dst_domain, false, false).

CREATE OR REPLACE TEMP MACRO is_dofollow(nofollow, ugc, sponsored) AS
    NOT (nofollow OR ugc OR sponsored);

CREATE OR REPLACE TEMP MACRO is_broken(status, error) AS
    coalesce(status >= 400,
             error IS NOT NULL
             AND NOT coalesce(split_part(error, ':', 1) IN ('robots', 'refused', 'skipped'), false));

CREATE OR REPLACE TEMP MACRO live_at(found_at, lost_at, past_spans, moment) AS
    coalesce(found_at <= moment AND (lost_at IS NULL OR lost_at > moment), false)
    OR coalesce(len(list_filter(past_spans, lambda span: span.found_at <= moment
                                                         AND span.lost_at > moment)) > 0,
                false);

CREATE OR REPLACE TEMP MACRO followed_at(nofollow, ugc, sponsored, nofollow_at, moment) AS
    coalesce(moment < nofollow_at, false) OR is_dofollow(nofollow, ugc, sponsored);

CREATE OR REPLACE TEMP MACRO filtered_edges(
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    credited := false
) AS TABLE
SELECT link.*
FROM (
    SELECT
        edge.* REPLACE (
            CASE WHEN as_of IS NULL THEN edge.live
                 ELSE live_at(edge.found_at, edge.lost_at, edge.past_spans,
                              CAST(as_of AS TIMESTAMPTZ)) END AS live,
            edge.nofollow AND NOT coalesce(CAST(as_of AS TIMESTAMPTZ) < edge.nofollow_at, false)
                AS nofollow,
            edge.ugc AND NOT coalesce(CAST(as_of AS TIMESTAMPTZ) < edge.nofollow_at, false)
                AS ugc,
            edge.sponsored AND NOT coalesce(CAST(as_of AS TIMESTAMPTZ) < edge.nofollow_at, false)
                AS sponsored
        )
    FROM (
        SELECT direct.*, direct.dst_url AS linked_url, direct.dst_domain AS linked_domain,
               false AS via_redirect, false AS via_canonical
        FROM edges AS direct
        UNION ALL BY NAME
        SELECT moved.* FROM credited_edges AS moved WHERE credited
    ) AS edge
    WHERE as_of IS NULL OR edge.first_seen <= CAST(as_of AS TIMESTAMPTZ)
) AS link
WHERE (link.live OR NOT live_only)
  AND (is_dofollow(link.nofollow, link.ugc, link.sponsored) OR NOT dofollow_only)
  AND (link.external OR NOT external_only)
  AND (kind IS NULL OR link.kind = CASE
        WHEN kind IN ('a', 'img', 'area', 'redirect', 'canonical', 'refresh') THEN kind
        ELSE error(concat('unknown kind ''', kind,
                          ''': use a, img, area, redirect, canonical or refresh'))
      END)
  AND (link_position IS NULL OR link.position = CASE
        WHEN link_position IN ('content', 'nav', 'header', 'footer', 'aside') THEN link_position
        ELSE error(concat('unknown position ''', link_position,
                          ''': use content, nav, header, footer or aside'))
      END);
