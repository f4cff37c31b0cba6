"""`linkindex demo`: the whole product in one command, on a synthetic web served on loopback.

Serve the synthetic web → crawl it (local mode) → build the index → answer the
backlink questions for the best-linked site → write CSVs and the HTML report. No servers
to start.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from core.errors import LinkindexError

MARKER = ".linkindex-demo"
CSV_QUERIES = ("overview", "backlinks", "referring_domains", "anchors", "top_pages")


def _prepare(out: Path) -> Path:
    """A clean demo folder; never delete a folder the demo did not make."""
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise LinkindexError(f"{out} exists and is not a demo folder; choose another with --out")
    if (out / MARKER).exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by `linkindex demo`; safe to delete\n")
    return out / "data"


# Our own server on loopback: no need to be polite.
FAST = {"DOWNLOAD_DELAY": 0, "CONCURRENT_REQUESTS": 64, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "LOG_LEVEL": "WARNING"}


def _crawl_local(web, data: Path, proxy_url: str) -> tuple[int, int, float]:  # noqa: ANN001
    from crawler.runner import run_crawl
    from crawler.spec import CrawlSpec

    summary = run_crawl({
        **CrawlSpec(web.seeds()).to_settings(),
        "LINKINDEX_DATA": str(data),
        "LINKINDEX_CRAWL_ID": "demo",
        "LINKINDEX_PROXY": proxy_url,
        "LINKINDEX_ALLOW_PRIVATE": True,  # the synthetic web is on loopback
        **FAST,
    })
    return summary.pages, summary.edges, summary.seconds


def _crawl_cluster(web, data: Path, proxy_url: str, workers: int,  # noqa: ANN001
                   console) -> tuple[int, int, float]:  # noqa: ANN001
    """The same crawl through a private Redis and N `linkindex worker` processes."""
    import duckdb

    from crawler.frontier import jobs
    from crawler.spec import CrawlSpec
    from linkindex.localredis import RedisServer

    started = time.monotonic()
    with RedisServer(data.parent / "redis") as redis_server:
        server = redis_server.client()
        jobs.submit(server, "demo", CrawlSpec(web.seeds(), delay=0))
        console.print(f"      job demo submitted to {redis_server.url}; starting {workers} workers")
        args = [sys.executable, "-m", "linkindex", "worker", "--job", "demo", "--redis",
                redis_server.url, "--data", str(data), "--proxy", proxy_url, "--allow-private"]
        for name, value in FAST.items():
            args += ["-s", f"{name}={value}"]
        procs = [subprocess.Popen(args, stdout=subprocess.DEVNULL) for _ in range(workers)]
        try:
            while any(proc.poll() is None for proc in procs):
                status = jobs.status(server, "demo")
                if console.is_terminal:
                    console.print(f"      queued {status.queued:,}  leased {status.leased:,}  "
                                  f"done {status.done:,}  workers {len(status.workers)}   ",
                                  end="\r")
                time.sleep(0.5)
        finally:
            for proc in procs:
                proc.terminate() if proc.poll() is None else None
                proc.wait()
        if any(proc.returncode for proc in procs):
            raise LinkindexError("a demo worker failed; run `linkindex worker` by hand to see why")
    seconds = time.monotonic() - started
    raw = data / "raw" / "demo"
    pages, edges = duckdb.sql(
        f"SELECT (SELECT count(*) FROM read_parquet('{raw}/pages/*.parquet')),"
        f" (SELECT count(*) FROM read_parquet('{raw}/edges/*.parquet'))").fetchall()[0]
    return pages, edges, seconds


def run_demo(out: Path, *, sites: int = 50, pages: int = 20, workers: int = 0) -> None:
    from index.build import build_index
    from linkindex.render import console_for, table_view
    from queries import run_query, run_sql, write_init_file
    from queries.export import write_csv
    from report.html import write_report
    from report.profile import ViewRequest
    from synthweb import SyntheticWeb
    from synthweb.server import WebServer

    console = console_for(sys.stdout)
    started = time.monotonic()
    data = _prepare(out)
    web = SyntheticWeb(n_sites=sites, pages_per_site=pages)
    with WebServer(web) as server:
        console.print(
            f"[bold]1/4[/] synthetic web: {len(web.hosts)} hosts served on {server.proxy_url}"
        )
        if workers:
            n_pages, n_edges, seconds = _crawl_cluster(web, data, server.proxy_url, workers,
                                                       console)
        else:
            n_pages, n_edges, seconds = _crawl_local(web, data, server.proxy_url)
    how = f" by {workers} workers through Redis" if workers else ""
    console.print(
        f"[bold]2/4[/] crawled {n_pages:,} pages, {n_edges:,} links{how} "
        f"in {seconds:.1f}s ({n_pages / max(seconds, 1e-9):,.0f} pages/s)"
    )
    result = build_index(data)
    write_init_file(data)
    console.print(
        f"[bold]3/4[/] built index {result.generation}: "
        f"{result.manifest['counts']['edges']:,} distinct links"
    )

    ranked = run_sql(
        data,
        "SELECT domain FROM domains WHERE pages_crawled > 0"
        " ORDER BY referring_domains DESC, domain",
    ).column("domain").to_pylist()
    # The best-linked site is the demo target; for the link gap, the least-linked site
    # asks which domains link to the two leaders but not to it.
    target, leaders, gap_me = ranked[0], ranked[1:3], ranked[-1]
    console.print(f"[bold]4/4[/] backlinks of [bold]{target}[/] (the best-linked site)\n")
    console.print(table_view(run_query(data, "overview", [target]), "overview"))
    console.print(table_view(
        run_query(data, "referring_domains", [target], limit=10), "top referring domains"
    ))
    console.print(table_view(run_query(data, "anchors", [target], limit=10), "anchor texts"))
    gap = run_query(data, "link_gap", [gap_me, *leaders], limit=10)
    console.print(table_view(  # the example links are in the CSV: too wide for a terminal
        gap.drop_columns(["examples"]),
        f"link gap: domains linking to {' and '.join(leaders)} but not to {gap_me}"
    ))

    csv_dir = out / "csv"
    for name in CSV_QUERIES:
        write_csv(run_query(data, name, [target]), csv_dir / f"{name}.csv")
    write_csv(run_query(data, "link_gap", [gap_me, *leaders]), csv_dir / "link_gap.csv")
    console.print(f"\nCSVs written to [bold]{csv_dir}/[/]")
    report = out / "report.html"
    write_report(data, ViewRequest(target, compare=tuple(leaders)), report)
    console.print(f"Report written to [bold]{report}[/] (one HTML file: open it in a browser)")
    console.print(
        f"Next: linkindex query backlinks {target} --data {data} --limit 20\n"
        f"      linkindex sql \"SELECT * FROM referring_domains('{target}') LIMIT 5\" "
        f"--data {data}\n"
        f"      cd {data} && duckdb -init linkindex.sql\n"
        f"      linkindex serve --data {data}     # the same views for any target, in a browser"
    )
    console.print(f"demo finished in {time.monotonic() - started:.1f}s")
