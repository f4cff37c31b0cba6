"""URL and host identity, decided once at crawl time and stored (DESIGN.md, identity rules).

- host: lower case, IDNA (punycode), no default port, no trailing dot; ``www.`` is kept.
- URL: absolute http(s), fragment removed, dot segments resolved, unsafe characters
  percent-encoded (UTF-8), user info dropped, an empty path becomes ``/``.
- hrefs with another scheme (javascript:, mailto:, tel:, data:, ...), in-page ``#``
  references and unparsable hrefs give ``None``: the extractor counts them.

``absolutize`` is on the hot path (one call per link): absolute and root-relative
hrefs skip ``urljoin`` (≈10 µs a call) and host normalisation is cached.
``UrlResolver`` memoises link targets (URL, host, registrable domain) across pages for
the extractor; ``clear_caches`` empties every cache of this module.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final
from urllib.parse import quote, urljoin

import ada_url

from core.domains import registrable_domain
from core.schema import URL_MAX_CHARS

_DEFAULT_PORTS = {"http": "80", "https": "443"}
# Whole-URL split for an absolute http(s) URL; the scheme is matched case-insensitively.
_URL_RE = re.compile(r"(?i)(https?)://([^/?#\\]*)([^?#]*)(\?[^#]*)?(?:#.*)?\Z", re.S)
_SCHEME_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Characters that may stand unescaped in a path or query (RFC 3986 + '%').
_SAFE_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*\Z")
_SAFE_CHARS = "-._~!$&'()*+,;=:@/?%"
_BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# WHATWG URL parsing removes ASCII tab and newlines anywhere and strips C0 + space at ends.
_STRIP_INNER = str.maketrans("", "", "\t\n\r")
_HOST_OK_RE = re.compile(r"[a-z0-9\-_.]+\Z")
# A URL already in canonical form (the common case): lower-case scheme and ASCII host,
# no port, a path and an optional non-empty query of safe characters with valid
# %-escapes, no fragment. normalize_url returns such a URL unchanged (once it has no
# dot segment, checked apart), so it skips the split and the rebuild.
# Possessive quantifiers (Python 3.11): every step is decided by its next character (a
# safe run, a %-escape, '?', the end), so never backtracking changes nothing but the
# time: matching char by char through an alternation cost ~25 ns a character.
_PCHARS = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]++|%[0-9A-Fa-f]{2})"
_CANONICAL_RE = re.compile(
    r"https?://[a-z0-9\-_]++(?:\.[a-z0-9\-_]++)*+/" + _PCHARS + r"*+(?:\?(?:" + _PCHARS
    + r"|\?)++)?"
)
# A relative href that is only path segments: none empty, none starting with '.',
# no ':', ';', '?', '#', '\\' or whitespace. Against a base whose directory has no
# empty segment, urljoin gives exactly base directory + href.
_PLAIN_RELATIVE_RE = re.compile(
    r"[A-Za-z0-9\-_~!$&'()*+,=@%][A-Za-z0-9\-._~!$&'()*+,=@%]*"
    r"(?:/[A-Za-z0-9\-_~!$&'()*+,=@%][A-Za-z0-9\-._~!$&'()*+,=@%]*)*/?"
)


@lru_cache(maxsize=1 << 16)
def normalize_host(host: str) -> str | None:
    """Normalise a host name or IP literal; ``None`` when it cannot be a host."""
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    if host.startswith("["):  # IPv6 literal
        return host if re.fullmatch(r"\[[0-9a-f:.]+\]", host) else None
    if not host.isascii():
        # The WHATWG URL standard's host parser (UTS #46, as browsers do): a host a
        # browser rejects (a zero-width joiner in the wrong place) is no host, and is
        # never mapped to another one (IDNA 2003 dropped it: a\u200d.x became a.x).
        if any(c in host for c in "/?#@\\"):
            return None
        try:
            host = ada_url.URL(f"http://{host}/").hostname
        except ValueError:
            return None
    if not _HOST_OK_RE.match(host) or ".." in host or host.startswith("."):
        return None
    return host


@lru_cache(maxsize=1 << 16)
def _netloc(scheme: str, netloc: str) -> tuple[str, str] | None:
    """(normalised netloc, host) for a raw netloc, or None if it is not valid."""
    if "@" in netloc:
        netloc = netloc.rpartition("@")[2]
    port = ""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return None
        host_part, rest = netloc[: end + 1], netloc[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
    else:
        host_part, _, port = netloc.partition(":")
    host = normalize_host(host_part)
    if host is None:
        return None
    if port:
        if not port.isdigit() or int(port) > 65535:
            return None
        port = str(int(port))
        if port == _DEFAULT_PORTS[scheme]:
            port = ""
    return (f"{host}:{port}" if port else host), host


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def _safe(part: str) -> str:
    """Percent-encode what may not stand in a URL; a stray '%' becomes %25."""
    if not _SAFE_RE.match(part):
        part = quote(part, safe=_SAFE_CHARS, encoding="utf-8", errors="surrogatepass")
    return _BAD_PERCENT_RE.sub("%25", part) if "%" in part else part


def normalize_url(url: str) -> str | None:
    """The canonical form of an absolute http(s) URL, or None if it is not one."""
    if _CANONICAL_RE.fullmatch(url) and "/." not in url and len(url) <= URL_MAX_CHARS:
        return url
    return _normalize(url)


def _normalize(url: str) -> str | None:
    url = url.strip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r").translate(
        _STRIP_INNER
    )
    match = _URL_RE.match(url)
    if match is None:
        return None
    scheme, netloc, path, query = match.groups()
    scheme = scheme.lower()
    norm = _netloc(scheme, netloc)
    if norm is None:
        return None
    if not path:
        path = "/"
    elif "/." in path or path.startswith("."):
        path = _remove_dot_segments(path)
    path = _safe(path)
    result = f"{scheme}://{norm[0]}{path}"
    if query and len(query) > 1:
        result += _safe(query)
    if len(result) > URL_MAX_CHARS:
        return None
    return result


def absolutize(href: str, base: str) -> str | None:
    """Resolve an href found on a page against its base URL (already normalised)."""
    href = href.strip(" \t\n\r\x0c")
    if not href:
        return None
    # Dispatched on the first character: each fast path can only apply to its own.
    first = href[0]
    if first == "#":
        return None
    if first == "/":
        if href[1:2] == "/":
            return normalize_url(base[: base.index(":") + 1] + href)
        if "\\" not in href:
            slash = base.find("/", base.index("//") + 2)
            return normalize_url((base[:slash] if slash >= 0 else base) + href)
    elif first == "h" or first == "H":
        if href[:8].lower().startswith(("http://", "https://")):
            return normalize_url(href)
    if first == ".":
        plain = _plain_relative(href, base)
    elif _PLAIN_RELATIVE_RE.fullmatch(href):
        base_dir = _plain_base_dir(base)
        plain = None if base_dir is None else base_dir + href
    else:
        plain = None
    if plain is not None:
        return normalize_url(plain)
    scheme = _SCHEME_RE.match(href)
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        return None
    try:
        return normalize_url(urljoin(base, href.replace("\\", "/")))
    except ValueError:
        return None


@lru_cache(maxsize=1 << 12)
def _plain_base_dir(base: str) -> str | None:
    """scheme://host/dir/ of a normalised base URL whose path has no empty segment
    (urljoin drops those, so such a base takes the general path), else None."""
    match = _URL_RE.match(base)
    if match is None:
        return None
    scheme, netloc, path, _ = match.groups()
    directory = path[: path.rfind("/") + 1]
    if not directory.startswith("/") or "//" in directory:
        return None
    return f"{scheme}://{netloc}{directory}"


def _plain_relative(href: str, base: str) -> str | None:
    """urljoin(base, href) without urljoin, for an href of plain path segments after any
    leading "./" and "../" (each "../" climbs one directory, never above the root);
    None when the general path is needed."""
    ups = 0
    rest = href
    while rest[:1] == ".":
        if rest.startswith("./"):
            rest = rest[2:]
        elif rest.startswith("../"):
            rest = rest[3:]
            ups += 1
        else:
            return None
    if rest and not _PLAIN_RELATIVE_RE.fullmatch(rest):
        return None
    base_dir = _plain_base_dir(base)
    if base_dir is None:
        return None
    if ups:
        start = base_dir.index("/", base_dir.index("//") + 2)  # the root "/" of the path
        segments = base_dir[start + 1 : -1].split("/") if len(base_dir) > start + 1 else []
        del segments[max(len(segments) - ups, 0) :]
        base_dir = base_dir[: start + 1] + "".join(f"{seg}/" for seg in segments)
    return base_dir + rest


def url_host(url: str) -> str:
    """The host of a normalised URL (no port)."""
    start = url.index("//") + 2
    end = url.find("/", start)
    netloc = url[start:end] if end >= 0 else url[start:]
    if netloc[:1] == "[":
        return netloc[: netloc.index("]") + 1]
    colon = netloc.find(":")
    return netloc if colon < 0 else netloc[:colon]


# ---------------------------------------------------------------- link targets

LinkTarget = tuple[str, str, str]
"""A link's target: (normalised URL, its host, its registrable domain)."""

UNSEEN: Final = object()
"""What ``BaseResolver.by_scheme.get(href, UNSEEN)`` gives for an href it does not hold
(``None`` is a held answer: the href is skipped)."""

_ABSOLUTE = ("http://", "https://")
# What a target can depend on besides its href (see UrlResolver).
_BY_SCHEME, _BY_DIR, _BY_WHOLE_BASE = 0, 1, 2
# A scheme, or else a relative href whose target depends on the base directory at most:
# it does not start with "?", "#" or ";" (for an empty path urljoin keeps the base's
# path, and its query too if the href has none), nor with a C0 control or a space
# (urlsplit strips those first), and has no backslash (absolutize makes "/" of it, and
# two make an empty "//") and no tab or newline (urlsplit removes them: "ht\ttp:" is
# "http:").
_SCOPE_RE = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):|[^?#;\x00-\x20\\][^\\\t\n\r]*\Z")


def _target_scope(href: str) -> int:
    """What the target of `href` depends on besides the href: the base's scheme at most
    (_BY_SCHEME), its directory at most (_BY_DIR) or more (_BY_WHOLE_BASE)."""
    if href.startswith(_ABSOLUTE):  # decided at once: the most common miss
        return _BY_SCHEME
    stripped = href.strip(" \t\n\r\x0c")  # what absolutize looks at
    if not stripped:
        return _BY_SCHEME  # skipped
    first = stripped[0]
    if first == "/":
        if stripped[1:2] == "/":
            return _BY_SCHEME  # protocol-relative
        # absolutize appends it to the base's root, unless urljoin must read backslashes
        return _BY_DIR if "\\" not in stripped else _BY_WHOLE_BASE
    if first == "#":
        return _BY_SCHEME  # skipped
    match = _SCOPE_RE.match(stripped)
    if match is None:
        return _BY_WHOLE_BASE
    scheme = match.group(1)
    if scheme is None:
        return _BY_DIR
    if scheme.lower() in ("http", "https"):
        if stripped[len(scheme) + 1 : len(scheme) + 3] == "//":
            return _BY_SCHEME  # absolute
        return _BY_WHOLE_BASE  # "http:x" is relative, "http:" and "http:?q" keep the base
    return _BY_SCHEME  # another scheme: skipped whatever the base


def _base_dir(base: str) -> str | None:
    """The base URL up to the last '/' of its path (what relative hrefs depend on)."""
    query = base.find("?")
    authority = base.find("//")
    slash = base.rfind("/", 0, query if query >= 0 else len(base))
    if authority < 0 or slash <= authority + 1:
        return None  # no path: not a normalised URL, do not share memo entries
    return base[: slash + 1]


class UrlResolver:
    """Link targets memoised across pages: href → ``LinkTarget``, or ``None`` when
    absolutize skips the href. Every answer equals the uncached one: ``absolutize`` of
    the href against the page's base, with ``url_host`` and ``registrable_domain``.

    Resolving and normalising a URL costs far more than lexbor takes to parse its page,
    and links repeat across pages (menus, footers, popular sites). One memo is kept per
    thing a target can depend on:

    - the base URL's scheme (``"http:"``), for hrefs that depend on nothing else:
      absolute URLs, protocol-relative ``//host/...`` and skipped ones (other schemes,
      ``#...``, empty);
    - the base directory (``"http://host/dir/"``), for relative hrefs (RFC 3986 merge);

    hrefs whose target depends on the whole base URL (``?query``, ``http:``, ``;x``, and
    a few malformed forms) are resolved each time. A page takes its two memos once
    (``for_base``); each link then costs one or two lookups by its href string.

    Bounded: at most ``max_entries`` entries in all memos together (each memo counting
    one more); when full, every memo is cleared (simple, and a crawl refills the hot
    entries at once).
    """

    def __init__(self, max_entries: int = 1 << 16) -> None:
        self.max_entries = max_entries
        self._memos: dict[str, dict[str, LinkTarget | None]] = {}
        self._n_entries = 0

    def __len__(self) -> int:
        """Entries stored since the last clear, plus one per memo (what the bound counts)."""
        return self._n_entries

    def clear(self) -> None:
        """Forget every memoised target."""
        self._memos.clear()
        self._n_entries = 0

    def for_base(self, base: str) -> BaseResolver:
        """The resolver of the links of a page whose base URL is `base` (normalised)."""
        return BaseResolver(self, base)

    def resolve(self, href: str, base: str) -> LinkTarget | None:
        """The target of `href` against `base`, memoised (``for_base(base).get(href)``)."""
        return BaseResolver(self, base).get(href)

    def _memo(self, key: str | None) -> dict[str, LinkTarget | None]:
        """The shared memo of this scheme or base directory (a throwaway one if None)."""
        if key is None:
            return {}
        memo = self._memos.get(key)
        if memo is None:
            if self._n_entries >= self.max_entries:
                self.clear()
            memo = self._memos[key] = {}
            self._n_entries += 1
        return memo


class BaseResolver:
    """The link targets of one base URL, from its ``UrlResolver``'s memos.

    ``get(href)`` answers an href. Hot loops may instead look the href up in
    ``by_scheme`` and then ``by_dir`` (read only, ``.get(href, UNSEEN)``) and call
    ``resolve(href)`` only when both miss: that is what ``get`` does.
    """

    __slots__ = ("_resolver", "base", "by_dir", "by_scheme")

    def __init__(self, resolver: UrlResolver, base: str) -> None:
        self._resolver = resolver
        self.base = base
        self.by_scheme = resolver._memo(base[: base.find(":") + 1])
        self.by_dir = resolver._memo(_base_dir(base))

    def get(self, href: str) -> LinkTarget | None:
        """The target of `href` on a page with this base; None if it is skipped."""
        target = self.by_scheme.get(href, UNSEEN)
        if target is UNSEEN:
            target = self.by_dir.get(href, UNSEEN)
            if target is UNSEEN:
                return self.resolve(href)
        return target

    def resolve(self, href: str) -> LinkTarget | None:
        """The target of `href`, resolved now and memoised where it may be shared."""
        dst = absolutize(href, self.base)
        if dst is None:
            target = None
        else:
            host = url_host(dst)
            target = (dst, host, registrable_domain(host))
        scope = _target_scope(href)
        if scope != _BY_WHOLE_BASE:
            resolver = self._resolver
            if resolver._n_entries >= resolver.max_entries:
                resolver.clear()  # the memos are then no longer shared: this entry is local
            (self.by_scheme if scope == _BY_SCHEME else self.by_dir)[href] = target
            resolver._n_entries += 1
        return target


RESOLVER: Final = UrlResolver()
"""The process's memo of link targets (the extractor's)."""


def resolve_href(href: str, base: str) -> LinkTarget | None:
    """The target of `href` on a page whose base URL is `base`, memoised in RESOLVER."""
    return RESOLVER.resolve(href, base)


def clear_caches() -> None:
    """Forget every memoised URL, host and link target of this module (benchmarks start
    cold with this; core.domains keeps its own cache of registrable domains)."""
    RESOLVER.clear()
    normalize_host.cache_clear()
    _netloc.cache_clear()
    _plain_base_dir.cache_clear()
