"""Index build and query speed at scale, against the same queries on an unsorted copy.

    python -m bench.index                       # 10M edges (bench.edgegen), temp folder
    python -m bench.index --full                # 100M edges
    python -m bench.index --data DIR --reuse    # keep / reuse the generated raw parts
    python -m bench.index --smoke               # 5k edges: checks it runs
    python -m bench.index --data DIR --requery OLD.json   # time the queries again on
                                                # DIR's index (no build); the rest from OLD
    python -m bench.index --full --against D10  # 100M/10M latency ratios, both indexes
                                                # timed call by call in this run

Measures, through the public API (`index.build.build_index`, `queries.run_query`):
- build throughput: raw edges per second of wall time, and index bytes per edge;
- p50/p95 latency of overview, referring_domains, anchors and backlinks (first 100
  rows) for a hot, a median and a rare target domain (by backlinks), and of link_gap
  for a median domain against 5 well-linked competitors;
- the same queries on the naive baseline: the same index rows in one unsorted file
  (no bucket, no sort), so no file or row group can be skipped;
- with --against, the latency ratios to a smaller index (its own hot, median and rare
  targets), the two indexes' calls alternating so that a busy moment of the machine
  hits both alike (a ratio between runs made minutes apart moved by up to 45%).
Each query runs through `run_query`, as `linkindex query` does; the OS cache is warm.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.common import (
    cpu_seconds,
    header,
    median,
    percentile,
    table,
    target_line,
    write_json,
)
from bench.edgegen import generate
from core import layout
from index.build import build_index
from queries import run_query, run_sql

QUERIES = ("overview", "referring_domains", "anchors", "backlinks")
CLASSES = ("hot", "median", "rare")
COMPETITORS = 5


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def unsorted_copy(data: Path, naive: Path) -> None:
    """The live generation with its edges in one file in random order (manifest: 1 bucket)."""
    generation = layout.current_generation(data)
    assert generation is not None
    src = layout.generation_dir(data, generation)
    dst = layout.generation_dir(naive, generation)
    shutil.rmtree(naive, ignore_errors=True)
    (dst / "edges" / "bucket=0").mkdir(parents=True)
    for name in ("pages.parquet", "domains.parquet", "hosts.parquet"):
        shutil.copy(src / name, dst / name)
    manifest = json.loads((src / layout.MANIFEST).read_text())
    manifest["buckets"] = 1
    (dst / layout.MANIFEST).write_text(json.dumps(manifest))
    # Spills (100M edges) go beside the copy, not into the working directory's .tmp.
    con = duckdb.connect(config={"temp_directory": str(naive / ".duckdb-tmp")})
    try:
        con.execute(
            f"COPY (SELECT * EXCLUDE (bucket) FROM read_parquet('{src}/edges/*/*.parquet', "
            "hive_partitioning = true) ORDER BY hash(src_url, dst_url, anchor)) "
            f"TO '{dst}/edges/bucket=0/data_0.parquet' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)"
        )
    finally:
        con.close()
        shutil.rmtree(naive / ".duckdb-tmp", ignore_errors=True)
    layout.switch_current(naive, generation)


def pick_targets(data: Path) -> dict[str, Any]:
    """Hot (most backlinks), median and rare (fewest, >= 1) target domains, plus the
    link_gap set: a median domain against 5 domains around the 99th percentile."""
    rows = run_sql(data, "SELECT domain, backlinks FROM domains WHERE backlinks > 0 "
                         "ORDER BY backlinks, domain").to_pylist()
    n = len(rows)
    top = [row["domain"] for row in rows[max(0, int(n * 0.99) - COMPETITORS):][:COMPETITORS]]
    return {
        "targets": {"hot": rows[-1]["domain"], "median": rows[n // 2]["domain"],
                    "rare": rows[0]["domain"]},
        "backlinks": {"hot": rows[-1]["backlinks"], "median": rows[n // 2]["backlinks"],
                      "rare": rows[0]["backlinks"]},
        "gap_me": rows[n // 2 + 1]["domain"],
        "gap_competitors": top,
    }


def time_query(calls: list[tuple[Path, list[str]]], name: str,
               repeat: int) -> list[list[float]]:
    """Seconds per call of query `name` on each (index, args), the indexes taking turns
    call by call."""
    limit = 100 if name == "backlinks" else None
    for data, args in calls:
        run_query(data, name, args, limit=limit)  # warm-up: file metadata into the OS cache
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for (data, args), timed in zip(calls, times, strict=True):
            start = time.perf_counter()
            run_query(data, name, args, limit=limit)
            timed.append(time.perf_counter() - start)
    return times


def latencies(indexes: list[tuple[Path, dict[str, Any]]],
              repeat: int) -> list[dict[str, dict[str, float]]]:
    """Per index (folder, its picked targets): {"overview/hot": {"p50": ms, "p95": ms},
    ..., "link_gap": {...}}. With several indexes, their calls alternate."""
    out: list[dict[str, dict[str, float]]] = [{} for _ in indexes]
    for cls in CLASSES:
        for name in QUERIES:
            calls = [(data, [picked["targets"][cls]]) for data, picked in indexes]
            for result, times in zip(out, time_query(calls, name, repeat), strict=True):
                result[f"{name}/{cls}"] = _ms(times)
    calls = [(data, [picked["gap_me"], *picked["gap_competitors"]]) for data, picked in indexes]
    for result, times in zip(out, time_query(calls, "link_gap", repeat), strict=True):
        result["link_gap"] = _ms(times)
    return out


def sorted_latencies(data: Path, picked: dict[str, Any], against: Path | None,
                     repeat: int) -> dict[str, Any]:
    """{"sorted": latencies of `data`} and, with `against` (a smaller index), "against":
    its edge count, targets and latencies, timed call by call with `data`'s."""
    if against is None:
        return {"sorted": latencies([(data, picked)], repeat)[0]}
    other = pick_targets(against)
    mine, theirs = latencies([(data, picked), (against, other)], repeat)
    manifest = layout.read_manifest(against, layout.current_generation(against))
    return {"sorted": mine, "against": {"data": str(against),
                                        "raw_edges": manifest["counts"]["raw_edges"],
                                        "picked": other, "sorted": theirs}}


def _ms(times: list[float]) -> dict[str, float]:
    return {"p50": round(median(times) * 1000, 1), "p95": round(percentile(times, 95) * 1000, 1)}


def requery(data: Path, earlier: dict[str, Any], repeat: int,
            against: Path | None = None) -> dict[str, Any]:
    """The earlier run's results with the sorted index's latencies timed again on the
    index it built (still live in `data`): e.g. on a quieter machine, without a rebuild."""
    picked = pick_targets(data)
    if picked["targets"] != earlier["picked"]["targets"]:
        raise SystemExit(f"the index in {data} is not the one the earlier run measured")
    kept = {key: value for key, value in earlier.items() if key not in ("machine", "against")}
    return {**kept, **sorted_latencies(data, picked, against, repeat), "requeried": True}


def run(data: Path, rows: int, *, reuse: bool, repeat: int, naive_repeat: int,
        threads: int | None, memory_limit: str | None,
        against: Path | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {"rows": rows}
    raw_edges = layout.raw_parts(data, "edges")
    if not (reuse and raw_edges):
        shutil.rmtree(data / "raw", ignore_errors=True)
        start = time.perf_counter()
        results["generated"] = generate(data, rows)
        results["generate_s"] = round(time.perf_counter() - start, 1)
    start, cpu = time.perf_counter(), cpu_seconds()
    built = build_index(data, force=True, keep=1, threads=threads, memory_limit=memory_limit)
    build_s, build_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    counts = built.manifest["counts"]
    gen_dir = layout.generation_dir(data, built.generation)
    edges_bytes = dir_bytes(gen_dir / "edges")
    results.update(
        raw_edges=counts["raw_edges"],
        index_edges=counts["edges"],
        buckets=built.manifest["buckets"],
        build_s=round(build_s, 2),
        build_cpu_s=round(build_cpu, 2),
        build_edges_per_s=round(counts["raw_edges"] / build_s),
        build_edges_per_cpu_s=round(counts["raw_edges"] / build_cpu),
        raw_bytes_per_edge=round(dir_bytes(data / "raw") / counts["raw_edges"], 2),
        edge_files_bytes_per_edge=round(edges_bytes / counts["edges"], 2),
        index_bytes_per_edge=round(dir_bytes(gen_dir) / counts["edges"], 2),
    )
    picked = pick_targets(data)
    results["picked"] = picked
    results.update(sorted_latencies(data, picked, against, repeat))
    naive = data / "naive"
    unsorted_copy(data, naive)
    results["naive"] = latencies([(naive, picked)], naive_repeat)[0]
    shutil.rmtree(naive, ignore_errors=True)
    return results


def report(results: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """The results as text; latency ratios against the --against index timed in this
    run if there is one, else against `baseline` (an earlier run's JSON)."""
    picked = results["picked"]
    against = results.get("against")
    if against is not None:
        baseline = against
    compared = "the index timed alongside" if against is not None else "baseline run"
    lines = [
        header("index"),
        f"{results['raw_edges']:,} raw edges → {results['index_edges']:,} index edges in "
        f"{results['buckets']} buckets; build {results['build_s']} s wall, "
        f"{results['build_cpu_s']} s CPU",
        "",
        table(["measure", "value"], [
            ["build: raw edges/s (wall)", results["build_edges_per_s"]],
            ["build: raw edges per CPU-second", results["build_edges_per_cpu_s"]],
            ["index bytes/edge (whole generation)", results["index_bytes_per_edge"]],
            ["edge files bytes/edge", results["edge_files_bytes_per_edge"]],
            ["raw parts bytes/edge", results["raw_bytes_per_edge"]],
        ]),
        "",
        "targets: " + ", ".join(f"{c} {picked['targets'][c]} ({picked['backlinks'][c]:,} "
                                f"backlinks)" for c in CLASSES),
        f"link_gap: me {picked['gap_me']} vs {', '.join(picked['gap_competitors'])}",
    ]
    if against is not None:
        theirs = against["picked"]
        lines.append(
            f"timed alongside, call by call: {against['data']} ({against['raw_edges']:,} raw "
            "edges): " + ", ".join(f"{c} {theirs['targets'][c]} ({theirs['backlinks'][c]:,})"
                                   for c in CLASSES)
        )
    lines.append("")
    rows = []
    for key, sorted_ms in results["sorted"].items():
        naive_ms = results["naive"][key]
        row = [key, sorted_ms["p50"], sorted_ms["p95"], naive_ms["p50"], naive_ms["p95"],
               naive_ms["p50"] / sorted_ms["p50"] if sorted_ms["p50"] else float("nan")]
        if baseline is not None:
            ref = baseline["sorted"].get(key, {}).get("p50")
            row.append(sorted_ms["p50"] / ref if ref else float("nan"))
        rows.append(row)
    headers = ["query/target", "p50 ms", "p95 ms", "naive p50", "naive p95", "speed-up"]
    if baseline is not None:
        headers.append(f"p50 ÷ {baseline['raw_edges'] / 1_000_000:,.3g}M p50")
    lines += [table(headers, rows), ""]
    lines.append(target_line("build raw edges/s", results["build_edges_per_s"], 2_000_000))
    lines.append(target_line("index bytes/edge", results["index_bytes_per_edge"], 16,
                             higher_is_better=False))
    worst_median = max(results["sorted"][f"{q}/median"]["p50"] for q in QUERIES)
    lines.append(target_line("median target p50 ms (worst query)", worst_median, 50,
                             higher_is_better=False))
    lines.append(target_line("link_gap p50 ms", results["sorted"]["link_gap"]["p50"], 300,
                             higher_is_better=False))
    if baseline is not None:
        worst = max(results["sorted"][f"{q}/median"]["p50"]
                    / baseline["sorted"][f"{q}/median"]["p50"] for q in QUERIES)
        lines.append(target_line(f"median target latency ratio vs {compared} (worst)",
                                 worst, 1.5, higher_is_better=False))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="edges to generate")
    parser.add_argument("--full", action="store_true", help="100M edges")
    parser.add_argument("--smoke", action="store_true", help="5k edges, few repetitions")
    parser.add_argument("--data", type=Path, help="folder for the data (default: a temp one)")
    parser.add_argument("--reuse", action="store_true", help="reuse raw parts in --data")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per query")
    parser.add_argument("--naive-repeat", type=int, default=5)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--memory-limit")
    parser.add_argument("--baseline", type=Path,
                        help="JSON of an earlier (smaller) run: prints latency ratios "
                             "(--against, timed in this run, takes precedence)")
    parser.add_argument("--against", type=Path,
                        help="folder of a smaller run's index (its --data): latency ratios "
                             "from both indexes timed call by call in this run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--requery", type=Path,
                        help="JSON of the run that built --data's index: time its queries again")
    args = parser.parse_args(argv)
    if args.full:
        args.rows = 100_000_000
    if args.smoke:
        args.rows, args.repeat, args.naive_repeat = 5_000, 2, 1
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None
    if args.against is not None and layout.current_generation(args.against) is None:
        parser.error(f"--against {args.against}: no index there (give a run's --data)")
    if args.requery:
        if args.data is None:
            parser.error("--requery needs --data, the folder of the index it measured")
        results = requery(args.data, json.loads(args.requery.read_text()), args.repeat,
                          args.against)
        print(report(results, baseline), flush=True)
        write_json(args.json, results)
        return results
    tmp = None if args.data else Path(tempfile.mkdtemp(prefix="bench-index-"))
    data = args.data or tmp
    assert data is not None
    data.mkdir(parents=True, exist_ok=True)
    try:
        results = run(data, args.rows, reuse=args.reuse, repeat=args.repeat,
                      naive_repeat=args.naive_repeat, threads=args.threads,
                      memory_limit=args.memory_limit, against=args.against)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(report(results, baseline), flush=True)
    write_json(args.json, {"bench": "index", **results})
    return results


if __name__ == "__main__":
    main()
