"""The project's one error type, and the checks of names that become file and key names."""

from __future__ import annotations

import re

# A name that becomes a folder (DATA/raw/<crawl_id>/), a Redis key part or a file name
# prefix: no separators, no leading dot (hidden and temporary names start with one).
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


class LinkindexError(Exception):
    """An error the user can act on: the command prints its message as one line."""


def check_crawl_id(crawl_id: str) -> str:
    if not _NAME_RE.match(crawl_id):
        raise LinkindexError(
            f"bad crawl id {crawl_id!r}: use letters, digits, '.', '_' or '-' (at most 100)"
        )
    return crawl_id


def check_worker_id(worker: str) -> str:
    """A worker id names its part files (`<worker>-<seq>.parquet`): the same rules."""
    if not _NAME_RE.match(worker):
        raise LinkindexError(
            f"bad worker id {worker!r}: use letters, digits, '.', '_' or '-' (at most 100)"
        )
    return worker
