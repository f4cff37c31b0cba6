"""Commands with DATA on an object store (`--data s3://bucket/prefix`): which local folder
each one works in and what it publishes (core/mirror.py says why it works this way).

- crawl, worker: a local spool; each finished part goes to the store as it is written.
- build, import-warc, reextract: a mirror, pulled before and pushed after (the difference).
- query, export, sql, paths, metrics, compare, disavow, report, serve: read the store
  directly (queries.live); watch and track read and write their lists there directly.
"""

from __future__ import annotations

import argparse
import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core import layout
from core.errors import LinkindexError
from core.mirror import Mirror, Spool, cache_dir
from core.storage import Storage, is_store_url

POLL_SECONDS = 5.0  # a cluster step waiting for the step before it pulls this often

READERS = ("query", "export", "sql", "paths", "metrics", "disavow", "compare", "report",
           "serve", "watch", "track")
CRAWLERS = ("crawl", "worker")


def data_location(text: str) -> Path | str:
    """--data: a folder, or an object-store URL kept as typed (a Path would fold "//")."""
    if is_store_url(text):
        return text
    return Path(text[len("file://"):] if text.lower().startswith("file://") else text)


def on_store(args: argparse.Namespace) -> bool:
    return isinstance(getattr(args, "data", None), str)


def run(args: argparse.Namespace, command: Callable[[argparse.Namespace], int]) -> int:
    """Run `command` with args.data on the store named by args.data."""
    storage = Storage.of(args.data)  # refuses credentials or options in the URL
    if storage.is_local:  # a file:// URL or a local pyarrow filesystem
        args.data, args.store = Path(storage.root), None
        return command(args)
    storage.fs  # noqa: B018 - connects and checks the bucket: one line if unreachable
    args.store = storage.url
    if args.command in READERS:
        args.data = storage
        return command(args)
    if args.command in CRAWLERS:
        return _crawl(args, storage, command)
    if args.command == "build":
        return _mirrored(args, storage, command, ["raw/", "stage/", "index/"])
    if args.command == "import-cc-graph":
        return _mirrored(args, storage, command, [f"{layout.CCGRAPH}/"])
    if args.command == "import-warc":
        return _mirrored(args, storage, command, [f"raw/{args.crawl_id}/"])
    if args.command == "reextract":
        return _mirrored(args, storage, command,
                         [f"raw/{args.crawl_id}/", f"warc/{args.crawl_id}/"])
    raise LinkindexError(f"`linkindex {args.command}` does not take an object store as DATA")


def _crawl(args: argparse.Namespace, storage: Storage,
           command: Callable[[argparse.Namespace], int]) -> int:
    spool = Spool(storage, cache_dir(storage, "spool"))
    spool.local.mkdir(parents=True, exist_ok=True)
    args.data = spool.local
    code = command(args)
    left = spool.leftovers()
    if left:  # the store failed at the end: the parts are safe here, say where
        raise LinkindexError(
            f"{len(left):,} finished files could not be published to {storage.url} and are "
            f"kept in {spool.local}: run the same command again to publish them")
    return code


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One command at a time on a mirror folder (tasks sharing a machine and a cache)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".mirror.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _mirrored(args: argparse.Namespace, storage: Storage,
              command: Callable[[argparse.Namespace], int], prefixes: list[str]) -> int:
    from index.stage import NotReady  # only builds wait; import-warc never raises it

    mirror = Mirror(storage, cache_dir(storage, "mirror"))
    args.data = mirror.local
    wait = float(getattr(args, "wait", 0.0) or 0.0)
    deadline = time.monotonic() + wait
    if wait:
        args.wait = 0.0  # the store changes, not the mirror: wait here, pulling again
    while True:
        with _locked(mirror.local):
            mirror.pull(prefixes)
            before = mirror.snapshot()
            try:
                return command(args)
            except NotReady:
                if time.monotonic() >= deadline:
                    raise
            finally:
                mirror.push(before)  # what the command did, also if it stopped half-way
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
