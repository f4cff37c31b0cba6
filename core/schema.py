"""The data contract, schema version 1: defined here once, imported everywhere else.

Raw parts (written by pipelines, one row per fetch / per link occurrence) and the
index tables (written by the build) are both described here, so a reader of the
Parquet files needs nothing but this module.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

# Parquet key-value metadata written into every file we produce.
META_SCHEMA_VERSION = b"linkindex.schema_version"
META_KIND = b"linkindex.kind"

# The closed lists, each spelled once here. Where SQL must spell one too
# (queries/*.sql), tests/test_closed_lists.py checks that it says the same.
# Values of edges.kind and edges.position.
KINDS = ("a", "img", "area", "redirect", "canonical", "refresh")
POSITIONS = ("content", "nav", "header", "footer", "aside")
# How a query names its target (queries/_target.sql): a registrable domain with its
# subdomains, one host, one URL exactly, or every URL starting with a prefix.
TARGET_SCOPES = ("domain", "host", "exact", "prefix")
# The class of a link's anchor text (queries/_anchors.sql, docs/anchors.md), in the order
# the queries show them (anchor_mix: one row each).
ANCHOR_CLASSES = ("branded", "exact", "partial", "naked_url", "generic", "image", "empty",
                  "other")

# pages.error is "<kind>: <what happened>". These kinds are URLs the crawl never fetched
# (robots.txt disallows it, the private-address guard refused it, its domain was skipped
# for a Crawl-delay over the cap): such a row says why the URL has no content. It is not
# a broken page, not a crawled page, and never the "latest fetch" of a URL fetched before.
UNFETCHED_ERROR_KINDS = ("robots", "refused", "skipped")

# And this kind is a note, not a failure: the page was fetched and parsed up to a cut
# (core/bounds.py); the links before it are what the page is known to link to.
TRUNCATED = "truncated"


def is_failure(error: str | None) -> bool:
    """Whether a pages row's error means its fetch failed (a note does not)."""
    return error is not None and error.split(":", 1)[0] != TRUNCATED


def unfetched_sql(error: str = "error") -> str:
    """SQL that is true for a pages row of an unfetched kind (the build and the queries)."""
    kinds = ", ".join(f"'{kind}'" for kind in UNFETCHED_ERROR_KINDS)
    return f"coalesce(split_part({error}, ':', 1) IN ({kinds}), false)"
# What one fetch of a page says about the links it had (index fetches.outcome): 'ok', or
# why a link seen on the fetch before no longer counts. The first that applies wins, in
# this order. A link is counted on a fetch when it is on the page and the outcome is 'ok'
# (redirect and canonical links: whatever the outcome, since they are how a page says
# it moved or is a copy). docs/history.md.
FETCH_OUTCOMES = ("fetch_failed", "page_error", "page_gone", "page_redirects",
                  "page_noindex", "canonical_changed", "ok")
# Why a link was lost (index edges.lost_reason, the history queries): a fetch outcome, or
# the page was fine and the link is not on it, or it stopped passing credit. The queries'
# not_recrawled says a source was not fetched again: unknown, not lost.
LOST_REASONS = ("link_removed", "now_nofollow", "page_gone", "page_error", "page_redirects",
                "page_noindex", "canonical_changed", "fetch_failed", "not_recrawled")
# Links whose kind counts on a fetch of any outcome.
KINDS_COUNTED_ALWAYS = ("redirect", "canonical")


def fetch_outcome_sql(page: str = "") -> str:
    """SQL for the outcome (FETCH_OUTCOMES) of a fetched pages row; `page`: its alias."""
    p = f"{page}." if page else ""
    return (
        f"CASE WHEN {p}status IS NULL OR ({p}error IS NOT NULL "
        f"AND split_part({p}error, ':', 1) <> '{TRUNCATED}') THEN 'fetch_failed' "
        f"WHEN {p}status >= 500 THEN 'page_error' "
        f"WHEN {p}status >= 400 THEN 'page_gone' "
        f"WHEN {p}status >= 300 THEN 'page_redirects' "
        f"WHEN coalesce({p}meta_noindex, false) THEN 'page_noindex' "
        f"WHEN {p}canonical IS NOT NULL AND {p}canonical <> {p}url THEN 'canonical_changed' "
        "ELSE 'ok' END"
    )


# The target scopes whose target is a URL (the others name a host).
URL_SCOPES = ("exact", "prefix")

# Caps on free text, so one hostile page cannot bloat the index.
ANCHOR_MAX_CHARS = 256
TITLE_MAX_CHARS = 512
URL_MAX_CHARS = 4096

_TS = pa.timestamp("ms", tz="UTC")

# One word of a page and how often it occurs there (PAGES.terms).
TERM = pa.struct([pa.field("term", pa.string()), pa.field("n", pa.int32())])
TERMS_PER_PAGE = 32
# Text kept on each side of a content link (EDGES.text_before / text_after), at most,
# when a crawl keeps it (`--snippets`, LINKINDEX_SNIPPET_CHARS: off by default).
SNIPPET_CHARS = 60

# DuckDB column types of the Arrow types these schemas use, for SQL that must state
# them (timestamps are decided by each caller: raw parts read as TIMESTAMPTZ).
DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.int16(): "SMALLINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE",
}


def duckdb_type(arrow_type: pa.DataType, timestamp: str = "TIMESTAMPTZ") -> str:
    """The DuckDB type of an Arrow type of these schemas (lists and structs included);
    `timestamp`: what a timestamp is for this caller."""
    if pa.types.is_timestamp(arrow_type):
        return timestamp
    if pa.types.is_list(arrow_type):
        return duckdb_type(arrow_type.value_type, timestamp) + "[]"
    if pa.types.is_struct(arrow_type):
        fields = ", ".join(f'"{f.name}" {duckdb_type(f.type, timestamp)}' for f in arrow_type)
        return f"STRUCT({fields})"
    return DUCKDB_TYPES[arrow_type]

PAGES = pa.schema(
    [
        pa.field("crawl_id", pa.string(), nullable=False),
        pa.field("fetched_at", _TS, nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("host", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
        pa.field("status", pa.int16()),  # null when no HTTP response (see error)
        pa.field("content_type", pa.string()),
        pa.field("content_length", pa.int64()),
        pa.field("title", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("depth", pa.int16()),
        pa.field("redirect_to", pa.string()),
        pa.field("canonical", pa.string()),
        pa.field("meta_noindex", pa.bool_()),
        pa.field("meta_nofollow", pa.bool_()),
        pa.field("n_links", pa.int32()),
        pa.field("n_external_links", pa.int32()),
        pa.field("ip", pa.string()),
        # Additions to the design card's list (docs/decisions.md, "schema v1"):
        pa.field("n_skipped_links", pa.int32()),  # javascript:/mailto:/tel:/data:/#/unparsable
        # download error when there is no HTTP response (status null); with a status:
        # "extract: <Type>: <message>", a response whose processing failed (no links)
        pa.field("error", pa.string()),
        pa.field("warc_file", pa.string()),  # evidence, filled when a crawl archives to WARC
        pa.field("warc_offset", pa.int64()),
        # The page's most frequent words in its title, headings and main text (at most
        # TERMS_PER_PAGE, stop words left out): what topical relevance is computed from
        # (docs/audit.md), kept small instead of the text.
        pa.field("terms", pa.list_(TERM)),
    ]
)

# Columns every link of one fetched page shares: the page's.
_EDGE_PAGE_FIELDS = [
    pa.field("crawl_id", pa.string(), nullable=False),
    pa.field("fetched_at", _TS, nullable=False),
    pa.field("src_url", pa.string(), nullable=False),
    pa.field("src_host", pa.string(), nullable=False),
    pa.field("src_domain", pa.string(), nullable=False),
]
# Columns an extracted page carries per link.
_EDGE_LINK_FIELDS = [
    pa.field("dst_url", pa.string(), nullable=False),
    pa.field("dst_host", pa.string(), nullable=False),
    pa.field("dst_domain", pa.string(), nullable=False),
    pa.field("anchor", pa.string(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),  # one of KINDS
    pa.field("alt", pa.string()),
    pa.field("nofollow", pa.bool_(), nullable=False),
    pa.field("ugc", pa.bool_(), nullable=False),
    pa.field("sponsored", pa.bool_(), nullable=False),
    pa.field("position", pa.string()),  # one of POSITIONS; null for redirect/canonical/unknown
    pa.field("ordinal", pa.int32(), nullable=False),
    pa.field("external", pa.bool_(), nullable=False),
    # Visible text just before and after a content link in its paragraph (at most
    # SNIPPET_CHARS each, cut at a word); NULL for other positions and kinds.
    pa.field("text_before", pa.string()),
    pa.field("text_after", pa.string()),
]

EDGES = pa.schema(_EDGE_PAGE_FIELDS + _EDGE_LINK_FIELDS)

EDGE_PAGE_COLUMNS = tuple(field.name for field in _EDGE_PAGE_FIELDS)
EDGE_LINK_COLUMNS = tuple(field.name for field in _EDGE_LINK_FIELDS)

RAW_TABLES = {"pages": PAGES, "edges": EDGES}
# Raw columns added after schema v1 was first written: a part written before them lacks
# them and reads them as NULL (older parts stay valid, no re-crawl needed).
RAW_COLUMNS_ADDED = frozenset({"terms", "text_before", "text_after"})

# ---------------------------------------------------------------------------
# Index tables (one generation under DATA/index/<generation>/)
# ---------------------------------------------------------------------------

# The layout of an index generation's files. 2: edges carry src_domain_rank. 3: edges
# carry last_seen_crawl, and the part list is parts.parquet (incremental builds). 4: domain
# ranks pass over dofollow links only (ugc and sponsored no longer pass rank), the kept
# pair summaries count dofollow_links, and domains has domain_trust and trust_ratio. 5:
# edges carry the link's lifecycle (found_at, lost_at, lost_reason, ...), live means
# "counted on its page's latest fetch" (docs/history.md), and fetches.parquet lists every
# fetch. 6: edges carry facts of their source page for the link audit (src_external_links,
# src_ip, src_lang) and the text around content links; page_terms.parquet and
# domain_links.parquet. A live generation of an older format is rebuilt by the next
# build and refused by queries.
INDEX_FORMAT = 6

# One closed span of a link's life (INDEX_EDGES.past_spans).
SPAN = pa.struct([
    pa.field("found_at", _TS),
    pa.field("lost_at", _TS),
    pa.field("lost_reason", pa.string()),
    pa.field("lost_to", pa.string()),
])

UNPLACED = pa.struct([
    pa.field("crawl_id", pa.string()),
    pa.field("fetched_at", _TS),
    pa.field("follow", pa.bool_()),
])

# index edges: one row per distinct (src_url, dst_url, kind, anchor) across all crawls.
# The columns of EDGES but those of one fetch (crawl_id, fetched_at, replaced by
# first_seen and last_seen): the target's and source's identity first (the order of
# the files' columns), then the link's own columns as in EDGES.
_INDEX_EDGE_IDENTITY = ("dst_domain", "dst_url", "src_domain", "dst_host", "src_host", "src_url")
_EDGE_FETCH_COLUMNS = ("crawl_id", "fetched_at")
INDEX_EDGES = pa.schema(
    [EDGES.field(name) for name in _INDEX_EDGE_IDENTITY]
    + [
        field
        for field in EDGES
        if field.name not in _INDEX_EDGE_IDENTITY and field.name not in _EDGE_FETCH_COLUMNS
    ]
    + [
        pa.field("first_seen", _TS, nullable=False),
        pa.field("last_seen", _TS, nullable=False),
        pa.field("live", pa.bool_(), nullable=False),
        # The crawl of the latest sighting (the one at last_seen): an incremental build
        # merges a bucket's rows with new sightings and must break ties as a full
        # build does, by crawl id.
        pa.field("last_seen_crawl", pa.string(), nullable=False),
        # The link's lifecycle (docs/history.md): a span is a run of consecutive fetches
        # of the source page on which the link counted. found_at: the first fetch of the
        # latest span (NULL: it never counted, e.g. only seen on a noindex page);
        # lost_at: the first later fetch on which it did not count, with why
        # (LOST_REASONS) and, for a redirect or a new canonical, where to. live is
        # "found and not lost". nofollow_at: the first of the span's trailing fetches on
        # which it is nofollow/ugc/sponsored (NULL: followed on the last; after found_at:
        # it stopped passing credit then, "now_nofollow"). past_spans: the spans before
        # (a link lost and found again), oldest first; NULL when none.
        pa.field("found_at", _TS),
        pa.field("lost_at", _TS),
        pa.field("lost_reason", pa.string()),
        pa.field("lost_to", pa.string()),
        pa.field("nofollow_at", _TS),
        pa.field("past_spans", pa.list_(SPAN)),
        # Sightings on fetches whose pages row no build has read yet (a build ran while a
        # writer was between its edges part and its pages part): placed in the link's
        # spans by the build that reads them. NULL for nearly every link.
        pa.field("unplaced", pa.list_(UNPLACED)),
        # domain_rank of src_domain in this generation (as in domains.parquet), stored
        # on each edge so that ranking a target's backlinks reads no other file: a
        # join with domains.parquet read most of it whatever the answer's size.
        pa.field("src_domain_rank", pa.float64(), nullable=False),
        # page_rank of src_url (page_ranks.parquet), stored on each edge for the same
        # reason; 0..100 on a fixed scale in steps of 0.1, so few distinct values.
        pa.field("src_page_rank", pa.float64(), nullable=False),
        # Facts of src_url's latest fetch (index pages), stamped likewise for the link
        # audit: its external links (n_external_links), the address its site resolved to
        # (ip) and its language (lang). NULL when the source page has no fetched row.
        pa.field("src_external_links", pa.int32()),
        pa.field("src_ip", pa.string()),
        pa.field("src_lang", pa.string()),
    ]
)

# index pages: the latest fetch of each URL, plus its fetch history summary.
INDEX_PAGES = pa.schema(
    [field for field in PAGES]
    + [
        pa.field("first_fetched", _TS, nullable=False),
        pa.field("n_fetches", pa.int32(), nullable=False),
    ]
)

# index fetches: every fetch of every URL (rows of unfetched kinds are not fetches), in
# order per URL (seq 1, 2, ...), with what it says about the page's links: the history
# queries read a link's state in a given crawl from here.
INDEX_FETCHES = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),
        pa.field("seq", pa.int32(), nullable=False),
        pa.field("crawl_id", pa.string(), nullable=False),
        pa.field("fetched_at", _TS, nullable=False),
        pa.field("status", pa.int16()),
        pa.field("outcome", pa.string(), nullable=False),  # one of FETCH_OUTCOMES
        pa.field("outcome_to", pa.string()),  # redirect_to or canonical, for those outcomes
    ]
)

# index credits: where a link to a URL that moved counts (docs/history.md, "credit"). A
# URL whose latest fetch answered a permanent redirect (301, 308) or named another URL
# canonical passes its links on, through chains of both, to the URL at the end; queries
# count a link to from_url for to_url too, flagged via_redirect / via_canonical.
INDEX_CREDITS = pa.schema(
    [
        pa.field("from_url", pa.string(), nullable=False),
        pa.field("from_domain", pa.string(), nullable=False),
        pa.field("to_url", pa.string(), nullable=False),
        pa.field("to_host", pa.string(), nullable=False),
        pa.field("to_domain", pa.string(), nullable=False),
        pa.field("via_redirect", pa.bool_(), nullable=False),
        pa.field("via_canonical", pa.bool_(), nullable=False),
        pa.field("hops", pa.int16(), nullable=False),
    ]
)

# index credited: each link to a URL that moved (credits), once more for the URL it
# moved to, as queries count it: the INDEX_EDGES columns with dst_* those of to_url and
# `external` against it, plus the URL on the page and how it moved; `bucket`: that of the
# credited domain, as the edges' folders say. Written by the build from `credits`, so a
# query reads one small file, never another bucket.
INDEX_CREDITED = pa.schema(
    [field for field in INDEX_EDGES]
    + [
        pa.field("linked_url", pa.string(), nullable=False),
        pa.field("linked_domain", pa.string(), nullable=False),
        pa.field("via_redirect", pa.bool_(), nullable=False),
        pa.field("via_canonical", pa.bool_(), nullable=False),
        pa.field("bucket", pa.uint64(), nullable=False),  # the type of the edges' folders
    ]
)

# index page_ranks: every URL of the page graph (crawled pages, and the URLs they link),
# by its number, with its page rank (index.ranks.compute_page_ranks, docs/metrics.md).
INDEX_PAGE_RANKS = pa.schema(
    [
        # core.layout.url_id: md5_number_lower(url) in SQL
        pa.field("url_id", pa.uint64(), nullable=False),
        pa.field("page_rank", pa.float64(), nullable=False),  # 0..100, fixed log scale
    ]
)

# index page_terms: each crawled page's terms (PAGES.terms of its latest fetch) weighted
# by TF-IDF over all such pages and scaled to unit length, so the relevance of two pages
# is the sum of the products of their shared terms' weights (docs/audit.md).
INDEX_PAGE_TERMS = pa.schema(
    [
        pa.field("url_id", pa.uint64(), nullable=False),  # core.layout.url_id
        pa.field("terms", pa.list_(pa.struct([pa.field("term", pa.string()),
                                              pa.field("weight", pa.float64())]))),
    ]
)

# index domain_links: live external links per (linking, linked) registrable domain pair,
# sorted by the linking domain: a domain's outbound profile in one small read.
INDEX_DOMAIN_LINKS = pa.schema(
    [
        pa.field("src_domain", pa.string(), nullable=False),
        pa.field("dst_domain", pa.string(), nullable=False),
        pa.field("links", pa.int64(), nullable=False),
        pa.field("dofollow_links", pa.int64(), nullable=False),
    ]
)

# index domains: per registrable domain totals and rank.
INDEX_DOMAINS = pa.schema(
    [
        pa.field("domain", pa.string(), nullable=False),
        pa.field("pages_crawled", pa.int64(), nullable=False),
        pa.field("backlinks", pa.int64(), nullable=False),  # live external links in
        pa.field("referring_domains", pa.int64(), nullable=False),
        pa.field("outlinks", pa.int64(), nullable=False),  # live external links out
        pa.field("linked_domains", pa.int64(), nullable=False),
        pa.field("domain_rank", pa.float64(), nullable=False),  # 0..100, log-scaled PageRank
        # 0..100 TrustRank from `build --trust-seeds`; NULL when the build had no seeds
        pa.field("domain_trust", pa.float64()),
        pa.field("trust_ratio", pa.float64()),  # domain_trust / domain_rank; NULL if rank 0
        # the active Common Crawl web graph's ranks of the domain when the build ran
        # (index/ccgraph/); NULL without a graph, or for a domain it does not rank
        pa.field("cc_harmonic_pos", pa.uint64()),
        pa.field("cc_harmonic", pa.float64()),
        pa.field("cc_pr_pos", pa.uint64()),
        pa.field("cc_pr", pa.float64()),
    ]
)

# index hosts: every host seen, with its registrable domain, so SQL can resolve a
# host or URL target to its domain (and bucket) without the Public Suffix List.
INDEX_HOSTS = pa.schema(
    [
        pa.field("host", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
    ]
)


# ---------------------------------------------------------------------------
# A Common Crawl web graph release (index/ccgraph/, docs/ccgraph.md): beside the index,
# under DATA/ccgraph/<release>/, written once by `linkindex import-cc-graph`.
# ---------------------------------------------------------------------------

# cc vertices: one row per registrable domain of the release, in the release's id
# order (= C-locale order of the reversed name), with its ranks from the ranks file.
CC_VERTICES = pa.schema(
    [
        pa.field("id", pa.uint64(), nullable=False),  # the release's vertex id
        pa.field("rev", pa.string(), nullable=False),  # its name as the release spells it
        pa.field("domain", pa.string(), nullable=False),  # the name forward: example.com
        pa.field("n_hosts", pa.uint64()),  # hosts of the domain (domain-level releases)
        pa.field("cc_harmonic_pos", pa.uint64()),  # 1 = highest harmonic centrality
        pa.field("cc_harmonic", pa.float64()),
        pa.field("cc_pr_pos", pa.uint64()),  # 1 = highest PageRank
        pa.field("cc_pr", pa.float64()),
    ]
)

# cc links: one row per (linking, linked) domain pair of the release, bucketed by the
# linked domain (core.layout.bucket_of) and sorted by it, as the index's edges are.
CC_LINKS = pa.schema(
    [
        pa.field("dst_id", pa.uint64(), nullable=False),
        pa.field("src_domain", pa.string(), nullable=False),
        pa.field("src_harmonic_pos", pa.uint64()),
        pa.field("src_pr_pos", pa.uint64()),
    ]
)
