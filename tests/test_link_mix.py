"""link_mix on the crawled synthetic web equals counts made in Python over backlinks' rows.

The expected rows are computed here from ``backlinks`` (one row per link, the same links
link_mix counts under the same filters), never from link_mix's SQL: per kind, per
position and per rel, the links, the distinct source domains and the share of all links.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from core.errors import LinkindexError
from queries import Filters, run_query, run_sql

# Every test queries the session's crawl of the synthetic web.
pytestmark = pytest.mark.slow

Row = dict[str, Any]

REL = ("dofollow", "nofollow", "ugc", "sponsored")
DEFAULT = Filters()
# The filters each target is checked under (position footer only where a link has it).
FILTERS = [
    Filters(),
    Filters(dofollow_only=True),
    Filters(external_only=False),
    Filters(live_only=False),
    Filters(kind="img"),
    Filters(kind="a", dofollow_only=True),
]


def is_dofollow(link: Row) -> bool:
    return not (link["nofollow"] or link["ugc"] or link["sponsored"])


def share(n: int, total: int) -> float:
    """n / total to 4 decimals, an exact half rounded up (SQL's round: 1/32 is 0.0313;
    Python's round would give 0.0312), 0 when there is nothing to share."""
    if not total:
        return 0.0
    return float((Decimal(n) / Decimal(total)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _counted(facet: str, value: str | None, links: list[Row], total: int) -> Row:
    return {
        "facet": facet,
        "value": value,
        "backlinks": len(links),
        "referring_domains": len({link["src_domain"] for link in links}),
        "backlinks_share": share(len(links), total),
    }


def _by_value(facet: str, links: list[Row], total: int) -> list[Row]:
    """One row per value of `facet` among the links: most links first, then the value
    (a NULL value, such as a redirect's position, after every other)."""
    groups: dict[str | None, list[Row]] = defaultdict(list)
    for link in links:
        groups[link[facet]].append(link)
    order = sorted(groups, key=lambda v: (-len(groups[v]), v is None, v or ""))
    return [_counted(facet, value, groups[value], total) for value in order]


def expected_mix(links: list[Row]) -> list[Row]:
    """link_mix's rows from backlinks' rows, counted in plain Python."""
    total = len(links)
    rel: dict[str, Callable[[Row], bool]] = {
        "dofollow": is_dofollow,
        "nofollow": lambda link: link["nofollow"],
        "ugc": lambda link: link["ugc"],
        "sponsored": lambda link: link["sponsored"],
    }
    return [
        *_by_value("kind", links, total),
        *_by_value("position", links, total),
        *(_counted("rel", name, [link for link in links if rel[name](link)], total)
          for name in REL),
    ]


def mix(data: Path, target: str, scope: str = "domain",
        filters: Filters = DEFAULT) -> list[Row]:
    return run_query(data, "link_mix", [target], scope=scope, filters=filters).to_pylist()


def links(data: Path, target: str, scope: str = "domain",
          filters: Filters = DEFAULT) -> list[Row]:
    return run_query(data, "backlinks", [target], scope=scope, filters=filters).to_pylist()


def facet_rows(rows: Iterable[Row], facet: str) -> dict[str | None, Row]:
    return {row["value"]: row for row in rows if row["facet"] == facet}


@pytest.fixture(scope="module")
def top_domains(crawled: Path) -> list[str]:
    """The three crawled domains with the most referring domains."""
    return run_sql(crawled, "SELECT domain FROM domains WHERE pages_crawled > 0 "
                            "ORDER BY referring_domains DESC, domain LIMIT 3"
                   ).column("domain").to_pylist()


def test_columns_and_facet_order(crawled: Path, top_domains: list[str]) -> None:
    table = run_query(crawled, "link_mix", [top_domains[0]])
    assert table.column_names == [
        "facet", "value", "backlinks", "referring_domains", "backlinks_share"]
    facets = table.column("facet").to_pylist()
    assert facets == sorted(facets, key=["kind", "position", "rel"].index)
    assert [row["value"] for row in table.to_pylist() if row["facet"] == "rel"] == list(REL)


@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_top_domains_equal_python_counts(crawled: Path, top_domains: list[str],
                                         filters: Filters) -> None:
    assert len(top_domains) == 3
    for target in top_domains:
        assert mix(crawled, target, filters=filters) == expected_mix(
            links(crawled, target, filters=filters)), target


def test_share() -> None:
    assert share(1, 32) == 0.0313
    assert share(9, 32) == 0.2813
    assert share(31, 32) == 0.9688
    assert share(1, 3) == 0.3333
    assert share(2, 3) == 0.6667
    assert share(0, 5) == 0.0
    assert share(0, 0) == 0.0


@pytest.mark.parametrize("filters", [Filters(), Filters(external_only=False)], ids=repr)
def test_every_crawled_domain(crawled: Path, filters: Filters) -> None:
    """Every crawled domain, small ones too: their totals (32, 96, ...) give shares that
    fall on an exact half, which the top domains' do not."""
    targets = run_sql(crawled, "SELECT domain FROM domains WHERE pages_crawled > 0 "
                               "ORDER BY domain").column("domain").to_pylist()
    assert len(targets) >= 50
    ties = 0
    for target in targets:
        counted = links(crawled, target, filters=filters)
        ties += sum(bool(counted) and (row["backlinks"] * 20000) % len(counted) == 0
                    and (row["backlinks"] * 10000) % len(counted) != 0
                    for row in expected_mix(counted))
        assert mix(crawled, target, filters=filters) == expected_mix(counted), target
    assert ties > 0


def test_unfiltered_mix_is_not_trivial(crawled: Path, top_domains: list[str]) -> None:
    """The synthetic web gives the facets something to split: several kinds and
    positions, and links of every rel."""
    rows = mix(crawled, top_domains[0])
    assert len(facet_rows(rows, "kind")) >= 2
    assert len(facet_rows(rows, "position")) >= 2
    assert all(row["backlinks"] > 0 for row in facet_rows(rows, "rel").values())


def test_position_filter(crawled: Path, top_domains: list[str]) -> None:
    """With --position footer, only footer links count: one position row, for every
    target that has footer links at all."""
    checked = 0
    for target in top_domains:
        if "footer" not in facet_rows(mix(crawled, target), "position"):
            continue
        filters = Filters(position="footer")
        rows = mix(crawled, target, filters=filters)
        footer_links = links(crawled, target, filters=filters)
        assert rows == expected_mix(footer_links)
        assert list(facet_rows(rows, "position")) == ["footer"]
        assert facet_rows(rows, "position")["footer"]["backlinks_share"] == 1.0
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("filters", [Filters(), Filters(external_only=False),
                                     Filters(dofollow_only=True)], ids=repr)
@pytest.mark.parametrize("target", ["site1.example", "blog.site1.example"])
def test_scope_host(crawled: Path, target: str, filters: Filters) -> None:
    host_links = links(crawled, target, "host", filters)
    assert host_links
    assert mix(crawled, target, "host", filters) == expected_mix(host_links)


def test_host_scope_counts_fewer_than_domain(crawled: Path) -> None:
    """site1.example as a host leaves out blog.site1.example's links."""
    def counted(target: str, scope: str) -> int:
        return sum(row["backlinks"] for row in mix(crawled, target, scope)
                   if row["facet"] == "kind")

    domain = counted("site1.example", "domain")
    apex = counted("site1.example", "host")
    blog = counted("blog.site1.example", "host")
    assert apex + blog <= domain
    assert 0 < apex < domain


@pytest.mark.parametrize("filters", FILTERS[:4], ids=repr)
def test_rel_and_img_equal_overview(crawled: Path, top_domains: list[str],
                                    filters: Filters) -> None:
    for target in top_domains:
        rows = mix(crawled, target, filters=filters)
        (overview,) = run_query(crawled, "overview", [target], filters=filters).to_pylist()
        rel = facet_rows(rows, "rel")
        assert {name: rel[name]["backlinks"] for name in REL} == {
            name: overview[name] for name in REL}, target
        kinds = facet_rows(rows, "kind")
        assert kinds.get("img", {"backlinks": 0})["backlinks"] == overview["image_links"]
        assert sum(row["backlinks"] for row in kinds.values()) == overview["backlinks"]
        positions = facet_rows(rows, "position")
        assert sum(row["backlinks"] for row in positions.values()) == overview["backlinks"]


def test_no_link_counted_gives_rel_zeros(crawled: Path, top_domains: list[str]) -> None:
    """A known target none of whose links pass the filters: the four rel rows only, all
    zero, share 0."""
    target = top_domains[0]
    filters = Filters(kind="canonical", dofollow_only=True, position="footer")
    assert links(crawled, target, filters=filters) == []
    assert mix(crawled, target, filters=filters) == [
        {"facet": "rel", "value": name, "backlinks": 0, "referring_domains": 0,
         "backlinks_share": 0.0}
        for name in REL
    ]


def test_unknown_target_raises(crawled: Path) -> None:
    with pytest.raises(LinkindexError) as caught:
        run_query(crawled, "link_mix", ["nosuch.example"])
    assert str(caught.value) == "no data for target nosuch.example (scope domain) in the index"
