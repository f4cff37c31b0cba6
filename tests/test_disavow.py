"""Google's disavow file: writing (levels, collapse, limits, keep list), checking, parsing,
diffing, the toxic_domains rows, and the `linkindex disavow` command (docs/disavow.md)."""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

import queries
from core.errors import LinkindexError
from linkindex import disavow_cmd
from queries.disavow import (
    LEVELS,
    MAX_BYTES,
    MAX_LINES,
    Candidate,
    DisavowDiff,
    DisavowFile,
    KeepList,
    Problem,
    candidates_from_rows,
    check_disavow,
    diff_disavow,
    parse_disavow,
    parse_keep,
    write_disavow,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
HEADER = """\
# disavow file for example.com, written by linkindex
# generated 2026-01-02T03:04:05Z
# minimum toxic score: 50 (of 100)
"""


def write(candidates: list[Candidate], **kwargs: object) -> str:
    options: dict = {"target": "example.com", "min_score": 50, "generated_at": WHEN, **kwargs}
    return write_disavow(candidates, **options)


def body(text: str) -> str:
    """The text after the header (its first blank line)."""
    return text.partition("\n\n")[2]


def entries(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def problems_of(text: str | bytes) -> list[Problem]:
    return check_disavow(text.encode() if isinstance(text, str) else text)


def pages(domain: str, n: int, host: str | None = None) -> tuple[str, ...]:
    return tuple(f"http://{host or domain}/{i}" for i in range(n))


# ---------------------------------------------------------------- writing


def test_written_file_exact_text() -> None:
    candidates = [
        # reasons with a line break: it must not start an entry line
        Candidate("spam.example", 87.5, "sitewide footer 15.0,\nsame /24 20.0",
                  ("http://spam.example/b", "http://spam.example/a",
                   "http://spam.example/a#top"), 10),
        Candidate("Farm.Example", 92, "link farm 40.0", ("http://farm.example/1",), 3),
        Candidate("kept.example", 99, "x", ("http://kept.example/",), 0),
        Candidate("low.example", 49.9, "x", (), 0),
        Candidate("bücher.de", 55, "", ("http://bücher.de/ä",), 0),
        Candidate("mixed.example", 70, "paid 30.0",
                  ("http://mixed.example/a", "http://blog.mixed.example/b"), 100),
    ]
    keep = parse_keep("# ours\nkept.example\nblog.mixed.example\n")
    text = write(candidates, keep=keep,
                 generated_at=datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1))))
    assert text == HEADER + """\
# listed: 4 domains (1 by a domain: line, 3 by 4 URLs)
# below the minimum score: 1 domain
# kept by the keep list: 1 domain, 1 URL

# farm.example: score 92.0 (link farm 40.0)
http://farm.example/1

# spam.example: score 87.5 (sitewide footer 15.0, same /24 20.0)
http://spam.example/a
http://spam.example/b

# mixed.example: score 70.0 (paid 30.0)
# URLs only: the keep list keeps part of this domain
http://mixed.example/a

# xn--bcher-kva.de: score 55.0
domain:xn--bcher-kva.de
"""
    assert problems_of(text) == []


def test_no_candidates_gives_a_header_only() -> None:
    assert write([]) == HEADER + """\
# listed: 0 domains (0 by a domain: line, 0 by 0 URLs)
# below the minimum score: 0 domains
"""


def test_naive_time_is_utc_and_ties_go_by_domain() -> None:
    text = write([Candidate("b.example", 60), Candidate("a.example", 60)],
                 generated_at=datetime(2026, 1, 2, 3, 4, 5))
    assert text.splitlines()[1] == "# generated 2026-01-02T03:04:05Z"
    assert entries(text) == ["domain:a.example", "domain:b.example"]


@pytest.mark.parametrize(
    ("linking", "crawled", "share", "expected"),
    [
        (4, 10, 0.5, "url"),  # less than half of its crawled pages link
        (5, 10, 0.5, "domain"),  # exactly half: most of the domain is listed
        (9, 10, 0.5, "domain"),
        (3, 0, 0.5, "domain"),  # crawled pages unknown
        (12, 10, 0.5, "domain"),  # more linking pages than crawled (an older crawl)
        (2, 10, 0.2, "domain"),
        (1, 10, 0.2, "url"),
        (1, 1, 1.0, "domain"),
    ],
)
def test_auto_collapse_rule(linking: int, crawled: int, share: float, expected: str) -> None:
    text = write([Candidate("spam.example", 80, "", pages("spam.example", linking), crawled)],
                 collapse_share=share)
    if expected == "domain":
        assert entries(text) == ["domain:spam.example"]
    else:
        assert entries(text) == sorted(pages("spam.example", linking))


def test_level_domain_and_url() -> None:
    candidates = [Candidate("a.example", 90, "", pages("a.example", 1), 100),
                  Candidate("b.example", 80, "", pages("b.example", 2, "www.b.example"), 2)]
    assert entries(write(candidates, level="domain")) == ["domain:a.example", "domain:b.example"]
    assert entries(write(candidates, level="url")) == [
        "http://a.example/0", "http://www.b.example/0", "http://www.b.example/1"]
    assert entries(write(candidates, level="auto")) == ["http://a.example/0", "domain:b.example"]


def test_a_domain_without_linking_pages_is_a_domain_line_at_every_level() -> None:
    for level in LEVELS:
        assert entries(write([Candidate("a.example", 90)], level=level)) == ["domain:a.example"]


def test_url_over_2048_characters_collapses_its_domain() -> None:
    long_url = "http://a.example/" + "x" * 2032  # 2,049 characters
    candidates = [Candidate("a.example", 90, "r", ("http://a.example/short", long_url), 100),
                  Candidate("b.example", 80, "", ("http://b.example/ok",), 100)]
    text = write(candidates, level="url")
    assert body(text) == """\
# a.example: score 90.0 (r)
# domain: line: 1 linking URL over 2,048 characters
domain:a.example

# b.example: score 80.0
http://b.example/ok
"""
    assert body(write(candidates, level="auto")) == body(text)
    assert problems_of(text) == []


def test_an_ip_address_is_listed_by_its_urls() -> None:
    long_url = "http://192.0.2.7/" + "x" * 2032
    text = write([Candidate("192.0.2.7", 90, "", ("http://192.0.2.7/a", long_url), 0)],
                 level="domain")
    assert body(text) == """\
# 192.0.2.7: score 90.0
# URLs only: 192.0.2.7 is not a domain name; 1 URL over 2,048 characters left out
http://192.0.2.7/a
"""
    assert problems_of(text) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": "page"}, "bad level 'page': use auto, url or domain"),
        ({"min_score": 101}, "minimum score must be between 0 and 100, not 101"),
        ({"min_score": -1}, "minimum score must be between 0 and 100, not -1"),
        ({"collapse_share": 0}, "collapse share must be in (0, 1], not 0"),
        ({"collapse_share": 1.5}, "collapse share must be in (0, 1], not 1.5"),
    ],
)
def test_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(LinkindexError) as exc:
        write([], **kwargs)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        ([Candidate("a.example", 60), Candidate("A.example", 70)],
         "a.example is a candidate twice"),
        ([Candidate("a b.example", 60)], "not a valid domain name: 'a b.example'"),
        ([Candidate("a.example", float("nan"))], "score of a.example is not a number: nan"),
        ([Candidate("a.example", 60, "", ("ftp://a.example/",))],
         "linking page of a.example is not a valid URL: 'ftp://a.example/'"),
        ([Candidate("a.example", 60, "", ("http://b.example/",))],
         "linking page 'http://b.example/' is not on a.example"),
    ],
)
def test_bad_candidates(candidates: list[Candidate], message: str) -> None:
    with pytest.raises(LinkindexError) as exc:
        write(candidates)
    assert str(exc.value) == message


# ---------------------------------------------------------------- Google's limits


def test_over_100000_lines_the_domain_with_most_urls_collapses() -> None:
    candidates = [Candidate("a.io", 70, "", pages("a.io", 45_000), 1_000_000),
                  Candidate("b.io", 80, "", pages("b.io", 40_000), 1_000_000),
                  Candidate("c.io", 90, "", pages("c.io", 35_000), 1_000_000)]
    text = write(candidates, level="url")
    lines = text.splitlines()
    # header 5, c: 2 + 35,000, b: 2 + 40,000, a: blank, comment, note, domain line
    assert len(lines) == 75_013 <= MAX_LINES
    assert lines[3] == "# listed: 3 domains (1 by a domain: line, 2 by 75,000 URLs)"
    assert lines[-4:] == ["", "# a.io: score 70.0",
                          "# domain: line to fit Google's limits (2 MB, 100,000 lines)",
                          "domain:a.io"]
    assert [line for line in lines if line.startswith("domain:")] == ["domain:a.io"]
    assert problems_of(text) == []


def test_over_2_mb_the_domain_with_most_urls_collapses() -> None:
    def long_pages(domain: str, n: int) -> tuple[str, ...]:
        return tuple(f"http://{domain}/{i:04d}" + "x" * 1_880 for i in range(n))

    candidates = [Candidate(f"{name}.example", 60 + i, "", long_pages(f"{name}.example", n), 10**6)
                  for i, (name, n) in enumerate([("a", 400), ("b", 350), ("c", 300), ("d", 250)])]
    text = write(candidates)
    assert MAX_BYTES - 500_000 < len(text.encode()) <= MAX_BYTES
    assert [line for line in text.splitlines() if line.startswith("domain:")] == [
        "domain:a.example"]
    assert len(entries(text)) == 1 + 350 + 300 + 250
    assert problems_of(text) == []


def test_too_many_domains_even_collapsed_is_an_error() -> None:
    # each domain is 3 lines (blank, comment, domain:) and 50 bytes: the lines run out
    # after (100,000 - 5 header lines) // 3 = 33,331 domains
    candidates = [Candidate(f"{i:05d}.example", 60) for i in range(40_000)]
    with pytest.raises(LinkindexError) as exc:
        write(candidates)
    assert str(exc.value) == (
        "the disavow file does not fit Google's limits (2 MB, 100,000 lines) even with every "
        "domain it can collapse as a domain: line: 6,669 domains too many; raise the minimum "
        "score")
    text = write(candidates[:33_331])
    assert len(text.splitlines()) == 99_998
    assert problems_of(text) == []


def test_urls_that_cannot_collapse_do_not_fit() -> None:
    candidates = [Candidate("192.0.2.1", 90, "", pages("192.0.2.1", 100_000), 0)]
    with pytest.raises(LinkindexError, match=r": 1 domain too many; raise the minimum score"):
        write(candidates)


# ---------------------------------------------------------------- keep list


def test_parse_keep() -> None:
    keep = parse_keep("\ufeff# never these\n\ndomain:Partner.Example\nbücher.de \n"
                      "  www.friend.example\nDOMAIN:x.example\n"
                      "HTTP://Blog.Example:80/a/../post#c\n")
    assert keep == KeepList(
        domains=frozenset({"partner.example", "xn--bcher-kva.de", "www.friend.example",
                           "x.example"}),
        urls=frozenset({"http://blog.example/post"}))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a.example\n*.b.example\n",
         "keep list line 2: '*.b.example' is not domain:NAME, a host name or an http(s) URL"),
        ("domain:\n", "keep list line 1: 'domain:' is not domain:NAME, a host name or an "
                      "http(s) URL"),
        ("# x\nexample.com/page\n", "keep list line 2: 'example.com/page' is not domain:NAME, "
                                    "a host name or an http(s) URL"),
        ("http://exa mple.com/\n", "keep list line 1: not a valid URL: 'http://exa mple.com/'"),
    ],
)
def test_bad_keep_lines(text: str, message: str) -> None:
    with pytest.raises(LinkindexError) as exc:
        parse_keep(text)
    assert str(exc.value) == message


def test_keep_by_domain_parent_domain_and_subdomain() -> None:
    candidates = [
        Candidate("kept.example", 90, "", pages("kept.example", 3), 3),
        Candidate("blog.parent.example", 85, "", pages("blog.parent.example", 1), 0),
        Candidate("part.example", 80, "", pages("part.example", 2, "www.part.example")
                  + pages("part.example", 2, "shop.part.example"), 4),
        Candidate("allsub.example", 75, "", pages("allsub.example", 2, "a.allsub.example"), 2),
    ]
    keep = parse_keep("kept.example\nparent.example\nshop.part.example\na.allsub.example\n")
    text = write(candidates, keep=keep, level="domain")
    assert body(text) == """\
# part.example: score 80.0
# URLs only: the keep list keeps part of this domain
http://www.part.example/0
http://www.part.example/1
"""
    assert text.splitlines()[3:6] == [
        "# listed: 1 domain (0 by a domain: line, 1 by 2 URLs)",
        "# below the minimum score: 0 domains",
        # kept.example, blog.parent.example, allsub.example (every URL kept)
        "# kept by the keep list: 3 domains, 2 URLs",
    ]


def test_keep_by_url() -> None:
    candidate = Candidate("spam.example", 90, "", ("http://spam.example/a",
                                                   "http://spam.example/b"), 2)
    keep = parse_keep("https://spam.example/a\nHTTP://SPAM.example/b?\n")
    # the https URL keeps nothing here; http://spam.example/b is kept (normalised)
    assert body(write([candidate], keep=keep)) == """\
# spam.example: score 90.0
# URLs only: the keep list keeps part of this domain
http://spam.example/a
"""
    assert KeepList(urls=frozenset({"http://x.example/"})).keeps_url("http://x.example/")
    assert not KeepList(domains=frozenset({"x.example"})).keeps_host("notx.example")
    assert KeepList(domains=frozenset({"x.example"})).keeps_host("a.b.x.example")


def test_an_empty_keep_list_is_still_in_the_header() -> None:
    assert write([], keep=parse_keep("# nothing yet\n")) == write([]) + (
        "# kept by the keep list: 0 domains, 0 URLs\n")


# ---------------------------------------------------------------- checking


def test_check_every_line_problem_with_its_line() -> None:
    lines = [
        "# comment",  # 1
        "",  # 2
        "domain:example.com",  # 3
        "domain:Example.org",  # 4
        "domain:http://a.example",  # 5
        "domain:a.example/path",  # 6
        "domain:a.example:8080",  # 7
        "domain:*.a.example",  # 8
        "domain:bücher.de",  # 9
        "domain:a..example",  # 10
        "domain:localhost",  # 11
        "domain:",  # 12
        "http://b.example/" + "x" * 2032,  # 13: 2,049 characters
        "http://b.example/a b",  # 14
        "ftp://b.example/",  # 15
        "www.b.example",  # 16
        "http://[zz]/",  # 17
        "domain:example.com",  # 18: duplicate of 3
        "HTTP://B.example/ok",  # 19
        "http://b.example/ok#frag",  # 20: the same URL as 19
        "https://www.example.com/page",  # 21: covered by line 3
        "domain:sub.example.com",  # 22: covered by line 3
        "domain:192.0.2.1",  # 23
        "  http://c.example/  ",  # 24: surrounding spaces are fine
        "http://d.example/\r",  # 25: CRLF line ends are fine
    ]
    assert problems_of("\n".join(lines) + "\n") == [
        Problem(4, "error", "domain: name must be lower case: domain:example.org"),
        Problem(5, "error", "domain: takes a name, not a URL: no scheme"),
        Problem(6, "error", "domain: takes a name, not a URL: no path"),
        Problem(7, "error", "domain: takes a name without a port"),
        Problem(8, "error", "domain: takes no wildcard: it already covers every subdomain"),
        Problem(9, "error", "domain: name must be in punycode: domain:xn--bcher-kva.de"),
        Problem(10, "error", "not a valid host name: 'a..example'"),
        Problem(11, "error", "domain:localhost is not a domain name (one label)"),
        Problem(12, "error", "domain: without a name"),
        Problem(13, "error", "URL of 2,049 characters: over Google's limit of 2,048"),
        Problem(14, "error", "a space inside a URL: percent-encode it (%20)"),
        Problem(15, "error", "not a comment, a domain: entry or an http(s) URL: "
                             "'ftp://b.example/'"),
        Problem(16, "error", "not a comment, a domain: entry or an http(s) URL: "
                             "'www.b.example'"),
        Problem(17, "error", "not a valid URL: 'http://[zz]/'"),
        Problem(18, "warning", "duplicate of line 3"),
        Problem(20, "warning", "duplicate of line 19"),
        Problem(21, "warning", "already covered by domain:example.com (line 3)"),
        Problem(22, "warning", "already covered by domain:example.com (line 3)"),
        Problem(23, "warning", "domain:192.0.2.1 is an IP address: Google documents domain: "
                               "for domain names"),
    ]


def test_check_a_url_before_the_domain_that_covers_it() -> None:
    assert problems_of("http://a.b.example/x\ndomain:b.example\ndomain:a.b.example\n") == [
        Problem(1, "warning", "already covered by domain:a.b.example (line 3)"),
        Problem(3, "warning", "already covered by domain:b.example (line 2)"),
    ]


def test_check_not_utf8_names_line_and_byte_offset() -> None:
    data = b"domain:a.example\nhttp://b.example/caf\xe9\nhttp://c.example/\xff\xfe\n"
    assert problems_of(data) == [
        Problem(2, "error", "not UTF-8: byte 0xe9 at byte offset 37"),
        Problem(3, "error", "not UTF-8: byte 0xff at byte offset 56"),
    ]
    assert data[37] == 0xE9 and data[56] == 0xFF


def test_check_bom_and_an_empty_file() -> None:
    assert problems_of(b"\xef\xbb\xbfdomain:a.example\n") == [
        Problem(1, "warning", "starts with a UTF-8 byte order mark (BOM): Google asks for "
                              "plain UTF-8")]
    assert problems_of(b"") == [Problem(0, "warning", "no domain: or URL entries")]
    assert problems_of(b"# only\n\n# comments") == [
        Problem(0, "warning", "no domain: or URL entries")]
    assert problems_of("domain:a.example\nhttp://a.example/\u00e9\n") == [
        Problem(2, "warning", "already covered by domain:a.example (line 1)")]


def test_check_over_2_mb() -> None:
    line = b"http://a.example/" + b"x" * 1_000 + b"\n"
    data = b"".join(line[:-1] + b"%d\n" % i for i in range(2_100))
    assert len(data) > MAX_BYTES
    assert problems_of(data) == [
        Problem(0, "error", f"{len(data):,} bytes: over Google's limit of 2 MB (2,097,152 bytes)")]


def test_check_over_100000_lines() -> None:
    data = b"# x\n" * 100_000 + b"domain:a.example"  # no final line break: still a line
    assert problems_of(data) == [
        Problem(0, "error", "100,001 lines: over Google's limit of 100,000")]
    assert problems_of(b"# x\n" * 99_999 + b"domain:a.example\n") == []


def test_parse_disavow() -> None:
    text = ("\ufeff# c\n\ndomain:a.example\r\n  http://b.example/x  \nHTTP://B.example/x\n"
            "domain:a.example\n")
    assert parse_disavow(text) == DisavowFile(
        domains=frozenset({"a.example"}),
        urls=frozenset({"http://b.example/x", "HTTP://B.example/x"}))
    with pytest.raises(LinkindexError) as exc:
        parse_disavow("# x\ndomain:a.example\ndomain:*.b.example\n")
    assert str(exc.value) == ("disavow file line 3: domain: takes no wildcard: it already "
                              "covers every subdomain")


# ---------------------------------------------------------------- diff


def test_diff_added_removed_covered_unchanged() -> None:
    old = """\
# old
domain:same.example
http://same.example/page
http://gone.example/a
http://spam.example/1
http://www.spam.example/2
domain:blog.farm.example
HTTP://Kept.example/x
"""
    new = """\
domain:same.example
domain:spam.example
domain:farm.example
http://kept.example/x
http://new.example/b
domain:new.example
"""
    assert diff_disavow(old, new) == DisavowDiff(
        added=("domain:farm.example", "domain:new.example", "domain:spam.example",
               "http://new.example/b"),
        removed=("http://gone.example/a",),
        covered=(("domain:blog.farm.example", "domain:farm.example"),
                 # gone as a line, disavowed still: by a domain: line both files have
                 ("http://same.example/page", "domain:same.example"),
                 ("http://spam.example/1", "domain:spam.example"),
                 ("http://www.spam.example/2", "domain:spam.example")),
        # domain:same.example, and the kept.example URL (equal once normalised)
        unchanged=2,
    )


def test_diff_of_identical_files_and_bad_old_file() -> None:
    text = "domain:a.example\nhttp://b.example/\n"
    assert diff_disavow(text, text) == DisavowDiff(unchanged=2)
    with pytest.raises(LinkindexError) as exc:
        diff_disavow("domain:a.example\nnot an entry\n", text)
    assert str(exc.value) == ("old disavow file line 2: not a comment, a domain: entry or an "
                              "http(s) URL: 'not an entry'")


# ---------------------------------------------------------------- what write gives, check passes


def random_candidates(rng: random.Random, n: int) -> list[Candidate]:
    names = ["spam", "farm", "bücher", "münchen-links", "日本", "café", "casino", "pbn", "αβγ"]
    tlds = ["com", "de", "co.uk", "info", "xn--p1ai"]
    out = []
    for i in range(n):
        domain = f"{rng.choice(names)}{i}.{rng.choice(tlds)}"
        host = domain if rng.random() < 0.5 else f"{rng.choice(['www', 'blog', 'ü'])}.{domain}"
        paths = ["/", "/a b", "/caf%C3%A9", "/é?q=ü", "/x" * rng.randint(1, 1100),
                 "/p?a=1&b=%E2%82%AC", "/%7Euser/./x/../y"]
        links = tuple(f"{rng.choice(['http', 'https'])}://{host}{rng.choice(paths)}{k}"
                      for k in range(rng.randint(0, 6)))
        reasons = rng.choice(["", "sitewide footer 15.0, same /24 20.0", "ünïcode\u2028break",
                              "tab\there"])
        out.append(Candidate(domain, round(rng.uniform(0, 100), 1), reasons, links,
                             rng.choice([0, 1, 3, 10, 100])))
    if n:  # an IP address, and an IDN given in punycode
        out.append(Candidate("198.51.100.9", 99, "", ("http://198.51.100.9/x",), 0))
        out.append(Candidate("xn--caf-dma.example", 98, "", (
            "http://www.xn--caf-dma.example/%C3%A9t%C3%A9", "http://café.example/ü"), 3))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_written_files_always_pass_the_check(seed: int) -> None:
    rng = random.Random(seed)
    candidates = random_candidates(rng, rng.randint(0, 60))
    keep = KeepList(domains=frozenset(c.domain.encode("idna").decode() for c in candidates[:3]
                                      if c.domain.isascii()))
    for level in LEVELS:
        text = write(candidates, level=level, min_score=rng.choice([0, 30, 50]), keep=keep,
                     collapse_share=rng.choice([0.1, 0.5, 1.0]))
        assert problems_of(text) == [] or problems_of(text) == [
            Problem(0, "warning", "no domain: or URL entries")]
        parsed = parse_disavow(text)
        assert all(len(url) <= 2048 for url in parsed.urls)
        assert all(name.isascii() for name in parsed.domains)


# ---------------------------------------------------------------- rows of toxic_domains


def test_candidates_from_rows() -> None:
    rows = [
        {"src_domain": "spam.example", "toxic_score": 87.5, "reasons": "sitewide 15.0",
         "linking_pages": ["http://spam.example/a"], "pages_crawled": 4, "extra": 1},
        {"src_domain": "farm.example", "toxic_score": 60, "reasons": None,
         "linking_pages": None, "pages_crawled": None},
    ]
    assert candidates_from_rows(rows) == [
        Candidate("spam.example", 87.5, "sitewide 15.0", ("http://spam.example/a",), 4),
        Candidate("farm.example", 60.0, "", (), 0),
    ]
    assert candidates_from_rows([]) == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"src_domain": "a.example", "toxic_score": 1, "linking_pages": [], "reasons": ""},
         "toxic_domains gave no column 'pages_crawled'"),
        ({"src_domain": None, "toxic_score": 1, "linking_pages": [], "reasons": "",
          "pages_crawled": 0},
         "toxic_domains gave a row without a domain or score: {'src_domain': None, "
         "'toxic_score': 1, 'linking_pages': [], 'reasons': '', 'pages_crawled': 0}"),
    ],
)
def test_bad_rows(row: dict, message: str) -> None:
    with pytest.raises(LinkindexError) as exc:
        candidates_from_rows([row])
    assert str(exc.value) == message


# ---------------------------------------------------------------- the command


def run_cmd(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="linkindex")
    sub = parser.add_subparsers(dest="command", required=True)
    disavow_cmd.add_parser(sub, lambda p: p.add_argument("--data", type=Path,
                                                         default=Path("data")))
    return disavow_cmd.cmd_disavow(parser.parse_args(["disavow", *argv]))


def test_cmd_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"domain:a.example\ndomain:a.example\ndomain:*.b.example\n")
    assert run_cmd("--check", str(bad)) == 1
    assert capsys.readouterr().out == (
        f"{bad}:2: warning: duplicate of line 1\n"
        f"{bad}:3: error: domain: takes no wildcard: it already covers every subdomain\n"
        f"{bad}: 1 error, 1 warning\n")
    warned = tmp_path / "warned.txt"
    warned.write_bytes(b"\xef\xbb\xbf# nothing\n")
    assert run_cmd("--check", str(warned)) == 0
    assert capsys.readouterr().out == (
        f"{warned}: warning: no domain: or URL entries\n"  # the whole file: no line number
        f"{warned}:1: warning: starts with a UTF-8 byte order mark (BOM): Google asks for "
        f"plain UTF-8\n{warned}: 0 errors, 2 warnings\n")
    good = tmp_path / "good.txt"
    good.write_text("domain:a.example\n")
    assert run_cmd("--check", str(good)) == 0
    assert capsys.readouterr().out == f"{good}: no problems\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give a TARGET to write its disavow file, or --check FILE"),
        (["example.com", "--check", "f.txt"],
         "give TARGET to write a disavow file, or --check FILE, not both"),
        (["--check", "/nonexistent/f.txt"],
         "cannot read disavow file /nonexistent/f.txt: No such file or directory"),
        (["example.com", "--keep", "/nonexistent/k.txt"],
         "cannot read keep list /nonexistent/k.txt: No such file or directory"),
    ],
)
def test_cmd_errors(argv: list[str], message: str) -> None:
    with pytest.raises(LinkindexError) as exc:
        run_cmd(*argv)
    assert str(exc.value) == message


def test_cmd_reads_its_files_before_the_query(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    def run_query(*args, **kwargs):
        raise AssertionError("the query ran before the files were checked")

    monkeypatch.setattr(queries, "run_query", run_query)
    keep, old, latin = tmp_path / "keep.txt", tmp_path / "old.txt", tmp_path / "latin.txt"
    keep.write_text("# ours\nexample.org\nhttp://\n")
    old.write_text("domain:a.example\ndomain:A.example\n")
    latin.write_bytes(b"caf\xe9.example\n")
    for argv, message in [
        (["--keep", str(keep)], f"keep list {keep} line 3: not a valid URL: 'http://'"),
        (["--diff", str(old)], f"old disavow file {old} line 2: domain: name must be lower "
                               "case: domain:a.example"),
        (["--keep", str(latin)], f"keep list {latin} is not UTF-8 (byte offset 3)"),
    ]:
        with pytest.raises(LinkindexError) as exc:
            run_cmd("example.com", *argv)
        assert str(exc.value) == message


TOXIC = pa.table({
    "src_domain": ["spam.example", "farm.example", "fine.example"],
    "toxic_score": [90.0, 70.0, 10.0],
    "linking_pages": [["http://spam.example/a"], ["http://farm.example/1"], []],
    "pages_crawled": [1, 50, 3],
    "reasons": ["sitewide footer 15.0", "link farm 40.0", ""],
})


def test_cmd_writes_the_file_and_the_diff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    calls = []

    def run_query(data, name, args, *, scope="domain", options=None):  # the lead's, later
        calls.append((data, name, args, scope, options))
        return TOXIC

    monkeypatch.setattr(queries, "run_query", run_query)
    old = tmp_path / "old.txt"
    old.write_text("http://spam.example/a\nhttp://gone.example/\n")
    keep = tmp_path / "keep.txt"
    keep.write_text("# none\n")
    out = tmp_path / "disavow.txt"
    assert run_cmd("example.com", "--data", str(tmp_path), "--min-score", "60", "--keep",
                   str(keep), "--diff", str(old), "-o", str(out), "--scope", "host",
                   "--keyword", "casino", "--keyword", "cheap pills") == 0
    assert calls == [(tmp_path, "toxic_domains", ["example.com"], "host",
                      {"keywords": ["casino", "cheap pills"]})]
    text = out.read_text()
    assert body(text) == """\
# spam.example: score 90.0 (sitewide footer 15.0)
domain:spam.example

# farm.example: score 70.0 (link farm 40.0)
http://farm.example/1
"""
    assert text.splitlines()[2:7] == [
        "# minimum toxic score: 60 (of 100)",
        "# listed: 2 domains (1 by a domain: line, 1 by 1 URL)",
        "# below the minimum score: 1 domain",
        "# kept by the keep list: 0 domains, 0 URLs",
        "",
    ]
    assert capsys.readouterr().out == (
        f"wrote 1 domain: line and 1 URL ({len(text.encode())} bytes) to {out}\n"
        "+ domain:spam.example\n"
        "+ http://farm.example/1\n"
        "- http://gone.example/\n"
        "~ http://spam.example/a (now covered by domain:spam.example)\n"
        f"since {old}: 2 added, 1 removed, 1 now covered by a domain: line, 0 unchanged\n")


def test_cmd_to_stdout_says_the_diff_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    calls = []

    def run_query(data, name, args, *, scope="domain"):  # no options yet: keywords left out
        calls.append((name, args, scope))
        return TOXIC

    monkeypatch.setattr(queries, "run_query", run_query)
    old = tmp_path / "old.txt"
    old.write_text("domain:spam.example\n")
    assert run_cmd("example.com", "--level", "url", "--keyword", "x", "--diff", str(old)) == 0
    assert calls == [("toxic_domains", ["example.com"], "domain")]
    captured = capsys.readouterr()
    assert entries(captured.out) == ["http://spam.example/a", "http://farm.example/1"]
    assert captured.err == (
        "+ http://farm.example/1\n+ http://spam.example/a\n- domain:spam.example\n"
        f"since {old}: 2 added, 1 removed, 0 now covered by a domain: line, 0 unchanged\n")


def test_cmd_levels_are_the_writers() -> None:
    assert disavow_cmd.LEVELS == LEVELS
