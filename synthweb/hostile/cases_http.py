"""Hostile HTTP: charsets, content types, statuses, headers, framing, compression,
slow and broken connections, and responses over the size limit."""

from __future__ import annotations

from collections.abc import Callable

from synthweb.hostile.corpus import ANY, OUT, SOME, Case, Expect, a, case_url, once, whole
from synthweb.hostile.steps import (
    HTML,
    Drip,
    Pause,
    Reply,
    Reset,
    Send,
    chunked,
    deflated_raw,
    gzip_bomb,
    gzipped,
    head,
    http,
    page,
)

MIB = 1 << 20
MAXSIZE = 10 * MIB  # DOWNLOAD_MAXSIZE, the crawl's default (README: "over 10 MB")
CAFE = "Caf\u00e9"
PRIVET = "\u041f\u0440\u0438\u0432\u0435\u0442"


def _doc(case_id: str, link: str = "l") -> bytes:
    """A small page titled `case_id` with one link out of scope."""
    return page(case_id, f'<a href="{OUT}/{case_id}/{link}">link</a>')


def _ok(case_id: str) -> tuple[tuple[str, str], ...]:
    return (a(f"{OUT}/{case_id}/l"),)


def _case(case_id: str, category: str, what: str, steps: Reply | Callable[[], Reply],
          expect: Expect) -> Case:
    """A case whose reply is `steps` (or a function making them, called once)."""
    reply = steps if callable(steps) else once(lambda: steps)
    return Case(case_id, category, what, case_url(case_id), reply, expect)


def _whole(case_id: str, category: str, what: str, data: object, expect: Expect,
           warc: bool = True) -> Case:
    """A case whose reply is one whole, well-framed response (`data`: bytes or a
    function making them)."""
    make = data if callable(data) else (lambda: data)
    return Case(case_id, category, what, case_url(case_id), whole(make),  # type: ignore[arg-type]
                expect, warc=warc)


def _charset_page(title: str, charset_meta: str | None, case_id: str) -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return (f"<!DOCTYPE html><html><head>{meta}<title>{title}</title></head><body>"
            f'<a href="{OUT}/{case_id}/l">link</a></body></html>')


def charset_cases() -> list[Case]:
    c = "charset"
    return [
        _whole("charset-bogus", c, "HTTP charset that names no encoding (UTF-8 body)",
               http(_charset_page(CAFE, None, "charset-bogus").encode(),
                    content_type="text/html; charset=x-no-such-charset"),
               Expect(title=CAFE, links=_ok("charset-bogus"))),
        _whole("charset-conflict", c, "HTTP says iso-8859-1, <meta> says utf-8, body is UTF-8 "
               "(the HTTP charset wins)",
               http(_charset_page(CAFE, "utf-8", "charset-conflict").encode(),
                    content_type="text/html; charset=iso-8859-1"),
               Expect(title="Caf\u00c3\u00a9", links=_ok("charset-conflict"))),
        _whole("charset-meta-only", c, "no HTTP charset, <meta charset=windows-1251>",
               http(_charset_page(PRIVET, "windows-1251", "charset-meta-only").encode("cp1251"),
                    content_type="text/html"),
               Expect(title=PRIVET, links=_ok("charset-meta-only"))),
        _whole("charset-bom-vs-header", c, "UTF-8 BOM, HTTP charset iso-8859-1 (the BOM wins)",
               http(b"\xef\xbb\xbf" + _charset_page(CAFE, None, "charset-bom-vs-header").encode(),
                    content_type="text/html; charset=iso-8859-1"),
               Expect(title=CAFE, links=_ok("charset-bom-vs-header"))),
        _whole("utf16le-bom", c, "UTF-16LE with a BOM, no charset anywhere",
               http(b"\xff\xfe" + _charset_page(CAFE, None, "utf16le-bom").encode("utf-16-le"),
                    content_type="text/html"),
               Expect(title=CAFE, links=_ok("utf16le-bom"))),
        _whole("utf16be-bom", c, "UTF-16BE with a BOM, no charset anywhere",
               http(b"\xfe\xff" + _charset_page(CAFE, None, "utf16be-bom").encode("utf-16-be"),
                    content_type="text/html"),
               Expect(title=CAFE, links=_ok("utf16be-bom"))),
        _whole("utf16-header", c, "UTF-16LE without a BOM, HTTP charset=utf-16le",
               http(_charset_page(CAFE, None, "utf16-header").encode("utf-16-le"),
                    content_type="text/html; charset=utf-16le"),
               Expect(title=CAFE, links=_ok("utf16-header"))),
        _whole("utf16-undeclared", c, "UTF-16LE with no BOM and no charset (found by "
               "detection, as Scrapy decodes)",
               http(_charset_page(CAFE, None, "utf16-undeclared").encode("utf-16-le"),
                    content_type="text/html"),
               Expect(title=CAFE, links=_ok("utf16-undeclared"))),
        _whole("utf8-invalid-bytes", c, "HTTP charset=utf-8 with invalid UTF-8 bytes",
               http(b"<!DOCTYPE html><title>bad\xff\xfebytes</title>"
                    + f'<a href="{OUT}/utf8-invalid-bytes/l">\xff</a>'.encode()),
               Expect(title="bad\ufffd\ufffdbytes", links=_ok("utf8-invalid-bytes"))),
    ]


def content_type_cases() -> list[Case]:
    c = "content-type"
    return [
        _whole("no-content-type", c, "HTML without a Content-Type header (not parsed)",
               http(_doc("no-content-type"), content_type=None),
               Expect(content_type=None, links=())),
        _whole("empty-content-type", c, "an empty Content-Type header (not parsed)",
               http(_doc("empty-content-type"), content_type=""),
               Expect(content_type=None, links=())),
        _whole("content-type-case", c, "TEXT/HTML; CHARSET=UTF-8 (parsed; stored lower case)",
               http(_doc("content-type-case"), content_type="TEXT/HTML; CHARSET=UTF-8"),
               Expect(title="content-type-case", links=_ok("content-type-case"))),
        _whole("content-type-junk", c, "text/html with junk parameters",
               http(_doc("content-type-junk"), content_type="text/html;;; charset=utf-8; x"),
               Expect(title="content-type-junk", links=_ok("content-type-junk"))),
        _whole("xhtml", c, "application/xhtml+xml with an XML declaration (parsed)",
               http(b'<?xml version="1.0" encoding="utf-8"?>\n' + _doc("xhtml"),
                    content_type="application/xhtml+xml"),
               Expect(content_type="application/xhtml+xml", title="xhtml", links=_ok("xhtml"))),
        _whole("html-as-text", c, "HTML served as text/plain (not parsed)",
               http(_doc("html-as-text"), content_type="text/plain"),
               Expect(content_type="text/plain", links=())),
        _whole("html-as-image", c, "HTML served as image/png (not parsed)",
               http(_doc("html-as-image"), content_type="image/png"),
               Expect(content_type="image/png", links=())),
        _whole("content-type-twice", c, "two Content-Type headers, text/plain then text/html "
               "(the last counts, as in Scrapy)",
               http(_doc("content-type-twice"), content_type="text/plain",
                    headers=[("Content-Type", "text/html")]),
               Expect(title="content-type-twice", links=_ok("content-type-twice"))),
    ]


def status_cases() -> list[Case]:
    c = "status"
    return [
        _whole("status-204", c, "204 with a body (a 204 has none)",
               http(_doc("status-204"), "204 No Content"), Expect(status=204, links=())),
        _whole("status-299", c, "an unknown 2xx status (links extracted)",
               http(_doc("status-299"), "299 Fine"),
               Expect(status=299, title="status-299", links=_ok("status-299"))),
        _whole("status-999", c, "status 999 with an HTML body (no links)",
               http(_doc("status-999"), "999 Odd"), Expect(status=999, links=())),
        _whole("status-garbage", c, "a status line whose code is not a number",
               b"HTTP/1.1 abc Nope\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
               + _doc("status-garbage"),
               Expect(status=None, error="connection:", content_type=None, links=()),
               warc=False),
        _whole("http09", c, "no status line at all (an HTTP/0.9-style bare body)",
               _doc("http09"), Expect(status=None, error="connection:", content_type=None,
                                      links=()), warc=False),
        _whole("status-100-first", c, "an interim 100 Continue before the 200",
               b"HTTP/1.1 100 Continue\r\n\r\n" + http(_doc("status-100-first")),
               Expect(title="status-100-first", links=_ok("status-100-first")), warc=False),
    ]


def header_cases() -> list[Case]:
    c = "headers"
    return [
        _whole("header-64kb", c, "one 64 KB header line",
               http(_doc("header-64kb"), headers=[("X-Junk", "j" * 65536)]),
               Expect(status=None, error="connection:", content_type=None, links=()),
               warc=False),
        _whole("header-many", c, "5,000 headers",
               http(_doc("header-many"), headers=[(f"X-H{i}", "v") for i in range(5000)]),
               Expect(title="header-many", links=_ok("header-many"))),
        _whole("header-no-colon", c, "a header line without a colon (ignored)",
               head("200 OK", [("Content-Type", HTML)])[:-2] + b"NotAHeader\r\nConnection: "
               b"close\r\n\r\n" + _doc("header-no-colon"),
               Expect(title="header-no-colon", links=_ok("header-no-colon")), warc=False),
        _whole("header-nul", c, "a NUL byte inside a header value",
               http(_doc("header-nul"), headers=[("X-Nul", b"a\x00b")]),
               Expect(title="header-nul", links=_ok("header-nul"))),
        _whole("header-obs-fold", c, "an obsolete folded header continuation line",
               head("200 OK", [("Content-Type", HTML)])[:-2] + b"X-Folded: a\r\n b\r\n"
               b"Connection: close\r\n\r\n" + _doc("header-obs-fold"),
               Expect(title="header-obs-fold", links=_ok("header-obs-fold")), warc=False),
    ]


def framing_cases() -> list[Case]:
    c = "framing"
    body = _doc  # each case's own small page

    def half(case_id: str) -> bytes:
        data = body(case_id)
        return data[: len(data) // 2]

    return [
        _case("cl-short", c, "Content-Length shorter than the body (the body is cut there)",
              [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length", "140"),
                                    ("Connection", "close")])
                    + f'<!DOCTYPE html><title>cl-short</title><a href="{OUT}/cl-short/in">'
                      f'in</a><!-- padding to byte 140 ---------------------------> '
                      f'<a href="{OUT}/cl-short/beyond">beyond</a>'.encode())],
              Expect(title="cl-short", links=(a(f"{OUT}/cl-short/in"),))),
        _case("cl-long", c, "Content-Length longer than the body, then the connection closes",
              [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length", "100000"),
                                    ("Connection", "close")]) + body("cl-long"))],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("cl-invalid", c, "Content-Length: abc",
              [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length", "abc"),
                                    ("Connection", "close")]) + body("cl-invalid"))],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("cl-conflict", c, "two different Content-Length headers",
              [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length", "10"),
                                    ("Content-Length", "2000"), ("Connection", "close")])
                    + body("cl-conflict"))],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("cl-negative", c, "Content-Length: -5",
              [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length", "-5"),
                                    ("Connection", "close")]) + body("cl-negative"))],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("chunked-bad-size", c, "a chunk size that is not hex",
              [Send(head("200 OK", [("Content-Type", HTML), ("Transfer-Encoding", "chunked"),
                                    ("Connection", "close")]) + b"zz\r\n" + body("x") + b"\r\n")],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("chunked-truncated", c, "a chunk announced 4096 bytes long, 40 sent, then close",
              [Send(head("200 OK", [("Content-Type", HTML), ("Transfer-Encoding", "chunked"),
                                    ("Connection", "close")]) + b"1000\r\n" + body("x")[:40])],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("chunked-no-end", c, "chunks without the last-chunk, then close",
              [Send(head("200 OK", [("Content-Type", HTML), ("Transfer-Encoding", "chunked"),
                                    ("Connection", "close")])
                    + chunked(body("chunked-no-end"), 50)[: -len(b"0\r\n\r\n")])],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("chunked-huge-size", c, "a chunk size of 2^80, then close",
              [Send(head("200 OK", [("Content-Type", HTML), ("Transfer-Encoding", "chunked"),
                                    ("Connection", "close")]) + b"100000000000000000000\r\n"
                    + body("x"))],
              Expect(status=None, error="connection:", content_type=None, links=())),
        _whole("chunked-extensions", c, "valid chunked body with chunk extensions and trailers",
               head("200 OK", [("Content-Type", HTML), ("Transfer-Encoding", "chunked"),
                               ("Connection", "close")])
               + b"".join(b"%x;ext=1;q=\"x\"\r\n%s\r\n" % (len(p), p) for p in
                          (body("chunked-extensions")[:30], body("chunked-extensions")[30:]))
               + b"0\r\nX-Trailer: t\r\n\r\n",
               Expect(title="chunked-extensions", links=_ok("chunked-extensions"))),
        _whole("chunked-and-length", c, "chunked and a wrong Content-Length (chunked wins)",
               head("200 OK", [("Content-Type", HTML), ("Content-Length", "7"),
                               ("Transfer-Encoding", "chunked"), ("Connection", "close")])
               + chunked(body("chunked-and-length"), 16),
               Expect(title="chunked-and-length", links=_ok("chunked-and-length"))),
        _case("close-delimited", c, "no Content-Length, no chunking: the body ends at close",
              [Send(head("200 OK", [("Content-Type", HTML), ("Connection", "close")])
                    + body("close-delimited"))],
              Expect(title="close-delimited", links=_ok("close-delimited"))),
        _case("close-before-response", c, "the connection closes before any response",
              [], Expect(status=None, error="connection:", content_type=None, links=())),
        _case("reset-before-response", c, "TCP reset before any response",
              [Reset()], Expect(status=None, error="connection:", content_type=None, links=())),
        _case("reset-mid-body", c, "TCP reset after half the body (Content-Length given)",
              once(lambda: [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length",
                                                  str(len(body("reset-mid-body")))),
                                                 ("Connection", "close")])
                                 + half("reset-mid-body")), Reset()]),
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("close-mid-body", c, "FIN after half the body (Content-Length given)",
              once(lambda: [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length",
                                                  str(len(body("close-mid-body")))),
                                                 ("Connection", "close")])
                                 + half("close-mid-body"))]),
              Expect(status=None, error="connection:", content_type=None, links=())),
        _case("reset-mid-chunked", c, "TCP reset in the middle of a chunked body",
              once(lambda: [Send(head("200 OK", [("Content-Type", HTML),
                                                 ("Transfer-Encoding", "chunked")])
                                 + chunked(body("reset-mid-chunked"), 20)[:60]), Reset()]),
              Expect(status=None, error="connection:", content_type=None, links=())),
    ]


def slow_cases() -> list[Case]:
    c = "slow"
    return [
        _case("slow-body", c, "slow-loris body: one byte a second (until the timeout)",
              [Send(head("200 OK", [("Content-Type", HTML), ("Content-Length", "100000")])),
               Drip(b"<" * 60, 1.0)],
              Expect(status=None, error="timeout:", content_type=None, links=())),
        _case("slow-head", c, "slow-loris head: the status line one byte a second",
              [Drip(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: "
                    + b"s" * 60, 1.0)],
              Expect(status=None, error="timeout:", content_type=None, links=())),
        _case("hang", c, "accepts the request and never answers",
              [Pause(20)], Expect(status=None, error="timeout:", content_type=None, links=())),
        _case("trickle", c, "the page in ten pieces 30 ms apart (well within the timeout)",
              once(lambda: [
                  step for piece in _pieces(http(_doc("trickle")), 10)
                  for step in (Send(piece), Pause(0.03))]),
              Expect(title="trickle", links=_ok("trickle"))),
    ]


def _pieces(data: bytes, n: int) -> list[bytes]:
    size = -(-len(data) // n)
    return [data[i:i + size] for i in range(0, len(data), size)]


def _truncatable(case_id: str) -> bytes:
    """A page with a link, 40 KB of text that compresses poorly, then a second link."""
    state, letters = 1, []
    for _ in range(40_000):
        state = (state * 1103515245 + 12345) % (1 << 31)
        letters.append("abcdefghijklmnopqrstuvwxyz "[state % 27])
    return page(case_id, f'<a href="{OUT}/{case_id}/first">1</a><p>{"".join(letters)}</p>'
                         f'<a href="{OUT}/{case_id}/second">2</a>')


def encoding_cases() -> list[Case]:
    c = "content-encoding"
    return [
        _whole("gzip-ok", c, "a gzipped page",
               http(gzipped(_doc("gzip-ok")), headers=[("Content-Encoding", "gzip")]),
               Expect(title="gzip-ok", links=_ok("gzip-ok"))),
        _whole("gzip-double", c, "Content-Encoding: gzip, gzip (applied twice)",
               http(gzipped(gzipped(_doc("gzip-double"))),
                    headers=[("Content-Encoding", "gzip, gzip")]),
               Expect(title="gzip-double", links=_ok("gzip-double"))),
        _whole("deflate-raw", c, "deflate without its zlib header",
               http(deflated_raw(_doc("deflate-raw")), headers=[("Content-Encoding", "deflate")]),
               Expect(title="deflate-raw", links=_ok("deflate-raw"))),
        _whole("gzip-garbage", c, "Content-Encoding: gzip on a body that is not gzip "
               "(an error of no fixed kind: the body cannot be decoded)",
               http(_doc("gzip-garbage"), headers=[("Content-Encoding", "gzip")]),
               Expect(status=ANY, error=SOME, content_type=ANY, links=()), warc=False),
        _whole("gzip-truncated", c, "a gzip stream cut in the middle (what it holds is "
               "read, as browsers do)",
               http(gzipped(_truncatable("gzip-truncated"))[:4000],
                    headers=[("Content-Encoding", "gzip")]),
               Expect(title="gzip-truncated", links=(a(f"{OUT}/gzip-truncated/first"),)),
               warc=False),
        _whole("encoding-unknown", c, "Content-Encoding: x-custom (not decodable: kept as is)",
               http(_doc("encoding-unknown"), headers=[("Content-Encoding", "x-custom")]),
               Expect(title="encoding-unknown", links=_ok("encoding-unknown"))),
    ]


def size_cases() -> list[Case]:
    c = "size"
    filler = "lorem ipsum " * ((MAXSIZE - MIB // 2) // 12)
    return [
        _whole("gzip-bomb", c, "a gzip bomb: 64 KB that decompresses to 64 MiB "
               "(over DOWNLOAD_MAXSIZE)",
               lambda: http(gzip_bomb(64 * MIB), headers=[("Content-Encoding", "gzip")]),
               Expect(status=200, error="too large:", content_type=ANY, links=()), warc=False),
        _whole("too-large-length", c, "an 11 MiB page with its Content-Length",
               lambda: http(page("too-large-length", f'<a href="{OUT}/big">b</a>'
                                 + "x" * (11 * MIB))),
               Expect(status=None, error="too large:", content_type=None, links=()),
               warc=False),
        _case("too-large-chunked", c, "an 11 MiB chunked page (no Content-Length)",
              once(lambda: [Send(head("200 OK", [("Content-Type", HTML),
                                                 ("Transfer-Encoding", "chunked")])
                                 + chunked(page("too-large-chunked", "y" * (11 * MIB)),
                                           1 << 16))]),
              Expect(status=None, error="too large:", content_type=None, links=())),
        _whole("under-the-limit", c, "a 9.5 MiB page whose last link is at its very end",
               lambda: http(page("under-the-limit", f'<a href="{OUT}/first">f</a><p>{filler}'
                                 f'</p><a href="{OUT}/last">l</a>')),
               Expect(title="under-the-limit", links=(a(f"{OUT}/first"), a(f"{OUT}/last")))),
    ]


def cases() -> list[Case]:
    return (charset_cases() + content_type_cases() + status_cases() + header_cases()
            + framing_cases() + slow_cases() + encoding_cases() + size_cases())
