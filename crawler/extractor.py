"""HTML → the page facts and link columns of schema v1, in one lexbor parse.

The rules are written down in docs/extraction.md. Output is column-oriented (one
list per edge column) so the pipeline hands it to Arrow without per-link objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.domains import registrable_domain
from crawler.urls import absolutize, normalize_url, url_host
from index.schema import ANCHOR_MAX_CHARS, EDGE_LINK_COLUMNS, TITLE_MAX_CHARS

HTML_TYPES = ("text/html", "application/xhtml+xml")

_TAG_POSITION = {
    "nav": "nav",
    "header": "header",
    "footer": "footer",
    "aside": "aside",
    "main": "content",
    "article": "content",
}
_ROLE_POSITION = {
    "navigation": "nav",
    "banner": "header",
    "contentinfo": "footer",
    "complementary": "aside",
    "main": "content",
}
_HINT_POSITION = {
    "nav": "nav",
    "navbar": "nav",
    "navigation": "nav",
    "menu": "nav",
    "breadcrumb": "nav",
    "breadcrumbs": "nav",
    "header": "header",
    "masthead": "header",
    "footer": "footer",
    "sidebar": "aside",
}
# One CSS query finds every element that may be a landmark; Python then confirms it.
_LANDMARK_CSS = ", ".join(
    [*_TAG_POSITION, "[role]"]
    + [f"[{attr}*={hint} i]" for attr in ("class", "id") for hint in
       ("nav", "menu", "breadcrumb", "header", "masthead", "footer", "sidebar")]
)
_HINT_SPLIT = re.compile(r"[\s_\-]+")


def collapse(text: str | None, cap: int = ANCHOR_MAX_CHARS) -> str:
    """Collapse every whitespace run (NBSP included) to one space, trim, cap."""
    if not text:
        return ""
    return " ".join(text.split())[:cap]


@dataclass
class Extraction:
    """What one page yields: page facts and one list per edge column (EDGE_LINK_COLUMNS)."""

    title: str | None = None
    lang: str | None = None
    canonical: str | None = None
    meta_noindex: bool = False
    meta_nofollow: bool = False
    n_skipped_links: int = 0
    links: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [] for name in EDGE_LINK_COLUMNS}
    )

    @property
    def n_links(self) -> int:
        return len(self.links["dst_url"])

    @property
    def n_external_links(self) -> int:
        return sum(self.links["external"])

    def add(
        self,
        src_domain: str,
        dst_url: str,
        *,
        anchor: str = "",
        kind: str = "a",
        alt: str | None = None,
        rel: frozenset[str] = frozenset(),
        position: str | None = None,
    ) -> None:
        dst_host = url_host(dst_url)
        dst_domain = registrable_domain(dst_host)
        cols = self.links
        cols["ordinal"].append(len(cols["dst_url"]))
        cols["dst_url"].append(dst_url)
        cols["dst_host"].append(dst_host)
        cols["dst_domain"].append(dst_domain)
        cols["anchor"].append(anchor)
        cols["kind"].append(kind)
        cols["alt"].append(alt)
        cols["nofollow"].append("nofollow" in rel)
        cols["ugc"].append("ugc" in rel)
        cols["sponsored"].append("sponsored" in rel)
        cols["position"].append(position)
        cols["external"].append(src_domain != dst_domain)


def robots_tokens(content: str | None) -> tuple[bool, bool]:
    """(noindex, nofollow) from a robots meta content or X-Robots-Tag value."""
    if not content:
        return False, False
    tokens = {t.strip().lower() for t in content.split(",")}
    none = "none" in tokens
    return none or "noindex" in tokens, none or "nofollow" in tokens


def extract_redirect(src_url: str, location: str) -> tuple[str | None, Extraction]:
    """A 3xx response: its target (or None if unusable) and its single redirect edge."""
    result = Extraction()
    target = absolutize(location, src_url)
    if target is None:
        result.n_skipped_links = 1
        return None, result
    result.add(registrable_domain(url_host(src_url)), target, kind="redirect")
    return target, result


def _landmark_position(node: LexborNode) -> str | None:
    tag = node.tag
    if tag in _TAG_POSITION:
        return _TAG_POSITION[tag]
    attrs = node.attributes
    role = attrs.get("role")
    if role:
        position = _ROLE_POSITION.get(role.strip().lower())
        if position:
            return position
    for attr in ("class", "id"):
        value = attrs.get(attr)
        if value:
            for token in _HINT_SPLIT.split(value.lower()):
                if token in _HINT_POSITION:
                    return _HINT_POSITION[token]
    return None


class _Positions:
    """Nearest-landmark lookup, memoised per ancestor so each node is climbed once."""

    def __init__(self, tree: LexborHTMLParser) -> None:
        self.landmarks: dict[int, str] = {}
        for node in tree.css(_LANDMARK_CSS):
            position = _landmark_position(node)
            if position is not None:
                self.landmarks[node.mem_id] = position
        self.memo: dict[int, str] = {}

    def of(self, node: LexborNode) -> str:
        if not self.landmarks:
            return "content"
        chain: list[int] = []
        parent = node.parent
        position = "content"
        while parent is not None:
            mem_id = parent.mem_id
            if mem_id in self.memo:
                position = self.memo[mem_id]
                break
            if mem_id in self.landmarks:
                position = self.landmarks[mem_id]
                self.memo[mem_id] = position
                break
            chain.append(mem_id)
            parent = parent.parent
        for mem_id in chain:
            self.memo[mem_id] = position
        return position


def _image_alts(tree: LexborHTMLParser) -> dict[int, str | None]:
    """mem_id of each <a> that wraps an <img> → that first image's alt (None if absent)."""
    alts: dict[int, str | None] = {}
    for img in tree.css("a img"):
        parent = img.parent
        while parent is not None and parent.tag != "a":
            parent = parent.parent
        if parent is not None and parent.mem_id not in alts:
            alt = img.attributes.get("alt")
            alts[parent.mem_id] = None if alt is None else collapse(alt)
    return alts


def extract_html(url: str, html: str | bytes, robots_header: str | None = None) -> Extraction:
    """Extract the page facts and every link of an HTML page fetched from `url`."""
    tree = LexborHTMLParser(html)
    result = Extraction()
    src_domain = registrable_domain(url_host(url))

    html_node = tree.css_first("html")
    if html_node is not None:
        lang = html_node.attributes.get("lang")
        result.lang = lang.strip() or None if lang else None
    title = tree.css_first("title")
    if title is not None:
        result.title = collapse(title.text(deep=True), TITLE_MAX_CHARS)

    noindex, nofollow = robots_tokens(robots_header)
    for meta in tree.css("meta[name]"):
        if (meta.attributes.get("name") or "").strip().lower() == "robots":
            m_noindex, m_nofollow = robots_tokens(meta.attributes.get("content"))
            noindex, nofollow = noindex or m_noindex, nofollow or m_nofollow
    result.meta_noindex, result.meta_nofollow = noindex, nofollow

    base = url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = absolutize(base_node.attributes.get("href") or "", url) or url

    for link in tree.css("link[rel][href]"):
        rel = (link.attributes.get("rel") or "").lower().split()
        if "canonical" in rel:
            canonical = absolutize(link.attributes.get("href") or "", base)
            if canonical is None:
                result.n_skipped_links += 1
            else:
                result.canonical = canonical
                result.add(src_domain, canonical, kind="canonical")
            break

    positions = _Positions(tree)
    image_alts = _image_alts(tree)
    for node in tree.css("a[href], area[href]"):
        attrs = node.attributes
        dst = absolutize(attrs.get("href") or "", base)
        if dst is None:
            result.n_skipped_links += 1
            continue
        rel_value = attrs.get("rel")
        rel = frozenset(rel_value.lower().split()) if rel_value else frozenset()
        if node.tag == "area":
            alt_value = attrs.get("alt")
            alt = None if alt_value is None else collapse(alt_value)
            result.add(src_domain, dst, anchor=alt or "", kind="area", alt=alt, rel=rel,
                       position=positions.of(node))
            continue
        anchor = collapse(node.text(deep=True))
        mem_id = node.mem_id
        if mem_id in image_alts:
            alt = image_alts[mem_id]
            result.add(src_domain, dst, anchor=anchor or alt or "", kind="img", alt=alt,
                       rel=rel, position=positions.of(node))
        else:
            result.add(src_domain, dst, anchor=anchor, rel=rel, position=positions.of(node))
    return result


def media_type(content_type: str | None) -> str | None:
    """The lower-case media type of a Content-Type header, without parameters."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def is_html(content_type: str | None) -> bool:
    return media_type(content_type) in HTML_TYPES


def page_url(url: str) -> str:
    """The stored form of a fetched URL (Scrapy's may differ in trivia)."""
    return normalize_url(url) or url
