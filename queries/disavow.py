"""Google's disavow file (docs/disavow.md): write one from toxic-domain candidates, check
one, diff two; a keep list names what must never be disavowed.

The format (Search Console help, "Disavow links to your site"): UTF-8 or 7-bit ASCII
text, one entry a line, ``domain:example.com`` or the full http(s) URL of a page; ``#``
starts a comment; blank lines are allowed; at most 2 MB and 100,000 lines; a URL at
most 2,048 characters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from core.addresses import is_ip_literal
from core.errors import LinkindexError
from core.urls import normalize_host, normalize_url, url_host

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 100_000
MAX_URL_CHARS = 2048
LEVELS = ("auto", "url", "domain")
LIMITS = "2 MB, 100,000 lines"
BOM = b"\xef\xbb\xbf"
_SCHEMES = ("http://", "https://")
_COLUMNS = ("src_domain", "toxic_score", "linking_pages", "pages_crawled", "reasons")


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


# ---------------------------------------------------------------- hosts and domains


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _covering(host: str, domains: Collection[str], *, self_too: bool = True) -> str | None:
    """The nearest of `domains` that is `host` or a parent domain of it (an IP address
    has none)."""
    name = host if self_too else ("" if is_ip_literal(host) else host.partition(".")[2])
    while name:
        if name in domains:
            return name
        name = "" if is_ip_literal(name) else name.partition(".")[2]
    return None


def _is_domain_name(name: str) -> bool:
    """What a ``domain:`` line may name: a normalised host of two labels or more, not an
    IP address (Google documents domain: for domain names only)."""
    return normalize_host(name) == name and "." in name and not is_ip_literal(name)


def _one_line(text: str) -> str:
    """Text for a comment: a line break in it would start an entry line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _shown(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


# ---------------------------------------------------------------- keep list


@dataclass(frozen=True)
class KeepList:
    """What must never be disavowed: domains (with their subdomains) and single URLs."""

    domains: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()  # normalised (core.urls.normalize_url)

    def keeps_host(self, host: str) -> bool:
        return _covering(host, self.domains) is not None

    def keeps_url(self, url: str) -> bool:
        """True for a kept URL (normalised) or one on a kept domain."""
        return url in self.urls or self.keeps_host(url_host(url))

    def keeps_part_of(self, domain: str) -> bool:
        """True when an entry keeps a subdomain or a page of `domain`: a ``domain:`` line
        for it would disavow what is kept."""
        return (any(_within(name, domain) for name in self.domains)
                or any(_within(url_host(url), domain) for url in self.urls))


def _lines(text: str) -> Iterator[tuple[int, str]]:
    return ((n, line.strip()) for n, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1))


def parse_keep(text: str, *, source: str = "keep list") -> KeepList:
    """Lines of ``domain:NAME``, a bare host name or an http(s) URL; ``#`` comments."""
    domains: set[str] = set()
    urls: set[str] = set()
    for number, line in _lines(text):
        if not line or line.startswith("#"):
            continue
        if line[:8].lower().startswith(_SCHEMES):
            url = normalize_url(line)
            if url is None:
                raise LinkindexError(f"{source} line {number}: not a valid URL: {_shown(line)}")
            urls.add(url)
            continue
        name = line[7:] if line[:7].lower() == "domain:" else line
        host = normalize_host(name) if name else None
        if host is None:
            raise LinkindexError(f"{source} line {number}: {_shown(line)} is not domain:NAME, "
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
            raise LinkindexError(f"not a valid domain name: {_shown(candidate.domain)}")
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
            raise LinkindexError(f"linking page of {domain} is not a valid URL: {_shown(page)}")
        if not _within(url_host(url), domain):
            raise LinkindexError(f"linking page {_shown(url)} is not on {domain}")
        urls.add(url)
    return sorted(urls)


def _block(domain: str, candidate: Candidate, urls: list[str], partly_kept: bool,
           level: str, collapse_share: float) -> _Block:
    reasons = _one_line(candidate.reasons)
    comment = f"# {domain}: score {candidate.score:.1f}" + (f" ({reasons})" if reasons else "")
    long_urls = sum(len(url) > MAX_URL_CHARS for url in urls)
    if partly_kept or not _is_domain_name(domain):
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
        f"# disavow file for {_one_line(target)}, written by linkindex",
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


# ---------------------------------------------------------------- reading and checking


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 for the whole file
    level: Literal["error", "warning"]
    message: str


@dataclass(frozen=True)
class DisavowFile:
    domains: frozenset[str] = frozenset()  # names, without "domain:"
    urls: frozenset[str] = frozenset()  # as written


class _Entry(NamedTuple):
    text: str  # as written: "domain:x" or the URL
    key: str  # what duplicates share: "domain:x" or the normalised URL
    host: str  # the domain name, or the URL's host
    is_domain: bool


class _BadLine(Exception):
    pass


def _entry(line: str) -> _Entry | None:
    """The entry of a stripped line; None for a blank or comment line; _BadLine if it is
    not one Google reads."""
    if not line or line.startswith("#"):
        return None
    if line.startswith("domain:"):
        name = line[7:]
        bad = _bad_domain(name)
        if bad:
            raise _BadLine(bad)
        return _Entry(line, line, name, True)
    if line[:8].lower().startswith(_SCHEMES):
        if len(line) > MAX_URL_CHARS:
            raise _BadLine(f"URL of {len(line):,} characters: over Google's limit of 2,048")
        if any(c.isspace() for c in line):
            raise _BadLine("a space inside a URL: percent-encode it (%20)")
        url = normalize_url(line)
        if url is None:
            raise _BadLine(f"not a valid URL: {_shown(line)}")
        return _Entry(line, url, url_host(url), False)
    raise _BadLine(f"not a comment, a domain: entry or an http(s) URL: {_shown(line)}")


def _bad_domain(name: str) -> str | None:
    if not name:
        return "domain: without a name"
    if "://" in name or name.lower().startswith(("http:", "https:")):
        return "domain: takes a name, not a URL: no scheme"
    if "/" in name:
        return "domain: takes a name, not a URL: no path"
    if "*" in name:
        return "domain: takes no wildcard: it already covers every subdomain"
    if ":" in name and not name.startswith("["):
        return "domain: takes a name without a port"
    if name != name.lower():
        return f"domain: name must be lower case: domain:{name.lower()}"
    if not name.isascii() and normalize_host(name) is not None:
        return f"domain: name must be in punycode: domain:{normalize_host(name)}"
    if normalize_host(name) != name:
        return f"not a valid host name: {_shown(name)}"
    if "." not in name and not is_ip_literal(name):
        return f"domain:{name} is not a domain name (one label)"
    return None


def check_disavow(data: bytes) -> list[Problem]:
    """Every problem of a disavow file, by line (whole-file problems first, as line 0)."""
    problems: list[Problem] = []
    error, warn = (lambda n, message: problems.append(Problem(n, "error", message)),
                   lambda n, message: problems.append(Problem(n, "warning", message)))
    if data.startswith(BOM):
        warn(1, "starts with a UTF-8 byte order mark (BOM): Google asks for plain UTF-8")
    if len(data) > MAX_BYTES:
        error(0, f"{len(data):,} bytes: over Google's limit of 2 MB ({MAX_BYTES:,} bytes)")
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()  # the final line break ends the last line, it starts none
    if len(raw_lines) > MAX_LINES:
        error(0, f"{len(raw_lines):,} lines: over Google's limit of 100,000")
    first: dict[str, int] = {}  # entry key -> its first line
    domains: dict[str, int] = {}  # domain: name -> its line
    entries: list[tuple[int, _Entry]] = []
    offset, undecodable = 0, False
    for number, raw in enumerate(raw_lines, 1):
        start, offset = offset, offset + len(raw) + 1
        try:
            line = raw.decode("utf-8").removeprefix("\ufeff" if number == 1 else "").strip()
        except UnicodeDecodeError as exc:
            undecodable = True
            error(number, f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte offset "
                          f"{start + exc.start:,}")
            continue
        try:
            entry = _entry(line)
        except _BadLine as exc:
            error(number, str(exc))
            continue
        if entry is not None and entry.key in first:
            warn(number, f"duplicate of line {first[entry.key]}")
        elif entry is not None:
            first[entry.key] = number
            entries.append((number, entry))
            if entry.is_domain:
                domains[entry.host] = number
                if is_ip_literal(entry.host):
                    warn(number, f"{entry.text} is an IP address: Google documents domain: "
                                 "for domain names")
    for number, entry in entries:
        parent = _covering(entry.host, domains, self_too=not entry.is_domain)
        if parent is not None:
            warn(number, f"already covered by domain:{parent} (line {domains[parent]})")
    if not entries and not undecodable and not any(p.level == "error" for p in problems):
        warn(0, "no domain: or URL entries")
    return sorted(problems, key=lambda problem: problem.line)


def parse_disavow(text: str, *, source: str = "disavow file") -> DisavowFile:
    """The entries of a disavow file; LinkindexError naming the first line Google would
    not read."""
    domains, urls = set(), set()
    for number, line in _lines(text):
        try:
            entry = _entry(line)
        except _BadLine as exc:
            raise LinkindexError(f"{source} line {number}: {exc}") from None
        if entry is not None:
            (domains if entry.is_domain else urls).add(entry.host if entry.is_domain
                                                       else entry.text)
    return DisavowFile(frozenset(domains), frozenset(urls))


# ---------------------------------------------------------------- diff


@dataclass(frozen=True)
class DisavowDiff:
    """What changed from an old disavow file to a new one (entries as written)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    # (old entry, the new file's "domain:x" that covers it): gone as a line, still disavowed
    covered: tuple[tuple[str, str], ...] = ()
    unchanged: int = 0


def _keyed(parsed: DisavowFile) -> dict[str, str]:
    """Entry key (domain:x, or the normalised URL) -> the entry as written."""
    out = {f"domain:{name}": f"domain:{name}" for name in parsed.domains}
    for url in sorted(parsed.urls):  # two spellings of one URL: the first in order
        out.setdefault(normalize_url(url) or url, url)
    return out


def diff_disavow(old: str, new: str) -> DisavowDiff:
    """Entries added and removed from `old` to `new`; an old entry that a new ``domain:``
    line covers (its domain or a parent) is `covered`, not removed."""
    old_file = parse_disavow(old, source="old disavow file")
    new_file = parse_disavow(new, source="new disavow file")
    before, after = _keyed(old_file), _keyed(new_file)
    removed, covered = [], []
    for key in before.keys() - after.keys():
        host = key[7:] if key.startswith("domain:") else url_host(key)
        parent = _covering(host, new_file.domains)
        if parent is None:
            removed.append(before[key])
        else:
            covered.append((before[key], f"domain:{parent}"))
    return DisavowDiff(
        added=tuple(sorted(after[key] for key in after.keys() - before.keys())),
        removed=tuple(sorted(removed)),
        covered=tuple(sorted(covered)),
        unchanged=len(before.keys() & after.keys()),
    )
