"""The `linkindex` command: parses arguments and calls the code that does the work."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.errors import LinkindexError
from core.schema import KINDS, POSITIONS, SNIPPET_CHARS, TARGET_SCOPES
from crawler.spec import CRAWL_SCOPES, DEFAULTS, LIMITS, CrawlSpec, option
from linkindex import (
    building,
    ccgraph_cmd,
    checklinks,
    cluster,
    compare_cmd,
    disavow_cmd,
    monitor_cmd,
    onstore,
    probe_cmd,
    report_cmd,
)

SCOPES = TARGET_SCOPES  # of a query's target
FORMATS = ("table", "csv", "json")
FORMAT_HELP = "table (default), csv or json"
PATHS_FORMATS = ("text", "json")


def version() -> str:
    """The installed package's version (its metadata), else the source tree's."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("linkindex")
    except PackageNotFoundError:
        from linkindex import __version__

        return __version__


def _data_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=onstore.data_location,
        default=onstore.data_location(os.environ.get("LINKINDEX_DATA", "data")),
        help="DATA: a folder, or an object store such as s3://bucket/prefix "
             "(default: $LINKINDEX_DATA or ./data)",
    )


def _query_args(parser: argparse.ArgumentParser) -> None:
    """A named query, its arguments, DATA, and the scope and filters (query, export)."""
    parser.add_argument("name", help="the query (see `linkindex queries`)")
    parser.add_argument("args", nargs="*", metavar="ARG",
                        help="its arguments: the target, then competitors or a date")
    _data_arg(parser)
    _filter_args(parser)


def _one_of(values: Sequence[str]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1]


def _filter_args(parser: argparse.ArgumentParser) -> None:
    """The scope and filters of `query` and `export`: the standard ones, then those of
    some queries."""
    standard_filter_args(parser)
    parser.add_argument("--min-overlap", type=int, default=1,
                        help="link_gap: competitors a domain must link to (default 1)")
    parser.add_argument("--limit", type=int, help="at most N rows")
    from linkindex.query_options import add_arguments

    add_arguments(parser)  # a query's own options: --brand, --group-similar, --seen-since, ...


def standard_filter_args(parser: argparse.ArgumentParser) -> None:
    """The scope and the standard filters every query takes (queries.Filters: see
    filters_of); compare takes these only."""
    parser.add_argument("--scope", choices=SCOPES, default="domain",
                        help="how the target matches: domain (default, with subdomains), "
                             "host, exact URL, URL prefix")
    parser.add_argument("--include-lost", action="store_true",
                        help="also links no longer on their page (default: live only)")
    parser.add_argument("--dofollow", action="store_true", help="only links without nofollow")
    parser.add_argument("--include-internal", action="store_true",
                        help="also links from the target's own domain")
    parser.add_argument("--kind", help=_one_of(KINDS))
    parser.add_argument("--position", help=_one_of(POSITIONS))
    parser.add_argument("--as-of", metavar="DATE",
                        help="the index as it stood at this moment (ISO 8601, UTC)")
    parser.add_argument("--until", metavar="DATE",
                        help="new_lost: the window's end, excluded (default: now)")


LIMIT_HELP = {
    "max_depth": "follow links at most N hops from a seed, a redirect being one "
                 "(default: no limit)",
    "max_pages": "fetch at most N pages in all (default: no limit)",
    "max_pages_per_domain": "fetch at most N pages per registrable domain (default: no limit)",
}


def _limit_args(parser: argparse.ArgumentParser) -> None:
    """What a crawl may fetch (crawl, job submit): fields of crawler.spec.CrawlSpec."""
    for name in LIMITS:  # --max-depth, --max-pages, --max-pages-per-domain
        parser.add_argument(option(name), type=int, default=DEFAULTS[name], metavar="N",
                            help=LIMIT_HELP[name])
    parser.add_argument("--scope", choices=CRAWL_SCOPES, default=DEFAULTS["scope"],
                        help="follow links within the seeds' registrable domains, or anywhere "
                             "(default %(default)s)")


def _fetch_args(parser: argparse.ArgumentParser) -> None:
    """How this process fetches (crawl, worker)."""
    parser.add_argument("--proxy", help="forward HTTP proxy for every request, http://HOST:PORT")
    parser.add_argument("--allow-private", action="store_true",
                        help="allow private and loopback addresses (refused by default)")
    parser.add_argument("--warc", action="store_true",
                        help="archive every response to WARC files under DATA/warc/<crawl_id>/")
    parser.add_argument("--snippets", action="store_true",
                        help="keep the text around each content link (edges.text_before, "
                             "text_after; docs/audit.md: it costs extraction time and bytes)")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a Scrapy or LINKINDEX_* setting, repeatable; those linkindex "
                             "does itself (DEPTH_LIMIT, REDIRECT_*, …) are refused with the "
                             "option to use instead")
    parser.add_argument("-v", "--verbose", action="store_true", help="Scrapy's INFO log")


def _fetch_overrides(args: argparse.Namespace) -> dict[str, object]:
    overrides: dict[str, object] = {
        "LINKINDEX_PROXY": args.proxy,
        "LINKINDEX_ALLOW_PRIVATE": args.allow_private,
        "LOG_LEVEL": "INFO" if args.verbose else "WARNING",
    }
    if args.warc:
        overrides["LINKINDEX_WARC"] = True
    if args.snippets:
        overrides["LINKINDEX_SNIPPET_CHARS"] = SNIPPET_CHARS
    overrides.update(_settings(args.set))
    from crawler.runner import scrapy_settings

    scrapy_settings(overrides)  # a value Scrapy cannot read: one line now, not mid-crawl
    return overrides


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkindex",
        description="A self-hosted backlink index: crawl, build, query.",
    )
    parser.add_argument("--version", action="version", version=f"linkindex {version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("crawl", help="crawl seed sites into DATA/raw/<crawl_id>/")
    p.add_argument("seeds", nargs="*", metavar="SEED", help="seed URL")
    p.add_argument("--seeds-file", help="file with one seed URL per line")
    _data_arg(p)
    p.add_argument("--crawl-id", help="name of this crawl (default: UTC start time)")
    _limit_args(p)
    _fetch_args(p)

    cluster.add_parsers(sub, _data_arg, _limit_args, _fetch_args)

    building.add_parser(sub, _data_arg)
    compare_cmd.add_parser(sub, _data_arg)
    checklinks.add_parser(sub, _data_arg, _fetch_args)
    disavow_cmd.add_parser(sub, _data_arg)
    report_cmd.add_parsers(sub, _data_arg)
    ccgraph_cmd.add_parser(sub, _data_arg)
    ccgraph_cmd.add_fetch_parser(sub, _data_arg)
    monitor_cmd.add_parsers(sub, _data_arg, _fetch_args)
    probe_cmd.add_parser(sub)

    p = sub.add_parser("import-warc", help="import WARC/WAT files (e.g. Common Crawl) as a crawl")
    p.add_argument("paths", nargs="+", metavar="PATH_OR_GLOB",
                   help="WARC or WAT files, gzipped or not (a quoted glob is expanded here)")
    p.add_argument("--crawl-id", required=True, help="the crawl these archives become")
    p.add_argument("--jobs", type=int, default=1, help="files read in parallel (default 1)")
    _data_arg(p)

    p = sub.add_parser("reextract",
                       help="rebuild a crawl's raw parts from its own WARCs (crawled with --warc)")
    p.add_argument("--crawl-id", required=True, help="the crawl to rebuild")
    p.add_argument("--jobs", type=int, default=1, help="files read in parallel (default 1)")
    _data_arg(p)

    p = sub.add_parser("query", help="answer a backlink question (see `linkindex queries`)")
    _query_args(p)
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)

    p = sub.add_parser("export", help="write a query's full answer to a CSV file")
    _query_args(p)
    p.add_argument("-o", "--output", type=Path, required=True, help="FILE.csv")
    p.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (for Excel)")

    p = sub.add_parser("sql", help="run SQL over views edges, pages, domains, hosts + macros")
    p.add_argument("sql", nargs="?", help="the statement (omit with --print-init)")
    _data_arg(p)
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    p.add_argument("--print-init", action="store_true",
                   help="print the init SQL for the stock DuckDB CLI and exit")

    sub.add_parser("queries", help="list the queries and their arguments")

    p = sub.add_parser("paths", help="where the live generation's Parquet files are, for "
                                     "Spark, Trino, polars or DuckDB (docs/engines.md)")
    _data_arg(p)
    p.add_argument("--format", choices=PATHS_FORMATS, default="text",
                   help="text (default: one NAME<TAB>PATH line each) or json")

    p = sub.add_parser("metrics", help="how the live generation's scores were computed: "
                                       "versions, parameters, graph, convergence")
    _data_arg(p)
    p.add_argument("--format", choices=PATHS_FORMATS, default="text",
                   help="text (default: one NAME<TAB>VALUE line each) or json")

    p = sub.add_parser("demo", help="crawl a synthetic web on loopback, build, and query it")
    p.add_argument("--out", type=Path, default=Path("linkindex-demo"),
                   help="folder for the demo's DATA and CSVs (default ./linkindex-demo)")
    p.add_argument("--sites", type=int, default=50, help="sites of the synthetic web (default 50)")
    p.add_argument("--pages", type=int, default=20, help="pages per site (default 20)")
    p.add_argument("--workers", type=int, default=0,
                   help="crawl in cluster mode: a private Redis and N worker processes")

    p = sub.add_parser("testweb", help="serve the synthetic web as a loopback HTTP proxy")
    p.add_argument("--port", type=int, default=8080,
                   help="loopback port the proxy listens on (default 8080)")
    p.add_argument("--sites", type=int, default=50, help="sites of the synthetic web (default 50)")
    p.add_argument("--pages", type=int, default=20, help="pages per site (default 20)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the generator: the same seed, the same web (default 0)")
    p.add_argument("--seeds-file", type=Path, help="also write the home pages here")
    return parser


def _settings(pairs: Sequence[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise LinkindexError(f"bad setting {pair!r}: expected NAME=VALUE")
        settings[name.strip()] = value
    return settings


def cmd_crawl(args: argparse.Namespace) -> int:
    """Exit 0 when the crawl fetched pages (its failures are rows, counted by kind);
    1 when it fetched nothing at all (every seed failed, was refused or disallowed)."""
    from crawler.runner import run_crawl

    spec = CrawlSpec.from_options(vars(args))  # seeds, --seeds-file, scope and limits
    overrides: dict[str, object] = {
        **spec.to_settings(),
        "LINKINDEX_DATA": str(args.data),
        "LINKINDEX_STORE": getattr(args, "store", None),
        "LINKINDEX_CRAWL_ID": args.crawl_id,
        **_fetch_overrides(args),
    }
    summary = run_crawl(overrides)
    by_kind = summary.error_counts()
    stopped = ("" if summary.finish_reason == "finished"
               else f", stopped early ({summary.finish_reason})")
    print(
        f"crawl {summary.crawl_id}: {summary.pages:,} pages, {summary.edges:,} links, "
        f"{summary.errors:,} errors{f' ({by_kind})' if by_kind else ''}{stopped} "
        f"in {summary.seconds:.1f}s ({summary.pages_per_second:,.0f} pages/s) "
        f"→ {shown(args, f'raw/{summary.crawl_id}')}"
    )
    nothing = summary.nothing_fetched()
    if nothing is not None:
        raise LinkindexError(nothing)
    refused = summary.refused()
    if refused:
        print(f"linkindex: warning: {refused}", file=sys.stderr)
    failed = summary.errors_by_kind.get("extract", 0)
    if failed:  # a bug of ours on some page: kept as a row with its error, say so
        pages = "page" if failed == 1 else "pages"
        print(f"linkindex: warning: extraction failed on {failed:,} {pages}, each stored "
              f"with its error, first: {summary.first_errors.get('extract')}", file=sys.stderr)
    return 0


def _archive_counts(counts) -> str:  # counts: index.archives.records.Counts
    text = (f"{counts.records:,} records, {counts.pages:,} pages, {counts.edges:,} links, "
            f"{counts.skipped:,} skipped")
    if counts.failed:
        text += f", {counts.failed:,} failed (stored with their error)"
    return text + (f", {counts.revisits:,} revisits not imported" if counts.revisits else "")


def _warn_damage(summary) -> None:  # summary: index.archives.importer.ImportSummary
    if summary.first_damage:
        print(f"linkindex: warning: skipped damaged records, first: {summary.first_damage}",
              file=sys.stderr)
    failed = summary.counts.failed
    if failed:  # kept as pages rows with their error, and counted in "pages"
        records = "record" if failed == 1 else "records"
        print(f"linkindex: warning: {failed:,} {records} failed, stored as pages with their "
              f"error, first: {summary.first_failure}", file=sys.stderr)


def cmd_import_warc(args: argparse.Namespace) -> int:
    from index.archives.importer import expand_inputs, import_archives

    files = expand_inputs(args.paths)
    summary = import_archives(args.data, args.crawl_id, files, jobs=args.jobs)
    print(
        f"import {summary.crawl_id}: {summary.files:,} files, {_archive_counts(summary.counts)} "
        f"in {summary.seconds:.1f}s ({summary.records_per_second:,.0f} records/s) "
        f"→ {shown(args, f'raw/{summary.crawl_id}')}"
    )
    _warn_damage(summary)
    return 0


def cmd_reextract(args: argparse.Namespace) -> int:
    from index.reextract import reextract

    result = reextract(args.data, args.crawl_id, jobs=args.jobs)
    summary = result.imported
    print(
        f"reextract {summary.crawl_id}: {summary.files:,} WARC files, "
        f"{_archive_counts(summary.counts)}; kept {result.kept_pages:,} pages and "
        f"{result.kept_edges:,} links with no WARC record as they were "
        f"in {summary.seconds:.1f}s → {shown(args, f'raw/{summary.crawl_id}')}"
    )
    _warn_damage(summary)
    return 0


def filters_of(args: argparse.Namespace):  # -> queries.Filters
    from queries import Filters, parse_moment

    return Filters(
        live_only=not args.include_lost,
        dofollow_only=args.dofollow,
        external_only=not args.include_internal,
        kind=args.kind,
        position=args.position,
        as_of=None if args.as_of is None else parse_moment(args.as_of, "--as-of"),
        until=None if args.until is None else parse_moment(args.until, "--until"),
    )


def _run_named(args: argparse.Namespace):  # -> pyarrow.Table
    from linkindex.query_options import query_options
    from queries import run_query

    return run_query(
        args.data, args.name, args.args, scope=args.scope, filters=filters_of(args),
        limit=args.limit, min_overlap=args.min_overlap, options=query_options(args),
    )


def _explain_empty(args: argparse.Namespace, table) -> None:  # table: pyarrow.Table
    """On stderr, which filter emptied an answer: "0 rows; 12 more with --include-internal"."""
    if table.num_rows or args.limit == 0:
        return
    from linkindex.query_options import query_options
    from queries import explain_empty

    line = explain_empty(args.data, args.name, args.args, scope=args.scope,
                         filters=filters_of(args), min_overlap=args.min_overlap,
                         options=query_options(args))
    if line:
        print(f"linkindex: {line}", file=sys.stderr)


def cmd_query(args: argparse.Namespace) -> int:
    from linkindex.render import show

    table = _run_named(args)
    show(table, args.format, title=f"{args.name} {' '.join(args.args)}")
    _explain_empty(args, table)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from queries.export import write_csv

    table = _run_named(args)
    rows = write_csv(table, args.output, bom=args.bom)
    print(f"wrote {rows:,} rows to {args.output}")
    _explain_empty(args, table)
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from queries import init_sql, run_sql

    if args.print_init:
        print(init_sql(args.data, relative=True))  # the text of DATA/linkindex.sql
        return 0
    if not args.sql:
        raise LinkindexError(
            'give a SQL statement, e.g. linkindex sql "SELECT count(*) FROM edges"'
        )
    from linkindex.render import show

    show(run_sql(args.data, args.sql), args.format)
    return 0


def cmd_queries(args: argparse.Namespace) -> int:
    from queries import QUERIES

    for name, spec in QUERIES.items():
        print(f"{spec.usage(name)}\n    {spec.description}")
    return 0


def cmd_paths(args: argparse.Namespace) -> int:
    import json

    from queries.paths import live_paths, paths_text

    paths = live_paths(args.data)
    print(json.dumps(paths, indent=2) if args.format == "json" else paths_text(paths))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    import json

    from queries.metrics import live_metrics, metrics_text

    metrics = live_metrics(args.data)
    print(json.dumps(metrics, indent=2) if args.format == "json" else metrics_text(metrics))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from linkindex.demo import run_demo

    if args.workers < 0:
        raise LinkindexError("--workers must not be negative")
    run_demo(args.out, sites=args.sites, pages=args.pages, workers=args.workers)
    return 0


def cmd_testweb(args: argparse.Namespace) -> int:
    from synthweb import SyntheticWeb
    from synthweb.server import WebServer

    try:
        web = SyntheticWeb(n_sites=args.sites, pages_per_site=args.pages, seed=args.seed)
    except ValueError as exc:  # too few sites or pages for the special cases
        raise LinkindexError(str(exc)) from None
    if args.seeds_file:
        args.seeds_file.write_text("\n".join(web.seeds()) + "\n")
    with WebServer(web, port=args.port) as server:
        print(f"synthetic web of {len(web.hosts)} hosts: proxy {server.proxy_url}", flush=True)
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
    return 0


COMMANDS = {
    "crawl": cmd_crawl,
    "build": building.cmd_build,
    "compare": compare_cmd.cmd_compare,
    "disavow": disavow_cmd.cmd_disavow,
    "report": report_cmd.cmd_report,
    "serve": report_cmd.cmd_serve,
    "check-links": lambda args: checklinks.cmd_check_links(args, _fetch_overrides(args)),
    "import-warc": cmd_import_warc,
    "import-cc-graph": ccgraph_cmd.cmd_import_cc_graph,
    "cc-fetch": ccgraph_cmd.cmd_cc_fetch,
    "reextract": cmd_reextract,
    "query": cmd_query,
    "export": cmd_export,
    "sql": cmd_sql,
    "queries": cmd_queries,
    "paths": cmd_paths,
    "metrics": cmd_metrics,
    "demo": cmd_demo,
    "testweb": cmd_testweb,
    "watch": monitor_cmd.cmd_watch,
    "track": monitor_cmd.cmd_track,
    "monitor": lambda args: monitor_cmd.cmd_monitor(args, _fetch_overrides(args)),
    "job": cluster.cmd_job,
    "worker": lambda args: cluster.cmd_worker(args, _fetch_overrides(args)),
    "probe": probe_cmd.cmd_probe,
}


def shown(args: argparse.Namespace, rel: str) -> str:
    """Where `rel` of DATA is, as the user named DATA (the URL on an object store)."""
    store = getattr(args, "store", None)
    return f"{store}/{rel}" if store else str(Path(args.data) / rel)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if onstore.on_store(args):
            return onstore.run(args, COMMANDS[args.command])
        return COMMANDS[args.command](args)
    except LinkindexError as exc:
        print(f"linkindex: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("linkindex: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `linkindex … | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug: one line, unless asked for the traceback
        if os.environ.get("LINKINDEX_DEBUG"):
            raise
        print(
            f"linkindex: internal error: {type(exc).__name__}: {exc} "
            "(set LINKINDEX_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
