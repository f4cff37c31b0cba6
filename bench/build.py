"""Index build speed: the map/reduce build against the one-process build before it, in
the same run, on the same raw parts; and an incremental build after a 1% recrawl.

    python -m bench.build                   # 10M raw edges (bench.edgegen), temp folder
    python -m bench.build --rows 100000000  # 100M
    python -m bench.build --smoke           # 20k edges: checks it runs

Measures, wall time and raw edges per second:
- baseline: `index.build.build_index` of commit BASELINE (the one-process build), run
  from a `git worktree` of that commit in its own process;
- full: this tree's build, with --jobs 1 and with --jobs 2;
- incremental: after the full build, a recrawl of 1% of the pages (the same pages and
  links, a month later, as a new crawl) built incrementally; its time against the full
  build's, and how many buckets it rewrote;
- peak disk of DATA during each build (sampled every 0.2 s), against the index's size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import duckdb

from bench.common import header, table, target_line, write_json
from bench.edgegen import CRAWL_ID, generate
from core import layout

BASELINE = "c81f2fd"  # the last one-process build (before issue 14)
REPO = Path(__file__).resolve().parents[1]


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


class PeakDisk:
    """The largest size of a folder while the block runs, sampled."""

    def __init__(self, path: Path, every: float = 0.2) -> None:
        self.path, self.every, self.peak = path, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, dir_bytes(self.path))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakDisk:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, dir_bytes(self.path))


def raw_copy(source: Path, target: Path) -> Path:
    """DATA with the same raw parts (hard links: same bytes, same modification times)."""
    shutil.copytree(source / "raw", target / "raw", copy_function=os.link)
    return target


def recrawl(data: Path, share: float) -> int:
    """A new crawl of the first `share` of the pages, a month later, as parts of its own
    (the same links: the usual recrawl). Returns its raw edges."""
    parts = layout.raw_parts(data, "pages")
    n = max(1, round(len(parts) * share))
    con = duckdb.connect()
    edges = 0
    try:
        con.execute("SET TimeZone = 'UTC'")
        for table in ("pages", "edges"):
            out = layout.raw_dir(data, "recrawl", table)
            out.mkdir(parents=True, exist_ok=True)
            for path in layout.raw_parts(data, table)[:n]:
                con.execute(
                    f"COPY (SELECT * REPLACE ('recrawl' AS crawl_id, "
                    f"fetched_at + INTERVAL 30 DAY AS fetched_at) FROM read_parquet($src)) "
                    f"TO $dst (FORMAT parquet, COMPRESSION zstd, "
                    "KV_METADATA {'linkindex.schema_version': '1', "
                    f"'linkindex.kind': '{table}'}})",
                    {"src": str(path), "dst": str(out / path.name)})
                if table == "edges":
                    edges += con.execute("SELECT count(*) FROM read_parquet($p)",
                                         {"p": str(out / path.name)}).fetchone()[0]
    finally:
        con.close()
    return edges


# Peak resident memory of the largest process of a build (itself or a pool worker), bytes
# (Linux reports KiB). Python code for the build scripts below.
PEAK_RSS = ("1024 * max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def baseline_build(data: Path, worktree: Path) -> tuple[float, int]:
    """Seconds of the one-process build of commit BASELINE, in its own process."""
    script = ("import sys, time, json, resource; from pathlib import Path; "
              "from index.build import build_index; "
              "t = time.perf_counter(); build_index(Path(sys.argv[1])); "
              f"print(json.dumps([time.perf_counter() - t, {PEAK_RSS}]))")
    env = {**os.environ, "PYTHONPATH": str(worktree)}
    out = subprocess.run([sys.executable, "-c", script, str(data)], env=env, check=True,
                         capture_output=True, text=True, cwd=worktree)
    seconds, rss = json.loads(out.stdout.strip().splitlines()[-1])
    return seconds, rss


def this_build(data: Path, jobs: int) -> tuple[float, dict[str, Any]]:
    script = ("import sys, time, json, resource; from pathlib import Path; "
              "from index.build import build_index; t = time.perf_counter(); "
              "r = build_index(Path(sys.argv[1]), jobs=int(sys.argv[2])); "
              f"print(json.dumps([time.perf_counter() - t, r.manifest, {PEAK_RSS}]))")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", script, str(data), str(jobs)], env=env,
                         check=True, capture_output=True, text=True)
    seconds, manifest, rss = json.loads(out.stdout.strip().splitlines()[-1])
    manifest["peak_rss"] = rss
    return seconds, manifest


def run(root: Path, rows: int, jobs_list: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    source = root / "source"
    generate(source, rows)
    [(raw,)] = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{source}/raw/{CRAWL_ID}/edges/*.parquet')"
    ).fetchall()
    worktree = root / "baseline-tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(worktree),
                    BASELINE], check=True, capture_output=True)
    results: dict[str, Any] = {"raw_edges": raw, "baseline_commit": BASELINE, "builds": {}}
    try:
        data = raw_copy(source, root / "baseline")
        with PeakDisk(data) as disk:
            seconds, rss = baseline_build(data, worktree)
        results["builds"]["baseline (one process)"] = {
            "seconds": seconds, "peak_disk": disk.peak - dir_bytes(data / "raw"),
            "peak_rss": rss,
            "index_bytes": dir_bytes(layout.index_root(data))}
        shutil.rmtree(data)
        for jobs in jobs_list:
            data = raw_copy(source, root / f"jobs{jobs}")
            with PeakDisk(data) as disk:
                seconds, manifest = this_build(data, jobs)
            results["builds"][f"map/reduce --jobs {jobs}"] = {
                "seconds": seconds, "peak_disk": disk.peak - dir_bytes(data / "raw"),
                "index_bytes": dir_bytes(layout.index_root(data)), "jobs": jobs,
                "peak_rss": manifest["peak_rss"], "edges": manifest["counts"]["edges"],
                "buckets": manifest["buckets"], "steps": manifest["build"]["seconds"]}
            if jobs == jobs_list[-1]:
                added = recrawl(data, 0.01)
                with PeakDisk(data) as disk:
                    seconds, manifest = this_build(data, jobs)
                results["incremental"] = {
                    "added_raw_edges": added, "seconds": seconds,
                    "buckets_rewritten": manifest["build"]["buckets_rewritten"],
                    "buckets": manifest["buckets"], "steps": manifest["build"]["seconds"],
                    "previous": manifest["build"]["previous"], "jobs": jobs,
                    "peak_rss": manifest["peak_rss"]}
            shutil.rmtree(data)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                        str(worktree)], check=False, capture_output=True)
    return results


def report(results: dict[str, Any]) -> str:
    raw = results["raw_edges"]
    builds = results["builds"]
    base = builds["baseline (one process)"]["seconds"]
    rows = [[name, f"{b['seconds']:.1f}", f"{raw / b['seconds']:,.0f}",
             f"{base / b['seconds']:.2f}x",
             f"{b['peak_disk'] / max(b['index_bytes'], 1):.2f}x",
             f"{b.get('peak_rss', 0) / 2**30:.1f}"]
            for name, b in builds.items()]
    out = [table(["build", "seconds", "raw edges/s", "speed vs baseline",
                  "peak disk / index", "peak RSS GiB (largest process)"], rows,
                 title=f"full builds, {raw:,} raw edges")]
    per_bucket = [[name, f"{b['buckets']}", f"{b['edges'] / b['buckets'] / 1e6:.2f}M",
                   *(f"{b['steps'].get(step, 0) * min(b['jobs'], b['buckets']) / b['buckets']:.1f}"
                     for step in ("reduce", "write"))]
                  for name, b in builds.items() if "steps" in b]
    if per_bucket:
        out.append(table(["build", "buckets", "edges per bucket", "reduce s per bucket",
                          "write s per bucket"], per_bucket,
                         title="per bucket (step seconds x tasks at once / buckets)"))
    steps = [(name, b["steps"]) for name, b in builds.items() if "steps" in b]
    if results.get("incremental"):
        steps.append(("incremental", results["incremental"]["steps"]))
    names = ("plan", "map", "reduce", "ranks", "write")
    out.append(table(["build", *names], [[n, *(f"{s.get(k, 0):.1f}" for k in names)]
                                         for n, s in steps],
                     title="seconds per step (commit: the rest)"))
    last = [b for b in builds if b.startswith("map/reduce")][-1]
    full = builds[last]["seconds"]
    inc = results.get("incremental")
    if inc:
        out.append(table(["added raw edges", "seconds", "of the full build",
                          "buckets rewritten"],
                         [[f"{inc['added_raw_edges']:,}", f"{inc['seconds']:.1f}",
                           f"{inc['seconds'] / full:.1%}",
                           f"{inc['buckets_rewritten']} of {inc['buckets']}"]],
                         title=f"incremental build after a 1% recrawl ({last[11:]})"))
        out.append(target_line("incremental / full", inc["seconds"] / full, 0.10,
                               higher_is_better=False))
    out.append(target_line(f"full {last[11:]} vs baseline", base / full, 2.0))
    return "\n\n".join(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="raw edges to generate")
    parser.add_argument("--smoke", action="store_true", help="20k edges: checks it runs")
    parser.add_argument("--data", type=Path, help="work folder (default: a temp one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--jobs", type=int, action="append",
                        help="--jobs of the map/reduce builds, repeatable (default 1 and 2); "
                             "the incremental build follows the last")
    args = parser.parse_args(argv)
    rows = 20_000 if args.smoke else args.rows
    root = Path(tempfile.mkdtemp(prefix="bench-build-", dir=args.data))
    try:
        results = run(root, rows, tuple(args.jobs or (1, 2)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(header("bench.build"))
    print(report(results))
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
