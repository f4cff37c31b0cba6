"""Where the live index generation's files are, for engines that read Parquet themselves
(Spark, Trino, polars, DuckDB without our session): ``linkindex paths``.

DATA/index/ holds several generations at once (the live one and those kept by
``build --keep``), so a reader that globs DATA/index/** counts every row once per
generation. ``live_paths`` resolves DATA/index/CURRENT once and names the files of that
one generation, the edges as a hive-partitioned folder (``edges/bucket=<n>/``) and file
by file, with the bucket formula a reader needs to read one bucket for one target.
docs/engines.md shows each engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import layout
from core.storage import Storage
from queries.live import TABLES, resolve

__all__ = ["bucket_sql", "live_paths", "paths_text"]

BUCKET_FORMULA = "first 32 bits of md5(dst_domain) as an unsigned integer, modulo buckets"


def bucket_sql(buckets: int, domain: str = "dst_domain") -> dict[str, str]:
    """The bucket of `domain` (a column name, or a quoted literal) in each dialect:
    the first 8 hex digits of its MD5 read as an unsigned integer, modulo `buckets`."""
    return {
        "python": f"int(hashlib.md5({domain}.encode()).hexdigest()[:8], 16) % {buckets}",
        "spark_sql": f"pmod(cast(conv(substr(md5({domain}), 1, 8), 16, 10) AS BIGINT), "
                     f"{buckets})",
        "duckdb_sql": f"('0x' || substr(md5({domain}), 1, 8))::UBIGINT % {buckets}",
        "trino_sql": f"from_base(substr(to_hex(md5(to_utf8({domain}))), 1, 8), 16) % {buckets}",
    }


def live_paths(data: Path | Storage) -> dict[str, Any]:
    """The live generation of `data`: its name, bucket count, bucket formula and the
    absolute location of each table (edges: the hive-partitioned folder and the files,
    by bucket number); URLs on an object store. One clear LinkindexError when there is
    no index."""
    live = resolve(data, check_format=False)
    buckets = live.buckets
    paths: dict[str, Any] = {
        "data": live.label,
        "generation": live.generation,
        "index_format": layout.index_format(live.manifest),
        "buckets": buckets,
        "bucket_formula": BUCKET_FORMULA.replace("buckets", str(buckets)),
        **{f"bucket_{dialect}": text for dialect, text in bucket_sql(buckets).items()},
        "edges": live.location("edges") + "/",
        "edges_files": live.edge_files,
    }
    for table in TABLES:
        paths[table] = live.location(f"{table}.parquet")
    paths["manifest"] = live.location(layout.MANIFEST)
    return paths


def paths_text(paths: dict[str, Any]) -> str:
    """One `name<TAB>value` line per entry, each edges file on its own `edges_file` line."""
    lines = []
    for name, value in paths.items():
        if isinstance(value, list):
            lines += [f"{name.removesuffix('s')}\t{item}" for item in value]
        else:
            lines.append(f"{name}\t{value}")
    return "\n".join(lines)
