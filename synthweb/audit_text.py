"""The visible text of the audit web's pages (synthweb.audit): fixed, hand-written.

Each entry is ``(nav label, title, h1, h2, first paragraph, second paragraph)``; the
page shows them as ``<title>``, ``<h1>``, ``<p>``, ``<h2>``, ``<p>`` in its ``<main>``.
The acme, globex and widget-news pages are about widgets (gears, sprockets, blue and
red widgets, manufacturing); recipes-blog is about cooking; the link network is about
casinos, loans and betting. Plain text here: the pages escape it.
"""

from __future__ import annotations

Text = tuple[str, str, str, str, str, str]

ACME_TEXT: dict[str, Text] = {
    "/": ("Home", "Acme Widgets - widgets, gears and sprockets", "Acme Widgets",
          "Widget manufacturing since 1952",
          "Acme Widgets designs and manufactures widgets, gears and sprockets for workshops "
          "and factories. Every widget is machined, tested and packed in our own plant.",
          "Our blue widgets and red widgets ship worldwide, and every gear comes with a "
          "sprocket guide and a manufacturing certificate."),
    "/blue-widgets": (
        "Blue widgets", "Blue widgets - Acme Widgets", "Blue widgets",
        "Anodised blue widgets for marine gears",
        "Blue widgets are anodised aluminium widgets that resist salt water. Each blue "
        "widget fits a standard gear shaft and a twelve tooth sprocket.",
        "We manufacture blue widgets in batches of five hundred and test every widget on a "
        "gear bench before it leaves the factory."),
    "/red-widgets": (
        "Red widgets", "Red widgets - Acme Widgets", "Red widgets", "Heat treated red widgets",
        "Red widgets are heat treated steel widgets for heavy gears and chain sprockets. A "
        "red widget carries twice the torque of a blue widget.",
        "Our red widgets are manufactured, hardened and painted in one line, then checked "
        "against the sprocket and gear tolerances."),
    "/about": (
        "About", "About Acme Widgets", "About us", "A family widget factory",
        "Acme Widgets began as a small workshop that cut gears and sprockets by hand. Today "
        "the factory manufactures a million widgets a year.",
        "We still test every widget, gear and sprocket ourselves, and we still answer every "
        "question about widget manufacturing."),
}

GLOBEX_TEXT: dict[str, Text] = {
    "/": ("Home", "Globex Gadgets - gadgets and widgets", "Globex Gadgets",
          "Gadgets for every workshop",
          "Globex Gadgets sells gadgets, widgets and small gears for hobby workshops. Our "
          "gadgets are cheap, light and easy to fit.",
          "Compare our gadget kits with any widget maker: every kit has blue widgets, red "
          "widgets, gears and a sprocket set from our own widget manufacturing."),
    "/gadgets": (
        "Gadgets", "All gadgets - Globex Gadgets", "Gadgets", "Gadget kits and widget packs",
        "Browse gadget kits, widget packs and spare gears. Each gadget is shipped with "
        "mounting screws and a sprocket adapter.",
        "Gadgets from Globex fit most widget frames, and our gear gadgets come in blue, red "
        "and silver."),
}

NEWS_TEXT: dict[str, Text] = {
    "/": ("Home", "Widget News - news about widgets, gears and sprockets", "Widget News",
          "Latest widget stories",
          "Widget News reports on widgets, gears, sprockets and the factories that "
          "manufacture them. We review blue widgets, red widgets and every new gear.",
          "This week our editors compare widget makers and sprocket suppliers, and list the "
          "best widget manufacturing tips."),
    "/p/1": ("Tested", "Testing blue widgets - Widget News", "We tested blue widgets",
             "Gears, sprockets and salt water",
             "Our workshop tested blue widgets on a gear bench for a month. The widgets kept "
             "their tolerance and the sprockets never slipped.",
             "Blue widget manufacturing has improved; the anodised finish now survives salt "
             "water and heavy gear loads."),
    "/p/2": ("Factory", "Inside a widget factory - Widget News", "Inside a widget factory",
             "How widgets are manufactured",
             "We visited a widget factory where gears are cut, sprockets are stamped and "
             "every widget is tested by hand.",
             "Red widgets are hardened in ovens, blue widgets are anodised, and both are "
             "packed with a gear guide."),
    "/p/3": ("Old shops", "Dead links in the widget trade - Widget News",
             "Widget shops that moved or vanished", "Sprocket suppliers and old catalogues",
             "Widget makers come and go. Many old gear and sprocket catalogues now point to "
             "pages that have moved or vanished.",
             "We keep a list of widget shops and sprocket suppliers so readers know which "
             "links still work."),
    "/p/4": ("Buying guide", "Widget buying guide - Widget News", "Widget buying guide",
             "Choosing gears and sprockets",
             "Before you buy widgets, measure the gear shaft and count the sprocket teeth. A "
             "widget that does not fit wastes a week.",
             "Buy blue widgets for wet places and red widgets for heavy loads, and always ask "
             "the widget manufacturer for test data."),
}

WERKZEUG_TEXT: dict[str, Text] = {
    "/": ("Start", "Werkzeug-Blog - Werkzeuge und Zahnräder", "Werkzeug-Blog",
          "Neue Beiträge",
          "Wir schreiben über Werkzeuge, Zahnräder und Kettenräder für die Werkstatt.",
          "Jede Woche testen wir ein neues Werkzeug und berichten über Widgets aus Stahl."),
    "/beitrag": ("Beitrag", "Blaue Widgets im Test - Werkzeug-Blog", "Blaue Widgets im Test",
                 "Zahnräder und Kettenräder",
                 "Wir haben blaue Widgets an einer Drehbank geprüft. Die Zahnräder liefen "
                 "ruhig und die Kettenräder hielten.",
                 "Der Hersteller fertigt jedes Widget in einer eigenen Fabrik und prüft es "
                 "von Hand."),
}

OUTILS_TEXT: dict[str, Text] = {
    "/": ("Accueil", "Le blog des outils - outils et engrenages", "Le blog des outils",
          "Derniers articles",
          "Nous écrivons sur les outils, les engrenages et les pignons de l'atelier.",
          "Chaque semaine nous essayons un nouvel outil et des widgets en acier."),
    "/article": ("Article", "Des widgets rouges à l'essai - Le blog des outils",
                 "Des widgets rouges à l'essai", "Engrenages et pignons",
                 "Nous avons testé des widgets rouges sur un banc d'engrenages. Les pignons "
                 "n'ont jamais glissé.",
                 "Le fabricant produit chaque widget dans son usine et le vérifie à la main."),
}

HERRAMIENTAS_TEXT: dict[str, Text] = {
    "/": ("Inicio", "Blog de herramientas - herramientas y engranajes",
          "Blog de herramientas", "Últimas entradas",
          "Escribimos sobre herramientas, engranajes y piñones para el taller.",
          "Cada semana probamos una herramienta nueva y algunos widgets de acero."),
    "/articulo": ("Artículo", "Probamos widgets azules - Blog de herramientas",
                  "Probamos widgets azules", "Engranajes y piñones",
                  "Probamos widgets azules en un banco de engranajes. Los piñones nunca "
                  "resbalaron.",
                  "El fabricante produce cada widget en su fábrica y lo revisa a mano."),
}

RECIPES_TEXT: dict[str, Text] = {
    "/": ("Home", "Recipes Blog - simple home cooking", "Recipes Blog", "New recipes",
          "Simple recipes for home cooking: pasta, soups, bread and slow roasted vegetables.",
          "Every recipe lists the ingredients, the oven temperature and the cooking time."),
    "/pasta": ("Pasta", "Fresh pasta with tomato sauce - Recipes Blog",
               "Fresh pasta with tomato sauce", "Dough, sauce and basil",
               "Mix flour and eggs into a smooth dough, rest it for thirty minutes, then roll "
               "thin sheets of pasta.",
               "Simmer tomatoes with garlic, olive oil and basil, season with salt and "
               "pepper, and toss the pasta in the sauce."),
}

_FREIGHT = [  # footer-partner.example: a freight forwarder (neither widgets nor spam)
    ("Freight services", "Sea and road freight for small shippers",
     "Harbor Freight Partners moves containers by sea and road for small shippers."),
    ("Warehousing", "Storage near the harbor",
     "Our warehouses near the harbor store pallets, crates and containers for weeks."),
    ("Customs", "Paperwork at the border",
     "Our customs brokers file the paperwork so a container clears the border in a day."),
    ("Tracking", "Where is my container",
     "Every container carries a tracker and every shipper sees its route on a map."),
    ("Rates", "Prices per container and per pallet",
     "Rates depend on the route, the weight and the season; pallets ship cheaper in spring."),
    ("Contact", "Talk to a freight agent",
     "Call a freight agent on weekdays, or write to the harbor office at any time."),
]
_FURNITURE = [  # half-partner.example: office furniture
    ("Office furniture", "Desks and chairs for small offices",
     "Half Partner Office furnishes small offices with desks, chairs and shelves."),
    ("Desks", "Standing desks and writing desks",
     "Our standing desks rise at the press of a button and our writing desks fold flat."),
    ("Chairs", "Chairs for long working days",
     "Every chair has a lumbar cushion, soft wheels and an adjustable seat."),
    ("Shelves", "Shelves and filing cabinets",
     "Oak shelves and steel filing cabinets keep folders, binders and boxes in order."),
    ("Lighting", "Desk lamps and ceiling lights",
     "Warm desk lamps and quiet ceiling lights make a meeting room pleasant."),
    ("Delivery", "Free delivery and assembly",
     "We deliver and assemble every desk, chair and shelf within a week."),
]
_SPAM = {  # the link network's themes
    "casino": ("Casino bonus", "Online casino bonus codes",
               "Claim a casino bonus, spin the slots and play poker, roulette and blackjack "
               "tonight with free chips.",
               "Jackpot winners cash out fast; every casino deposit doubles your chips."),
    "loans": ("Fast loans", "Payday loans approved in minutes",
              "Get payday loans, instant credit and cash advances approved in minutes with "
              "no credit check.",
              "Borrow cash today, repay the loan next month; low interest, no paperwork."),
    "betting": ("Sports betting", "Best betting odds today",
                "Compare betting odds, place a bet on football and horse racing and win big "
                "with our bookmaker tips.",
                "Every bettor gets a free bet; accumulator odds and live betting all week."),
}
NETWORK_THEMES = tuple(_SPAM)


def partner_text(host: str, k: int) -> Text:
    """Page ``k`` (0: the home page) of footer-partner (freight) or half-partner (furniture)."""
    pool, site = ((_FREIGHT, "Harbor Freight Partners") if host.startswith("footer")
                  else (_FURNITURE, "Half Partner Office"))
    label, h2, p1 = pool[k]
    other = pool[(k + 1) % len(pool)][2]
    return (label, f"{label} - {site}", label, h2, p1, other)


def network_text(domain_index: int, k: int) -> Text:
    """Page ``k`` (0: home) of the ``domain_index``-th network domain: casino, loans or
    betting text by turns."""
    theme = NETWORK_THEMES[(domain_index + k) % len(NETWORK_THEMES)]
    label, h1, p1, p2 = _SPAM[theme]
    return ("Home" if k == 0 else f"{label} {k}", f"{h1} - page {k}", h1,
            f"{label} tips and offers", p1, p2)


def target_text(host: str, path: str) -> Text:
    """A page only linked to (spam targets, dead-target hosts): one short text."""
    name = host.removesuffix(".example").replace("-", " ")
    return ("Home", f"{name.title()} {path}", name.title(), "Welcome",
            f"This is the {name} page at {path}.", "There is nothing else here.")
