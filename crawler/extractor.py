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
from crawler.urls import _SCHEME_RE, absolutize, normalize_url, url_host
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

    def add_canonical(self, src_domain: str, href: str, base: str) -> None:
        """The page's rel=canonical: an edge and a page fact, or a skipped link."""
        canonical = absolutize(href, base)
        if canonical is None:
            self.n_skipped_links += 1
        else:
            self.canonical = canonical
            self.add(src_domain, canonical, kind="canonical")


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


def _hint_position(attrs: dict[str, str | None]) -> str | None:
    """The position an element gives its links by ARIA role or by a class / id token
    (its tag is checked first, in _TAG_POSITION); None if it is no landmark."""
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


def _image_alts(images: list[LexborNode]) -> dict[int, str | None]:
    """mem_id of each <a> that wraps an <img> → that first image's alt (None if absent)."""
    alts: dict[int, str | None] = {}
    for img in images:
        parent = img.parent
        while parent is not None and parent.tag != "a":
            parent = parent.parent
        if parent is not None and parent.mem_id not in alts:
            alt = img.attributes.get("alt")
            alts[parent.mem_id] = None if alt is None else collapse(alt)
    return alts


# Link targets, memoised across pages: href → (dst_url, dst_host, dst_domain) for hrefs
# whose target does not depend on the page (absolute URLs, other schemes), and
# (base directory, href) → the same for relative ones, which depend on nothing else
# (RFC 3986 merge). Resolving and normalising a URL costs far more than lexbor takes
# to parse its page; links repeat across pages (menus, footers, popular sites).
# Cleared when full: simple, and a crawl refills the hot entries at once.
_Target = tuple[str, str, str]
_TARGETS: dict[object, _Target | None] = {}
_TARGETS_MAX = 1 << 16
_MISS = object()
_ABSOLUTE = ("http://", "https://")


def _base_dir(base: str) -> str | None:
    """The base URL up to the last '/' of its path (what relative hrefs depend on)."""
    query = base.find("?")
    authority = base.find("//")
    slash = base.rfind("/", 0, query if query >= 0 else len(base))
    if authority < 0 or slash <= authority + 1:
        return None  # no path: not a normalised URL, do not share cache entries
    return base[: slash + 1]


def _resolve(href: str, base: str, base_dir: str | None) -> _Target | None:
    """The target of `href` on a page with this base, memoised in _TARGETS."""
    dst = absolutize(href, base)
    if dst is None:
        target = None
    else:
        host = url_host(dst)
        target = (dst, host, registrable_domain(host))
    stripped = href.strip(" \t\n\r\x0c")
    head = stripped[:8].lower()
    key: object
    if not stripped or stripped[0] == "#" or head.startswith(_ABSOLUTE):
        key = href
    elif stripped[0] == "?" or base_dir is None:
        return target  # depends on the whole base URL: not worth a shared entry
    else:
        scheme = _SCHEME_RE.match(stripped)
        if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
            key = href  # skipped whatever the base
        else:
            key = (base_dir, href)
    if len(_TARGETS) >= _TARGETS_MAX:
        _TARGETS.clear()
    _TARGETS[key] = target
    return target


# Everything extract_html looks at, found in one pass over the tree (each css() call
# walks the whole document and compiles its selector again); sorted out in Python.
_PAGE_CSS = "title, meta[name], base[href], link[rel][href], a[href], area[href], a img"
_NO_FLAGS = (False, False, False)


def extract_html(url: str, html: str | bytes, robots_header: str | None = None) -> Extraction:
    """Extract the page facts and every link of an HTML page fetched from `url`."""
    tree = LexborHTMLParser(html)
    result = Extraction()
    src_domain = registrable_domain(url_host(url))

    html_node = tree.root
    if html_node is None or html_node.tag != "html":
        html_node = tree.css_first("html")
    if html_node is not None:
        lang = html_node.attributes.get("lang")
        result.lang = lang.strip() or None if lang else None

    title = base_node = None
    metas: list[LexborNode] = []
    head_links: list[LexborNode] = []
    links: list[tuple[LexborNode, dict[str, str | None], bool]] = []  # node, attrs, is area
    images: list[LexborNode] = []
    for node in tree.css(_PAGE_CSS):
        tag = node.tag
        if tag == "a" or tag == "area":
            links.append((node, node.attributes, tag == "area"))
        elif tag == "img":
            images.append(node)
        elif tag == "title":
            if title is None:
                title = node
        elif tag == "meta":
            metas.append(node)
        elif tag == "base":
            if base_node is None:
                base_node = node
        elif tag == "link":
            head_links.append(node)

    if title is not None:
        result.title = collapse(title.text(deep=True), TITLE_MAX_CHARS)

    noindex, nofollow = robots_tokens(robots_header)
    for meta in metas:
        if (meta.attributes.get("name") or "").strip().lower() == "robots":
            m_noindex, m_nofollow = robots_tokens(meta.attributes.get("content"))
            noindex, nofollow = noindex or m_noindex, nofollow or m_nofollow
    result.meta_noindex, result.meta_nofollow = noindex, nofollow

    base = url
    if base_node is not None:
        base = absolutize(base_node.attributes.get("href") or "", url) or url

    for link in head_links:
        rel = (link.attributes.get("rel") or "").lower().split()
        if "canonical" in rel:
            result.add_canonical(src_domain, link.attributes.get("href") or "", base)
            break

    image_alts = _image_alts(images)
    base_dir = _base_dir(base)
    cached = _TARGETS.get
    memo: dict[int, str] = {}  # mem_id of an ancestor → the position it gives its links
    memo_get = memo.get
    rows = []
    skipped = 0
    for node, attrs, is_area in links:
        href = attrs["href"] or ""
        target = cached(href, _MISS)
        if target is _MISS:
            target = cached((base_dir, href), _MISS)
            if target is _MISS:
                target = _resolve(href, base, base_dir)
        if target is None:
            skipped += 1
            continue
        rel_value = attrs.get("rel")
        if rel_value:
            rel = rel_value.lower().split()
            flags = ("nofollow" in rel, "ugc" in rel, "sponsored" in rel)
        else:
            flags = _NO_FLAGS
        if is_area:
            alt_value = attrs.get("alt")
            alt = None if alt_value is None else collapse(alt_value)
            anchor, kind = alt or "", "area"
        else:
            anchor = collapse(node.text(deep=True))
            mem_id = node.mem_id
            if mem_id in image_alts:
                alt = image_alts[mem_id]
                anchor, kind = anchor or alt or "", "img"
            else:
                alt, kind = None, "a"
        # Position: the nearest landmark ancestor. Each ancestor is checked once per page
        # (memo), which costs less than selecting landmark candidates with 16 CSS
        # selectors tried on every element. Inlined: this runs for every link.
        position = "content"
        chain: list[int] = []
        parent = node.parent
        while parent is not None:
            parent_id = parent.mem_id
            known = memo_get(parent_id)
            if known is not None:
                position = known
                break
            found = _TAG_POSITION.get(parent.tag)
            if found is None:
                parent_attrs = parent.attributes
                if parent_attrs:
                    found = _hint_position(parent_attrs)
            if found is not None:
                position = memo[parent_id] = found
                break
            chain.append(parent_id)
            parent = parent.parent
        for parent_id in chain:
            memo[parent_id] = position
        rows.append((target[0], target[1], target[2], anchor, kind, alt, flags[0], flags[1],
                     flags[2], position, src_domain != target[2]))
    result.n_skipped_links += skipped
    if rows:
        cols = result.links
        first = len(cols["dst_url"])
        for name, values in zip(_ROW_COLUMNS, zip(*rows, strict=True), strict=True):
            cols[name].extend(values)
        cols["ordinal"].extend(range(first, first + len(rows)))
    return result


# The columns of one row built by extract_html, in order (ordinal is added apart).
_ROW_COLUMNS = ("dst_url", "dst_host", "dst_domain", "anchor", "kind", "alt", "nofollow",
                "ugc", "sponsored", "position", "external")


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


def clear_caches() -> None:
    """Forget every memoised URL, host and domain (benchmarks start cold with this)."""
    from crawler import urls

    _TARGETS.clear()
    registrable_domain.cache_clear()
    urls.normalize_host.cache_clear()
    urls._netloc.cache_clear()
