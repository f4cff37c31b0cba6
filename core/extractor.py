"""HTML → the page facts and link columns of schema v1, in one lexbor parse.

The rules are written down in docs/extraction.md. Output is column-oriented (one
list per edge column) so the pipeline hands it to Arrow without per-link objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode

from core.bounds import bound_markup
from core.domains import registrable_domain
from core.pagetext import link_snippet, page_terms
from core.schema import ANCHOR_MAX_CHARS, EDGE_LINK_COLUMNS, TITLE_MAX_CHARS
from core.urls import RESOLVER, UNSEEN, BaseResolver, absolutize, normalize_url, url_host
from core.urls import clear_caches as clear_url_caches

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
    on, and costs less than the split and join. Inlined in _link_rows."""
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
    # Why only a first part of the page was parsed (core/bounds.py), None if it all was.
    truncated: str | None = None
    terms: list[dict[str, Any]] | None = None  # PAGES.terms (core.pagetext.page_terms)
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
        cols["text_before"].append(None)
        cols["text_after"].append(None)

    def add_many(self, src_domain: str,
                 rows: list[tuple[str, str, str, str | None, frozenset[str]]]) -> None:
        """Many links at once, each (dst_url, anchor, kind, alt, rel), no position: what
        `add` does per link, a column at a time (a WAT page's hundred links; bench/wat)."""
        if not rows:
            return
        dst_urls, anchors, kinds, alts, rels = zip(*rows, strict=True)
        hosts = [url_host(url) for url in dst_urls]
        domains = [registrable_domain(host) for host in hosts]
        cols = self.links
        start = len(cols["dst_url"])
        none = [None] * len(rows)
        cols["ordinal"].extend(range(start, start + len(rows)))
        cols["dst_url"].extend(dst_urls)
        cols["dst_host"].extend(hosts)
        cols["dst_domain"].extend(domains)
        cols["anchor"].extend(anchors)
        cols["kind"].extend(kinds)
        cols["alt"].extend(alts)
        for token in ("nofollow", "ugc", "sponsored"):
            cols[token].extend([token in rel for rel in rels])
        cols["position"].extend(none)
        cols["external"].extend([src_domain != domain for domain in domains])
        cols["text_before"].extend(none)
        cols["text_after"].extend(none)

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
            attrs = img.attributes  # a bare `alt` is present and empty (value None here)
            alts[parent.mem_id] = collapse(attrs["alt"]) if "alt" in attrs else None
    return alts


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


_FOREIGN_ROOTS = frozenset(("svg", "math"))
# Where SVG holds HTML again (HTML integration points): foreignObject, desc, title.
_HTML_IN_FOREIGN = frozenset(("foreignobject", "desc", "title"))


def _in_foreign(node: LexborNode) -> bool:
    """Whether `node` is an SVG or MathML element (inside <svg> or <math>, not back in
    HTML under a foreignObject, desc or title): an SVG <title>, <base>, <link> or <area>
    is not the HTML element of that name, and browsers give it no page meaning. Tag ids
    and `tag` do not tell the namespaces apart, so this walks up the ancestors; it is
    asked only of the few elements where it matters (never of <a>)."""
    parent = node.parent
    while parent is not None:
        tag = (parent.tag or "").lower()
        if tag in _FOREIGN_ROOTS:
            return True
        if tag in _HTML_IN_FOREIGN:
            return False
        parent = parent.parent
    return False


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
_PAGE_CSS = ("title, meta[name], meta[http-equiv], base[href], link[rel][href], a[href],"
             " area[href], a img")

# The columns of one row built by _link_rows, in order (ordinal and position come apart).
_ROW_COLUMNS = ("dst_url", "dst_host", "dst_domain", "anchor", "kind", "alt", "nofollow",
                "ugc", "sponsored", "external")


# Mutation events off: lexbor's run after each node is inserted, and one (an <option>'s
# selectedness, copied to <selectedcontent>) made 20,000 <option> in a <select> take 2 s.
_PARSE_OPTIONS = LexborDocumentOptions.WO_EVENTS


def extract_html(url: str, html: str | bytes, robots_header: str | None = None,
                 snippet_chars: int = 0) -> PageExtraction:
    """Extract the page facts and every link of an HTML page fetched from `url`: its
    cost bounded (core/bounds.py), one parse, one CSS query (_page_nodes), then each
    part from what that query found; last, the page's terms (core.pagetext). Bytes are
    read as UTF-8. `snippet_chars`: text kept on each side of a content link (0: none;
    a crawl with --snippets keeps SNIPPET_CHARS)."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    bounded = bound_markup(html)
    tree = LexborHTMLParser(bounded.html, options=_PARSE_OPTIONS)
    nodes = _page_nodes(tree)
    result = _page_facts(tree, nodes, robots_header)
    result.truncated = bounded.truncated
    base = _base_url(nodes.base, url)
    src_domain = registrable_domain(url_host(url))
    _add_canonical(result, nodes.head_links, src_domain, base)
    _add_refresh(result, nodes.metas, src_domain, base)
    links = nodes.links
    if links:
        rows, skipped_at = _link_rows(links, nodes.areas, nodes.image_alts,
                                      RESOLVER.for_base(base), src_domain)
        if skipped_at:
            result.n_skipped_links += len(skipped_at)
            skipped = set(skipped_at)
            links = [node for i, node in enumerate(links) if i not in skipped]
        if rows:
            positions = _positions(links)
            _add_columns(result, rows, positions)
            _add_snippets(result, links, positions, snippet_chars)
    result.terms = page_terms(tree, result.title)
    return result


def _add_snippets(result: PageExtraction, links: list[LexborNode], positions: list[str],
                  chars: int) -> None:
    """The text around each content link (<a>, and <a> around an image); None for the
    others, whose neighbours are menu items or nothing."""
    cols = result.links
    first = len(cols["dst_url"]) - len(links)
    kinds = cols["kind"]
    before: list[str | None] = []
    after: list[str | None] = []
    for i, (node, position) in enumerate(zip(links, positions, strict=True)):
        if chars > 0 and position == "content" and kinds[first + i] in ("a", "img"):
            left, right = link_snippet(node, chars)
        else:
            left = right = None
        before.append(left)
        after.append(right)
    cols["text_before"].extend(before)
    cols["text_after"].extend(after)


class _PageNodes(NamedTuple):
    """The elements extract_html looks at, from the page's one CSS query."""

    title: LexborNode | None  # the first <title>
    base: LexborNode | None  # the first <base href>
    metas: list[LexborNode]  # <meta name>
    head_links: list[LexborNode]  # <link rel href>
    links: list[LexborNode]  # <a href> and <area href>, in document order
    areas: set[int]  # mem_id of the <area> ones
    image_alts: dict[int, str | None]  # see _image_alts (empty if no <a> wraps an <img>)


def _page_nodes(tree: LexborHTMLParser) -> _PageNodes:
    """Link collection: the page's elements of interest, from one CSS query (_PAGE_CSS)
    sorted out by tag id."""
    title = base = None
    metas: list[LexborNode] = []
    head_links: list[LexborNode] = []
    links: list[LexborNode] = []
    areas: set[int] = set()
    images: list[LexborNode] = []
    for node in tree.css(_PAGE_CSS):
        tag = node.tag_id
        if tag == _A:
            links.append(node)
        elif tag == _IMG:
            images.append(node)
        elif tag == _AREA:
            if not _in_foreign(node):
                links.append(node)
                areas.add(node.mem_id)
        elif tag == _TITLE:
            if title is None and not _in_foreign(node):
                title = node
        elif tag == _META:
            metas.append(node)
        elif tag == _BASE:
            if base is None and not _in_foreign(node):
                base = node
        elif tag == _LINK:
            head_links.append(node)
    image_alts = _image_alts(images) if images else {}
    return _PageNodes(title, base, metas, head_links, links, areas, image_alts)


def _page_facts(tree: LexborHTMLParser, nodes: _PageNodes,
                robots_header: str | None) -> PageExtraction:
    """A page's extraction with its facts set: title, lang, robots (meta and header)."""
    lang = None
    html_node = tree.root
    if html_node is None or html_node.tag != "html":
        html_node = tree.css_first("html")
    if html_node is not None:
        lang = html_node.attributes.get("lang")
        lang = lang.strip() or None if lang else None

    title = None
    if nodes.title is not None:
        title = collapse(nodes.title.text(deep=True), TITLE_MAX_CHARS)

    noindex, nofollow = robots_tokens(robots_header)
    for meta in nodes.metas:
        if (meta.attributes.get("name") or "").strip().lower() == "robots":
            m_noindex, m_nofollow = robots_tokens(meta.attributes.get("content"))
            noindex, nofollow = noindex or m_noindex, nofollow or m_nofollow
    return PageExtraction(title=title, lang=lang, meta_noindex=noindex, meta_nofollow=nofollow)


def _base_url(base_node: LexborNode | None, url: str) -> str:
    """What the page's hrefs resolve against: its first <base href>, else its URL."""
    if base_node is None:
        return url
    return absolutize(base_node.attributes.get("href") or "", url) or url


def _add_canonical(result: PageExtraction, head_links: list[LexborNode], src_domain: str,
                   base: str) -> None:
    """The first <link rel=canonical>'s edge and page fact (see add_canonical)."""
    for link in head_links:
        rel = (link.attributes.get("rel") or "").lower().split()
        if "canonical" in rel and not _in_foreign(link):
            result.add_canonical(src_domain, link.attributes.get("href") or "", base)
            return


_ASCII_WHITESPACE = " \t\n\f\r"
_ASCII_DIGITS = "0123456789"


def refresh_url(content: str) -> str | None:
    """The URL a <meta http-equiv="refresh"> content names, by HTML's "shared declarative
    refresh steps": a delay (digits, then digits and dots, ignored), then `;` or `,` or
    whitespace, then the URL, optionally written `url=` (any case, spaces around `=`)
    and in quotes (cut at the closing one). "" when the content parses but names no
    URL (the page refreshes itself); None when it does not parse (`abc`, empty)."""
    n = len(content)
    i = _skip(content, 0, _ASCII_WHITESPACE)
    digits_end = _skip(content, i, _ASCII_DIGITS)
    if digits_end == i and (i >= n or content[i] != "."):
        return None
    i = _skip(content, digits_end, _ASCII_DIGITS + ".")
    if i < n:
        if content[i] not in ";," and content[i] not in _ASCII_WHITESPACE:
            return None
        i = _skip(content, i, _ASCII_WHITESPACE)
        if i < n and content[i] in ";,":
            i += 1
        i = _skip(content, i, _ASCII_WHITESPACE)
    if i >= n:
        return ""
    url_start = i
    if content[i] in "Uu":
        if content[i + 1:i + 2] not in ("R", "r") or content[i + 2:i + 3] not in ("L", "l"):
            return content[url_start:]  # "parse": the whole rest is the URL
        i = _skip(content, i + 3, _ASCII_WHITESPACE)
        if i >= n or content[i] != "=":
            return content[url_start:]
        i = _skip(content, i + 1, _ASCII_WHITESPACE)
    if i < n and content[i] in "'\"":  # "skip quotes"
        quote = content[i]
        url = content[i + 1:]
        end = url.find(quote)
        return url if end < 0 else url[:end]
    return content[i:]


def _skip(text: str, i: int, chars: str) -> int:
    """The first index from `i` whose character is not one of `chars`."""
    n = len(text)
    while i < n and text[i] in chars:
        i += 1
    return i


def _add_refresh(result: PageExtraction, metas: list[LexborNode], src_domain: str,
                 base: str) -> None:
    """The page's meta refresh: its edge (kind `refresh`), or a skipped link. The first
    <meta http-equiv=refresh> whose content parses counts, as in a browser; one that
    names no URL reloads the page itself and gives no edge."""
    for meta in metas:
        attrs = meta.attributes
        equiv = attrs.get("http-equiv")
        if not equiv or not equiv.isascii() or equiv.lower() != "refresh":
            continue
        url = refresh_url(attrs.get("content") or "")
        if url is None:
            continue
        if url:
            target = absolutize(url, base)
            if target is None:
                result.n_skipped_links += 1
            else:
                result.add(src_domain, target, kind="refresh")
        return


def _positions(links: list[LexborNode]) -> list[str]:
    """Position assignment: the position of each link, from the nearest landmark above
    it (docs/extraction.md). Memoised per element by mem_id for the page's next links
    (which costs less than selecting landmark candidates with 16 CSS selectors tried on
    every element); inlined for the parent and grandparent, where nearly every link
    stops."""
    positions: dict[int, str] = {}  # mem_id of an ancestor → the position it gives links
    positions_get = positions.get
    position_of_tag = _TAG_ID_POSITION.get
    out: list[str] = []
    for node in links:
        parent = node.parent
        if parent is None:
            out.append("content")
            continue
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
        out.append(position)
    return out


def _link_rows(
    links: list[LexborNode],
    areas: set[int],
    image_alts: dict[int, str | None],
    targets: BaseResolver,
    src_domain: str,
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Link rows: one row (_ROW_COLUMNS) per link whose href has a target, and the
    indexes in `links` of the skipped ones. Pops `image_alts` as its links come."""
    scheme_get = targets.by_scheme.get
    dir_get = targets.by_dir.get
    resolve = targets.resolve
    rows: list[tuple[Any, ...]] = []
    skipped_at: list[int] = []
    for node in links:
        attrs = node.attributes
        # `a[href]` also matches an SVG <a xlink:href> (the selector sees the attribute's
        # local name): its target is xlink:href when it has no href (SVG 2: href wins).
        href = attrs.get("href", attrs)
        if href is attrs:
            href = attrs.get("xlink:href")
        href = href or ""
        target = scheme_get(href, UNSEEN)
        if target is UNSEEN:
            target = dir_get(href, UNSEEN)
            if target is UNSEEN:
                target = resolve(href)
        if target is None:
            skipped_at.append(len(rows) + len(skipped_at))
            continue
        rel_value = attrs.get("rel")
        if rel_value:
            rel = rel_value.lower().split()
            nofollow, ugc, sponsored = "nofollow" in rel, "ugc" in rel, "sponsored" in rel
        else:
            nofollow = ugc = sponsored = False
        alt = None
        kind = "a"
        if areas and node.mem_id in areas:
            alt = collapse(attrs["alt"]) if "alt" in attrs else None  # bare `alt`: ""
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
        rows.append((target[0], target[1], target[2], anchor, kind, alt, nofollow, ugc,
                     sponsored, src_domain != target[2]))
    return rows, skipped_at


def _add_columns(result: PageExtraction, rows: list[tuple[Any, ...]],
                 positions: list[str]) -> None:
    """Append link rows and their positions to the result's columns, numbering them
    on (ordinal)."""
    cols = result.links
    first = len(cols["dst_url"])
    for name, values in zip(_ROW_COLUMNS, zip(*rows, strict=True), strict=True):
        cols[name].extend(values)
    cols["position"].extend(positions)
    cols["ordinal"].extend(range(first, first + len(rows)))


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
    """Forget every memoised URL, host, link target and domain (benchmarks start cold
    with this)."""
    clear_url_caches()
    registrable_domain.cache_clear()
