"""The query macros and their Python API, on a hand-made index where every answer is known.

The sample web: target.example (hosts target.example, www. and blog.) gets links from
a.example .. f.example (and news.b.example); rival.example and other.example are its
competitors; g, h, i link only to competitors. Edge comments give the facts that matter.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from indexdata import edge, page, ts, write_index

from core import layout
from core.errors import LinkindexError
from core.schema import TARGET_SCOPES
from queries import (
    QUERIES,
    Filters,
    connect,
    explain_empty,
    hidden_rows,
    macro_files,
    run_query,
    run_sql,
    write_init_file,
)
from queries import session as query_session
from queries.catalogue import QuerySpec, catalogue, parse_header

T = "https://target.example"
EDGES = [
    edge("https://a.example/1", f"{T}/", "Target", first="2025-01-05"),
    edge("https://a.example/2", f"{T}/", "Target", position="nav"),
    edge("https://a.example/1", "https://www.target.example/pricing", "pricing"),
    edge("https://b.example/x", "https://blog.target.example/post-1", "great post", nofollow=True),
    edge("https://b.example/x", "https://blog.target.example/post-1", kind="img", alt="logo"),
    edge("https://c.example/p", f"{T}/", "Target", position="footer", ugc=True),
    edge("https://c.example/p", f"{T}/old", "old page", first="2025-01-08"),  # /old is 404
    edge("https://d.example/q", f"{T}/old", "old page", sponsored=True),
    edge("https://d.example/q", "https://www.target.example/pricing", "pricing",  # lost
         first="2025-01-02", last="2025-02-15", live=False),
    edge("https://e.example/r", f"{T}/", kind="redirect", position=None),
    edge("https://f.example/s", f"{T}/blog/", kind="canonical", position=None),  # never crawled
    edge(f"{T}/", "https://www.target.example/pricing", "pricing", position="nav"),  # internal
    edge("https://blog.target.example/post-1", f"{T}/", "home", position="header"),  # internal
    edge("https://e.example/r2", f"{T}/o'neil", "o'neil"),
    edge("https://a.example/3", f"{T}/new", "new", first="2025-02-20"),
    edge("https://news.b.example/z", f"{T}/down", "down"),  # /down: fetch error
    edge(f"{T}/", "https://rival.example/", "rival"),
    edge(f"{T}/", "https://gone.example/", "gone"),  # 410
    edge("https://blog.target.example/post-1", "https://dead.example/x", "dead", nofollow=True),
    edge(f"{T}/", f"{T}/old", "old", position="nav"),  # internal, to a 404
    edge("https://a.example/1", "https://rival.example/", "rival"),
    edge("https://g.example/1", "https://rival.example/", "rival"),
    edge("https://g.example/1", "https://other.example/", "other"),
    edge("https://h.example/1", "https://rival.example/", "r"),
    edge("https://h.example/1", "https://other.example/", "o"),
    edge("https://h.example/2", "https://other.example/page", "o2"),
    edge("https://b.example/x", "https://other.example/", "o", nofollow=True),
    edge("https://c.example/p", "https://rival.example/", "rival", last="2025-02-01", live=False),
    edge("https://i.example/1", "https://rival.example/", "x"),
]
# The addresses the linking sites resolved to (edges.src_ip): a and b share a /24.
SRC_IPS = {"a.example": "203.0.113.10", "b.example": "203.0.113.20",
           "c.example": "198.51.100.5"}
for _edge in EDGES:
    _edge["src_ip"] = SRC_IPS.get(_edge["src_domain"])
PAGES = [
    page(f"{T}/"), page("https://www.target.example/pricing"),
    page("https://blog.target.example/post-1"), page(f"{T}/old", 404),
    page(f"{T}/down", None, error="timeout"), page(f"{T}/o'neil"), page(f"{T}/new", 301),
    page("https://gone.example/", 410), page("https://dead.example/x", 500),
    page("https://rival.example/"), page("https://lonely.example/"), page("https://a.example/1"),
]
RANKS = {
    "target.example": 60, "rival.example": 55, "a.example": 50, "other.example": 45,
    "b.example": 40, "c.example": 30, "d.example": 20, "h.example": 15, "e.example": 10,
    "i.example": 8, "f.example": 5, "g.example": 1,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("queries") / "it's data"  # a quote in the path, too
    write_index(root, EDGES, PAGES, RANKS)
    return root


def rows(data: Path, name: str, *args: str, **options: Any) -> list[dict[str, Any]]:
    return run_query(data, name, list(args), **options).to_pylist()


# What identifies a row of each query, in the compact expectations below.
KEYS = {
    "backlinks": ("src_url", "dst_url", "kind"),
    "referring_domains": ("src_domain", "backlinks", "dofollow_backlinks"),
    "anchors": ("anchor", "anchor_class", "backlinks", "referring_domains", "dofollow_backlinks"),
    "anchor_mix": ("anchor_class", "backlinks", "referring_domains", "dofollow_backlinks",
                   "backlinks_share", "referring_domains_share"),
    "top_pages": ("dst_url", "backlinks", "referring_domains", "dofollow_backlinks", "status"),
    "link_mix": ("facet", "value", "backlinks", "referring_domains", "backlinks_share"),
    "broken_backlinks": ("dst_url", "status", "error", "src_url"),
    "broken_outlinks": ("src_url", "dst_url", "status"),
    "new_lost": ("change", "src_url", "dst_url"),
    "toxic_domains": ("src_domain", "toxic_score", "backlinks", "same_subnet_points"),
    "overview": ("backlinks", "referring_domains", "referring_hosts", "referring_pages",
                 "referring_ips", "referring_subnets", "dofollow", "nofollow", "ugc",
                 "sponsored", "image_links", "redirects", "canonicals", "lost", "domain_rank",
                 "pages_crawled"),
}


def keyed(data: Path, name: str, *args: str, **options: Any) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in KEYS[name]) for r in rows(data, name, *args, **options)]


# Source pages, and target pages that are not on the host target.example.
A1, A2, A3 = "https://a.example/1", "https://a.example/2", "https://a.example/3"
BX, NBZ = "https://b.example/x", "https://news.b.example/z"
CP, DQ = "https://c.example/p", "https://d.example/q"
ER, ER2, FS = "https://e.example/r", "https://e.example/r2", "https://f.example/s"
POST = "https://blog.target.example/post-1"
PRICING = "https://www.target.example/pricing"
ONEIL = f"{T}/o'neil"

# (query, scope, target) -> expected rows, in order; default filters; since 2025-02-01.
EXPECTED: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {
    ("backlinks", "domain", "target.example"): [
        (A1, f"{T}/", "a"), (A1, PRICING, "a"), (A2, f"{T}/", "a"), (A3, f"{T}/new", "a"),
        (BX, POST, "a"), (BX, POST, "img"), (NBZ, f"{T}/down", "a"), (CP, f"{T}/", "a"),
        (CP, f"{T}/old", "a"), (DQ, f"{T}/old", "a"), (ER, f"{T}/", "redirect"),
        (ER2, ONEIL, "a"), (FS, f"{T}/blog/", "canonical"),
    ],
    ("backlinks", "host", "target.example"): [
        (A1, f"{T}/", "a"), (A2, f"{T}/", "a"), (A3, f"{T}/new", "a"), (NBZ, f"{T}/down", "a"),
        (CP, f"{T}/", "a"), (CP, f"{T}/old", "a"), (DQ, f"{T}/old", "a"),
        (ER, f"{T}/", "redirect"), (ER2, ONEIL, "a"), (FS, f"{T}/blog/", "canonical"),
    ],
    ("backlinks", "host", "blog.target.example"): [(BX, POST, "a"), (BX, POST, "img")],
    ("backlinks", "exact", f"{T}/"): [
        (A1, f"{T}/", "a"), (A2, f"{T}/", "a"), (CP, f"{T}/", "a"), (ER, f"{T}/", "redirect"),
    ],
    ("backlinks", "prefix", f"{T}/o"): [
        (CP, f"{T}/old", "a"), (DQ, f"{T}/old", "a"), (ER2, ONEIL, "a"),
    ],
    ("referring_domains", "domain", "target.example"): [
        ("a.example", 4, 4), ("b.example", 3, 2), ("c.example", 2, 1), ("e.example", 2, 2),
        ("d.example", 1, 0), ("f.example", 1, 1),
    ],
    ("referring_domains", "host", "target.example"): [
        ("a.example", 3, 3), ("c.example", 2, 1), ("e.example", 2, 2), ("b.example", 1, 1),
        ("d.example", 1, 0), ("f.example", 1, 1),
    ],
    ("referring_domains", "host", "blog.target.example"): [("b.example", 2, 1)],
    ("referring_domains", "exact", f"{T}/"): [
        ("a.example", 2, 2), ("c.example", 1, 0), ("e.example", 1, 1),
    ],
    ("referring_domains", "prefix", f"{T}/o"): [
        ("c.example", 1, 1), ("d.example", 1, 0), ("e.example", 1, 1),
    ],
    # An image link's row shows its alt text ("logo"); the brand token is "target".
    ("anchors", "domain", "target.example"): [
        ("Target", "branded", 3, 2, 2), ("", "empty", 2, 2, 2), ("old page", "other", 2, 2, 1),
        ("down", "other", 1, 1, 1), ("great post", "other", 1, 1, 0), ("logo", "image", 1, 1, 1),
        ("new", "other", 1, 1, 1), ("o'neil", "other", 1, 1, 1), ("pricing", "other", 1, 1, 1),
    ],
    ("anchors", "host", "target.example"): [
        ("Target", "branded", 3, 2, 2), ("", "empty", 2, 2, 2), ("old page", "other", 2, 2, 1),
        ("down", "other", 1, 1, 1), ("new", "other", 1, 1, 1), ("o'neil", "other", 1, 1, 1),
    ],
    ("anchors", "host", "blog.target.example"): [
        ("great post", "other", 1, 1, 0), ("logo", "image", 1, 1, 1)],
    ("anchors", "exact", f"{T}/"): [("Target", "branded", 3, 2, 2), ("", "empty", 1, 1, 1)],
    ("anchors", "prefix", f"{T}/o"): [
        ("old page", "other", 2, 2, 1), ("o'neil", "other", 1, 1, 1)],
    # Every class, in this order; shares of 13 links and 6 domains, 4 decimals.
    ("anchor_mix", "domain", "target.example"): [
        ("branded", 3, 2, 2, 0.2308, 0.3333), ("exact", 0, 0, 0, 0.0, 0.0),
        ("partial", 0, 0, 0, 0.0, 0.0), ("naked_url", 0, 0, 0, 0.0, 0.0),
        ("generic", 0, 0, 0, 0.0, 0.0), ("image", 1, 1, 1, 0.0769, 0.1667),
        ("empty", 2, 2, 2, 0.1538, 0.3333), ("other", 7, 5, 5, 0.5385, 0.8333),
    ],
    ("anchor_mix", "host", "blog.target.example"): [
        ("branded", 0, 0, 0, 0.0, 0.0), ("exact", 0, 0, 0, 0.0, 0.0),
        ("partial", 0, 0, 0, 0.0, 0.0), ("naked_url", 0, 0, 0, 0.0, 0.0),
        ("generic", 0, 0, 0, 0.0, 0.0), ("image", 1, 1, 1, 0.5, 1.0),
        ("empty", 0, 0, 0, 0.0, 0.0), ("other", 1, 1, 0, 0.5, 1.0),
    ],
    ("anchor_mix", "exact", f"{T}/"): [
        ("branded", 3, 2, 2, 0.75, 0.6667), ("exact", 0, 0, 0, 0.0, 0.0),
        ("partial", 0, 0, 0, 0.0, 0.0), ("naked_url", 0, 0, 0, 0.0, 0.0),
        ("generic", 0, 0, 0, 0.0, 0.0), ("image", 0, 0, 0, 0.0, 0.0),
        ("empty", 1, 1, 1, 0.25, 0.3333), ("other", 0, 0, 0, 0.0, 0.0),
    ],
    ("anchor_mix", "prefix", f"{T}/o"): [
        ("branded", 0, 0, 0, 0.0, 0.0), ("exact", 0, 0, 0, 0.0, 0.0),
        ("partial", 0, 0, 0, 0.0, 0.0), ("naked_url", 0, 0, 0, 0.0, 0.0),
        ("generic", 0, 0, 0, 0.0, 0.0), ("image", 0, 0, 0, 0.0, 0.0),
        ("empty", 0, 0, 0, 0.0, 0.0), ("other", 3, 3, 2, 1.0, 1.0),
    ],
    ("top_pages", "domain", "target.example"): [
        (f"{T}/", 4, 3, 3, 200), (f"{T}/old", 2, 2, 1, 404), (POST, 2, 1, 1, 200),
        (f"{T}/blog/", 1, 1, 1, None), (f"{T}/down", 1, 1, 1, None), (f"{T}/new", 1, 1, 1, 301),
        (ONEIL, 1, 1, 1, 200), (PRICING, 1, 1, 1, 200),
    ],
    ("top_pages", "host", "target.example"): [
        (f"{T}/", 4, 3, 3, 200), (f"{T}/old", 2, 2, 1, 404), (f"{T}/blog/", 1, 1, 1, None),
        (f"{T}/down", 1, 1, 1, None), (f"{T}/new", 1, 1, 1, 301), (ONEIL, 1, 1, 1, 200),
    ],
    ("top_pages", "host", "blog.target.example"): [(POST, 2, 1, 1, 200)],
    ("top_pages", "exact", f"{T}/"): [(f"{T}/", 4, 3, 3, 200)],
    ("top_pages", "prefix", f"{T}/o"): [(f"{T}/old", 2, 2, 1, 404), (ONEIL, 1, 1, 1, 200)],
    # counted by hand from EDGES: kind and position by most links then value (NULL, the
    # position of redirects and canonicals, last among ties); rel always all four
    ("link_mix", "domain", "target.example"): [
        ("kind", "a", 10, 5, 0.7692), ("kind", "canonical", 1, 1, 0.0769),
        ("kind", "img", 1, 1, 0.0769), ("kind", "redirect", 1, 1, 0.0769),
        ("position", "content", 9, 5, 0.6923), ("position", None, 2, 2, 0.1538),
        ("position", "footer", 1, 1, 0.0769), ("position", "nav", 1, 1, 0.0769),
        ("rel", "dofollow", 10, 5, 0.7692), ("rel", "nofollow", 1, 1, 0.0769),
        ("rel", "ugc", 1, 1, 0.0769), ("rel", "sponsored", 1, 1, 0.0769)],
    ("link_mix", "host", "target.example"): [
        ("kind", "a", 8, 5, 0.8), ("kind", "canonical", 1, 1, 0.1),
        ("kind", "redirect", 1, 1, 0.1),
        ("position", "content", 6, 5, 0.6), ("position", None, 2, 2, 0.2),
        ("position", "footer", 1, 1, 0.1), ("position", "nav", 1, 1, 0.1),
        ("rel", "dofollow", 8, 5, 0.8), ("rel", "nofollow", 0, 0, 0.0),
        ("rel", "ugc", 1, 1, 0.1), ("rel", "sponsored", 1, 1, 0.1)],
    ("link_mix", "host", "blog.target.example"): [
        ("kind", "a", 1, 1, 0.5), ("kind", "img", 1, 1, 0.5),
        ("position", "content", 2, 1, 1.0),
        ("rel", "dofollow", 1, 1, 0.5), ("rel", "nofollow", 1, 1, 0.5),
        ("rel", "ugc", 0, 0, 0.0), ("rel", "sponsored", 0, 0, 0.0)],
    ("link_mix", "exact", f"{T}/"): [
        ("kind", "a", 3, 2, 0.75), ("kind", "redirect", 1, 1, 0.25),
        ("position", "content", 1, 1, 0.25), ("position", "footer", 1, 1, 0.25),
        ("position", "nav", 1, 1, 0.25), ("position", None, 1, 1, 0.25),
        ("rel", "dofollow", 3, 2, 0.75), ("rel", "nofollow", 0, 0, 0.0),
        ("rel", "ugc", 1, 1, 0.25), ("rel", "sponsored", 0, 0, 0.0)],
    ("link_mix", "prefix", f"{T}/o"): [
        ("kind", "a", 3, 3, 1.0), ("position", "content", 3, 3, 1.0),
        ("rel", "dofollow", 2, 2, 0.6667), ("rel", "nofollow", 0, 0, 0.0),
        ("rel", "ugc", 0, 0, 0.0), ("rel", "sponsored", 1, 1, 0.3333)],
    ("overview", "domain", "target.example"): [
        (13, 6, 7, 10, 3, 2, 10, 1, 1, 1, 1, 1, 1, 1, 60.0, 7)],
    ("overview", "host", "target.example"): [
        (10, 6, 6, 9, 3, 2, 8, 0, 1, 1, 0, 1, 1, 0, 60.0, 5)],
    ("overview", "host", "blog.target.example"): [
        (2, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 60.0, 1)],
    ("overview", "exact", f"{T}/"): [(4, 3, 3, 4, 2, 2, 3, 0, 1, 0, 0, 1, 0, 0, 60.0, 1)],
    ("overview", "prefix", f"{T}/o"): [(3, 3, 3, 3, 1, 1, 2, 0, 0, 1, 0, 0, 0, 0, 60.0, 2)],
    # a and b share a /24: 20 * (2 - 1) / 4 each where both link; nothing else scores here
    # (tests/test_link_audit.py checks every part on a crawl)
    ("toxic_domains", "domain", "target.example"): [
        ("a.example", 5.0, 4, 5.0), ("b.example", 5.0, 3, 5.0), ("c.example", 0.0, 2, 0.0),
        ("d.example", 0.0, 1, 0.0), ("e.example", 0.0, 2, 0.0), ("f.example", 0.0, 1, 0.0)],
    ("toxic_domains", "host", "target.example"): [
        ("a.example", 5.0, 3, 5.0), ("b.example", 5.0, 1, 5.0), ("c.example", 0.0, 2, 0.0),
        ("d.example", 0.0, 1, 0.0), ("e.example", 0.0, 2, 0.0), ("f.example", 0.0, 1, 0.0)],
    ("toxic_domains", "host", "blog.target.example"): [("b.example", 0.0, 2, 0.0)],
    ("toxic_domains", "exact", f"{T}/"): [
        ("a.example", 0.0, 2, 0.0), ("c.example", 0.0, 1, 0.0), ("e.example", 0.0, 1, 0.0)],
    ("toxic_domains", "prefix", f"{T}/o"): [
        ("c.example", 0.0, 1, 0.0), ("d.example", 0.0, 1, 0.0), ("e.example", 0.0, 1, 0.0)],
    ("broken_backlinks", "domain", "target.example"): [
        (f"{T}/down", None, "timeout", NBZ), (f"{T}/old", 404, None, CP),
        (f"{T}/old", 404, None, DQ),
    ],
    ("broken_backlinks", "host", "target.example"): [
        (f"{T}/down", None, "timeout", NBZ), (f"{T}/old", 404, None, CP),
        (f"{T}/old", 404, None, DQ),
    ],
    ("broken_backlinks", "host", "blog.target.example"): [],
    ("broken_backlinks", "exact", f"{T}/old"): [
        (f"{T}/old", 404, None, CP), (f"{T}/old", 404, None, DQ),
    ],
    ("broken_backlinks", "prefix", f"{T}/o"): [
        (f"{T}/old", 404, None, CP), (f"{T}/old", 404, None, DQ),
    ],
    ("broken_outlinks", "domain", "target.example"): [
        (POST, "https://dead.example/x", 500), (f"{T}/", "https://gone.example/", 410),
    ],
    ("broken_outlinks", "host", "target.example"): [(f"{T}/", "https://gone.example/", 410)],
    ("broken_outlinks", "host", "blog.target.example"): [(POST, "https://dead.example/x", 500)],
    ("broken_outlinks", "exact", f"{T}/"): [(f"{T}/", "https://gone.example/", 410)],
    ("broken_outlinks", "prefix", f"{T}/o"): [],
    ("new_lost", "domain", "target.example"): [("new", A3, f"{T}/new"), ("lost", DQ, PRICING)],
    ("new_lost", "host", "target.example"): [("new", A3, f"{T}/new")],
    ("new_lost", "host", "www.target.example"): [("lost", DQ, PRICING)],
    ("new_lost", "exact", PRICING): [("lost", DQ, PRICING)],
    ("new_lost", "prefix", f"{T}/"): [("new", A3, f"{T}/new")],
}


@pytest.mark.parametrize(("name", "scope", "target"), list(EXPECTED))
def test_every_macro_in_every_scope(data: Path, name: str, scope: str, target: str) -> None:
    args = [target, "2025-02-01"] if name == "new_lost" else [target]
    assert keyed(data, name, *args, scope=scope) == EXPECTED[name, scope, target]


def test_every_query_has_expectations_in_every_scope() -> None:
    covered = {(name, scope) for name, scope, _ in EXPECTED}
    # changes and history: every scope in tests/test_history.py, on a built index
    for name in set(QUERIES) - {"link_gap", "changes", "history"}:
        assert {s for n, s in covered if n == name} == set(TARGET_SCOPES)


def test_backlinks_full_rows(data: Path) -> None:
    first, *_, last = rows(data, "backlinks", "target.example")
    assert first == {
        "src_url": A1, "src_domain": "a.example", "src_domain_rank": 50.0, "src_page_rank": 0.0,
        "dst_url": f"{T}/",
        "linked_url": f"{T}/", "via_redirect": False, "via_canonical": False,
        "anchor": "Target", "anchor_class": "branded", "kind": "a", "alt": None,
        "nofollow": False, "ugc": False,
        "sponsored": False, "position": "content", "first_seen": ts("2025-01-05"),
        "last_seen": ts("2025-03-01"), "live": True, "found_at": ts("2025-01-05"),
        "lost_at": None, "lost_reason": None,
        # the audit's context: a.example has 1 crawled page (not sitewide); this index
        # has no page terms, no page facts stamped, no snippets (tests/test_link_audit.py)
        "sitewide": False, "from_homepage": False, "src_external_links": None,
        "src_lang": None, "src_ip": "203.0.113.10", "src_subnet": "203.0.113.0/24",
        "relevance": None, "text_before": None, "text_after": None,
    }
    assert last["kind"] == "canonical" and last["position"] is None and last["anchor"] == ""
    img = rows(data, "backlinks", "target.example", filters=Filters(kind="img"))
    assert [(r["alt"], r["anchor"]) for r in img] == [("logo", "")]


def test_referring_domains_and_anchors_dates(data: Path) -> None:
    by_domain = {r["src_domain"]: r for r in rows(data, "referring_domains", "target.example")}
    assert by_domain["a.example"]["domain_rank"] == 50.0
    assert (by_domain["a.example"]["first_seen"], by_domain["a.example"]["last_seen"]) == (
        ts("2025-01-05"), ts("2025-03-01"))
    assert by_domain["c.example"]["first_seen"] == ts("2025-01-08")
    anchors = {r["anchor"]: r for r in rows(data, "anchors", "target.example")}
    assert anchors["new"]["first_seen"] == ts("2025-02-20")


def test_overview_full_row_and_lost_ignores_live_only(data: Path) -> None:
    [row] = rows(data, "overview", "target.example")
    assert row == {
        "target": "target.example", "scope": "domain", "backlinks": 13, "referring_domains": 6,
        "referring_hosts": 7, "referring_pages": 10, "referring_ips": 3,
        "referring_subnets": 2, "dofollow": 10, "nofollow": 1, "ugc": 1,
        "sponsored": 1, "image_links": 1, "redirects": 1, "canonicals": 1, "lost": 1,
        "first_seen": ts("2025-01-05"), "last_seen": ts("2025-03-01"), "domain_rank": 60.0,
        "domain_trust": None, "pages_crawled": 7,  # built without trust seeds
        # no Common Crawl graph imported (tests/test_ccgraph.py): all from the crawl
        "cc_release": None, "cc_referring_domains": None, "all_referring_domains": 6,
        "cc_harmonic_pos": None, "cc_harmonic": None, "cc_pr_pos": None, "cc_pr": None,
    }
    [everything] = rows(data, "overview", "target.example", filters=Filters(live_only=False))
    assert (everything["backlinks"], everything["lost"]) == (14, 1)
    assert everything["first_seen"] == ts("2025-01-02")


BACKLINKS_FILTERED = {
    Filters(live_only=False): 14,
    Filters(dofollow_only=True): 10,
    Filters(external_only=False): 16,
    Filters(kind="img"): 1,
    Filters(kind="area"): 0,
    Filters(position="nav"): 1,
    Filters(position="footer"): 1,
    Filters(position="header"): 0,
    Filters(kind="a", position="content", dofollow_only=True): 6,
}


@pytest.mark.parametrize("filters", list(BACKLINKS_FILTERED))
def test_each_filter(data: Path, filters: Filters) -> None:
    found = rows(data, "backlinks", "target.example", filters=filters)
    assert len(found) == BACKLINKS_FILTERED[filters]
    for row in found:
        assert row["live"] or not filters.live_only
        assert not (filters.dofollow_only and (row["nofollow"] or row["ugc"] or row["sponsored"]))
        assert filters.kind in (None, row["kind"]) and filters.position in (None, row["position"])


def test_filters_add_exactly_the_expected_links(data: Path) -> None:
    base = set(keyed(data, "backlinks", "target.example"))
    lost = set(keyed(data, "backlinks", "target.example", filters=Filters(live_only=False)))
    assert lost - base == {(DQ, PRICING, "a")}
    internal = keyed(data, "backlinks", "target.example", filters=Filters(external_only=False))
    assert internal[:3] == [
        (POST, f"{T}/", "a"), (f"{T}/", f"{T}/old", "a"), (f"{T}/", PRICING, "a"),
    ]
    dofollow = set(keyed(data, "backlinks", "target.example", filters=Filters(dofollow_only=True)))
    assert base - dofollow == {(BX, POST, "a"), (CP, f"{T}/", "a"), (DQ, f"{T}/old", "a")}
    assert keyed(data, "backlinks", "target.example", filters=Filters(kind="redirect")) == [
        (ER, f"{T}/", "redirect")]
    everywhere = Filters(external_only=False)
    outlinks = keyed(data, "broken_outlinks", "target.example", filters=everywhere)
    assert (f"{T}/", f"{T}/old", 404) in outlinks and len(outlinks) == 3


def test_new_lost_since_reads_offsets_and_dates(data: Path) -> None:
    def changes(since: str) -> list[tuple[Any, ...]]:
        return keyed(data, "new_lost", "target.example", since)

    assert changes("2025-02-17") == [("new", A3, f"{T}/new")]
    # 01:00 at +02:00 is 23:00 UTC the day before, so the link lost on 2025-02-16 counts.
    assert ("lost", DQ, PRICING) in changes("2025-02-16T01:00:00+02:00")
    assert ("lost", DQ, PRICING) not in changes("2025-02-16T01:00:00Z")
    assert changes("2025-02-16") == changes("2025-02-16T00:00:00Z")


def test_new_lost_until_ends_the_window(data: Path) -> None:
    def window(until: str) -> list[tuple[Any, ...]]:
        return keyed(data, "new_lost", "target.example", "2025-02-01",
                     filters=Filters(until=datetime.fromisoformat(until)))

    assert window("2025-02-17") == [("lost", DQ, PRICING)]  # /new was found on 02-20
    assert window("2025-02-16T00:00:00+00:00") == []  # the end is excluded
    assert window("2025-03-01") == keyed(data, "new_lost", "target.example", "2025-02-01")
    [lost] = rows(data, "new_lost", "target.example", "2025-02-01",
                  filters=Filters(until=datetime.fromisoformat("2025-02-17")))
    assert (lost["changed_at"], lost["lost_reason"], lost["refound"]) == (
        ts("2025-02-16"), "link_removed", False)


def test_link_gap(data: Path) -> None:
    gap = rows(data, "link_gap", "target.example", "rival.example", "other.example")

    def example(competitor: str, src: str, dst: str, anchor: str) -> dict[str, str]:
        return {"competitor": competitor, "src_url": src, "dst_url": dst, "anchor": anchor}

    # g, h and i have no crawled pages here (tests/test_link_gap_coverage.py: 'measured')
    # (no web graph imported: every row from the crawl, tests/test_ccgraph.py)
    unknown = {"coverage": "unknown", "pages_crawled": 0, "source": "crawl",
               "cc_harmonic_pos": None}
    assert gap == [
        {"src_domain": "h.example", "domain_rank": 15.0, "competitors_linked": 2,
         "competitors": ["other.example", "rival.example"], "backlinks": 3, **unknown,
         "examples": [  # page ranks all 0: h.example/1 before h.example/2
             example("other.example", "https://h.example/1", "https://other.example/", "o"),
             example("rival.example", "https://h.example/1", "https://rival.example/", "r")]},
        {"src_domain": "g.example", "domain_rank": 1.0, "competitors_linked": 2,
         "competitors": ["other.example", "rival.example"], "backlinks": 2, **unknown,
         "examples": [
             example("other.example", "https://g.example/1", "https://other.example/", "other"),
             example("rival.example", "https://g.example/1", "https://rival.example/", "rival")]},
        {"src_domain": "i.example", "domain_rank": 8.0, "competitors_linked": 1,
         "competitors": ["rival.example"], "backlinks": 1, **unknown,
         "examples": [
             example("rival.example", "https://i.example/1", "https://rival.example/", "x")]},
    ]
    two = rows(data, "link_gap", "target.example", "rival.example", "other.example", min_overlap=2)
    assert [r["src_domain"] for r in two] == ["h.example", "g.example"]


def test_link_gap_excludes_domains_linking_to_me_and_me(data: Path) -> None:
    # lonely.example has no links at all: a, b and target.example are gaps for it.
    gap = keyed_gap(data, "lonely.example", "rival.example", "other.example")
    assert gap == ["h", "g", "target", "a", "b", "i"]
    # exact scope: b.example and a.example link to the site but only a.example to its home page.
    rivals = ["https://rival.example/", "https://other.example/"]
    assert keyed_gap(data, f"{T}/", *rivals, scope="exact") == ["h", "g", "b", "i"]
    assert keyed_gap(data, f"{T}/o", *rivals, scope="prefix") == ["h", "g", "a", "b", "i"]
    gap = keyed_gap(data, "target.example", "rival.example", "other.example",
                    filters=Filters(dofollow_only=True))
    assert gap == ["h", "g", "i"]


def keyed_gap(data: Path, *args: str, **options: Any) -> list[str]:
    """The source domains of a link gap, without their '.example'."""
    found = rows(data, "link_gap", *args, **options)
    return [r["src_domain"].removesuffix(".example") for r in found]


def test_limit_keeps_the_order(data: Path) -> None:
    top_two = [(A1, f"{T}/", "a"), (A1, PRICING, "a")]
    assert keyed(data, "backlinks", "target.example", limit=2) == top_two


def test_values_are_bound_never_pasted(data: Path) -> None:
    assert keyed(data, "backlinks", ONEIL, scope="exact") == [(ER2, ONEIL, "a")]
    for target, scope in [(f"{T}/' OR '1'='1", "exact"), (f"{T}/x') --", "prefix")]:
        with pytest.raises(LinkindexError, match="^no data for target"):
            run_query(data, "backlinks", [target], scope=scope)
    with pytest.raises(LinkindexError, match="^bad target"):
        run_query(data, "backlinks", ["target.example' OR 1=1 --"])
    with pytest.raises(LinkindexError, match="^bad date"):
        run_query(data, "new_lost", ["target.example", "2025-01-01'); DROP TABLE x; --"])


def test_targets_are_normalised_per_scope(data: Path) -> None:
    assert keyed(data, "top_pages", "TARGET.example.", scope="host") == EXPECTED[
        "top_pages", "host", "target.example"]
    assert keyed(data, "top_pages", "HTTPS://Target.Example:443", scope="exact") == EXPECTED[
        "top_pages", "exact", f"{T}/"]


ERRORS = [
    ("nosuch", ["x.example"], {},
     "unknown query 'nosuch': choose one of anchor_mix, anchors, backlinks, "),
    ("backlinks", [], {},
     r"wrong number of arguments for backlinks \(0\): usage: backlinks TARGET$"),
    ("backlinks", ["a.example", "b.example"], {}, "usage: backlinks TARGET$"),
    ("new_lost", ["a.example"], {}, "usage: new_lost TARGET SINCE$"),
    ("link_gap", ["a.example"], {}, r"usage: link_gap ME COMPETITOR \[COMPETITOR ...\]$"),
    ("backlinks", ["a.example"], {"scope": "url"},
     "^bad scope 'url': use domain, host, exact or prefix$"),
    ("backlinks", ["a.example"], {"filters": Filters(kind="link")}, "^bad kind 'link': use a, "),
    ("backlinks", ["a.example"], {"filters": Filters(position="body")}, "^bad position 'body'"),
    ("backlinks", ["a.example"], {"limit": -1}, "^bad limit"),
    ("link_gap", ["a.example", "b.example"], {"min_overlap": 0}, "^bad min_overlap"),
    ("backlinks", ["target.example"], {"scope": "exact"}, "not an absolute http"),
    ("backlinks", ["nosuch.example"], {},
     r"^no data for target nosuch.example \(scope domain\) in the index$"),
    ("overview", ["nosuch.example"], {}, "^no data for target nosuch.example"),
    ("backlinks", ["www.target.example"], {}, "registrable domain is target.example"),
    ("backlinks", ["https://lonely.example/nothing"], {"scope": "exact"}, "^no data for target"),
    ("link_gap", ["target.example", "rival.example", "nosuch.example"], {},
     "^no data for target nosuch.example"),
]


@pytest.mark.parametrize(("name", "args", "options", "message"), ERRORS)
def test_errors_are_one_clear_line(
    data: Path, name: str, args: list[str], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(LinkindexError, match=message) as caught:
        run_query(data, name, args, **options)
    assert "\n" not in str(caught.value)


def test_known_targets_with_nothing_to_show_are_empty_not_errors(data: Path) -> None:
    assert rows(data, "backlinks", "lonely.example") == []  # crawled page only
    assert rows(data, "backlinks", "https://lonely.example/", scope="exact") == []
    assert rows(data, "backlinks", "https://g.example/1", scope="exact") == []  # link source only
    assert rows(data, "backlinks", "target.example", filters=Filters(kind="area")) == []
    [row] = rows(data, "overview", "g.example")
    assert (row["backlinks"], row["pages_crawled"], row["domain_rank"]) == (0, 0, 1.0)


def test_missing_data_and_missing_index(tmp_path: Path) -> None:
    with pytest.raises(LinkindexError, match="does not exist"):
        run_query(tmp_path / "nope", "backlinks", ["a.example"])
    with pytest.raises(LinkindexError, match="no index built yet"):
        run_query(tmp_path, "backlinks", ["a.example"])
    with pytest.raises(LinkindexError, match="no index built yet"):
        run_sql(tmp_path, "SELECT 1")


def test_run_sql(data: Path) -> None:
    assert run_sql(data, "SELECT count(*) AS n FROM edges").to_pylist() == [{"n": len(EDGES)}]
    assert run_sql(data, "SELECT index_buckets() AS b").to_pylist() == [{"b": 8}]
    same = run_sql(data, "SELECT * FROM anchors('target.example', scope := 'host')")
    assert same.equals(run_query(data, "anchors", ["target.example"], scope="host"))
    scratch = run_sql(data, "CREATE TABLE scratch AS SELECT 1 AS x; SELECT * FROM scratch")
    assert scratch.to_pylist() == [{"x": 1}]  # in memory: the session owns no database file
    with pytest.raises(LinkindexError) as caught:
        run_sql(data, "SELECT * FROM no_such_table")
    message = str(caught.value)
    assert message.startswith("Catalog Error: Table with name no_such_table does not exist")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("option", "word"),
    [("scope := 'url'", "scope"), ("kind := 'image'", "kind"),
     ("link_position := 'body'", "position")],
)
def test_macros_reject_unknown_values_in_sql_too(data: Path, option: str, word: str) -> None:
    with pytest.raises(LinkindexError, match=f"^Invalid Input Error: unknown {word} '"):
        run_sql(data, f"SELECT * FROM backlinks('target.example', {option})")


STOCK = [
    ("SELECT * FROM referring_domains('target.example')",
     "referring_domains", ["target.example"], "domain"),
    ("SELECT * FROM backlinks('blog.target.example', scope := 'host')",
     "backlinks", ["blog.target.example"], "host"),
    ("SELECT * FROM link_gap('target.example', ['rival.example', 'other.example'])",
     "link_gap", ["target.example", "rival.example", "other.example"], "domain"),
    ("SELECT * FROM new_lost('target.example', TIMESTAMPTZ '2025-02-01 00:00:00+00')",
     "new_lost", ["target.example", "2025-02-01"], "domain"),
]


def test_stock_duckdb_with_the_init_file_gives_the_same_rows(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_init_file(data)
    assert path == data / layout.INIT_SQL
    assert not [p for p in data.iterdir() if p.name.startswith(layout.TMP_PREFIX)]
    monkeypatch.chdir(data)  # its paths are relative to DATA: run from there
    con = duckdb.connect()  # the stock package: no linkindex code from here on
    con.execute(path.read_text())
    for sql, name, args, scope in STOCK:
        expected = run_query(data, name, args, scope=scope).to_pylist()
        assert con.sql(sql).to_arrow_table().to_pylist() == expected, sql


def test_macro_files_load_helpers_first_and_match_the_api() -> None:
    names = [p.name for p in macro_files()]
    helpers = [n for n in names if n.startswith("_")]
    assert names[: len(helpers)] == sorted(helpers) and names[len(helpers):] == sorted(names[len(helpers):])  # noqa: E501
    assert {n[:-4] for n in names if not n.startswith("_")} == set(QUERIES)
    for path in macro_files():
        text = path.read_text()
        assert text.startswith("-- "), path.name
        if not path.name.startswith("_"):
            assert f"CREATE OR REPLACE TEMP MACRO {path.stem}(" in text
            assert text.count("CREATE ") == 1, path.name


# ---------------------------------------------------------------------------
# The catalogue: read from the SQL files' headers (queries.catalogue)
# ---------------------------------------------------------------------------


def macro_parameters(text: str, name: str) -> dict[str, str | None]:
    """The parameters of macro `name` as its CREATE statement writes them: name ->
    default (None for a positional one), in order."""
    match = re.search(rf"CREATE OR REPLACE TEMP MACRO {name}\((.*?)\) AS TABLE", text, re.S)
    assert match, name
    parameters: dict[str, str | None] = {}
    for item in match[1].split(","):
        parameter, _, default = item.partition(":=")
        parameters[parameter.strip()] = default.strip() or None
    return parameters


SQL_VALUES = {"true": True, "false": False, "NULL": None}


def test_every_header_parses_and_states_its_macros_parameters(data: Path) -> None:
    con = connect(data)
    declared = dict(con.execute(
        "SELECT function_name, parameters FROM duckdb_functions() "
        "WHERE function_type = 'table_macro'").fetchall())
    for path in macro_files():
        if path.name.startswith("_"):
            continue
        name, text = path.stem, path.read_text()
        spec = QUERIES[name]
        assert spec == parse_header(name, text)
        in_sql = macro_parameters(text, name)
        assert declared[name] == list(in_sql), name  # what DuckDB defined, in order
        positional = [p for p, default in in_sql.items() if default is None]
        assert list(spec.args) == positional == list(in_sql)[: len(positional)], name
        assert dict(spec.options) == {p: d for p, d in in_sql.items() if d is not None}, name
        # run_query passes the scope and every filter: each query takes them, with the
        # defaults run_query has.
        standard = {"scope": "domain", **Filters().sql_options()}
        assert {p: SQL_VALUES.get(d, d.strip("'")) for p, d in spec.options.items()
                if p in standard} == standard, name
        assert spec.description and not spec.description.endswith("."), name
    assert [n for n, s in QUERIES.items() if s.variadic] == ["link_gap"]


NEW_QUERY = """\
-- linked_hosts(target): the target's hosts that receive links, most linked first.
--
-- Parameters: target, scope := 'domain', live_only := true, dofollow_only := false,
--             external_only := true, kind := NULL, link_position := NULL,
--             as_of := NULL (as in backlinks.sql).
--
-- Columns: dst_host, backlinks.

CREATE OR REPLACE TEMP MACRO linked_hosts(
    target,
    scope := 'domain',
    live_only := true,
    dofollow_only := false,
    external_only := true,
    kind := NULL,
    link_position := NULL,
    as_of := NULL
) AS TABLE
SELECT link.dst_host, count(*) AS backlinks
FROM target_edges(
    target,
    scope := scope,
    live_only := live_only,
    dofollow_only := dofollow_only,
    external_only := external_only,
    kind := kind,
    link_position := link_position,
    as_of := as_of
) AS link
GROUP BY link.dst_host
ORDER BY backlinks DESC, link.dst_host;
"""


def test_adding_a_query_is_adding_one_sql_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from linkindex.cli import main

    shipped = list(QUERIES)
    folder = tmp_path / "queries"
    folder.mkdir()
    for path in macro_files():
        shutil.copy(path, folder)
    (folder / "linked_hosts.sql").write_text(NEW_QUERY)
    monkeypatch.setattr(query_session, "SQL_DIR", folder)

    assert list(QUERIES) == list(catalogue(folder)) == sorted([*shipped, "linked_hosts"])
    assert QUERIES["linked_hosts"] == QuerySpec(
        ("target",), "the target's hosts that receive links, most linked first",
        options=QUERIES["top_pages"].options)
    data = tmp_path / "data"
    write_index(data, EDGES, PAGES, RANKS)
    counts = Counter(e["dst_host"] for e in EDGES
                     if e["dst_domain"] == "target.example" and e["live"] and e["external"])
    assert rows(data, "linked_hosts", "target.example") == [
        {"dst_host": host, "backlinks": n}
        for host, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    assert main(["queries"]) == 0
    listed = capsys.readouterr().out
    assert "linked_hosts TARGET\n    the target's hosts that receive links" in listed
    with pytest.raises(LinkindexError, match="usage: linked_hosts TARGET$"):
        run_query(data, "linked_hosts", [])
    monkeypatch.undo()
    assert "linked_hosts" not in QUERIES


def test_linkindex_queries_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    from linkindex.cli import main

    assert main(["queries"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[::2] == [spec.usage(name) for name, spec in QUERIES.items()]
    assert lines[1::2] == [f"    {spec.description}" for spec in QUERIES.values()]
    assert "link_gap ME COMPETITOR [COMPETITOR ...]" in lines
    assert "    every link pointing at the target, one row per link" in lines


HEADER = """\
-- demo(target, since): what it answers.
--
-- Parameters:
--   target, since
--   scope := 'domain'   how the target matches
--
-- Columns: ...

CREATE OR REPLACE TEMP MACRO demo(target, since, scope := 'domain') AS TABLE SELECT 1;
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("-- demo(target, since): what it answers.", "-- demo: what it answers",
         "line 1 must read"),
        ("-- demo(", "-- demos(", "line 1 names 'demos', not the file's name 'demo'"),
        ("-- Parameters:", "-- Options:", "no '-- Parameters:' block"),
        ("--   target, since", "--   target, since, scope := 'host'", "scope := given twice"),
        ("--   target, since", "--   target  VARCHAR[]: some", "only the last positional"),
        ("--   target, since", "--   since := 1", "since both positional and named"),
        ("how the target matches", "INTEGER: how the target matches",
         "scope := ... INTEGER: not a type an option may state"),
    ],
)
def test_a_bad_header_is_one_clear_error(old: str, new: str, message: str) -> None:
    assert parse_header("demo", HEADER) == QuerySpec(
        ("target", "since"), "what it answers", options={"scope": "'domain'"})
    assert old in HEADER
    with pytest.raises(LinkindexError) as caught:
        parse_header("demo", HEADER.replace(old, new))
    assert str(caught.value).startswith(f"queries/demo.sql: bad header: {message}")


def test_an_option_may_state_its_type() -> None:
    text = HEADER.replace("how the target matches", "VARCHAR: how the target matches")
    assert parse_header("demo", text).types == {"scope": "VARCHAR"}
    assert parse_header("demo", HEADER).types == {}
    assert dict(QUERIES["backlinks"].types) == {
        "brands": "VARCHAR[]", "keywords": "VARCHAR[]", "seen_since": "TIMESTAMPTZ",
        "seen_until": "TIMESTAMPTZ", "seen_field": "VARCHAR", "anchor_contains": "VARCHAR",
        "src_tld": "VARCHAR", "min_domain_rank": "DOUBLE", "src_lang": "VARCHAR",
        "sitewide": "BOOLEAN"}


def test_a_list_argument_is_variadic_on_the_command_line() -> None:
    text = HEADER.replace("--   target, since", "--   target, since  VARCHAR[]: the moments")
    assert parse_header("demo", text).variadic
    assert parse_header("demo", text).usage("demo") == "demo TARGET SINCE [SINCE ...]"


def test_queries_never_write_to_the_index(data: Path) -> None:
    def snapshot() -> dict[str, tuple[int, int]]:
        files = (data / "index").rglob("*")
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}

    before = snapshot()
    for name in QUERIES:
        args = {"new_lost": ["target.example", "2025-01-01"],
                "changes": ["target.example", "test", "test"],
                "link_gap": ["target.example", "rival.example"]}.get(name, ["target.example"])
        run_query(data, name, args)
    run_sql(data, "SELECT * FROM overview('target.example')")
    assert snapshot() == before


def test_an_index_without_edges_still_answers(tmp_path: Path) -> None:
    write_index(tmp_path, [], [page("https://lonely.example/")])
    assert rows(tmp_path, "backlinks", "lonely.example") == []
    [row] = rows(tmp_path, "overview", "lonely.example")
    assert (row["backlinks"], row["pages_crawled"]) == (0, 1)


# ---------------------------------------------------------------------------
# Partition pruning: a target's query reads one bucket folder
# ---------------------------------------------------------------------------

PRUNING_DOMAINS = [f"site{n}.example" for n in range(40)]


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wide")
    edges = [
        edge(f"https://src{k}.example/{n}", f"https://{domain}/p{k}", "x")
        for n, domain in enumerate(PRUNING_DOMAINS)
        for k in range(3)
    ]
    write_index(root, edges, ranks={f"src{k}.example": k for k in range(3)}, row_group_size=3)
    return root


def table_scans(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The table scans in the analysed plan of `sql` (EXPLAIN ANALYZE, as JSON)."""
    [(_, plan)] = con.sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params=params).fetchall()
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("type") == "TABLE_SCAN":
            found.append(node)
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(plan)["operator"]:
        walk(node)
    return found


def edges_scans(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The scans of the edges view in the analysed plan of `sql`."""
    return [scan for scan in table_scans(con, sql, params)
            if "/edges/" in str(scan.get("extra_info", {}).get("Filename(s)"))]


def test_overview_of_a_domain_counts_its_pages_without_scanning_pages(data: Path) -> None:
    # pages.parquet's row groups grow with the index; a domain's count is in domains.
    con = connect(data)

    def files(sql: str) -> list[str]:
        return sorted(Path(str(scan["extra_info"].get("Filename(s)"))).name
                      for scan in table_scans(con, sql, {}))

    assert "pages.parquet" not in files("SELECT * FROM overview('target.example')")
    assert "pages.parquet" in files(
        "SELECT * FROM overview('www.target.example', scope := 'host')")
    [row] = rows(data, "overview", "target.example")
    assert row["pages_crawled"] == 7  # as test_overview_full_row_... (a count over pages)


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELECT * FROM referring_domains('site7.example')", {}),
        ("SELECT * FROM referring_domains($target)", {"target": "site7.example"}),
        ("SELECT * FROM backlinks($target, scope := $scope, kind := $kind)",
         {"target": "site7.example", "scope": "domain", "kind": None}),
        ("SELECT * FROM backlinks($target, scope := 'host')", {"target": "site7.example"}),
        ("SELECT * FROM overview($target, scope := 'exact')", {"target": "https://site7.example/p1"}),
    ],
)
def test_a_target_query_reads_only_its_bucket(
    wide: Path, sql: str, params: dict[str, Any]
) -> None:
    bucket = layout.bucket_of("site7.example", 8)
    assert len({layout.bucket_of(d, 8) for d in PRUNING_DOMAINS}) == 8
    con = connect(wide)
    scans = edges_scans(con, sql, params)
    # each query reads its links once (classified_links holds them while it classifies
    # each anchor text once)
    assert len(scans) == 1
    for scan in scans:
        files = scan["extra_info"]["Filename(s)"].split(", ")
        assert [Path(f).parent.name for f in files] == [f"bucket={bucket}"]
        assert scan["extra_info"]["Total Files Read"] == "1"
        assert scan["rows_scanned"] <= 3  # one row group of 3 rows: the domain's, together
    if "'host'" not in sql and "'exact'" not in sql:  # static pruning, stated in the text plan
        [(_, text)] = con.sql(f"EXPLAIN ANALYZE {sql}", params=params).fetchall()
        assert "Scanning Files: 1/8" in text


# ---------------------------------------------------------------------------
# An empty answer says which filter emptied it (issue 13, item 14)
# ---------------------------------------------------------------------------

S = "https://s.example"
# s.example's broken pages (/missing 404, /gone 410, /lost-link 500) are linked from its
# own pages only; the one external link goes to a page that works.
EMPTY_EDGES = [
    edge(f"{S}/", f"{S}/missing", "m", position="nav"),
    edge(f"{S}/a", f"{S}/missing", "m"),
    edge(f"{S}/a", f"{S}/gone", "g"),
    edge(f"{S}/b", f"{S}/lost-link", "l", live=False),  # internal and lost: hidden twice
    edge("https://x.example/", f"{S}/", "home"),
    edge("https://x.example/", f"{S}/a", "a", nofollow=True),
]
EMPTY_PAGES = [page(f"{S}/"), page(f"{S}/a"), page(f"{S}/b"), page(f"{S}/missing", 404),
               page(f"{S}/gone", 410), page(f"{S}/lost-link", 500), page("https://x.example/")]


@pytest.fixture(scope="module")
def internal_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("empty")
    write_index(root, EMPTY_EDGES, EMPTY_PAGES, {"s.example": 10, "x.example": 5})
    return root


def test_broken_links_all_internal_say_which_filter_hides_them(internal_only: Path) -> None:
    assert rows(internal_only, "broken_backlinks", "s.example") == []
    # Independently: internal, live links to the pages that answered 4xx/5xx.
    broken = {p["url"] for p in EMPTY_PAGES if p["status"] >= 400}
    internal_live = [e for e in EMPTY_EDGES if e["dst_url"] in broken and e["live"]]
    assert len(internal_live) == 3
    [hidden] = hidden_rows(internal_only, "broken_backlinks", ["s.example"])
    assert (hidden.option, hidden.rows) == ("with --include-internal", 3)
    assert hidden.lifted == Filters(external_only=False)
    assert explain_empty(internal_only, "broken_backlinks", ["s.example"]) == (
        "0 rows; 3 more with --include-internal")
    lifted = rows(internal_only, "broken_backlinks", "s.example", filters=hidden.lifted)
    assert len(lifted) == hidden.rows


def test_only_lifting_filters_together_finds_rows(internal_only: Path) -> None:
    exact = {"scope": "exact"}
    target = f"{S}/lost-link"  # its one link is internal and lost
    assert rows(internal_only, "broken_backlinks", target, **exact) == []
    assert explain_empty(internal_only, "broken_backlinks", [target], **exact) == (
        "0 rows; 1 more with --include-internal --include-lost")


def test_each_filter_that_is_on_is_counted_and_named(internal_only: Path) -> None:
    only_img = Filters(kind="img")
    assert explain_empty(internal_only, "backlinks", ["s.example"], filters=only_img) == (
        "0 rows; 2 more without --kind")
    in_aside = Filters(position="aside", dofollow_only=True)
    assert rows(internal_only, "backlinks", "s.example", filters=in_aside) == []
    # without --position: x.example's dofollow link; without --dofollow: nothing in aside.
    assert explain_empty(internal_only, "backlinks", ["s.example"], filters=in_aside) == (
        "0 rows; 1 more without --position")
    assert explain_empty(internal_only, "backlinks", ["x.example"]) is None  # nothing hidden
    assert hidden_rows(internal_only, "overview", ["s.example"]) == []  # always one row


def test_hidden_counts_stop_at_the_cap(internal_only: Path, monkeypatch: pytest.MonkeyPatch,
                                       ) -> None:
    import queries

    monkeypatch.setattr(queries, "HIDDEN_CAP", 2)
    assert explain_empty(internal_only, "broken_backlinks", ["s.example"]) == (
        "0 rows; 2+ more with --include-internal")


def test_the_cli_prints_the_hint_once_on_stderr(
    internal_only: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from linkindex.cli import main

    data = ["--data", str(internal_only)]
    hint = "linkindex: 0 rows; 3 more with --include-internal\n"
    assert main(["query", "broken_backlinks", "s.example", "--format", "json", *data]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == [] and out.err == hint
    assert main(["export", "broken_backlinks", "s.example", "-o", str(tmp_path / "b.csv"),
                 *data]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("wrote 0 rows") and out.err == hint
    assert main(["query", "broken_backlinks", "s.example", "--include-internal", "--format",
                 "json", *data]) == 0
    out = capsys.readouterr()
    assert len(json.loads(out.out)) == 3 and out.err == ""
    assert main(["query", "broken_backlinks", "s.example", "--limit", "0", *data]) == 0
    assert capsys.readouterr().err == ""  # asked for no rows: no hint
