"""The synthetic web: deterministic pages for many hosts, and their ground truth.

Regular sites ``site<k>.example`` plus ``blog.site1.example`` (a subdomain) and
``xn--bcher-kva.example`` (an IDN host) share one layout: header logo, nav menu,
main content with cross-site links, aside, footer. site0.example also carries the
special cases of :mod:`synthweb.cases`. Every page is a pure function of
``(constructor arguments, url)``: random choices come from ``random.Random`` seeded
with the seed and the URL, so responses are byte-identical across runs.

``edition`` 2 (or later) is the same web some time later, for history tests. Every
regular page's "Related" (aside) links are drawn again, and the pages of
:data:`HISTORY_CASES` change in one known way each (edition 1 has none of it):

- ``site3.example/p/1`` answers 404 (``page_gone``);
- ``site3.example/p/2`` answers 301 to ``/p/3`` (``page_redirects``);
- ``site3.example/p/4`` gets ``<meta name="robots" content="noindex, follow">``
  (``page_noindex``);
- ``site3.example/p/5``: every ``<a>`` not nofollow, ugc or sponsored gets
  ``nofollow`` added to its rel (``now_nofollow``);
- ``site3.example/p/6``: its ``<link rel=canonical>`` names ``/p/7``, not itself
  (``canonical_changed``);
- ``site4.example/p/1`` answers 500 (``page_error``);
- ``site4.example/p/2`` gets no answer: the server closes the connection, the
  crawler records status null and :data:`~synthweb.truth.NO_RESPONSE_ERROR`
  (``fetch_failed``);
- ``site4.example/p/3`` is disallowed by site4's robots.txt (``Disallow: /p/3$``): a
  crawl records a robots row for it, not a fetch (``not_recrawled``).

- with 30 sites or more, two new link networks: every page of the last six regular
  sites gets a footer link "Partner", the first three to site ``n_sites - 20`` (new
  referring domains), the last three to site ``n_sites - 19`` (a competitor's gains;
  with 50 sites: site30 and site31, which edition 1's last six sites never link to)
  (:func:`network_target`).

The three 200 pages keep every link they have in that edition (the redrawn Related
ones included), only marked differently; the truth (:meth:`SyntheticWeb.expected_crawl`)
states all of it.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections import deque
from functools import cache, lru_cache
from typing import NamedTuple

from core.urls import normalize_url  # serving only: the truth never uses core's URL identity
from crawler.spec import CRAWL_SCOPES  # a setting's list, not identity: shared
from synthweb import cases, cases_http, cases_markup  # noqa: F401 - they register cases
from synthweb.truth import (
    Doc,
    ExpectedCrawl,
    ExpectedEdge,
    ExpectedPage,
    Page,
    Response,
    disallowed_page,
    domain_of,
    host_of,
    no_response_page,
    plain_page,
    redirect_page,
)

BLOG_HOST = "blog.site1.example"
IDN_HOST = "xn--bcher-kva.example"
IDN_UNICODE = "bücher.example"
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"


class HistoryCase(NamedTuple):
    """How one page differs in edition >= 2: ``change`` names what happens to the
    links it had (a reason a history of links gives), ``what`` says it in words."""

    change: str
    what: str


# The pages edition >= 2 changes besides the Related redraw (module docstring): n_sites
# >= 5 and pages_per_site >= 8 guarantee every one exists. As the query string does not
# change a regular page, it does not escape these changes either (site3/p/4?from=base is
# noindex too), robots.txt's "/p/3$" aside: that disallows the URL without a query only.
HISTORY_REDIRECT_TO = "http://site3.example/p/3"
HISTORY_CANONICAL = "http://site3.example/p/7"
HISTORY_DISALLOWED = "http://site4.example/p/3"
HISTORY_CASES: dict[str, HistoryCase] = {
    "http://site3.example/p/1": HistoryCase("page_gone", "404 Not Found"),
    "http://site3.example/p/2": HistoryCase(
        "page_redirects", f"301 Moved Permanently to {HISTORY_REDIRECT_TO}"),
    "http://site3.example/p/4": HistoryCase(
        "page_noindex", '200, same links, <meta name="robots" content="noindex, follow">'),
    "http://site3.example/p/5": HistoryCase(
        "now_nofollow", '200, same links, every followed <a> now rel="nofollow"'),
    "http://site3.example/p/6": HistoryCase(
        "canonical_changed", f"200, same links, rel=canonical to {HISTORY_CANONICAL}"),
    "http://site4.example/p/1": HistoryCase("page_error", "500 Internal Server Error"),
    "http://site4.example/p/2": HistoryCase(
        "fetch_failed", "no answer: the connection is closed (status null, an error)"),
    HISTORY_DISALLOWED: HistoryCase(
        "not_recrawled", "disallowed by site4's robots.txt: a robots row, not fetched"),
}
NETWORK_SITES = 6  # the last regular sites that form edition 2's link networks


def network_target(site: int, n_sites: int) -> str | None:
    """The host a page of regular site ``site`` links to as a "Partner" from edition 2
    on: the first three of the last six sites link to site ``n_sites - 20``, the last
    three to site ``n_sites - 19``."""
    if n_sites < 30 or not n_sites - NETWORK_SITES <= site < n_sites:
        return None
    return f"site{n_sites - 20 if site < n_sites - NETWORK_SITES // 2 else n_sites - 19}.example"


# site4's robots.txt from edition 2: "$" ends the pattern (RFC 9309), so /p/30 stays allowed
_ROBOTS_TXT_SITE4 = ROBOTS_TXT + b"Disallow: /p/3$\n"
_NOT_FOLLOWED = {"nofollow", "ugc", "sponsored"}

_WORDS = (
    "garden river market winter travel coffee history science music design city "
    "mountain recipe bicycle ocean library photo guide review forest energy family "
    "report archive season journal health future kitchen lesson museum theatre harbor "
    "planet software bridge island weather village station studio festival story "
    "summer autumn spring lantern meadow pocket signal canvas engine compass"
).split()
_WORDS_DE = "Bücher Über Straße Grüße Käse Brücke Märchen Tür Öl Fluss Wald Stadt".split()
_URL_RE = re.compile(r"(https?)://([^/?#]+)([^?#]*)(\?[^#]*)?\Z")
_PAGE_RE = re.compile(r"/p/(0|[1-9][0-9]{0,8})\Z")


@cache
def _filler_text() -> str:
    """64 KB of fixed word salad that pages slice their paragraphs from (fast filler)."""
    rng = random.Random(0x5EED)
    return " ".join(rng.choice(_WORDS) for _ in range(11000))


def _relative(src_dir: str, dst_path: str) -> str:
    """A relative href from directory ``src_dir`` (ends with /) to ``dst_path``."""
    src = [s for s in src_dir.split("/") if s]
    *dirs, name = dst_path.lstrip("/").split("/")
    common = 0
    while common < min(len(src), len(dirs)) and src[common] == dirs[common]:
        common += 1
    return "../" * (len(src) - common) + "/".join([*dirs[common:], name]) or "./"


class SyntheticWeb:
    """A seeded web of ``n_sites`` regular sites plus two special hosts."""

    def __init__(
        self,
        n_sites: int = 50,
        pages_per_site: int = 20,
        seed: int = 0,
        links_per_page: int = 12,
        filler_bytes: int = 0,
        cache_size: int = 2048,
        edition: int = 1,
    ) -> None:
        if n_sites < 5 or pages_per_site < 8:
            raise ValueError("the special cases need n_sites >= 5 and pages_per_site >= 8")
        self.n_sites = n_sites
        self.pages_per_site = pages_per_site
        self.seed = seed
        self.links_per_page = links_per_page
        self.filler_bytes = filler_bytes
        # A later edition is the same web some time later: every page's "Related" links
        # are drawn again, so some links are lost and others new, and the pages of
        # HISTORY_CASES change in known ways (history tests).
        self.edition = edition
        self.hosts: tuple[str, ...] = (
            *(f"site{k}.example" for k in range(n_sites)), BLOG_HOST, IDN_HOST,
        )
        self._site_of = {host: i for i, host in enumerate(self.hosts)}
        # Zipf-like popularity: site k is linked ~1/(k+1) as often as site0.
        weights = [1 / (k + 1) for k in range(n_sites)] + [0.3, 0.3]
        self._cum = [sum(weights[: i + 1]) for i in range(len(weights))]
        self._page = lru_cache(maxsize=cache_size)(self._build)
        self._title = lru_cache(maxsize=1 << 14)(self._make_title)

    # ------------------------------------------------------------------ public API

    def seeds(self) -> list[str]:
        """The home page of every served host."""
        return [f"http://{host}/" for host in self.hosts]

    def response(self, method: str, url: str) -> Response:
        """What the proxy answers for ``method url`` (``url`` absolute, normalised)."""
        norm = normalize_url(url)
        if norm is None:
            body = b"400 Bad Request\n"
            return Response(400, [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))], body)
        if method not in ("GET", "HEAD"):
            body = b"405 Method Not Allowed\n"
            return Response(405, [("Content-Type", "text/plain"), ("Allow", "GET, HEAD"),
                                  ("Content-Length", str(len(body)))], body)
        response = self._page(norm).response
        return Response(response.status, response.headers, b"") if method == "HEAD" else response

    def page(self, url: str) -> Page:
        """Response and ground truth of one normalised URL (cached, bounded)."""
        return self._page(url)

    def page_links(self, url: str) -> list[ExpectedEdge]:
        """The edges the extractor must produce when it fetches ``url``."""
        if url.startswith("https:"):
            return []
        return list(self._page(url).edges)

    def page_facts(self, url: str) -> ExpectedPage:
        """The ``pages`` row the crawler must record when it fetches ``url``."""
        if url.startswith("https:"):
            # The crawler tunnels https with CONNECT, which this proxy refuses: no response.
            return ExpectedPage(url, None, None)
        return self._page(url).facts

    def robots_allowed(self, url: str) -> bool:
        """Whether the host's robots.txt lets a crawler fetch ``url``."""
        match = _URL_RE.match(url)
        if match is None or host_of(url) not in self._site_of or match.group(1) != "http":
            return True  # no robots.txt (502 or no response): everything is allowed
        if self.edition >= 2 and url == HISTORY_DISALLOWED:  # "/p/3$": no query string
            return False
        return not (match.group(3) or "/").startswith("/private/")

    def expected_crawl(
        self, seeds: list[str] | None = None, scope: str = "seed-domains"
    ) -> ExpectedCrawl:
        """Every pages row an unlimited crawl from ``seeds`` records and every edge it
        stores: a row for each page it fetches, and one (status None, error
        ``robots: …``, no edges) for each in-scope URL it reaches that robots.txt
        disallows, never requested.

        ``seeds`` are normalised URLs (as :meth:`seeds` gives them): the truth does not
        normalise with the product's code.
        """
        if scope not in CRAWL_SCOPES:
            raise ValueError(f"scope must be one of {CRAWL_SCOPES}")
        start = list(seeds or self.seeds())
        for seed in start:
            if not _URL_RE.match(seed) or seed != seed.strip() or host_of(seed) not in seed:
                raise ValueError(f"not a normalised seed URL: {seed!r}")
        domains = {domain_of(host_of(u)) for u in start}
        crawl = ExpectedCrawl()
        queue: deque[str] = deque()
        seen: set[str] = set()

        def reach(url: str) -> None:
            """A URL the crawl finds: fetched later, or a robots row now, or nothing."""
            if url in seen or not (scope == "any" or domain_of(host_of(url)) in domains):
                return
            seen.add(url)
            if self.robots_allowed(url):
                queue.append(url)
            else:
                crawl.pages[url] = disallowed_page(url)

        for seed in dict.fromkeys(start):
            reach(seed)
        while queue:
            url = queue.popleft()
            facts = self.page_facts(url)
            edges = self.page_links(url)
            crawl.pages[url] = facts
            crawl.edges.extend(edges)
            if facts.redirect_to is not None:
                follow = [facts.redirect_to]
            elif facts.is_html_2xx and not facts.meta_nofollow:
                follow = [e.dst_url for e in edges]
            else:
                follow = []
            for dst in follow:
                reach(dst)
        return crawl

    # ------------------------------------------------------------------ rendering

    def _build(self, url: str) -> Page:
        match = _URL_RE.match(url)
        host = match.group(2) if match else ""
        if match is None or match.group(1) != "http" or host not in self._site_of:
            body = f"502 Bad Gateway: no such host {host}\n".encode()
            return plain_page(url, 502, "text/plain; charset=utf-8", body)
        path = match.group(3) or "/"
        if path == "/robots.txt":
            later = self.edition >= 2 and host == "site4.example"
            return plain_page(url, 200, "text/plain; charset=utf-8",
                              _ROBOTS_TXT_SITE4 if later else ROBOTS_TXT)
        if host == "site0.example" and path in cases.CASES:
            return cases.CASES[path][0](url)
        if path.startswith(("/private/", "/hidden/")):
            return cases.dead_end(url, path)
        site = self._site_of[host]
        if path == "/":
            return self._regular(url, site, None)
        page = _PAGE_RE.match(path)
        if page is not None and int(page.group(1)) < self.pages_per_site:
            history = HISTORY_CASES.get(f"http://{host}{path}") if self.edition >= 2 else None
            change = history.change if history else None
            # the pages that stop answering 200 are made as site0's cases are
            if change == "page_gone":
                return cases.not_found(url)
            if change == "page_redirects":
                return redirect_page(url, 301, "/p/3", HISTORY_REDIRECT_TO)
            if change == "page_error":
                return cases_http.error_page(url)
            if change == "fetch_failed":
                return no_response_page(url)
            return self._regular(url, site, int(page.group(1)), change)
        return cases.not_found(url)

    def _make_title(self, site: int, page: int | None) -> str:
        if page is None:
            return "Home"
        rng = random.Random(f"{self.seed}|title|{self.hosts[site]}|{page}")
        words = _WORDS_DE if self.hosts[site] == IDN_HOST else _WORDS
        return " ".join(rng.choice(words) for _ in range(rng.randint(2, 4))).capitalize()

    def _name(self, site: int) -> str:
        host = self.hosts[site]
        if host == BLOG_HOST:
            return "Site 1 Blog"
        return "Bücher" if host == IDN_HOST else f"Site {site}"

    def _href(self, rng: random.Random, src_host: str, src_dir: str, dst: str) -> str:
        """Some href syntax for the normalised ``dst`` as seen from ``src_host``."""
        host, _, path = dst[7:].partition("/")
        path = "/" + path
        r = rng.random()
        if host == src_host:
            if r < 0.4:
                return path
            if r < 0.7:
                return _relative(src_dir, path)
            if r < 0.8:
                rel = _relative(src_dir, path)
                return rel if rel.startswith(".") else "./" + rel
            return dst
        if host == IDN_HOST and r < 0.6:
            return f"http://{IDN_UNICODE}{path}"
        if r < 0.3:
            return "//" + host + path
        if r < 0.4 and host != IDN_HOST:
            return f"http://{host.upper()}{path}"
        return dst

    def _target(self, rng: random.Random, site: int) -> str:
        """A link target: an own page (35%) or a popularity-weighted page elsewhere."""
        if rng.random() >= 0.35:
            site = bisect(self._cum, rng.random() * self._cum[-1])
        page = int(rng.random() * (self.pages_per_site + 1)) - 1
        host = self.hosts[site]
        return f"http://{host}/" if page < 0 else f"http://{host}/p/{page}"

    def _words(self, rng: random.Random, site: int, lo: int = 1, hi: int = 4) -> str:
        # rng.random() indexing: several times faster than rng.choice/randint.
        words = _WORDS_DE if self.hosts[site] == IDN_HOST else _WORDS
        rand, k = rng.random, len(words)
        count = lo + int(rand() * (hi - lo + 1))
        return " ".join([words[int(rand() * k)] for _ in range(count)]).capitalize()

    def _regular(self, url: str, site: int, page: int | None, change: str | None = None) -> Page:
        """A regular page; ``change`` (a HISTORY_CASES change) marks the same links and
        layout differently: page_noindex, now_nofollow or canonical_changed."""
        host = self.hosts[site]
        own = f"http://{host}/" if page is None else f"http://{host}/p/{page}"
        rng = random.Random(f"{self.seed}|{own}")  # the query string does not change a page
        src_dir = "/" if page is None else "/p/"
        name = self._name(site)
        n = self.pages_per_site
        lang = "de" if host == IDN_HOST else "en"
        title = f"{self._title(site, page)} — {name}"
        d = Doc(url)
        d.title, d.lang = title, lang

        nofollow_all = change == "now_nofollow"

        def rel_of(rel: str) -> str:
            # now_nofollow: a link followed before is nofollow now, the others keep theirs
            if nofollow_all and not _NOT_FOLLOWED & set(rel.split()):
                return f"{rel} nofollow".lstrip()
            return rel

        def link(dst: str, anchor: str, rel: str = "", rng: random.Random = rng) -> None:
            d.fast_a(self._href(rng, host, src_dir, dst), dst, anchor, rel_of(rel))

        d.raw(f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
              f"<title>{title}</title>\n"
              '<meta name="viewport" content="width=device-width, initial-scale=1">\n')
        if change == "page_noindex":
            d.raw('<meta name="robots" content="noindex, follow">\n')
            d.noindex = True
        d.raw('<link rel="stylesheet" href="/static/site.css">\n')
        if change == "canonical_changed":
            d.canonical(HISTORY_CANONICAL, HISTORY_CANONICAL)
        else:
            d.canonical(own, own)
        d.raw("</head>\n<body>\n")
        home = f"http://{host}/"
        with d.section('<header class="site-header">\n', "</header>\n", "header"):
            d.a(self._href(rng, host, src_dir, home), home,
                f'<img src="/static/logo.png" alt="{name} logo">', f"{name} logo",
                kind="img", alt=f"{name} logo", attrs=' class="logo"', rel=rel_of(""))
        with d.section('<nav class="main-menu">\n<ul>\n', "</ul>\n</nav>\n", "nav"):
            nav = [(home, "Home"), (f"{home}p/0", "Archive"),
                   (f"{home}p/{rng.randrange(n)}", "Popular"),
                   (f"{home}p/{0 if page is None else (page + 1) % n}", "Next page")]
            for dst, anchor in nav:
                d.raw("<li>")
                link(dst, anchor)
                d.raw("</li>\n")
        body = max(self.links_per_page - 7, 2)
        n_aside = max(body // 4, 1)
        n_main = body - n_aside
        filler = _filler_text()
        chunk = max(self.filler_bytes // max(n_main, 1), 40)
        with d.section("<main>\n<article>\n", "</article>\n</main>\n", "content"):
            d.raw(f"<h1>{title}</h1>\n")
            if page is None:
                d.raw("<h2>Pages</h2>\n<ul>\n")
                for i in range(n):
                    d.raw("<li>")
                    link(f"{home}p/{i}", self._title(site, i))
                    d.raw("</li>\n")
                d.raw("</ul>\n")
                if site == 0:
                    cases.home_section(d)
            for _ in range(n_main):
                start = filler.find(" ", int(rng.random() * (len(filler) - chunk))) + 1
                text = filler[start : start + chunk].rpartition(" ")[0]
                d.raw("<p>", text, " ")
                dst = self._target(rng, site)
                r = rng.random()
                if r < 0.08:
                    alt = self._words(rng, site, 2, 4)
                    d.a(self._href(rng, host, src_dir, dst), dst,
                        f'<img src="/img/{rng.randrange(1000)}.jpg" alt="{alt}">', alt,
                        kind="img", alt=alt, rel=rel_of(""))
                else:
                    rel = "nofollow" if r < 0.14 else "ugc nofollow" if r < 0.17 else (
                        "sponsored noopener" if r < 0.19 else "")
                    link(dst, self._words(rng, site), rel)
                d.raw(".</p>\n")
        with d.section('<aside class="widget-area">\n<h2>Related</h2>\n<ul>\n',
                       "</ul>\n</aside>\n", "aside"):
            related = rng if self.edition == 1 else random.Random(
                f"{self.seed}|{own}|edition {self.edition}")
            for _ in range(n_aside):
                d.raw("<li>")
                link(self._target(related, site), self._words(related, site), rng=related)
                d.raw("</li>\n")
        with d.section('<footer class="site-footer">\n', "</footer>\n", "footer"):
            # A ring over the regular sites keeps all of them reachable from any one.
            ring = (self.hosts[(site + 1) % self.n_sites] if site < self.n_sites
                    else "site1.example" if host == BLOG_HOST else "site2.example")
            link("http://site0.example/", "Link hub")
            d.raw(" | ")
            link(f"http://{ring}/", "Next site")
            partner = network_target(site, self.n_sites) if self.edition >= 2 else None
            if partner is not None:  # its own generator: edition 1's draws stay as they were
                d.raw(" | ")
                link(f"http://{partner}/", "Partner",
                     rng=random.Random(f"{self.seed}|{own}|network"))
            if page is None:
                d.raw(" | ")
                link(f"{home}private/login", "Log in", "nofollow")
        d.raw("</body>\n</html>\n")
        return d.finish()
