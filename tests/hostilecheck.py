"""Reading a hostile crawl's raw parts and comparing each case with its expectation."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from synthweb.hostile import ANY, SOME, Case

PAGE_COLUMNS = ["url", "status", "error", "content_type", "title", "redirect_to",
                "n_links", "n_skipped_links"]


def read_table(data: Path, crawl_id: str, table: str, columns: list[str]) -> list[dict[str, Any]]:
    folder = data / "raw" / crawl_id / table
    rows: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.parquet")):
        rows.extend(pq.read_table(path, columns=columns).to_pylist())
    return rows


class Stored:
    """A crawl's (or import's) pages rows by URL and its links by source URL."""

    def __init__(self, data: Path, crawl_id: str) -> None:
        self.pages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in read_table(data, crawl_id, "pages", PAGE_COLUMNS):
            self.pages[row["url"]].append(row)
        self.links: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for row in read_table(data, crawl_id, "edges", ["src_url", "dst_url", "kind"]):
            self.links[row["src_url"]].append((row["dst_url"], row["kind"]))

    @property
    def n_pages(self) -> int:
        return sum(len(rows) for rows in self.pages.values())

    @property
    def n_links(self) -> int:
        return sum(len(links) for links in self.links.values())


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else f"{text[:150]}…({len(text):,} chars)"


def _value_differs(expected: object, actual: object) -> bool:
    if expected is ANY:
        return False
    if expected is SOME:
        return actual is None
    return expected != actual


def mismatches(case: Case, stored: Stored) -> list[str]:
    """What differs between the case's expectation and what was stored (empty: none)."""
    rows = stored.pages.get(case.url, [])
    expect = case.expect
    if not expect.row:
        return [f"expected no pages row, found {len(rows)}"] if rows else []
    if len(rows) != 1:
        return [f"expected exactly one pages row, found {len(rows)}"]
    row = rows[0]
    out = []
    for column in ("status", "content_type", "title", "redirect_to", "n_skipped_links"):
        expected, actual = getattr(expect, column), row[column]
        if _value_differs(expected, actual):
            out.append(f"{column}: expected {_shown(expected)}, got {_shown(actual)}")
    error = row["error"]
    if expect.error is None and error is not None:
        out.append(f"error: expected none, got {_shown(error)}")
    elif expect.error is SOME and error is None:
        out.append("error: expected one, got none")
    elif isinstance(expect.error, str) and not (error or "").startswith(expect.error):
        out.append(f"error: expected kind {expect.error!r}, got {_shown(error)}")
    links = sorted(stored.links.get(case.url, []))
    if expect.links is not None:
        wanted = sorted(expect.links)
        if links != wanted:
            missing = _multiset_minus(wanted, links)
            extra = _multiset_minus(links, wanted)
            out.append(f"links: {len(wanted):,} expected, {len(links):,} stored; missing "
                       f"{_shown(missing[:5])}, unexpected {_shown(extra[:5])}")
    else:
        missing = _multiset_minus(sorted(expect.links_at_least), links)
        if missing:
            out.append(f"links: missing {_shown(missing[:5])}")
    if row["n_links"] is not None and row["n_links"] != len(links):
        out.append(f"n_links {row['n_links']} but {len(links)} edges stored")
    return out


def _multiset_minus(a: list[tuple[str, str]], b: list[tuple[str, str]]) -> list[tuple[str, str]]:
    left: dict[tuple[str, str], int] = defaultdict(int)
    for item in b:
        left[item] += 1
    out = []
    for item in a:
        if left[item]:
            left[item] -= 1
        else:
            out.append(item)
    return out
