"""A bound on the cost of parsing one page (issue 13; docs/extraction.md, "Hostile markup").

lexbor's tree building costs more than linear time on some markup: 100,000 nested <div>
took 84 s, 100,000 attributes on one tag 37 s, and formatting elements left open with
distinct attributes (`<p><b id=1></p><p><b id=2></p>…`) make it clone every one of them
into each later paragraph (4,000 of them: 8 million elements, 26 s). bench/hostile.py
measures each shape. `bound_markup` is called on every page before it is parsed:

1. **The gate** (every page, two passes at C speed): a page with at most FAST_TAGS `<`
   whose start tags are all short and closed where they seem to be, with at most two
   <html>/<body> tags and (past SMALL_TAGS `<`) at most LOOSE_FORMATTING formatting
   elements with attributes left open, is parsed as it is. Bounded so, the shapes above
   cost tens of milliseconds at worst (bench/hostile.py measures them).
2. **The model** (pages the gate does not pass): `_Scan` runs a small model of the HTML
   tree builder over the tags (stack of open elements with its scopes, list of active
   formatting elements, attributes, the head, tables, select, SVG and MathML) and counts
   the work lexbor will do; runs of markup that change nothing it holds (text, inline
   elements, closed blocks, auto-closing siblings) it skips with a regular expression.
   The page is cut before the first tag that would nest deeper than MAX_DEPTH or take
   the work over the page's budget (WORK_PER_CHAR per character, at least MIN_WORK):
   lexbor then parses what comes before, in time linear in the page's size. Start
   tags with more than MAX_ATTRIBUTES attributes, and repeated <html>/<body> tags (whose
   attributes merge into the first), keep only the attributes the extractor reads: no
   value the extractor records changes, so that is not a truncation.

The model need not be exact: it may overestimate depth or work (a page cut early), never
underestimate them much. tests/test_bounds.py checks it against lexbor's own trees.
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from itertools import islice
from typing import NamedTuple

MAX_DEPTH = 512  # open elements; Blink stops nesting at 512 too (kMaximumHTMLParserDOMTreeDepth)
FAST_TAGS = 8192  # `<` characters a page may have and pass the gate
LONG_TAG = 1024  # characters of a start tag (up to its first `>`) the gate takes on trust
MAX_ATTRIBUTES = 256  # attributes kept on one start tag (see module docstring)
LOOSE_FORMATTING = 16  # formatting start tags with attributes, not closed after their text
WORK_PER_CHAR = 16  # model steps (an element compared, created, an attribute checked)
MIN_WORK = 4_000_000

# Attributes the extractor reads: kept wherever attributes are dropped.
KEPT_ATTRIBUTES = frozenset((
    "href", "xlink:href", "rel", "alt", "class", "id", "role", "lang", "name", "content",
    "http-equiv",
))


class Bounded(NamedTuple):
    """What to parse, and why it is not the whole page (None when it is)."""

    html: str
    truncated: str | None = None


_WS = "\t\n\f\r "
_FORMATTING = ("b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike",
               "strong", "tt", "u")
_FORMATTING_SET = frozenset(_FORMATTING) | {"a"}

# The gate's one regular expression (a literal `<` first, so the search skips from `<` to
# `<` at C speed; branches ordered and written for speed: character classes, not IGNORECASE).
# Groups: `root` an <html> or <body> tag; `fmt` a formatting start tag with an attribute
# whose text is not followed by its own end tag; `long` a start tag longer than LONG_TAG up
# to its first `>`; `quoted` a start tag whose first `>` is inside a quoted value (so that
# it ends further on). The last two get an exact look (`start_tag`).
def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c}]" for c in word)


_FORMATTING_RE = ("[Bb](?:[Ii][Gg])?|[Cc][Oo][Dd][Ee]|[Ee][Mm]|[Ff][Oo][Nn][Tt]|[Ii]|"
                  "[Nn][Oo][Bb][Rr]|[Ss](?:[Mm][Aa][Ll][Ll]|[Tt][Rr](?:[Ii][Kk][Ee]|"
                  "[Oo][Nn][Gg]))?|[Tt][Tt]|[Uu]")
_ROOT_BRANCH = rf"(?P<root>{_any_case('html')}|{_any_case('body')})(?=[{_WS}/>])"
_FMT_BRANCH = (rf"(?P<fmt>{_FORMATTING_RE})[{_WS}/]+[^{_WS}/>][^>]*+>"
               rf"(?![^<]*+</(?i:(?P=fmt))[{_WS}/>])")
_TAG_BRANCHES = (rf".(?:(?P<long>[^>]{{{LONG_TAG - 1}}})"
                 r"|(?P<quoted>[^>\"']*+(?>(?:\"[^\">]*+\"[^>\"']*+|'[^'>]*+'[^>\"']*+)*)"
                 r"[\"']))")
_RISK = re.compile(rf"<(?=[A-Za-z])(?:{_ROOT_BRANCH}|{_FMT_BRANCH}|{_TAG_BRANCHES})")
# With at most SMALL_TAGS `<`, formatting elements left open cost little however many
# (their clones are at most (SMALL_TAGS / 3)² / 2): the gate skips that branch.
SMALL_TAGS = 1024
_RISK_SMALL = re.compile(rf"<(?=[A-Za-z])(?:{_ROOT_BRANCH}|{_TAG_BRANCHES})")

# A start tag as the tokenizer reads it: its name, then attributes (each with the
# separators before it; a quoted value may be cut by the end of the page).
_TAG_NAME = re.compile(rf"<([A-Za-z][^{_WS}/>]*)")
# (Repeated groups are atomic, (?>(?:…)*), not possessive, (?:…)*+: in Python 3.11 the
# possessive repeat of a group holding captures can raise "SystemError: The span of
# capturing group is wrong" (found by tests/test_extract_fuzz.py on _FLAT).)
_ATTRIBUTE_NAME = rf"[^{_WS}/>][^{_WS}/>=]*+"
_ATTRIBUTE_VALUE = rf"(?:[{_WS}]*+=[{_WS}]*+(?:\"[^\"]*+\"?|'[^']*+'?|[^{_WS}>]*+))?"
_ATTRIBUTE = rf"[{_WS}/]*+{_ATTRIBUTE_NAME}{_ATTRIBUTE_VALUE}"
_ATTRIBUTE_RE = re.compile(rf"[{_WS}/]*+({_ATTRIBUTE_NAME}){_ATTRIBUTE_VALUE}")
_ATTRIBUTE_PAIR = re.compile(rf"([{_WS}/]*+({_ATTRIBUTE_NAME}){_ATTRIBUTE_VALUE})")
_ATTRIBUTE_LIST = re.compile(rf"(?>(?:{_ATTRIBUTE})*)")
_ATTRIBUTES = re.compile(rf"(?>(?:{_ATTRIBUTE})*)[{_WS}/]*+")


def bound_markup(html: str) -> Bounded:
    """`html` as it is when the gate passes it, else as the model bounds it."""
    if _gate(html):
        return Bounded(html)
    return _Scan(html).run()


def _gate(html: str) -> bool:
    """Whether the page cannot be costly to parse (see the module docstring)."""
    n_tags = html.count("<")
    if n_tags > FAST_TAGS:
        return False
    roots = loose = 0
    for match in (_RISK if n_tags > SMALL_TAGS else _RISK_SMALL).finditer(html):
        kind = match.lastgroup
        # Every tag matched gets an exact look at its attributes: <html>, <body> and
        # formatting tags too, whose branches come first and do not measure them.
        name, n_attributes, _, _ = start_tag(html, match.start())
        if n_attributes > MAX_ATTRIBUTES:
            return False
        if kind == "root" or name in ("html", "body"):
            roots += 1
        elif kind == "fmt" or (name in _FORMATTING_SET and name != "a" and n_attributes):
            loose += 1
        if roots > 2 or loose > LOOSE_FORMATTING:
            return False
    return True


def start_tag(html: str, at: int, *, exact: bool = True) -> tuple[str, int, int, int]:
    """The start tag at `html[at]` (a `<` then a letter): (lower-case name, number of
    attributes, up to MAX_ATTRIBUTES + 1, index where its attributes start, index after
    its end: after its `>`, or the end of the page). Not `exact`: attributes are counted
    only where there may be more than 8 (a shorter list counts as 1 if not empty)."""
    name_match = _TAG_NAME.match(html, at)
    assert name_match is not None, "not a start tag"
    name_end = name_match.end()
    end = _ATTRIBUTES.match(html, name_end).end()  # type: ignore[union-attr]
    if exact or end - name_end > 16:  # counted up to one over MAX_ATTRIBUTES
        n_attributes = sum(1 for _ in islice(_ATTRIBUTE_RE.finditer(html, name_end, end),
                                             MAX_ATTRIBUTES + 1))
    else:
        n_attributes = 1 if html[name_end:end].strip(_WS + "/") else 0
    if end < len(html):  # the tag's `>`
        end += 1
    return _lower(name_match[1]), n_attributes, name_end, end


def self_closing(html: str, attrs_start: int, end: int) -> bool:
    """Whether the start tag whose attributes start at `attrs_start` and which ends at
    `end` ends with `/>` as a self-closing flag (not the `/` of an unquoted value, as in
    `<svg id=a/>`)."""
    if html[end - 2:end] != "/>":
        return False
    return _ATTRIBUTE_LIST.match(html, attrs_start, end - 1).end() < end - 1  # type: ignore[union-attr]


def _lower(name: str) -> str:
    """ASCII lower case, as the tokenizer lowers tag and attribute names."""
    return name.lower() if name.isascii() else "".join(
        c.lower() if c.isascii() else c for c in name)


def keep_attributes(html: str, name: str, attrs_start: int, end: int, keep_first: int) -> str:
    """The start tag ending at `html[end]`, named `name`, whose attributes start at
    `attrs_start`, with only its first `keep_first` attributes and the first of each
    KEPT_ATTRIBUTES name after them."""
    attrs_end = end - 1 if html[end - 1:end] == ">" else end
    closing = "/>" if self_closing(html, attrs_start, end) else html[end - 1:end]
    closing = closing if closing in ("/>", ">") else ""
    section = html[attrs_start:attrs_end].lower()
    if keep_first == 0 and not any(attr in section for attr in KEPT_ATTRIBUTES):
        return f"<{name}{closing}"  # (a quick look: no kept name even as a substring)
    kept: list[str] = []
    seen: set[str] = set()
    for i, (text, attr) in enumerate(_ATTRIBUTE_PAIR.findall(html, attrs_start, attrs_end)):
        attr = attr.lower() if attr.isascii() else _lower(attr)
        if i < keep_first or (attr in KEPT_ATTRIBUTES and attr not in seen):
            kept.append(text if text[:1] in _WS + "/" else " " + text)
        seen.add(attr)
    return f"<{name}{''.join(kept)}{closing}"


# ---------------------------------------------------------------------------
# The model of the tree builder (WHATWG HTML, "tree construction", mostly "in body")
# ---------------------------------------------------------------------------

_VOID = frozenset((
    "area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "image",
    "img", "input", "keygen", "link", "meta", "param", "source", "track", "wbr",
))
_RAW_TEXT = frozenset(("style", "xmp", "iframe", "noembed", "noframes", "textarea", "title"))
_CLOSES_P = frozenset((
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
    "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main",
    "menu", "nav", "ol", "p", "search", "section", "summary", "ul", "h1", "h2", "h3", "h4",
    "h5", "h6", "pre", "listing", "form", "li", "dd", "dt", "hr",
))
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_IN_HEAD = frozenset(("base", "basefont", "bgsound", "link", "meta", "title", "noscript",
                      "noframes", "style", "script", "template", "head", "html"))
_IN_HEAD_NOSCRIPT = frozenset(("basefont", "bgsound", "link", "meta", "noframes", "style",
                               "head", "html", "noscript"))
_BLOCK_END = frozenset((
    "address", "article", "aside", "blockquote", "button", "center", "details", "dialog",
    "dir", "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup",
    "listing", "main", "menu", "nav", "ol", "pre", "search", "section", "summary", "ul",
    "dd", "dt", "applet", "marquee", "object", "template",
))
_MARKERS = frozenset(("applet", "marquee", "object", "template", "td", "th", "caption"))
_TABLE_PARTS = frozenset(("caption", "colgroup", "tbody", "thead", "tfoot", "tr", "td",
                          "th"))
_RUBY = frozenset(("rb", "rp", "rt", "rtc"))
# Void start tags that reconstruct the active formatting elements first (not <hr>,
# <param>, <source>, <track>, nor the head ones).
_VOID_RECONSTRUCT = frozenset(("area", "br", "embed", "img", "image", "keygen", "wbr",
                               "input"))
# Where a <select> opened is closed by table tags, as lexbor parses it (not in <caption>).
_TABLE_CONTEXT = frozenset(("table", "tbody", "thead", "tfoot", "tr", "td", "th"))
# Elements that end a scope (the walk looking for an element stops at them).
# SVG and MathML elements that end scopes and are special, as the model names them.
_FOREIGN_BOUNDS = ("^mi", "^mo", "^mn", "^ms", "^mtext", "^annotation-xml", "~annotation-xml",
                   "^foreignobject", "^desc", "^title")
# lexbor also stops at an open <select>: the end tag of an element outside it is ignored.
_SCOPE = frozenset(("applet", "caption", "html", "table", "td", "th", "marquee", "object",
                    "template", "select", *_FOREIGN_BOUNDS))
_TABLE_SCOPE = frozenset(("html", "table", "template", "select"))
# Popped by "generate implied end tags" (the rp/rt/rb/rtc rules).
_IMPLIED_END = frozenset(("dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt",
                          "rtc"))
_SPECIAL = frozenset((
    "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound",
    "blockquote", "body", "br", "button", "caption", "center", "col", "colgroup", "dd",
    "details", "dir", "div", "dl", "dt", "embed", "fieldset", "figcaption", "figure",
    "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "header", "hgroup", "hr", "html", "iframe", "img", "input", "keygen", "li", "link",
    "listing", "main", "marquee", "menu", "meta", "nav", "noembed", "noframes", "noscript",
    "object", "ol", "p", "param", "plaintext", "pre", "script", "search", "section",
    "select", "source", "style", "summary", "table", "tbody", "td", "template", "textarea",
    "tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr", "xmp", *_FOREIGN_BOUNDS,
))
# Where the walk of <li>, <dd>, <dt> stops: special elements but address, div and p.
_ITEM_STOP = _SPECIAL - {"address", "div", "p"}
# Start tags that leave SVG and MathML for HTML (and <font> with color, face or size).
_BREAKOUT = frozenset((
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong",
    "strike", "sub", "sup", "table", "tt", "u", "ul", "var",
))
_INTEGRATION = {"svg": frozenset(("foreignobject", "desc", "title")),
                "math": frozenset(("mi", "mo", "mn", "ms", "mtext", "annotation-xml"))}
_ANNOTATION_ENCODING = re.compile(
    rf"[{_WS}/](?i:encoding)[{_WS}]*=[{_WS}]*(\"[^\"]*\"|'[^']*'|[^{_WS}>]*)")
_RAW_END = {name: re.compile(rf"</(?i:{name})[{_WS}/>]") for name in _RAW_TEXT}
# The script data states: what ends, escapes and double-escapes a <script>'s text.
_SCRIPT_TOKEN = re.compile(rf"<!--|-->|<(/?)(?i:script)[{_WS}/>]")
_END_TAG_NAME = re.compile(rf"</([A-Za-z][^{_WS}/>]*)")
# A run of markup that leaves the stack and the list of active formatting elements as
# they were (its "flat" runs), when nothing waits to be reconstructed, no <a> is open, no
# <p> is in button scope, no <li>, <dd>, <dt> could be closed and the current node is no
# heading: text, void tags, inline elements holding only text, and up to two levels of
# blocks (<div>, <li>, <p> …) holding those, each tag with at most 16 attributes. The
# model skips such a run at C speed, each of its tags counted as a walk of the stack.
_FLAT_VOID = "|".join(sorted(_VOID - {"hr"}))  # <hr> closes a <p>; <input> and <keygen>
# close a <select>: flat runs are not read while one is open
_FLAT_INLINE = ("a|abbr|acronym|b|bdi|bdo|big|cite|code|data|del|dfn|em|font|i|ins|kbd|"
                "label|mark|q|s|samp|small|span|strike|strong|sub|sup|time|tt|u|var")
_FLAT_BLOCK = ("address|article|aside|blockquote|center|dd|details|div|dl|dt|figcaption|"
               "figure|footer|h1|h2|h3|h4|h5|h6|header|li|main|nav|ol|p|section|summary|ul")
_OPEN = rf"(?=[{_WS}/>])(?>(?:{_ATTRIBUTE}){{0,16}})[{_WS}/]*+>"


_FLAT_INLINE_NO_A = _FLAT_INLINE.replace("a|", "", 1)


def _flat_item(k: int) -> str:
    """Text, a void tag, or an inline element holding text, voids and inline elements
    (but <a>) that hold text."""
    inner = (rf"[^<]++|<(?i:{_FLAT_VOID}){_OPEN}|<(?P<j{k}>(?i:{_FLAT_INLINE_NO_A})){_OPEN}"
             rf"[^<]*+</(?i:(?P=j{k}))[{_WS}]*+>")
    return (rf"[^<]++|<(?i:{_FLAT_VOID}){_OPEN}"
            rf"|<(?P<i{k}>(?i:{_FLAT_INLINE})){_OPEN}(?>(?:{inner})*)"
            rf"</(?i:(?P=i{k}))[{_WS}]*+>")


def _flat_block(k: int, inner: str) -> str:
    return (rf"<(?P<b{k}>(?i:{_FLAT_BLOCK})){_OPEN}(?>(?:{inner})*)"
            rf"</(?i:(?P=b{k}))[{_WS}]*+>")


_FLAT = re.compile(
    rf"(?>(?:{_flat_item(0)}|{_flat_block(1, _flat_item(1))}"
    rf"|{_flat_block(2, _flat_item(2) + '|' + _flat_block(3, _flat_item(3)))})*)"
)
# Runs of siblings that close each other, when the current node is one of them: <p>,
# <li>, <dd>/<dt>, <td>/<th>, <option> (each start tag pops the one before and takes
# its place), holding flat content (<p> and <option> no blocks: a block closes a <p>,
# an <option> holds text). The model skips them at C speed too.
def _siblings(names: str, blocks: bool) -> re.Pattern[str]:
    def inner(k: int) -> str:  # group names differ in each copy
        return (f"{_flat_item(k)}|{_flat_block(k + 1, _flat_item(k + 1))}" if blocks
                else _flat_item(k))

    return re.compile(rf"(?>(?:{inner(0)})*)(?>(?:<(?i:{names}){_OPEN}(?>(?:{inner(2)})*))*)")


_SIBLINGS = {
    "p": _siblings("p", False),
    "li": _siblings("li", True),
    "dd": _siblings("dd|dt", True),
    "dt": _siblings("dd|dt", True),
    "td": _siblings("td|th", True),
    "th": _siblings("td|th", True),
    "option": re.compile(rf"[^<]*+(?>(?:<(?i:option){_OPEN}[^<]*+)*)"),
}
CLONE_WORK = 64  # model steps one element cloned by "reconstruct" costs (bench/hostile.py)
ROOT_MERGE_WORK = 16  # per attribute of a repeated <html>/<body> (merged into the first)


class _Entry:
    """An entry of the list of active formatting elements."""

    __slots__ = ("alive", "index", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.index = -1  # of its element in the stack; -1 when not on it
        self.alive = True


class _Scan:
    """One pass over a page's tags with a model of the tree builder (module docstring).
    Every step is O(1) (amortised) whatever the work it counts, so the scan is linear."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.budget = max(MIN_WORK, WORK_PER_CHAR * len(html))
        self.work = 0
        self.stack: list[str] = []
        self.entries: list[_Entry | None] = []  # of the stack's elements
        self.where: dict[str, list[int]] = {}
        # Stack indexes of the elements that end each kind of scope or walk.
        self.scope: list[int] = []
        self.button_scope: list[int] = []
        self.list_scope: list[int] = []
        self.table_scope: list[int] = []
        self.special: list[int] = []
        self.item_stop: list[int] = []
        self.foreign: list[int] = []  # <svg>, <math>
        self.integration: list[int] = []  # HTML inside them again
        self.bounds = (self.scope, self.button_scope, self.list_scope, self.table_scope,
                       self.special, self.item_stop, self.foreign, self.integration)
        self.active: list[_Entry | None] = []  # formatting elements; None is a marker
        self.sections: list[tuple[dict[str, list[_Entry]], dict[str, list[_Entry]]]] = [
            ({}, {})]  # per marker: entries by name and attributes, and by name
        self.roots = 0
        self.table_selects: set[int] = set()  # stack indexes of <select>s opened in tables
        # Before the first body content the tree builder is "in head": a <noscript>
        # there (scripting off) ends at the first tag or text not allowed in it.
        self.head = True
        self.head_noscript = False
        self.out: list[str] = []  # the page, rewritten where attributes are dropped
        self.copied = 0  # html[:copied] is in out
        self.push("html")
        self.push("body")

    # -- the stack -------------------------------------------------------------------

    def push(self, name: str, entry: _Entry | None = None) -> None:
        i = len(self.stack)
        self.stack.append(name)
        self.entries.append(entry)
        found = self.where.get(name)
        if found is None:
            self.where[name] = [i]
        else:
            found.append(i)
        if name in _SCOPE:
            self.scope.append(i)
            self.button_scope.append(i)
            self.list_scope.append(i)
            if name in _TABLE_SCOPE:
                self.table_scope.append(i)
        elif name == "button":
            self.button_scope.append(i)
        elif name in ("ol", "ul"):
            self.list_scope.append(i)
        if name in _SPECIAL:
            self.special.append(i)
            if name in _ITEM_STOP:
                self.item_stop.append(i)
        if name in ("svg", "math"):
            self.foreign.append(i)
        elif name[0] == "^":
            self.integration.append(i)
        if entry is not None:
            entry.index = i
        self.work += 1

    def pop_to(self, index: int) -> None:
        """Pop the stack down to and including `index` (never <html> and <body>)."""
        stack, entries, bounds = self.stack, self.entries, self.bounds
        index = max(index, 2)
        while len(stack) > index:
            i = len(stack) - 1
            name = stack.pop()
            entry = entries.pop()
            self.where[name].pop()
            for indexes in bounds:
                if indexes and indexes[-1] == i:
                    indexes.pop()
            if entry is not None:
                entry.index = -1
            if name == "select":
                self.table_selects.discard(i)

    def drop(self, i: int) -> None:
        """Take the element at stack index `i` out of the model's view (the tree builder
        removed it from the middle of the stack): it stays as an inert "#", which no
        rule matches and which still counts in the depth (the safe side)."""
        name = self.stack[i]
        if name == "#":
            return
        self.where[name].remove(i)
        for indexes in self.bounds:
            k = bisect_right(indexes, i) - 1
            if k >= 0 and indexes[k] == i:
                del indexes[k]
        insort(self.where.setdefault("#", []), i)
        self.stack[i] = "#"
        entry = self.entries[i]
        if entry is not None:
            entry.index = -1
            self.entries[i] = None

    def top(self, name: str) -> int:
        """Stack index of the topmost `name`, -1 if none is open."""
        found = self.where.get(name)
        return found[-1] if found else -1

    def in_scope(self, i: int, bounds: list[int]) -> int:
        """`i` (a stack index, or -1) if the walk down from the top reaches it before any
        element of `bounds` (it may be one), else -1; the walk is counted as work."""
        bound = bounds[-1] if bounds else -1
        self.work += len(self.stack) - max(i, bound, 0)
        return i if i >= bound and i >= 0 else -1

    def current_foreign(self) -> bool:
        """Whether the current node is an SVG or MathML element: end tags then take the
        rules for foreign content."""
        return bool(self.foreign) and (self.stack[-1][0] in "~^"
                                       or len(self.stack) - 1 == self.foreign[-1])

    def in_foreign(self) -> bool:
        """Whether start tags and text take the rules for foreign content: the current
        node is an SVG or MathML element, and no HTML integration point."""
        return self.current_foreign() and self.stack[-1][0] != "^"

    # -- active formatting elements ---------------------------------------------------

    def reconstruct(self) -> None:
        active = self.active
        while active and active[-1] is not None and not active[-1].alive:
            active.pop()
        last = active[-1] if active else None
        if last is None or last.index >= 0:
            return
        j = len(active) - 1
        while j > 0:
            before = active[j - 1]
            if before is None or (before.alive and before.index >= 0):
                break
            j -= 1
        for entry in active[j:]:
            if entry is not None and entry.alive:
                self.push(entry.name, entry)
                self.work += CLONE_WORK

    def add_formatting(self, name: str, attributes: str) -> None:
        by_key, by_name = self.sections[-1]
        key = f"{name} {attributes}"
        same = [e for e in by_key.get(key, ()) if e.alive]
        if len(same) >= 3:  # Noah's Ark: the earliest of three identical ones goes
            same.pop(0).alive = False
        self.work += len(self.active)  # lexbor compares along the list to the last marker
        entry = _Entry(name)
        by_key[key] = [*same, entry]
        by_name.setdefault(name, []).append(entry)
        self.active.append(entry)
        self.push(name, entry)
        if len(self.active) > 64:  # drop dead entries now and then (amortised O(1))
            live = [e for e in self.active if e is None or e.alive]
            if 2 * len(live) < len(self.active):
                self.active = live

    def last_entry(self, name: str) -> _Entry | None:
        found = self.sections[-1][1].get(name)
        while found:
            if found[-1].alive:
                return found[-1]
            found.pop()
        return None

    def add_marker(self) -> None:
        self.active.append(None)
        self.sections.append(({}, {}))

    def clear_to_marker(self) -> None:
        active = self.active
        while active:
            entry = active.pop()
            if entry is None:
                break
            entry.alive = False
        if len(self.sections) > 1:
            self.sections.pop()

    def end_formatting(self, name: str) -> bool:
        """The adoption agency, on its safe side: close the formatting element `name`;
        False when none is in the list (the generic end tag steps apply)."""
        entry = self.last_entry(name)
        if entry is None:
            return False
        if entry.index < 0:  # not open any more: only dropped from the list
            entry.alive = False
            return True
        if self.in_scope(entry.index, self.scope) < 0:
            return True  # ignored
        if self.special and self.special[-1] > entry.index:
            # Blocks inside it (special elements above it): each round of the agency
            # (8 at most) takes the formatting element off the stack, drops the
            # elements up to the next block that are not formatting ones (it keeps
            # clones of those) and puts a clone above that block; the round that finds
            # no block above pops the clone and what is above it.
            first = bisect_right(self.special, entry.index)
            blocks = self.special[first:first + 8]
            self.work += 8 * (len(self.stack) - entry.index)
            block_set = set(blocks)
            for i in range(entry.index + 1, blocks[-1]):
                if i not in block_set and self.entries[i] is None:
                    self.drop(i)
            self.drop(entry.index)
            entry.alive = False
            if len(self.special) - first <= 7:
                self.pop_to(self.special[-1] + 1)
            return True
        self.pop_to(entry.index)
        entry.alive = False
        return True

    # -- tokens ------------------------------------------------------------------------

    def run(self) -> Bounded:
        html = self.html
        n = len(html)
        pos = 0
        find = html.find
        flat = _FLAT.match
        while pos < n:
            pattern = self.siblings() or (_FLAT if self.is_flat() else None)
            if pattern is not None:
                end = (flat(html, pos) if pattern is _FLAT else pattern.match(html, pos)
                       ).end()  # type: ignore[union-attr]
                if end > pos:
                    self.work += html.count("<", pos, end) * (len(self.stack) + 3)
                    pos = end
                    if pos >= n or self.work > self.budget:
                        break
            lt = find("<", pos)
            if lt != pos:  # text before the `<` (or to the end)
                if self.head and html[pos:lt if lt >= 0 else n].strip(_WS):
                    self.leave_head()
                self.reconstruct()
                if self.over():
                    return self.cut(pos)
                if lt < 0:
                    break
            nxt = html[lt + 1:lt + 2]
            if nxt.isascii() and nxt.isalpha():
                name, n_attributes, attrs_start, end = start_tag(html, lt, exact=False)
                pos = self.start(name, n_attributes, lt, attrs_start, end)
            elif nxt == "/":
                end_match = _END_TAG_NAME.match(html, lt)
                if end_match is None:  # </> is dropped; </3 and the like are comments
                    close = find(">", lt + 2)
                    pos = n if close < 0 else close + 1
                    continue
                end = _ATTRIBUTES.match(html, end_match.end()).end()  # type: ignore[union-attr]
                pos = min(end + 1, n)
                self.end(_lower(end_match[1]))
            elif nxt == "!":
                pos = self.markup_declaration(lt)
                continue
            elif nxt == "?":
                close = find(">", lt + 2)
                pos = n if close < 0 else close + 1
                continue
            else:  # a `<` in text
                self.reconstruct()
                pos = lt + 1
            if self.over():
                return self.cut(lt)
        if self.work > self.budget:
            return self.cut(pos)
        return self.finish(n)

    def is_flat(self) -> bool:
        """Whether _FLAT markup would change nothing the model holds now."""
        if (self.head or len(self.stack) >= MAX_DEPTH - 3 or self.current_foreign()
                or self.top("select") >= 0):
            return False
        active = self.active
        while active and active[-1] is not None and not active[-1].alive:
            active.pop()
        if active and active[-1] is not None and active[-1].index < 0:
            return False  # something to reconstruct
        if self.stack[-1] in _HEADINGS or self.last_entry("a") is not None:
            return False
        if self.top("p") >= (self.button_scope[-1] if self.button_scope else -1):
            return False  # a block would close it
        item = max(self.top("li"), self.top("dd"), self.top("dt"))
        return item < 0 or item < (self.item_stop[-1] if self.item_stop else -1)

    def siblings(self) -> re.Pattern[str] | None:
        """The _SIBLINGS run that would change nothing the model holds now, if any."""
        pattern = _SIBLINGS.get(self.stack[-1])
        if (pattern is None or self.head or len(self.stack) >= MAX_DEPTH - 3
                or self.last_entry("a") is not None
                or (self.stack[-1] != "option" and self.top("select") >= 0)):
            return None
        active = self.active
        while active and active[-1] is not None and not active[-1].alive:
            active.pop()
        if active and active[-1] is not None and active[-1].index < 0:
            return None  # something to reconstruct
        if self.stack[-1] in ("li", "dd", "dt") and self.top("p") >= (
                self.button_scope[-1] if self.button_scope else -1):
            return None  # a block inside would close that <p>
        return pattern

    def over(self) -> bool:
        return len(self.stack) > MAX_DEPTH or self.work > self.budget

    def markup_declaration(self, lt: int) -> int:
        """Skip a comment, a doctype, a bogus comment, or (in SVG/MathML) a CDATA section."""
        html, n = self.html, len(self.html)
        if html.startswith("<!--", lt):
            if html.startswith("<!-->", lt):
                return lt + 5
            if html.startswith("<!--->", lt):
                return lt + 6
            ends = [i for i in (html.find("-->", lt + 4), html.find("--!>", lt + 4)) if i >= 0]
            if not ends:
                return n
            end = min(ends)
            return end + (3 if html.startswith("-->", end) else 4)
        if html.startswith("<![CDATA[", lt) and self.in_foreign():  # text in SVG, MathML
            end = html.find("]]>", lt + 9)
            return n if end < 0 else end + 3
        close = html.find(">", lt + 2)
        return n if close < 0 else close + 1

    def start(self, name: str, n_attributes: int, lt: int, attrs_start: int, end: int) -> int:
        """Process the start tag html[lt:end]; the index to go on from."""
        html = self.html
        keep = MAX_ATTRIBUTES
        if name in ("html", "body") and not self.in_foreign():
            self.roots += 1
            if self.roots > 2:  # merged into the first: kept attributes only
                keep = 0
                self.work += ROOT_MERGE_WORK * n_attributes
        if n_attributes > keep:
            self.rewrite(lt, end, keep_attributes(html, name, attrs_start, end, keep))
            n_attributes = min(n_attributes, keep + len(KEPT_ATTRIBUTES))
        self.work += n_attributes * (n_attributes - 1) // 2 if n_attributes > 8 else 1
        if self.in_foreign():
            if name in _BREAKOUT or (name == "font" and self._font_breaks_out(attrs_start,
                                                                             end)):
                self.leave_foreign()
            else:
                if not self_closing(html, attrs_start, end):
                    self.push(self.foreign_name(name, attrs_start, end))
                return end
        if self.head:
            if self.head_noscript and name not in _IN_HEAD_NOSCRIPT:
                self.leave_head_noscript()
            if name == "noscript" and not self.head_noscript:
                self.push(name)
                self.head_noscript = True
                return end
            if name not in _IN_HEAD:
                self.leave_head()
        if name in ("html", "body", "head", "frame"):
            return end
        if name == "frameset":  # framesets nest (cheaply, but the model counts them)
            self.push(name)
            return end
        if name in ("input", "keygen"):  # they close an open <select>
            i = self.in_scope(self.top("select"), self.scope)
            if i >= 0:
                self.pop_to(i)
        if name == "script":
            return self.script(end)
        if name in _RAW_TEXT:
            return self.raw_text(name, end)
        if name == "plaintext":
            self.close_p()
            self.push(name)
            return len(html)
        if name in _TABLE_PARTS:
            self.table_part(name)
            return end
        if name == "hr" and self.in_scope(self.top("select"), self.scope) >= 0:
            self.implied_ends("")  # an <hr> in a <select> ends its <option>, <li> …
        if name in _CLOSES_P:
            if name == "li":  # the list item walk first, then the <p> (as the spec does)
                self.close_item(("li",))
            elif name in ("dd", "dt"):
                self.close_item(("dd", "dt"))
            self.close_p()
            if name in _HEADINGS and self.stack[-1] in _HEADINGS:
                self.pop_to(len(self.stack) - 1)
            if name != "hr":
                self.push(name)
            return end
        if name in _VOID:
            if name in _VOID_RECONSTRUCT:
                self.reconstruct()
            return end
        if name == "table":  # a table in a table (not in a cell) ends the first; in
            # quirks mode a table does not close an open <p> (the safe side: kept open)
            table = self.top("table")
            self.close_table_select(table)
            if (table >= 0 and table == self.table_scope[-1]
                    and table > max(self.top("td"), self.top("th"), self.top("caption"))):
                self.pop_to(table)
            self.push(name)
            return end
        if name == "select":  # a <select> in a <select> closes it
            i = self.in_scope(self.top("select"), self.scope)
            if i >= 0:
                self.pop_to(i)
                return end
            if self.stack[-1] in _TABLE_CONTEXT and self.top("select") < 0:
                self.table_selects.add(len(self.stack))  # "in select in table"
        if name == "a":
            self.end_formatting("a")
        elif name == "nobr":
            self.reconstruct()
            if self.in_scope(self.top("nobr"), self.scope) >= 0:
                self.end_formatting("nobr")
        elif name == "button":
            i = self.in_scope(self.top("button"), self.scope)
            if i >= 0:
                self.pop_to(i)
        elif name in ("option", "optgroup"):
            if self.in_scope(self.top("select"), self.scope) >= 0:
                # in a <select>: "generate implied end tags" (but optgroup for <option>)
                self.implied_ends("optgroup" if name == "option" else "")
            elif self.stack[-1] == "option":
                self.pop_to(len(self.stack) - 1)
        elif name in _RUBY:
            if self.in_scope(self.top("ruby"), self.scope) >= 0:
                self.implied_ends("rtc" if name in ("rp", "rt") else "")
        if name in _FORMATTING_SET:
            self.reconstruct()
            self.add_formatting(name, html[attrs_start:end])
            return end
        if name != "template" and name not in _RUBY:  # they reconstruct nothing
            self.reconstruct()
        if name in ("svg", "math") and self_closing(html, attrs_start, end):
            return end
        self.push(name)
        if name in ("applet", "marquee", "object", "template"):
            self.add_marker()
        return end

    def leave_foreign(self) -> None:
        """Pop until the current node is an HTML element or an integration point."""
        while self.in_foreign():
            stack = self.stack
            top = len(stack) - 1
            while top > self.foreign[-1] and stack[top][0] == "~":
                top -= 1
            self.pop_to(top if stack[top][0] != "^" else top + 1)

    def foreign_name(self, name: str, attrs_start: int, end: int) -> str:
        """How the model names an element started in SVG or MathML: "^name" for an HTML
        integration point (HTML inside), "~name" for the others; HTML rules never match
        either. An element takes the namespace of the run it is in: <svg> in <math> is
        a MathML element, but <svg> in an annotation-xml starts an SVG one."""
        root = self.stack[self.foreign[-1]]
        if name == "svg" and self.stack[-1] in ("~annotation-xml", "^annotation-xml"):
            return name
        if name == "annotation-xml" and root == "math":
            encoding = _ANNOTATION_ENCODING.search(self.html, attrs_start, end)
            html_inside = encoding is not None and _lower(encoding[1].strip("\"'")) in (
                "text/html", "application/xhtml+xml")
            return "^" + name if html_inside else "~" + name
        return ("^" if name in _INTEGRATION[root] else "~") + name

    def leave_head_noscript(self) -> None:
        if self.head_noscript:
            self.head_noscript = False
            i = self.top("noscript")
            if i >= 0:
                self.pop_to(i)

    def leave_head(self) -> None:
        self.leave_head_noscript()
        self.head = False

    def _font_breaks_out(self, attrs_start: int, end: int) -> bool:
        names = {_lower(m[1]) for m in _ATTRIBUTE_RE.finditer(self.html, attrs_start, end)}
        return bool(names & {"color", "face", "size"})

    def raw_text(self, name: str, end: int) -> int:
        """Skip the text of a <style>, <title>, <textarea> … to its end tag."""
        if len(self.stack) >= MAX_DEPTH:
            self.push(name)  # over the depth: run() cuts here
            return end
        close = _RAW_END[name].search(self.html, end)
        return len(self.html) if close is None else self.end_tag_end(close.start())

    def script(self, end: int) -> int:
        """Skip a <script>'s text: to its end tag, through <!-- … --> and <!--<script> …
        --> as the tokenizer's script data states do."""
        if len(self.stack) >= MAX_DEPTH:
            self.push("script")
            return end
        html, state, pos = self.html, 0, end  # 0 data, 1 escaped, 2 double escaped
        while True:
            token = _SCRIPT_TOKEN.search(html, pos)
            if token is None:
                return len(html)
            pos = token.end()
            text = token[0]
            if text == "<!--":
                if state == 0:
                    state = 1
                    dashes = pos
                    while html[dashes:dashes + 1] == "-":
                        dashes += 1
                    if html[dashes:dashes + 1] == ">":  # <!--> and <!---> end at once
                        state, pos = 0, dashes + 1
                else:  # no meaning here, but its dashes may start a -->
                    pos = token.start() + 2
            elif text == "-->":
                state = 0
            elif token[1]:  # </script
                if state == 2:
                    state = 1
                else:
                    return self.end_tag_end(token.start())
            elif state == 1:  # <script inside <!--
                state = 2

    def end_tag_end(self, at: int) -> int:
        """The index after the end tag at html[at]."""
        name_end = _END_TAG_NAME.match(self.html, at).end()  # type: ignore[union-attr]
        after = _ATTRIBUTES.match(self.html, name_end).end()  # type: ignore[union-attr]
        return min(after + 1, len(self.html))

    def implied_ends(self, keep: str) -> None:
        """"Generate implied end tags" (but `keep`): pop <p>, <li>, <option> … off the top."""
        stack = self.stack
        while len(stack) > 2 and stack[-1] in _IMPLIED_END and stack[-1] != keep:
            self.pop_to(len(stack) - 1)

    def close_p(self) -> None:
        i = self.in_scope(self.top("p"), self.button_scope)
        if i >= 0:
            self.pop_to(i)

    def close_item(self, names: tuple[str, ...]) -> None:
        """<li>, <dd>, <dt>: walking down from the top, close the open one of `names`
        unless a special element (but address, div, p) comes first."""
        found = max(self.top(name) for name in names)
        stop = self.item_stop[-1] if self.item_stop else -1
        self.work += len(self.stack) - max(found, stop, 0)
        if found >= stop and found >= 0:  # found may be a stop itself
            self.pop_to(found)

    def close_table_select(self, above: int) -> None:
        """A table tag ends a <select> opened in a table or cell ("in select in table";
        lexbor keeps a <select> opened elsewhere, even around the table)."""
        i = self.top("select")
        if 0 <= above < i and i in self.table_selects:
            self.pop_to(i)

    def table_part(self, name: str) -> None:
        table = self.top("table")
        if table < 0:  # outside a table these tags are dropped
            return
        self.close_table_select(table)
        if self.top("template") > table:  # in a <template> in the table: the model
            self.push(name)  # just opens it (lexbor may drop it)
            return
        self.work += len(self.stack) - table
        if name in ("td", "th"):
            cell = max(self.top("td"), self.top("th"))
            if cell > table:  # "close the cell"
                self.pop_to(cell)
                self.clear_to_marker()
            if self.top("tr") <= table:
                self.pop_to(table + 1)
                self.push("tbody")
                self.push("tr")
            self.push(name)
            self.add_marker()
        elif name == "tr":
            if max(self.top("td"), self.top("th")) > table:  # "close the cell"
                self.pop_to(max(self.top("td"), self.top("th")))
                self.clear_to_marker()
            body = max(self.top("tbody"), self.top("thead"), self.top("tfoot"))
            if body > table:
                self.pop_to(body + 1)
            else:
                self.pop_to(table + 1)
                self.push("tbody")
            self.push("tr")
        else:
            self.pop_to(table + 1)
            self.push(name)
            if name == "caption":
                self.add_marker()

    def end(self, name: str) -> None:
        """Process the end tag </name>."""
        if self.head:
            if name == "noscript" and self.head_noscript:
                self.leave_head_noscript()
            elif name in ("head", "body", "html", "br"):
                self.leave_head()
            elif name != "template":
                return  # in head, other end tags are dropped
        if self.current_foreign():
            if name in ("br", "p"):  # these leave SVG and MathML, as breakout tags do
                self.leave_foreign()
            else:  # the run of foreign elements at the top, then HTML rules
                i = max(self.top("~" + name), self.top("^" + name),
                        self.top(name) if name in ("svg", "math") else -1)
                self.work += len(self.stack) - max(i, 0)
                if i >= self.foreign[-1] and i >= 0:
                    self.pop_to(i)
                    return
        if name in ("html", "body", "head"):
            return
        if name == "frameset":
            if self.stack[-1] == "frameset":
                self.pop_to(len(self.stack) - 1)
            return
        if name == "br":
            self.reconstruct()
            return
        if name == "p":
            self.close_p()
            return
        if name == "template":
            i = self.top("template")
            if i >= 0:
                self.pop_to(i)
                self.clear_to_marker()
            return
        if name == "select":  # lexbor: when in scope, whatever is above it
            i = self.top("select")
            bound = max((b for b in self.scope[-2:] if b != i), default=-1)
            self.work += len(self.stack) - max(i, bound, 0)
            if i > bound:
                self.pop_to(i)
            return
        if name == "form":  # </form> takes the form off the stack, and only it: when it
            # is not the current node, the model leaves it there (the safe side)
            if self.stack[-1] == "form":
                self.pop_to(len(self.stack) - 1)
            return
        if name == "li":
            i = self.in_scope(self.top("li"), self.list_scope)
        elif name in _BLOCK_END:
            i = self.in_scope(self.top(name), self.scope)
        elif name in _HEADINGS:
            i = self.in_scope(max(self.top(h) for h in _HEADINGS), self.scope)
        elif name == "table" or name in _TABLE_PARTS:
            self.close_table_select(self.top(name))
            i = self.in_scope(self.top(name), self.table_scope)
        elif name in _FORMATTING_SET and self.end_formatting(name):
            return
        else:  # "any other end tag": the topmost `name`, if no special element is above
            # (an SVG or MathML element is never `name` here: HTML rules match HTML ones)
            i = -1 if name in ("svg", "math") else self.top(name)
            special = self.special[-1] if self.special else -1
            self.work += len(self.stack) - max(i, special, 0)
            if i < special:
                i = -1
        if i < 0:
            return
        # A cell, caption, applet, marquee or object closed clears the list of active
        # formatting elements to its marker (once: popping alone does not).
        clear = name in _MARKERS or max(self.top("td"), self.top("th")) > i
        self.pop_to(i)
        if clear:
            self.clear_to_marker()

    # -- output ------------------------------------------------------------------------

    def rewrite(self, start: int, end: int, text: str) -> None:
        self.out.append(self.html[self.copied:start])
        self.out.append(text)
        self.copied = end

    def cut(self, at: int) -> Bounded:
        why = (f"nesting deeper than {MAX_DEPTH}" if len(self.stack) > MAX_DEPTH
               else "parse work over its budget")
        return Bounded(self.finish(at).html, f"{why} at character {at}")

    def finish(self, at: int) -> Bounded:
        if not self.out:
            return Bounded(self.html if at >= len(self.html) else self.html[:at])
        return Bounded("".join([*self.out, self.html[self.copied:at]]))
