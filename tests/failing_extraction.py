"""A failure to provoke on purpose: page extraction that raises for chosen URLs.

For import tests (issue 13, item 1: a failure on one record never loses it). In this
process, `patch(monkeypatch)`; in `import-warc --jobs N`'s spawned workers, which
import the product's modules afresh, `init_worker` replaces the importer's worker
initializer (it is pickled by name, so the workers import it from here, tests/ being
on their sys.path as on the parent's).
"""

from __future__ import annotations

from typing import Any

from index.archives import importer, records

MARKER = "/fail"  # extraction raises for every URL containing this
ERROR = KeyError("href")  # what the extractor raised on <svg><a xlink:href=…>
_original = records.page_rows


def page_rows(crawl_id: str, url: str, **kwargs: Any) -> Any:
    if MARKER in url:
        raise ERROR
    return _original(crawl_id, url, **kwargs)


def init_worker(*args: Any) -> None:
    records.page_rows = page_rows
    importer._init_worker(*args)


def patch(monkeypatch: Any) -> None:
    """Make extraction fail here and in import workers started from here."""
    monkeypatch.setattr(records, "page_rows", page_rows)
    monkeypatch.setattr(importer, "_init_worker", init_worker)
