"""Ground truth of the audit web (:mod:`synthweb.audit`), stated by hand.

What every page links to, with the class its anchor must get, the text around it and
where on the page it sits; the sitewide pairs, the link network, the addresses, the
dead targets. Nothing here comes from the product's code (core/, crawler/, index/,
queries/): hosts and domains go through :func:`synthweb.truth.host_of` / ``domain_of``.

Anchor classes (``AuditLink.anchor_class``), for a link into acme-widgets.example or
globex-gadgets.example (None for every other link). The anchor is normalised: lower
case, accents stripped, every run of non-alphanumerics one space, trimmed. Then the
first rule that holds:

- ``image``: the link wraps an ``<img>`` (kind ``img``);
- ``empty``: the normalised anchor is empty;
- ``naked_url``: the anchor is the target's URL or host, ``www.`` or scheme optional;
- ``branded``: it contains, as whole words, the target's brand token (the first label of
  its domain: "acme-widgets", "globex-gadgets") or a user brand (:data:`BRANDS`, acme
  only);
- ``exact``: it equals a keyword of :data:`KEYWORDS`;
- ``partial``: it contains every word of a keyword;
- ``generic``: it is a generic phrase ("click here", "Read more", "hier klicken",
  "Weiterlesen", "mehr erfahren", "cliquez ici", "En savoir plus", "haz clic aquí",
  "Leer más", "sitio web");
- ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from synthweb.truth import ExpectedEdge

ACME = "acme-widgets.example"
GLOBEX = "globex-gadgets.example"
NEWS = "widget-news.example"
WERKZEUG = "werkzeug-blog.example"
OUTILS = "outils-blog.example"
HERRAMIENTAS = "herramientas-blog.example"
FOOTER_PARTNER = "footer-partner.example"
HALF_PARTNER = "half-partner.example"
RECIPES = "recipes-blog.example"
BRAND_TOKEN = "acme-widgets"  # acme's brand token: the first label of its domain
BRANDS: tuple[str, ...] = ("Acme",)  # the user's extra brand names for acme
KEYWORDS: tuple[str, ...] = ("blue widgets", "widget supplier")
ANCHOR_CLASSES = ("image", "empty", "naked_url", "branded", "exact", "partial", "generic",
                  "other")

NETWORK_DOMAINS: tuple[str, ...] = tuple(f"net-{c}.example" for c in "abcdef")
NETWORK_SUBNET = "127.0.77.0/24"
SPAM_TARGETS: tuple[str, ...] = ("pills-target.example", "loans-target.example",
                                 "casino-target.example")
SPAM_HOSTS: tuple[str, ...] = tuple(f"spam-{k}.example" for k in range(1, 31))
# Hosts the crawl starts from (their home pages), in this order.
SEED_HOSTS: tuple[str, ...] = (ACME, GLOBEX, NEWS, WERKZEUG, OUTILS, HERRAMIENTAS,
                               FOOTER_PARTNER, HALF_PARTNER, RECIPES, *NETWORK_DOMAINS)
DEAD_HOSTS: tuple[str, ...] = ("gone-shop.example", "broken-server.example",
                               "silent-host.example", "moved-site.example",
                               "fine-site.example", "head-hater.example",
                               "blocked-site.example")
SILENT_HOST = "silent-host.example"  # every request to it: the connection closes, no answer
BLOCKED_HOST = "blocked-site.example"  # its robots.txt: Disallow: /private/
HEAD_HATER = "http://head-hater.example/page"  # 405 to HEAD, 200 to GET
# Every host served; a request for any other gets 502.
ALL_HOSTS: tuple[str, ...] = (*SEED_HOSTS, *SPAM_TARGETS, *SPAM_HOSTS, *DEAD_HOSTS)
# One IP for both (shared hosting): same address, same /24.
SHARED_HOSTING: tuple[str, str] = (NEWS, WERKZEUG)

# Whether a site's text is about the audited site's topic (widgets); sites not listed
# are left unstated.
TOPICAL: dict[str, bool] = {NEWS: True, GLOBEX: True, RECIPES: False,
                            **dict.fromkeys(NETWORK_DOMAINS, False)}

# (src_domain, dst_domain) external pairs where the source has >= SITEWIDE_MIN_PAGES
# pages and every one of them links to the target. footer-partner: 6/6 pages (footer);
# half-partner: 2/6 (not sitewide); widget-news: 3/5; the network domains link every
# target from 3/3 pages, fewer than SITEWIDE_MIN_PAGES (AuditWeb.link_shares has all).
SITEWIDE_MIN_PAGES = 5
SITEWIDE: frozenset[tuple[str, str]] = frozenset({(FOOTER_PARTNER, ACME)})


def addresses() -> dict[str, str]:
    """Each served host's IPv4 address: ``127.0.<k>.1``, a /24 of its own, except the
    six network domains (127.0.77.11 .. 127.0.77.16, one /24) and the two
    :data:`SHARED_HOSTING` hosts (one address)."""
    out: dict[str, str] = {}
    k = 0
    for host in ALL_HOSTS:
        if host in NETWORK_DOMAINS:
            out[host] = f"127.0.77.{11 + NETWORK_DOMAINS.index(host)}"
        elif host == SHARED_HOSTING[1]:
            out[host] = out[SHARED_HOSTING[0]]
        else:
            k += 1 + (k + 1 == 77)  # 77 is the network's
            out[host] = f"127.0.{k}.1"
    return out


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One link a page writes. ``anchor`` is what the extractor stores: the collapsed
    text, or for an image-only link its ``alt`` (docs/extraction.md: an ``<a>`` with
    no text takes its first image's alt). ``before``/``after``: the text of the same
    paragraph just before and after the link ('' if none)."""

    dst: str
    anchor: str
    before: str = ""
    after: str = ""
    rel: str = ""
    kind: str = "a"  # "a", or "img": an <a> wrapping <img alt=anchor> and no text
    anchor_class: str | None = None

    @property
    def visible(self) -> str:
        """The link's visible text (an image's alt is not)."""
        return "" if self.kind == "img" else self.anchor


@dataclass(frozen=True, slots=True)
class AuditLink(ExpectedEdge):
    """One link the extractor must record, with what the audit must say about it.

    An ExpectedEdge (its columns, hosts, domains, `external`) plus
    ``anchor_class`` (module docstring; None: not a link into acme or globex),
    ``text_before``/``text_after`` and ``from_homepage`` (the source is its host's
    home page ``/``).

    ``text_before``/``text_after`` are in the stored form (EDGES.text_before): the
    visible text of the link's paragraph before / after it, whitespace-collapsed and
    trimmed, None when that side has none, and None for every link not in ``content``
    (nav, header, aside, footer: the text around those is not kept). Every one here
    is under 60 characters (SNIPPET_CHARS), so no cut applies."""

    anchor_class: str | None
    text_before: str | None
    text_after: str | None
    from_homepage: bool

    def expected_edge(self) -> ExpectedEdge:
        """The link as the regular web's truth states one (ExpectedCrawl.edges)."""
        return ExpectedEdge(*(getattr(self, f.name) for f in fields(ExpectedEdge)))


@dataclass(frozen=True, slots=True)
class PageText:
    """The visible text of one HTML page, for topicality (TF-IDF) checks.

    ``headings``: the ``<h1>`` then the ``<h2>``; ``paragraphs``: the two text
    paragraphs of ``<main>`` (no links); ``link_texts``: the visible text of each
    paragraph or list item of ``<main>`` that holds a link, in page order. All
    whitespace-collapsed, as plain text (entities decoded)."""

    url: str
    lang: str
    title: str
    headings: tuple[str, ...]
    paragraphs: tuple[str, ...]
    link_texts: tuple[str, ...]

    @property
    def main_text(self) -> str:
        """Every paragraph and list item of <main>, in page order, joined by spaces."""
        return " ".join((*self.paragraphs, *self.link_texts))

    @property
    def all_text(self) -> str:
        """Title, headings and main text: the page's words outside nav, header, aside
        and footer (what a page's terms are counted from)."""
        return " ".join((self.title, *self.headings, self.main_text))


@dataclass(frozen=True, slots=True)
class DeadTarget:
    """An external URL widget-news links to, on a host that is not a seed.

    ``head_status``/``get_status``: the status each method gets (None: the connection
    closes with no answer). ``final_url``/``final_status``: after following redirects
    (GET). ``broken``: 4xx/5xx or no answer, redirects followed, by GET (a 405 to HEAD
    alone is not). ``robots_allowed``: False when its host's robots.txt disallows it (a
    checker that obeys robots.txt must not request it; it answers 200 if asked)."""

    url: str
    head_status: int | None
    get_status: int | None
    broken: bool
    robots_allowed: bool = True
    final_url: str | None = None
    final_status: int | None = None
    src_url: str = ""
    anchor: str = ""


def _dead(url: str, head: int | None, get: int | None, broken: bool, src: str, anchor: str,
          final: str | None = None, final_status: int | None = None,
          robots: bool = True) -> DeadTarget:
    return DeadTarget(url, head, get, broken, robots, final or url,
                      get if final_status is None else final_status, src, anchor)


_P3, _P4 = f"http://{NEWS}/p/3", f"http://{NEWS}/p/4"
DEAD_TARGETS: tuple[DeadTarget, ...] = (
    _dead("http://gone-shop.example/old-page", 404, 404, True, _P3, "old product page"),
    _dead("http://gone-shop.example/removed", 410, 410, True, _P3, "removed listing"),
    _dead("http://broken-server.example/", 500, 500, True, _P3, "spare parts server"),
    _dead("http://silent-host.example/", None, None, True, _P3, "silent sprocket shop"),
    _dead("http://moved-site.example/x", 301, 301, False, _P4, "moved gear guide",
          "http://moved-site.example/y", 200),
    _dead("http://fine-site.example/ok", 200, 200, False, _P4, "working widget forum"),
    _dead(HEAD_HATER, 405, 200, False, _P4, "picky catalogue server"),
    _dead("http://blocked-site.example/private/x", 200, 200, False, _P4, "members area",
          robots=False),
)
# The sentence around each dead-target link (before, after).
DEAD_CONTEXT: dict[str, tuple[str, str]] = {
    "http://gone-shop.example/old-page": ("Gone Shop once had an", "for its brass gears."),
    "http://gone-shop.example/removed": ("The same shop also pulled its", "last winter."),
    "http://broken-server.example/": ("Another dealer runs a", "that keeps crashing."),
    "http://silent-host.example/": ("Nobody answers at the", "any more."),
    "http://moved-site.example/x": ("A reader sent us a", "that now lives elsewhere."),
    "http://fine-site.example/ok": ("Still online is a", "full of helpful people."),
    HEAD_HATER: ("One dealer keeps a", "that refuses HEAD requests."),
    "http://blocked-site.example/private/x": ("Traders can log in to a", "behind a wall."),
}
