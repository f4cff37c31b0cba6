"""Domain rank and domain trust at scale: time and memory of index.ranks on a synthetic
domain graph, against a float PageRank in the same DuckDB, in the same run.

    python -m bench.ranks                      # 10M and 40M arcs
    python -m bench.ranks --arcs 1000000       # one size
    python -m bench.ranks --smoke              # 20k arcs: checks it runs

The graph: D = arcs / 20 domains; each arc's source is uniform, its target Zipf-like
(a few domains get most links), duplicates removed, as in a crawl's domain pairs. Each
computation runs in its own process (so its peak RSS is its own), on a DuckDB database
file holding the graph, with DuckDB's defaults (every core, 80% of RAM).

- rank: index.ranks.compute_domain_ranks (fixed-point integers, exact sums);
- trust: index.ranks.compute_domain_trust from 100 seeds;
- baseline: the same power iteration in DOUBLE arithmetic (what exactness costs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.common import header, table, write_json

REPO = Path(__file__).resolve().parents[1]
DOMAINS_PER_ARC = 1 / 20
SEEDS = 100

GRAPH_SQL = """
CREATE TABLE pair AS
SELECT DISTINCT 'd' || (hash(i) % $domains) || '.example' AS src_domain,
       'd' || floor($domains * pow(random(), 3))::BIGINT || '.example' AS dst_domain
FROM range($draws) AS t(i);
DELETE FROM pair WHERE src_domain = dst_domain;
CREATE TABLE node AS SELECT src_domain AS domain FROM pair UNION SELECT dst_domain FROM pair;
CREATE TABLE seed AS SELECT domain FROM node ORDER BY hash(domain) LIMIT {seeds};
"""

# The float baseline: the same iteration as index.ranks, in DOUBLE.
FLOAT_SQL = """
CREATE TEMP TABLE f_node AS SELECT row_number() OVER (ORDER BY domain) - 1 AS id, domain
FROM node;
CREATE TEMP TABLE f_arc AS
WITH a AS (SELECT s.id AS src, d.id AS dst FROM pair JOIN f_node s ON s.domain = src_domain
           JOIN f_node d ON d.domain = dst_domain)
SELECT a.*, count(*) OVER (PARTITION BY src) AS out_degree FROM a;
CREATE TEMP TABLE f_value AS SELECT id, 1.0 / (SELECT count(*) FROM f_node) AS r FROM f_node;
"""
FLOAT_STEP = """
CREATE OR REPLACE TEMP TABLE f_next AS
WITH inflow AS (SELECT a.dst AS id, sum(v.r / a.out_degree) AS r FROM f_arc a
                JOIN f_value v ON v.id = a.src GROUP BY a.dst),
damped AS (SELECT n.id, 0.85 * coalesce(i.r, 0) AS r FROM f_node n
           LEFT JOIN inflow i ON i.id = n.id)
SELECT id, r + (1 - sum(r) OVER ()) / (SELECT count(*) FROM f_node) AS r FROM damped
"""

RUNNER = """
import json, resource, sys, time
import duckdb
sys.path.insert(0, sys.argv[3])
from bench.ranks import run_float
from index.ranks import compute_domain_ranks, compute_domain_trust
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET temp_directory = '" + sys.argv[4] + "'")
t = time.perf_counter()
what = sys.argv[2]
if what == "rank":
    run = compute_domain_ranks(con, domains="node", links="pair")
    iterations = run.iterations
elif what == "trust":
    run = compute_domain_trust(con, domains="node", links="pair", seeds="seed")
    iterations = run.iterations
else:
    iterations = run_float(con)
seconds = time.perf_counter() - t
rss = 1024 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps([seconds, iterations, rss]))
"""


def run_float(con: duckdb.DuckDBPyConnection) -> int:
    """The float power iteration; the iterations it ran (same stop rule)."""
    for statement in FLOAT_SQL.split(";"):
        if statement.strip():
            con.execute(statement)
    for iterations in range(1, 51):  # noqa: B007 - returned
        con.execute(FLOAT_STEP)
        (change,) = con.execute("SELECT sum(abs(a.r - b.r)) FROM f_value a "
                                "JOIN f_next b USING (id)").fetchone()
        con.execute("DROP TABLE f_value")
        con.execute("ALTER TABLE f_next RENAME TO f_value")
        if change < 1e-9:
            break
    return iterations


def make_graph(path: Path, arcs: int) -> dict[str, int]:
    domains = max(int(arcs * DOMAINS_PER_ARC), 10)
    con = duckdb.connect(str(path))
    try:
        con.execute("SELECT setseed(0.42)")
        for statement in GRAPH_SQL.format(seeds=SEEDS).split(";"):
            if statement.strip():
                params = {k: v for k, v in {"domains": domains,
                                             "draws": int(arcs * 1.1)}.items()
                          if f"${k}" in statement}
                con.execute(statement, params)
        (pairs,) = con.execute("SELECT count(*) FROM pair").fetchone()
        (nodes,) = con.execute("SELECT count(*) FROM node").fetchone()
    finally:
        con.close()
    return {"arcs": pairs, "domains": nodes}


def measure(db: Path, what: str, spill: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", RUNNER, str(db), what, str(REPO), str(spill)],
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    seconds, iterations, rss = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "iterations": iterations, "peak_rss": rss}


def run(root: Path, sizes: list[int]) -> dict[str, Any]:
    results: dict[str, Any] = {"sizes": []}
    for arcs in sizes:
        db = root / f"graph-{arcs}.duckdb"
        started = time.perf_counter()
        graph = make_graph(db, arcs)
        entry = {**graph, "generate_seconds": time.perf_counter() - started}
        for what in ("baseline", "rank", "trust"):
            entry[what] = measure(db, what, root / "spill")
        results["sizes"].append(entry)
        db.unlink()
    return results


def report(results: dict[str, Any]) -> str:
    rows = []
    for s in results["sizes"]:
        base = s["baseline"]["seconds"]
        for what in ("baseline", "rank", "trust"):
            m = s[what]
            rows.append([f"{s['arcs']:,}", f"{s['domains']:,}", what,
                         f"{m['seconds']:.1f}", m["iterations"],
                         f"{m['seconds'] / max(m['iterations'], 1):.2f}",
                         f"{m['seconds'] / base:.2f}x", f"{m['peak_rss'] / 2**30:.2f}"])
    return table(["arcs", "domains", "computation", "seconds", "iterations",
                  "s per iteration", "vs float baseline", "peak RSS GiB"], rows,
                 title="domain rank and trust (index.ranks) against a float PageRank")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.ranks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arcs", type=int, action="append",
                        help="graph size in domain arcs, repeatable (default 10M and 40M)")
    parser.add_argument("--smoke", action="store_true", help="20k arcs: checks it runs")
    parser.add_argument("--data", type=Path, help="work folder (default: a temp one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    sizes = [20_000] if args.smoke else (args.arcs or [10_000_000, 40_000_000])
    root = Path(tempfile.mkdtemp(prefix="bench-ranks-", dir=args.data))
    try:
        results = run(root, sizes)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(header("bench.ranks"))
    print(report(results))
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
