"""The extractor, one test per case real pages contain, with the exact expected rows."""

from __future__ import annotations

from html import escape

import pytest
from scrapy.http import HtmlResponse

from core.extractor import PageExtraction, extract_html, extract_redirect, robots_tokens

PAGE = "http://site1.example/dir/page.html"


def rows(result: PageExtraction, *columns: str) -> list[tuple]:
    cols = columns or ("dst_url", "anchor", "kind", "position")
    return list(zip(*(result.links[c] for c in cols), strict=True))


def body(inner: str, head: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{inner}</body></html>"


def test_rel_tokens_combined_and_upper_case() -> None:
    result = extract_html(PAGE, body(
        '<a href="/a" rel="nofollow">1</a>'
        '<a href="/b" rel="UGC Nofollow">2</a>'
        '<a href="/c" rel="sponsored noopener">3</a>'
        '<a href="/d" rel="  SPONSORED\tugc ">4</a>'
        '<a href="/e" rel="noopener noreferrer">5</a>'
    ))
    assert rows(result, "anchor", "nofollow", "ugc", "sponsored") == [
        ("1", True, False, False),
        ("2", True, True, False),
        ("3", False, False, True),
        ("4", False, True, True),
        ("5", False, False, False),
    ]


def test_positions_from_landmarks_roles_and_hints() -> None:
    result = extract_html(PAGE, body(
        '<header><a href="/logo">Logo</a><nav><a href="/menu">Menu</a></nav></header>'
        '<main><p><a href="/body">Body</a></p>'
        '<article><footer><a href="/art-foot">Article foot</a></footer></article></main>'
        '<aside><a href="/side">Side</a></aside>'
        '<div role="navigation"><a href="/role-nav">RN</a></div>'
        '<div role="contentinfo"><a href="/role-foot">RF</a></div>'
        '<div role="complementary"><a href="/role-aside">RA</a></div>'
        '<div role="banner"><a href="/role-banner">RB</a></div>'
        '<div class="site-footer"><a href="/cls-foot">CF</a></div>'
        '<div id="sidebar"><span><a href="/id-side">IS</a></span></div>'
        '<ul class="Main_Menu"><li><a href="/cls-menu">CM</a></li></ul>'
        '<div class="navigator"><a href="/not-a-hint">NH</a></div>'
        '<footer><a href="/foot">Foot</a></footer>'
        '<a href="/loose">Loose</a>'
    ))
    assert rows(result, "anchor", "position") == [
        ("Logo", "header"),
        ("Menu", "nav"),
        ("Body", "content"),
        ("Article foot", "footer"),
        ("Side", "aside"),
        ("RN", "nav"),
        ("RF", "footer"),
        ("RA", "aside"),
        ("RB", "header"),
        ("CF", "footer"),
        ("IS", "aside"),
        ("CM", "nav"),
        ("NH", "content"),
        ("Foot", "footer"),
        ("Loose", "content"),
    ]


def test_image_links_take_alt_as_anchor() -> None:
    result = extract_html(PAGE, body(
        '<a href="/i1"><img src="x.png" alt="  Red\n shoes "></a>'
        '<a href="/i2"><img src="y.png" alt=""></a>'
        '<a href="/i3"><img src="z.png"></a>'
        '<a href="/i4">Buy <img src="w.png" alt="Cart"> now</a>'
        '<a href="/i5"><span><img alt="Deep"></span><img alt="Second"></a>'
    ))
    assert rows(result, "dst_url", "anchor", "kind", "alt") == [
        ("http://site1.example/i1", "Red shoes", "img", "Red shoes"),
        ("http://site1.example/i2", "", "img", ""),
        ("http://site1.example/i3", "", "img", None),
        ("http://site1.example/i4", "Buy now", "img", "Cart"),
        ("http://site1.example/i5", "Deep", "img", "Deep"),
    ]


def test_area_links_in_image_maps() -> None:
    result = extract_html(PAGE, body(
        '<img usemap="#m"><map name="m">'
        '<area shape="rect" href="/north" alt=" North  wing ">'
        '<area shape="rect" href="/south">'
        '<area shape="rect" alt="no href">'
        "</map>"
    ))
    assert rows(result, "dst_url", "anchor", "kind", "alt") == [
        ("http://site1.example/north", "North wing", "area", "North wing"),
        ("http://site1.example/south", "", "area", None),
    ]


def test_base_href_is_the_base_of_every_link() -> None:
    result = extract_html(PAGE, body(
        '<a href="rel">r</a><a href="../up">u</a><a href="/root">o</a><a href="?q=1">q</a>',
        head='<base href="/other/sub/"><base href="http://ignored.example/">',
    ))
    assert rows(result, "dst_url") == [
        ("http://site1.example/other/sub/rel",),
        ("http://site1.example/other/up",),
        ("http://site1.example/root",),
        ("http://site1.example/other/sub/?q=1",),
    ]
    other = extract_html(PAGE, body('<a href="x">x</a>', head='<base href="http://cdn.example/a/">'))
    assert rows(other, "dst_url", "external") == [("http://cdn.example/a/x", True)]


def test_relative_forms_resolve_against_the_page() -> None:
    result = extract_html(PAGE, body(
        '<a href="sibling.html">1</a>'
        '<a href="./here.html">2</a>'
        '<a href="../parent.html">3</a>'
        '<a href="../../../too-far.html">4</a>'
        '<a href="//site3.example/p/1">5</a>'
        '<a href="/root/p">6</a>'
        '<a href="http://site2.example/abs">7</a>'
        '<a href="HTTP://Site2.EXAMPLE:80/p/1">8</a>'
        '<a href="https://site2.example:443/s">9</a>'
        '<a href="http://site2.example:8080/port">10</a>'
    ))
    assert rows(result, "dst_url") == [
        ("http://site1.example/dir/sibling.html",),
        ("http://site1.example/dir/here.html",),
        ("http://site1.example/parent.html",),
        ("http://site1.example/too-far.html",),
        ("http://site3.example/p/1",),
        ("http://site1.example/root/p",),
        ("http://site2.example/abs",),
        ("http://site2.example/p/1",),
        ("https://site2.example/s",),
        ("http://site2.example:8080/port",),
    ]


def test_fragments_are_removed_and_in_page_links_skipped() -> None:
    result = extract_html(PAGE, body(
        '<a href="/p/1#top">1</a><a href="#top">2</a><a href="page.html#x">3</a><a href="">4</a>'
    ))
    assert rows(result, "dst_url", "anchor") == [
        ("http://site1.example/p/1", "1"),
        ("http://site1.example/dir/page.html", "3"),
    ]
    assert result.n_skipped_links == 2


def test_the_same_link_twice_is_two_edges() -> None:
    result = extract_html(PAGE, body(
        '<nav><a href="/p/2">Two</a></nav><main><a href="/p/2">Two</a></main>'
    ))
    assert rows(result, "dst_url", "anchor", "position", "ordinal") == [
        ("http://site1.example/p/2", "Two", "nav", 0),
        ("http://site1.example/p/2", "Two", "content", 1),
    ]


def test_non_http_schemes_are_counted_not_stored() -> None:
    result = extract_html(PAGE, body(
        '<a href="javascript:void(0)">js</a><a href="JavaScript:alert(1)">JS</a>'
        '<a href="mailto:me@site1.example">mail</a><a href="tel:+15551234">tel</a>'
        '<a href="data:text/html,hi">data</a><a href="ftp://files.example/">ftp</a>'
        '<a href="http://[bad">bad</a><a href="/ok">ok</a>'
    ))
    assert rows(result, "dst_url", "ordinal") == [("http://site1.example/ok", 0)]
    assert result.n_skipped_links == 7
    assert result.n_links == 1


def test_whitespace_and_entities_in_hrefs_and_anchors() -> None:
    result = extract_html(PAGE, body(
        '<a href="  /p/1?a=1&amp;b=2  ">Fish &amp; Chips</a>'
        '<a href="\n/p/\t2\n">  Two\n\n  lines&nbsp;here </a>'
        '<a href="/p/3 space">Caf&eacute; &lt;b&gt;</a>'
        '<a href="/%7Euser/%zz">pct</a>'
    ))
    assert rows(result, "dst_url", "anchor") == [
        ("http://site1.example/p/1?a=1&b=2", "Fish & Chips"),
        ("http://site1.example/p/2", "Two lines here"),
        ("http://site1.example/p/3%20space", "Café <b>"),
        ("http://site1.example/%7Euser/%25zz", "pct"),
    ]


def test_anchor_is_capped() -> None:
    result = extract_html(PAGE, body(f'<a href="/long">{"word " * 200}</a>'))
    assert len(result.links["anchor"][0]) == 256


def test_meta_robots_and_x_robots_tag() -> None:
    nofollow = extract_html(PAGE, body("", head='<meta name="Robots" content="NOFOLLOW">'))
    assert (nofollow.meta_noindex, nofollow.meta_nofollow) == (False, True)
    noindex = extract_html(PAGE, body("", head='<meta name="robots" content="noindex, follow">'))
    assert (noindex.meta_noindex, noindex.meta_nofollow) == (True, False)
    none = extract_html(PAGE, body("", head='<meta name="robots" content="none">'))
    assert (none.meta_noindex, none.meta_nofollow) == (True, True)
    header = extract_html(PAGE, body(""), robots_header="noindex")
    assert (header.meta_noindex, header.meta_nofollow) == (True, False)
    other_bot = extract_html(PAGE, body("", head='<meta name="googlebot" content="nofollow">'))
    assert (other_bot.meta_noindex, other_bot.meta_nofollow) == (False, False)
    assert robots_tokens(None) == (False, False)


def test_canonical_is_the_first_edge() -> None:
    result = extract_html(PAGE, body(
        '<a href="/p/1">one</a>',
        head='<link rel="stylesheet" href="/s.css"><link rel="Canonical" href="/p/3#frag">'
             '<link rel="canonical" href="/second">',
    ))
    assert result.canonical == "http://site1.example/p/3"
    assert rows(result, "dst_url", "kind", "position", "ordinal", "anchor") == [
        ("http://site1.example/p/3", "canonical", None, 0, ""),
        ("http://site1.example/p/1", "a", "content", 1, "one"),
    ]


def test_redirects_are_edges() -> None:
    target, result = extract_redirect("http://site1.example/r/301", "/p/1")
    assert target == "http://site1.example/p/1"
    assert rows(result, "dst_url", "kind", "ordinal", "position", "external", "anchor") == [
        ("http://site1.example/p/1", "redirect", 0, None, False, ""),
    ]
    target, result = extract_redirect("http://site1.example/r/x", "https://Site2.example/")
    assert target == "https://site2.example/" and result.links["external"] == [True]
    target, result = extract_redirect("http://site1.example/r/x", "mailto:x@y")
    assert target is None and result.n_links == 0 and result.n_skipped_links == 1


def test_non_utf8_page_decoded_by_http_charset() -> None:
    html = body('<a href="/cafe">Café crème</a>', head="<title>Menü</title>").encode("latin-1")
    response = HtmlResponse(
        url=PAGE, body=html, headers={"Content-Type": "text/html; charset=iso-8859-1"}
    )
    result = extract_html(PAGE, response.text)
    assert result.title == "Menü"
    assert rows(result, "anchor") == [("Café crème",)]


def test_non_utf8_page_decoded_by_meta_charset() -> None:
    html = body('<a href="/euro">€ price</a>', head='<meta charset="windows-1252">')
    response = HtmlResponse(
        url=PAGE, body=html.encode("cp1252"), headers={"Content-Type": "text/html"}
    )
    assert rows(extract_html(PAGE, response.text), "anchor") == [("€ price",)]


def test_idn_hosts_become_punycode() -> None:
    result = extract_html(PAGE, body(
        '<a href="http://bücher.example/buch">Bücher</a><a href="http://BÜCHER.example.">B2</a>'
    ))
    assert rows(result, "dst_url", "anchor") == [
        ("http://xn--bcher-kva.example/buch", "Bücher"),
        ("http://xn--bcher-kva.example/", "B2"),
    ]
    assert result.links["dst_domain"] == ["xn--bcher-kva.example"] * 2


def test_hosts_domains_and_external() -> None:
    result = extract_html(PAGE, body(
        '<a href="http://blog.site1.example/x">sub</a>'
        '<a href="http://www.bbc.co.uk/news">bbc</a>'
        '<a href="http://127.0.0.1:8080/">ip</a>'
    ))
    assert rows(result, "dst_host", "dst_domain", "external") == [
        ("blog.site1.example", "site1.example", False),
        ("www.bbc.co.uk", "bbc.co.uk", True),
        ("127.0.0.1", "127.0.0.1", True),
    ]


def test_page_facts() -> None:
    result = extract_html(PAGE, (
        '<html lang="en-GB"><head><title>\n  A   Title </title></head>'
        '<body><a href="/in">in</a><a href="http://out.example/">out</a></body></html>'
    ))
    assert (result.title, result.lang, result.n_links, result.n_external_links) == (
        "A Title", "en-GB", 2, 1,
    )


def test_hostile_html_does_not_break_extraction() -> None:
    garbage = "<a href=/x>unclosed <a href='/y'>second<<<>>>\x00\ufffd</b></i></table>"
    result = extract_html(PAGE, "<div>" * 300 + '<a href="/deep">deep</a>' + "</div>" * 300
                          + garbage)
    assert rows(result, "dst_url") == [
        ("http://site1.example/deep",),
        ("http://site1.example/x",),
        ("http://site1.example/y",),
    ]
    assert result.truncated is None
    assert extract_html(PAGE, b"\xff\xfe\x00garbage").n_links == 0


def test_nesting_deeper_than_the_cap_cuts_the_page_and_keeps_the_links_before() -> None:
    """core/bounds.py: lexbor's parse time grows with the square of the nesting depth, so
    the page is cut before the tag that would nest deeper than 512 (docs/extraction.md)."""
    before = '<a href="/before">before</a>'
    html = before + "<div>" * 5000 + '<a href="/deep">deep</a>' + "</div>" * 5000
    result = extract_html(PAGE, html)
    assert rows(result, "dst_url", "anchor") == [("http://site1.example/before", "before")]
    cut = len(before) + 5 * (512 - 2)  # <html> and <body> are two of the 512
    assert result.truncated == f"nesting deeper than 512 at character {cut}"


def test_collapse_fast_path_agrees_with_split_and_join() -> None:
    """collapse() skips the split and join for text already collapsed: on random text of
    every kind of whitespace it gives what " ".join(text.split())[:cap] gives."""
    import random
    import sys

    from core.extractor import _collapsed, collapse

    # The fast path's premise: isprintable() is False for every whitespace but " ".
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert not (char.isspace() and char != " " and char.isprintable()), hex(code)
    rng = random.Random(7)
    parts = ["a", "bc", "é", "€", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85",
             "\xa0", "\u2003", "\u2028", "\u3000", "\u200b", "\x00", "x" * 300]
    for _ in range(20_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 6)))
        cap = rng.choice([256, 5])
        assert collapse(text, cap) == " ".join(text.split())[:cap], repr(text)
        if text and _collapsed(text):
            assert " ".join(text.split()) == text, repr(text)


def test_anchor_text_fast_paths_agree_with_the_general_path() -> None:
    """Anchors come from text_lexbor() and an inlined collapse: on random markup (no
    images: their alt is tested above) they equal collapse(text(deep=True))."""
    import random

    from selectolax.lexbor import LexborHTMLParser

    from core.extractor import collapse

    rng = random.Random(8)
    parts = ["Fish", " &amp; ", "&nbsp;", "\xa0", "  ", "\n", "\t", "<b>bold</b>", "<br>",
             "<!-- c -->", "<span> in </span>", "<svg><![CDATA[cd]]></svg>",
             "<template>tp</template>", "<script>s</script>", "<style>st</style>",
             "<math><mi>m</mi></math>", "\u3000", "é", "w " * 140, "\x00", "&#xD800;"]
    for _ in range(1_000):
        anchors = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 5)))
                   for _ in range(5)]
        html = body("".join(f'<a href="/{i}">{a}</a>' for i, a in enumerate(anchors)))
        tree = LexborHTMLParser(html)
        expected = [collapse(node.text(deep=True)) for node in tree.css("a[href]")]
        assert [node.text_lexbor() for node in tree.css("a[href]")] == [
            node.text(deep=True) for node in tree.css("a[href]")
        ]
        assert extract_html(PAGE, html).links["anchor"] == expected, html


def test_memoised_targets_do_not_depend_on_the_page_before() -> None:
    """Link targets are memoised across pages by base scheme or base directory: every
    page extracted after others gives what it gives with the memos cleared."""
    from core.extractor import clear_caches

    hrefs = ["/a", "b", "./c", "../d", "?q", "#f", "", "//h.example/x", "http://H.example/y",
             "HTTPS://h.example/z", "mailto:m", "http:rel", " e ", "\\\\h.example\\w", "/\\v"]
    links = "".join(f'<a href="{href}">{i}</a>' for i, href in enumerate(hrefs))
    pages = [(url, body(links, head=head))
             for url in ("http://s.example/p/1", "https://s.example/p/1", "http://s.example/q/",
                         "https://t.example/", "http://s.example/p/2?x=1")
             for head in ("", '<base href="/other/">', '<base href="https://b.example/r/s">')]
    clear_caches()
    shared = [extract_html(url, html).links for url, html in pages]
    alone = []
    for url, html in pages:
        clear_caches()
        alone.append(extract_html(url, html).links)
    assert shared == alone


def test_targets_that_keep_the_base_are_not_shared_between_pages() -> None:
    """hrefs with an empty path ("http:", "HTTP:?q", ";", a leading control character,
    "\\\\") resolve to the page's own base URL: extracted after a page in the same
    directory, they give what they give with the caches cleared."""
    from core.extractor import clear_caches
    from core.urls import RESOLVER

    hrefs = ["http:", "HTTP:?q", "http:#f", ";", "&#x0b;", "&#x01;?q", "ht&#9;tp:", "\\\\",
             "/\\", "?q", "b"]
    links = "".join(f'<a href="{href}">{i}</a>' for i, href in enumerate(hrefs))
    pages = [(url, body(links)) for url in ("http://s.example/p/1", "http://s.example/p/2?x=1",
                                             "http://s.example/p/3", "http://s.example/p/1")]
    alone = []
    for url, html in pages:
        clear_caches()
        alone.append(extract_html(url, html).links)
    assert alone[1]["dst_url"][0] == "http://s.example/p/2?x=1"
    clear_caches()
    assert [extract_html(url, html).links for url, html in pages] == alone
    assert len(RESOLVER) > 0
    clear_caches()
    assert len(RESOLVER) == 0


# ---------------------------------------------------------------------------
# SVG links and attributes hostile markup leaves out (issue 13)
# ---------------------------------------------------------------------------

ROW = ("dst_url", "anchor", "kind", "position", "ordinal", "alt")


def test_svg_links_by_href_or_xlink_href() -> None:
    """An SVG <a> is a link, by its href (SVG 2) or else its xlink:href (SVG 1.1): both
    are followed by browsers. Selecting `a[href]` matched the xlink one (the selector
    sees the attribute's local name), whose attributes have no `href`: KeyError."""
    result = extract_html(PAGE, body(
        '<svg><a xlink:href="/x">y</a></svg><p><a href="/ok">ok</a></p>'
        '<svg><a href="/svg2"><text>z</text></a>'
        '<a href="/both-href" xlink:href="/both-xlink">both</a>'
        '<a href xlink:href="/empty-href-wins">e</a></svg>'
        '<nav><svg><a xlink:href="/in-nav"><text>n</text></a></svg></nav>'
    ))
    assert rows(result, *ROW) == [
        ("http://site1.example/x", "y", "a", "content", 0, None),
        ("http://site1.example/ok", "ok", "a", "content", 1, None),
        ("http://site1.example/svg2", "z", "a", "content", 2, None),
        ("http://site1.example/both-href", "both", "a", "content", 3, None),
        ("http://site1.example/in-nav", "n", "a", "nav", 4, None),
    ]
    assert result.n_skipped_links == 1  # <a href xlink:href=…>: the empty href counts


def test_xlink_href_on_an_html_a_is_no_link() -> None:
    # Outside SVG, xlink:href is an ordinary attribute of that name: browsers ignore it.
    result = extract_html(PAGE, body('<a xlink:href="/not">not</a><a href="/yes">yes</a>'))
    assert rows(result, "dst_url") == [("http://site1.example/yes",)]
    assert result.n_skipped_links == 0


def test_svg_title_base_canonical_and_area_are_not_the_html_ones() -> None:
    """<title>, <base>, <link> and <area> inside <svg> (or <math>) are SVG elements of
    those names: no page title, no base, no canonical, no area link (as in browsers)."""
    result = extract_html(PAGE, (
        "<!doctype html><html><body>"
        '<svg><title>icon</title><base href="http://evil.example/"/>'
        '<link rel="canonical" href="/svg-canonical"/><area href="/svg-area" alt="a"/></svg>'
        '<math><title>formula</title></math>'
        '<svg><foreignObject><p><a href="rel">in foreignObject</a></p></foreignObject></svg>'
        '<a href="rel2">page</a></body></html>'
    ))
    assert result.title is None and result.canonical is None
    assert rows(result, "dst_url", "kind") == [
        ("http://site1.example/dir/rel", "a"),
        ("http://site1.example/dir/rel2", "a"),
    ]
    # An HTML <title> after an SVG one is the page's.
    assert extract_html(PAGE, body("<svg><title>icon</title></svg><title>Page</title>")
                        ).title == "Page"


def test_attributes_without_values_or_twice_do_not_break_extraction() -> None:
    """Every attribute the extractor reads, written bare (no value), twice, with a
    namespace prefix, or missing: nothing raises, and each gets its documented meaning."""
    result = extract_html(PAGE, (
        "<!doctype html><html lang><head><title>t</title>"
        "<base href><meta name=robots><meta name><meta content>"
        '<link rel=canonical><link rel href="/no-rel"><link rel=canonical href>'
        '<link rel="canonical" href="/canon"></head><body>'
        '<a href>bare</a><a href="/first" href="/second">twice</a>'
        '<a href="/r" rel>bare rel</a><a href="/x" xml:lang="en" foo:href="/y">ns</a>'
        '<map><area><area href><area href="/area" alt></map>'
        '<a href="/img"><img alt></a><a href="/img2"><img></a>'
        '<div class role id><a href="/hint">hint</a></div>'
        '</body></html>'
    ))
    assert result.lang is None and result.title == "t"
    assert result.meta_noindex is False and result.meta_nofollow is False
    # The first <link rel=canonical href> is the bare one: an empty href, skipped.
    assert result.canonical is None
    assert rows(result, "dst_url", "anchor", "kind", "nofollow", "alt") == [
        ("http://site1.example/first", "twice", "a", False, None),
        ("http://site1.example/r", "bare rel", "a", False, None),
        ("http://site1.example/x", "ns", "a", False, None),
        ("http://site1.example/area", "", "area", False, ""),
        ("http://site1.example/img", "", "img", False, ""),
        ("http://site1.example/img2", "", "img", False, None),
        ("http://site1.example/hint", "hint", "a", False, None),
    ]
    # That canonical, the bare <a href> and the bare <area href>: empty hrefs, skipped.
    assert result.n_skipped_links == 3


def test_a_canonical_or_base_without_a_value_is_skipped_or_ignored() -> None:
    result = extract_html(PAGE, body('<a href="x">x</a>',
                                     head="<base href><link rel=canonical href>"))
    assert result.canonical is None and result.n_skipped_links == 1
    assert rows(result, "dst_url") == [("http://site1.example/dir/x",)]


# ---------------------------------------------------------------------------
# Meta refresh (kind `refresh`)
# ---------------------------------------------------------------------------


def test_meta_refresh_is_an_edge_after_the_canonical() -> None:
    result = extract_html(PAGE, body(
        '<a href="/p/1">one</a>',
        head='<link rel="canonical" href="/p/3">'
             '<meta http-equiv="refresh" content="0; url=/next">'))
    assert rows(result, "dst_url", "kind", "position", "ordinal", "anchor", "alt", "nofollow",
                "external") == [
        ("http://site1.example/p/3", "canonical", None, 0, "", None, False, False),
        ("http://site1.example/next", "refresh", None, 1, "", None, False, False),
        ("http://site1.example/p/1", "a", "content", 2, "one", None, False, False),
    ]


@pytest.mark.parametrize(("content", "target"), [
    ("0; url=/next", "http://site1.example/next"),
    ("0;URL=/next", "http://site1.example/next"),
    ("5 ;URL = 'http://far.example/r'", "http://far.example/r"),
    ('3, url="../up?a=1"tail', "http://site1.example/up?a=1"),
    ("0; /bare", "http://site1.example/bare"),
    ("1.5 other.html", "http://site1.example/dir/other.html"),
    (".5; url=x", "http://site1.example/dir/x"),
    ("0; urlx", "http://site1.example/dir/urlx"),  # not url=: the rest is the URL
    ("0; url /spaced", "http://site1.example/dir/url%20/spaced"),
    ("  7  ", None),  # no URL: the page refreshes itself, no edge
    ("0; url=", None),
])
def test_meta_refresh_content_parsing(content: str, target: str | None) -> None:
    head = f'<meta http-equiv="Refresh" content="{escape(content)}">'
    result = extract_html(PAGE, body("", head=head))
    assert rows(result, "dst_url", "kind") == ([(target, "refresh")] if target else [])
    assert result.n_skipped_links == 0


def test_meta_refresh_that_does_not_parse_leaves_the_next_one() -> None:
    result = extract_html(PAGE, body("", head=(
        '<meta http-equiv="refresh">'  # no content
        '<meta http-equiv="refresh" content="soon; url=/a">'  # no delay
        '<meta http-equiv="refresh" content="5x">'
        '<meta http-equiv="refresh" content="2; url=/b">'
        '<meta http-equiv="refresh" content="0; url=/c">')))  # only the first that parses
    assert rows(result, "dst_url", "kind") == [("http://site1.example/b", "refresh")]


def test_meta_refresh_skipped_targets_and_other_http_equiv() -> None:
    result = extract_html(PAGE, body("", head=(
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'
        '<meta http-equiv="refresh" content="0;url=/ignored">')))  # the first one counted
    assert result.n_links == 0 and result.n_skipped_links == 1
    result = extract_html(PAGE, body("", head=(
        '<meta http-equiv="content-type" content="0; url=/no">'
        '<meta http-equiv=" refresh" content="0; url=/no">'  # not the keyword
        '<meta name="refresh" content="0; url=/no">')))
    assert result.n_links == 0 and result.n_skipped_links == 0


def test_meta_refresh_resolves_against_the_base_and_anywhere_in_the_page() -> None:
    result = extract_html(PAGE, body('<p><meta http-equiv="refresh" content="1;url=r"></p>',
                                     head='<base href="http://cdn.example/b/">'))
    assert rows(result, "dst_url", "kind", "external") == [
        ("http://cdn.example/b/r", "refresh", True)]


def test_meta_refresh_is_followed_unless_nofollow() -> None:
    from datetime import UTC, datetime

    from core.pages import page_rows

    def follow(head: str) -> list[str]:
        return page_rows("c", PAGE, depth=0, fetched_at=datetime.now(UTC),
                         status=200, body=body("", head=head).encode(),
                         content_type="text/html").follow

    refresh = '<meta http-equiv="refresh" content="0; url=/next">'
    assert follow(refresh) == ["http://site1.example/next"]
    assert follow(refresh + '<meta name="robots" content="nofollow">') == []
