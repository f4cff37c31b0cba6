"""The query catalogue, read from the headers of the ``queries/*.sql`` files.

A query is one file ``queries/NAME.sql`` (files whose name starts with ``_`` are
shared helpers, not queries) that defines the table macro NAME and starts with a
comment header. The header is written for an analyst reading the SQL; this module
reads three things from it, so that adding a query is adding one ``.sql`` file::

    -- NAME(ARG, ...): SUMMARY.                          <- line 1
    --
    -- Question: ... (any text)
    --
    -- Parameters:                                       <- the parameters block,
    --   ARG                       what it is               up to the next "--" line
    --   LIST_ARG  VARCHAR[]: ...  a list
    --   OPTION    := DEFAULT      what it does
    --   OPTION    := NULL  TYPE:  what it does (the value's type, for run_query)
    --
    -- Columns: ... (any text)

- Line 1: NAME (the file's name), the macro's positional arguments in order, and
  SUMMARY: the one line ``linkindex queries`` shows (its final period dropped).
- The parameters block: every ``OPTION := DEFAULT`` in it is a named parameter of the
  macro, with its default as written in the macro. Layout is free: one per line, or
  several on a line (``Parameters: target, scope := 'domain', ...``).
- A positional argument the block documents as ``ARG  VARCHAR[]`` takes a list; on the
  command line it must be the last argument and takes one or more values.
- An option may state its value's type right after its default, followed by a colon:
  one of OPTION_TYPES (``brands := NULL  VARCHAR[]: ...``). ``run_query`` checks and
  converts a value given for it (``queries.options``); one whose default is true or
  false is taken as BOOLEAN without saying so.

What ``linkindex query`` does with an argument follows from its name: ``target``,
``me`` and ``competitors`` name targets (normalised per scope), ``since`` is a moment
(ISO 8601), any other is passed as text. Every query takes ``scope`` and the standard
filters (see ``queries.Filters``), since ``run_query`` passes them all; any other named
parameter is an option of the query's own (``run_query(..., options=)``; on the command
line a flag of ``linkindex.query_options``).

``tests/test_queries.py`` checks each header against its macro's parameters in SQL.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from core.errors import LinkindexError
from queries import session

__all__ = ["OPTION_TYPES", "QuerySpec", "catalogue", "column_docs", "parse_header"]

# The types an option's header may state (queries.options checks a value of each).
OPTION_TYPES = ("BOOLEAN", "DOUBLE", "TIMESTAMPTZ", "VARCHAR", "VARCHAR[]")


@dataclass(frozen=True)
class QuerySpec:
    """A query's positional arguments and what it answers.

    When ``variadic`` is set, the last argument takes one or more values (a list).
    ``options`` are the macro's named parameters and their defaults, as written in SQL;
    ``types`` the type of each option whose header states one, one of OPTION_TYPES.
    """

    args: tuple[str, ...]
    description: str
    variadic: bool = False
    options: Mapping[str, str] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)

    def usage(self, name: str) -> str:
        """The command line's form: ``link_gap ME COMPETITOR [COMPETITOR ...]``."""
        words = [name, *(arg.upper() for arg in self.args)]
        if self.variadic:
            one = words[-1].removesuffix("S")  # COMPETITORS: one COMPETITOR or more
            words[-1] = f"{one} [{one} ...]"
        return " ".join(words)


_SIGNATURE = re.compile(r"--\s+(\w+)\(\s*(\w+(?:\s*,\s*\w+)*)?\s*\):\s*(\S.*?)\.?\s*\Z")
_PARAMETERS = re.compile(r"--\s+Parameters:")
_OPTION = re.compile(r"\b(\w+)\s*:=\s*('(?:[^']|'')*'|[^\s,()]+)")
_TYPED = re.compile(_OPTION.pattern + r"[ \t]+([A-Z]+(?:\[\])?):")


def parse_header(name: str, text: str) -> QuerySpec:
    """The catalogue entry of query `name` from its file's text (see the module's doc)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.rstrip())

    def bad(problem: str) -> LinkindexError:
        return LinkindexError(f"queries/{name}.sql: bad header: {problem}")

    match = _SIGNATURE.match(lines[0]) if lines else None
    if match is None:
        raise bad("line 1 must read '-- NAME(ARG, ...): what it answers'")
    if match[1] != name:
        raise bad(f"line 1 names {match[1]!r}, not the file's name {name!r}")
    args = tuple(arg.strip() for arg in (match[2] or "").split(",") if arg.strip())

    start = next((i for i, line in enumerate(lines) if _PARAMETERS.match(line)), None)
    if start is None:
        raise bad("no '-- Parameters:' block")
    block = [lines[start].split(":", 1)[1]]
    for line in lines[start + 1:]:
        if line == "--":
            break
        block.append(line[2:])
    parameters = "\n".join(block)
    found = _OPTION.findall(parameters)
    options = dict(found)
    if twice := sorted(n for n, count in Counter(n for n, _ in found).items() if count > 1):
        raise bad(f"{', '.join(twice)} := given twice (state each default once)")
    if overlap := sorted(set(options) & set(args)):
        raise bad(f"{', '.join(overlap)} both positional and named")
    lists = [arg for arg in args if re.search(rf"\b{arg}\s+VARCHAR\[\]", parameters)]
    if lists and lists != [args[-1]]:
        raise bad("only the last positional argument may take a list (VARCHAR[])")
    types: dict[str, str] = {}
    for option, _, stated in _TYPED.findall(parameters):
        if stated not in OPTION_TYPES:
            raise bad(f"{option} := ... {stated}: not a type an option may state "
                      f"({', '.join(OPTION_TYPES)})")
        types[option] = stated
    return QuerySpec(args, match[3], variadic=bool(lists), options=MappingProxyType(options),
                     types=MappingProxyType(types))


def catalogue(folder: Path | None = None) -> dict[str, QuerySpec]:
    """Every query by name, alphabetical, from the headers of the files in ``folder``
    (default: ``queries.session.SQL_DIR``); each folder is read once per process."""
    return dict(_read(session.SQL_DIR if folder is None else folder))


@cache
def _read(folder: Path) -> tuple[tuple[str, QuerySpec], ...]:
    return tuple(
        (path.stem, parse_header(path.stem, path.read_text()))
        for path in session.macro_files(folder)
        if not path.name.startswith("_")
    )


_COLUMN = re.compile(r"--   (\w+(?:,\s*\w+)*)(?:\s{2,}(\S.*))?\Z")


def column_docs(name: str, folder: Path | None = None) -> dict[str, str]:
    """What each column of query `name` means, from its header's ``-- Columns:`` block
    (the definitions a report shows on hover): a line ``--   COLUMN[, COLUMN]  text``
    starts one, deeper-indented lines continue it. Empty when the block is missing."""
    path = (session.SQL_DIR if folder is None else folder) / f"{name}.sql"
    docs: dict[str, str] = {}
    names: list[str] = []
    inside = False
    for line in path.read_text().splitlines():
        if not line.startswith("--"):
            break
        if re.match(r"--\s+Columns:", line):
            inside = True
            continue
        if not inside:
            continue
        if line.rstrip() == "--" or re.match(r"--\s+\w+:", line) and not line.startswith("--  "):
            break
        if match := _COLUMN.match(line.rstrip()):
            names = [n.strip() for n in match[1].split(",")]
            for column in names:
                docs[column] = match[2] or ""
        elif names and line.startswith("--    "):
            for column in names:
                docs[column] = f"{docs[column]} {line[2:].strip()}".strip()
    return docs
