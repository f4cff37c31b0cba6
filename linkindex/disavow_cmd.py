"""`linkindex disavow`: write Google's disavow file for a target's toxic backlinks, diff it
against the last one, or check a file (docs/disavow.md)."""

from __future__ import annotations

import argparse
import inspect
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import layout
from core.errors import LinkindexError
from core.schema import TARGET_SCOPES

LEVELS = ("auto", "url", "domain")  # as queries.disavow.LEVELS: not imported, to start fast


def add_parser(sub: Any, data_arg: Any) -> None:
    p = sub.add_parser(
        "disavow", help="write Google's disavow file for TARGET's toxic backlinks, or check one",
        description="Write a disavow file of the domains linking to TARGET whose toxic score "
                    "is at least --min-score (docs/disavow.md), or with --check FILE only "
                    "check a file against Google's rules.")
    p.add_argument("target", nargs="?", metavar="TARGET", help="the site the links point to")
    data_arg(p)
    p.add_argument("--check", type=Path, metavar="FILE",
                   help="only check FILE: print its problems; exit 1 if any is an error")
    p.add_argument("--min-score", type=float, default=50.0, metavar="S",
                   help="list domains with a toxic score of at least S, 0-100 (default 50)")
    p.add_argument("--keep", type=Path, metavar="FILE",
                   help="never disavow these: domain:NAME, host names or URLs, one a line")
    p.add_argument("--diff", type=Path, metavar="OLD",
                   help="also print what changed from the disavow file OLD")
    p.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="write the file here (default: standard output)")
    p.add_argument("--level", choices=LEVELS, default="auto",
                   help="domain: lines, URL lines, or auto (default): domain: when at least "
                        "half of a domain's crawled pages link to TARGET")
    p.add_argument("--scope", choices=TARGET_SCOPES, default="domain",
                   help="how TARGET matches: domain (default, with subdomains), host, exact "
                        "URL, URL prefix")
    p.add_argument("--keyword", action="append", metavar="WORDS",
                   help="words that make an anchor text toxic, repeatable")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LinkindexError(f"cannot read {what} {path}: {exc.strerror}") from None


def _text(path: Path, what: str) -> str:
    try:
        return _read(path, what).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LinkindexError(f"{what} {path} is not UTF-8 (byte offset {exc.start:,})") from None


def cmd_disavow(args: argparse.Namespace) -> int:
    if args.check is not None:
        if args.target is not None:
            raise LinkindexError("give TARGET to write a disavow file, or --check FILE, not both")
        return _check(args.check)
    if args.target is None:
        raise LinkindexError("give a TARGET to write its disavow file, or --check FILE")
    from queries.disavow import (
        candidates_from_rows,
        diff_disavow,
        parse_disavow,
        parse_keep,
        write_disavow,
    )

    # Every file is read and parsed before the query runs: a typo fails at once.
    keep = old = None
    if args.keep is not None:
        keep = parse_keep(_text(args.keep, "keep list"), source=f"keep list {args.keep}")
    if args.diff is not None:
        old = _text(args.diff, "old disavow file")
        parse_disavow(old, source=f"old disavow file {args.diff}")
    text = write_disavow(
        candidates_from_rows(_toxic_rows(args)), target=args.target,
        min_score=args.min_score, generated_at=datetime.now(UTC), keep=keep,
        level=args.level)
    report = sys.stdout
    if args.output is None:
        sys.stdout.write(text)
        report = sys.stderr  # the file is on stdout: what is said about it goes apart
    else:
        with layout.atomic_path(args.output) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="")
        print(f"wrote {_entries(text)} to {args.output}")
    if old is not None:
        diff = diff_disavow(old, text)
        for line in diff_lines(diff):
            print(line, file=report)
        print(f"since {args.diff}: {diff_summary(diff)}", file=report)
    return 0


def _toxic_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from queries import run_query

    options: dict[str, Any] = {"scope": args.scope}
    # The keywords become a query option once run_query takes options; until then the
    # query scores without them.
    if "options" in inspect.signature(run_query).parameters:
        options["options"] = {"keywords": args.keyword or []}
    return run_query(args.data, "toxic_domains", [args.target], **options).to_pylist()


def _entries(text: str) -> str:
    from queries.disavow import parse_disavow

    parsed = parse_disavow(text)
    return (f"{_n(len(parsed.domains), 'domain: line')} and {_n(len(parsed.urls), 'URL')} "
            f"({len(text.encode()):,} bytes)")


def _n(count: int, what: str) -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def diff_lines(diff: Any) -> list[str]:  # diff: queries.disavow.DisavowDiff
    """``+ entry`` added, ``- entry`` removed, ``~ entry (now covered by domain:x)``."""
    return ([f"+ {entry}" for entry in diff.added] + [f"- {entry}" for entry in diff.removed]
            + [f"~ {entry} (now covered by {parent})" for entry, parent in diff.covered])


def diff_summary(diff: Any) -> str:
    return (f"{len(diff.added):,} added, {len(diff.removed):,} removed, {len(diff.covered):,} "
            f"now covered by a domain: line, {diff.unchanged:,} unchanged")


def _check(path: Path) -> int:
    from queries.disavow import check_disavow

    problems = check_disavow(_read(path, "disavow file"))
    for problem in problems:
        where = f"{path}:{problem.line}" if problem.line else f"{path}"
        print(f"{where}: {problem.level}: {problem.message}")
    errors = sum(problem.level == "error" for problem in problems)
    warnings = len(problems) - errors
    if not problems:
        print(f"{path}: no problems")
    else:
        print(f"{path}: {_n(errors, 'error')}, {_n(warnings, 'warning')}")
    return 1 if errors else 0
