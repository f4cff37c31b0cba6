"""The bound on one page's parse cost (core/bounds.py, issue 13).

Timings are measured by `python -m bench.hostile`, never here: these tests check what
is cut, where, and why; that normal pages pass untouched; and that the model of the
tree builder never sees much less nesting than lexbor builds (a model that sees less
would let a costly page through), on random tag soup and on repeated soup.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser

from bench.extract import sample_pages
from bench.hostile import SHAPES, normal_page
from core import bounds
from core.bounds import (
    FAST_TAGS,
    LOOSE_FORMATTING,
    MAX_ATTRIBUTES,
    MAX_DEPTH,
    SMALL_TAGS,
    _gate,
    _Scan,
    bound_markup,
    self_closing,
    start_tag,
)
from core.extractor import extract_html
from core.pages import page_rows

PAGE = "http://site1.example/dir/page.html"
BEFORE = '<a href="/before">before</a>'


def links(html: str) -> list[str]:
    return extract_html(PAGE, html).links["dst_url"]


# -- normal pages ------------------------------------------------------------------


def test_normal_pages_pass_the_gate_untouched() -> None:
    pages = sample_pages(40)
    assert all(_gate(html) for _, html in pages)
    assert all(bound_markup(html) == (html, None) for _, html in pages)


def test_the_model_leaves_a_large_normal_page_untouched() -> None:
    html = normal_page(400_000)
    assert html.count("<") > FAST_TAGS and not _gate(html)  # the model runs
    assert bound_markup(html) == (html, None)
    scan = _Scan(html)
    scan.run()
    assert scan.work < 2 * len(html)  # far below the budget (16 a character)


def test_the_model_leaves_normal_pages_untouched_when_forced() -> None:
    for _, html in sample_pages(20):
        assert _Scan(html).run() == (html, None)


# -- what is cut, and why ----------------------------------------------------------


def test_a_page_the_gate_passes_is_parsed_whole_at_any_depth() -> None:
    # At most FAST_TAGS tags cost milliseconds however deep: no cut.
    html = BEFORE + "<div>" * 3000 + '<a href="/in">in</a>'
    assert _gate(html) and bound_markup(html) == (html, None)
    assert links(html) == ["http://site1.example/before", "http://site1.example/in"]


def test_deep_nesting_is_cut_before_the_tag_too_deep() -> None:
    html = BEFORE + "<div>" * 100_000 + '<a href="/in">in</a>' + "</div>" * 100_000
    bounded = bound_markup(html)
    cut = len(BEFORE) + 5 * (MAX_DEPTH - 2)  # <html> and <body> count
    assert bounded == (html[:cut], f"nesting deeper than 512 at character {cut}")
    assert links(html) == ["http://site1.example/before"]


def test_page_rows_records_the_cut_as_the_error_and_keeps_the_links() -> None:
    body = (BEFORE + "<div>" * FAST_TAGS + '<a href="/in">in</a>').encode()
    rows = page_rows("c", PAGE, depth=0, fetched_at=datetime.now(UTC), status=200, body=body,
                     content_type="text/html")
    cut = len(BEFORE) + 5 * (MAX_DEPTH - 2)
    assert rows.page["error"] == f"truncated: nesting deeper than 512 at character {cut}"
    assert rows.page["status"] == 200 and rows.page["n_links"] == 1
    assert rows.links["dst_url"] == rows.follow == ["http://site1.example/before"]


@pytest.mark.parametrize("shape", ["stray-end-tags", "open-formatting", "nested-lists",
                                   "nested-tables", "misnested-links"])
def test_quadratic_nesting_shapes_are_cut_by_depth(shape: str) -> None:
    html = SHAPES[shape][1](200_000)
    result = extract_html(PAGE, html)
    assert result.truncated is not None
    assert result.truncated.startswith(f"nesting deeper than {MAX_DEPTH} at character ")


def test_formatting_reopened_in_every_paragraph_is_cut_by_the_work_budget() -> None:
    """<p><b id=N></p>: lexbor clones every <b> so far into each new paragraph (4,000
    of them: 8 million elements). The clones count as work, and the page is cut where
    it would go over its budget, before the nesting gets deep."""
    html = SHAPES["reopened-formatting"][1](300_000)
    bounded = bound_markup(html)
    assert bounded.truncated is not None
    assert bounded.truncated.startswith("parse work over its budget at character ")
    assert html.startswith(bounded.html) and len(bounded.html) < 20_000
    assert links(html) == ["http://far.example/before"]


def test_many_attributes_keep_only_those_the_extractor_reads() -> None:
    """Attribute names are deduplicated by a walk per attribute (100,000: 37 s): a start
    tag keeps its first MAX_ATTRIBUTES and the first of each name the extractor reads.
    No value the extractor records changes, so the page is not truncated."""
    html = ('<a ' + " ".join(f"d{i}=v" for i in range(100_000))
            + ' href="/many" rel=nofollow class=x d5=again>m</a><p>after</p>')
    bounded = bound_markup(html)
    assert bounded.truncated is None and bounded.html.endswith(">m</a><p>after</p>")
    tag = LexborHTMLParser(bounded.html).css_first("a")
    assert tag is not None and len(tag.attributes) == MAX_ATTRIBUTES + 3
    assert (tag.attributes["href"], tag.attributes["rel"], tag.attributes["d5"]) == (
        "/many", "nofollow", "v")
    result = extract_html(PAGE, html)
    assert result.links["dst_url"] == ["http://site1.example/many"]
    assert result.links["nofollow"] == [True] and result.truncated is None


def test_a_quoted_gt_does_not_hide_a_long_tag_from_the_gate() -> None:
    # `>` inside quoted values splits the tag for a search that ignores quotes.
    html = '<a ' + " ".join(f'd{i}=">"' for i in range(2000)) + ' href="/q">q</a>'
    assert not _gate(html)
    assert links(html) == ["http://site1.example/q"]


def test_repeated_html_and_body_tags_keep_only_read_attributes() -> None:
    html = ("<html lang=en><body>" + "".join(f"<html a{i}=1 b{i}=2><body c{i}=3>"
                                             for i in range(20_000))
            + '<html lang=de><body class=footer><a href="/x">x</a>')
    assert not _gate(html)
    bounded = bound_markup(html)
    assert bounded.truncated is None and "a19999" not in bounded.html
    result = extract_html(PAGE, html)
    # The first lang stays; the class merged into <body> still positions the link.
    assert result.lang == "en" and result.links["position"] == ["footer"]


def test_options_in_a_select_are_not_costly_any_more() -> None:
    # Parsed without mutation events (core/extractor.py): no selectedness per <option>.
    html = "<select>" + "<option>x" * 20_000 + '</select><a href="/x">x</a>'
    result = extract_html(PAGE, html)
    assert result.truncated is None and result.links["dst_url"] == ["http://site1.example/x"]


PAD = "<br>" * SMALL_TAGS  # over SMALL_TAGS, the gate counts loose formatting elements


@pytest.mark.parametrize(("html", "passes"), [
    ("<html lang=en><body class=x>" + "<p>x</p>" * 10, True),
    ("<html><body><body>", False),  # a third <html>/<body>
    (PAD + "<b class=x><p>t</p>" * LOOSE_FORMATTING, True),
    (PAD + "<b class=x><p>t</p>" * (LOOSE_FORMATTING + 1), False),
    ("<b class=x><p>t</p>" * (SMALL_TAGS // 3), True),  # few tags: not looked at
    ("<b class=x>t</b><i class=y></i>" * 100, True),  # closed after their text
    ("<a " + "x" * 2000 + ">", True),  # long, but one attribute
    ("<a " + " x" * (MAX_ATTRIBUTES + 1) + ">", True),  # under LONG_TAG: up to ~512
    ("<a " + " ".join(f"x{i}" for i in range(MAX_ATTRIBUTES + 1)) + ">", False),
    ("<p>x</p>" * (FAST_TAGS // 2), True),
    ("<p>x</p>" * (FAST_TAGS // 2 + 1), False),
])
def test_the_gate(html: str, passes: bool) -> None:
    assert _gate(html) is passes


def test_start_tags_as_the_tokenizer_reads_them() -> None:
    html = '<A Href="x>y" data-a=1/ b c="d"e=f>rest'
    assert start_tag(html, 0) == ("a", 5, 2, html.index("rest"))
    assert start_tag("<svg/>", 0) == ("svg", 0, 4, 6)
    assert self_closing("<svg/>", 4, 6) and self_closing("<svg a='1'/>", 4, 12)
    assert not self_closing("<svg id=a/>", 4, 11)  # the / is part of the value
    assert start_tag('<a href="unclosed', 0)[1:] == (1, 2, 17)


# -- the model against lexbor --------------------------------------------------------

TAGS = (
    "div p span a b i em strong font li ul ol dl dd dt table tr td th tbody caption select "
    "option optgroup form button h1 h2 pre nobr svg math g foreignObject desc mi title "
    "textarea script style template object marquee ruby rt rp br img hr input html body "
    "head noscript iframe xmp plaintext section nav code small u s label listing center "
    "address annotation-xml").split()
ODD = ("<!--", "-->", "<!-- x -->", "<![CDATA[", "]]>", "<!-->", "<?x>", "</>", "<", "&amp;",
       "<!--<script>")


def soup(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        r = rng.random()
        tag = rng.choice(TAGS)
        if rng.random() < 0.3:
            tag = tag.upper()
        if r < 0.5:
            attrs = "".join(rng.choice((" id=1", ' class="x"', " color=red", " a",
                                        f" z{rng.randint(0, 3)}=q", ' t=">"', "/",
                                        " encoding=text/html"))
                            for _ in range(rng.randint(0, 2)))
            out.append(f"<{tag}{attrs}>")
        elif r < 0.85:
            out.append(f"</{tag}>")
        elif r < 0.9:
            out.append(rng.choice(ODD))
        else:
            out.append(rng.choice(("x", " ", "text ", "\n")))
    return "".join(out)


def lexbor_depth(html: str) -> int:
    tree = LexborHTMLParser(html, options=LexborDocumentOptions.WO_EVENTS)
    deepest, todo = 0, [(tree.root, 1)] if tree.root is not None else []
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        child = node.child
        while child is not None:
            if child.is_element_node:
                todo.append((child, depth + 1))
            child = child.next
    return deepest


class _Deepest(_Scan):
    """The model, recording the most elements it has held (a leaf counting one more)."""

    deepest = 0

    def push(self, name: str, entry: object = None) -> None:
        super().push(name, entry)  # type: ignore[arg-type]
        self.deepest = max(self.deepest, len(self.stack))

    def start(self, name: str, *args: int) -> int:
        end = super().start(name, *args)
        if name in bounds._VOID or name in bounds._RAW_TEXT or name == "script":
            self.deepest = max(self.deepest, len(self.stack) + 1)
        return end


def model_depth(html: str) -> int:
    scan = _Deepest(html)
    scan.budget = 1 << 62
    scan.run()
    return scan.deepest


@pytest.fixture
def unbounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "MAX_DEPTH", 1 << 30)


@pytest.mark.usefixtures("unbounded")
def test_the_model_never_sees_much_less_nesting_than_lexbor_builds() -> None:
    rng = random.Random(13)
    misses = []
    for _ in range(1500):
        html = soup(rng, rng.randint(5, 300))
        if lexbor_depth(html) > model_depth(html) + 3:
            misses.append(html)
    assert misses == []


@pytest.mark.usefixtures("unbounded")
def test_repeated_soup_does_not_let_lexbor_nest_deeper_than_the_model() -> None:
    """A unit repeated: where the model and lexbor disagree on one step, the difference
    grows with the repetitions (the shape of an attack on the bound)."""
    rng = random.Random(31)
    misses = []
    for _ in range(800):
        unit = soup(rng, rng.randint(1, 8))
        html = soup(rng, rng.randint(0, 20)) + unit * rng.randint(20, 120)
        if lexbor_depth(html) > model_depth(html) + 3:
            misses.append(unit)
    assert misses == []
