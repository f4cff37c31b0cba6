"""A second, small synthetic web for the link-audit features, with exact ground truth.

    web = AuditWeb()
    with WebServer(web) as server:           # the same loopback forward proxy
        ...crawl web.seeds() through server.proxy_url, resolving hosts by web.addresses()...
    web.backlinks("acme-widgets.example")    # what the audit must find, link by link

The audited site is ``acme-widgets.example`` (brand token "acme-widgets", user brand
:data:`BRANDS`, keywords :data:`KEYWORDS`); ``globex-gadgets.example`` is its competitor.
Referring sites: ``widget-news.example`` (one link per anchor class, on-topic, dead
external links), German, French and Spanish blogs (generic anchors in their language),
``footer-partner.example`` (a footer link on 6/6 pages: sitewide),
``half-partner.example`` (2/6 pages), ``recipes-blog.example`` (off-topic) and a link
network ``net-a.example`` .. ``net-f.example`` (one /24, identical link profiles,
30+ outlinks a page, off-topic). Every page is fixed: no randomness.

Layout of a page (positions the extractor gives): ``<header>`` (the site's name, to
``/``), ``<nav>`` (every page of the site), ``<main>`` (``<h1>``, ``<p>``, ``<h2>``,
``<p>``, then one ``<p>`` per content link, then a ``<ul>`` of outlinks on network
pages), widget-news also an ``<aside>``, then ``<footer>``. ``<html lang>`` and
``<title>`` on every page. robots.txt allows everything except on
``blocked-site.example`` (``Disallow: /private/``); ``silent-host.example`` never
answers (not even robots.txt).

API (``AuditWeb()``):

- ``response(method, url) -> Response``: what the proxy sends (GET and HEAD; HEAD: the
  same status and headers, no body; ``head-hater.example/page`` answers HEAD with 405);
- ``seeds() -> list[str]``: the home page of every site to crawl (not the spam targets,
  not the dead-target hosts);
- ``addresses() -> dict[str, str]``: host -> IPv4 address (audit_truth.addresses);
- ``page(url) -> Page`` and ``pages() -> dict[str, ExpectedPage]`` (every URL served,
  robots.txt files aside); ``robots_allowed(url) -> bool``;
- ``links(src_url=None) -> list[AuditLink]``: every link of every page, or of one;
  ``backlinks(domain) -> list[AuditLink]``: the external links into ``domain``;
- ``page_texts() -> dict[str, PageText]``: title, headings, text of every HTML page;
- ``expected_crawl() -> ExpectedCrawl``: the rows and edges a crawl of :meth:`seeds`
  (scope seed-domains) records;
- ``link_shares() -> dict[tuple[str, str], tuple[int, int]]``: (src_domain,
  dst_domain) -> (pages linking, pages of the source domain), external pairs;
- ``sitewide() -> frozenset[tuple[str, str]]``, ``dead_targets() ->
  tuple[DeadTarget, ...]``, ``network_domains() -> tuple[str, ...]``.

Constants (synthweb.audit_truth): BRANDS, KEYWORDS, ACME, GLOBEX, NETWORK_DOMAINS,
NETWORK_SUBNET, SHARED_HOSTING, SITEWIDE, TOPICAL, DEAD_TARGETS; the anchor class rules
are in audit_truth's docstring.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from core.urls import normalize_url  # serving only, as in synthweb.web
from synthweb.audit_sites import SEED_SITES, TARGET_SITES, PageSpec, SiteSpec
from synthweb.audit_truth import (
    ACME,
    ALL_HOSTS,
    BLOCKED_HOST,
    BRANDS,
    DEAD_TARGETS,
    GLOBEX,
    HEAD_HATER,
    KEYWORDS,
    NETWORK_DOMAINS,
    NETWORK_SUBNET,
    SEED_HOSTS,
    SHARED_HOSTING,
    SILENT_HOST,
    SITEWIDE,
    TOPICAL,
    AuditLink,
    DeadTarget,
    LinkSpec,
    PageText,
    addresses,
)
from synthweb.truth import (
    Doc,
    ExpectedCrawl,
    ExpectedPage,
    Page,
    Response,
    collapse,
    domain_of,
    host_of,
    no_response_page,
    plain_page,
    redirect_page,
)

__all__ = [
    "ACME", "BRANDS", "DEAD_TARGETS", "GLOBEX", "KEYWORDS", "NETWORK_DOMAINS", "NETWORK_SUBNET",
    "SHARED_HOSTING", "SITEWIDE", "TOPICAL", "AuditLink", "AuditWeb", "DeadTarget", "PageText",
]

ROBOTS_ALLOW_ALL = b"User-agent: *\nDisallow:\n"
ROBOTS_BLOCKED = b"User-agent: *\nDisallow: /private/\n"
_HTML = "text/html; charset=utf-8"
# (anchor_class, text_before, text_after) of each link of a page, in document order
_Note = tuple[str | None, str, str]


def _error_body(status: int, what: str) -> bytes:
    return f"<!DOCTYPE html>\n<h1>{status} {what}</h1>\n<p><a href=\"/\">Home</a></p>\n".encode()


def _text(status: int, body: bytes, *headers: tuple[str, str]) -> Response:
    return Response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers,
                             ("Content-Length", str(len(body)))], body)


def _stored(position: str | None, text: str) -> str | None:
    """The text beside a link as EDGES.text_before / text_after keep it: content links
    only, None for none."""
    return text or None if position == "content" else None


class _Render:
    """One HTML page written with Doc, with the audit notes and text beside it."""

    def __init__(self, site: SiteSpec, spec: PageSpec) -> None:
        self.site, self.spec = site, spec
        self.url = f"http://{site.host}{spec.path}"
        self.d = Doc(self.url)
        self.notes: list[_Note] = []
        self.link_texts: list[str] = []

    def link(self, ls: LinkSpec, href: str | None = None) -> None:
        if ls.kind == "img":
            inner = f'<img src="/img/logo.png" alt="{escape(ls.anchor)}">'
            self.d.a(href or ls.dst, ls.dst, inner, ls.anchor, kind="img", alt=ls.anchor,
                     rel=ls.rel)
        else:
            self.d.a(href or ls.dst, ls.dst, escape(ls.anchor), ls.anchor, rel=ls.rel)
        self.notes.append((ls.anchor_class, ls.before, ls.after))

    def block(self, ls: LinkSpec, tag: str = "p") -> str:
        """A <p> (or <li>): text before, the link, text after; its visible text."""
        self.d.raw(f"<{tag}>", escape(ls.before), " " if ls.before else "")
        self.link(ls)
        self.d.raw(" " if ls.after else "", escape(ls.after), f"</{tag}>\n")
        return collapse(" ".join((ls.before, ls.visible, ls.after)))

    def internal(self, path: str, label: str) -> LinkSpec:
        return LinkSpec(f"http://{self.site.host}{path}", label)

    def render(self) -> tuple[Page, PageText, tuple[AuditLink, ...]]:
        site, spec, d = self.site, self.spec, self.d
        _, title, h1, h2, p1, p2 = spec.text
        d.title, d.lang = title, site.lang
        d.raw(f'<!DOCTYPE html>\n<html lang="{site.lang}">\n<head>\n<meta charset="utf-8">\n'
              f"<title>{escape(title)}</title>\n</head>\n<body>\n")
        if site.layout:
            with d.section("<header>\n", "</header>\n", "header"):
                self.link(self.internal("/", site.name), "/")
                d.raw("\n")
            with d.section("<nav>\n<ul>\n", "</ul>\n</nav>\n", "nav"):
                for page in site.pages:
                    d.raw("<li>")
                    self.link(self.internal(page.path, page.text[0]), page.path)
                    d.raw("</li>\n")
        with d.section("<main>\n", "</main>\n", "content"):
            d.raw(f"<h1>{escape(h1)}</h1>\n<p>{escape(p1)}</p>\n"
                  f"<h2>{escape(h2)}</h2>\n<p>{escape(p2)}</p>\n")
            self.link_texts.extend(self.block(ls) for ls in spec.links)
            if spec.items:
                d.raw('<ul class="offers">\n')
                self.link_texts.extend(self.block(ls, "li") for ls in spec.items)
                d.raw("</ul>\n")
        if site.aside:
            with d.section("<aside>\n", "</aside>\n", "aside"):
                self.block(LinkSpec(f"http://{site.host}/p/1", "blue widget test",
                                    "From the archive:"))
        if site.layout:
            with d.section("<footer>\n", "</footer>\n", "footer"):
                d.raw(f"<p>© 2024 {escape(site.name)}</p>\n")
                for ls in spec.footer:
                    self.block(ls)
        d.raw("</body>\n</html>\n")
        page = d.finish()
        edges = page.edges
        assert len(edges) == len(self.notes), self.url
        home = spec.path == "/"
        links = tuple(
            AuditLink(e.src_url, e.dst_url, e.anchor, e.kind, e.alt, e.nofollow, e.ugc,
                      e.sponsored, e.position, e.ordinal, cls, _stored(e.position, before),
                      _stored(e.position, after), home)
            for e, (cls, before, after) in zip(edges, self.notes, strict=True))
        text = PageText(self.url, site.lang, title, (h1, h2), (p1, p2),
                        tuple(self.link_texts))
        return page, text, links


class AuditWeb:
    """The audit web (module docstring): every page built once, at construction."""

    def __init__(self) -> None:
        self._pages: dict[str, Page] = {}
        self._texts: dict[str, PageText] = {}
        self._links: dict[str, tuple[AuditLink, ...]] = {}
        for site in (*SEED_SITES, *TARGET_SITES):
            for spec in site.pages:
                page, text, links = _Render(site, spec).render()
                self._pages[text.url] = page
                self._texts[text.url] = text
                self._links[text.url] = links
        for status, what, url in (
                (404, "Not Found", "http://gone-shop.example/old-page"),
                (410, "Gone", "http://gone-shop.example/removed"),
                (500, "Internal Server Error", "http://broken-server.example/")):
            self._pages[url] = plain_page(url, status, _HTML, _error_body(status, what))
        moved = "http://moved-site.example/y"
        self._pages["http://moved-site.example/x"] = redirect_page(
            "http://moved-site.example/x", 301, moved, moved)
        self._pages[f"http://{SILENT_HOST}/"] = no_response_page(f"http://{SILENT_HOST}/")
        self._seed_pages = {url for url in self._pages if host_of(url) in SEED_HOSTS}

    # ------------------------------------------------------------------ serving

    def response(self, method: str, url: str) -> Response:
        """What the proxy answers for ``method url`` (``url`` absolute)."""
        norm = normalize_url(url)
        if norm is None:
            return _text(400, b"400 Bad Request\n")
        if method not in ("GET", "HEAD"):
            return _text(405, b"405 Method Not Allowed\n", ("Allow", "GET, HEAD"))
        if method == "HEAD" and norm == HEAD_HATER:
            return _text(405, b"", ("Allow", "GET"))
        response = self.page(norm).response
        return Response(response.status, response.headers, b"") if method == "HEAD" else response

    def page(self, url: str) -> Page:
        """Response and truth of one normalised URL (404 or 502 pages for unknown ones)."""
        known = self._pages.get(url)
        if known is not None:
            return known
        host = host_of(url) if url.startswith("http://") else ""
        if host == SILENT_HOST:
            return no_response_page(url)
        if host not in ALL_HOSTS:
            return plain_page(url, 502, "text/plain; charset=utf-8",
                              f"502 Bad Gateway: no such host {host}\n".encode())
        if url == f"http://{host}/robots.txt":
            return plain_page(url, 200, "text/plain; charset=utf-8",
                              ROBOTS_BLOCKED if host == BLOCKED_HOST else ROBOTS_ALLOW_ALL)
        return plain_page(url, 404, _HTML, _error_body(404, "Not Found"))

    # ------------------------------------------------------------------ truth

    def seeds(self) -> list[str]:
        """The home page of every site a crawl starts from (audit_truth.SEED_HOSTS)."""
        return [f"http://{host}/" for host in SEED_HOSTS]

    def addresses(self) -> dict[str, str]:
        """host -> IPv4 address of every served host (see audit_truth.addresses)."""
        return addresses()

    def pages(self) -> dict[str, ExpectedPage]:
        """The pages row of every URL served (robots.txt files aside)."""
        return {url: page.facts for url, page in self._pages.items()}

    def robots_allowed(self, url: str) -> bool:
        """Whether the URL's host's robots.txt lets a crawler fetch it."""
        return not (host_of(url) == BLOCKED_HOST and url.startswith(
            f"http://{BLOCKED_HOST}/private/"))

    def links(self, src_url: str | None = None) -> list[AuditLink]:
        """Every link of every HTML page (page order, then document order), or of one."""
        if src_url is not None:
            return list(self._links.get(src_url, ()))
        return [link for links in self._links.values() for link in links]

    def backlinks(self, domain: str = ACME) -> list[AuditLink]:
        """The external links into ``domain`` from the crawled (seed) sites."""
        return [link for link in self.links()
                if link.dst_domain == domain and link.external
                and link.src_url in self._seed_pages]

    def page_texts(self) -> dict[str, PageText]:
        """Title, headings and text of every HTML page, by URL."""
        return dict(self._texts)

    def expected_crawl(self) -> ExpectedCrawl:
        """What a crawl of :meth:`seeds` with scope seed-domains records: every page of
        the seed hosts (all reachable, all allowed) and their edges."""
        crawl = ExpectedCrawl()
        for url in sorted(self._seed_pages):
            crawl.pages[url] = self._pages[url].facts
            crawl.edges.extend(self._pages[url].edges)
        return crawl

    def link_shares(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(src_domain, dst_domain) -> (pages of the source linking to the target, pages
        of the source) for every external pair, over the seed sites' pages."""
        n_pages: dict[str, int] = defaultdict(int)
        linking: dict[tuple[str, str], set[str]] = defaultdict(set)
        for url in self._seed_pages:
            n_pages[domain_of(host_of(url))] += 1
            for link in self._links.get(url, ()):
                if link.external:
                    linking[(link.src_domain, link.dst_domain)].add(url)
        return {pair: (len(urls), n_pages[pair[0]]) for pair, urls in sorted(linking.items())}

    def sitewide(self) -> frozenset[tuple[str, str]]:
        return SITEWIDE

    def dead_targets(self) -> tuple[DeadTarget, ...]:
        return DEAD_TARGETS

    def network_domains(self) -> tuple[str, ...]:
        return NETWORK_DOMAINS

