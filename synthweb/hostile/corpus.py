"""The hostile corpus: cases, each with the raw reply it serves and its expected outcome.

A case is one URL on its own host under `hostile.example` (so robots.txt, politeness
slots and failures stay apart), a one-line description, the reply (synthweb.hostile.steps)
and what the crawler must store for it (`Expect`): the pages row's status, error kind,
content type, title, and the exact links (dst_url, kind) of its edges. Expectations are
written by hand here, never computed by the product's own code.

Pages a case needs besides its own URL (the targets of its in-scope links, the hops of a
redirect chain) are `aux` cases: checked like the others, not counted in the corpus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlsplit

from synthweb.hostile.steps import Reply, Send, http, page

ZONE = "hostile.example"  # every case host is a subdomain: one registrable domain
START = f"http://start.{ZONE}/"  # the seed: links to every linked case
OUT = "http://elsewhere.example"  # out of the crawl's scope: links there are not followed


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANY = _Sentinel("ANY")  # not checked (the outcome is not decided by the issue)
SOME = _Sentinel("SOME")  # any non-null value

Link = tuple[str, str]  # (dst_url, kind)
Value = object  # a column value, ANY or SOME


@dataclass(frozen=True)
class Expect:
    """What the crawl stores for a case's URL.

    `error` is the kind prefix of pages.error (`"timeout:"`, `"too large:"` …), None for
    no error, SOME for any error, ANY for either. `links` is the exact multiset of
    (dst_url, kind) of its edges; when None, `links_at_least` must be among them.
    `row` False: the URL must have no pages row.
    """

    status: Value = 200
    error: Value = None
    content_type: Value = "text/html"
    title: Value = ANY
    links: tuple[Link, ...] | None = ()
    links_at_least: tuple[Link, ...] = ()
    n_skipped_links: Value = ANY
    redirect_to: Value = ANY
    row: bool = True

    def summary(self) -> str:
        """One line for docs/hostile.md: what the crawler does with it."""
        if not self.row:
            return "no row"
        parts = []
        status = "any status" if self.status is ANY else (
            "no status" if self.status is None else f"status {self.status}")
        parts.append(status)
        if self.error is None:
            parts.append("no error")
        elif self.error is SOME:
            parts.append("an error")
        elif self.error is ANY:
            parts.append("error or not")
        else:
            parts.append(f"error `{self.error}`")
        if self.links is None:
            parts.append(f"links include {_links_text(self.links_at_least)}")
        elif self.links:
            parts.append(_links_text(self.links))
        else:
            parts.append("no links")
        if isinstance(self.n_skipped_links, int) and self.n_skipped_links:
            parts.append(f"{self.n_skipped_links} skipped")
        return ", ".join(parts)


def _links_text(links: Sequence[Link]) -> str:
    if len(links) > 4:
        kinds = sorted({kind for _, kind in links})
        return f"{len(links):,} links ({', '.join(kinds)})"
    return "; ".join(f"{kind} → `{_short(url)}`" for url, kind in links)


def _short(url: str) -> str:
    return url if len(url) <= 60 else f"{url[:45]}…({len(url):,} chars)"


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    what: str  # one line: what is hostile about it
    url: str  # the URL the crawler fetches (normalised form)
    reply: Callable[[], Reply] = field(repr=False)
    expect: Expect = Expect()
    linked: bool = True  # the start page links to it
    warc: bool = False  # also imported as a WARC response record (a whole response)
    aux: bool = False  # a page another case needs, not counted in the corpus
    robots: Callable[[], Reply] | None = field(default=None, repr=False)  # its host's

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


def case_url(case_id: str, path: str = "/") -> str:
    return f"http://{case_id}.{ZONE}{path}"


def a(url: str) -> Link:
    return (url, "a")


def once(build: Callable[[], Reply]) -> Callable[[], Reply]:
    """A reply built on first use and kept (big bodies are built once)."""
    return cache(build)


def whole(data: Callable[[], bytes]) -> Callable[[], Reply]:
    """A reply that is one whole response, built on first use."""
    return once(lambda: [Send(data())])


def leaf(url: str) -> Case:
    """A plain page with no links: the target of an in-scope link or redirect."""
    name = url.split("://", 1)[1]
    name = name if len(name) <= 60 else f"{name[:50]}…{len(name)}"
    return Case(f"leaf {name}", "aux", "target of a case's link", url,
                whole(lambda: http(page("leaf", "<p>leaf</p>"))),
                Expect(title="leaf"), linked=False, aux=True)


def in_scope(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == ZONE or host.endswith("." + ZONE)


def with_leaves(cases: Iterable[Case]) -> list[Case]:
    """The cases, then a leaf for every in-scope link target that is no case's URL."""
    out = list(cases)
    known = {c.url for c in out}
    for c in list(out):
        targets = list(c.expect.links or ()) + list(c.expect.links_at_least)
        for url, _ in targets:
            if in_scope(url) and url not in known:
                known.add(url)
                out.append(leaf(url))
    return out
