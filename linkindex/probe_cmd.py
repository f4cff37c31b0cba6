"""`linkindex probe`: is this pod's worker alive? For Kubernetes exec probes.

A worker started with --health-file (or $LINKINDEX_HEALTH_FILE) touches that file at
every heartbeat that reached Redis; the probe only compares its mtime with the clock.
It runs every few seconds in every worker pod, so it asks Redis nothing and imports no
Scrapy: the answer is what the worker itself last managed to do.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from core.errors import LinkindexError
from crawler.frontier.defaults import HEALTH_FILE_ENV

DEFAULT_MAX_AGE = 60.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "probe", help="exit 0 if this machine's worker reached Redis lately (for "
                      "Kubernetes probes), else 1 with the reason",
        description="Checks the worker's health file: it must exist and have been touched "
                    "within --max-age seconds (a worker touches it at every heartbeat that "
                    "reached Redis, about every 2 s).")
    p.add_argument("--health-file", metavar="PATH",
                   default=os.environ.get(HEALTH_FILE_ENV) or None,
                   help=f"the worker's --health-file (default: ${HEALTH_FILE_ENV})")
    p.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE, metavar="SECONDS",
                   help="older than this is stale (default %(default)g)")


def heartbeat_age(path: str, now: float | None = None) -> float:
    """Seconds since the worker last touched `path`; LinkindexError if it never did."""
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        raise LinkindexError(f"no heartbeat file {path} yet") from None
    except OSError as exc:
        raise LinkindexError(f"cannot read heartbeat file {path}: {exc.strerror}") from None
    # A future mtime (clock stepped back) counts as fresh, not as a negative age.
    return max(0.0, (time.time() if now is None else now) - mtime)


def cmd_probe(args: argparse.Namespace) -> int:
    if not args.health_file:
        raise LinkindexError(f"no health file: give --health-file PATH or set {HEALTH_FILE_ENV}")
    if not args.max_age > 0:
        raise LinkindexError("--max-age must be more than 0 seconds")
    age = heartbeat_age(args.health_file)
    if age > args.max_age:
        raise LinkindexError(
            f"worker heartbeat stale: last {age:.0f} s ago (max {args.max_age:g} s)")
    return 0
