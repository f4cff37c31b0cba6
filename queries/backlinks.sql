-- backlinks(target): every link pointing at the target, one row per link.
--
-- Question: which pages link to this site / host / URL / section, with what anchor
-- text, of what kind, where on the page, and since when?
--
-- Parameters:
--   target                  the domain, host, URL or URL prefix (see scope)
--   scope         := 'domain'  'domain' (with subdomains), 'host', 'exact' (URL) or 'prefix'
--   live_only     := true      only links counted on the latest fetch of their page
--   dofollow_only := false     only links without rel nofollow / ugc / sponsored
--   external_only := true      only links from other registrable domains
--   kind          := NULL      a, img, area, redirect, canonical or refresh
--   link_position := NULL      content, nav, header, footer or aside
--   as_of         := NULL      a moment: the index as it stood then (live, rel)
--                              (docs/history.md)
--   brands        := NULL      VARCHAR[]: brand names besides the target's own, for
--                              anchor_class (docs/anchors.md)
--   keywords      := NULL      VARCHAR[]: the keywords anchor_class calls exact / partial
--   group_similar := false     one link per referring domain: its best, the one with
--                              the highest src_page_rank, then dofollow before not,
--                              then the first src_url (then dst_url, kind, anchor)
--   seen_since    := NULL      TIMESTAMPTZ: only links whose seen_field is at or after it
--   seen_until    := NULL      TIMESTAMPTZ: only links whose seen_field is before it
--   seen_field    := 'first_seen'  VARCHAR: the date seen_since / seen_until compare,
--                              first_seen or last_seen
--   anchor_contains := NULL    VARCHAR: only links whose anchor (an image's alt text)
--                              contains it, upper and lower case alike
--   src_tld       := NULL      VARCHAR: only links from domains under this suffix, the
--                              part after the domain's first label: 'de', 'co.uk'
--   min_domain_rank := NULL    DOUBLE: only links whose src_domain_rank is at least it
--   src_lang      := NULL      VARCHAR: only links from pages in this language ('en'
--                              takes 'en-GB' too)
--   sitewide      := NULL      BOOLEAN: only sitewide links (true) or none of them (false)
--   with_relevance := false    fill the relevance column (it reads page_terms: about
--                              40 ms more for a median target at 10M edges)
--                              (these filters: queries/_target_links.sql)
--
-- Columns:
--   src_url, src_domain       the linking page and its registrable domain
--   src_domain_rank           domain_rank of src_domain, 0..100 (stored on the link by the build)
--   src_page_rank             page_rank of src_url, 0..100 (likewise; docs/metrics.md)
--   dst_url                   the target page the link counts for
--   linked_url                the URL on the page: dst_url, or a URL that moved there
--   via_redirect              it reached dst_url through a permanent redirect (301, 308)
--   via_canonical             ... through a page naming dst_url canonical (both can hold)
--   anchor                    the anchor text as stored ('' for redirects and canonicals)
--   anchor_class              its class: branded, exact, partial, naked_url, generic,
--                             image, empty or other (docs/anchors.md)
--   kind, alt                 link kind; alt text of a linked image
--   nofollow, ugc, sponsored  rel tokens on the link
--   position                  where on the page (NULL for redirect / canonical / refresh / unknown)
--   first_seen, last_seen     first and last crawl the link was seen in (UTC)
--   live                      counted on the latest fetch of src_url (docs/history.md)
--   found_at, lost_at, lost_reason
--                             its latest span: found, and (with live_only := false) when
--                             and why it was lost (docs/history.md)
--   sitewide                  its domain links to the target from most of its crawled
--                             pages, counting the pages whose links this query counts
--                             (is_sitewide; docs/audit.md)
--   from_homepage             the linking page is its host's home page
--   src_external_links        external links on the linking page (its latest fetch)
--   src_lang                  the linking page's language (<html lang>)
--   src_ip, src_subnet        the address its site resolved to, and that address's /24
--   relevance                 TF-IDF cosine of the linking and the linked page, 0..1
--                             (with_relevance := true; NULL when either page has no
--                             terms; docs/audit.md)
--   text_before, text_after   the text around a content link (crawls with --snippets)
--
-- Order: strongest source domain first, then src_url, dst_url, kind, anchor, linked_url.
-- With group_similar, the order of the links kept.
--
-- Example: SELECT * FROM backlinks('example.com', dofollow_only := true) LIMIT 100;
--          SELECT * FROM backlinks('example.com', group_similar := true,
--                                  min_domain_rank := 30, src_tld := 'de');

CREATE OR REPLACE TEMP MACRO backlinks(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    brands := NULL,
    keywords := NULL,
    group_similar := false,
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
WITH link AS MATERIALIZED (  -- read by source and by the rows below
    SELECT classified.*
    FROM classified_links(
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
        src_lang := src_lang,
        brands := brands,
        keywords := keywords
    ) AS classified
),
source AS MATERIALIZED (  -- each linking domain: does it link from most of its crawled
    -- pages? Materialized, so domains is joined to the domains, not to every link
    SELECT counted.src_domain, is_sitewide(counted.pages, known.pages_crawled) AS sitewide
    FROM (
        SELECT link.src_domain, count(DISTINCT link.src_url) AS pages
        FROM link
        GROUP BY link.src_domain
    ) AS counted
    LEFT JOIN domains AS known ON known.domain = counted.src_domain
)
SELECT
    link.src_url,
    link.src_domain,
    link.src_domain_rank,
    link.src_page_rank,
    link.dst_url,
    link.linked_url,
    link.via_redirect,
    link.via_canonical,
    link.anchor,
    link.anchor_class,
    link.kind,
    link.alt,
    link.nofollow,
    link.ugc,
    link.sponsored,
    link.position,
    link.first_seen,
    link.last_seen,
    link.live,
    link.found_at,
    link.lost_at,
    link.lost_reason,
    source.sitewide,
    link.from_homepage,
    link.src_external_links,
    link.src_lang,
    link.src_ip,
    subnet_of(link.src_ip) AS src_subnet,
    -- only when asked: the lookups read page_terms (docs/audit.md)
    terms_similarity(src_terms.terms, dst_terms.terms) AS relevance,
    link.text_before,
    link.text_after
FROM link
JOIN source ON source.src_domain = link.src_domain
LEFT JOIN page_terms AS src_terms
       ON with_relevance AND src_terms.url_id = md5_number_lower(link.src_url)
LEFT JOIN page_terms AS dst_terms
       ON with_relevance AND dst_terms.url_id = md5_number_lower(link.dst_url)
WHERE sitewide IS NULL OR source.sitewide = CAST(sitewide AS BOOLEAN)
QUALIFY NOT group_similar
    OR row_number() OVER (
        PARTITION BY link.src_domain
        ORDER BY link.src_page_rank DESC,
                 is_dofollow(link.nofollow, link.ugc, link.sponsored) DESC,
                 link.src_url, link.dst_url, link.kind, link.anchor, link.linked_url
    ) = 1
ORDER BY
    link.src_domain_rank DESC,
    link.src_url,
    link.dst_url,
    link.kind,
    link.anchor,
    link.linked_url;
