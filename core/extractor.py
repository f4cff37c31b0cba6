"""HTML → the page facts and link columns of schema v1, in one lexbor parse.

The rules are written down in docs/extraction.md. Output is column-oriented (one
list per edge column) so the pipeline hands it to Arrow without per-link objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from core.domains import registrable_domain
from core.schema import ANCHOR_MAX_CHARS, EDGE_LINK_COLUMNS, TITLE_MAX_CHARS
from core.urls import _SCHEME_RE, absolutize, normalize_url, url_host

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
    if _collapsed(text):
        return text[:cap]
    return " ".join(text.split())[:cap]


def _collapsed(text: str) -> bool:
    """Whether `text` (not empty) is already collapsed: its only whitespace is single
    spaces inside. isprintable() is False for every other character str.split() splits
    on, and costs less than the split and join. Inlined in extract_html's link loop."""
    return not ("  " in text or not text.isprintable() or text[0] == " " or text[-1] == " ")


@dataclass
class PageExtraction:
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


def extract_redirect(src_url: str, location: str) -> tuple[str | None, PageExtraction]:
    """A 3xx response: its target (or None if unusable) and its single redirect edge."""
    result = PageExtraction()
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


# Link targets, memoised across pages, as (dst_url, dst_host, dst_domain) or None (skipped).
# Resolving and normalising a URL costs far more than lexbor takes to parse its page, and
# links repeat across pages (menus, footers, popular sites). _MEMOS holds one memo
# (href → target) per thing a target can depend on:
# - the base URL's scheme ("http:"), for hrefs that depend on nothing else: absolute URLs,
#   protocol-relative "//host/..." and unusable ones (other schemes, "#...", empty);
# - the base directory ("http://host/dir/"), for relative hrefs (RFC 3986 merge);
# "?query" hrefs depend on the whole base and are not memoised. A page looks its two
# memos up once; then each link costs one or two lookups by its href string.
# Cleared when full: simple, and a crawl refills the hot entries at once.
_Target = tuple[str, str, str]
_Memo = dict[str, _Target | None]
_MEMOS: dict[str, _Memo] = {}
_MEMOS_MAX = 1 << 16  # entries in all memos together, each memo counting one more
_n_entries = 0
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


def _memo(key: str | None) -> _Memo:
    """The shared memo of this scheme or base directory (a throwaway one if None)."""
    global _n_entries
    if key is None:
        return {}
    memo = _MEMOS.get(key)
    if memo is None:
        if _n_entries >= _MEMOS_MAX:
            _clear_memos()
        memo = _MEMOS[key] = {}
        _n_entries += 1
    return memo


def _clear_memos() -> None:
    global _n_entries
    _MEMOS.clear()
    _n_entries = 0


def _resolve(href: str, base: str, by_scheme: _Memo, by_dir: _Memo) -> _Target | None:
    """The target of `href` on a page with this base, memoised in the page's memo of
    its base scheme or of its base directory (see _MEMOS)."""
    global _n_entries
    dst = absolutize(href, base)
    if dst is None:
        target = None
    else:
        host = url_host(dst)
        target = (dst, host, registrable_domain(host))
    memo = by_scheme  # the target depends on the base's scheme at most
    if not href.startswith(_ABSOLUTE):  # else decided at once: the most common miss
        stripped = href.strip(" \t\n\r\x0c")  # what absolutize looks at
        if stripped and stripped[0] != "#" and stripped[:2] != "//":
            if stripped[0] == "?":
                return target  # depends on the whole base URL: not worth a shared entry
            if not stripped[:8].lower().startswith(_ABSOLUTE):
                scheme = _SCHEME_RE.match(stripped)
                if scheme is None or scheme.group(1).lower() in ("http", "https"):
                    memo = by_dir  # relative (another scheme: skipped whatever the base)
    if _n_entries >= _MEMOS_MAX:
        _clear_memos()  # `memo` is then no longer shared: this entry is only local
    memo[href] = target
    _n_entries += 1
    return target


def _inherited_position(node: LexborNode | None, positions: dict[int, str]) -> str:
    """The position the nearest landmark at or above `node` gives its links ("content"
    if none). Every element on the way is memoised by mem_id, for the page's next links."""
    chain: list[int] = []
    position = "content"
    while node is not None:
        node_id = node.mem_id
        known = positions.get(node_id)
        if known is not None:
            position = known
            break
        found = _TAG_ID_POSITION.get(node.tag_id)
        if found is None:
            attrs = node.attributes
            if attrs:
                found = _hint_position(attrs)
        if found is not None:
            position = positions[node_id] = found
            break
        chain.append(node_id)
        node = node.parent
    for node_id in chain:
        positions[node_id] = position
    return position


def _tag_ids(*names: str) -> tuple[int, ...]:
    """lexbor's tag ids of these HTML tags: comparing ints costs less than `node.tag`,
    which maps the id to its name (the same for every namespace, as `tag` is)."""
    tree = LexborHTMLParser("".join(f"<{name}></{name}>" for name in names))
    ids = {node.tag: node.tag_id for node in tree.css("*")}
    return tuple(ids[name] for name in names)


_A, _AREA, _IMG, _TITLE, _META, _BASE, _LINK = _tag_ids(
    "a", "area", "img", "title", "meta", "base", "link"
)
_TAG_ID_POSITION = dict(zip(_tag_ids(*_TAG_POSITION), _TAG_POSITION.values(), strict=True))

# Everything extract_html looks at, found in one pass over the tree (each css() call
# walks the whole document and compiles its selector again); sorted out in Python.
_PAGE_CSS = "title, meta[name], base[href], link[rel][href], a[href], area[href], a img"


def extract_html(url: str, html: str | bytes, robots_header: str | None = None) -> PageExtraction:
    """Extract the page facts and every link of an HTML page fetched from `url`."""
    tree = LexborHTMLParser(html)
    src_domain = registrable_domain(url_host(url))

    lang = None
    html_node = tree.root
    if html_node is None or html_node.tag != "html":
        html_node = tree.css_first("html")
    if html_node is not None:
        lang = html_node.attributes.get("lang")
        lang = lang.strip() or None if lang else None

    title_node = base_node = None
    metas: list[LexborNode] = []
    head_links: list[LexborNode] = []
    links: list[LexborNode] = []  # <a> and <area>, in document order
    areas: set[int] = set()  # mem_id of the <area> ones
    images: list[LexborNode] = []
    for node in tree.css(_PAGE_CSS):
        tag = node.tag_id
        if tag == _A:
            links.append(node)
        elif tag == _IMG:
            images.append(node)
        elif tag == _AREA:
            links.append(node)
            areas.add(node.mem_id)
        elif tag == _TITLE:
            if title_node is None:
                title_node = node
        elif tag == _META:
            metas.append(node)
        elif tag == _BASE:
            if base_node is None:
                base_node = node
        elif tag == _LINK:
            head_links.append(node)

    title = None
    if title_node is not None:
        title = collapse(title_node.text(deep=True), TITLE_MAX_CHARS)

    noindex, nofollow = robots_tokens(robots_header)
    for meta in metas:
        if (meta.attributes.get("name") or "").strip().lower() == "robots":
            m_noindex, m_nofollow = robots_tokens(meta.attributes.get("content"))
            noindex, nofollow = noindex or m_noindex, nofollow or m_nofollow

    base = url
    if base_node is not None:
        base = absolutize(base_node.attributes.get("href") or "", url) or url
    by_scheme = _memo(base[: base.find(":") + 1])
    by_dir = _memo(_base_dir(base))
    scheme_get = by_scheme.get
    dir_get = by_dir.get

    result = PageExtraction(title=title, lang=lang, meta_noindex=noindex, meta_nofollow=nofollow)
    for link in head_links:
        rel = (link.attributes.get("rel") or "").lower().split()
        if "canonical" in rel:
            result.add_canonical(src_domain, link.attributes.get("href") or "", base)
            break

    image_alts = _image_alts(images) if images else None
    positions: dict[int, str] = {}  # mem_id of an ancestor → the position it gives links
    positions_get = positions.get
    position_of_tag = _TAG_ID_POSITION.get
    rows = []
    skipped = 0
    for node in links:
        attrs = node.attributes
        href = attrs["href"] or ""
        target = scheme_get(href, _MISS)
        if target is _MISS:
            target = dir_get(href, _MISS)
            if target is _MISS:
                target = _resolve(href, base, by_scheme, by_dir)
        if target is None:
            skipped += 1
            continue
        rel_value = attrs.get("rel")
        if rel_value:
            rel = rel_value.lower().split()
            nofollow_link, ugc, sponsored = "nofollow" in rel, "ugc" in rel, "sponsored" in rel
        else:
            nofollow_link = ugc = sponsored = False
        alt = None
        kind = "a"
        if areas and node.mem_id in areas:
            alt_value = attrs.get("alt")
            alt = None if alt_value is None else collapse(alt_value)
            anchor, kind = alt or "", "area"
        else:
            # text_lexbor() is text(deep=True) (both join every descendant text node's
            # bytes, then decode) at less cost. collapse(), inlined: no split and join
            # when the text is already collapsed (see _collapsed).
            anchor = node.text_lexbor()
            if anchor:
                if ("  " in anchor or not anchor.isprintable() or anchor[0] == " "
                        or anchor[-1] == " "):
                    anchor = " ".join(anchor.split())
                if len(anchor) > ANCHOR_MAX_CHARS:
                    anchor = anchor[:ANCHOR_MAX_CHARS]
            if image_alts:  # emptied as its links come: no more checks after the last
                mem_id = node.mem_id
                if mem_id in image_alts:
                    alt = image_alts.pop(mem_id)
                    anchor, kind = anchor or alt or "", "img"
        # Position: the nearest landmark ancestor, memoised per element for the page's
        # next links (which costs less than selecting landmark candidates with 16 CSS
        # selectors tried on every element). Inlined for the parent and grandparent,
        # where nearly every link stops: this runs for every link.
        parent = node.parent
        if parent is None:
            position = "content"
        else:
            parent_id = parent.mem_id
            position = positions_get(parent_id)
            if position is None:
                position = position_of_tag(parent.tag_id)
                if position is None:
                    parent_attrs = parent.attributes
                    if parent_attrs:
                        position = _hint_position(parent_attrs)
                    if position is None:
                        grandparent = parent.parent
                        if grandparent is not None:
                            position = positions_get(grandparent.mem_id)
                        if position is None:
                            position = _inherited_position(grandparent, positions)
                positions[parent_id] = position
        rows.append((target[0], target[1], target[2], anchor, kind, alt, nofollow_link, ugc,
                     sponsored, position, src_domain != target[2]))

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
    from core import urls

    _clear_memos()
    registrable_domain.cache_clear()
    urls.normalize_host.cache_clear()
    urls._netloc.cache_clear()
