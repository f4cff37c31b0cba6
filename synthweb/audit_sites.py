"""The audit web's sites: their pages, and every external link each page writes.

Stated by hand (with :mod:`synthweb.audit_text` for the words and
:mod:`synthweb.audit_truth` for the names); :mod:`synthweb.audit` renders them. Each
site's pages also link to each other (header and nav, see synthweb.audit): those
internal links are added by the layout, not listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthweb.audit_text import (
    ACME_TEXT,
    GLOBEX_TEXT,
    HERRAMIENTAS_TEXT,
    NEWS_TEXT,
    OUTILS_TEXT,
    RECIPES_TEXT,
    WERKZEUG_TEXT,
    Text,
    network_text,
    partner_text,
    target_text,
)
from synthweb.audit_truth import (
    ACME,
    DEAD_CONTEXT,
    DEAD_TARGETS,
    FOOTER_PARTNER,
    GLOBEX,
    HALF_PARTNER,
    HERRAMIENTAS,
    NETWORK_DOMAINS,
    NEWS,
    OUTILS,
    RECIPES,
    SPAM_HOSTS,
    SPAM_TARGETS,
    WERKZEUG,
    LinkSpec,
)

A = f"http://{ACME}"
G = f"http://{GLOBEX}"


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One HTML page: its path, its text, and the links it writes.

    ``links``: a ``<p>`` each in ``<main>``, after the text; ``items``: a ``<ul>`` of
    one link per ``<li>`` after those; ``footer``: a ``<p>`` each in ``<footer>``."""

    path: str
    text: Text
    links: tuple[LinkSpec, ...] = ()
    items: tuple[LinkSpec, ...] = ()
    footer: tuple[LinkSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A site: ``name`` is its header link; ``layout`` False: pages with no header, nav,
    aside or footer (link targets only); ``aside``: an aside linking to ``/p/1``."""

    host: str
    name: str
    lang: str
    pages: tuple[PageSpec, ...]
    layout: bool = True
    aside: bool = False


def _pages(texts: dict[str, Text], links: dict[str, tuple[LinkSpec, ...]] | None = None
           ) -> tuple[PageSpec, ...]:
    return tuple(PageSpec(path, text, (links or {}).get(path, ())) for path, text in texts.items())


_NEWS_LINKS: dict[str, tuple[LinkSpec, ...]] = {
    "/": (
        LinkSpec(f"{A}/", "Acme Widgets", "Our favourite maker of gears is",
                 "and we say so often.", anchor_class="branded"),
        LinkSpec(f"{A}/", "ACME-WIDGETS", "The loud banner at the trade fair read",
                 "in capitals.", anchor_class="branded"),
        LinkSpec(f"{A}/", "acme-widgets.example", "You can find their shop at",
                 "without any login.", anchor_class="naked_url"),
        LinkSpec(f"{A}/blue-widgets", "https://acme-widgets.example/blue-widgets",
                 "The blue range lives at", "on the shop site.", anchor_class="naked_url"),
        LinkSpec(f"{A}/", "www.acme-widgets.example", "Some readers type",
                 "into the address bar.", anchor_class="naked_url"),
    ),
    "/p/1": (
        LinkSpec(f"{A}/blue-widgets", "blue widgets", "This week we tested their",
                 "on a rusty lathe.", anchor_class="exact"),
        LinkSpec(f"{A}/blue-widgets", "Blue Widgets!", "The headline simply said",
                 "and nothing else.", anchor_class="exact"),
        LinkSpec(f"{A}/blue-widgets", "cheap blue widgets online",
                 "A forum user asked where to buy", "for a school project.",
                 rel="nofollow", anchor_class="partial"),
        LinkSpec(f"{A}/blue-widgets", "widgets in blue", "The catalogue also lists",
                 "for marine use.", anchor_class="partial"),
        LinkSpec(f"{A}/", "click here", "To see the full sprocket range,", "before Friday.",
                 anchor_class="generic"),
    ),
    "/p/2": (
        LinkSpec(f"{A}/about", "Read more", "The founders started in a garage.",
                 "about their story.", anchor_class="generic"),
        LinkSpec(f"{A}/", "Acme logo", "Spot the gear-shaped badge", "on every crate.",
                 kind="img", anchor_class="image"),
        LinkSpec(f"{A}/red-widgets", "", "A broken embed left this link",
                 "with nothing inside.", anchor_class="empty"),
        LinkSpec(f"{A}/red-widgets", "a great resource", "Hobbyists call the red widget guide",
                 "for beginners.", rel="nofollow", anchor_class="other"),
        LinkSpec(f"{A}/red-widgets", "the Acme catalogue", "Prices are printed in",
                 "every spring.", anchor_class="branded"),
    ),
    **{page: tuple(LinkSpec(t.url, t.anchor, *DEAD_CONTEXT[t.url])
                   for t in DEAD_TARGETS if t.src_url.endswith(page))
       for page in ("/p/3", "/p/4")},
}

_WERKZEUG_LINKS = (
    LinkSpec(f"{A}/", "hier klicken", "Zum Katalog des Herstellers bitte", "und stöbern.",
             anchor_class="generic"),
    LinkSpec(f"{A}/about", "Weiterlesen", "Die Firmengeschichte ist spannend.",
             "über die Gründer.", anchor_class="generic"),
    LinkSpec(f"{A}/blue-widgets", "mehr erfahren", "Wer blaue Widgets kaufen will, kann",
             "und bestellen.", anchor_class="generic"),
    LinkSpec(f"{G}/", "Globex Gadgets", "Eine günstige Alternative bietet", "mit Bastelsets.",
             anchor_class="branded"),
)
_OUTILS_LINKS = (
    LinkSpec(f"{A}/", "cliquez ici", "Pour voir le catalogue du fabricant,", "sans attendre.",
             anchor_class="generic"),
    LinkSpec(f"{A}/red-widgets", "En savoir plus", "Les widgets rouges sont robustes.",
             "sur leur fabrication.", anchor_class="generic"),
    LinkSpec(f"{G}/", "globex-gadgets.example", "Un concurrent vend aussi des gadgets sur",
             "à petit prix.", anchor_class="naked_url"),
)
_HERRAMIENTAS_LINKS = (
    LinkSpec(f"{A}/", "haz clic aquí", "Para ver el catálogo del fabricante,", "ahora mismo.",
             anchor_class="generic"),
    LinkSpec(f"{A}/about", "Leer más", "La historia de la fábrica es curiosa.",
             "sobre sus fundadores.", anchor_class="generic"),
    LinkSpec(f"{A}/", "sitio web", "Todos los precios están en su", "oficial.",
             anchor_class="generic"),
    LinkSpec(f"{G}/gadgets", "gadgets baratos", "Otra tienda vende", "para aficionados.",
             anchor_class="other"),
)
_RECIPES_LINKS = (
    LinkSpec(f"{A}/red-widgets", "kitchen gadget shop",
             "I crank my pasta machine with a part from a", "down the road.",
             anchor_class="other"),
)
_HALF_LINKS: dict[int, tuple[LinkSpec, ...]] = {
    1: (LinkSpec(f"{A}/", "Acme Widgets catalogue", "Our desk frames use gears from the",
                 "every year.", anchor_class="branded"),),
    2: (LinkSpec(f"{A}/about", "widget supplier", "We buy steel brackets from our",
                 "in town.", anchor_class="exact"),
        LinkSpec(f"{A}/", "reliable widget supplier in Ohio", "Another option is a",
                 "with quick delivery.", anchor_class="partial")),
}
FOOTER_LINK = LinkSpec(f"{A}/", "Acme Widgets", "Proud logistics partner of", "since 2019.",
                       anchor_class="branded")
# Every page of every network domain writes exactly these (identical link profiles).
NETWORK_LINKS = (
    LinkSpec(f"{A}/blue-widgets", "blue widgets", "Win big and buy", "with your winnings.",
             anchor_class="exact"),
    LinkSpec(f"{G}/", "gadgets", "Spend your bonus on", "at half price.",
             anchor_class="other"),
    LinkSpec(f"http://{SPAM_TARGETS[0]}/", "cheap pills", "Feeling lucky? Order",
             "without prescription."),
    LinkSpec(f"http://{SPAM_TARGETS[1]}/", "fast loans", "Short on cash? Take",
             "in minutes."),
    LinkSpec(f"http://{SPAM_TARGETS[2]}/", "online casino", "Play tonight at our",
             "with free spins."),
)
NETWORK_ITEMS = tuple(LinkSpec(f"http://{host}/", f"Bonus offer {k}")
                      for k, host in enumerate(SPAM_HOSTS, 1))


def _partner(host: str, name: str) -> SiteSpec:
    pages = []
    for k in range(6):
        path = "/" if k == 0 else f"/p/{k}"
        footer = (FOOTER_LINK,) if host == FOOTER_PARTNER else ()
        links = _HALF_LINKS.get(k, ()) if host == HALF_PARTNER else ()
        pages.append(PageSpec(path, partner_text(host, k), links, footer=footer))
    return SiteSpec(host, name, "en", tuple(pages))


def _network(i: int, host: str) -> SiteSpec:
    pages = tuple(PageSpec("/" if k == 0 else f"/p/{k}", network_text(i, k), NETWORK_LINKS,
                           NETWORK_ITEMS) for k in range(3))
    return SiteSpec(host, f"Net {host[4].upper()}", "en", pages)


def _target(host: str, *paths: str) -> SiteSpec:
    pages = tuple(PageSpec(path, target_text(host, path)) for path in paths)
    return SiteSpec(host, host, "en", pages, layout=False)


# The sites the crawl is seeded with (audit_truth.SEED_HOSTS order).
SEED_SITES: tuple[SiteSpec, ...] = (
    SiteSpec(ACME, "Acme Widgets", "en", _pages(ACME_TEXT)),
    SiteSpec(GLOBEX, "Globex Gadgets", "en", _pages(GLOBEX_TEXT)),
    SiteSpec(NEWS, "Widget News", "en", _pages(NEWS_TEXT, _NEWS_LINKS), aside=True),
    SiteSpec(WERKZEUG, "Werkzeug-Blog", "de",
             _pages(WERKZEUG_TEXT, {"/beitrag": _WERKZEUG_LINKS})),
    SiteSpec(OUTILS, "Le blog des outils", "fr",
             _pages(OUTILS_TEXT, {"/article": _OUTILS_LINKS})),
    SiteSpec(HERRAMIENTAS, "Blog de herramientas", "es",
             _pages(HERRAMIENTAS_TEXT, {"/articulo": _HERRAMIENTAS_LINKS})),
    _partner(FOOTER_PARTNER, "Harbor Freight Partners"),
    _partner(HALF_PARTNER, "Half Partner Office"),
    SiteSpec(RECIPES, "Recipes Blog", "en", _pages(RECIPES_TEXT, {"/pasta": _RECIPES_LINKS})),
    *(_network(i, host) for i, host in enumerate(NETWORK_DOMAINS)),
)
# HTML pages only linked to: spam targets' homes and the dead targets that answer 200.
TARGET_SITES: tuple[SiteSpec, ...] = (
    *(_target(host, "/") for host in (*SPAM_TARGETS, *SPAM_HOSTS)),
    _target("moved-site.example", "/y"),
    _target("fine-site.example", "/ok"),
    _target("head-hater.example", "/page"),
    _target("blocked-site.example", "/private/x"),
)
