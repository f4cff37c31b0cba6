"""Where things live under DATA, and how files appear whole or not at all.

    DATA/raw/<crawl_id>/pages/<worker>-<seq>.parquet      append-only, from pipelines
    DATA/raw/<crawl_id>/edges/<worker>-<seq>.parquet
    DATA/warc/<crawl_id>/<worker>-<seq>.warc.gz           a crawl's evidence (--warc), one per part
    DATA/index/<generation>/edges/bucket=<n>/<file>.parquet   n = layout.bucket_of(dst_domain)
    DATA/index/<generation>/pages.parquet
    DATA/index/<generation>/domains.parquet
    DATA/index/<generation>/hosts.parquet
    DATA/index/<generation>/manifest.json
    DATA/index/CURRENT                                     name of the live generation
    DATA/linkindex.sql                                     init file for the stock DuckDB CLI

Every file is written under a temporary name in its own folder, then renamed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import LinkindexError
from core.schema import META_KIND, META_SCHEMA_VERSION, SCHEMA_VERSION

TMP_PREFIX = ".tmp-"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
INIT_SQL = "linkindex.sql"
_GENERATION_RE = re.compile(r"g(\d{6})\Z")


def raw_dir(data: Path, crawl_id: str, table: str) -> Path:
    return data / "raw" / crawl_id / table


def warc_dir(data: Path, crawl_id: str) -> Path:
    return data / "warc" / crawl_id


def raw_parts(data: Path, table: str) -> list[Path]:
    """All whole raw parts of one table across crawls (temporary files excluded), sorted.

    Names starting with "." are never parts: temporary files, and the staging folders
    of `linkindex reextract` (DATA/raw/.tmp-…/), which pathlib's glob would match.
    """
    root = data / "raw"
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.glob(f"*/{table}/*.parquet")
        if not p.name.startswith(".") and not p.parent.parent.name.startswith(".")
    )


CCGRAPH = "ccgraph"  # DATA/ccgraph/<release>/: imported Common Crawl web graphs
CCGRAPH_ACTIVE = "ACTIVE"  # DATA/ccgraph/ACTIVE: the release queries answer from


MONITOR_RUNS = "monitor/runs"  # DATA/monitor/runs/<watch>/<run id>.json: alert documents


def ccgraph_dir(data: Path, release: str | None = None) -> Path:
    return data / CCGRAPH if release is None else data / CCGRAPH / release


def index_root(data: Path) -> Path:
    return data / "index"


def generation_dir(data: Path, generation: str) -> Path:
    return index_root(data) / generation


def generations(data: Path) -> list[str]:
    root = index_root(data)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if _GENERATION_RE.match(p.name))


def next_generation(data: Path) -> str:
    existing = generations(data)
    n = int(existing[-1][1:]) + 1 if existing else 1
    return f"g{n:06d}"


def current_generation(data: Path) -> str | None:
    try:
        name = (index_root(data) / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def index_format(manifest: dict[str, Any]) -> int:
    """The layout version a manifest's generation was written in; manifests from before
    the version was recorded are format 1."""
    return int(manifest.get("index_format", 1))


def manifest_buckets(data: Path | str, generation: str, manifest: dict[str, Any]) -> int:
    """A generation's bucket count; a clear error when its manifest has none."""
    try:
        return int(manifest["buckets"])
    except (KeyError, TypeError, ValueError):
        raise LinkindexError(
            f"index generation {generation} in {data} has no valid \"buckets\" in its manifest"
        ) from None


def read_manifest(data: Path, generation: str | None = None) -> dict[str, Any]:
    """The manifest of a generation (default: the live one); a clear error if none."""
    if not data.is_dir():
        raise LinkindexError(f"data directory {data} does not exist")
    generation = generation or current_generation(data)
    if generation is None:
        raise LinkindexError(f"no index built yet in {data}: run `linkindex build --data {data}`")
    try:
        return json.loads((generation_dir(data, generation) / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError) as exc:
        raise LinkindexError(
            f"index generation {generation} in {data} is unreadable: {exc}"
        ) from None


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it into place on success only."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{TMP_PREFIX}{os.getpid()}-{final.name}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_open(final: Path, mode: str = "w") -> Iterator[IO[Any]]:
    with atomic_path(final) as tmp, open(tmp, mode) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def write_json(final: Path, obj: Any) -> None:
    with atomic_open(final) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")


def parquet_metadata(kind: str) -> dict[bytes, bytes]:
    return {META_SCHEMA_VERSION: str(SCHEMA_VERSION).encode(), META_KIND: kind.encode()}


def write_table(final: Path, table: pa.Table, kind: str, row_group_size: int = 100_000) -> None:
    """Write one Parquet file atomically, tagged with the schema version and its kind.

    Every data page carries a CRC32 (Parquet's page checksum), so the build can tell
    bytes damaged inside a page from the values that were written (index.part_checks).
    """
    metadata = {**(table.schema.metadata or {}), **parquet_metadata(kind)}
    table = table.replace_schema_metadata(metadata)
    with atomic_path(final) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size,
                       write_page_checksum=True)


def switch_current(data: Path, generation: str) -> None:
    """Make `generation` the live one: one atomic rename, done last in a build."""
    with atomic_open(index_root(data) / CURRENT) as fh:
        fh.write(generation + "\n")


def bucket_of(domain: str, buckets: int) -> int:
    """Stable bucket of a target domain: the first 32 bits of its MD5, modulo `buckets`.

    SQL computes the same number twice, in the queries' bucket_of macro
    (queries/_bucket.sql) and in the build (index/compact.py); tests/test_build.py runs
    both against this function. DuckDB's hash() is not promised stable across
    versions, MD5 is.
    """
    return int(hashlib.md5(domain.encode()).hexdigest()[:8], 16) % buckets


def url_id(url: str) -> int:
    """A URL's number in the page graph (page_ranks.parquet, the build's URL pairs): the
    last 64 bits of its MD5, little-endian, as DuckDB's md5_number_lower(url) gives it.
    Eight bytes instead of the URL text, where the graph keeps one per link (tests/
    test_build.py checks that Python and SQL agree)."""
    return int.from_bytes(hashlib.md5(url.encode()).digest()[8:], "little")
