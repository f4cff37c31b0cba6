"""Ground-truth records and the HTML builder that emits markup and truth together.

Every link is written through :class:`Doc`, which appends the markup *and* records the
edge the extractor must produce for it (docs/extraction.md). The expected target,
anchor and position are stated by the caller, never recovered by parsing the output.

Hosts and registrable domains of the truth are computed here with urllib, the idna
codec, ipaddress and tldextract directly, never with core.urls or core.domains: the oracle
must not share the product's bugs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from html import escape
from typing import Any
from urllib.parse import urlsplit

import tldextract

from core.schema import ANCHOR_MAX_CHARS


@lru_cache(maxsize=1 << 14)
def host_of(url: str) -> str:
    """The ``host`` column of a URL the truth states (already in normalised form).

    Lower case, no port or user info, IDNA A-labels (the stdlib codec), no trailing
    dot; an IPv6 literal keeps its brackets.
    """
    host = urlsplit(url).hostname  # lower-cased; port, user info and brackets dropped
    if not host:
        raise ValueError(f"the truth states a URL without a host: {url!r}")
    if ":" in host:
        ipaddress.IPv6Address(host)  # raises on anything else
        return f"[{host}]"
    host = host.rstrip(".")
    return host if host.isascii() else host.encode("idna").decode("ascii")


@cache
def _public_suffixes() -> tldextract.TLDExtract:
    # The bundled snapshot only (no network, no cache), ICANN section (docs/decisions.md).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                 include_psl_private_domains=False)


@lru_cache(maxsize=1 << 14)
def domain_of(host: str) -> str:
    """The registrable domain of a ``host_of`` host, by the Public Suffix List.

    An IP literal or a single label is its own domain; a host that is itself a public
    suffix too; under a suffix the list does not know (``site1.example``) the implicit
    ``*`` rule holds: the last two labels.
    """
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return host
    if "." not in host:
        return host
    parts = _public_suffixes()(host)
    if parts.top_domain_under_public_suffix:
        return parts.top_domain_under_public_suffix
    if parts.suffix:
        return host
    return ".".join(host.split(".")[-2:])


# Response.status of a URL whose server closes the connection without answering (no
# status line at all): the crawler's fetch fails, as on a dropped connection.
NO_RESPONSE = 0


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response as the server sends it (Connection header excepted); status
    :data:`NO_RESPONSE`: none is sent, the connection is closed."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass(frozen=True, slots=True)
class ExpectedEdge:
    """One edge the extractor must emit (raw edge columns minus crawl_id/fetched_at)."""

    src_url: str
    dst_url: str
    anchor: str
    kind: str
    alt: str | None
    nofollow: bool
    ugc: bool
    sponsored: bool
    position: str | None
    ordinal: int

    @property
    def src_host(self) -> str:
        return host_of(self.src_url)

    @property
    def dst_host(self) -> str:
        return host_of(self.dst_url)

    @property
    def src_domain(self) -> str:
        return domain_of(self.src_host)

    @property
    def dst_domain(self) -> str:
        return domain_of(self.dst_host)

    @property
    def external(self) -> bool:
        return self.src_domain != self.dst_domain

    def row(self) -> dict[str, Any]:
        """All raw edge columns except crawl_id and fetched_at."""
        return {
            "src_url": self.src_url,
            "src_host": self.src_host,
            "src_domain": self.src_domain,
            "dst_url": self.dst_url,
            "dst_host": self.dst_host,
            "dst_domain": self.dst_domain,
            "anchor": self.anchor,
            "kind": self.kind,
            "alt": self.alt,
            "nofollow": self.nofollow,
            "ugc": self.ugc,
            "sponsored": self.sponsored,
            "position": self.position,
            "ordinal": self.ordinal,
            "external": self.external,
        }


# pages.error of a URL the crawler does not fetch because robots.txt disallows it: the
# crawler still records a row (status null, no links, no WARC record). Stated here, not
# imported from crawler.failures: the oracle does not share the product's code.
ROBOTS_ERROR = "robots: disallowed by robots.txt"
# error kinds of rows for URLs never requested: robots.txt, the private-address guard
NOT_FETCHED_KINDS = ("robots", "refused")
# pages.error of a fetch whose connection the server closes without answering (after
# the crawler's retries), as the crawler words it: stated, not imported, as above.
NO_RESPONSE_ERROR = "connection: Connection was closed cleanly."


@dataclass(frozen=True, slots=True)
class ExpectedPage:
    """What the crawler must record in ``pages`` for one URL it reaches.

    ``status`` is None when the fetch gives no HTTP response (https through this
    proxy: it refuses CONNECT; a :data:`NO_RESPONSE` page: the connection is closed)
    or when there is no fetch at all (robots.txt disallows the URL: ``error`` is then
    :data:`ROBOTS_ERROR`). ``content_type`` is the lower-case media type only.
    ``error`` is the ``pages.error`` the truth states: None for every response (an
    HTTP 4xx/5xx has no error text), ROBOTS_ERROR for a disallowed URL,
    :data:`NO_RESPONSE_ERROR` for a closed connection; for https (no response) the
    truth states none, the proxy's refusal is the crawler's to word.
    """

    url: str
    status: int | None
    content_type: str | None
    title: str | None = None
    lang: str | None = None
    redirect_to: str | None = None
    canonical: str | None = None
    meta_noindex: bool = False
    meta_nofollow: bool = False
    n_skipped_links: int = 0
    n_links: int = 0
    n_external_links: int = 0
    content_length: int | None = None
    error: str | None = None

    @property
    def error_kind(self) -> str | None:
        """The kind of ``error`` ("robots", …): the text before its first colon."""
        return None if self.error is None else self.error.partition(":")[0]

    @property
    def fetched(self) -> bool:
        """Whether the crawler requests the URL (False: robots.txt disallows it)."""
        return self.error_kind not in NOT_FETCHED_KINDS

    @property
    def is_html_2xx(self) -> bool:
        return (
            self.status is not None
            and 200 <= self.status < 300
            and self.content_type in ("text/html", "application/xhtml+xml")
        )

    def row(self) -> dict[str, Any]:
        """The page columns this ground truth decides (url, host, domain included).

        A URL not fetched, or fetched with no response, has its identity and ``error``
        only: every column a response or its extraction fills is null (not False or 0:
        nothing was read)."""
        host = host_of(self.url)
        identity = {"url": self.url, "host": host, "domain": domain_of(host)}
        if not self.fetched or self.status is None:
            return {**identity, **dict.fromkeys(_RESPONSE_COLUMNS), "error": self.error}
        return {
            **identity,
            "status": self.status,
            "content_type": self.content_type,
            "content_length": self.content_length,
            "title": self.title,
            "lang": self.lang,
            "redirect_to": self.redirect_to,
            "canonical": self.canonical,
            "meta_noindex": self.meta_noindex,
            "meta_nofollow": self.meta_nofollow,
            "n_links": self.n_links,
            "n_external_links": self.n_external_links,
            "n_skipped_links": self.n_skipped_links,
            "error": self.error,
        }


_RESPONSE_COLUMNS = (
    "status", "content_type", "content_length", "title", "lang", "redirect_to", "canonical",
    "meta_noindex", "meta_nofollow", "n_links", "n_external_links", "n_skipped_links",
)


def disallowed_page(url: str) -> ExpectedPage:
    """The row of a URL the crawl reaches but robots.txt disallows: never requested."""
    return ExpectedPage(url, None, None, error=ROBOTS_ERROR)


Truth = tuple[ExpectedPage, tuple[ExpectedEdge, ...], tuple[tuple[str, str, str | None], ...]]


@dataclass
class ExpectedCrawl:
    """Every pages row a correct crawl records, and every edge it stores.

    ``pages`` holds the URLs fetched and those robots.txt disallows (a row each, not
    fetched: ``ExpectedPage.fetched`` is False); :attr:`fetched` only the former.
    """

    pages: dict[str, ExpectedPage] = field(default_factory=dict)
    edges: list[ExpectedEdge] = field(default_factory=list)

    @property
    def fetched(self) -> dict[str, ExpectedPage]:
        """The pages the crawl requests (every row but those of disallowed URLs)."""
        return {url: page for url, page in self.pages.items() if page.fetched}

    @property
    def disallowed(self) -> set[str]:
        """The URLs the crawl reaches but robots.txt disallows: rows, never requested."""
        return {url for url, page in self.pages.items() if page.error_kind == "robots"}


class Page:
    """A rendered URL: its response, and its truth computed on first use.

    The server only needs ``response``; building edge records costs as much as the
    HTML, so ``facts``, ``edges`` and ``hrefs`` are made lazily.
    """

    __slots__ = ("response", "_truth", "_done")

    def __init__(self, response: Response, truth: Callable[[], Truth]) -> None:
        self.response = response
        self._truth = truth
        self._done: Truth | None = None

    def _get(self) -> Truth:
        # Two threads may both compute it: same value, so no lock is needed.
        if self._done is None:
            self._done = self._truth()
        return self._done

    @property
    def facts(self) -> ExpectedPage:
        return self._get()[0]

    @property
    def edges(self) -> tuple[ExpectedEdge, ...]:
        return self._get()[1]

    @property
    def hrefs(self) -> tuple[tuple[str, str, str | None], ...]:
        """(href as the parser sees it, base URL, expected target or None when skipped):
        lets tests check hand-written targets against core.urls.absolutize."""
        return self._get()[2]


def collapse(text: str) -> str:
    """The contract's whitespace rule (NBSP included); used only on literal plain text."""
    return " ".join(text.split())


class Doc:
    """Builds an HTML page and its expected edges side by side.

    ``position`` of a link is the innermost landmark opened with :meth:`section`
    (``content`` outside any), exactly the contract's nearest-ancestor rule.
    """

    def __init__(self, url: str, base: str | None = None) -> None:
        self.url = url
        self.base = base or url  # the resolved <base href>, stated by the caller
        self.out: list[str] = []
        self._links: list[tuple[str, str, str, str | None, str, str | None]] = []
        self._canonical: str | None = None
        self._positions = ["content"]
        self.skipped = 0
        self.hrefs: list[tuple[str, str, str | None]] = []
        self.title: str | None = None
        self.lang: str | None = None
        self.noindex = False
        self.nofollow = False

    def raw(self, *html: str) -> None:
        self.out.extend(html)

    @contextmanager
    def section(self, open_tag: str, close_tag: str, position: str | None) -> Iterator[None]:
        """Wrap markup in an element; ``position`` is the landmark it is, or None."""
        self.out.append(open_tag)
        self._positions.append(position or self._positions[-1])
        try:
            yield
        finally:
            self._positions.pop()
            self.out.append(close_tag)

    def _href_attr(self, href: str, dst: str | None, raw_attr: str | None) -> str:
        self.hrefs.append((href, self.base, dst))
        return raw_attr if raw_attr is not None else f'href="{escape(href)}"'

    def a(
        self,
        href: str,
        dst: str | None,
        inner: str,
        anchor: str | None = None,
        *,
        kind: str = "a",
        alt: str | None = None,
        rel: str = "",
        attrs: str = "",
        raw_href: str | None = None,
    ) -> None:
        """An ``<a>``; ``dst`` None means the href must be skipped (and counted).

        ``anchor`` defaults to ``inner``, which must then be plain single-spaced text.
        """
        if anchor is None:
            assert "<" not in inner and "&" not in inner and inner == collapse(inner), inner
            anchor = inner
        rel_attr = f' rel="{rel}"' if rel else ""
        self.out.append(f"<a {self._href_attr(href, dst, raw_href)}{rel_attr}{attrs}>{inner}</a>")
        self._record(dst, anchor, kind, alt, rel)

    def fast_a(self, href: str, dst: str, anchor: str, rel: str = "") -> None:
        """A plain text link whose href and anchor need no escaping (regular pages)."""
        self.hrefs.append((href, self.base, dst))
        if rel:
            self.out.append(f'<a href="{href}" rel="{rel}">{anchor}</a>')
        else:
            self.out.append(f'<a href="{href}">{anchor}</a>')
        self._record(dst, anchor, "a", None, rel)

    def area(self, href: str, dst: str | None, attrs: str, alt: str | None, rel: str = "") -> None:
        """An ``<area>``; ``alt`` is the expected (collapsed) alt, None when absent."""
        rel_attr = f' rel="{rel}"' if rel else ""
        self.out.append(f"<area {self._href_attr(href, dst, None)}{rel_attr} {attrs}>")
        self._record(dst, alt or "", "area", alt, rel)

    def canonical(self, href: str, dst: str) -> None:
        """A ``<link rel=canonical>``; only the first one on a page counts."""
        self.out.append(f'<link rel="canonical" href="{escape(href)}">')
        if self._canonical is None:
            self.hrefs.append((href, self.base, dst))
            self._canonical = dst

    def _record(self, dst: str | None, anchor: str, kind: str, alt: str | None, rel: str) -> None:
        if dst is None:
            self.skipped += 1
            return
        self._links.append((dst, anchor[:ANCHOR_MAX_CHARS], kind, alt, rel, self._positions[-1]))

    def edges(self) -> tuple[ExpectedEdge, ...]:
        src = self.url
        out: list[ExpectedEdge] = []
        if self._canonical is not None:
            out.append(
                ExpectedEdge(src, self._canonical, "", "canonical", None, False, False, False,
                             None, 0)
            )
        for dst, anchor, kind, alt, rel, position in self._links:
            tokens = rel.lower().split()
            out.append(
                ExpectedEdge(
                    src, dst, anchor, kind, alt, "nofollow" in tokens, "ugc" in tokens,
                    "sponsored" in tokens, position, len(out),
                )
            )
        return tuple(out)

    def finish(
        self,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        encoding: str = "utf-8",
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> Page:
        body = "".join(self.out).encode(encoding)
        self.out.clear()
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                   *extra_headers]
        main_type = content_type.partition(";")[0].strip().lower()

        def truth() -> Truth:
            edges = self.edges()
            facts = ExpectedPage(
                url=self.url,
                status=status,
                content_type=main_type,
                title=self.title,
                lang=self.lang,
                canonical=self._canonical,
                meta_noindex=self.noindex,
                meta_nofollow=self.nofollow,
                n_skipped_links=self.skipped,
                n_links=len(edges),
                n_external_links=sum(e.external for e in edges),
                content_length=len(body),
            )
            return facts, edges, tuple(self.hrefs)

        return Page(Response(status, headers, body), truth)


def plain_page(url: str, status: int, content_type: str, body: bytes,
               headers: tuple[tuple[str, str], ...] = ()) -> Page:
    """A response that gives no edges (non-HTML, 4xx, 5xx)."""
    hdrs = [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
    facts = ExpectedPage(url, status, content_type.partition(";")[0].strip().lower(),
                         content_length=len(body))
    return Page(Response(status, hdrs, body), lambda: (facts, (), ()))


def no_response_page(url: str) -> Page:
    """A URL the server answers by closing the connection: a fetch that fails, no edges."""
    facts = ExpectedPage(url, None, None, error=NO_RESPONSE_ERROR)
    return Page(Response(NO_RESPONSE, [], b""), lambda: (facts, (), ()))


def redirect_page(url: str, status: int, location: str, dst: str) -> Page:
    """A 3xx with an empty body; ``dst`` is ``location`` resolved and normalised."""
    edge = ExpectedEdge(url, dst, "", "redirect", None, False, False, False, None, 0)
    facts = ExpectedPage(url, status, None, redirect_to=dst, n_links=1,
                         n_external_links=int(edge.external), content_length=0)
    response = Response(status, [("Location", location), ("Content-Length", "0")], b"")
    return Page(response, lambda: (facts, (edge,), ((location, url, dst),)))
