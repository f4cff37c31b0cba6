"""A query's own options: the named parameters of its macro beyond the standard ones.

Every query takes ``scope`` and the standard filters (``queries.Filters``), which
``run_query`` passes itself, as it does ``until`` and ``min_overlap`` to the queries
that take them. Any other named parameter of a query's macro is one of its own options
(``backlinks``: ``brands``, ``group_similar``, ``seen_since``, ...), given to
``run_query(..., options={...})``. Each is checked here against the query's catalogue
entry (``queries.catalogue``): a name the query does not take is one clear error, and a
value is checked and converted by the type its SQL header states (``VARCHAR[]``,
``TIMESTAMPTZ``, ...; BOOLEAN for an option whose default is true or false). The values
are then bound as parameters (``name := $name``), never pasted into SQL. What a value
must be beyond its type (``seen_field`` is first_seen or last_seen) the macro checks.

An option whose default is NULL and whose type is not a list narrows the rows down (a
filter: ``seen_since``, ``anchor_contains``, ...): ``hidden_rows`` lifts it like a
standard filter, spelled on the command line as ``--`` and its name with dashes.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from typing import Any

from core.errors import LinkindexError
from queries.catalogue import QuerySpec

__all__ = ["bind_options", "filter_options", "flag", "own_options", "parse_moment"]


def parse_moment(text: str, what: str) -> datetime:
    """A moment typed by a user (ISO 8601; UTC unless it says otherwise), or one clear
    LinkindexError naming the option `what`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LinkindexError(
            f"bad date {text!r} for {what}: use ISO 8601, e.g. 2025-06-01 or 2025-06-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def own_options(spec: QuerySpec, standard: Collection[str]) -> list[str]:
    """The query's own options, in the order its macro declares them."""
    return [name for name in spec.options if name not in standard]


def option_type(spec: QuerySpec, option: str) -> str | None:
    """The type of an option's values: as its header states, BOOLEAN for a default of
    true or false, else None (passed as given)."""
    if option in spec.types:
        return spec.types[option]
    return "BOOLEAN" if spec.options.get(option) in ("true", "false") else None


def bind_options(name: str, spec: QuerySpec, options: Mapping[str, Any] | None,
                 standard: Collection[str]) -> dict[str, Any]:
    """The options checked and converted, by name in the order the macro declares them;
    one LinkindexError line for a name the query does not take or a bad value."""
    own = own_options(spec, standard)
    options = options or {}
    for option in options:
        if option in standard:
            argument = option if option in ("scope", "min_overlap") else "filters"
            raise LinkindexError(
                f"options cannot set {option}: pass it as run_query's {argument} argument")
        if option not in own:
            takes = f"it takes: {', '.join(own)}" if own else "it takes none"
            raise LinkindexError(f"query {name} takes no option {option} ({takes})")
    return {option: _convert(option, option_type(spec, option), options[option])
            for option in own if option in options}


def _convert(option: str, kind: str | None, value: Any) -> Any:
    if value is None or kind is None:
        return value

    def bad(use: str) -> LinkindexError:
        return LinkindexError(f"bad {option} {value!r}: use {use}")

    if kind == "BOOLEAN":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "VARCHAR[]":
        if isinstance(value, str | bytes) or not isinstance(value, Collection) or not all(
                isinstance(item, str) for item in value):
            raise bad("a list of text, e.g. ['one', 'two']")
        return list(value)
    if kind == "TIMESTAMPTZ":
        if isinstance(value, str):
            return parse_moment(value, option)
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        raise bad("a moment: a datetime or ISO 8601 text such as 2025-06-01")
    if kind == "DOUBLE":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise bad("a number")
        return float(value)
    if not isinstance(value, str):  # VARCHAR
        raise bad("text")
    return value


def filter_options(spec: QuerySpec, values: Mapping[str, Any]) -> list[str]:
    """The options given (not None) that narrow the rows down: NULL by default, no list."""
    return [option for option, value in values.items()
            if value is not None and spec.options.get(option) == "NULL"
            and option_type(spec, option) != "VARCHAR[]"]


def flag(option: str) -> str:
    """The command line's flag of an option: ``seen_since`` -> ``--seen-since``."""
    return "--" + option.replace("_", "-")
