-- Facts the link audit judges a link by (docs/audit.md).
--
-- subnet_of(ip)
--     the network an address is in, as analysts group linking sites: an IPv4 address's
--     /24 ('203.0.113.0/24'), an IPv6 address's /48 ('2001:db8:1::/48'); NULL for NULL.
--     Addresses are stored as Python's ipaddress writes them (IPv6 compressed).
--
-- is_homepage(url)
--     true when a URL is its host's home page: the path is '/' (or /index.html, .htm,
--     .php, .asp, .aspx) with no query.
--
-- is_sitewide(linking_pages, pages_crawled)
--     true when a source domain links to a target from most of its crawled pages: at
--     least 5 pages crawled, and at least 80% of them link to the target's registrable
--     domain (footer and sidebar links repeated on every page).
--
-- terms_similarity(a, b)
--     the cosine of two pages' weighted terms (page_terms.terms: TF-IDF weights scaled
--     to unit length, docs/audit.md "Topical relevance"): the sum of the products of the
--     weights of the terms both have, 0..1, rounded to 4 places; NULL when either page
--     has no terms (not crawled, not HTML, no text).

CREATE OR REPLACE TEMP MACRO subnet_of(ip) AS
    CASE
        WHEN ip IS NULL THEN NULL
        WHEN NOT contains(ip, ':') THEN
            regexp_extract(ip, '^(\d+\.\d+\.\d+)\.\d+$', 1) || '.0/24'
        ELSE array_to_string(list_slice(string_split(trim(
                 CASE WHEN contains(ip, '::')
                      THEN replace(ip, '::', ':' || repeat('0:', 8 - len(list_filter(
                               string_split(ip, ':'), lambda g: g <> ''))))
                      ELSE ip END, ':'), ':'), 1, 3), ':') || '::/48'
    END;

CREATE OR REPLACE TEMP MACRO is_homepage(url) AS
    regexp_matches(url, '^[a-z][a-z0-9+.-]*://[^/?#]+/(index\.(html?|php|aspx?))?$');

CREATE OR REPLACE TEMP MACRO is_sitewide(linking_pages, pages_crawled) AS
    coalesce(pages_crawled >= 5 AND linking_pages >= 0.8 * pages_crawled, false);

CREATE OR REPLACE TEMP MACRO terms_similarity(a, b) AS
    CASE WHEN a IS NULL OR b IS NULL THEN NULL
         ELSE round(coalesce(list_sum(list_transform(a, lambda x: x.weight * coalesce(
                  list_sum(list_transform(list_filter(b, lambda y: y.term = x.term),
                                          lambda y: y.weight)), 0.0))), 0.0), 4)
    END;
