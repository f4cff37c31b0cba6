"""The report and the web UI: what a view costs, against the queries it runs.

    python -m bench.report                  # 1M edges (bench.edgegen), temp folder
    python -m bench.report --edges 10000000 # the size bench.index measures
    python -m bench.report --data DIR       # the index there (generated and built if none)
    python -m bench.report --smoke          # 20k edges: checks it runs

For the hot and the median target (by backlinks), through the public API:
- `report`: `report.html.render_report` (every query of the view, the whole answers,
  the CSVs, Plotly inlined) and the file's size; baseline in the same run: the same
  queries through `run_query` alone, whole answers, no rendering;
- `ui`: `linkindex serve` over real HTTP on loopback: the profile page (`/`), the first
  page of a table (`/api/rows`: runs the query, cold), then turning a page, sorting and
  searching it (answered from the cached answer); baseline: `run_query` of that query
  with `limit=50`, what `linkindex query … --limit 50` runs.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import header, median, table, time_calls, write_json
from bench.edgegen import generate
from index.build import build_index
from queries import run_query, run_sql
from report.html import render_report
from report.profile import ViewRequest

TABLE = "referring_domains"  # the UI's table timed page by page


def pick(data: Path) -> dict[str, str]:
    rows = run_sql(data, "SELECT domain FROM domains WHERE backlinks > 0 "
                         "ORDER BY backlinks, domain").column("domain").to_pylist()
    return {"hot": rows[-1], "median": rows[len(rows) // 2]}


def view_queries(data: Path, target: str) -> None:
    """The view's queries alone, whole answers (the report's baseline)."""
    for name in ("overview", "history", "anchor_mix", "referring_domains", "link_mix",
                 "anchors", "top_pages"):
        run_query(data, name, [target])


def fetch(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url) as answer:
        answer.read()
    return time.perf_counter() - start


def time_ui(url: str, target: str, repeat: int) -> dict[str, float]:
    rows = f"{url}api/rows?query={TABLE}&arg={target}&scope=domain"
    out = {"profile page": fetch(f"{url}?target={target}")}  # runs and caches the view
    # a call the profile page did not make: a new cache entry, so the query runs
    cold = f"{url}api/rows?query={TABLE}&arg={target}&scope=domain&dofollow=yes"
    out["first page (query runs)"] = fetch(cold)
    out["next page (cached)"] = median([fetch(f"{rows}&page=2") for _ in range(repeat)])
    out["sort (cached)"] = median([fetch(f"{rows}&sort=domain_rank&desc=1")
                                   for _ in range(repeat)])
    out["search (cached)"] = median([fetch(f"{rows}&q=d1") for _ in range(repeat)])
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path,
                        help="use the index there; generate and build one there if none")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="20k edges, 2 repetitions")
    parser.add_argument("--json", type=Path, help="save the results here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.edges, args.repeat = 20_000, 2
    print(header("report"))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        data = args.data or Path(tmp) / "data"
        if not (data / "index" / "CURRENT").exists():
            generate(data, args.edges)
            build_index(data)
        results: dict[str, Any] = {"edges": run_sql(data, "SELECT count(*) AS n FROM edges")
                                   .column("n")[0].as_py(), "targets": pick(data)}
        rows = []
        for kind, target in results["targets"].items():
            baseline = median(time_calls(lambda t=target: view_queries(data, t), args.repeat))
            started = time.perf_counter()
            html = render_report(data, ViewRequest(target))
            render = time.perf_counter() - started
            results[f"report/{kind}"] = {"seconds": render, "queries_seconds": baseline,
                                         "bytes": len(html.encode())}
            rows.append([f"report, {kind} ({target})", f"{render * 1000:,.0f} ms",
                         f"{baseline * 1000:,.0f} ms", f"{len(html.encode()) / 1e6:.2f} MB"])
        server = subprocess.Popen([sys.executable, "-m", "linkindex", "serve", "--data",
                                   str(data), "--port", "0"], stdout=subprocess.PIPE, text=True)
        try:
            url = re.search(r"on (http://\S+/) ", server.stdout.readline())[1]
            for kind, target in results["targets"].items():
                query_50 = statistics.median(time_calls(
                    lambda t=target: run_query(data, TABLE, [t], limit=50), args.repeat))
                ui = time_ui(url, target, args.repeat)
                results[f"ui/{kind}"] = {**ui, "run_query limit 50": query_50}
                for step, seconds in ui.items():
                    rows.append([f"ui, {kind}: {step}", f"{seconds * 1000:,.1f} ms",
                                 f"{query_50 * 1000:,.1f} ms", ""])
        finally:
            server.terminate()
            server.wait()
    print(table(["what", "time", "baseline (queries alone)", "size"], rows,
                title=f"{results['edges']:,} edges"))
    write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
