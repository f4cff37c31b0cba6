"""The hostile web: a corpus of hostile responses served on loopback, each with the exact
outcome a crawl must store (issue 13, "Hostile web, honest errors"; docs/hostile.md).

    corpus = hostile_corpus()                 # every case, aux pages and the start page
    with HostileServer(corpus + trap_cases()) as server:
        ...linkindex crawl START TRAP_START --proxy server.proxy_url --allow-private...
"""

from __future__ import annotations

from synthweb.hostile import cases_http, cases_links, cases_markup, cases_robots
from synthweb.hostile.corpus import (
    ANY,
    OUT,
    SOME,
    START,
    ZONE,
    Case,
    Expect,
    a,
    in_scope,
    whole,
    with_leaves,
)
from synthweb.hostile.refusal import PUBLIC_HOST, REFUSAL_START, refusal_cases
from synthweb.hostile.server import HostileServer
from synthweb.hostile.steps import http, page
from synthweb.hostile.trap import TRAP_HOST, TRAP_PAGES, TRAP_START, trap_cases


def corpus_cases() -> list[Case]:
    """The cases the issue counts (no start page, no aux pages)."""
    cases = (cases_markup.cases() + cases_http.cases() + cases_links.cases()
             + cases_robots.cases())
    return [c for c in cases if not c.aux]


def hostile_corpus() -> list[Case]:
    """Every page of the hostile crawl but the trap's: the start page (linking to every
    linked case), the cases, and the aux pages they need (leaves, hops, robots files)."""
    cases = (cases_markup.cases() + cases_http.cases() + cases_links.cases()
             + cases_robots.cases())
    ids = [c.id for c in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate case ids: {sorted(duplicates)}")
    linked = [c.url for c in cases if c.linked]
    body = "\n".join(f'<p><a href="{url}">{c}</a></p>'
                     for c, url in zip([c.id for c in cases if c.linked], linked, strict=True))
    start = Case("start", "start", "the seed: links to every case", START,
                 whole(lambda: http(page("hostile start", body))),
                 Expect(title="hostile start", links=tuple(a(url) for url in linked)),
                 linked=False, aux=True)
    return with_leaves([start, *cases])


__all__ = [
    "ANY", "OUT", "PUBLIC_HOST", "REFUSAL_START", "SOME", "START", "TRAP_HOST", "TRAP_PAGES",
    "TRAP_START", "ZONE", "Case", "Expect", "HostileServer", "corpus_cases", "hostile_corpus",
    "in_scope", "refusal_cases", "trap_cases",
]
