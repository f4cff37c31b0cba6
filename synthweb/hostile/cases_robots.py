"""Hostile robots.txt files, each on its own host: huge, garbage, 5xx, redirect loops,
timeouts, resets, an absurd Crawl-delay. Expected outcomes follow RFC 9309: a 4xx or
unparsable file allows everything; a 5xx or an unreachable file (timeout, reset) means
complete disallow; at least the first 500 KiB are parsed; at least five redirects are
followed, and a file not reached after them counts as unavailable (allow all)."""

from __future__ import annotations

from collections.abc import Callable

from synthweb.hostile.corpus import Case, Expect, case_url, once, whole
from synthweb.hostile.steps import Drip, Reply, Reset, Send, head, http, page, redirect

MIB = 1 << 20
TEXT = "text/plain"
DISALLOWED, FETCHED = True, False


def _robots(data: bytes, status: str = "200 OK", content_type: str = TEXT) -> Callable[[], Reply]:
    return whole(lambda: http(data, status, content_type))


def _page(case_id: str, host: str, path: str, what: str, robots: Callable[[], Reply] | None,
          disallowed: bool | str) -> Case:
    """A page on `host` whose robots.txt is `robots`: not fetched when `disallowed` (a
    `robots:` row, or a row of the given error kind when robots.txt could not be
    downloaded), else fetched."""
    title = f"{host} {path}"
    error = disallowed if isinstance(disallowed, str) else "robots:"
    expect = (Expect(status=None, error=error, content_type=None, links=()) if disallowed
              else Expect(title=title, links=()))
    return Case(case_id, "robots", what, case_url(host, path),
                whole(lambda: http(page(title, "<p>robots case</p>"))), expect, robots=robots)


def _huge(size: int) -> bytes:
    rules = b"User-agent: *\nDisallow: /blocked\n"
    line = b"# " + b"-" * 60 + b"\n"
    return rules + line * (size // len(line))


def cases() -> list[Case]:
    out: list[Case] = []

    def pair(host: str, what: str, robots: Callable[[], Reply] | None) -> None:
        """/blocked (disallowed by the file) and /open (allowed) on one host."""
        out.append(_page(host, host, "/blocked", f"{what}: a disallowed page", robots,
                         DISALLOWED))
        out.append(_page(f"{host}-open", host, "/open", f"{what}: an allowed page", robots,
                         FETCHED))

    out.append(_page("robots-500", "robots-500", "/page",
                     "robots.txt answers 500 (RFC 9309: complete disallow)",
                     _robots(b"oops\n", "500 Internal Server Error"), DISALLOWED))
    out.append(_page("robots-garbage", "robots-garbage", "/page",
                     "robots.txt is 4 KB of binary garbage (no rules: allow all)",
                     _robots(bytes((i * 31 + 7) % 256 for i in range(4096))), FETCHED))
    pair("robots-huge", "an 11 MiB robots.txt (over DOWNLOAD_MAXSIZE), rules at the top",
         _robots(_huge(11 * MIB)))
    pair("robots-big", "a 3 MiB robots.txt, rules at the top", _robots(_huge(3 * MIB)))
    out.append(_page("robots-redirect-loop", "robots-redirect-loop", "/page",
                     "robots.txt redirects in a loop (unavailable: allow all)",
                     whole(lambda: redirect("/robots.txt?again")), FETCHED))
    out.append(Case("robots-redirect-loop again", "aux", "robots-redirect-loop's second hop",
                    case_url("robots-redirect-loop", "/robots.txt?again"),
                    whole(lambda: redirect("/robots.txt")), Expect(row=False),
                    linked=False, aux=True))
    pair("robots-redirect", "robots.txt redirects once to the real file",
         whole(lambda: redirect("/real-robots.txt", "301 Moved Permanently")))
    out.append(Case("robots-redirect file", "aux", "the file robots-redirect redirects to",
                    case_url("robots-redirect", "/real-robots.txt"),
                    _robots(b"User-agent: *\nDisallow: /blocked\n"), Expect(row=False),
                    linked=False, aux=True))
    out.append(_page("robots-timeout", "robots-timeout", "/page",
                     "robots.txt drips one byte a second (unreachable: nothing fetched, "
                     "the row names the failure)",
                     once(lambda: [Send(head("200 OK", [("Content-Type", TEXT)])),
                                   Drip(b"#" * 60, 1.0)]), "timeout:"))
    out.append(_page("robots-reset", "robots-reset", "/page",
                     "robots.txt connection reset (unreachable: nothing fetched, the row "
                     "names the failure)",
                     once(lambda: [Reset()]), "connection:"))
    out.append(_page("robots-crawl-delay", "robots-crawl-delay", "/page",
                     "Crawl-delay: 100000000 (local mode: Scrapy ignores Crawl-delay)",
                     _robots(b"User-agent: *\nCrawl-delay: 100000000\n"), FETCHED))
    out.append(_page("robots-our-agent", "robots-our-agent", "/page",
                     "Disallow: / for linkindex-bot only",
                     _robots(b"User-agent: other-bot\nAllow: /\n\n"
                             b"User-agent: linkindex-bot\nDisallow: /\n"), DISALLOWED))
    out.append(_page("robots-404", "robots-404", "/page", "robots.txt is 404 (allow all)",
                     _robots(b"not found\n", "404 Not Found"), FETCHED))
    pair("robots-bom", "robots.txt starting with a UTF-8 BOM",
         _robots(b"\xef\xbb\xbfUser-agent: *\nDisallow: /blocked\n"))
    out.append(_page("robots-soft-404", "robots-soft-404", "/page",
                     "robots.txt is an HTML page (no rules: allow all)",
                     _robots(page("Not here", "<p>Disallow: /page</p>"), content_type="text/html"),
                     FETCHED))
    return out
