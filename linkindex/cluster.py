"""`linkindex job …` and `linkindex worker`: argument parsing and wiring for cluster mode."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from core.errors import LinkindexError, check_crawl_id
from crawler.frontier.defaults import SEEN_MODES
from crawler.spec import DEFAULTS, CrawlSpec

JOB_ACTIONS = {"pause": "paused", "resume": "running", "stop": "stopped"}


def _redis_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", metavar="URL",
                        help="redis://[:PASSWORD@]HOST:PORT/DB, rediss:// for TLS, "
                             "redis+cluster://[:PASSWORD@]HOST:PORT for a Redis Cluster (any "
                             "node; a cluster is also found by asking the server) "
                             "(default: $LINKINDEX_REDIS_URL)")


def add_parsers(sub: Any, data_arg: Any, limit_args: Any, fetch_args: Any) -> None:
    p = sub.add_parser("job", help="cluster mode: submit and control crawl jobs in Redis")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    s = actions.add_parser("submit", help="create a job and queue its seeds")
    s.add_argument("name", help="job name (also the crawl id of its raw parts)")
    s.add_argument("seeds", nargs="*", metavar="SEED", help="seed URL")
    s.add_argument("--seeds-file", help="file with one seed URL per line")
    _redis_arg(s)
    limit_args(s)
    s.add_argument("--delay", type=float, default=DEFAULTS["delay"],
                   help="seconds between two fetches from one domain, across all workers "
                        f"(default {DEFAULTS['delay']:g}; a longer robots.txt Crawl-delay wins, "
                        "up to --max-crawl-delay)")
    s.add_argument("--max-crawl-delay", type=float, default=DEFAULTS["max_crawl_delay"],
                   metavar="SECONDS",
                   help="a robots.txt Crawl-delay longer than this skips its domain: its "
                        "pages are recorded with the error 'skipped: crawl-delay …', not "
                        f"fetched (default {DEFAULTS['max_crawl_delay']:g}; inf: no cap)")
    s.add_argument("--seen", dest="seen_mode", choices=SEEN_MODES, default=DEFAULTS["seen_mode"],
                   help="seen-URL filter: exact 8-byte fingerprints, a Bloom filter sized "
                        "once (~1.8 bytes/URL at 0.1%% false positives), or a scalable "
                        "Bloom filter that grows layer by layer past any size "
                        "(default %(default)s)")
    s.add_argument("--expected-urls", type=int, default=DEFAULTS["expected_urls"],
                   help=f"sizes the seen filter (default {DEFAULTS['expected_urls']:,})")
    s.add_argument("--shards", type=int, default=DEFAULTS["shards"],
                   help="split the frontier into this many shards by registrable domain; "
                        "on a Redis Cluster each shard can live on its own node "
                        "(default %(default)s)")
    s.add_argument("--max-attempts", type=int, default=DEFAULTS["max_attempts"],
                   help="leases lapsing this often mark a request failed "
                        "(default %(default)s)")
    i = actions.add_parser(
        "submit-import", help="create an import job: workers import a list of WARC/WAT "
                              "files (e.g. a Common Crawl wat.paths.gz) into raw parts",
        description="Each file is leased by one worker at a time, streamed from its URL, "
                    "s3:// or path, and imported as `import-warc` does; a worker killed "
                    "half-way loses no file and imports none twice (docs/archives.md).")
    i.add_argument("name", help="job name (also the crawl id of its raw parts)")
    i.add_argument("--paths", required=True, metavar="FILE_OR_URL",
                   help="the list of files, one per line, gzipped or not (Common Crawl's "
                        "crawl-data/CC-MAIN-…/wat.paths.gz)")
    i.add_argument("--prefix", metavar="URL", default=None,
                   help="what relative lines are relative to: an http(s) or s3:// URL, or "
                        "an absolute folder (default https://data.commoncrawl.org/)")
    i.add_argument("--max-attempts", type=int, default=DEFAULTS["max_attempts"],
                   help="a file whose import fails or whose lease lapses this often is "
                        "recorded failed (default %(default)s)")
    _redis_arg(i)
    for action, help_text in (("status", "queued, leased, fetched, done, failed, workers, "
                                         "pages/s, ETA"),
                              ("pause", "workers stop fetching, stay up"),
                              ("resume", "workers go on"),
                              ("stop", "workers finish what they fetch and exit"),
                              ("purge", "delete every key of the job (and no other's)")):
        a = actions.add_parser(action, help=help_text)
        a.add_argument("name", help="the job's name (its crawl id)")
        _redis_arg(a)
        if action == "status":
            a.add_argument("--json", action="store_true", help="machine-readable")
            a.add_argument("--no-memory", action="store_true",
                           help="skip measuring the job's Redis memory (one MEMORY USAGE "
                                "per key)")
    a = actions.add_parser("list", help="every job in this Redis: its state (running, "
                                        "paused, stopped or finished) and counts")
    _redis_arg(a)
    a.add_argument("--json", action="store_true", help="machine-readable")

    m = actions.add_parser("metrics", help="serve every job's counts for Prometheus "
                                           "(/metrics) and autoscalers (/metrics.json)")
    _redis_arg(m)
    m.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default %(default)s)")
    m.add_argument("--port", type=int, default=9121,
                   help="port to listen on (default %(default)s)")

    p = sub.add_parser("worker", help="cluster mode: crawl jobs from Redis into DATA")
    _redis_arg(p)
    data_arg(p)
    p.add_argument("--job", help="serve this job and exit when it is finished "
                                 "(default: every unfinished job in turn)")
    p.add_argument("--stay", action="store_true",
                   help="without --job: keep waiting for new jobs (for a Deployment)")
    p.add_argument("--concurrency", type=int, help="requests in flight (default 32)")
    p.add_argument("--health-file", metavar="PATH",
                   help="touched at every heartbeat that reached Redis, for `linkindex "
                        "probe` (default: $LINKINDEX_HEALTH_FILE; none)")
    fetch_args(p)


def _server(args: argparse.Namespace) -> Any:
    from crawler.frontier.connection import connect

    return connect(args.redis)


def cmd_job(args: argparse.Namespace) -> int:
    from crawler.frontier import jobs

    # Bad input is one line before Redis is asked anything (as `linkindex crawl` says it).
    spec = None
    if args.action == "submit-import":
        from index.archives.job_import import DEFAULT_PREFIX
        from linkindex.import_job import submit_import

        check_crawl_id(args.name)
        server = _server(args)
        queued = submit_import(server, args.name, args.paths, args.prefix or DEFAULT_PREFIX,
                               args.max_attempts)
        print(f"import job {args.name}: {queued:,} files queued; start workers with "
              f"`linkindex worker --job {args.name} --data DATA`")
        return 0
    if args.action == "submit":
        check_crawl_id(args.name)  # the job name is the crawl id of its raw parts
        spec = CrawlSpec.from_options(vars(args))
    server = _server(args)
    if spec is not None:
        queued = jobs.submit(server, args.name, spec)
        shards = f" over {spec.shards} shards" if spec.shards > 1 else ""
        print(f"job {args.name}: {queued:,} seeds queued{shards}; start workers with "
              f"`linkindex worker --job {args.name} --data DATA`")
    elif args.action == "status":
        from crawler.frontier import filejobs
        from linkindex.render import show_import_job_status, show_job_status

        if filejobs.is_import_job(server, args.name):
            status: Any = filejobs.status(server, args.name)
            show = show_import_job_status
        else:
            status = jobs.status(server, args.name, with_memory=not args.no_memory)
            show = show_job_status
        if args.json:
            print(json.dumps(status.to_dict(), indent=2))
        else:
            show(status)
    elif args.action == "list":
        statuses = jobs.statuses(server)
        if args.json:
            print(json.dumps([s.to_dict() for s in statuses], indent=2))
        else:
            from linkindex.render import show_job_list

            show_job_list(statuses)
    elif args.action == "metrics":
        from linkindex.metrics_cmd import serve_metrics

        return serve_metrics(server, args.host, args.port)
    elif args.action == "purge":
        deleted = jobs.purge(server, args.name)
        print(f"job {args.name}: purged ({deleted:,} keys)")
    else:
        jobs.set_state(server, args.name, JOB_ACTIONS[args.action])
        print(f"job {args.name}: {JOB_ACTIONS[args.action]}")
    return 0


def cmd_worker(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    from crawler.frontier.worker import run_worker

    if args.stay and args.job:
        raise LinkindexError("--stay is for workers without --job")
    if args.concurrency is not None:
        if args.concurrency < 1:
            raise LinkindexError("--concurrency must be at least 1")
        overrides["CONCURRENT_REQUESTS"] = args.concurrency
    if args.health_file:  # read by every part of the worker (crawl and import jobs)
        from crawler.frontier.defaults import HEALTH_FILE_ENV

        os.environ[HEALTH_FILE_ENV] = args.health_file
    if getattr(args, "store", None):  # DATA on an object store: args.data is the spool
        overrides["LINKINDEX_STORE"] = args.store
    from crawler.frontier.connection import connect
    from crawler.frontier.filejobs import is_import_job
    from linkindex.import_job import run_import_worker, serve_import_job

    data = Path(args.data)
    server = connect(args.redis)  # one line now if Redis cannot be reached
    if args.job and is_import_job(server, args.job):
        run = run_import_worker(server, args.job, data, overrides)
        print(f"job {run.job}: {run.pages:,} pages imported by this worker "
              f"({run.finish_reason})")
        return 0

    def serve_import(name: str, stop: Any) -> Any:
        return serve_import_job(server, name, data, overrides, stop)

    summary = run_worker(args.redis, data, args.job, stay=args.stay, overrides=overrides,
                         serve_import=None if args.job else serve_import)
    for run in summary.runs:
        print(f"job {run.job}: {run.pages:,} pages stored by this worker ({run.finish_reason})")
    if not summary.runs:
        print("no unfinished job to serve", file=sys.stderr if os.isatty(2) else sys.stdout)
    return 0
