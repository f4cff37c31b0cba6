"""Bytes per edge of the index's edge files against smaller layouts of the same rows.

    python -m bench.index --data DIR            # build an index to measure (10M edges)
    python -m bench.layouts --data DIR          # then rewrite its edges in each layout
    python -m bench.layouts --smoke             # a tiny index: checks it runs

The index stores each edge with its source URL, host and domain and two millisecond
timestamps, so an edge file answers a query (or a Spark/Trino job) on its own. The
other layouts replace source columns by the source page's row number in pages.parquet
(every source is a crawled page), and timestamps by whole seconds. Each layout is
written like the index (per bucket, sorted on the index's edge order, zstd, the same
row group size), so the difference is the layout alone.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from bench.common import header, table, target_line, write_json
from core import layout
from index.compact import EDGE_ORDER, ROW_GROUP_SIZE

TIMES = ("first_seen", "last_seen")
PAGE_ID = "p.page_id"
SECONDS = "epoch(e.first_seen)::INTEGER AS first_seen_s, epoch(e.last_seen)::INTEGER AS last_seen_s"
# name: (edge columns left out, columns added)
LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "the index's own columns, rewritten": ((), ()),  # the control for the method
    "src_url → page id": (("src_url",), (PAGE_ID,)),
    "src_url, src_host → page id": (("src_url", "src_host"), (PAGE_ID,)),
    "src_url, src_host, src_domain → page id": (
        ("src_url", "src_host", "src_domain"), (PAGE_ID,)),
    "all source columns → page id, times in seconds": (
        ("src_url", "src_host", "src_domain", "first_seen", "last_seen"), (PAGE_ID, SECONDS)),
    "all source columns and both times → page id": (
        ("src_url", "src_host", "src_domain", "first_seen", "last_seen"), (PAGE_ID,)),
}


def _column(name: str) -> str:
    # Read back, the index's millisecond timestamps are microsecond TIMESTAMPTZ; written
    # as such they would take more bytes than in the index. As epoch ms they are the
    # same 64-bit values the index stores.
    return f"epoch_ms(e.{name}) AS {name}" if name in TIMES else f"e.{name}"


def measure(data: Path, out: Path) -> dict[str, Any]:
    generation = layout.current_generation(data)
    if generation is None:
        raise SystemExit(f"no index in {data}: run python -m bench.index --data {data} first")
    gen = layout.generation_dir(data, generation)
    buckets = sorted((gen / "edges").iterdir())
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TEMP TABLE pages AS SELECT row_number() OVER (ORDER BY domain, url) - 1 "
            "AS page_id, url FROM read_parquet($path)", {"path": str(gen / "pages.parquet")})
        files = [str(b / "data_0.parquet") for b in buckets]
        edges = con.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}).fetchone()[0]
        columns = [r[0] for r in con.execute(
            "DESCRIBE SELECT * FROM read_parquet($f)", {"f": files[:1]}).fetchall()]
        lookup_bytes = sum(f.stat().st_size for f in gen.glob("*.parquet"))
        sizes = {}
        for name, (dropped, added) in LAYOUTS.items():
            select = ", ".join([*(_column(c) for c in columns if c not in dropped), *added])
            total = 0
            for n, file in enumerate(files):
                path = out / f"layout-{n}.parquet"
                con.execute(
                    f"COPY (SELECT {select} FROM read_parquet($file) AS e "
                    "LEFT JOIN pages AS p ON p.url = e.src_url "
                    f"ORDER BY {', '.join(f'e.{c}' for c in EDGE_ORDER)}) "
                    f"TO $path (FORMAT parquet, COMPRESSION zstd, "
                    f"ROW_GROUP_SIZE {ROW_GROUP_SIZE})", {"file": file, "path": str(path)})
                total += path.stat().st_size
                path.unlink()
            sizes[name] = round((total + lookup_bytes) / edges, 2) if edges else 0.0
        built = sum(Path(f).stat().st_size for f in files) + lookup_bytes
    finally:
        con.close()
    as_built = round(built / edges, 2) if edges else 0.0
    return {"edges": edges, "buckets": len(files), "as_built": as_built, "bytes_per_edge": sizes}


def report(results: dict[str, Any]) -> str:
    rows = [["index files, as built", results["as_built"]]]
    rows += [[name, value] for name, value in results["bytes_per_edge"].items()]
    return "\n".join([
        header("layouts"),
        f"{results['edges']:,} index edges in {results['buckets']} buckets; bytes per edge "
        "of the edge files plus pages, hosts and domains\n",
        table(["edge layout", "bytes/edge"], rows),
        "",
        target_line("index bytes/edge (as built)", results["as_built"], 16,
                    higher_is_better=False),
    ])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.layouts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="DATA folder holding a built index")
    parser.add_argument("--smoke", action="store_true", help="build a tiny index first")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-layouts-") as tmp:
        data = args.data
        if args.smoke:
            from bench.edgegen import generate
            from index.build import build_index

            data = Path(tmp) / "data"
            generate(data, 5_000)
            build_index(data)
        if data is None:
            parser.error("--data DIR (a DATA folder with a built index) or --smoke")
        results = measure(data, Path(tmp))
    print(report(results))
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
