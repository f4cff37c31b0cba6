-- The links to a target as an analyst narrows them down, and their anchors' classes.
--
-- target_links(target, scope, live_only, dofollow_only, external_only, kind,
--              link_position, as_of, seen_since, seen_until, seen_field, anchor_contains,
--              src_tld, min_domain_rank, src_lang)
--     the rows of target_edges (_target.sql: the standard filters) plus these columns,
--       anchor_text    the anchor text; for an image link with no text, its alt text
--                      (the text search engines read for an image; '' if none)
--       seen_at        the date of the link seen_field names
--       from_homepage  the linking page is its host's home page (is_homepage, _audit.sql)
--     then only the links that pass each of these filters (NULL: not applied):
--       seen_since := NULL           the link's seen_field is at or after this moment
--       seen_until := NULL           ... and before this moment (excluded)
--       seen_field := 'first_seen'   which date the two compare: first_seen or last_seen
--       anchor_contains := NULL      anchor_text contains it, upper and lower case alike
--       src_tld := NULL              the source domain's suffix after its first label
--                                    ('de' for shop.de, 'co.uk' for shop.co.uk; a
--                                    leading dot and case are ignored)
--       min_domain_rank := NULL      src_domain_rank at least this (0..100)
--       src_lang := NULL             the linking page's language (<html lang>) is this
--                                    one, or a variant of it ('en' takes 'en-GB'), in
--                                    any case
--     A seen_field other than first_seen or last_seen, or a min_domain_rank outside
--     0..100, is an error, raised whether or not any link is there to check.
--
-- classified_links(target, the same parameters, brands, keywords)
--     the rows of target_links plus anchor_class: anchor_class(...) of _anchors.sql with
--     the target's brand token (the first label of target_domain(target, scope)) and
--     the user's brands and keywords (VARCHAR[] or NULL; docs/anchors.md). Each anchor
--     text is classified once, not once per link (a target has far fewer anchor texts
--     than links), and joined back to its links.

CREATE OR REPLACE TEMP MACRO target_links(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    seen_since := NULL,
    seen_until := NULL,
    seen_field := 'first_seen',
    anchor_contains := NULL,
    src_tld := NULL,
    min_domain_rank := NULL,
    src_lang := NULL
) AS TABLE
SELECT link.*
FROM (
    SELECT
        edge.*,
        is_homepage(edge.src_url) AS from_homepage,
        CASE WHEN edge.kind = 'img' AND edge.anchor = '' THEN coalesce(edge.alt, '')
             ELSE edge.anchor END AS anchor_text,
        CASE seen_field WHEN 'first_seen' THEN edge.first_seen
                        WHEN 'last_seen' THEN edge.last_seen END AS seen_at
    FROM target_edges(
        target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of
    ) AS edge
) AS link
WHERE (seen_since IS NULL OR link.seen_at >= CAST(seen_since AS TIMESTAMPTZ))
  AND (seen_until IS NULL OR link.seen_at < CAST(seen_until AS TIMESTAMPTZ))
  AND (anchor_contains IS NULL
       OR contains(lower(link.anchor_text), lower(CAST(anchor_contains AS VARCHAR))))
  AND (src_tld IS NULL
       OR substr(link.src_domain, strpos(link.src_domain, '.') + 1)
          = ltrim(lower(trim(CAST(src_tld AS VARCHAR))), '.'))
  AND (min_domain_rank IS NULL
       OR link.src_domain_rank >= CAST(min_domain_rank AS DOUBLE))
  AND (src_lang IS NULL
       OR lower(link.src_lang) = lower(trim(CAST(src_lang AS VARCHAR)))
       OR starts_with(lower(link.src_lang), lower(trim(CAST(src_lang AS VARCHAR))) || '-'))
  AND (SELECT CASE  -- the values checked once, not per link
        WHEN seen_field IS NULL OR seen_field NOT IN ('first_seen', 'last_seen')
            THEN error(concat('seen_field must be first_seen or last_seen, not ',
                              coalesce('''' || seen_field || '''', 'NULL')))
        WHEN NOT coalesce(CAST(min_domain_rank AS DOUBLE) BETWEEN 0 AND 100,
                          min_domain_rank IS NULL)
            THEN error(concat('min_domain_rank must be from 0 to 100, not ',
                              CAST(min_domain_rank AS VARCHAR)))
        ELSE true
      END);

CREATE OR REPLACE TEMP MACRO classified_links(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    seen_since := NULL,
    seen_until := NULL,
    seen_field := 'first_seen',
    anchor_contains := NULL,
    src_tld := NULL,
    min_domain_rank := NULL,
    src_lang := NULL,
    brands := NULL,
    keywords := NULL
) AS TABLE
WITH link AS MATERIALIZED (  -- planned and read once (planning it twice cost more)
    SELECT *
    FROM target_links(
        target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of,
        seen_since := seen_since,
        seen_until := seen_until,
        seen_field := seen_field,
        anchor_contains := anchor_contains,
        src_tld := src_tld,
        min_domain_rank := min_domain_rank,
        src_lang := src_lang
    )
),
asked AS (  -- what each anchor is compared with, in words, once per query
    SELECT brand_forms(brand_token(target_domain(target, scope)), brands) AS brand_words,
           keyword_words(keywords) AS keyword_words
),
generic AS (SELECT DISTINCT unnest(generic_words()) AS words),
class AS (
    SELECT
        texts.anchor_text,
        texts.image,
        anchor_class_of(texts.anchor_text, texts.words, texts.kind,
                        asked.brand_words, asked.keyword_words, generic.words IS NOT NULL)
            AS anchor_class
    FROM (
        SELECT grouped.*, anchor_words(grouped.anchor_text) AS words
        FROM (
            SELECT link.anchor_text, link.kind = 'img' AS image, any_value(link.kind) AS kind
            FROM link
            GROUP BY link.anchor_text, link.kind = 'img'
        ) AS grouped
    ) AS texts
    CROSS JOIN asked
    LEFT JOIN generic ON generic.words = texts.words
)
SELECT link.*, class.anchor_class
FROM link
JOIN class ON class.anchor_text = link.anchor_text AND class.image = (link.kind = 'img');
