"""LINKINDEX_RESOLVE: hosts' addresses given to the crawler, recorded as pages.ip (the
crawl through a proxy that records them: tests/test_link_audit.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import assert_one_line_error, linkindex

from crawler.resolver import static_addresses


def test_a_dict_or_its_json() -> None:
    expected = {"example.com": "203.0.113.7", "v6.example": "2001:db8::1"}
    given = {"Example.COM": "203.0.113.7", "v6.example": "2001:DB8:0::1"}
    assert static_addresses(given) == expected
    assert static_addresses('{"Example.COM": "203.0.113.7", "v6.example": "2001:db8::1"}') \
        == expected
    assert static_addresses(None) == {} == static_addresses("")


@pytest.mark.parametrize(("value", "message"), [
    ("example.com=203.0.113.7", "bad LINKINDEX_RESOLVE: use a JSON object"),
    ('["example.com"]', "bad LINKINDEX_RESOLVE: use a JSON object"),
    ({"example.com": "nope"}, "bad LINKINDEX_RESOLVE entry 'example.com': 'nope' is not"),
    ({"": "203.0.113.7"}, "bad LINKINDEX_RESOLVE entry ''"),
])
def test_bad_values_name_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[")):
        static_addresses(value)


@pytest.mark.slow
def test_a_bad_value_stops_the_crawl_with_one_line(tmp_path: Path) -> None:
    proc = linkindex("crawl", "http://a.example/", "--data", tmp_path / "data",
                     "-s", 'LINKINDEX_RESOLVE={"a.example": "nope"}', check=False)
    assert_one_line_error(proc, "bad LINKINDEX_RESOLVE entry 'a.example'")
