"""`linkindex check-links`: fetch the index's external link targets once each, so that
`broken_outlinks` also finds dead pages on sites the crawl did not cover (docs/check-links.md).

The URLs come from the live index (queries.unchecked.link_targets); the
`checklinks` spider fetches them through the crawler's settings and middlewares and the
raw-parts pipeline writes their pages rows under DATA/raw/<crawl_id>/, for the next
`linkindex build`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import LinkindexError, check_crawl_id
from core.schema import UNFETCHED_ERROR_KINDS

if TYPE_CHECKING:  # importing the runner loads Scrapy: only when the command runs
    from crawler.runner import CrawlSummary


def add_parser(sub: Any, data_arg: Callable[[argparse.ArgumentParser], None],
               fetch_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "check-links",
        help="fetch the index's external link targets once each (HEAD), so that "
             "broken_outlinks finds dead pages outside the crawl",
        description="Fetch, once each, the targets of the live index's external a, img and "
                    "area links that have no fetched pages row: HEAD, and one GET when HEAD "
                    "is not supported or not answered. robots.txt, the private-address "
                    "guard and politeness are the crawl's. The rows go to "
                    "DATA/raw/<crawl_id>/; `linkindex build` folds them in.")
    data_arg(p)
    p.add_argument("--crawl-id", help="name of this check's raw crawl "
                                      "(default: check-<UTC start time>)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="check at most N URLs: each host's first URL in turn, then each "
                        "host's second, … (by URL within a host)")
    fetch_args(p)


def cmd_check_links(args: argparse.Namespace, fetch_overrides: dict[str, object]) -> int:
    """Exit 0 once every URL has its row (dead ones included: they are the point)."""
    from crawler.spiders.checklinks import default_check_id
    from queries.unchecked import link_targets

    if args.warc:
        raise LinkindexError("check-links archives nothing (it reads no body): drop --warc")
    crawl_id = check_crawl_id(args.crawl_id or default_check_id())
    urls = link_targets(args.data, args.limit)
    if not urls:
        print("check-links: nothing to check (every live external a, img and area link "
              "target has a fetched pages row)" if args.limit != 0 else
              "check-links: nothing to check (--limit 0)")
        return 0
    summary = run_check({
        "LINKINDEX_DATA": str(args.data),
        "LINKINDEX_CRAWL_ID": crawl_id,
        **fetch_overrides,
    }, urls)
    print(summary_line(summary, Path(args.data) / "raw" / crawl_id))
    refused = summary.errors_by_kind.get("refused", 0)
    if refused:
        first = summary.first_errors.get("refused", "").partition(": refused: ")[2]
        why = first.removesuffix(" (allow with --allow-private)")
        print(f"linkindex: warning: refused {refused:,} URL{'' if refused == 1 else 's'} to "
              f"private, loopback or link-local addresses{f' (first: {why})' if why else ''}; "
              "allow them with --allow-private", file=sys.stderr)
    return 0


def run_check(overrides: dict[str, Any], urls: list[str]) -> CrawlSummary:
    """Check `urls` with the `checklinks` spider, as a crawl runs: the project's settings
    with `overrides` (crawler.runner.run_spider)."""
    from crawler.runner import run_spider, scrapy_settings
    from crawler.spiders.checklinks import CheckLinksSpider, prepare_check_settings

    settings = scrapy_settings(overrides)
    prepare_check_settings(settings)
    return run_spider(settings, CheckLinksSpider, "check", urls=urls)


def summary_line(summary: CrawlSummary, where: Path) -> str:
    """"check-links ID: checked 9, broken 4 (3 HTTP 4xx, 1 HTTP 5xx), unfetched 1 (1
    disallowed by robots.txt) in 1.2s → DATA/raw/ID"."""
    from crawler.failures import KINDS, label

    def counted(unfetched: bool) -> tuple[int, str]:
        kinds = [k for k, n in summary.errors_by_kind.items()
                 if n and (k in UNFETCHED_ERROR_KINDS) == unfetched]
        kinds.sort(key=lambda k: (KINDS.index(k) if k in KINDS else len(KINDS), k))
        counts = summary.errors_by_kind
        text = ", ".join(f"{counts[k]:,} {label(k, counts[k])}" for k in kinds)
        return sum(counts[k] for k in kinds), f" ({text})" if text else ""

    broken, broken_kinds = counted(False)
    unfetched, unfetched_kinds = counted(True)
    stopped = ("" if summary.finish_reason == "finished"
               else f", stopped early ({summary.finish_reason})")
    return (f"check-links {summary.crawl_id}: checked {summary.pages:,}, broken {broken:,}"
            f"{broken_kinds}, unfetched {unfetched:,}{unfetched_kinds}{stopped} "
            f"in {summary.seconds:.1f}s → {where}")
