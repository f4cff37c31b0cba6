"""Identity rules for URLs, hosts and domains (DESIGN.md), decided once at crawl time."""

from __future__ import annotations

import pytest
from w3lib.url import safe_url_string

from core.addresses import refused_host
from core.domains import psl_snapshot, registrable_domain
from core.errors import LinkindexError
from core.urls import absolutize, normalize_host, normalize_url, url_host
from crawler.seeds import parse_seeds


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://WWW.Example.COM/", "http://www.example.com/"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com./a", "http://example.com/a"),
        ("http://example.com/a#frag", "http://example.com/a"),
        ("http://example.com/a?#frag", "http://example.com/a"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("http://example.com/ü?q=ü", "http://example.com/%C3%BC?q=%C3%BC"),
        ("http://example.com/%7e%zz", "http://example.com/%7e%25zz"),
        ("http://user:secret@example.com/", "http://example.com/"),
        ("http://Bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
        (" \thttp://example.com/\n ", "http://example.com/"),
        ("ftp://example.com/", None),
        ("http://exa mple.com/", None),
        ("http://example.com:99999/", None),
        ("http:///nohost", None),
        ("http://example.com/" + "a" * 5000, None),
    ],
)
def test_normalize_url(raw: str, expected: str | None) -> None:
    assert normalize_url(raw) == expected
    if expected is not None:
        assert normalize_url(expected) == expected  # idempotent
        assert safe_url_string(expected) == expected  # Scrapy keeps it as is


def test_absolutize_fast_paths_agree_with_urljoin() -> None:
    base = "http://example.com/a/b/c.html?x=1"
    assert absolutize("/root", base) == "http://example.com/root"
    assert absolutize("//cdn.example.com/x", base) == "http://cdn.example.com/x"
    assert absolutize("https://other.example/", base) == "https://other.example/"
    assert absolutize("d.html", base) == "http://example.com/a/b/d.html"
    assert absolutize("?y=2", base) == "http://example.com/a/b/c.html?y=2"
    assert absolutize("\\evil\\path", base) == "http://example.com/evil/path"
    assert absolutize("mailto:x@example.com", base) is None
    assert absolutize("#only", base) is None


def test_hosts_and_domains() -> None:
    assert normalize_host("WWW.Example.COM.") == "www.example.com"
    assert normalize_host("") is None
    assert url_host("http://www.example.com:8080/x") == "www.example.com"
    assert url_host("http://[::1]:8080/x") == "[::1]"
    assert registrable_domain("www.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("a.b.example.com") == "example.com"
    # ICANN section only: private suffixes are not split
    assert registrable_domain("foo.blogspot.com") == "blogspot.com"
    # a suffix the list does not know: the PSL's implicit "*" rule
    assert registrable_domain("site17.example") == "site17.example"
    assert registrable_domain("www.site17.example") == "site17.example"
    assert registrable_domain("co.uk") == "co.uk"
    assert registrable_domain("192.0.2.1") == "192.0.2.1"
    assert registrable_domain("localhost") == "localhost"
    snapshot = psl_snapshot()
    assert snapshot["policy"] == "icann" and len(snapshot["sha256"]) == 64


def test_private_addresses() -> None:
    for host in (
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.5",
        "169.254.169.254",
        "[::1]",
        "[fe80::1]",
        "localhost",
        "app.localhost",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
    ):
        assert refused_host(host), host
    for host in ("8.8.8.8", "example.com", "[2606:4700::1111]"):
        assert not refused_host(host), host


def test_seeds() -> None:
    assert parse_seeds(["example.com", " https://Example.com/ ", "", "http://example.com/"]) == [
        "http://example.com/",
        "https://example.com/",
    ]
    with pytest.raises(LinkindexError, match="bad seed URL 'ftp://x/'"):
        parse_seeds(["ftp://x/"])
    with pytest.raises(LinkindexError, match="bad seed URL"):
        parse_seeds(["http://exa mple.com/"])


def test_seeds_file_is_read_once(tmp_path) -> None:
    """The runner validates before Scrapy starts and the spider again: one read of the file."""
    from scrapy.settings import Settings

    from crawler.spiders.links import prepare_settings

    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# seeds\nexample.com\nhttps://example.org/\n")
    settings = Settings({"LINKINDEX_SEEDS": ["http://example.net/"],
                         "LINKINDEX_SEEDS_FILE": str(seeds), "LINKINDEX_SCOPE": "any"})
    prepare_settings(settings)
    seeds.unlink()
    prepare_settings(settings)
    assert settings.getlist("LINKINDEX_SEEDS") == [
        "http://example.net/", "http://example.com/", "https://example.org/",
    ]


def _absolutize_general(href: str, base: str) -> str | None:
    """absolutize as it was before its fast paths: urljoin for every relative href."""
    from urllib.parse import urljoin

    from core.urls import _SCHEME_RE, _normalize

    href = href.strip(" \t\n\r\x0c")
    if not href or href[0] == "#":
        return None
    if href[:8].lower().startswith(("http://", "https://")):
        return _normalize(href)
    if href.startswith("//"):
        return _normalize(base[: base.index(":") + 1] + href)
    if href[0] == "/" and "\\" not in href:
        slash = base.find("/", base.index("//") + 2)
        return _normalize((base[:slash] if slash >= 0 else base) + href)
    scheme = _SCHEME_RE.match(href)
    if scheme is not None and scheme.group(1).lower() not in ("http", "https"):
        return None
    try:
        return _normalize(urljoin(base, href.replace("\\", "/")))
    except ValueError:
        return None


def test_fast_paths_agree_with_the_general_path() -> None:
    """normalize_url's canonical fast path and absolutize's plain-relative shortcut give
    exactly what the general code gives, on random near-canonical input."""
    import random

    from core.urls import _normalize

    rng = random.Random(4)
    chars = "ab/.-_~%2Fz?=&;:@!$'()*+, #\\é"
    hosts = ["example.com", "a-b.c_d", "x..y", "a.b.", "Example.COM", "h:80", "u@h"]
    for _ in range(20_000):
        url = (rng.choice(["http://", "https://", "HTTP://"]) + rng.choice(hosts)
               + "".join(rng.choice(chars) for _ in range(rng.randint(0, 14))))
        assert normalize_url(url) == _normalize(url), url
    parts = ["./", "../", "a", "b/", "c.html", ".", "..", "/", "x/", ".h", "%2e", "", "?q", ";p"]
    bases = ["http://h.com/", "http://h.com/a/b", "https://h.com/a;p/b;q?x=/y",
             "http://h.com/a//b/c", "http://h.com/.x/y", "http://h.com/a/b/c/d"]
    for _ in range(20_000):
        href = "".join(rng.choice(parts) for _ in range(rng.randint(1, 5)))
        base = rng.choice(bases)
        assert absolutize(href, base) == _absolutize_general(href, base), (href, base)


def test_absolutize_dispatch_agrees_with_the_general_path() -> None:
    """absolutize's first-character dispatch gives what the general code gives, on random
    hrefs of every form (absolute in any case, protocol- and root-relative, fragments,
    other schemes, backslashes, surrounding whitespace)."""
    import random

    rng = random.Random(5)
    parts = ["http://", "HTTPS://", "Http:", "h", "H", "//", "/", "\\", "#", "?q", "./", "../",
             ".", "a", "b/", "x.example", ":", "mailto:", "%2e", " ", "\t", "\n", "é", "@"]
    bases = ["http://h.com/", "http://h.com/a/b", "https://h.com/a;p/b;q?x=/y",
             "http://h.com/a//b/c", "https://h.com:8443/d/e/"]
    for _ in range(20_000):
        href = "".join(rng.choice(parts) for _ in range(rng.randint(0, 5)))
        base = rng.choice(bases)
        assert absolutize(href, base) == _absolutize_general(href, base), (href, base)


def test_url_host_agrees_with_the_plain_split() -> None:
    """url_host's find-and-slice form equals the split it replaced, on random URLs."""
    import random

    def plain(url: str) -> str:
        netloc = url[url.index("//") + 2 :].split("/", 1)[0]
        if netloc.startswith("["):
            return netloc[: netloc.index("]") + 1]
        return netloc.partition(":")[0]

    rng = random.Random(6)
    parts = ["http://", "https://", "h.com", "[::1]", ":80", ":", "/", "/p", "?q=/", "x", "]"]
    for _ in range(20_000):
        url = "".join(rng.choice(parts) for _ in range(rng.randint(1, 6)))
        try:
            expected: str | Exception = plain(url)
        except ValueError as error:
            expected = error
        if isinstance(expected, Exception):
            with pytest.raises(ValueError):
                url_host(url)
        else:
            assert url_host(url) == expected, url


# Hrefs of every form a link target can take, including those whose target depends on
# the whole base URL ("?q", "http:", ";p", a leading control character, "\\\\", and a
# tab inside "http:"), which must never be shared between bases.
_HREF_PARTS = ["http://", "HTTPS://", "http:", "HTTP:", "ht\ttp:", "//", "/", "\\", "#", "?q",
               "?", ";p", ";", "./", "../", ".", "a", "b/", "x.example", ":", "mailto:",
               "%2e", " ", "\t", "\n", "\x0b", "\x01", "é", "@"]
# Bases that share schemes and directories, with and without a query and a last segment.
_BASES = ["http://h.com/", "http://h.com/a/b", "http://h.com/a/c?x=1", "http://h.com/a/",
          "https://h.com/a/b", "https://h.com/a;p/b;q?x=/y", "http://h.com/a//b/c",
          "http://h.com/a//b/d?z", "https://h.com:8443/d/e/", "https://h.com:8443/d/e/f",
          "http://g.org/a/b", "http://h.com"]


def _uncached_target(href: str, base: str) -> tuple[str, str, str] | None:
    dst = absolutize(href, base)
    return None if dst is None else (dst, url_host(dst), registrable_domain(url_host(dst)))


def test_resolver_gives_what_uncached_absolutize_gives() -> None:
    """UrlResolver memoises targets across bases (by scheme, by directory): on random
    hrefs against bases that share both, every answer, first or memoised, equals
    absolutize's with url_host and registrable_domain."""
    import random

    from core.urls import UNSEEN, UrlResolver

    rng = random.Random(9)
    resolver = UrlResolver()
    hrefs = ["".join(rng.choice(_HREF_PARTS) for _ in range(rng.randint(0, 4)))
             for _ in range(3_000)]
    for _ in range(3):  # the second and third rounds answer from the memos
        for href in hrefs:
            base = rng.choice(_BASES)
            assert resolver.resolve(href, base) == _uncached_target(href, base), (href, base)
    for base in _BASES:  # the hot loop's way: two memo lookups, then resolve
        targets = resolver.for_base(base)
        for href in hrefs:
            target = targets.by_scheme.get(href, UNSEEN)
            if target is UNSEEN:
                target = targets.by_dir.get(href, UNSEEN)
                if target is UNSEEN:
                    target = targets.resolve(href)
            assert target == _uncached_target(href, base), (href, base)
            assert targets.get(href) == target


def test_hrefs_that_keep_the_base_are_never_shared() -> None:
    """An href with an empty path keeps the base's path (and query): it must not be
    answered from the memo of another base in the same directory."""
    from core.urls import UrlResolver

    resolver = UrlResolver()
    for href in ["?q", "http:", "HTTP:?q", "http:#f", ";p", ";", "\x0b", "\x01?q",
                 "ht\ttp:", "\\\\", "/\\", "\\\\?q"]:
        for base in ["http://h.com/a/b", "http://h.com/a/c?x=1", "http://h.com/a/b"]:
            assert resolver.resolve(href, base) == _uncached_target(href, base), (href, base)
    assert resolver.resolve("http:", "http://h.com/a/c?x=1")[0] == "http://h.com/a/c?x=1"


def test_resolver_is_bounded() -> None:
    """At most max_entries entries (each memo counting one): cleared when full, with
    answers unchanged."""
    from core.urls import UrlResolver

    resolver = UrlResolver(max_entries=50)
    for i in range(1_000):
        base = f"http://h{i % 7}.com/d{i % 3}/p"
        for href in (f"x{i}", f"/y{i}", f"http://z{i}.com/", "#top", "?q"):
            assert resolver.resolve(href, base) == _uncached_target(href, base)
            assert len(resolver) <= 50
    assert UrlResolver().max_entries == 1 << 16
    resolver.clear()
    assert len(resolver) == 0


def test_clear_caches_clears_every_url_cache() -> None:
    from core.urls import RESOLVER, _netloc, _plain_base_dir, clear_caches, resolve_href

    base = "http://Cache.example/dir/page?x"
    assert resolve_href("a b", base) == _uncached_target("a b", base)
    assert resolve_href("http://Other.example:80/", base) == _uncached_target(
        "http://Other.example:80/", base)
    assert normalize_url("http://Third.example/") == "http://third.example/"
    assert len(RESOLVER) > 0
    caches = (normalize_host, _netloc, _plain_base_dir)
    assert all(cache.cache_info().currsize > 0 for cache in caches)
    clear_caches()
    assert len(RESOLVER) == 0
    assert [cache.cache_info().currsize for cache in caches] == [0, 0, 0]
    assert resolve_href("a b", base) == ("http://cache.example/dir/a%20b", "cache.example",
                                         "cache.example")


def test_hosts_browsers_reject_are_no_hosts_and_never_another_host() -> None:
    # IDNA 2003's nameprep dropped the joiner: a link to a\u200d.example became a.example.
    assert normalize_url("http://a\u200d.example/") is None
    assert normalize_url("http://\u2603.net/") == "http://xn--n3h.net/"  # as browsers do
    assert normalize_url("http://B\u00fccher.EXAMPLE/x") == "http://xn--bcher-kva.example/x"
    assert normalize_url("http://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com/") == (
        "http://example.com/")
