"""Writing Google's disavow file (docs/disavow.md) from toxic-domain candidates; a keep
list names what must never be disavowed. The format itself (limits, check, parse, diff):
queries.disavow_file, re-exported here.

The format (Search Console help, "Disavow links to your site"): UTF-8 or 7-bit ASCII
text, one entry a line, ``domain:example.com`` or the full http(s) URL of a page; ``#``
starts a comment; blank lines are allowed; at most 2 MB and 100,000 lines; a URL at
most 2,048 characters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.errors import LinkindexError
from core.urls import normalize_host, normalize_url, url_host
from queries.disavow_file import (
    MAX_BYTES,
    MAX_LINES,
    MAX_URL_CHARS,
    SCHEMES,
    DisavowDiff,
    DisavowFile,
    Problem,
    check_disavow,
    covering,
    diff_disavow,
    is_domain_name,
    numbered_lines,
    one_line,
    parse_disavow,
    shown,
    within,
)

__all__ = ["Candidate", "DisavowDiff", "DisavowFile", "KeepList", "Problem", "candidates_from_rows",
           "check_disavow", "diff_disavow", "parse_disavow", "parse_keep", "write_disavow"]

LEVELS = ("auto", "url", "domain")
_COLUMNS = ("src_domain", "toxic_score", "linking_pages", "pages_crawled", "reasons")
LIMITS = "2 MB, 100,000 lines"


@dataclass(frozen=True)
class Candidate:
    """A domain that links to the target, with its toxic score (0-100) and why."""

    domain: str  # registrable domain
    score: float
    reasons: str = ""  # "sitewide footer 15.0, same /24 20.0"
    linking_pages: tuple[str, ...] = ()  # its pages that link to the target
    pages_crawled: int = 0  # its pages the index crawled; 0 = unknown


def candidates_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[Candidate]:
    """Candidates from the rows of the ``toxic_domains`` query (``table.to_pylist()``)."""
    out = []
    for row in rows:
        missing = [name for name in _COLUMNS if name not in row]
        if missing:
            raise LinkindexError(f"toxic_domains gave no column {missing[0]!r}")
        if row["src_domain"] is None or row["toxic_score"] is None:
            raise LinkindexError(f"toxic_domains gave a row without a domain or score: {row}")
        out.append(Candidate(
            domain=row["src_domain"], score=float(row["toxic_score"]),
            reasons=row["reasons"] or "", linking_pages=tuple(row["linking_pages"] or ()),
            pages_crawled=int(row["pages_crawled"] or 0),
        ))
    return out

# ---------------------------------------------------------------- keep list


@dataclass(frozen=True)
class KeepList:
    """What must never be disavowed: domains (with their subdomains) and single URLs."""

    domains: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()  # normalised (core.urls.normalize_url)

    def keeps_host(self, host: str) -> bool:
        return covering(host, self.domains) is not None

    def keeps_url(self, url: str) -> bool:
        """True for a kept URL (normalised) or one on a kept domain."""
        return url in self.urls or self.keeps_host(url_host(url))

    def keeps_part_of(self, domain: str) -> bool:
        """True when an entry keeps a subdomain or a page of `domain`: a ``domain:`` line
        for it would disavow what is kept."""
        return (any(within(name, domain) for name in self.domains)
                or any(within(url_host(url), domain) for url in self.urls))




def parse_keep(text: str, *, source: str = "keep list") -> KeepList:
    """Lines of ``domain:NAME``, a bare host name or an http(s) URL; ``#`` comments."""
    domains: set[str] = set()
    urls: set[str] = set()
    for number, line in numbered_lines(text):
        if not line or line.startswith("#"):
            continue
        if line[:8].lower().startswith(SCHEMES):
            url = normalize_url(line)
            if url is None:
                raise LinkindexError(f"{source} line {number}: not a valid URL: {shown(line)}")
            urls.add(url)
            continue
        name = line[7:] if line[:7].lower() == "domain:" else line
        host = normalize_host(name) if name else None
        if host is None:
            raise LinkindexError(f"{source} line {number}: {shown(line)} is not domain:NAME, "
                                 "a host name or an http(s) URL")
        domains.add(host)
    return KeepList(frozenset(domains), frozenset(urls))

# ---------------------------------------------------------------- writing


@dataclass
class _Block:
    """One candidate's lines: its comment, maybe a note, then a domain: line or URLs."""

    domain: str
    comment: str
    urls: list[str]
    collapsible: bool  # a domain: line may stand for it
    as_domain: bool
    note: str = ""

    def lines(self) -> list[str]:
        entries = [f"domain:{self.domain}"] if self.as_domain else self.urls
        return ["", self.comment, *([f"# {self.note}"] if self.note else []), *entries]

    def size(self) -> tuple[int, int]:
        lines = self.lines()
        return sum(len(line.encode()) + 1 for line in lines), len(lines)


def write_disavow(candidates: Iterable[Candidate], *, target: str, min_score: float,
                  generated_at: datetime, keep: KeepList | None = None,
                  collapse_share: float = 0.5, level: str = "auto") -> str:
    """The text of a disavow file for `target` (rules: docs/disavow.md).

    Candidates scoring below `min_score`, or kept whole by `keep`, are left out and
    counted in the header; URLs `keep` covers are dropped one by one. Each candidate is
    one ``domain:`` line or its linking URLs, per `level`; "auto" writes a domain: line
    when its linking pages are at least `collapse_share` of its crawled pages, or that
    count is unknown (0). Over Google's limits, the URL-listed domains with the most URLs
    become domain: lines until the file fits; LinkindexError if it never does.
    """
    if level not in LEVELS:
        raise LinkindexError(f"bad level {level!r}: use auto, url or domain")
    if not 0 < collapse_share <= 1:
        raise LinkindexError(f"collapse share must be in (0, 1], not {collapse_share:g}")
    if not 0 <= min_score <= 100:
        raise LinkindexError(f"minimum score must be between 0 and 100, not {min_score:g}")
    keep_given, keep = keep is not None, keep or KeepList()
    left_out = {"below": 0, "kept_domains": 0, "kept_urls": 0}
    blocks = []
    for domain, candidate in _normalised(candidates):
        if candidate.score < min_score:
            left_out["below"] += 1
            continue
        if keep.keeps_host(domain):
            left_out["kept_domains"] += 1
            continue
        pages = _pages(candidate, domain)
        urls = [url for url in pages if not keep.keeps_url(url)]
        partly_kept = keep.keeps_part_of(domain)
        if partly_kept and not urls:
            left_out["kept_domains"] += 1
            continue
        left_out["kept_urls"] += len(pages) - len(urls)
        blocks.append(_block(domain, candidate, urls, partly_kept, level, collapse_share))

    def header(listed: list[int]) -> list[str]:
        return _header(target, min_score, generated_at, listed, left_out,
                       keep_given=keep_given)

    listed = _fit(blocks, header)
    body = (line for block in blocks for line in block.lines())
    return "\n".join([*header(listed), *body]) + "\n"


def _normalised(candidates: Iterable[Candidate]) -> list[tuple[str, Candidate]]:
    """(normalised domain, candidate), highest score first, then by domain."""
    out, seen = [], set()
    for candidate in candidates:
        domain = normalize_host(candidate.domain)
        if domain is None:
            raise LinkindexError(f"not a valid domain name: {shown(candidate.domain)}")
        if not math.isfinite(candidate.score):
            raise LinkindexError(f"score of {domain} is not a number: {candidate.score}")
        if domain in seen:
            raise LinkindexError(f"{domain} is a candidate twice")
        seen.add(domain)
        out.append((domain, candidate))
    return sorted(out, key=lambda pair: (-pair[1].score, pair[0]))


def _pages(candidate: Candidate, domain: str) -> list[str]:
    """Its linking pages, normalised, distinct and sorted; each must be on the domain."""
    urls = set()
    for page in candidate.linking_pages:
        url = normalize_url(page)
        if url is None:
            raise LinkindexError(f"linking page of {domain} is not a valid URL: {shown(page)}")
        if not within(url_host(url), domain):
            raise LinkindexError(f"linking page {shown(url)} is not on {domain}")
        urls.add(url)
    return sorted(urls)


def _block(domain: str, candidate: Candidate, urls: list[str], partly_kept: bool,
           level: str, collapse_share: float) -> _Block:
    reasons = one_line(candidate.reasons)
    comment = f"# {domain}: score {candidate.score:.1f}" + (f" ({reasons})" if reasons else "")
    long_urls = sum(len(url) > MAX_URL_CHARS for url in urls)
    if partly_kept or not is_domain_name(domain):
        # A domain: line would disavow a kept page, or cannot name this host: URLs only,
        # and a URL over Google's limit cannot be listed at all.
        note = "URLs only: " + ("the keep list keeps part of this domain" if partly_kept
                                else f"{domain} is not a domain name")
        if long_urls:
            urls = [url for url in urls if len(url) <= MAX_URL_CHARS]
            note += f"; {_n(long_urls, 'URL')} over 2,048 characters left out"
        return _Block(domain, comment, urls, False, False, note)
    if long_urls and level != "domain":
        note = f"domain: line: {_n(long_urls, 'linking URL')} over 2,048 characters"
        return _Block(domain, comment, urls, True, True, note)
    if level == "domain" or not urls:
        as_domain = True
    elif level == "url":
        as_domain = False
    else:  # auto: most of the domain links, or we do not know how much of it there is
        crawled = candidate.pages_crawled
        as_domain = crawled <= 0 or len(urls) >= collapse_share * crawled
    return _Block(domain, comment, urls, True, as_domain)


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _header(target: str, min_score: float, generated_at: datetime, listed: list[int],
            left_out: Mapping[str, int], *, keep_given: bool) -> list[str]:
    moment = (generated_at.replace(tzinfo=UTC) if generated_at.tzinfo is None
              else generated_at.astimezone(UTC))
    as_domain, by_url, url_lines = listed
    lines = [
        f"# disavow file for {one_line(target)}, written by linkindex",
        f"# generated {moment.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"# minimum toxic score: {min_score:g} (of 100)",
        f"# listed: {_n(as_domain + by_url, 'domain')} ({as_domain:,} by a domain: line, "
        f"{by_url:,} by {_n(url_lines, 'URL')})",
        f"# below the minimum score: {_n(left_out['below'], 'domain')}",
    ]
    if keep_given:
        lines.append(f"# kept by the keep list: {_n(left_out['kept_domains'], 'domain')}, "
                     f"{_n(left_out['kept_urls'], 'URL')}")
    return lines


def _fit(blocks: list[_Block], header: Callable[[list[int]], list[str]]) -> list[int]:
    """Collapse URL-listed domains into domain: lines, most URLs first, until the file
    fits Google's limits; LinkindexError when even that is not enough. Returns what the
    header counts: [domains by a domain: line, domains by URLs, URL lines]."""
    by_url = [block for block in blocks if not block.as_domain and block.urls]
    listed = [sum(block.as_domain for block in blocks), len(by_url),
              sum(len(block.urls) for block in by_url)]
    sizes = [block.size() for block in blocks]
    total = [sum(size[0] for size in sizes), sum(size[1] for size in sizes)]

    def fits() -> bool:
        head = header(listed)
        return (total[0] + sum(len(line.encode()) + 1 for line in head) <= MAX_BYTES
                and total[1] + len(head) <= MAX_LINES)

    order = sorted((i for i, block in enumerate(blocks)
                    if block.collapsible and not block.as_domain),
                   key=lambda i: (-len(blocks[i].urls), blocks[i].domain))
    for i in order:
        if fits():
            return listed
        blocks[i].as_domain = True
        blocks[i].note = f"domain: line to fit Google's limits ({LIMITS})"
        listed[0] += 1
        listed[1] -= 1
        listed[2] -= len(blocks[i].urls)
        new = blocks[i].size()
        total[0] += new[0] - sizes[i][0]
        total[1] += new[1] - sizes[i][1]
        sizes[i] = new
    too_many = 0
    while not fits():  # the lowest scores would go first: how many
        too_many += 1
        total[0] -= sizes[-too_many][0]
        total[1] -= sizes[-too_many][1]
    if too_many:
        raise LinkindexError(
            f"the disavow file does not fit Google's limits ({LIMITS}) even with every "
            f"domain it can collapse as a domain: line: {_n(too_many, 'domain')} too many; "
            "raise the minimum score")
    return listed
