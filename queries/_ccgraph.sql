-- Helpers over the active Common Crawl web graph (`linkindex import-cc-graph`,
-- docs/ccgraph.md): the views cc_vertices (one row per domain of the release, with its
-- ranks) and cc_links (one row per linking/linked domain pair, bucketed like edges),
-- and cc_release(), cc_buckets(). Without an imported graph the views are empty.
--
-- The graph counts every link of any kind and ignores rel (nofollow, ugc and sponsored
-- links count): its rows say source = the release, and no link-level filter applies to
-- them (cc_applies).

-- cc_rev(domain): 'example.co.uk' -> 'uk.co.example', as the release names vertices.
CREATE OR REPLACE TEMP MACRO cc_rev(domain) AS
    array_to_string(list_reverse(string_split(domain, '.')), '.');

-- cc_applies(...): whether graph rows answer a query with these filters: scope domain,
-- live links, and no filter the graph cannot judge (dofollow, kind, position, as_of).
CREATE OR REPLACE TEMP MACRO cc_applies(scope, live_only, dofollow_only, kind, link_position,
                                        as_of) AS
    scope = 'domain' AND live_only AND NOT dofollow_only AND kind IS NULL
    AND link_position IS NULL AND as_of IS NULL;

-- cc_referrers(domain): the registrable domains the graph says link to `domain`, with
-- their harmonic-centrality and PageRank positions in the release (1 = first). One
-- bucket, one vertex lookup (cc_vertices is sorted by rev, so the lookup is pruned).
CREATE OR REPLACE TEMP MACRO cc_referrers(domain) AS TABLE
SELECT link.src_domain, link.src_harmonic_pos, link.src_pr_pos
FROM cc_links AS link
WHERE link.bucket = bucket_of(domain, cc_buckets())
  AND link.dst_id = (SELECT vertex.id FROM cc_vertices AS vertex
                     WHERE vertex.rev = cc_rev(domain));

-- cc_domain(domain): the domain's own row of the release (its ranks), or none.
CREATE OR REPLACE TEMP MACRO cc_domain(domain) AS TABLE
SELECT vertex.* FROM cc_vertices AS vertex WHERE vertex.rev = cc_rev(domain);
