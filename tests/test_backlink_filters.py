"""The analyst's filters of backlinks and referring_domains (queries/_target_links.sql):
group_similar, seen_since / seen_until / seen_field, anchor_contains, src_tld and
min_domain_rank, through run_query, the SQL session and the command line, on a
hand-made index whose every answer is written out below.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from indexdata import edge, write_index

from core.errors import LinkindexError
from queries import Filters, explain_empty, run_query, run_sql

TARGET = "shop.example"
S = f"https://{TARGET}"
A1, A2, A3 = "https://www.alpha.de/a1", "https://www.alpha.de/a2", "https://www.alpha.de/a3"
B1, B2 = "https://news.beta.co.uk/b1", "https://news.beta.co.uk/b2"
G1, D1, E1 = "https://gamma.example/g1", "https://delta.de/d1", "https://eps.fr/e1"


def ranked(link: dict[str, Any], page_rank: float) -> dict[str, Any]:
    return {**link, "src_page_rank": page_rank}


EDGES = [
    # alpha.de (domain rank 70): a2 and a3 share the best page rank; a3 is dofollow
    ranked(edge(A1, f"{S}/p1", "Best Shoes", first="2025-01-05", last="2025-03-01"), 30),
    ranked(edge(A2, f"{S}/p2", "shop example", nofollow=True, first="2025-02-10",
                last="2025-02-20"), 50),
    ranked(edge(A3, f"{S}/p1", "cheap SHOES here", first="2025-03-01", last="2025-03-01"), 50),
    # beta.co.uk (55): b1 and b2 tie on page rank and rel; b1 is the first src_url
    ranked(edge(B1, f"{S}/p1", kind="img", alt="Shoe photo", first="2025-01-20",
                last="2025-02-01"), 10),
    ranked(edge(B2, f"{S}/p3", "boots", first="2025-02-01", last="2025-03-01"), 10),
    # gamma.example (40), delta.de (20), and eps.fr (5), whose link is lost
    edge(G1, f"{S}/p1", "gamma shoes", ugc=True, first="2025-02-01", last="2025-02-15"),
    edge(D1, f"{S}/p2", "Shoes!", first="2025-01-31", last="2025-02-28"),
    edge(E1, f"{S}/p1", "nothing", first="2025-02-15", last="2025-02-20", live=False),
]
RANKS = {"alpha.de": 70, "beta.co.uk": 55, "gamma.example": 40, "delta.de": 20, "eps.fr": 5}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("filters")
    write_index(root, EDGES, ranks=RANKS)
    return root


def sources(data: Path, name: str = "backlinks", **options: Any) -> list[str]:
    """The source pages of backlinks, in order (src_domain for referring_domains)."""
    column = "src_domain" if name == "referring_domains" else "src_url"
    return run_query(data, name, [TARGET], options=options).column(column).to_pylist()


def test_no_option_gives_every_live_link(data: Path) -> None:
    assert sources(data) == [A1, A2, A3, B1, B2, G1, D1]


def test_group_similar_keeps_each_domains_best_link(data: Path) -> None:
    # alpha: a2, a3 best page rank, a3 dofollow; beta: the first src_url.
    assert sources(data, group_similar=True) == [A3, B1, G1, D1]
    assert sources(data, group_similar=False) == sources(data)
    found = run_query(data, "backlinks", [TARGET], options={"group_similar": True},
                      filters=Filters(live_only=False)).to_pylist()
    assert [(r["src_url"], r["anchor"]) for r in found] == [
        (A3, "cheap SHOES here"), (B1, ""), (G1, "gamma shoes"), (D1, "Shoes!"),
        (E1, "nothing")]


def test_seen_window_on_first_or_last_seen(data: Path) -> None:
    assert sources(data, seen_since="2025-02-01") == [A2, A3, B2, G1]  # since: included
    assert sources(data, seen_until="2025-02-01") == [A1, B1, D1]  # until: excluded
    assert sources(data, seen_since="2025-02-01", seen_until="2025-03-01") == [A2, B2, G1]
    assert sources(data, seen_field="last_seen", seen_since="2025-03-01") == [A1, A3, B2]
    assert sources(data, seen_field="last_seen", seen_until="2025-02-16") == [B1, G1]
    # a moment with a zone: 01:00 at +02:00 is 23:00 UTC the day before
    assert sources(data, seen_until="2025-02-01T01:00:00+02:00") == [A1, B1, D1]
    assert sources(data, seen_since="2025-01-31T23:00:00Z", seen_until="2025-02-01") == []


def test_anchor_contains_any_case_and_the_alt_text_of_images(data: Path) -> None:
    shoes = [A1, A3, B1, G1, D1]
    assert sources(data, anchor_contains="shoe") == shoes
    assert sources(data, anchor_contains="SHOE") == shoes
    assert sources(data, anchor_contains="photo") == [B1]
    assert sources(data, anchor_contains="boots") == [B2]


def test_src_tld_is_the_domain_after_its_first_label(data: Path) -> None:
    assert sources(data, src_tld="de") == [A1, A2, A3, D1]
    assert sources(data, src_tld=".DE") == [A1, A2, A3, D1]
    assert sources(data, src_tld="co.uk") == [B1, B2]
    assert sources(data, src_tld="uk") == []
    assert sources(data, src_tld="example") == [G1]


def test_min_domain_rank(data: Path) -> None:
    assert sources(data, min_domain_rank=55) == [A1, A2, A3, B1, B2]
    assert sources(data, min_domain_rank=55.5) == [A1, A2, A3]
    assert sources(data, min_domain_rank=0) == sources(data)


def test_filters_combine(data: Path) -> None:
    assert sources(data, group_similar=True, src_tld="de") == [A3, D1]
    assert sources(data, group_similar=True, anchor_contains="shoe") == [A3, B1, G1, D1]
    assert sources(data, group_similar=True, seen_until="2025-02-01") == [A1, B1, D1]
    assert sources(data, min_domain_rank=50, seen_since="2025-02-01",
                   anchor_contains="o") == [A2, A3, B2]


def test_referring_domains_counts_the_links_that_pass(data: Path) -> None:
    def counted(**options: Any) -> list[tuple[str, int, int]]:
        found = run_query(data, "referring_domains", [TARGET], options=options).to_pylist()
        return [(r["src_domain"], r["backlinks"], r["dofollow_backlinks"]) for r in found]

    assert counted(src_tld="de") == [("alpha.de", 3, 2), ("delta.de", 1, 1)]
    assert counted(anchor_contains="shoe") == [
        ("alpha.de", 2, 2), ("beta.co.uk", 1, 1), ("delta.de", 1, 1), ("gamma.example", 1, 0)]
    assert counted(min_domain_rank=50, seen_since="2025-02-01") == [
        ("alpha.de", 2, 1), ("beta.co.uk", 1, 1)]
    assert counted(seen_field="last_seen", seen_until="2025-02-16") == [
        ("beta.co.uk", 1, 1), ("gamma.example", 1, 0)]


def test_the_session_takes_the_same_options(data: Path) -> None:
    sql = ("SELECT * FROM backlinks('shop.example', group_similar := true, src_tld := 'de',"
           " seen_since := '2025-01-01', min_domain_rank := 10)")
    same = run_query(data, "backlinks", [TARGET], options={
        "group_similar": True, "src_tld": "de", "seen_since": "2025-01-01",
        "min_domain_rank": 10})
    assert run_sql(data, sql).equals(same)
    assert same.column("src_url").to_pylist() == [A3, D1]


ERRORS = [
    ({"since": "2025-01-01"},
     "query backlinks takes no option since (it takes: brands, keywords, group_similar, "
     "seen_since, seen_until, seen_field, anchor_contains, src_tld, min_domain_rank, "
     "src_lang, sitewide, with_relevance)"),
    ({"kind": "a"}, "options cannot set kind: pass it as run_query's filters argument"),
    ({"scope": "host"}, "options cannot set scope: pass it as run_query's scope argument"),
    ({"seen_since": "yesterday"},
     "bad date 'yesterday' for seen_since: use ISO 8601, e.g. 2025-06-01 or "
     "2025-06-01T12:00:00Z"),
    ({"seen_until": 20250101},
     "bad seen_until 20250101: use a moment: a datetime or ISO 8601 text such as 2025-06-01"),
    ({"min_domain_rank": "50"}, "bad min_domain_rank '50': use a number"),
    ({"min_domain_rank": float("nan")}, "bad min_domain_rank nan: use a number"),
    ({"group_similar": "yes"}, "bad group_similar 'yes': use true or false"),
    ({"src_tld": 5}, "bad src_tld 5: use text"),
    ({"seen_field": "lost_at"},
     "Invalid Input Error: seen_field must be first_seen or last_seen, not 'lost_at'"),
    ({"min_domain_rank": 150},
     "Invalid Input Error: min_domain_rank must be from 0 to 100, not 150.0"),
]


@pytest.mark.parametrize(("options", "message"), ERRORS)
def test_a_bad_option_is_one_clear_line(data: Path, options: dict[str, Any],
                                        message: str) -> None:
    for target in (TARGET, "nosuch.example"):  # checked whether or not links are there
        with pytest.raises(LinkindexError) as caught:
            run_query(data, "backlinks", [target], options=options)
        assert str(caught.value) == message


def test_referring_domains_takes_no_group_similar(data: Path) -> None:
    with pytest.raises(LinkindexError, match=r"^query referring_domains takes no option "
                                             r"group_similar \(it takes: seen_since, "):
        run_query(data, "referring_domains", [TARGET], options={"group_similar": True})


def test_an_empty_answer_names_the_option_that_emptied_it(data: Path) -> None:
    def why(**options: Any) -> str | None:
        assert sources(data, **options) == []
        return explain_empty(data, "backlinks", [TARGET], options=options)

    assert why(anchor_contains="sandal") == "0 rows; 7 more without --anchor-contains"
    assert why(anchor_contains="nothing") == (
        "0 rows; 1 more with --include-lost, 7 more without --anchor-contains")
    assert why(src_tld="fr") == "0 rows; 1 more with --include-lost, 7 more without --src-tld"
    # each lifted alone: a1 and a2 were first seen before the 12th, a3 after the 20th
    assert why(min_domain_rank=60, seen_since="2025-02-12", seen_until="2025-02-20") == (
        "0 rows; 2 more without --seen-since, 1 more without --seen-until")
    # none alone finds a row: all of them lifted together, each named
    assert why(src_tld="fr", anchor_contains="zzz") == (
        "0 rows; 8 more with --include-internal --include-lost "
        "without --anchor-contains --src-tld")


def cli(data: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from linkindex.cli import main

    code = main([*argv, "--data", str(data)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_flags(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def urls(*flags: str) -> list[str]:
        code, out, err = cli(data, capsys, "query", "backlinks", TARGET, "--format", "json",
                             *flags)
        assert code == 0, err
        return [row["src_url"] for row in json.loads(out)]

    assert urls("--group-similar") == [A3, B1, G1, D1]
    assert urls("--seen-since", "2025-02-01", "--seen-until", "2025-03-01") == [A2, B2, G1]
    assert urls("--seen-field", "last_seen", "--seen-since", "2025-03-01") == [A1, A3, B2]
    assert urls("--anchor-contains", "SHOE") == [A1, A3, B1, G1, D1]
    assert urls("--src-tld", "co.uk") == [B1, B2]
    assert urls("--min-domain-rank", "55") == [A1, A2, A3, B1, B2]
    assert urls("--group-similar", "--src-tld", "de", "--include-lost") == [A3, D1]
    out = tmp_path / "rd.csv"
    code, printed, _ = cli(data, capsys, "export", "referring_domains", TARGET,
                           "--anchor-contains", "shoe", "--src-tld", "de", "-o", str(out))
    assert (code, printed) == (0, f"wrote 2 rows to {out}\n")
    with out.open(newline="") as fh:
        assert [r["src_domain"] for r in csv.DictReader(fh)] == ["alpha.de", "delta.de"]
    code, printed, err = cli(data, capsys, "query", "backlinks", TARGET,
                             "--anchor-contains", "sandal")
    assert (code, err) == (0, "linkindex: 0 rows; 7 more without --anchor-contains\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "anchors", TARGET, "--group-similar"],
         "query anchors takes no option --group-similar (it takes: --brand, --keyword, "
         "--keywords-file)"),
        (["query", "top_pages", TARGET, "--src-tld", "de"],
         "query top_pages takes no option --src-tld (it takes none)"),
        (["query", "backlinks", TARGET, "--min-domain-rank", "abc"],
         "bad --min-domain-rank 'abc': use a number from 0 to 100"),
        (["query", "backlinks", TARGET, "--min-domain-rank", "101"],
         "bad --min-domain-rank '101': use a number from 0 to 100"),
        (["query", "backlinks", TARGET, "--seen-field", "found_at"],
         "bad --seen-field 'found_at': use first_seen or last_seen"),
        (["export", "referring_domains", TARGET, "-o", "x.csv", "--seen-since", "soon"],
         "bad date 'soon' for --seen-since: use ISO 8601, e.g. 2025-06-01 or "
         "2025-06-01T12:00:00Z"),
    ],
)
def test_cli_errors_are_one_line(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str], argv: list[str],
                                 message: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli(data, capsys, *argv) == (1, "", f"linkindex: error: {message}\n")
    assert not (tmp_path / "x.csv").exists()
