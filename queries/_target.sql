-- Matching a target, and the links pointing at it (or leaving it).
--
-- A target is named by a scope:
--   'domain'  a registrable domain, with all its subdomains   example.com
--   'host'    one host name, exactly                          www.example.com
--   'exact'   one URL, exactly                                https://example.com/page
--   'prefix'  every URL that starts with the prefix           https://example.com/blog/
-- URLs and hosts are compared as the crawler stored them: lower-case host, IDNA
-- (punycode), no default port, an empty path written as "/". The linkindex command
-- normalises what you type; in a DuckDB shell, type the stored form. A prefix must
-- name the scheme and the whole host ('https://example.com/b', not 'https://exam').
-- The scopes are core.schema.TARGET_SCOPES (tests/test_closed_lists.py compares).
--
-- url_host(url)
--     the host of a stored URL (no port).
--
-- target_domain(target, scope)
--     the registrable domain of a target: the target itself for scope 'domain'; for
--     the other scopes, the domain of its host, looked up in `hosts` (so no Public
--     Suffix List is needed here). NULL for a host the index has never seen. An
--     unknown scope is an error.
--
-- matches_target(url, host, domain, target, scope)
--     true when a URL (with its host and domain) belongs to the target.
--
-- target_edges(target, scope, live_only, dofollow_only, external_only, kind, link_position,
--              as_of)
--     the links pointing at a target, after the standard filters (see _links.sql).
--     Also constrains bucket and dst_domain to the target's domain: the index is
--     bucketed and sorted by dst_domain, so DuckDB reads one bucket folder and only
--     the row groups of that domain. Columns: those of filtered_edges, linked_url,
--     via_redirect and via_canonical.
--     For scope 'domain' the bucket is a constant once the target is known (a literal
--     or a bound parameter alike) and DuckDB skips the other buckets' files when it
--     plans the query. For the other scopes the domain comes from `hosts` at run time;
--     DuckDB 2.0 passes it to the edges scan as a dynamic filter, which also skips the
--     other buckets' files (check with EXPLAIN ANALYZE: "Total Files Read").
--     Credit: a link to a URL that moved counts for where it went (`credits`: a
--     permanent redirect or another canonical, chains followed). Such a link is one
--     more row (the build writes them in credited.parquet, the `credited_edges` view,
--     bucketed by the domain credited), whose dst_url, dst_host, dst_domain are those of
--     the URL credited, `external` says whether it comes from another domain than that
--     one, linked_url is the URL on the page, and via_redirect / via_canonical say how.
--     A link to a URL of the target itself counts once, as it is. A direct row has
--     linked_url = dst_url and both flags false.
--
-- source_edges(target, scope, live_only, dofollow_only, external_only, kind, link_position,
--              as_of)
--     the links found on the pages of a target (the target matches the source), after
--     the standard filters. The index is not sorted by source: this reads every bucket.

CREATE OR REPLACE TEMP MACRO url_host(url) AS
    regexp_extract(url, '^[A-Za-z][A-Za-z0-9+.-]*://(\[[^\]]*\]|[^/:?#]*)', 1);

CREATE OR REPLACE TEMP MACRO target_domain(target, scope) AS
    CASE
        WHEN scope = 'domain' THEN target
        WHEN scope IN ('domain', 'host', 'exact', 'prefix') THEN (  -- the other known scopes
            SELECT any_value(known.domain)
            FROM hosts AS known
            WHERE scope <> 'domain'  -- lets DuckDB skip this lookup for scope 'domain'
              AND known.host = CASE WHEN scope = 'host' THEN target ELSE url_host(target) END
        )
        ELSE error(concat('unknown scope ''', scope, ''': use domain, host, exact or prefix'))
    END;

CREATE OR REPLACE TEMP MACRO matches_target(url, host, domain, target, scope) AS
    CASE scope
        WHEN 'domain' THEN domain = target
        WHEN 'host' THEN host = target
        WHEN 'exact' THEN url = target
        WHEN 'prefix' THEN starts_with(url, target)
        ELSE error(concat('unknown scope ''', scope, ''': use domain, host, exact or prefix'))
    END;

CREATE OR REPLACE TEMP MACRO target_edges(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
SELECT link.*
FROM filtered_edges(
    live_only := live_only,
    dofollow_only := dofollow_only,
    external_only := external_only,
    kind := kind,
    link_position := link_position,
    as_of := as_of,
    credited := true
) AS link
WHERE link.bucket = bucket_of(target_domain(target, scope), index_buckets())
  AND link.dst_domain = target_domain(target, scope)
  AND matches_target(link.dst_url, link.dst_host, link.dst_domain, target, scope)
  -- a link to a URL of the target itself counts once, as it is
  AND (link.linked_url = link.dst_url
       OR NOT matches_target(link.linked_url, url_host(link.linked_url), link.linked_domain,
                             target, scope));

CREATE OR REPLACE TEMP MACRO source_edges(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
SELECT link.*
FROM filtered_edges(
    live_only := live_only,
    dofollow_only := dofollow_only,
    external_only := external_only,
    kind := kind,
    link_position := link_position,
    as_of := as_of
) AS link
WHERE matches_target(link.src_url, link.src_host, link.src_domain, target, scope)
  AND target_domain(target, scope) IS NOT NULL;  -- checks the scope
