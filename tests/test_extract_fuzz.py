"""Extraction never raises (issue 13): `page_rows` on a few thousand random responses.

No hypothesis here: pages come from a small grammar (tags and attributes of every kind
the extractor reads, SVG and MathML, entities, control characters, NUL, lone surrogates,
comments, scripts, meta refresh and charset declarations, base and canonical) with a
fixed seed, as bytes in UTF-8, Latin-1, UTF-16 (with and without a BOM) or invalid
UTF-8, under random Content-Types and statuses. Each must give a row whose link
columns are consistent. A failure prints the seed and index to replay it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from core.extractor import clear_caches, extract_html
from core.pages import extraction_columns, page_rows
from core.schema import ANCHOR_MAX_CHARS, EDGE_LINK_COLUMNS, KINDS, POSITIONS, TITLE_MAX_CHARS

PAGE = "http://fuzz.example/dir/page.html"
SEED = 20261204
N_PAGES = 3000

TAGS = ("a", "area", "img", "base", "link", "meta", "title", "html", "head", "body", "div",
        "p", "span", "nav", "header", "footer", "aside", "main", "article", "ul", "li",
        "table", "tr", "td", "select", "option", "svg", "math", "g", "foreignObject", "map",
        "script", "style", "textarea", "template", "noscript", "b", "i", "font", "frameset",
        "iframe", "plaintext", "xmp", "A", "IMG", "SVG", "x-custom", "a:b", "é", "")
ATTRS = ("href", "xlink:href", "rel", "alt", "class", "id", "role", "lang", "name",
         "content", "http-equiv", "src", "HREF", "Rel", "xml:lang", "foo:href", "=", "\"",
         "a\x00b", "data-x")
VALUES = ("", "/x", "x", "../../up", "//host.example/p", "http://[bad", "http://ünï.example/",
          "https://a.example:8080/q?x=1#f", "javascript:alert(1)", "mailto:a@b", "#top",
          "  /spaced  ", "/%zz", "/" + "l" * 5000, "\x01\x02/ctl", "nofollow ugc",
          "NOFOLLOW\tSponsored", "navigation", "main-menu sidebar", "robots", "noindex, none",
          "refresh", "REFRESH", "0; url=/next", "5;URL='http://r.example/'", "abc; url=/x",
          "0; url=javascript:x", "text/html; charset=utf-16", "&amp;&#0;&#xD800;&#x110000;",
          "\ud800", "\ufeff", "a\nb", "é€😀", '">', "'<", "&nbsp;&NotANamedEntity;")
TEXTS = ("text", " ", "\n\t", "\x00", "\x0b\x0c", "\x7f\x80\x9f", "&amp;", "&#x0;",
         "&#55296;", "&copy", "&lt;a href=x&gt;", "\ud800\udc00", "\udfff", "😀 é",
         "\u00a0\u2028\u3000", "<", ">", "<<>>", "</", "<!", "<!--", "-->", "<![CDATA[x]]>",
         "<?php ?>", "]]>", "\ufffd")
CONTENT_TYPES = ("text/html", "text/html; charset=utf-8", "text/html; charset=iso-8859-1",
                 "text/html; charset=utf-16", "text/html; charset=bogus", "TEXT/HTML",
                 "application/xhtml+xml", "text/plain", "image/png", None, "",
                 "text/html; charset=", "text/html; charset=utf-16le")


def _attribute(rng: random.Random) -> str:
    name = rng.choice(ATTRS)
    form = rng.random()
    if form < 0.15:
        return f" {name}"
    value = rng.choice(VALUES)
    if form < 0.5:
        return f' {name}="{value}"'
    if form < 0.7:
        return f" {name}='{value}'"
    return f" {name}={value.replace(' ', '')}"


LINKS = ('<a href="{v}"{a}>{t}</a>', "<a href={w}{a}>{t}", '<area href="{v}" alt="{t}"{a}>',
         '<link rel="canonical" href="{v}"{a}>', '<link rel=CANONICAL href={w}>',
         '<meta http-equiv="refresh" content="{v}"{a}>', '<base href="{v}"{a}>',
         '<meta name="robots" content="{v}">', '<svg><a xlink:href="{v}"{a}>{t}</a></svg>',
         '<a href="{v}"><img alt="{t}"{a}></a>', '<nav{a}><a href="{v}">{t}</a></nav>')


def _node(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if r < 0.25:
        value = rng.choice(VALUES)
        return rng.choice(LINKS).format(v=value.replace('"', "&quot;"), w=value.replace(" ", ""),
                                        a=_attribute(rng) if rng.random() < 0.5 else "",
                                        t=rng.choice(TEXTS))
    if r < 0.5 or depth > 6:
        return rng.choice(TEXTS)
    if r < 0.45:
        return f"</{rng.choice(TAGS)}>"
    tag = rng.choice(TAGS)
    attrs = "".join(_attribute(rng) for _ in range(rng.randint(0, 4)))
    close = rng.choice((">", ">", ">", "/>", ""))
    inner = "".join(_node(rng, depth + 1) for _ in range(rng.randint(0, 4)))
    end = f"</{tag}>" if rng.random() < 0.7 else ""
    return f"<{tag}{attrs}{close}{inner}{end}"


def random_page(rng: random.Random) -> str:
    head = rng.choice(("", "<!doctype html>", "<!DOCTYPE html PUBLIC '-//x'>", "\ufeff",
                       '<meta charset="utf-16">', "<meta charset=latin1>"))
    return head + "".join(_node(rng, 0) for _ in range(rng.randint(1, 12)))


def random_body(rng: random.Random, text: str) -> bytes:
    encoding = rng.choice(("utf-8", "utf-8", "latin-1", "utf-16", "utf-16-le", "raw"))
    if encoding == "raw":  # invalid UTF-8 and stray bytes
        data = text.encode("utf-8", "surrogatepass")
        return data + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
    return text.encode(encoding, "replace")


def check(rows_page: dict, links: dict) -> None:
    lengths = {name: len(links[name]) for name in EDGE_LINK_COLUMNS}
    assert set(links) == set(EDGE_LINK_COLUMNS)
    n = lengths["dst_url"]
    assert set(lengths.values()) == {n}, lengths
    assert rows_page["n_links"] == n
    assert rows_page["n_external_links"] == sum(links["external"])
    assert links["ordinal"] == list(range(n))
    assert set(links["kind"]) <= set(KINDS)
    assert set(links["position"]) <= {*POSITIONS, None}
    for name in ("dst_url", "dst_host", "dst_domain", "anchor"):
        assert all(isinstance(v, str) for v in links[name]), name
    assert all(url for url in links["dst_url"])
    assert all(len(anchor) <= ANCHOR_MAX_CHARS for anchor in links["anchor"])
    assert all(alt is None or isinstance(alt, str) for alt in links["alt"])
    for name in ("nofollow", "ugc", "sponsored", "external"):
        assert all(isinstance(v, bool) for v in links[name]), name
    for kind, position in zip(links["kind"], links["position"], strict=True):
        assert (position is None) == (kind in ("redirect", "canonical", "refresh")), kind
    title = rows_page.get("title")
    assert title is None or (isinstance(title, str) and len(title) <= TITLE_MAX_CHARS)
    error = rows_page.get("error")
    assert error is None or error.startswith("truncated: ")
    assert rows_page["n_skipped_links"] >= 0


def test_random_pages_give_consistent_rows() -> None:
    rng = random.Random(SEED)
    clear_caches()
    fetched_at = datetime.now(UTC)
    for i in range(N_PAGES):
        text = random_page(rng)
        body = random_body(rng, text)
        status = rng.choice((200, 200, 200, 200, 204, 301, 302, 404, 500, 299))
        location = rng.choice((None, "/moved", "javascript:x", "http://[bad", "//other.example/",
                               rng.choice(VALUES)))
        try:
            result = page_rows("fuzz", PAGE, depth=rng.randint(0, 3), fetched_at=fetched_at,
                               status=status, body=body,
                               content_type=rng.choice(CONTENT_TYPES), location=location,
                               x_robots_tag=rng.choice((None, "noindex", "nofollow, none", "")))
            check(result.page, result.links)
            # And the extractor on the text itself (lone surrogates and all).
            extraction = extract_html(PAGE, text)
            check({**extraction_columns(extraction), "error": None}, extraction.links)
        except Exception as exc:
            raise AssertionError(f"page {i} of seed {SEED}: {body[:300]!r}") from exc
