"""Hostile link targets: redirects (loops, long chains, javascript:, private addresses,
odd Location headers), host names (IDN, invalid punycode, over-long) and URL tricks."""

from __future__ import annotations

from dataclasses import replace

from synthweb.hostile.corpus import ANY, OUT, ZONE, Case, Expect, a, case_url, whole
from synthweb.hostile.steps import http, page, redirect

CHAIN = 25  # hops of the long redirect chain (Scrapy's own redirect limit is 20)
# Private-address spellings of the issue: resolvers and proxies read them as 127.0.0.1,
# 169.254.169.254 (cloud metadata) or other special-purpose addresses.
PRIVATE_SPELLINGS = (
    "2130706433", "0x7f000001", "127.1", "0177.0.0.1", "0x7f.1", "0", "2852039166",
    "[::127.0.0.1]", "[::ffff:0:127.0.0.1]", "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::]",
    "192.0.0.8",
)


def _redirect_case(case_id: str, what: str, location: str | bytes, expect: Expect,
                   body: bytes = b"", category: str = "redirect") -> Case:
    """A whole 302 response with this Location (and body); `expect` its edges."""
    return Case(case_id, category, what, case_url(case_id),
                whole(lambda: redirect(location, body=body)),
                replace(expect, status=302, title=ANY), warc=True)


def _to(url: str) -> Expect:
    """A redirect whose one edge goes to `url`."""
    return Expect(links=((url, "redirect"),), redirect_to=url, n_skipped_links=0)


def _skipped() -> Expect:
    """A redirect whose Location is unusable: no edge, no redirect_to, one skipped."""
    return Expect(links=(), redirect_to=None, n_skipped_links=1)


def redirect_cases() -> list[Case]:
    u = case_url
    chain = [u("redirect-chain", "/" if i == 0 else f"/{i}") for i in range(CHAIN + 1)]
    out = [
        _redirect_case("redirect-loop", "a redirect loop a → b → a",
                       "/b", _to(u("redirect-loop", "/b"))),
        Case("redirect-loop b", "aux", "second step of redirect-loop", u("redirect-loop", "/b"),
             whole(lambda: redirect("/")),
             Expect(status=302, title=None, links=((u("redirect-loop"), "redirect"),),
                    redirect_to=u("redirect-loop")), linked=False, aux=True),
        _redirect_case("redirect-self", "a redirect to itself",
                       u("redirect-self"), _to(u("redirect-self"))),
        _redirect_case("redirect-chain",
                       f"a chain of {CHAIN} redirects, then a page (each hop its own 302 row)",
                       chain[1], _to(chain[1])),
        *[Case(f"redirect-chain {i}", "aux", f"hop {i} of redirect-chain", chain[i],
               whole(lambda i=i: redirect(chain[i + 1])),
               Expect(status=302, links=((chain[i + 1], "redirect"),), redirect_to=chain[i + 1]),
               linked=False, aux=True) for i in range(1, CHAIN)],
        Case("redirect-chain end", "aux", "the page at the end of redirect-chain", chain[CHAIN],
             whole(lambda: http(page("chain end", "<p>end</p>"))),
             Expect(title="chain end"), linked=False, aux=True),
        _redirect_case("redirect-javascript", "Location: javascript:alert(1)",
                       "javascript:alert(1)", _skipped()),
        _redirect_case("redirect-empty-location", "an empty Location header", "", _skipped()),
        Case("redirect-no-location", "redirect", "301 without a Location",
             u("redirect-no-location"), whole(lambda: http(b"", "301 Moved Permanently")),
             Expect(status=301, links=(), redirect_to=None, n_skipped_links=0), warc=True),
        _redirect_case("redirect-relative", "a relative Location climbing above the root",
                       "../../target?x=1", _to(u("redirect-relative", "/target?x=1"))),
        _redirect_case("redirect-protocol-relative", "Location: //other-host/p",
                       f"//redirect-target.{ZONE}/p", _to(f"http://redirect-target.{ZONE}/p")),
        _redirect_case("redirect-utf8-location", "raw UTF-8 bytes and a space in Location",
                       b"/\xc3\xbcber path", _to(u("redirect-utf8-location", "/%C3%BCber%20path"))),
        _redirect_case("redirect-latin1-location", "a raw Latin-1 byte in Location",
                       b"/caf\xe9", _to(u("redirect-latin1-location", "/caf%C3%A9"))),
        _redirect_case("redirect-8k-location", "an 8 KB Location (over the URL cap): skipped",
                       "/" + "l" * 8192, _skipped()),
        Case("redirect-64k-location", "redirect", "a 64 KB Location header line",
             u("redirect-64k-location"), whole(lambda: redirect("/" + "m" * 65536)),
             Expect(status=None, error="connection:", content_type=None, links=())),
        _redirect_case("redirect-with-body", "a 302 whose HTML body has links (not extracted)",
                       f"{OUT}/moved", _to(f"{OUT}/moved"),
                       body=page("moved", f'<a href="{OUT}/in-body">x</a>')),
        Case("redirect-two-locations", "redirect", "two Location headers (the last counts)",
             u("redirect-two-locations"),
             whole(lambda: http(b"", "302 Found", headers=[("Location", f"{OUT}/first"),
                                                           ("Location", f"{OUT}/second")])),
             Expect(status=302, links=((f"{OUT}/second", "redirect"),),
                    redirect_to=f"{OUT}/second"), warc=True),
    ]
    for i, spelling in enumerate(PRIVATE_SPELLINGS):
        target = f"http://{spelling}/"
        out.append(_redirect_case(f"redirect-private-{i:02d}",
                                  f"a redirect to {target} (private; out of scope here)",
                                  target, _to(target), category="private"))
    return out


def _link_page(case_id: str, category: str, what: str, href: str,
               expected: str | None) -> Case:
    """A page with one link: to `expected` (normalised), or skipped when None."""
    links = () if expected is None else (a(expected),)
    return Case(case_id, category, what, case_url(case_id),
                whole(lambda: http(page(case_id, f'<a href="{href}">link</a>'))),
                Expect(title=case_id, links=links, n_skipped_links=1 if expected is None else 0),
                warc=True)


def host_cases() -> list[Case]:
    h = "host"
    idn = f"http://xn--bcher-kva.{ZONE}/"
    long_labels = ".".join(["a" * 60] * 4)  # with .hostile.example: 260 characters
    return [
        _link_page("idn-unicode", h, "an IDN host in Unicode", f"http://bücher.{ZONE}/", idn),
        _link_page("idn-uppercase", h, "an IDN host in upper case", f"http://BÜCHER.{ZONE}/",
                   idn),
        _link_page("idn-fullwidth-dots", h, "an IDN host with ideographic full stops",
                   "http://bücher\u3002hostile\u3002example/", idn),
        _link_page("idn-symbol", h, "a symbol as a host (☃, UTS 46 valid)",
                   f"http://\u2603.{ZONE}/", f"http://xn--n3h.{ZONE}/"),
        _link_page("punycode-invalid", h, "an xn-- label that is not valid punycode "
                   "(kept as written, as WHATWG URL parsers do)",
                   f"http://xn--a.{ZONE}/", f"http://xn--a.{ZONE}/"),
        _link_page("idn-zwj", h, "a zero-width joiner in a host (invalid under UTS 46: "
                   "skipped, not mapped to another host)",
                   f"http://a\u200d.{ZONE}/", None),
        _link_page("host-label-64", h, "a 64-character label (over DNS's 63)",
                   f"http://{'a' * 64}.{ZONE}/", f"http://{'a' * 64}.{ZONE}/"),
        _link_page("host-260", h, "a 260-character host name (over DNS's 253)",
                   f"http://{long_labels}.{ZONE}/", f"http://{long_labels}.{ZONE}/"),
        _link_page("host-64kb", h, "a 64 KB host name (over the URL cap)",
                   f"http://{'h' * 65536}.{ZONE}/", None),
        _link_page("host-space", h, "a space inside a host", f"http://exa mple.{ZONE}/", None),
        _link_page("host-userinfo", h, "user:password@ before the host (dropped)",
                   f"http://user:pass@userinfo-target.{ZONE}/u",
                   f"http://userinfo-target.{ZONE}/u"),
        _link_page("host-at-confusion", h, "http://elsewhere.example@evil.example/: the host "
                   "is evil.example", "http://elsewhere.example@evil.example/",
                   "http://evil.example/"),
        _link_page("port-invalid", h, "port 99999", f"http://port-invalid.{ZONE}:99999/", None),
        _link_page("port-default", h, "port 0080 (the default, dropped)",
                   f"http://port-default.{ZONE}:0080/p", f"http://port-default.{ZONE}/p"),
        _link_page("host-trailing-dot", h, "a host with a trailing dot (dropped)",
                   f"http://host-trailing-dot.{ZONE}./t", f"http://host-trailing-dot.{ZONE}/t"),
        _link_page("ipv6-broken", h, "an unterminated IPv6 literal", "http://[::1/", None),
        _link_page("backslashes", h, "backslashes for slashes (as browsers read them)",
                   "\\\\elsewhere.example\\bs", f"{OUT}/bs"),
        _link_page("dot-segments", h, "more ../ than the path has",
                   "/a/b/../../../../c/./d", case_url("dot-segments", "/c/d")),
    ]


def private_links_case() -> Case:
    body = "\n".join(f'<a href="http://{s}/">{s}</a>' for s in PRIVATE_SPELLINGS)
    return Case("private-links", "private", "links to every private-address spelling "
                "(stored; out of scope, not followed)", case_url("private-links"),
                whole(lambda: http(page("private-links", body))),
                Expect(title="private-links",
                       links=tuple(a(f"http://{s}/") for s in PRIVATE_SPELLINGS)), warc=True)


def cases() -> list[Case]:
    return redirect_cases() + host_cases() + [private_links_case()]
