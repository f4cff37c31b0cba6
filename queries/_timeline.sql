-- A link's life, span by span (docs/history.md).
--
-- A span is a run of consecutive fetches of the link's source page on which the link
-- counted: it was on the page, and the page answered 2xx, was not noindex and named no
-- other URL canonical (a redirect link, like a canonical one, counts whatever the page
-- says). A span is found on its first fetch and lost on the next fetch of the page on
-- which the link did not count, for a reason (core.schema.LOST_REASONS). The index keeps each
-- link's latest span in found_at, lost_at, lost_reason, lost_to (nofollow_at: from
-- when it stopped passing credit within it) and the ones before in past_spans.
--
-- link_spans(target, scope, dofollow_only, external_only, kind, link_position)
--     the links to a target (live or not; as target_edges), one row per span:
--     the link's columns plus span_found_at, span_lost_at, span_lost_reason,
--     span_lost_to, span_nofollow_at (nofollow_at for the latest span, NULL before:
--     what followed_at needs), span_number (1: the link's first span) and latest_span
--     (the span is found_at .. lost_at). A link never counted has no span and no row.
--     dofollow_only is not applied here: each caller knows at what moment it asks.
--
-- known_crawl(crawl)
--     the crawl id, when the index holds a fetch of it; else an error naming it.

CREATE OR REPLACE TEMP MACRO link_spans(
    target,
    scope := 'domain',
    external_only := true,
    kind := NULL,
    link_position := NULL
) AS TABLE
SELECT
    spanned.* EXCLUDE (spans, span),
    spanned.span.found_at AS span_found_at,
    spanned.span.lost_at AS span_lost_at,
    spanned.span.lost_reason AS span_lost_reason,
    spanned.span.lost_to AS span_lost_to,
    CASE WHEN spanned.span_number = len(spanned.spans) THEN spanned.nofollow_at END
        AS span_nofollow_at,
    spanned.span_number,
    spanned.span_number = len(spanned.spans) AS latest_span
FROM (
    SELECT
        with_spans.*,
        unnest(with_spans.spans) AS span,
        generate_subscripts(with_spans.spans, 1) AS span_number
    FROM (
        SELECT
            link.*,
            list_concat(
                coalesce(link.past_spans, []),
                [{'found_at': link.found_at, 'lost_at': link.lost_at,
                  'lost_reason': link.lost_reason, 'lost_to': link.lost_to}]
            ) AS spans
        FROM target_edges(
            target,
            scope := scope,
            live_only := false,
            dofollow_only := false,
            external_only := external_only,
            kind := kind,
            link_position := link_position
        ) AS link
        WHERE link.found_at IS NOT NULL
    ) AS with_spans
) AS spanned;

CREATE OR REPLACE TEMP MACRO known_crawl(crawl) AS
    CASE
        WHEN EXISTS (SELECT 1 FROM fetches AS known WHERE known.crawl_id = crawl) THEN crawl
        ELSE error(concat('unknown crawl ''', crawl, ''': the index holds no fetch of it'))
    END;
