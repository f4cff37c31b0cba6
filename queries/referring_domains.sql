-- referring_domains(target): the registrable domains that link to the target.
--
-- Question: which sites link to this target, how strong are they, and how many
-- links does each give?
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL (as in backlinks.sql), and these filters of backlinks.sql:
--   seen_since      := NULL          TIMESTAMPTZ: seen_field at or after it
--   seen_until      := NULL          TIMESTAMPTZ: seen_field before it
--   seen_field      := 'first_seen'  VARCHAR: first_seen or last_seen
--   anchor_contains := NULL          VARCHAR: a piece of the anchor (or alt) text
--   src_tld         := NULL          VARCHAR: the linking domain's suffix: 'de', 'co.uk'
--   min_domain_rank := NULL          DOUBLE: the least domain_rank
--   src_lang        := NULL          VARCHAR: the linking pages' language ('en')
--   sitewide        := NULL          BOOLEAN: only sitewide links, or none of them
--   with_relevance  := false         fill avg_relevance (it reads page_terms)
--   The filters pick which links are counted: a domain is listed when one of its
--   links passes them all, with the links that do.
--
-- Columns:
--   src_domain           the linking registrable domain
--   domain_rank          its domain_rank, 0..100 (stored on the links by the build)
--   backlinks            links from it to the target
--   dofollow_backlinks   of which without rel nofollow / ugc / sponsored
--   first_seen           first crawl any of these links was seen in (UTC)
--   last_seen            last crawl any of these links was seen in (UTC)
--   sitewide             it links to the target from most of its crawled pages
--   ip, subnet           the address most of its linking pages resolved to, its /24
--   ips                  how many addresses its linking pages resolved to
--   domains_on_subnet    referring domains listed here on that subnet (this one too)
--   avg_relevance        the mean relevance of its links (TF-IDF cosine of linking and
--                        linked page, 0..1, 4 places; with_relevance := true; NULL
--                        when none has terms)
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
    as_of := NULL,
    seen_since := NULL,
    seen_until := NULL,
    seen_field := 'first_seen',
    anchor_contains := NULL,
    src_tld := NULL,
    min_domain_rank := NULL,
    src_lang := NULL,
    sitewide := NULL,
    with_relevance := false
) AS TABLE
WITH referrer AS (
    SELECT
        link.src_domain,
        any_value(link.src_domain_rank) AS domain_rank,
        count(*) AS backlinks,
        count(*) FILTER (WHERE is_dofollow(link.nofollow, link.ugc, link.sponsored))
            AS dofollow_backlinks,
        min(link.first_seen) AS first_seen,
        max(link.last_seen) AS last_seen,
        count(DISTINCT link.src_url) AS linking_pages,
        mode(link.src_ip) AS ip,
        count(DISTINCT link.src_ip) AS ips,
        -- only when asked: the lookups read page_terms (docs/audit.md)
        round(avg(terms_similarity(src_terms.terms, dst_terms.terms)), 4) AS avg_relevance
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
    ) AS link
    LEFT JOIN page_terms AS src_terms
           ON with_relevance AND src_terms.url_id = md5_number_lower(link.src_url)
    LEFT JOIN page_terms AS dst_terms
           ON with_relevance AND dst_terms.url_id = md5_number_lower(link.dst_url)
    GROUP BY link.src_domain
),
judged AS (
    SELECT referrer.*, is_sitewide(referrer.linking_pages, known.pages_crawled) AS is_sitewide
    FROM referrer
    LEFT JOIN domains AS known ON known.domain = referrer.src_domain
)
SELECT
    judged.src_domain,
    judged.domain_rank,
    judged.backlinks,
    judged.dofollow_backlinks,
    judged.first_seen,
    judged.last_seen,
    judged.is_sitewide AS sitewide,
    judged.ip,
    judged.ips,
    subnet_of(judged.ip) AS subnet,
    CASE WHEN judged.ip IS NOT NULL
         THEN count(*) OVER (PARTITION BY subnet_of(judged.ip)) END AS domains_on_subnet,
    judged.avg_relevance
FROM judged
WHERE sitewide IS NULL OR judged.is_sitewide = CAST(sitewide AS BOOLEAN)
ORDER BY judged.backlinks DESC, judged.src_domain;
