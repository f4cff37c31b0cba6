"""Seed URLs from arguments and files, validated before a crawl starts."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from core.errors import LinkindexError
from core.urls import normalize_url


def read_seeds_file(path: str | Path) -> list[str]:
    """One URL per line; blank lines and '#' comments are ignored."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LinkindexError(f"cannot read seeds file {path}: {exc.strerror}") from None
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def parse_seeds(values: Iterable[str]) -> list[str]:
    """Normalised, de-duplicated seed URLs in input order; a bare host gets http://."""
    seeds: list[str] = []
    for value in values:
        raw = value.strip()
        if not raw:
            continue
        candidate = raw if "://" in raw else f"http://{raw}"
        url = normalize_url(candidate)
        if url is None:
            raise LinkindexError(
                f"bad seed URL {raw!r}: expected an http(s) URL such as https://example.com/"
            )
        if url not in seeds:
            seeds.append(url)
    return seeds
