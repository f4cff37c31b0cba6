-- toxic_domains(target): each referring domain's toxic signals and score, every part shown.
--
-- Question: which sites linking to me look like paid links, a link network or spam,
-- and why? (the input of a disavow file: `linkindex disavow`)
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL (as in backlinks.sql), and
--   brands    := NULL   VARCHAR[]: brand names besides the target's own (anchors.sql)
--   keywords  := NULL   VARCHAR[]: the money keywords an exact-match anchor equals
--
-- The score is the sum of seven parts, each a signal from 0 to 1 times its weight (the
-- weights add up to 100; docs/audit.md gives the reasons):
--   sitewide_footer  15  the domain links to the target from most of its pages
--                        (is_sitewide) and from their footers: the share of its links
--                        in a footer, counted only when sitewide
--   exact_anchor     15  the share of its links whose anchor is an exact keyword match
--   same_subnet      20  (n - 1) / 4, at most 1, where n is how many of the target's
--                        referring domains sit on this domain's subnet (/24): five or
--                        more domains on one subnet is the pattern of one owner
--   twin_profile     20  the Jaccard similarity of the sets of domains it links to and
--                        those of the most similar other referring domain, when 0.8 or
--                        more (both sets of 3 domains or more; destinations that more
--                        than 1000 of the target's referring domains link to are left
--                        out of the comparison, which can only lower it)
--   rank_gap         10  its rank far below what its outbound links would suggest:
--                        (20 * log10(1 + outlinks) - domain_rank - 20) / 40, in 0..1
--                        (20 points a decade, as the rank scale: docs/metrics.md)
--   outlink_heavy    10  its pages linking here carry many external links:
--                        (average src_external_links - 10) / 40, in 0..1
--   dofollow_only    10  none of its outbound links is nofollow, ugc or sponsored:
--                        the dofollow share of its outbound links, when it gives 20
--                        or more (sellers of links sell followed ones)
--
-- Columns:
--   src_domain            the referring registrable domain
--   toxic_score           0..100, 1 decimal: the sum of the *_points columns
--   reasons               the parts that scored, largest first ('same /24 20.0, ...')
--   backlinks             its links to the target (as the filters count them)
--   linking_pages         its pages linking to the target (VARCHAR[], sorted)
--   pages_crawled         its pages in the index (domains.pages_crawled; 0 if none)
--   domain_rank           its domain_rank, 0..100
--   ip, subnet            the address most of its linking pages resolved to, its subnet
--   sitewide              it links to the target from most of its crawled pages
--   footer_share          the share of its links to the target in a footer, 0..1
--   sitewide_footer_points  footer_share times 15 when sitewide, else 0
--   exact_anchor_share    the share of its links with an exact-match anchor, 0..1
--   exact_anchor_points   exact_anchor_share times 15
--   domains_on_subnet     the target's referring domains on its subnet (itself too)
--   same_subnet_points    (domains_on_subnet - 1) / 4, at most 1, times 20
--   twin_similarity       the Jaccard similarity of its outbound domains and those of
--                         the most similar other referring domain, 0..1
--   twin_domain           that most similar referring domain
--   twin_profile_points   twin_similarity times 20 when 0.8 or more, else 0
--   outlinks              its live external links (distinct destination domains)
--   rank_gap_points       the rank gap signal (above) times 10
--   avg_page_outlinks     the mean external links of its pages linking to the target
--   outlink_heavy_points  the outlink_heavy signal (above) times 10
--   dofollow_out_share    the dofollow share of its outbound links, 0..1, when it gives
--                         20 or more, else 0
--   dofollow_only_points  dofollow_out_share times 10
--
-- Order: highest toxic_score first, then src_domain.
--
-- Example: SELECT src_domain, toxic_score, reasons FROM toxic_domains('example.com',
--              keywords := ['cheap widgets']) WHERE toxic_score >= 50;

CREATE OR REPLACE TEMP MACRO toxic_domains(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL,
    brands := NULL,
    keywords := NULL
) AS TABLE
WITH link AS (  -- each anchor text classified once (classified_links), not per link
    SELECT
        any_link.src_domain, any_link.src_url, any_link.src_ip, any_link.position,
        any_link.src_domain_rank, any_link.src_external_links, any_link.anchor_class
    FROM classified_links(
        target,
        scope := scope,
        live_only := live_only,
        dofollow_only := dofollow_only,
        external_only := external_only,
        kind := kind,
        link_position := link_position,
        as_of := as_of,
        brands := brands,
        keywords := keywords
    ) AS any_link
),
referrer AS (
    SELECT
        link.src_domain,
        count(*) AS backlinks,
        list_sort(list(DISTINCT link.src_url)) AS linking_pages,
        any_value(link.src_domain_rank) AS domain_rank,
        mode(link.src_ip) AS ip,
        count(*) FILTER (WHERE link.position = 'footer') / count(*) AS footer_share,
        count(*) FILTER (WHERE link.anchor_class = 'exact') / count(*) AS exact_anchor_share,
        coalesce(avg(link.src_external_links), 0) AS avg_page_outlinks
    FROM link
    GROUP BY link.src_domain
),
known AS (  -- the referring domains' rows in domains
    SELECT known_domain.domain, known_domain.pages_crawled, known_domain.outlinks
    FROM domains AS known_domain
    WHERE known_domain.domain IN (SELECT referrer.src_domain FROM referrer)
),
outbound AS (  -- where each referring domain links (domain_links), all its targets
    SELECT out_link.src_domain, out_link.dst_domain, out_link.links, out_link.dofollow_links
    FROM domain_links AS out_link
    WHERE out_link.src_domain IN (SELECT referrer.src_domain FROM referrer)
),
profile_size AS (
    SELECT outbound.src_domain, count(*) AS linked, sum(outbound.links) AS out_links,
           sum(outbound.dofollow_links) AS out_dofollow
    FROM outbound
    GROUP BY outbound.src_domain
),
compared AS (  -- destinations worth comparing: not linked from nearly every referrer
    SELECT outbound.dst_domain
    FROM outbound
    GROUP BY outbound.dst_domain
    HAVING count(*) <= 1000
),
shared AS (
    SELECT mine.src_domain, theirs.src_domain AS other, count(*) AS n_shared
    FROM outbound AS mine
    JOIN outbound AS theirs
      ON theirs.dst_domain = mine.dst_domain AND theirs.src_domain <> mine.src_domain
    WHERE mine.dst_domain IN (SELECT compared.dst_domain FROM compared)
    GROUP BY mine.src_domain, theirs.src_domain
),
twin AS (
    SELECT shared.src_domain,
           max(shared.n_shared / (mine.linked + theirs.linked - shared.n_shared))
               AS twin_similarity,
           arg_max(shared.other, (shared.n_shared / (mine.linked + theirs.linked
                                   - shared.n_shared), shared.other)) AS twin_domain
    FROM shared
    JOIN profile_size AS mine ON mine.src_domain = shared.src_domain
    JOIN profile_size AS theirs ON theirs.src_domain = shared.other
    WHERE mine.linked >= 3 AND theirs.linked >= 3
    GROUP BY shared.src_domain
),
subnet AS (
    SELECT subnet_of(referrer.ip) AS subnet, count(*) AS domains_on_subnet
    FROM referrer
    WHERE referrer.ip IS NOT NULL
    GROUP BY subnet_of(referrer.ip)
),
signal AS (
    SELECT
        referrer.*,
        coalesce(known.pages_crawled, 0) AS pages_crawled,
        coalesce(known.outlinks, 0) AS outlinks,
        subnet_of(referrer.ip) AS subnet,
        is_sitewide(len(referrer.linking_pages), known.pages_crawled) AS sitewide,
        coalesce(subnet.domains_on_subnet, 0) AS domains_on_subnet,
        coalesce(twin.twin_similarity, 0.0) AS twin_similarity,
        twin.twin_domain,
        CASE WHEN coalesce(profile_size.out_links, 0) >= 20
             THEN profile_size.out_dofollow / profile_size.out_links ELSE 0.0 END
            AS dofollow_out_share
    FROM referrer
    LEFT JOIN known ON known.domain = referrer.src_domain
    LEFT JOIN subnet ON subnet.subnet = subnet_of(referrer.ip)
    LEFT JOIN twin ON twin.src_domain = referrer.src_domain
    LEFT JOIN profile_size ON profile_size.src_domain = referrer.src_domain
),
points AS (
    SELECT
        signal.*,
        round(15 * CASE WHEN signal.sitewide THEN signal.footer_share ELSE 0 END, 1)
            AS sitewide_footer_points,
        round(15 * signal.exact_anchor_share, 1) AS exact_anchor_points,
        round(20 * least(1.0, greatest(signal.domains_on_subnet - 1, 0) / 4.0), 1)
            AS same_subnet_points,
        round(20 * CASE WHEN signal.twin_similarity >= 0.8 THEN signal.twin_similarity
                        ELSE 0 END, 1) AS twin_profile_points,
        round(10 * least(1.0, greatest(0.0, (20 * log10(1 + signal.outlinks)
                                             - signal.domain_rank - 20) / 40)), 1)
            AS rank_gap_points,
        round(10 * least(1.0, greatest(0.0, (signal.avg_page_outlinks - 10) / 40)), 1)
            AS outlink_heavy_points,
        round(10 * signal.dofollow_out_share, 1) AS dofollow_only_points
    FROM signal
)
SELECT
    points.src_domain,
    round(points.sitewide_footer_points + points.exact_anchor_points
          + points.same_subnet_points + points.twin_profile_points + points.rank_gap_points
          + points.outlink_heavy_points + points.dofollow_only_points, 1) AS toxic_score,
    array_to_string(list_transform(
        list_sort(list_filter([
            {'points': points.same_subnet_points, 'part': 'same subnet'},
            {'points': points.twin_profile_points, 'part': 'twin profile'},
            {'points': points.sitewide_footer_points, 'part': 'sitewide footer'},
            {'points': points.exact_anchor_points, 'part': 'exact anchors'},
            {'points': points.rank_gap_points, 'part': 'rank gap'},
            {'points': points.outlink_heavy_points, 'part': 'outlink heavy'},
            {'points': points.dofollow_only_points, 'part': 'dofollow only'}
        ], lambda p: p.points > 0), 'DESC'),
        lambda p: p.part || ' ' || printf('%.1f', p.points)), ', ') AS reasons,
    points.backlinks,
    points.linking_pages,
    points.pages_crawled,
    points.domain_rank,
    points.ip,
    points.subnet,
    points.sitewide,
    round(points.footer_share, 4) AS footer_share,
    points.sitewide_footer_points,
    round(points.exact_anchor_share, 4) AS exact_anchor_share,
    points.exact_anchor_points,
    points.domains_on_subnet,
    points.same_subnet_points,
    round(points.twin_similarity, 4) AS twin_similarity,
    points.twin_domain,
    points.twin_profile_points,
    points.outlinks,
    points.rank_gap_points,
    round(points.avg_page_outlinks, 2) AS avg_page_outlinks,
    points.outlink_heavy_points,
    round(points.dofollow_out_share, 4) AS dofollow_out_share,
    points.dofollow_only_points
FROM points
ORDER BY toxic_score DESC, points.src_domain;
