"""Cluster-mode helpers for tests: workers as real subprocesses, job status, waiting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from clitools import FAST, REPO, linkindex
from webtools import EDGE_COLUMNS

from synthweb import SyntheticWeb
from synthweb.truth import domain_of, host_of

STARTED: list[subprocess.Popen[str]] = []  # every worker a test started
# Short leases and heartbeats, so a killed worker's leases return within seconds.
QUICK_LEASES = ["-s", "LINKINDEX_LEASE_SECONDS=2", "-s", "LINKINDEX_HEARTBEAT_SECONDS=0.5"]


def start_worker(redis_url: str, data: Path, job: str, proxy_url: str,
                 *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LINKINDEX_DEBUG": ""}
    cmd = [sys.executable, "-m", "linkindex", "worker", "--redis", redis_url, "--data",
           str(data), "--job", job, "--proxy", proxy_url, "--allow-private", *FAST,
           *QUICK_LEASES, *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    STARTED.append(proc)
    return proc


def kill_leftovers() -> None:
    """After a test: no worker outlives it, even when the test failed half-way."""
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def finish(worker: subprocess.Popen[str], timeout: float = 180) -> str:
    out, err = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, f"worker exited {worker.returncode}\n{out}\n{err}"
    assert "Traceback" not in err, err
    return out


def stop_gracefully(worker: subprocess.Popen[str]) -> str:
    worker.send_signal(signal.SIGTERM)
    return finish(worker, timeout=60)


def job_status(redis_url: str, job: str) -> dict:
    proc = linkindex("job", "status", job, "--redis", redis_url, "--json")
    return json.loads(proc.stdout)


def wait_for(condition: Callable[[], bool], timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.2)


def submit(redis_url: str, job: str, seeds_file: Path, *extra: str) -> None:
    linkindex("job", "submit", job, "--redis", redis_url, "--seeds-file", seeds_file, *extra)


def index_edges(data: Path) -> list[tuple]:
    """The live index's edges with `live`, sorted: two builds compared row for row."""
    generation = (data / "index" / "CURRENT").read_text().strip()
    columns = ", ".join(EDGE_COLUMNS)
    return sorted(duckdb.sql(
        f"SELECT {columns}, live FROM read_parquet('{data}/index/{generation}/edges/*/*.parquet')"
    ).fetchall(), key=repr)


def raw_rows(data: Path, crawl_id: str, table: str, columns: str) -> list[tuple]:
    return duckdb.sql(
        f"SELECT {columns} FROM read_parquet('{data}/raw/{crawl_id}/{table}/*.parquet')"
    ).fetchall()


def fetched_urls(data: Path, crawl_id: str, web: SyntheticWeb) -> set[str]:
    """URLs of the page rows of pages fetched or given up on: without the rows of pages
    robots.txt disallows (recorded, not fetched)."""
    return {url for (url,) in raw_rows(data, crawl_id, "pages", "url")
            if web.robots_allowed(url)}


@dataclass
class Walk:
    """What a seed-domains crawl of the synthetic web meets, from the generator's truth."""

    fetched: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)  # pages of skipped_domain: not fetched
    disallowed: set[str] = field(default_factory=set)  # found, robots.txt disallows them


def walk(web: SyntheticWeb, seeds: list[str], skipped_domain: str | None = None) -> Walk:
    """The pages a crawl from `seeds` fetches, the ones robots.txt disallows (a row each,
    not fetched), and those of `skipped_domain` (a row each, their links never seen),
    walked as SyntheticWeb.expected_crawl walks the truth."""
    domains = {domain_of(host_of(u)) for u in seeds}
    out = Walk()

    def wanted(url: str) -> bool:
        if domain_of(host_of(url)) not in domains:
            return False
        if not web.robots_allowed(url):
            out.disallowed.add(url)
            return False
        return True

    queue = deque(u for u in dict.fromkeys(seeds) if wanted(u))
    seen = set(queue)
    while queue:
        url = queue.popleft()
        if domain_of(host_of(url)) == skipped_domain:
            out.skipped.add(url)
            continue
        out.fetched.add(url)
        facts = web.page_facts(url)
        if facts.redirect_to is not None:
            follow = [facts.redirect_to]
        elif facts.is_html_2xx and not facts.meta_nofollow:
            follow = [e.dst_url for e in web.page_links(url)]
        else:
            follow = []
        for dst in follow:
            if dst not in seen and wanted(dst):
                seen.add(dst)
                queue.append(dst)
    return out
