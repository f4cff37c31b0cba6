"""`linkindex watch`, `track` and `monitor`: argument parsing and wiring for monitoring
(monitor/: the watch lists, what changed, the alert; docs/monitoring.md)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import LinkindexError


def add_parsers(sub: Any, data_arg: Any, fetch_args: Any) -> None:
    from monitor.defaults import OWN_PAGES, SCOPES, THRESHOLDS

    p = sub.add_parser("watch", help="watch a target: what `linkindex monitor` rechecks "
                                     "and alerts on")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="watch a target")
    a.add_argument("target", help="the domain, host, URL or URL prefix (see --scope)")
    a.add_argument("--name", help="the watch's name (default: the target)")
    a.add_argument("--scope", choices=SCOPES, default="domain",
                   help="what TARGET names: a registrable domain with its subdomains, a "
                        "host, a URL prefix or an exact URL (default %(default)s)")
    a.add_argument("--competitor", action="append", default=[], metavar="DOMAIN",
                   help="a competitor whose new referring domains you lack are reported "
                        "(repeatable)")
    a.add_argument("--notify", action="append", default=[], metavar="URL",
                   help="an https:// webhook or mailto:ADDRESS[,ADDRESS] (repeatable); "
                        "the document is always written under DATA/monitor/runs/")
    a.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="send only when a count reaches its threshold (repeatable): "
                        + ", ".join(f"{k} ({v:g})" for k, v in THRESHOLDS.items()))
    a.add_argument("--keyword", action="append", default=[], metavar="TEXT",
                   help="a money keyword: anchors equal to it are exact-match (repeatable; "
                        "the anchor mix and toxic scores use it, docs/anchors.md)")
    a.add_argument("--brand", action="append", default=[], metavar="NAME",
                   help="a brand name besides the target's own (repeatable)")
    a.add_argument("--replace", action="store_true", help="replace a watch of that name")
    data_arg(a)
    a = actions.add_parser("list", help="every watch")
    a.add_argument("--json", action="store_true", help="machine-readable")
    data_arg(a)
    a = actions.add_parser("remove", help="stop watching (its runs' documents are kept)")
    a.add_argument("name", help="the watch's name")
    data_arg(a)

    p = sub.add_parser("track", help="links you built or are chasing, checked each run")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="add links to a watch's tracking list")
    a.add_argument("target", help="the watch (its name or its target)")
    a.add_argument("--links", required=True, type=Path, metavar="FILE",
                   help="CSV: source_url,target_url[,anchor][,rel] (rel: dofollow, "
                        "nofollow, ugc or sponsored)")
    data_arg(a)
    a = actions.add_parser("list", help="a watch's tracked links as the index sees them")
    a.add_argument("target", help="the watch (its name or its target)")
    data_arg(a)

    p = sub.add_parser("monitor", help="recrawl what links to the watched targets, build, "
                                       "and alert on what changed since the last run")
    p.add_argument("--watch", action="append", default=[], metavar="NAME",
                   help="only this watch (repeatable; default: every watch)")
    p.add_argument("--own-pages", type=int, default=OWN_PAGES, metavar="N",
                   help="the target's own pages recrawled, best-linked first "
                        "(default %(default)s)")
    p.add_argument("--no-send", action="store_true",
                   help="write the documents, send nothing")
    p.add_argument("--redis", metavar="URL",
                   help="run the recrawl as a cluster job in this Redis (workers elsewhere "
                        "serve it); default: crawl in this process")
    p.add_argument("--trust-seeds", metavar="FILE",
                   help="the trust seeds your builds use (as `linkindex build`)")
    data_arg(p)
    fetch_args(p)


def _store(args: argparse.Namespace) -> Any:
    from monitor.watches import MonitorStore

    return MonitorStore(args.data)


def _watch_of(store: Any, target: str) -> Any:
    """A watch by its name, or by its target."""
    for watch in store.watches():
        if target in (watch.name, watch.target):
            return watch
    raise LinkindexError(f"no watch named or watching {target!r}: `linkindex watch add "
                         f"{target}` first")


def cmd_watch(args: argparse.Namespace) -> int:
    from monitor.defaults import THRESHOLDS
    from monitor.watches import Watch, name_for

    store = _store(args)
    if args.action == "add":
        thresholds = dict(THRESHOLDS)
        for pair in args.threshold:
            name, sep, value = pair.partition("=")
            if not sep or name not in THRESHOLDS:
                raise LinkindexError(f"--threshold {pair!r}: NAME=VALUE, NAME one of "
                                     f"{', '.join(THRESHOLDS)}")
            try:
                thresholds[name] = float(value)
            except ValueError:
                raise LinkindexError(f"--threshold {pair!r}: not a number") from None
        watch = store.add_watch(Watch(args.name or name_for(args.target), args.target,
                                      args.scope, args.competitor, args.notify, thresholds,
                                      keywords=args.keyword, brands=args.brand),
                                replace=args.replace)
        print(f"watching {watch.target} (scope {watch.scope}) as {watch.name!r}; "
              f"`linkindex monitor --data DATA` runs every watch")
    elif args.action == "list":
        watches = store.watches()
        if args.json:
            print(json.dumps([vars(w) for w in watches], indent=2))
        elif not watches:
            print("no watches: `linkindex watch add TARGET`")
        for watch in watches if not args.json else []:
            extra = f", competitors {', '.join(watch.competitors)}" if watch.competitors else ""
            notify = f", notify {len(watch.notify)}" if watch.notify else ""
            print(f"{watch.name}: {watch.target} (scope {watch.scope}{extra}{notify})")
    else:
        store.remove_watch(args.name)
        print(f"watch {args.name!r} removed")
    return 0


def cmd_track(args: argparse.Namespace) -> int:
    from monitor.changes import tracked_status
    from monitor.watches import read_tracked_links

    store = _store(args)
    watch = _watch_of(store, args.target)
    if args.action == "add":
        try:
            text = args.links.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise LinkindexError(f"cannot read {args.links}: {exc}") from None
        total = store.add_tracked(watch.name, read_tracked_links(text, str(args.links)))
        print(f"watch {watch.name!r}: {total:,} tracked links")
        return 0
    for entry in tracked_status(args.data, store.tracked(watch.name)):
        detail = f" ({entry['detail']})" if entry.get("detail") else ""
        print(f"{entry['status']:<10} {entry['source_url']} -> {entry['target_url']}{detail}")
    return 0


def cmd_monitor(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    from index.build import build_index
    from index.ranks import read_trust_seeds
    from monitor.run import monitor, run_lock

    if args.own_pages < 0:
        raise LinkindexError("--own-pages must not be negative")
    store = _store(args)
    watches = ([store.watch(name) for name in args.watch] if args.watch
               else store.watches())
    seeds = read_trust_seeds(Path(args.trust_seeds)) if args.trust_seeds else None
    data = Path(args.data)

    def crawl(urls: list[str], crawl_id: str) -> int:
        if args.redis:
            return _cluster_crawl(args.redis, urls, crawl_id)
        from crawler.runner import run_crawl

        summary = run_crawl({**_recrawl_spec(urls).to_settings(), **overrides,
                             "LINKINDEX_DATA": str(data), "LINKINDEX_CRAWL_ID": crawl_id})
        return summary.pages

    def build() -> None:
        build_index(data, trust_seeds=seeds)

    with run_lock(data / "monitor"):
        run = monitor(data, watches, crawl=crawl, build=build, own_pages=args.own_pages,
                      send=not args.no_send)
    print(f"monitor run {run.run_id}: {len(run.urls):,} pages recrawled (crawl {run.crawl_id})")
    for result in run.results:
        fired = ", ".join(f"{result.document['counts'][n]} {n}" for n in result.triggered)
        sent = result.document["deliveries"]
        failed = [d for d in sent if not d["ok"]]
        status = (f"alert: {fired}" if fired else "quiet: nothing reached a threshold")
        delivery = (f"; sent to {len(sent) - len(failed)} of {len(sent)}" if sent else "")
        print(f"  {result.watch}: {status}{delivery} → {data / result.path}")
        for failure in failed:
            print(f"  {result.watch}: delivery to {failure['destination']} failed: "
                  f"{failure['status']}", file=sys.stderr)
    return 0


def _recrawl_spec(urls: list[str]) -> Any:
    """These pages and nothing else: no link followed (depth 0), wherever they are."""
    from crawler.spec import CrawlSpec

    return CrawlSpec.from_options({"seeds": urls, "max_depth": 0, "scope": "any"})


def _cluster_crawl(url: str, urls: list[str], crawl_id: str) -> int:
    """The recrawl as a cluster job: submitted, then waited for (workers serve it). A
    job no worker touches for NO_WORKER_SECONDS is one line, not an endless wait."""
    from crawler.frontier import jobs
    from crawler.frontier.connection import connect
    from monitor.defaults import NO_WORKER_SECONDS, POLL_SECONDS

    server = connect(url)
    jobs.submit(server, crawl_id, _recrawl_spec(urls))
    progress, since = -1, time.monotonic()
    while not (status := jobs.status(server, crawl_id)).finished:
        settled = status.done + status.failed + status.ignored + status.leased
        if settled != progress or status.workers:
            progress, since = settled, time.monotonic()
        elif time.monotonic() - since > NO_WORKER_SECONDS:
            raise LinkindexError(
                f"no worker has served job {crawl_id} for {NO_WORKER_SECONDS:.0f} s: start "
                f"`linkindex worker` against this Redis (the job stays queued; `linkindex "
                f"job purge {crawl_id}` drops it)")
        time.sleep(POLL_SECONDS)
    return status.stored
