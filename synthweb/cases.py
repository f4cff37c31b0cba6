"""Special cases on site0.example: the registry and the helpers the cases share.

What real pages contain, one case per page: :mod:`synthweb.cases_markup` (how links are
written) and :mod:`synthweb.cases_http` (statuses, redirects, robots, content types,
charsets) register themselves here. Each case states its expected edges by hand
(target, anchor, position) next to the markup it writes; site0's home page links to
every case marked ``linked``.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from synthweb.truth import Doc, Page, plain_page

S0 = "http://site0.example"
Builder = Callable[[str], Page]
# path (normalised) -> (builder, what it tests, linked from site0's home)
CASES: dict[str, tuple[Builder, str, bool]] = {}


def case(path: str, what: str, linked: bool = True) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        CASES[path] = (fn, what, linked)
        return fn

    return register


def p_url(i: int, host: str = "site0.example") -> str:
    return f"http://{host}/p/{i}"


def start_doc(url: str, title: str | None, *, lang: str | None = "en", head: str = "",
           base: str | None = None, charset: str = '<meta charset="utf-8">',
           title_html: str | None = None, body: bool = True) -> Doc:
    """Doctype, html, head (title, ``head`` markup) and, unless ``body`` is False, <body>."""
    d = Doc(url, base)
    d.title, d.lang = title, lang
    d.raw("<!DOCTYPE html>\n<html", f' lang="{lang}"' if lang else "", ">\n<head>\n", charset)
    if title is not None:
        d.raw(f"\n<title>{title_html or escape(title)}</title>")
    d.raw("\n", head)
    if body:
        d.raw("</head>\n<body>\n")
    return d


def end_doc(d: Doc, **finish: object) -> Page:
    d.raw("</body>\n</html>\n")
    return d.finish(**finish)  # type: ignore[arg-type]


def simple_page(url: str, title: str, links: list[tuple[str, str, str]], **finish: object) -> Page:
    """A page of plain (href, expected target, anchor) links inside <main>."""
    d = start_doc(url, title)
    with d.section("<main>\n", "</main>\n", "content"):
        for href, dst, anchor in links:
            d.raw("<p>")
            d.a(href, dst, anchor)
            d.raw("</p>\n")
    return end_doc(d, **finish)


def home_section(d: Doc) -> None:
    """The list of cases on site0's home page, plus the two special hosts."""
    d.raw('<h2>Test cases</h2>\n<ul class="case-list">\n')
    for path in [*(p for p, (_, _, linked) in CASES.items() if linked), "/case/missing"]:
        d.raw("<li>")
        d.fast_a(path, S0 + path, "Case " + path[6:])
        d.raw("</li>\n")
    d.raw("</ul>\n<p>")
    d.fast_a("http://blog.site1.example/", "http://blog.site1.example/", "Our blog")
    d.raw(" and ")
    d.fast_a("http://bücher.example/", "http://xn--bcher-kva.example/", "Bücher")
    d.raw("</p>\n")


def not_found(url: str) -> Page:
    # A link in the body: 4xx bodies must give no edges.
    body = b'<!DOCTYPE html>\n<h1>404 Not Found</h1>\n<p><a href="/">Home</a></p>\n'
    return plain_page(url, 404, "text/html; charset=utf-8", body)


def dead_end(url: str, path: str) -> Page:
    """/private/ (robots.txt) and /hidden/ (meta nofollow) pages: a correct crawl never
    fetches them, so one that does shows up in the pages it records."""
    title = "Members only" if path.startswith("/private/") else "Hidden page"
    return simple_page(url, title, [("/", url[: url.index("/", 7) + 1], "Home")])
