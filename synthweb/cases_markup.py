"""Special cases about how links are written: rel, positions, images, areas, bases,
URL syntax, skipped hrefs, whitespace and entities, duplicates, hosts, long text."""

from __future__ import annotations

from synthweb.cases import S0, case, end_doc, p_url, simple_page, start_doc
from synthweb.truth import Page


@case("/case/rel", "rel nofollow/ugc/sponsored: combined, upper-case, odd whitespace")
def _rel(url: str) -> Page:
    d = start_doc(url, "Case: rel attributes")
    rels = [("nofollow", "Nofollow link"), ("UGC Nofollow", "User comment link"),
            ("sponsored noopener", "Sponsored link"), ("noopener noreferrer", "Plain rel link"),
            (" NOFOLLOW\n\tugc  SPONSORED ", "All three flags"), ("external", "External rel")]
    with d.section("<main>\n", "</main>\n", "content"):
        for i, (rel, text) in enumerate(rels, 1):
            d.raw("<p>")
            d.a(f"/p/{i}", p_url(i), text, rel=rel)
            d.raw("</p>\n")
    return end_doc(d)


_LANDMARKS = [  # (attributes of a <div>, the position it gives, anchor)
    ('role="navigation"', "nav", "Role navigation"),
    ('role="banner"', "header", "Role banner"),
    ('role="contentinfo"', "footer", "Role contentinfo"),
    ('role="complementary"', "aside", "Role complementary"),
    ('role="main"', "content", "Role main"),
    ('class="site-footer"', "footer", "Class site-footer"),
    ('id="sidebar"', "aside", "Id sidebar"),
    ('id="Left_SideBar"', "aside", "Id Left_SideBar"),
    ('class="breadcrumbs"', "nav", "Class breadcrumbs"),
    ('class="breadcrumb"', "nav", "Class breadcrumb"),
    ('class="navbar navbar-dark"', "nav", "Class navbar"),
    ('id="main-navigation"', "nav", "Id main-navigation"),
    ('class="menu"', "nav", "Class menu"),
    ('id="masthead"', "header", "Id masthead"),
    ('class="page_header"', "header", "Class page_header"),
    ('class="canvas"', None, "Decoy canvas"),  # tokens must match whole: no "nav" here
    ('class="subheader navigator"', None, "Decoy subheader navigator"),
]


@case("/case/positions", "every position: tags, ARIA roles, class/id hints, nesting, decoys")
def _positions(url: str) -> Page:
    d = start_doc(url, "Case: link positions")
    count = iter(range(1000))

    def ln(text: str) -> None:
        i = next(count) % 8
        d.a(f"/p/{i}", p_url(i), text)

    with d.section("<header>\n", "</header>\n", "header"):
        ln("In header")
    with d.section("<nav>\n", "</nav>\n", "nav"):
        ln("In nav")
    with d.section("<main>\n", "</main>\n", "content"):
        ln("In main")
        with d.section("<article>", "</article>\n", "content"):
            ln("In article")
        with d.section('<ul class="nav nav-tabs"><li>', "</li></ul>\n", "nav"):
            ln("Tab in main")
        with d.section('<div class="sidebar-widget">', "</div>\n", "aside"):
            ln("Widget in main")
        with d.section('<div class="canvas">', "</div>\n", None):
            ln("Canvas in main")
    with d.section("<aside>\n", "</aside>\n", "aside"):
        ln("In aside")
        with d.section("<nav>", "</nav>\n", "nav"):
            ln("Nav in aside")
    with d.section("<footer>\n", "</footer>\n", "footer"):
        ln("In footer")
        with d.section('<nav aria-label="Legal">', "</nav>\n", "nav"):
            ln("Nav in footer")
    for attrs, position, text in _LANDMARKS:
        with d.section(f"<div {attrs}>", "</div>\n", position):
            ln(text)
    with d.section('<div class="nav-wrapper"><div class="inner"><p>', "</p></div></div>\n", "nav"):
        ln("Deep in nav-wrapper")
    ln("Outside landmarks")
    return end_doc(d)


@case("/case/images", "image links: alt, empty alt, no alt, text+img, two imgs, icon links")
def _images(url: str) -> Page:
    d = start_doc(url, "Case: image links")
    with d.section("<main>\n", "</main>\n", "content"):
        imgs = [  # (inner html, anchor, alt, kind)
            ('<img src="/img/a.png" alt="Red bicycle">', "Red bicycle", "Red bicycle", "img"),
            (' <img src="/img/b.png" alt=""> ', "", "", "img"),
            ('<img src="/img/c.png">', "", None, "img"),
            ('<img src="/img/d.png" alt="Logo"> Read the story', "Read the story", "Logo", "img"),
            ('<img src="/img/e.png" alt="  First\n  &amp; best "><img src="/img/f.png" '
             'alt="Second">', "First & best", "First & best", "img"),
            ('<span class="icon icon-search"></span>', "", None, "a"),
            ("", "", None, "a"),
            ('<picture><source srcset="/img/g.webp"><img src="/img/g.jpg" alt="Picture alt">'
             "</picture>", "Picture alt", "Picture alt", "img"),
        ]
        for i, (inner, anchor, alt, kind) in enumerate(imgs):
            d.raw("<p>")
            attrs = ' title="Tooltip only" aria-label="Label only"' if i == 6 else ""
            d.a(f"/p/{i}", p_url(i), inner, anchor, kind=kind, alt=alt, attrs=attrs)
            d.raw("</p>\n")
    return end_doc(d)


@case("/case/area", "<area href alt> in a <map>: alt, collapsed alt, no alt, rel, nohref")
def _area(url: str) -> Page:
    d = start_doc(url, "Case: image map")
    with d.section("<main>\n", "</main>\n", "content"):
        d.raw('<img src="/img/map.png" usemap="#regions" alt="Region map">\n<map name="regions">\n')
        d.area("/p/1", p_url(1), 'shape="rect" coords="0,0,50,50" alt="North region"',
               "North region")
        d.area("http://site2.example/p/2", p_url(2, "site2.example"),
               'shape="rect" coords="50,0,99,50" alt="  South\n   region "', "South region")
        d.area("/p/3", p_url(3), 'shape="rect" coords="0,50,50,99"', None)
        d.area("/p/4", p_url(4), 'shape="rect" coords="50,50,99,99" alt="Paid region"',
               "Paid region", rel="sponsored")
        d.raw('<area shape="default" nohref alt="Nowhere">\n</map>\n')
    with d.section("<footer>\n", "</footer>\n", "footer"):
        d.raw('<img src="/img/f.png" usemap="#foot" alt="">\n<map name="foot">')
        d.area("/p/5", p_url(5), 'shape="rect" coords="0,0,9,9" alt="Footer area"', "Footer area")
        d.raw("</map>\n")
    return end_doc(d)


@case("/case/base-dir", "relative <base href> into another directory; a second <base> ignored")
def _base_dir(url: str) -> Page:
    head = '<base href="../p/">\n<base href="/ignored/">\n'
    d = start_doc(url, "Case: base directory", head=head, base=f"{S0}/p/", body=False)
    d.canonical("../case/base-dir", f"{S0}/case/base-dir")
    d.raw("</head>\n<body>\n")
    for href, dst, anchor in [
        ("4", p_url(4), "Page four via base"), ("./5", p_url(5), "Page five via base"),
        ("../", f"{S0}/", "Up to home"), ("../case/rel", f"{S0}/case/rel", "Rel case"),
        ("/case/images", f"{S0}/case/images", "Root-relative ignores base path"),
        ("//site3.example/p/1", p_url(1, "site3.example"), "Protocol-relative"),
        ("?sort=new", f"{S0}/p/?sort=new", "Query against the base"),
        ("#frag", None, "In-page"),
    ]:
        d.a(href, dst, anchor)
        d.raw("\n")
    return end_doc(d)


@case("/case/base-host", "<base href> on another host, after a <base target> without href")
def _base_host(url: str) -> Page:
    head = '<base target="_blank">\n<base href="http://site3.example/p/">\n'
    d = start_doc(url, "Case: base on another host", head=head, base="http://site3.example/p/")
    for href, dst, anchor in [
        ("2", p_url(2, "site3.example"), "Relative to the other host"),
        ("/", "http://site3.example/", "Root of the other host"),
        ("../p/4?from=base", "http://site3.example/p/4?from=base", "With a query"),
        (f"{S0}/case/rel", f"{S0}/case/rel", "Absolute back home"),
        ("//site4.example/", "http://site4.example/", "Protocol-relative"),
    ]:
        d.a(href, dst, anchor)
        d.raw("\n")
    return end_doc(d)


@case("/case/relative", "relative, ../, ./, //, root-relative, absolute, case, ports, fragments")
def _relative(url: str) -> Page:
    d = start_doc(url, "Case: relative links")
    with d.section("<main>\n", "</main>\n", "content"):
        for href, dst, anchor in [
            ("../p/1", p_url(1), "Dot-dot"), ("./images", f"{S0}/case/images", "Dot"),
            ("rel", f"{S0}/case/rel", "Bare relative"), ("../../../p/2", p_url(2), "Above root"),
            ("//site3.example/p/1", p_url(1, "site3.example"), "Protocol-relative"),
            ("/p/3", p_url(3), "Root-relative"),
            ("http://site4.example/p/0", p_url(0, "site4.example"), "Absolute"),
            ("HTTP://Site2.EXAMPLE:80/p/1", p_url(1, "site2.example"), "Upper case, default port"),
            ("http://site2.example:80/p/2", p_url(2, "site2.example"), "Default port"),
            ("http://SITE2.example./p/3", p_url(3, "site2.example"), "Trailing dot"),
            ("/p/1#top", p_url(1), "With fragment"), ("#top", None, "Top"),
            ("?page=2", f"{S0}/case/relative?page=2", "Query only"),
            ("./x/../../p/6", p_url(6), "Dot segments"),
            ("/case/../p/7", p_url(7), "Root dot segments"),
        ]:
            d.raw("<p>")
            d.a(href, dst, anchor)
            d.raw("</p>\n")
        d.a("/p/5", p_url(5), "Unquoted upper-case attribute", raw_href="HREF=/p/5")
    return end_doc(d)


@case("/case/skipped", "javascript:/mailto:/tel:/data:/ftp:, #, empty, unparsable, too long")
def _skipped(url: str) -> Page:
    d = start_doc(url, "Case: skipped hrefs")
    with d.section("<main>\n", "</main>\n", "content"):
        d.raw('<a name="top">Named anchor</a> <a>Placeholder</a>\n')  # no href: not links
        for href in ["javascript:void(0)", " JavaScript:alert(1)", "mailto:info@site0.example",
                     "tel:+15551234567", "data:text/html;base64,PGgxPkhpPC9oMT4=", "#top", "#",
                     "", "  #contact  ", "ftp://files.site0.example/pub/",
                     "http://bad host.example/", "http://site3.example:70000/", "http://[::1",
                     "http://", "/p/1?q=" + "a" * 5000]:
            d.a(href, None, "Skipped")
            d.raw("\n")
        d.a("/p/1", p_url(1), "A real link")
    return end_doc(d)


@case("/case/whitespace", "whitespace, newlines, entities and markup in hrefs, anchors, title")
def _whitespace(url: str) -> Page:
    d = start_doc(url, "Whitespace, entities & more",
               title_html="\n  Whitespace,\n entities &amp;   more ")
    with d.section("<main>\n", "</main>\n", "content"):
        for href, dst, inner, anchor in [
            ("  /p/1?a=1&b=2  ", f"{S0}/p/1?a=1&b=2", "\n  Fish &amp; chips\n  and\tpeas  ",
             "Fish & chips and peas"),
            ("/p/2", p_url(2), "Hello&nbsp;&nbsp;world", "Hello world"),
            ("/p/3", p_url(3), "Read <b>more</b>\n about <em>it</em>", "Read more about it"),
            ("/p/4", p_url(4), "Sign<b>up</b> now", "Signup now"),
            ("/p/5", p_url(5), "Caf&eacute; &#38; cr&#232;me &lt;fresh&gt;",
             "Café & crème <fresh>"),
            ("\n/p/\n6\n", p_url(6), "Wrapped href", "Wrapped href"),
            ("\t/p/7\t", p_url(7), "Tabbed href", "Tabbed href"),
            ("/p/0", p_url(0), "   ", ""),
            ("/p/1", p_url(1), "Tab\u00a0\u00a0stop", "Tab stop"),
        ]:
            d.raw("<p>")
            d.a(href, dst, inner, anchor)
            d.raw("</p>\n")
    return end_doc(d)


@case("/case/duplicate", "the same link several times on a page: one edge each")
def _duplicate(url: str) -> Page:
    d = start_doc(url, "Case: duplicate links")
    with d.section("<nav>\n", "</nav>\n", "nav"):
        d.a("/p/1", p_url(1), "Pricing")
    with d.section("<main>\n", "</main>\n", "content"):
        d.a("/p/1", p_url(1), "Pricing")
        d.a(f"{S0}/p/1", p_url(1), "Pricing")
        d.a("/p/1#plans", p_url(1), "Pricing")
    return end_doc(d)


@case("/case/not-links", "link-like markup that is not a link: script, comment, textarea, ...")
def _not_links(url: str) -> Page:
    head = ('<link rel="stylesheet" href="/static/case.css">\n<link rel="icon" href="/p/7">\n'
            '<link rel="alternate" hreflang="de" href="http://xn--bcher-kva.example/">\n')
    d = start_doc(url, "Case: not links", head=head)
    d.raw("<script>document.write('<a href=\"/p/6\">Scripted</a>');</script>\n",
          '<!-- <a href="/p/5">Commented out</a> -->\n',
          '<textarea><a href="/p/4">In a textarea</a></textarea>\n',
          '<img src="/p/3" alt="Just an image">\n<iframe src="/p/2"></iframe>\n',
          '<form action="/p/2"><button type="submit">Go</button></form>\n',
          '<div data-href="/p/0" onclick="location.href=\'/p/0\'">Clickable div</div>\n',
          '<a name="anchor-only">Anchor only</a>\n')
    d.a("/p/1", p_url(1), "The only link")
    return end_doc(d)


@case("/case/idn", "links to the IDN host written in Unicode (and punycode)")
def _idn(url: str) -> Page:
    idn = "http://xn--bcher-kva.example"
    return simple_page(url, "Case: IDN", [
        ("http://bücher.example/", f"{idn}/", "Bücher"),
        ("http://bücher.example/p/1", f"{idn}/p/1", "Bücher Seite 1"),
        ("http://BÜCHER.example/p/2", f"{idn}/p/2", "Upper-case Unicode host"),
        (f"{idn}/p/3", f"{idn}/p/3", "Punycode"),
        ("//bücher.example/p/4", f"{idn}/p/4", "Protocol-relative Unicode"),
    ])


@case("/case/external", "links to hosts the web does not serve (never fetched in scope)")
def _external(url: str) -> Page:
    return simple_page(url, "Case: external links", [
        ("https://www.wikipedia.org/wiki/X", "https://www.wikipedia.org/wiki/X", "Wikipedia"),
        ("https://de.wikipedia.org/wiki/Bücher", "https://de.wikipedia.org/wiki/B%C3%BCcher",
         "Bücher on Wikipedia"),
        ("http://unknown-host.example/", "http://unknown-host.example/", "Unknown host"),
        ("http://unknown-host.example/path?q=1", "http://unknown-host.example/path?q=1",
         "Unknown host with a query"),
        ("HTTPS://WWW.Example.ORG:443/", "https://www.example.org/", "Example (https)"),
    ])


@case("/case/subdomain", "links to blog.site1.example: another host of site1.example")
def _subdomain(url: str) -> Page:
    return simple_page(url, "Case: subdomain", [
        ("http://blog.site1.example/", "http://blog.site1.example/", "Team blog"),
        ("http://blog.site1.example/p/2", "http://blog.site1.example/p/2", "A blog post"),
        ("http://site1.example/", "http://site1.example/", "Site one"),
    ])


_LONG_WORDS = "lorem-ipsum dolor-sit amet-consectetur adipiscing-elit".split()
LONG_TITLE = " ".join(_LONG_WORDS[i % 4] for i in range(40))  # 549 characters
LONG_ANCHOR = " ".join(_LONG_WORDS[i % 4] for i in range(20))  # 274 characters


@case("/case/long-text", "title over 512 and anchor over 256 characters are capped")
def _long_text(url: str) -> Page:
    d = start_doc(url, LONG_TITLE[:512], title_html=LONG_TITLE.replace(" ", " \n "))
    d.a("/p/1", p_url(1), LONG_ANCHOR.replace(" ", "\n  "), LONG_ANCHOR[:256])
    return end_doc(d)


FORMULA_ANCHORS = ('=HYPERLINK("http://evil.example/","click")', "+1+1", "-2+3", "@SUM(A1:A9)")


@case("/case/formulas", "anchors a spreadsheet would run as formulas (CSV injection)")
def _formulas(url: str) -> Page:
    return simple_page(url, "Case: formula anchors", [
        (f"http://formula.example/{i}", f"http://formula.example/{i}", anchor)
        for i, anchor in enumerate(FORMULA_ANCHORS)
    ])
