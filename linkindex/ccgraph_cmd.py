"""`linkindex import-cc-graph`: parsing and wiring only; the import is index.ccgraph's."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from core.errors import LinkindexError


def _progress() -> Callable[[str], None]:
    """Progress lines on a terminal only: in a script, stderr holds nothing but an
    error's one line."""
    if sys.stderr.isatty():
        return lambda line: print(f"  {line}", file=sys.stderr, flush=True)
    return lambda _: None


def add_parser(sub: Any, data_arg: Any) -> None:
    p = sub.add_parser(
        "import-cc-graph",
        help="import a Common Crawl web graph: referring domains for any domain",
        description="Reads a release's vertices, edges and ranks files (local paths, http(s) "
                    "or s3:// URLs), checks them as they stream, and stores the graph beside "
                    "the index; queries then answer from both (docs/ccgraph.md). A "
                    "host-level release (--level host) is aggregated to registrable domains, "
                    "its shards read in parallel. An interrupted import resumes where it "
                    "stopped when run again.")
    p.add_argument("release", help="the release, e.g. cc-main-2025-26-nov-dec-jan")
    p.add_argument("--base", metavar="URL",
                   help="where releases are published (default: Common Crawl's "
                        "https://data.commoncrawl.org/projects/hyperlinkgraph)")
    p.add_argument("--level", choices=("domain", "host"), default="domain",
                   help="the release's domain-level graph (default), or its host-level "
                        "graph aggregated to registrable domains by our public-suffix rules")
    for kind in ("vertices", "edges", "ranks"):
        host = "" if kind == "ranks" else \
            " (host level: the list of shards, its relative lines under --base)"
        p.add_argument(f"--{kind}", metavar="FILE_OR_URL",
                       help=f"the {kind} file, instead of the one under --base{host}")
    p.add_argument("--buckets", type=int, metavar="N",
                   help="buckets of the links (default: one per 64 MB of gzipped edges; "
                        "host level: one per 500,000 domains)")
    p.add_argument("--chunk-edges", type=int, metavar="N",
                   help="edges per resume point (default 5,000,000; host level: per chunk "
                        "file of a shard)")
    p.add_argument("--max-chunks", type=int, metavar="N",
                   help="stop after N chunks of edges (host level: N edge shards; run again "
                        "to go on)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="host level: processes reading shards (default: the CPUs, at most "
                        "one per shard)")
    data_arg(p)


def cmd_import_cc_graph(args: argparse.Namespace) -> int:
    from index.ccgraph.importer import (
        CHUNK_EDGES,
        DEFAULT_BASE,
        GraphImport,
        import_graph,
        release_files,
    )

    for name in ("buckets", "chunk_edges", "max_chunks", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise LinkindexError(f"--{name.replace('_', '-')} {value}: use 1 or more")
    base = args.base or DEFAULT_BASE
    files = release_files(args.release, base, args.level)
    for kind in files:
        if getattr(args, kind):
            files[kind] = getattr(args, kind)
    job = GraphImport(args.release, files, buckets=args.buckets,
                      chunk_edges=args.chunk_edges or CHUNK_EDGES, max_chunks=args.max_chunks,
                      level=args.level, base=base, jobs=args.jobs)
    summary = import_graph(args.data, job, _progress())
    if summary.level == "host":
        return _host_summary(args.release, summary)
    if not summary.finished:
        print(f"stopped after {summary.edges:,} edges of {args.release} (--max-chunks): run "
              "the same command again to go on")
        return 0
    resumed = f", resumed after {summary.resumed_from:,} edges" if summary.resumed_from else ""
    print(f"imported {args.release}: {summary.vertices:,} domains, {summary.edges:,} links "
          f"in {summary.buckets:,} buckets{resumed}; {summary.unranked:,} domains without "
          "ranks. Queries now answer from it (source column).")
    return 0


def _host_summary(release: str, summary: Any) -> int:
    if not summary.finished:
        print(f"stopped after {summary.host_edges:,} host links of {release} "
              f"({summary.shards_done:,} of {summary.shards:,} edge shards, --max-chunks): "
              "run the same command again to go on")
        return 0
    resumed = f", resumed after {summary.resumed_from:,} host links" \
        if summary.resumed_from else ""
    print(f"imported {release}: {summary.vertices:,} domains, {summary.edges:,} links in "
          f"{summary.buckets:,} buckets, from {summary.hosts:,} hosts and "
          f"{summary.host_edges:,} host links{resumed}; {summary.unranked:,} domains "
          "without ranks. Queries now answer from it (source column).")
    return 0


def add_fetch_parser(sub: Any, data_arg: Any) -> None:
    p = sub.add_parser(
        "cc-fetch",
        help="link-level detail from Common Crawl for a target's referring domains",
        description="Takes the target's referring domains that only the imported web graph "
                    "knows, finds their pages in Common Crawl's columnar URL index, fetches "
                    "just those WARC records by range request and imports them as "
                    "import-warc does; build next (docs/ccgraph.md).")
    p.add_argument("target", help="a registrable domain")
    p.add_argument("--crawl", required=True, metavar="CC-MAIN-YYYY-WW",
                   help="the Common Crawl crawl whose URL index and WARC files to read")
    p.add_argument("--base", metavar="URL",
                   help="where Common Crawl's files are (default https://data.commoncrawl.org)")
    p.add_argument("--domains", type=int, default=100, metavar="N",
                   help="the N referring domains first in the graph's harmonic centrality "
                        "(default 100)")
    p.add_argument("--pages-per-domain", type=int, default=20, metavar="K",
                   help="at most K pages of each (default 20)")
    p.add_argument("--crawl-id", default="cc-fetch",
                   help="the raw parts' crawl id (default cc-fetch)")
    data_arg(p)


def cmd_cc_fetch(args: argparse.Namespace) -> int:
    from index.ccgraph.pages import DEFAULT_BASE, fetch_pages, find_records, index_files
    from queries import run_query
    from queries.live import resolve

    for name in ("domains", "pages_per_domain"):
        if getattr(args, name) < 1:
            raise LinkindexError(f"--{name.replace('_', '-')} {getattr(args, name)}: use 1 "
                                 "or more")
    if resolve(args.data).graph is None:
        raise LinkindexError("no web graph imported: run `linkindex import-cc-graph` first")
    rows = run_query(args.data, "referring_domains", [args.target]).to_pylist()
    domains = [row["src_domain"] for row in rows if row["source"] != "crawl"][:args.domains]
    if not domains:
        print(f"every referring domain of {args.target} the graph knows was crawled already")
        return 0
    base = args.base or DEFAULT_BASE
    report = _progress()
    records = find_records(index_files(base, args.crawl), domains, args.pages_per_domain,
                           report)
    summary = fetch_pages(args.data, records, base=base, crawl_id=args.crawl_id,
                          report=report)
    found = len({record.domain for record in records})
    print(f"{summary.records:,} pages of {found:,} of {len(domains):,} referring domains "
          f"in {args.crawl}: {summary.fetched:,} fetched now ({summary.counts.pages:,} pages, "
          f"{summary.counts.edges:,} links), {summary.skipped:,} imported before; next: "
          f"linkindex build --data {args.data}")
    if summary.failures:
        print(f"linkindex: error: {len(summary.failures):,} records could not be fetched "
              f"(run again to retry), the first: {summary.failures[0]}", file=sys.stderr)
        return 3
    return 0
