"""Google's disavow file format (docs/disavow.md): its limits, checking a file line by
line, parsing it, and diffing two. Writing one: queries.disavow.

The format (Search Console help, "Disavow links to your site"): UTF-8 or 7-bit ASCII
text, one entry a line, ``domain:example.com`` or the full http(s) URL of a page; ``#``
starts a comment; blank lines are allowed; at most 2 MB and 100,000 lines; a URL at
most 2,048 characters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

from core.addresses import is_ip_literal
from core.errors import LinkindexError
from core.urls import normalize_host, normalize_url, url_host

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 100_000
MAX_URL_CHARS = 2048
BOM = b"\xef\xbb\xbf"
SCHEMES = ("http://", "https://")

# ---------------------------------------------------------------- hosts and domains


def within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def covering(host: str, domains: Collection[str], *, self_too: bool = True) -> str | None:
    """The nearest of `domains` that is `host` or a parent domain of it (an IP address
    has none)."""
    name = host if self_too else ("" if is_ip_literal(host) else host.partition(".")[2])
    while name:
        if name in domains:
            return name
        name = "" if is_ip_literal(name) else name.partition(".")[2]
    return None


def is_domain_name(name: str) -> bool:
    """What a ``domain:`` line may name: a normalised host of two labels or more, not an
    IP address (Google documents domain: for domain names only)."""
    return normalize_host(name) == name and "." in name and not is_ip_literal(name)


def one_line(text: str) -> str:
    """Text for a comment: a line break in it would start an entry line."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def shown(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    return ((n, line.strip()) for n, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1))


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
    if line[:8].lower().startswith(SCHEMES):
        if len(line) > MAX_URL_CHARS:
            raise _BadLine(f"URL of {len(line):,} characters: over Google's limit of 2,048")
        if any(c.isspace() for c in line):
            raise _BadLine("a space inside a URL: percent-encode it (%20)")
        url = normalize_url(line)
        if url is None:
            raise _BadLine(f"not a valid URL: {shown(line)}")
        return _Entry(line, url, url_host(url), False)
    raise _BadLine(f"not a comment, a domain: entry or an http(s) URL: {shown(line)}")


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
        return f"not a valid host name: {shown(name)}"
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
        parent = covering(entry.host, domains, self_too=not entry.is_domain)
        if parent is not None:
            warn(number, f"already covered by domain:{parent} (line {domains[parent]})")
    if not entries and not undecodable and not any(p.level == "error" for p in problems):
        warn(0, "no domain: or URL entries")
    return sorted(problems, key=lambda problem: problem.line)


def parse_disavow(text: str, *, source: str = "disavow file") -> DisavowFile:
    """The entries of a disavow file; LinkindexError naming the first line Google would
    not read."""
    domains, urls = set(), set()
    for number, line in numbered_lines(text):
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
        parent = covering(host, new_file.domains)
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
