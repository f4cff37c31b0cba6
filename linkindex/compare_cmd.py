"""`linkindex compare TARGET [TARGET ...]`: targets side by side (queries.compare).

One row per target, in the order given: overview's numbers, dofollow_share, and the
links and referring domains gained and lost since --since (default: since the latest
crawl started). As a table the targets are columns, one field per line; --format csv
and json give one row per target, as -o FILE.csv does (through queries.export).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import LinkindexError

SINCE_HELP = ("where the window of new and lost links starts (ISO 8601, UTC; default: "
              "when the latest crawl in the index started)")


def add_parser(sub: Any, data_arg: Any) -> None:
    """The `compare` subcommand, with the scope and filters of `linkindex query`."""
    from linkindex.cli import FORMAT_HELP, FORMATS, standard_filter_args

    p = sub.add_parser(
        "compare", help="targets side by side: overview numbers, dofollow share, links "
                        "and referring domains new and lost since the latest crawl",
        description="One row per target, in the order given (docs/compare.md). Each "
                    "target is named in --scope, as `linkindex query` names it.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="a domain, host, URL or URL prefix (see --scope), once each")
    data_arg(p)
    standard_filter_args(p)
    p.add_argument("--since", metavar="DATE", help=SINCE_HELP)
    p.add_argument("--format", choices=FORMATS, help=FORMAT_HELP)
    p.add_argument("-o", "--output", type=Path, metavar="FILE.csv",
                   help="write the rows to this CSV file instead (Excel-safe)")
    p.add_argument("--bom", action="store_true",
                   help="with -o: start with a UTF-8 BOM (for Excel)")


def cmd_compare(args: argparse.Namespace) -> int:
    from linkindex.cli import filters_of
    from queries import parse_moment
    from queries.compare import compare_targets

    if args.output is None and args.bom:
        raise LinkindexError("--bom goes with -o FILE.csv")
    if args.output is not None and args.format not in (None, "csv"):
        raise LinkindexError(f"-o writes CSV: drop --format {args.format}")
    since = None if args.since is None else parse_moment(args.since, "--since")
    table = compare_targets(args.data, args.targets, scope=args.scope,
                            filters=filters_of(args), since=since)
    if args.output is not None:
        from queries.export import write_csv

        rows = write_csv(table, args.output, bom=args.bom)
        print(f"wrote {rows:,} rows to {args.output}")
        return 0
    from linkindex.render import show

    fmt = args.format or "table"
    if fmt != "table":
        show(table, fmt)
        return 0
    start = table.column("since")[0].as_py()
    show(side_by_side(table), fmt,
         title=f"compare (scope {args.scope}; new and lost since "
               f"{start.strftime('%Y-%m-%d %H:%M')} UTC)")
    return 0


def side_by_side(table: Any) -> Any:  # pyarrow.Table -> pyarrow.Table
    """The rows turned into columns: `field`, then one column of text per target (its
    name heads the column: no `target` line)."""
    import pyarrow as pa

    fields = [name for name in table.column_names if name != "target"]
    columns: dict[str, list[str]] = {"field": fields}
    for row in table.to_pylist():
        columns[str(row["target"])] = [_text(name, row[name]) for name in fields]
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _text(name: str, value: Any) -> str:
    """A cell as `linkindex query` shows it; dofollow_share as a percentage."""
    from linkindex.render import _cell

    if name == "dofollow_share" and value is not None:
        return f"{value:.2%}"
    return _cell(value)
