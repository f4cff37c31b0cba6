"""Anchor classes (queries/_anchors.sql, docs/anchors.md), case by case, through the real
queries on a hand-made index.

The target is acme-widgets.example: its brand token is "acme-widgets", in words "acme
widgets". Every case below is one link to it from a page of its own, with the class it
must get written out by hand twice: with no options, and with the user's brand "Acme"
and the keywords "blue widgets" and "widget supplier". Nothing here comes from the
product's code: the totals anchor_mix must give are counted in Python from this table.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from indexdata import edge, write_index

from core.errors import LinkindexError
from queries import Filters, run_query, run_sql

TARGET = "acme-widgets.example"
HOME = f"https://{TARGET}/"
BRANDS = ["Acme"]
KEYWORDS = ["blue widgets", "widget supplier"]
OPTIONS = {"brands": BRANDS, "keywords": KEYWORDS}

# (anchor, kind, alt, class with no options, class with OPTIONS)
CASES: list[tuple[str, str, str | None, str, str]] = [
    # image: an image link, whatever its alt text or anchor says
    ("", "img", "Acme Widgets logo", "image", "image"),
    ("", "img", None, "image", "image"),
    ("click here", "img", "click here", "image", "image"),  # as the extractor stores it
    # empty: no text, and the links that never have any
    ("", "a", None, "empty", "empty"),
    ("", "redirect", None, "empty", "empty"),
    ("", "canonical", None, "empty", "empty"),
    ("", "refresh", None, "empty", "empty"),
    # naked_url: a URL or a host name, before branded
    ("acme-widgets.example", "a", None, "naked_url", "naked_url"),
    ("https://acme-widgets.example/shop?page=2", "a", None, "naked_url", "naked_url"),
    ("www.acme-widgets.example", "a", None, "naked_url", "naked_url"),
    ("HTTP://WWW.Acme-Widgets.Example/", "a", None, "naked_url", "naked_url"),
    ("http://other-site.example/blue-widgets", "a", None, "naked_url", "naked_url"),
    ("e.g.", "a", None, "other", "other"),  # dots, but no host name
    ("version 1.2", "a", None, "other", "other"),
    # branded: the brand token as whole words, also written together; the user's brands
    ("Acme Widgets", "a", None, "branded", "branded"),
    ("acmewidgets", "a", None, "branded", "branded"),
    ("ACME–WIDGETS!!", "a", None, "branded", "branded"),  # an en dash, punctuation
    ("Ácme Wídgets", "a", None, "branded", "branded"),  # accents
    ("visit acme widgets today", "a", None, "branded", "branded"),
    ("acme widgets blue widgets", "a", None, "branded", "branded"),  # before exact
    ("Acme Widgets website", "a", None, "branded", "branded"),  # before generic
    ("acmewidgetsshop", "a", None, "other", "other"),  # not a whole word
    ("Acme", "a", None, "other", "branded"),  # the user's brand
    ("the ACME catalogue", "a", None, "other", "branded"),
    ("acmeish widgets", "a", None, "other", "other"),
    # exact and partial: the keywords
    ("Blue Widgets", "a", None, "other", "exact"),
    ("blue-widgets", "a", None, "other", "exact"),
    ("Widget Supplier", "a", None, "other", "exact"),
    ("widgets, blue", "a", None, "other", "partial"),  # every word, another order
    ("cheap blue widgets online", "a", None, "other", "partial"),
    ("click here for blue widgets", "a", None, "other", "partial"),  # before generic
    ("blue", "a", None, "other", "other"),  # not every word
    # generic, English
    ("Click here", "a", None, "generic", "generic"),
    ("click here!!!", "a", None, "generic", "generic"),
    ("here", "a", None, "generic", "generic"),
    ("Read more »", "a", None, "generic", "generic"),
    ("more", "a", None, "generic", "generic"),
    ("Learn More", "a", None, "generic", "generic"),
    ("website", "a", None, "generic", "generic"),
    ("this website", "a", None, "generic", "generic"),
    ("Visit Website", "a", None, "generic", "generic"),
    ("link", "a", None, "generic", "generic"),
    ("this link", "a", None, "generic", "generic"),
    ("Source", "a", None, "generic", "generic"),
    ("home", "a", None, "generic", "generic"),
    ("Homepage", "a", None, "generic", "generic"),
    ("details", "a", None, "generic", "generic"),
    ("more info", "a", None, "generic", "generic"),
    ("click here now", "a", None, "other", "other"),  # not one of the phrases
    # generic, German
    ("hier", "a", None, "generic", "generic"),
    ("Hier klicken", "a", None, "generic", "generic"),
    ("Klicken Sie hier!", "a", None, "generic", "generic"),
    ("Weiterlesen …", "a", None, "generic", "generic"),
    ("mehr", "a", None, "generic", "generic"),
    ("Mehr erfahren", "a", None, "generic", "generic"),
    ("Webseite", "a", None, "generic", "generic"),
    ("zur Webseite", "a", None, "generic", "generic"),
    ("Quelle", "a", None, "generic", "generic"),
    # generic, French
    ("ici", "a", None, "generic", "generic"),
    ("Cliquez ici", "a", None, "generic", "generic"),
    ("En savoir plus", "a", None, "generic", "generic"),
    ("Lire la suite...", "a", None, "generic", "generic"),
    ("site web", "a", None, "generic", "generic"),
    ("ce site", "a", None, "generic", "generic"),
    ("lien", "a", None, "generic", "generic"),
    ("Voir plus", "a", None, "generic", "generic"),
    ("plus d'infos", "a", None, "generic", "generic"),
    ("Détails", "a", None, "generic", "generic"),  # accent stripped: details
    # generic, Spanish
    ("aquí", "a", None, "generic", "generic"),
    ("Haz clic aquí", "a", None, "generic", "generic"),
    ("haga clic aqui", "a", None, "generic", "generic"),  # written without the accent
    ("Leer más", "a", None, "generic", "generic"),
    ("Más información", "a", None, "generic", "generic"),
    ("sitio web", "a", None, "generic", "generic"),
    ("enlace", "a", None, "generic", "generic"),
    ("fuente", "a", None, "generic", "generic"),
    ("¡Ver más!", "a", None, "generic", "generic"),
    # other
    ("great article about widgets", "a", None, "other", "other"),
    ("日本語のリンク", "a", None, "other", "other"),
]


def domain(i: int) -> str:
    """Case i's source domain: one of 9, so that domains link with several anchors."""
    return f"s{i % 9}.example"


def source(i: int) -> str:
    return f"https://{domain(i)}/case-{i}"


def nofollow(i: int) -> bool:
    return i % 4 == 3


EDGES = [
    edge(source(i), HOME, anchor, kind=kind, alt=alt, nofollow=nofollow(i),
         position=None if kind in ("redirect", "canonical", "refresh") else "content")
    for i, (anchor, kind, alt, _, _) in enumerate(CASES)
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("anchors")
    write_index(root, EDGES)
    return root


@pytest.fixture(scope="module")
def classes(data: Path) -> dict[str, dict[str, str]]:
    """The class backlinks gives each case's link, by source page: with no options
    ("plain") and with OPTIONS ("options")."""
    def by_source(options: dict[str, Any] | None) -> dict[str, str]:
        found = run_query(data, "backlinks", [TARGET], options=options).to_pylist()
        assert len(found) == len(CASES)
        return {row["src_url"]: row["anchor_class"] for row in found}

    return {"plain": by_source(None), "options": by_source(OPTIONS)}


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[1]}:{c[0] or c[2]}" for c in CASES])
def test_each_anchor_gets_its_class(classes: dict[str, dict[str, str]], i: int) -> None:
    _, _, _, plain, with_options = CASES[i]
    assert classes["plain"][source(i)] == plain
    assert classes["options"][source(i)] == with_options


def test_anchor_words_normalise_as_documented(data: Path) -> None:
    found = run_sql(data, """
        SELECT anchor_words('  Ácme–Widgets!!  ') AS a, anchor_words('Leer MÁS…') AS b,
               anchor_words('x_y/z') AS c, anchor_words(NULL) AS d, anchor_words('') AS e,
               anchor_words('Straße Ærø 日本') AS f
    """).to_pylist()
    assert found == [{"a": "acme widgets", "b": "leer mas", "c": "x y z", "d": "", "e": "",
                      "f": "straße ærø 日本"}]


def test_the_generic_list_holds_each_phrase_once(data: Path) -> None:
    [row] = run_sql(data, """
        SELECT len(generic_anchors()) AS phrases,
               len(list_distinct(list_transform(generic_anchors(),
                                                lambda p: anchor_words(p)))) AS distinct_words
    """).to_pylist()
    assert row["phrases"] == row["distinct_words"] > 100


def test_anchors_shows_one_row_per_text_and_class(data: Path) -> None:
    found = run_query(data, "anchors", [TARGET], options=OPTIONS).to_pylist()
    rows = {(r["anchor"], r["anchor_class"]): r for r in found}
    # Independently: each case's text (an image's alt when it has no text) and class.
    expected: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (anchor, kind, alt, _, with_options) in enumerate(CASES):
        text = (alt or "") if kind == "img" and not anchor else anchor
        expected[text, with_options].append(i)
    assert set(rows) == set(expected)
    for key, cases in expected.items():
        assert rows[key]["backlinks"] == len(cases), key
        assert rows[key]["referring_domains"] == len({domain(i) for i in cases}), key
    # The image links show their alt text; '' is both an empty anchor and an image
    # without alt, and "click here" both a generic anchor and an image's alt.
    assert rows["Acme Widgets logo", "image"]["backlinks"] == 1
    assert ("", "image") in rows and ("", "empty") in rows
    assert ("click here", "image") in rows and ("Click here", "generic") in rows


def share(part: int, whole: int) -> float:
    """part / whole to 4 decimals, half up (as SQL's round), 0 when whole is 0."""
    if whole == 0:
        return 0.0
    return float((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def mix_by_hand(cases: list[int], column: int) -> list[dict[str, Any]]:
    """anchor_mix's rows counted in Python from CASES (class in `column`: 3 or 4)."""
    order = ["branded", "exact", "partial", "naked_url", "generic", "image", "empty", "other"]
    links: dict[str, list[int]] = {name: [] for name in order}
    for i in cases:
        links[CASES[i][column]].append(i)
    domains = {i: domain(i) for i in cases}
    all_domains = len(set(domains.values()))
    return [
        {"anchor_class": name, "backlinks": len(found),
         "referring_domains": len({domains[i] for i in found}),
         "dofollow_backlinks": sum(not nofollow(i) for i in found),
         "backlinks_share": share(len(found), len(cases)),
         "referring_domains_share": share(len({domains[i] for i in found}), all_domains)}
        for name, found in links.items()
    ]


def test_anchor_mix_counts_what_python_counts(data: Path) -> None:
    everything = list(range(len(CASES)))
    assert run_query(data, "anchor_mix", [TARGET]).to_pylist() == mix_by_hand(everything, 3)
    mix = run_query(data, "anchor_mix", [TARGET], options=OPTIONS).to_pylist()
    assert mix == mix_by_hand(everything, 4)
    assert sum(row["backlinks"] for row in mix) == len(CASES)
    dofollow = [i for i in everything if not nofollow(i)]
    assert run_query(data, "anchor_mix", [TARGET], filters=Filters(dofollow_only=True),
                     options=OPTIONS).to_pylist() == mix_by_hand(dofollow, 4)


def test_anchor_mix_has_every_class_when_nothing_links(data: Path) -> None:
    mix = run_query(data, "anchor_mix", [TARGET], filters=Filters(kind="area")).to_pylist()
    assert [row["anchor_class"] for row in mix] == [
        "branded", "exact", "partial", "naked_url", "generic", "image", "empty", "other"]
    assert {(r["backlinks"], r["backlinks_share"], r["referring_domains_share"])
            for r in mix} == {(0, 0.0, 0.0)}
    with pytest.raises(LinkindexError, match="^no data for target nosuch.example"):
        run_query(data, "anchor_mix", ["nosuch.example"])


def test_the_session_takes_the_same_options(data: Path) -> None:
    sql = ("SELECT * FROM anchors('acme-widgets.example', brands := ['Acme'], "
           "keywords := ['blue widgets', 'widget supplier'])")
    assert run_sql(data, sql).equals(run_query(data, "anchors", [TARGET], options=OPTIONS))
    [row] = run_sql(data, """
        SELECT anchor_class('Acme rocks', 'a', 'globex', ['ACME'], NULL) AS brand,
               anchor_class('widget supplier', 'a', NULL, NULL, ['Widget-Supplier']) AS kw,
               anchor_class('', 'img', NULL, NULL, NULL) AS img
    """).to_pylist()
    assert row == {"brand": "branded", "kw": "exact", "img": "image"}


def test_options_are_checked(data: Path) -> None:
    with pytest.raises(LinkindexError, match=r"^bad brands 'Acme': use a list of text"):
        run_query(data, "anchors", [TARGET], options={"brands": "Acme"})
    with pytest.raises(LinkindexError) as caught:
        run_query(data, "top_pages", [TARGET], options={"keywords": ["x"]})
    assert str(caught.value) == "query top_pages takes no option keywords (it takes none)"
    with pytest.raises(LinkindexError) as caught:
        run_query(data, "anchors", [TARGET], options={"keyword": ["x"]})
    assert str(caught.value) == (
        "query anchors takes no option keyword (it takes: brands, keywords)")


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    from linkindex.cli import main

    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_flags(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["query", "backlinks", TARGET, "--format", "json", "--data", str(data)]
    keywords = tmp_path / "keywords.txt"
    keywords.write_text("\ufeffblue widgets\n\n  \n")  # a BOM and blank lines, ignored
    found = cli_json(capsys, *base, "--brand", "Acme", "--keyword", "widget supplier",
                     "--keywords-file", str(keywords))
    assert {r["src_url"]: r["anchor_class"] for r in found} == {
        source(i): CASES[i][4] for i in range(len(CASES))}
    mix = cli_json(capsys, "query", "anchor_mix", TARGET, "--brand", "acme", "--format",
                   "json", "--data", str(data))
    assert mix[0]["backlinks"] == len([c for c in CASES if c[3] == "branded"]) + 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["query", "top_pages", TARGET, "--brand", "Acme"],
         "linkindex: error: query top_pages takes no option --brand (it takes none)"),
        (["query", "referring_domains", TARGET, "--keywords-file", "k.txt"],
         "linkindex: error: query referring_domains takes no option --keywords-file (it "
         "takes: --seen-since, --seen-until, --seen-field, --anchor-contains, --src-tld, "
         "--min-domain-rank, --src-lang, --sitewide, --relevance, --with-graph)"),
        (["query", "anchors", TARGET, "--keywords-file", "nosuch.txt"],
         "linkindex: error: cannot read --keywords-file nosuch.txt: No such file or directory"),
        (["export", "anchors", TARGET, "-o", "x.csv", "--keywords-file", "empty.txt"],
         "linkindex: error: --keywords-file empty.txt holds no keyword (one per line)"),
    ],
)
def test_cli_flag_errors_are_one_line(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str], argv: list[str],
                                      message: str) -> None:
    from linkindex.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("\n \n")
    assert main([*argv, "--data", str(data)]) == 1
    out = capsys.readouterr()
    assert out.err == message + "\n" and out.out == ""
    assert not (tmp_path / "x.csv").exists()
