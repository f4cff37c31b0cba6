"""Realistic Common Crawl WAT files for the WAT import benchmark, with the truth of what
they hold.

    from bench.watgen import generate
    files = generate(folder, files=4, pages=10_000, seed=18)   # list[WatFile]
    python -m bench.watgen OUT [--files 4] [--pages 10000] [--seed 18]

Each file is what Common Crawl publishes as `CC-MAIN-…warc.wat.gz`: WARC/1.0 records,
each its own gzip member, starting with a `warcinfo` record; then, for every capture,
three `metadata` records (Content-Type application/json) holding the WAT envelope of the
WARC's request, response and metadata records, in that order. The importer maps only
the response envelopes (one pages row each) and ignores the others.

A response envelope is shaped as Common Crawl's extractor (webarchive-commons) writes
it: `Container` (Filename, Compressed, Offset, Gzip-Metadata), `Envelope` (Format,
WARC-Header-Length, Block-Digest, Actual-Content-Length, WARC-Header-Metadata,
Payload-Metadata → HTTP-Response-Metadata → Response-Message, Headers, Headers-Length,
Entity-Length, Entity-Digest, HTML-Metadata → Head {Title, Base, Metas, Link, Scripts}
and Links). Repeated HTTP headers are JSON lists of strings (as since CC-MAIN-2024-51),
some header names are lower case (HTTP/2 servers), JSON is compact UTF-8.

The mix (per response): ~88% 2xx HTML, ~5% redirects (Location, some with a small HTML
body), ~4% 4xx/5xx HTML (links not stored), ~3% 2xx non-HTML (PDF, images, JSON).
An HTML page has a lognormal number of `A@/href` entries (median ~100, a long tail up
to a few thousand), the first up to a third of them its host's menu (10-38 links, the
same on every page of the host: links repeat across pages, as in a real crawl), plus
images (some wrapping a link: `IMG@/src` then an `A@/href`
without text), scripts, iframes, forms and CSS URLs (`STYLE/#text` with `href`); a few
pages have image maps (`AREA@/href`), a `Head.Base`, a canonical `Head.Link`. Hrefs
are root-relative, relative (`a/b`, `../x`, `./x`), absolute on the same site or
elsewhere, protocol-relative, with queries (`&amp;`), fragments, stray whitespace,
upper-case schemes, non-ASCII paths; ~9% are not storable (`#…`, `javascript:`,
`mailto:`, `tel:`, empty, other schemes). Anchor text is at most 100 characters
(Common Crawl's cap), sometimes with entities, line breaks or non-ASCII words.

Everything is drawn from `random.Random(f"{seed}-{file}")`: the same arguments give
the same bytes. `WatFile` is the generator's own count of what it wrote, by
construction (never by reading the files back): pages, records, the `A@/href` and
`AREA@/href` entries, and the links an import must store (storable `A@/href` and
`AREA@/href` targets of 2xx HTML pages, their canonicals, the redirects' targets).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
import uuid
from bisect import bisect
from dataclasses import asdict, dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

CRAWL = "CC-MAIN-2024-51"
_START = 1733011200  # 2024-12-01T00:00:00Z: the crawl's first day
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ANCHOR_CAP = 100  # Common Crawl's extractor keeps at most this much anchor text

_WORDS = (
    "garden river market winter travel coffee history science music design city mountain "
    "recipe bicycle ocean library photo guide review forest energy family report archive "
    "season journal health future kitchen lesson museum theatre harbor planet software "
    "bridge island weather village station studio festival story summer autumn spring "
    "lantern meadow pocket signal canvas engine compass best cheap online free news blog "
    "shop home local world tips product service contact support account price sale event "
    "school student course training career job team company partner community forum video "
    "gallery download release update security privacy policy terms cookie login register "
    "search category tag author page post article comment reply share follow subscribe"
).split()
_FOREIGN = ("über", "café", "straße", "niño", "mañana", "città", "façade", "naïve",
            "ニュース", "日本語", "новости", "доставка", "חדשות", "ἀρχή", "crème", "Zürich")
_TLDS = ("com",) * 10 + ("org", "org", "net", "net", "de", "de", "co.uk", "io", "fr", "info",
                         "es", "nl", "com.au", "ca", "jp", "ru", "it", "pl", "blog", "com.br")
_NAV = ("Home", "About", "About us", "Contact", "Blog", "News", "Shop", "Products",
        "Services", "Login", "Sign up", "FAQ", "Help", "Careers", "Privacy Policy",
        "Terms of Service", "Cookie settings", "Sitemap", "Search", "Menu", "Next »",
        "« Previous", "1", "2", "3", "Read more", "Continue reading →", "Skip to content",
        "Facebook", "Twitter", "Instagram", "LinkedIn", "YouTube", "Pinterest", "RSS")
_SOCIAL = ("https://www.facebook.com/{w}", "https://twitter.com/{w}", "https://x.com/{w}",
           "https://www.instagram.com/{w}/", "https://www.linkedin.com/company/{w}",
           "https://www.youtube.com/@{w}", "https://www.pinterest.com/{w}/",
           "https://en.wikipedia.org/wiki/{W}", "https://github.com/{w}/{w}")
_UNSTORABLE = ("#", "#top", "#content", "#main", "#comments", "javascript:void(0)",
               "javascript:void(0);", "javascript:;", "JavaScript:history.back()")
_SERVERS = ("nginx", "Apache", "cloudflare", "Microsoft-IIS/10.0", "LiteSpeed",
            "openresty", "Apache/2.4.62 (Debian)", "AmazonS3", "gws", "Varnish")
_NON_HTML = (("application/pdf", ".pdf"), ("image/jpeg", ".jpg"), ("image/png", ".png"),
             ("application/json", ".json"), ("text/plain", ".txt"),
             ("application/xml", ".xml"), ("text/css", ".css"))
_ERRORS = ((404, "Not Found"), (404, "Not Found"), (404, "Not Found"), (403, "Forbidden"),
           (410, "Gone"), (500, "Internal Server Error"), (503, "Service Unavailable"))
_REDIRECTS = ((301, "Moved Permanently"), (302, "Found"), (301, "Moved Permanently"),
              (307, "Temporary Redirect"), (308, "Permanent Redirect"))
_REL = ((None, 84), ("nofollow", 5), ("noopener noreferrer", 5), ("nofollow noopener", 2),
        ("sponsored", 1), ("ugc", 1), ("noopener", 1), ("nofollow ugc", 1))

# How an A@/href is written: (form, weight, storable).
_FORMS = (
    ("root", 34.0, True), ("same", 16.0, True), ("external", 11.0, True),
    ("social", 3.0, True), ("relative", 8.0, True), ("dots", 3.0, True),
    ("protocol", 2.0, True), ("query", 5.0, True), ("fragment", 2.0, True),
    ("spaces", 1.0, True), ("upper", 0.5, True), ("foreign", 1.0, True), ("port", 0.3, True),
    ("hash", 4.0, False), ("js", 3.0, False), ("mailto", 1.0, False), ("tel", 0.5, False),
    ("empty", 0.5, False), ("scheme", 0.3, False),
)
_FORM_CUM = list(accumulate(w for _, w, _ in _FORMS))
_REL_CUM = list(accumulate(w for _, w in _REL))


@dataclass
class WatFile:
    """What one generated file holds, counted while writing it."""

    path: Path
    bytes: int = 0
    records: int = 0  # every WARC record: warcinfo + 3 per capture
    pages: int = 0  # response envelopes: one pages row each
    html_pages: int = 0  # 2xx HTML: the pages whose links are stored
    a_href: int = 0  # every A@/href entry of every response envelope
    area_href: int = 0  # every AREA@/href entry
    a_links: int = 0  # storable A@/href targets of 2xx HTML pages
    area_links: int = 0  # storable AREA@/href targets of 2xx HTML pages
    canonical_links: int = 0  # a canonical Head.Link on a 2xx HTML page
    redirect_links: int = 0  # 3xx responses with a Location
    skipped_links: int = 0  # unstorable A/AREA targets of 2xx HTML pages

    @property
    def links(self) -> int:
        """The edges an import of this file stores."""
        return self.a_links + self.area_links + self.canonical_links + self.redirect_links

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "links": self.links}


class _Gen:
    def __init__(self, seed: int, index: int) -> None:
        self.rng = random.Random(f"{seed}-{index}")
        r = random.Random(f"{seed}-domains")  # the same web behind every file
        self.domains = [
            f"{r.choice(_WORDS)}{r.choice(_WORDS)}{r.randrange(100) if r.random() < 0.3 else ''}"
            f".{r.choice(_TLDS)}" for _ in range(3000)
        ]
        self.seed = seed
        self.navs: dict[str, list[dict[str, str]]] = {}

    def nav(self, host: str) -> list[dict[str, str]]:
        """The menu and footer links every page of `host` repeats (the same in every
        file: drawn from the seed and the host alone)."""
        nav = self.navs.get(host)
        if nav is None:
            r = random.Random(f"{self.seed}-nav-{host}")
            nav = [{"path": "A@/href", "url": "/", "text": "Home"}]
            for _ in range(r.randint(8, 35)):
                w = r.choice(_WORDS)
                url = r.choice((f"/{w}/", f"/category/{w}/", f"https://{host}/{w}",
                                f"/{w}.html", f"/page/{w}-{r.choice(_WORDS)}/"))
                nav.append({"path": "A@/href", "url": url,
                            "text": r.choice(_NAV) if r.random() < 0.5 else w.capitalize()})
            nav.append({"path": "A@/href", "url": "#", "text": "Menu"})  # not storable
            social = r.choice(_SOCIAL).format(w=host.split(".")[-2], W=host)
            nav.append({"path": "A@/href", "url": social, "rel": "noopener"})  # an icon
            self.navs[host] = nav
        return nav

    # -- small pieces --------------------------------------------------------------------

    def word(self) -> str:
        return _WORDS[int(self.rng.random() * len(_WORDS))]

    def words(self, lo: int, hi: int) -> str:
        return " ".join(self.word() for _ in range(self.rng.randint(lo, hi)))

    def digest(self) -> str:
        return "sha1:" + "".join(self.rng.choices(_B32, k=32))

    def record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def domain(self) -> str:
        # skewed: a few domains have many pages
        return self.domains[int(len(self.domains) * self.rng.random() ** 2.5)]

    def host(self, domain: str) -> str:
        r = self.rng.random()
        return domain if r < 0.25 else ("www." + domain if r < 0.92 else f"blog.{domain}")

    def path(self) -> str:
        r, rng = self.rng.random(), self.rng
        if r < 0.05:
            return "/"
        if r < 0.35:
            return f"/{self.word()}/{self.word()}-{self.word()}-{rng.randrange(10_000)}.html"
        if r < 0.55:
            return (f"/{rng.randint(2005, 2024)}/{rng.randint(1, 12):02d}/"
                    f"{self.word()}-{self.word()}-{self.word()}/")
        if r < 0.70:
            return f"/{self.word()}/{self.word()}"
        if r < 0.80:
            return f"/product.php?id={rng.randrange(100_000)}&cat={self.word()}"
        if r < 0.90:
            return f"/index.php/{self.word()}/{rng.randrange(1000)}"
        return f"/{self.word()}-{self.word()}/"

    def text(self) -> str:
        r, rng = self.rng.random(), self.rng
        if r < 0.35:
            text = rng.choice(_NAV)
        elif r < 0.80:
            text = self.words(2, 8).capitalize()
        elif r < 0.92:
            text = self.words(8, 20).capitalize()
        elif r < 0.95:
            text = f"{self.word().capitalize()} &amp; {self.word()} &#8211; {self.words(1, 4)}"
        elif r < 0.98:
            text = f"\n\t\t{self.words(1, 5)}\n\t  {self.word()}  "
        else:
            text = f"{rng.choice(_FOREIGN)} {self.words(1, 3)} {rng.choice(_FOREIGN)}"
        return text[:ANCHOR_CAP]

    def rel(self) -> str | None:
        return _REL[bisect(_REL_CUM, self.rng.random() * _REL_CUM[-1])][0]

    def href(self, host: str) -> tuple[str, bool]:
        """An A@/href url as written in a page on `host`, and whether it is storable."""
        rng = self.rng
        form, _, storable = _FORMS[bisect(_FORM_CUM, rng.random() * _FORM_CUM[-1])]
        if form == "root":
            url = self.path()
        elif form == "same":
            url = f"https://{host}{self.path()}"
        elif form == "external":
            url = f"{'https' if rng.random() < 0.85 else 'http'}://{self.host(self.domain())}" \
                  f"{self.path() if rng.random() < 0.7 else '/'}"
        elif form == "social":
            w = self.word()
            url = rng.choice(_SOCIAL).format(w=w, W=w.capitalize())
        elif form == "relative":
            url = f"{self.word()}-{self.word()}.html" if rng.random() < 0.5 else \
                f"{self.word()}/{self.word()}/"
        elif form == "dots":
            url = f"../{self.word()}/{self.word()}.html" if rng.random() < 0.6 else \
                f"./{self.word()}"
        elif form == "protocol":
            url = f"//cdn.{self.domain()}/{self.word()}/{rng.randrange(999)}"
        elif form == "query":
            url = f"/search?q={self.word()}+{self.word()}&amp;page={rng.randint(2, 40)}"
        elif form == "fragment":
            url = f"{self.path()}#{self.word()}"
        elif form == "spaces":
            url = f"\n   {self.path()}  "
        elif form == "upper":
            url = f"HTTPS://{host.upper()}/{self.word().capitalize()}"
        elif form == "foreign":
            url = f"/{rng.choice(_FOREIGN)}/{self.word()}-{rng.choice(_FOREIGN)}"
        elif form == "port":
            url = f"http://{host}:8080/{self.word()}"
        elif form == "hash" or form == "js":
            url = rng.choice(_UNSTORABLE[:5] if form == "hash" else _UNSTORABLE[5:])
        elif form == "mailto":
            url = f"mailto:{self.word()}@{host}"
        elif form == "tel":
            url = f"tel:+1{rng.randrange(10**9, 10**10)}"
        elif form == "empty":
            url = ""
        else:
            url = rng.choice(("whatsapp://send?text=hello", "skype:someone?call",
                              "ftp://ftp.example.org/pub/", "data:text/plain,hi",
                              "sms:+15550100"))
        return url, storable

    # -- a page's HTML-Metadata ----------------------------------------------------------

    def n_links(self) -> int:
        """A@/href entries of one page: lognormal, median ~100, a long tail."""
        rng = self.rng
        n = rng.lognormvariate(4.6, 0.45)
        if rng.random() < 0.02:
            n *= rng.uniform(4, 25)
        return max(1, min(int(n), 5000))

    def html_metadata(self, url: str, host: str, n_a: int, truth: WatFile | None
                      ) -> dict[str, Any]:
        """Head and Links of a page with `n_a` A@/href entries; counts what an import
        stores into `truth` (None: the links are not stored, e.g. a 404 page)."""
        rng = self.rng
        head: dict[str, Any] = {}
        if rng.random() < 0.97:
            head["Title"] = (f"{self.words(2, 9).capitalize()} | {host}"
                             if rng.random() < 0.9 else f"{self.word()} &amp; {self.word()}")
        if rng.random() < 0.02:
            head["Base"] = f"https://{host}/" if rng.random() < 0.5 else f"/{self.word()}/"
        metas: list[dict[str, str]] = [
            {"name": "viewport", "content": "width=device-width, initial-scale=1"}]
        if rng.random() < 0.7:
            metas.append({"name": "description", "content": self.words(10, 25)})
        if rng.random() < 0.5:
            metas += [{"property": "og:title", "content": self.words(3, 8)},
                      {"property": "og:url", "content": url},
                      {"property": "og:image", "content": f"https://{host}/img/{self.word()}.jpg"},
                      {"name": "twitter:card", "content": "summary_large_image"}]
        if rng.random() < 0.3:
            metas.append({"name": "generator", "content": "WordPress 6.7.1"})
        if rng.random() < 0.12:
            metas.append({"name": "robots",
                          "content": rng.choice(("index, follow", "noindex, follow",
                                                 "max-image-preview:large", "nofollow"))})
        metas.append({"http-equiv": "X-UA-Compatible", "content": "IE=edge"})
        head["Metas"] = metas
        links: list[dict[str, str]] = [
            {"path": "LINK@/href", "url": f"/css/{self.word()}.css?ver=6.7.1",
             "rel": "stylesheet", "type": "text/css"} for _ in range(rng.randint(1, 4))]
        links.append({"path": "LINK@/href", "url": "/favicon.ico", "rel": "icon"})
        if rng.random() < 0.65:
            canonical = url.split("?")[0] if rng.random() < 0.9 else "/" + self.word()
            links.append({"path": "LINK@/href", "url": canonical, "rel": "canonical"})
            if truth is not None:
                truth.canonical_links += 1
        if rng.random() < 0.2:
            links += [{"path": "LINK@/href", "url": f"https://{host}/{lang}/", "rel": "alternate",
                       "hreflang": lang} for lang in rng.sample(("en", "de", "fr", "es", "it",
                                                                  "nl", "pl", "ja"), 4)]
        if rng.random() < 0.3:
            links.append({"path": "LINK@/href", "url": f"https://{host}/feed/",
                          "rel": "alternate", "type": "application/rss+xml", "title": "Feed"})
        head["Link"] = links
        head["Scripts"] = [{"path": "SCRIPT@/src", "url": f"/js/{self.word()}.min.js?v=3",
                            "type": "text/javascript"} for _ in range(rng.randint(0, 6))]

        entries: list[dict[str, str]] = []
        if rng.random() < 0.1:
            entries += [{"path": "STYLE/#text", "href": f"/img/{self.word()}.png"}
                        for _ in range(rng.randint(1, 5))]
        # the site's menu first (up to a third of the page's links), then its own links
        nav = self.nav(host)[:n_a // 3]
        entries += nav
        skipped = sum(entry["url"] == "#" for entry in nav)
        a_links = len(nav) - skipped
        for _ in range(n_a - len(nav)):
            r = rng.random()
            if r < 0.10:  # a picture on its own
                entries.append({"path": "IMG@/src", "url": f"/img/{self.word()}.jpg",
                                "alt": self.words(0, 5)})
            elif r < 0.12:
                entries.append({"path": "SCRIPT@/src", "url": f"https://cdn.{self.domain()}/x.js"})
            elif r < 0.125:
                entries.append({"path": "IFRAME@/src",
                                "url": f"https://www.youtube.com/embed/{self.word()}"})
            elif r < 0.13:
                entries.append({"path": "FORM@/action", "url": "/search", "method": "get"})
            href, storable = self.href(host)
            entry = {"path": "A@/href", "url": href}
            r = rng.random()
            if r < 0.08:  # an image link: the image, then the link without text
                entries.append({"path": "IMG@/src", "url": f"/img/{self.word()}.png",
                                "alt": self.words(0, 4)})
            elif r < 0.11:
                pass  # no text (an icon)
            else:
                entry["text"] = self.text()
            rel = self.rel()
            if rel is not None:
                entry["rel"] = rel
            if rng.random() < 0.1:
                entry["target"] = "_blank"
            if rng.random() < 0.05:
                entry["title"] = self.words(1, 6)
            entries.append(entry)
            if storable:
                a_links += 1
            else:
                skipped += 1
        areas = area_links = 0
        if rng.random() < 0.005:  # an image map
            entries.append({"path": "IMG@/src", "url": "/img/map.gif", "alt": "map"})
            for _ in range(rng.randint(2, 8)):
                storable = rng.random() < 0.85
                entries.append({"path": "AREA@/href",
                                "url": f"/{self.word()}/" if storable else "#"})
                areas += 1
                area_links += storable
        if truth is not None:
            truth.a_links += a_links
            truth.area_links += area_links
            truth.skipped_links += skipped + areas - area_links
        return {"Head": head, "Links": entries}, areas

    # -- one capture ---------------------------------------------------------------------

    def headers(self, content_type: str | list[str] | None, length: int, date: str
                ) -> dict[str, Any]:
        rng = self.rng
        lower = rng.random() < 0.2  # HTTP/2 servers: names in lower case
        h: dict[str, Any] = {"Date": date, "Server": rng.choice(_SERVERS)}
        if content_type is not None:
            h["Content-Type"] = content_type
        h["X-Crawler-Content-Length"] = str(length // 4)
        h["Content-Length"] = str(length)
        if rng.random() < 0.7:
            h["X-Crawler-Content-Encoding"] = "gzip"
        if rng.random() < 0.6:
            h["Vary"] = ["Accept-Encoding", "Cookie"] if rng.random() < 0.4 else "Accept-Encoding"
        if rng.random() < 0.5:
            h["Set-Cookie"] = [f"{self.word()}={rng.getrandbits(64):x}; Path=/; HttpOnly"
                               for _ in range(rng.randint(1, 4))]
            if len(h["Set-Cookie"]) == 1:
                h["Set-Cookie"] = h["Set-Cookie"][0]
        h["Cache-Control"] = rng.choice(("max-age=3600", "no-cache", "private, max-age=0",
                                         "public, max-age=86400"))
        if rng.random() < 0.3:
            h["Link"] = ["<https://api.w.org/>; rel=\"https://api.w.org/\"",
                         "<https://example.org/?p=1>; rel=shortlink"]
        if rng.random() < 0.4:
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if rng.random() < 0.02:
            h["X-Robots-Tag"] = ["noarchive", "max-snippet:-1"] if rng.random() < 0.5 \
                else "noindex"
        if lower:
            h = {k.lower(): v for k, v in h.items()}
        return h

    def capture(self, truth: WatFile, filename: str, offset: int
                ) -> tuple[str, str, list[dict[str, Any]], int]:
        """One capture: (URL, date, the three WAT envelopes, the WARC bytes it took)."""
        rng = self.rng
        domain = self.domain()
        host = self.host(domain)
        scheme = "https" if rng.random() < 0.85 else "http"
        url = f"{scheme}://{host}{self.path()}"
        when = _START + rng.randrange(14 * 86400)
        date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
        http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(when))
        ip = ".".join(map(str, (rng.randint(1, 223), rng.randrange(256), rng.randrange(256),
                                rng.randint(1, 254))))
        ids = [self.record_id() for _ in range(4)]  # request, response, metadata, warcinfo

        # the response
        r = rng.random()
        html = None
        n_a = areas = 0
        if r < 0.88:
            status, reason = 200, "OK"
            ctype: str | list[str] | None = "text/html; charset=UTF-8" if rng.random() < 0.8 \
                else "text/html"
            if rng.random() < 0.005:  # a repeated Content-Type: the last one counts
                ctype = ["text/html", "text/html; charset=utf-8"]
            n_a = self.n_links()
            truth.html_pages += 1
            html, areas = self.html_metadata(url, host, n_a, truth)
        elif r < 0.93:
            status, reason = rng.choice(_REDIRECTS)
            ctype = "text/html; charset=iso-8859-1"
            truth.redirect_links += 1
            if rng.random() < 0.4:  # the "Moved" page, whose link is not stored
                n_a = 1
                html = {"Head": {"Title": f"{status} {reason}", "Metas": [], "Link": []},
                        "Links": [{"path": "A@/href", "url": f"https://{host}/", "text": "here"}]}
                areas = 0
        elif r < 0.97:
            status, reason = rng.choice(_ERRORS)
            ctype = "text/html"
            n_a = rng.randint(0, 40)
            html, areas = self.html_metadata(url, host, n_a, None)
        else:
            ctype, ext = rng.choice(_NON_HTML)
            status, reason = 200, "OK"
            url = f"{scheme}://{host}/files/{self.word()}-{rng.randrange(999)}{ext}"
        if html is not None:
            truth.a_href += n_a
            truth.area_href += areas
        length = rng.randint(2_000, 400_000)
        headers = self.headers(ctype, length, http_date)
        if 300 <= status < 400:
            target = f"https://{host}{self.path()}" if rng.random() < 0.7 else self.path()
            headers["location" if "date" in headers else "Location"] = target
        http: dict[str, Any] = {
            "Response-Message": {"Version": "HTTP/1.1", "Status": str(status),
                                 "Reason": reason},
            "Headers-Length": str(rng.randint(300, 1500)),
            "Headers": headers,
            "Entity-Length": str(length),
            "Entity-Trailing-Slop-Length": "0",
            "Entity-Digest": self.digest(),
        }
        if html is not None:
            http["HTML-Metadata"] = html
        sizes = [rng.randint(350, 700), max(600, length // 4), rng.randint(300, 600)]
        path = url.split("//", 1)[1].partition("/")[2]
        request_headers = {
            "Host": host, "Accept-Encoding": "br,gzip",
            "Accept-Language": "en-US,en;q=0.5",
            "User-Agent": "CCBot/2.0 (https://commoncrawl.org/faq/)",
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "If-Modified-Since": http_date} if rng.random() < 0.1 else {
            "Host": host, "Accept-Encoding": "br,gzip",
            "Accept-Language": "en-US,en;q=0.5",
            "User-Agent": "CCBot/2.0 (https://commoncrawl.org/faq/)",
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        languages = json.dumps({"reliable": True, "text-bytes": length // 8, "languages": [
            {"code": "en", "code-iso-639-3": "eng", "text-covered": 0.98,
             "score": 1024.0, "name": "ENGLISH"}]})
        payloads = [
            ("request", "application/http; msgtype=request", {
                "Actual-Content-Type": "application/http; msgtype=request",
                "HTTP-Request-Metadata": {
                    "Request-Message": {"Method": "GET", "Path": "/" + path,
                                        "Version": "HTTP/1.1"},
                    "Headers-Length": str(sizes[0] - 100), "Headers": request_headers,
                    "Entity-Length": "0",
                    "Entity-Digest": "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ",
                    "Entity-Trailing-Slop-Length": "0"},
                "Trailing-Slop-Length": "4"}),
            ("response", "application/http; msgtype=response", {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": http, "Trailing-Slop-Length": "4"}),
            ("metadata", "application/warc-fields", {
                "Actual-Content-Type": "application/metadata-fields",
                "WARC-Metadata-Metadata": {"Metadata-Records": [
                    {"Name": "fetchTimeMs", "Value": str(rng.randint(40, 3000))},
                    {"Name": "charset-detected", "Value": "UTF-8"},
                    {"Name": "languages-cld2", "Value": languages}]},
                "Trailing-Slop-Length": "0"}),
        ]
        envelopes = []
        for i, (kind, content_type, payload) in enumerate(payloads):
            warc_head: dict[str, str] = {
                "WARC-Type": kind, "WARC-Date": date, "WARC-Record-ID": ids[i],
                "Content-Length": str(sizes[i]), "Content-Type": content_type,
                "WARC-Warcinfo-ID": ids[3], "WARC-Target-URI": url,
                "WARC-Block-Digest": self.digest()}
            if kind != "metadata":
                warc_head["WARC-IP-Address"] = ip
            if kind == "response":
                warc_head["WARC-Payload-Digest"] = http["Entity-Digest"]
                warc_head["WARC-Identified-Payload-Type"] = (
                    ctype[-1] if isinstance(ctype, list) else ctype or "").split(";")[0]
            else:
                warc_head["WARC-Concurrent-To"] = ids[1]
            deflated = sizes[i] // 3 + 20
            envelopes.append({
                "Container": {
                    "IsParsed": True, "Filename": filename, "Compressed": True,
                    "Offset": str(offset),
                    "Gzip-Metadata": {"Inflated-Length": str(sizes[i] + 400),
                                      "Footer-Length": "8",
                                      "Inflated-CRC": str(rng.randint(-2**31, 2**31 - 1)),
                                      "Deflate-Length": str(deflated), "Header-Length": "10"}},
                "Envelope": {
                    "Format": "WARC", "WARC-Header-Length": str(rng.randint(380, 720)),
                    "Block-Digest": warc_head["WARC-Block-Digest"],
                    "Actual-Content-Length": str(sizes[i]),
                    "WARC-Header-Metadata": warc_head,
                    "Payload-Metadata": payload}})
            offset += deflated + 18
        truth.pages += 1
        return url, date, envelopes, offset


def _record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return (head + f"Content-Length: {len(block)}\r\n\r\n").encode() + block + b"\r\n\r\n"


def write_wat(path: Path, pages: int, seed: int = 18, index: int = 0, level: int = 6
              ) -> WatFile:
    """WAT file number `index` of `pages` captures (3 metadata records each, after a
    warcinfo record), each record a gzip member compressed at `level`."""
    gen = _Gen(seed, index)
    rng = gen.rng
    truth = WatFile(path)
    n = index
    stamp = f"2024120{1 + n % 9}{rng.randrange(10**6):06d}"
    warc_name = f"CC-MAIN-{stamp}-{stamp[:8]}999999-{n:05d}.warc.gz"
    info = (
        "Software-Info: ia-web-commons.1.1.10-SNAPSHOT-20241209094426\r\n"
        f"Extracted-Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(_START))}\r\n"
        "ip: 10.0.1.23\r\nhostname: ip-10-0-1-23.ec2.internal\r\n"
        "format: WARC File Format 1.0\r\n"
        "conformsTo: http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf\r\n"
        f"isPartOf: {CRAWL}\r\n").encode()

    def member(data: bytes) -> bytes:
        return gzip.compress(data, level, mtime=0)

    offset = 0
    with open(path, "wb") as fh:
        fh.write(member(_record([
            ("WARC-Type", "warcinfo"), ("WARC-Date", time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(_START + 15 * 86400))),
            ("WARC-Filename", path.name), ("WARC-Record-ID", gen.record_id()),
            ("Content-Type", "application/warc-fields")], info)))
        truth.records += 1
        for _ in range(pages):
            url, date, envelopes, offset = gen.capture(truth, warc_name, offset)
            for envelope in envelopes:
                block = json.dumps(envelope, ensure_ascii=False,
                                   separators=(",", ":")).encode()
                fh.write(member(_record([
                    ("WARC-Type", "metadata"), ("WARC-Target-URI", url),
                    ("WARC-Date", date), ("WARC-Record-ID", gen.record_id()),
                    ("WARC-Refers-To", envelope["Envelope"]["WARC-Header-Metadata"]
                     ["WARC-Record-ID"]),
                    ("Content-Type", "application/json")], block)))
                truth.records += 1
    truth.bytes = path.stat().st_size
    return truth


def generate(folder: Path, files: int = 4, pages: int = 10_000, seed: int = 18, *,
             jobs: int = 1) -> list[WatFile]:
    """`files` WAT files of `pages` captures each in `folder` (`jobs` files written at a
    time, in processes of their own: the bytes do not depend on it); what each holds."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{CRAWL}-bench-{i:05d}.warc.wat.gz" for i in range(files)]
    if jobs <= 1 or files <= 1:
        return [write_wat(path, pages, seed, i) for i, path in enumerate(paths)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(jobs, files)) as pool:
        return list(pool.map(write_wat, paths, [pages] * files, [seed] * files, range(files)))


def main(argv: list[str] | None = None) -> list[WatFile]:
    parser = argparse.ArgumentParser(prog="python -m bench.watgen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the files")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--pages", type=int, default=10_000, help="captures per file")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--jobs", type=int, default=1, help="files written at a time")
    args = parser.parse_args(argv)
    written = generate(args.out, args.files, args.pages, args.seed, jobs=args.jobs)
    for wat in written:
        print(json.dumps(wat.as_dict()))
    return written


if __name__ == "__main__":
    main()
