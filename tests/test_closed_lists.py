"""Each closed list (kinds, positions, target scopes, anchor classes) is defined once, in
core/schema.py.

Python takes it from there. SQL cannot import it, so the macro files spell it: here
every place they do is found in the files' text and compared with the Python list,
in the same order, and the checks are shown to catch a difference.
"""

from __future__ import annotations

import re

import pytest

from core.schema import (
    ANCHOR_CLASSES,
    FETCH_OUTCOMES,
    KINDS,
    LOST_REASONS,
    POSITIONS,
    TARGET_SCOPES,
    URL_SCOPES,
)
from queries.session import macro_files

# The SQL word for each list (a column or macro parameter), and the list.
CLOSED = {"kind": KINDS, "position": POSITIONS, "scope": TARGET_SCOPES,
          "anchor_class": ANCHOR_CLASSES}


def sql_texts() -> dict[str, str]:
    return {path.name: path.read_text() for path in macro_files()}


def _words(text: str) -> list[str]:
    """The items of a list written in prose: 'a, b or c', "'a', 'b', 'c'"."""
    return [item.strip().strip("'") for item in re.split(r",\s*(?:or\s+)?|\s+or\s+", text)]


def spelled_lists(text: str, members: tuple[str, ...], *, quoted: bool) -> list[list[str]]:
    """Every run of two or more of `members` written as a list anywhere in `text`
    (code or comment): separated by commas, "or" or "and", across comment lines, with
    an optional parenthesis after each item. Bare words count unless `quoted`."""
    flat = re.sub(r"\n\s*--", " ", text)  # a comment's continuation lines join up
    alternatives = "|".join(re.escape(m) for m in members)
    quote = "'" if quoted else "'?"
    item = re.compile(rf"(?<![\w.'-]){quote}({alternatives}){quote}(?![\w'-])")
    separator = re.compile(r"\s*(?:\([^()]*\)\s*)?(?:,\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+)\Z")
    runs: list[list[str]] = []
    previous_end = None
    for match in item.finditer(flat):
        if runs and previous_end is not None and separator.match(flat, previous_end, match.start()):
            runs[-1].append(match[1])
        else:
            runs.append([match[1]])
        previous_end = match.end()
    return [run for run in runs if len(run) >= 2]


def _macro_body(text: str, name: str) -> str:
    match = re.search(rf"MACRO {name}\(.*?;\n", text, re.S)
    assert match, f"no macro {name}"
    return match[0]


def closed_list_spellings(texts: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(where, list name, what SQL spells) for every place the SQL spells a closed list."""
    found: list[tuple[str, str, list[str]]] = []
    for file, text in texts.items():
        # Lists in prose or code: "a, img, area, redirect or canonical".
        for name, members in CLOSED.items():
            for run in spelled_lists(text, members, quoted=name == "scope"):
                found.append((f"{file}: list", name, run))
        # Filters: kind IN ('a', ...), scope IN (...).
        for name, items in re.findall(r"\b(?:link_)?(kind|position|scope) IN \(([^)]*)\)", text):
            found.append((f"{file}: {name} IN (...)", name, _words(items)))
        # Errors: 'unknown kind ''', kind, ''': use a, img, area, redirect or canonical'.
        for name, items in re.findall(r"unknown (\w+) ''', \w+,\s*''': use ([^']*)'", text):
            found.append((f"{file}: unknown {name} error", name, _words(items)))
    target = texts["_target.sql"]
    # The table of scopes in _target.sql's header, one line each: --   'domain'  ...
    found.append(("_target.sql: header", "scope", re.findall(r"(?m)^--   '(\w+)'  ", target)))
    # One branch per scope: CASE scope WHEN 'domain' THEN ... WHEN 'prefix' THEN ...
    body = _macro_body(target, "matches_target")
    found.append(("_target.sql: matches_target", "scope", re.findall(r"WHEN '(\w+)' THEN", body)))
    found += _anchor_class_spellings(texts["_anchors.sql"])
    return found


def _in_class_order(classes: list[str]) -> list[str]:
    """Classes that _anchors.sql writes in the order of precedence, in ANCHOR_CLASSES'
    order: the same list then, whatever the precedence; an unknown one sorts first."""
    rank = {name: i for i, name in enumerate(ANCHOR_CLASSES)}
    return sorted(classes, key=lambda name: rank.get(name, -1))


def _anchor_class_spellings(text: str) -> list[tuple[str, str, list[str]]]:
    """The anchor classes as _anchors.sql spells them: the list anchor_classes() gives,
    the classes anchor_class_of(...) returns (one CASE branch each), the table of rules in
    the header (--       image      ...)."""
    listed = re.search(r"MACRO anchor_classes\(\) AS\s*\[([^\]]*)\]", text)
    branches = re.findall(r"THEN '(\w+)'|ELSE '(\w+)'", _macro_body(text, "anchor_class_of"))
    rules = re.findall(r"(?m)^--       (\w+) {2,}\S", text)
    return [
        ("_anchors.sql: anchor_classes()", "anchor_class", _words(listed[1]) if listed else []),
        ("_anchors.sql: anchor_class", "anchor_class",
         _in_class_order([then or other for then, other in branches])),
        ("_anchors.sql: rules", "anchor_class", _in_class_order(rules)),
    ]


def single_values(texts: dict[str, str]) -> list[tuple[str, str, str]]:
    """(file, list name, value) for each comparison with one value: kind = 'img'."""
    return [
        (file, name, value)
        for file, text in texts.items()
        for name, value in re.findall(r"\b(kind|position|scope)\s*(?:=|<>)\s*'(\w+)'", text)
    ]


def problems(texts: dict[str, str]) -> list[str]:
    """Every place the SQL says something other than core/schema.py."""
    out = [
        f"{where} spells {spelled} instead of {list(CLOSED[name])}"
        for where, name, spelled in closed_list_spellings(texts)
        if spelled != list(CLOSED[name])
    ]
    out += [
        f"{file}: {name} {value!r} is not one of {list(CLOSED[name])}"
        for file, name, value in single_values(texts)
        if value not in CLOSED[name]
    ]
    return out


def test_the_sql_spells_each_closed_list_as_core_schema_does() -> None:
    assert problems(sql_texts()) == []


def test_the_checks_find_the_lists_they_are_meant_to_check() -> None:
    # So that a check whose pattern no longer matches anything cannot pass silently.
    where = {(w.split(": ", 1)[1], name) for w, name, _ in closed_list_spellings(sql_texts())}
    assert where >= {
        ("kind IN (...)", "kind"), ("position IN (...)", "position"),
        ("scope IN (...)", "scope"),
        ("unknown kind error", "kind"), ("unknown position error", "position"),
        ("unknown scope error", "scope"),
        ("header", "scope"), ("matches_target", "scope"),
        ("list", "kind"), ("list", "position"), ("list", "scope"),
        ("anchor_classes()", "anchor_class"), ("anchor_class", "anchor_class"),
        ("rules", "anchor_class"), ("list", "anchor_class"),
    }
    assert {name for _, name, _ in single_values(sql_texts())} == {"kind", "position", "scope"}


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        # A value dropped from a filter, from an error message, from a comment.
        ("_links.sql", "'footer', 'aside') THEN", "'footer') THEN"),
        ("_links.sql", "use a, img, area, redirect, canonical or refresh",
         "use a, img, area, redirect or canonical"),
        ("backlinks.sql", "content, nav, header, footer or aside", "content, nav or footer"),
        ("_links.sql", "only this kind: a, img, area, redirect, canonical, refresh",
         "only this kind: a, img, area, redirect, canonical"),
        # A value added or renamed; the same values in another order.
        ("_links.sql", "WHEN kind IN ('a', 'img',", "WHEN kind IN ('a', 'link', 'img',"),
        ("_target.sql", "WHEN 'prefix' THEN", "WHEN 'prefixed' THEN"),
        ("_target.sql", "--   'exact'   one URL", "--   'url'     one URL"),
        ("_target.sql", "use domain, host, exact or prefix", "use domain, host, prefix or exact"),
        ("backlinks.sql", "'host', 'exact' (URL) or 'prefix'", "'host' or 'exact' (URL)"),
        # A comparison with one value that is not in the list.
        ("overview.sql", "link.kind = 'img'", "link.kind = 'image'"),
        # Anchor classes: one renamed in the list, in a branch, in the rules; one dropped
        # from the prose; the list in another order.
        ("_anchors.sql", "'naked_url', 'generic'", "'url', 'generic'"),
        ("_anchors.sql", "THEN 'naked_url'", "THEN 'url'"),
        ("_anchors.sql", "--       generic    its words", "--       generics   its words"),
        ("backlinks.sql", "naked_url, generic,", "generic,"),
        ("_anchors.sql", "['branded', 'exact',", "['exact', 'branded',"),
    ],
)
def test_a_difference_between_sql_and_python_is_caught(file: str, old: str, new: str) -> None:
    texts = sql_texts()
    assert old in texts[file]
    texts[file] = texts[file].replace(old, new, 1)
    assert problems(texts)


def test_a_list_in_prose_is_found_across_comment_lines_and_parentheses() -> None:
    text = "-- kind: a, img, area,\n--   redirect, canonical or refresh; 'domain' (all), 'host'"
    assert spelled_lists(text, KINDS, quoted=False) == [list(KINDS)]
    assert spelled_lists(text, TARGET_SCOPES, quoted=True) == [["domain", "host"]]
    # Not lists: one item, other separators, an identifier that contains an item.
    assert spelled_lists("-- a link; redirect / canonical; link.kind, kind", KINDS,
                         quoted=False) == []


def test_python_takes_the_lists_from_core_schema() -> None:
    import queries
    from linkindex.cli import build_parser

    assert queries.SCOPES == TARGET_SCOPES
    assert set(URL_SCOPES) < set(TARGET_SCOPES)
    query = build_parser()._subparsers._group_actions[0].choices["query"]  # type: ignore[union-attr]
    options = {action.dest: action for action in query._actions}
    assert tuple(options["scope"].choices) == TARGET_SCOPES
    assert "a, img, area, redirect, canonical or refresh" in options["kind"].help
    assert "content, nav, header, footer or aside" in options["position"].help



def test_unfetched_error_kinds_are_spelled_as_in_python() -> None:
    """Every SQL spelling of the unfetched kinds (the build's comes from unfetched_sql)."""
    from pathlib import Path

    from core.schema import UNFETCHED_ERROR_KINDS, unfetched_sql

    expected = ", ".join(f"'{kind}'" for kind in UNFETCHED_ERROR_KINDS)
    assert f"IN ({expected})" in unfetched_sql()
    sql_dir = Path(__file__).resolve().parent.parent / "queries"
    spelled = []
    for path in sorted(sql_dir.glob("*.sql")):
        for match in re.finditer(r"split_part\([^)]*error, ':', 1\) IN \(([^)]*)\)",
                                 path.read_text()):
            spelled.append((path.name, match.group(1)))
    assert {name for name, _ in spelled} == {"_links.sql", "overview.sql"}
    for name, kinds in spelled:
        assert kinds == expected, name


def test_the_history_sql_names_only_known_reasons_and_outcomes() -> None:
    """LOST_REASONS and FETCH_OUTCOMES (core/schema.py): every quoted one in the SQL is
    one of them, and the ones the queries make themselves are all there."""
    words = {"link_removed", "now_nofollow", "not_recrawled", "ok"}
    quoted = {word for text in sql_texts().values()
              for word in re.findall(r"'([a-z]+(?:_[a-z]+)+|ok)'", text)}
    known = set(LOST_REASONS) | set(FETCH_OUTCOMES)
    reasonish = {w for w in quoted if w.startswith(("page_", "link_", "now_", "not_", "fetch_",
                                                    "canonical_")) or w == "ok"}
    assert reasonish <= known
    assert words <= reasonish
    # the build's outcomes and the reasons share their names (a lost link's reason is the
    # outcome of the fetch that lost it, or link_removed)
    assert set(FETCH_OUTCOMES) - {"ok"} <= set(LOST_REASONS)
