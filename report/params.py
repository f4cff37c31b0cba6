"""A query call and a view request to and from URL parameters (the web UI's forms).

The standard filters are spelled as the command line spells them (``include_lost``,
``dofollow``, ``include_internal``, ``kind``, ``position``, ``as_of``, ``until``); a
query's own options by their macro names, typed as the SQL header states
(``queries.options``): lists are comma-separated, booleans ``true``/``false``. An empty
field means the default. Every value is then bound as a parameter by ``run_query``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from core.errors import LinkindexError
from queries import QUERIES, STANDARD_OPTIONS, Filters, parse_moment
from queries.options import option_type, own_options
from report.profile import ViewRequest, filters_params
from report.results import QueryCall

__all__ = ["FILTER_PARAMS", "call_from", "call_params", "filters_from", "filters_params",
           "view_request_from"]

FILTER_PARAMS = ("include_lost", "dofollow", "include_internal", "kind", "position",
                 "as_of", "until")
_YES = ("yes", "true", "1", "on")
_NO = ("no", "false", "0", "off")


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "").strip().lower()
    if value and value not in _YES + _NO:
        raise LinkindexError(f"bad {name} {value!r}: use yes or no")
    return value in _YES


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name, "").strip()
    return value or None


def filters_from(params: Mapping[str, str]) -> Filters:
    as_of, until = _text(params, "as_of"), _text(params, "until")
    return Filters(
        live_only=not _flag(params, "include_lost"),
        dofollow_only=_flag(params, "dofollow"),
        external_only=not _flag(params, "include_internal"),
        kind=_text(params, "kind"),
        position=_text(params, "position"),
        as_of=None if as_of is None else parse_moment(as_of, "as_of"),
        until=None if until is None else parse_moment(until, "until"),
    )


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.replace("\n", ",").split(",") if item.strip()]


def view_request_from(params: Mapping[str, str]) -> ViewRequest:
    target = _text(params, "target")
    if target is None:
        raise LinkindexError("no target: name a domain, host, URL or URL prefix")
    return ViewRequest(target, params.get("scope") or "domain", filters_from(params),
                       tuple(_list(params.get("compare", ""))))


def _option(name: str, kind: str | None, text: str) -> Any:
    """An option's text as run_query takes it (it checks and converts the rest)."""
    if kind == "BOOLEAN":
        word = text.lower()
        if word not in _YES + _NO:
            raise LinkindexError(f"bad {name} {text!r}: use true or false")
        return word in _YES
    if kind == "VARCHAR[]":
        return tuple(_list(text))  # hashable: a call is a cache key
    if kind == "DOUBLE":
        try:
            return float(text)
        except ValueError:
            raise LinkindexError(f"bad {name} {text!r}: use a number") from None
    return text


def call_from(params: Mapping[str, str], args: Iterable[str] | None = None) -> QueryCall:
    """The query call named by `params`: ``query``, its arguments (`args`, else the
    repeated ``arg`` the caller collected), scope, filters and the query's own options."""
    name = params.get("query", "")
    spec = QUERIES.get(name)
    if spec is None:
        raise LinkindexError(f"unknown query {name!r}: choose one of {', '.join(sorted(QUERIES))}")
    options = {}
    for option in own_options(spec, STANDARD_OPTIONS):
        text = _text(params, option)
        if text is not None:
            options[option] = _option(option, option_type(spec, option), text)
    return QueryCall(name, tuple(args or ()), params.get("scope") or "domain",
                     filters_from(params), tuple(sorted(options.items())))


def call_params(call: QueryCall) -> list[tuple[str, str]]:
    """`call` as URL parameters (``call_from`` reads them back)."""
    out = [("query", call.query), *(("arg", arg) for arg in call.args),
           ("scope", call.scope), *filters_params(call.filters)]
    for option, value in call.options:
        if isinstance(value, bool):
            out.append((option, "true" if value else "false"))
        elif isinstance(value, list | tuple):
            out.append((option, ", ".join(value)))
        elif isinstance(value, datetime):
            out.append((option, value.isoformat()))
        elif value is not None:
            out.append((option, str(value)))
    return out
