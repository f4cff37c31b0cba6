"""The words of a page and the text around its links (docs/extraction.md, "text").

Two small things the link audit needs from a parsed page, kept apart from the link
extractor (core/extractor.py), which calls them on its one parse:

- ``page_terms``: the page's most frequent words in its title and its text outside
  nav, header, footer and aside: what topical relevance between two pages is computed
  from (docs/audit.md, "Topical relevance"); a few dozen words instead of the text.
- ``link_snippet``: the visible text just before and after a link in its paragraph,
  so an analyst sees the sentence a link sits in.
"""

from __future__ import annotations

import re
from collections import Counter

from selectolax.lexbor import LexborHTMLParser, LexborNode

from core.schema import TERMS_PER_PAGE

# A word: three or more letters (any script); digits and underscores split words.
_WORD = re.compile(r"[^\W\d_]{3,}")
# Text read per page for its terms, at most: about 750 words, enough to say what a
# page is about; reading 50,000 cost 1.2 ms a page, 5,000 0.2 ms (bench/RESULTS.md,
# "link audit").
MAX_TEXT_CHARS = 5_000
# Landmarks whose text is not the page's own (menus, banners, footers, sidebars), and
# elements whose text is not shown.
_NOT_MAIN = ["nav", "header", "footer", "aside", "script", "style", "noscript", "template",
             "svg", "math"]

# Words too common to say what a page is about, in English, German, French and Spanish
# (three letters or more: shorter words are never terms).
STOP_WORDS = frozenset("""
the and for are but not you all any can had her was one our out has him his how its
may new now old see two way who did get let say she too use that with have this will
your from they know want been good much some time very when come here just like long
make many more only over such take than them well were what into also then there these
their which about would could other after first where those while being because each
most both should through before between under again further once same than whom why
der die das und ist nicht ein eine einen einem einer eines mit von den dem des auf
für fur sich auch als aus bei nach noch wie wir sie ihr ihre ihm ihn sind war wird
werden kann können oder aber wenn dass daß über uber unter zum zur vom mehr sehr nur
schon hier dort diese dieser dieses jede jeder durch gegen ohne
les des une est pas pour par sur dans avec que qui son ses sont aux ces cette mais
plus tout tous leur leurs nous vous ils elle elles été etre être fait comme ont
los las una unos unas del con por para que sus son está esta este esto estos pero
más mas como muy sin sobre entre también tambien cuando donde desde hasta
""".split())

_BLOCK_STOP = frozenset(("p", "li", "td", "th", "dd", "dt", "div", "section", "article",
                         "main", "body", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
                         "nav", "header", "footer", "aside", "ul", "ol", "table", "tr",
                         "form", "figure", "figcaption", "pre", "html"))
_SILENT = frozenset(("script", "style", "noscript", "template", "_comment"))


def words(text: str) -> list[str]:
    """The words of `text` that can be terms: lower-case, three letters or more, no
    stop words."""
    out: list[str] = []
    for token in text.lower().split():  # the regex only where a token is not all letters:
        if token.isalpha():              # the same words at half the cost
            if len(token) > 2 and token not in STOP_WORDS:
                out.append(token)
        else:
            out.extend(w for w in _WORD.findall(token) if w not in STOP_WORDS)
    return out


def page_terms(tree: LexborHTMLParser, title: str | None) -> list[dict[str, object]] | None:
    """The page's TERMS_PER_PAGE most frequent words (ties: alphabetical) in its title
    and its text outside nav, header, footer and aside, as PAGES.terms; None if none.
    Removes those landmarks from `tree`: call it last."""
    tree.strip_tags(_NOT_MAIN, recursive=True)
    body = tree.body
    text = body.text(separator=" ") if body is not None else ""
    counts = Counter(words(f"{title or ''} {text[:MAX_TEXT_CHARS]}"))
    if not counts:
        return None
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TERMS_PER_PAGE]
    return [{"term": term, "n": n} for term, n in top]


def link_snippet(node: LexborNode, chars: int) -> tuple[str | None, str | None]:
    """The visible text before and after a link within its paragraph, whitespace
    collapsed, at most `chars` characters each, cut at a word; None for a side with
    none. The walk goes through the link's inline siblings and up through inline
    parents, and stops at a block (a paragraph, list item, cell, heading, ...)."""
    return _side(node, chars, forward=False), _side(node, chars, forward=True)


def _side(node: LexborNode, chars: int, *, forward: bool) -> str | None:
    parts: list[str] = []
    size = 0
    current: LexborNode | None = node
    while current is not None and size < chars:
        sibling = current.next if forward else current.prev
        while sibling is not None and size < chars:
            tag = sibling.tag
            if tag in _BLOCK_STOP:
                return _cut(parts, chars, forward)
            if tag == "br":
                piece = " "
            elif tag in _SILENT:
                piece = ""
            else:
                piece = sibling.text(deep=True) or ""
            parts.append(piece)
            size += len(piece)
            sibling = sibling.next if forward else sibling.prev
        parent = current.parent
        if parent is None or parent.tag in _BLOCK_STOP:
            break
        current = parent
    return _cut(parts, chars, forward)


def _cut(parts: list[str], chars: int, forward: bool) -> str | None:
    """The collapsed text of `parts` (nearest first), at most `chars` characters on the
    link's side, cut back to a whole word."""
    if not parts:  # a link alone in its list item or cell: the common case in menus
        return None
    text = "".join(parts if forward else reversed(parts))
    if not text or text.isspace():
        return None
    text = " ".join(text.split())
    if len(text) > chars:
        if forward:
            cut = text[:chars + 1]
            text = cut[:cut.rfind(" ")] if " " in cut else text[:chars]
        else:
            cut = text[-chars - 1:]
            text = cut[cut.find(" ") + 1:] if " " in cut else text[-chars:]
    return text or None
