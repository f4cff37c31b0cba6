"""The synthetic web the shared crawl fixtures use, and the raw columns its truth decides."""

from __future__ import annotations

# Fast but complete: ≥ 50 sites as the issue asks, few pages each.
WEB_ARGS = {"n_sites": 50, "pages_per_site": 8, "seed": 7}

PAGE_COLUMNS = (
    "url", "host", "domain", "status", "content_type", "content_length", "title", "lang",
    "redirect_to", "canonical", "meta_noindex", "meta_nofollow", "n_links",
    "n_external_links", "n_skipped_links",
)
EDGE_COLUMNS = (
    "src_url", "src_host", "src_domain", "dst_url", "dst_host", "dst_domain", "anchor", "kind",
    "alt", "nofollow", "ugc", "sponsored", "position", "ordinal", "external",
)
