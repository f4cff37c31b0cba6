"""Cluster mode end to end: real worker processes, a real Redis, the synthetic web.

The ground truth is the generator's (as for local crawls in test_end_to_end), so "equals
the local crawl" is checked against the same truth the local crawl is checked against,
and the built indexes are compared directly.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from clitools import FAST, linkindex
from clustertools import (
    fetched_urls,
    finish,
    index_edges,
    job_status,
    raw_rows,
    start_worker,
    submit,
    wait_for,
    walk,
)
from webtools import EDGE_COLUMNS, PAGE_COLUMNS

from crawler.frontier import jobs
from linkindex.localredis import RedisServer
from synthweb import ExpectedCrawl, SyntheticWeb, WebServer

# Workers, a Redis server and crawls in every test.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def truth(web: SyntheticWeb) -> ExpectedCrawl:
    return web.expected_crawl()


def test_three_workers_crawl_exactly_what_one_local_crawl_does(
        redis_server: RedisServer, web_server: WebServer, web: SyntheticWeb,
        seeds_file: Path, crawled: Path, truth: ExpectedCrawl, tmp_path: Path) -> None:
    data = tmp_path / "data"
    submit(redis_server.url, "c1", seeds_file, "--delay", "0")
    workers = [start_worker(redis_server.url, data, "c1", web_server.proxy_url)
               for _ in range(3)]
    outputs = [finish(w) for w in workers]
    assert all("(finished)" in out for out in outputs)
    rows = raw_rows(data, "c1", "pages", ", ".join(PAGE_COLUMNS))
    assert len(rows) == len(set(rows)), "a page was fetched twice"
    # pages robots.txt disallows: a row each (URL, host, domain only), not fetched
    found = walk(web, web.seeds())
    assert found.fetched == set(truth.fetched) and found.disallowed == truth.disallowed
    # every row, the disallowed ones (status null, no links) included, is the truth's
    expected = [tuple(p.row()[c] for c in PAGE_COLUMNS) for p in truth.pages.values()]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    edges = raw_rows(data, "c1", "edges", ", ".join(EDGE_COLUMNS))
    assert Counter(edges) == Counter(tuple(e.row()[c] for c in EDGE_COLUMNS)
                                     for e in truth.edges)
    # the job is finished with nothing lost or failed (how the pages were shared out
    # depends on when each worker got going: not asserted)
    status = job_status(redis_server.url, "c1")
    assert status["finished"] and status["failed"] == 0 and status["leased"] == 0
    assert status["done"] == len(truth.fetched) + status["robots"]  # robots.txt: one per site
    assert status["stored"] == status["fetched"] == len(truth.fetched)  # page rows, no robots
    linkindex("build", "--data", data)
    assert index_edges(data) == index_edges(crawled)


@pytest.mark.parametrize("moment", [0.1, 0.5, 0.85])
def test_kill_9_of_a_worker_loses_no_page(
        moment: float, redis_server: RedisServer, web_server: WebServer, web: SyntheticWeb,
        seeds_file: Path, truth: ExpectedCrawl, tmp_path: Path) -> None:
    job = f"kill{int(moment * 100)}"
    data = tmp_path / "data"
    submit(redis_server.url, job, seeds_file, "--delay", "0")
    # Parts by age only at the end: the victim holds every page it fetched unflushed.
    victim = start_worker(redis_server.url, data, job, web_server.proxy_url,
                          "-s", "CONCURRENT_REQUESTS=4", "-s", "LINKINDEX_WORKER_ID=victim")
    survivor = start_worker(redis_server.url, data, job, web_server.proxy_url,
                            "-s", "CONCURRENT_REQUESTS=4")
    total = len(truth.fetched)
    server = redis_server.client()
    victims_leases = f"linkindex:{{{job}}}:lw:victim"

    def fetched_share() -> float:  # leases are held until a part is written: count both
        done, leased = server.hmget(f"linkindex:{{{job}}}:stats", ["done", "leased"])
        return (int(done or 0) + int(leased or 0)) / total

    wait_for(lambda: fetched_share() >= moment and server.hlen(victims_leases) > 0,
             what=f"{moment:.0%} of the pages")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finish(survivor)
    assert fetched_urls(data, job, web) == set(truth.fetched)
    status = job_status(redis_server.url, job)
    assert status["finished"] and status["failed"] == 0
    assert not server.exists(victims_leases)  # returned to the queue, fetched by the survivor


def test_redis_restart_mid_crawl_changes_nothing(
        web_server: WebServer, web: SyntheticWeb, seeds_file: Path, truth: ExpectedCrawl,
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    with RedisServer(tmp_path / "redis") as redis:
        submit(redis.url, "r1", seeds_file, "--delay", "0")
        workers = [start_worker(redis.url, data, "r1", web_server.proxy_url,
                                "-s", "CONCURRENT_REQUESTS=8") for _ in range(2)]
        wait_for(lambda: job_status(redis.url, "r1")["done"] >= 0.3 * len(truth.fetched))
        redis.kill()  # SIGKILL: only what the append-only file holds survives
        time.sleep(2)  # workers find Redis gone and back off
        redis.start()
        for worker in workers:
            finish(worker)
        assert fetched_urls(data, "r1", web) == set(truth.fetched)
        assert job_status(redis.url, "r1")["finished"]


def test_politeness_holds_across_three_workers(redis_server: RedisServer,
                                               tmp_path: Path) -> None:
    delay = 0.4
    web = SyntheticWeb(n_sites=5, pages_per_site=8, seed=3)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(web.seeds()) + "\n")
    data = tmp_path / "data"
    with WebServer(web, access_log=True) as server:
        submit(redis_server.url, "polite", seeds, "--delay", str(delay),
               "--max-pages-per-domain", "12")
        workers = [start_worker(redis_server.url, data, "polite", server.proxy_url)
                   for _ in range(3)]
        for worker in workers:
            finish(worker)
        log = server.access_log()
    by_host: dict[str, list[float]] = {}
    for when, host, _path, _status in log:
        by_host.setdefault(host, []).append(when)
    assert len(by_host) >= 5 and sum(map(len, by_host.values())) >= 30
    for host, times in by_host.items():
        times.sort()
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= delay, (host, min(gaps))
    # robots.txt fetched once per host for the whole job, not once per worker
    robots = Counter(host for _, host, path, _ in log if path == "/robots.txt")
    assert set(robots.values()) == {1}
    # every fetch the server saw (retries aside) is one stored page, and nothing else is
    # (but the rows of pages robots.txt disallows, not fetched)
    fetched = {(host, path) for _, host, path, _ in log if path != "/robots.txt"}
    assert len(fetched_urls(data, "polite", web)) == len(fetched)


def test_job_lifecycle_pause_resume_join_leave_stop_purge(
        redis_server: RedisServer, web_server: WebServer, seeds_file: Path,
        tmp_path: Path) -> None:
    url, job, data = redis_server.url, "life", tmp_path / "data"
    server = redis_server.client()
    keys = f"linkindex:{{{job}}}:"
    submit(url, job, seeds_file, "--delay", "0.2")
    first = start_worker(url, data, job, web_server.proxy_url, "-s", "LINKINDEX_WORKER_ID=first")

    def fetched() -> int:
        status = job_status(url, job)
        return status["done"] + status["leased"]

    wait_for(lambda: fetched() >= 40, what="40 pages")
    linkindex("job", "pause", job, "--redis", url)
    time.sleep(1.0)  # what was in flight lands
    before = len(web_server.access_log())
    time.sleep(1.5)
    assert len(web_server.access_log()) == before, "fetching went on while paused"
    assert job_status(url, job)["state"] == "paused"
    # a worker joining late, while paused
    late = start_worker(url, data, job, web_server.proxy_url, "-s", "LINKINDEX_WORKER_ID=late")
    linkindex("job", "resume", job, "--redis", url)
    wait_for(lambda: len(web_server.access_log()) > before + 20, what="fetching to resume")
    wait_for(lambda: server.hlen(keys + "lw:late") > 0, what="the late worker to take work")
    # one leaving early: SIGTERM writes its rows and hands its other leases back at once
    first.send_signal(signal.SIGTERM)
    assert "(shutdown)" in finish(first, timeout=60)
    assert not server.exists(keys + "lw:first")
    assert server.zscore(keys + "workers", "first") is None
    # stop ends the remaining worker with work still queued
    linkindex("job", "stop", job, "--redis", url)
    finish(late, timeout=60)
    status = job_status(url, job)
    assert status["state"] == "stopped" and status["queued"] > 0 and status["leased"] == 0
    urls = [u for (u,) in raw_rows(data, job, "pages", "url")]
    assert len(urls) == len(set(urls)) > 40
    assert {p.name.split("-")[0] for p in (data / f"raw/{job}/pages").iterdir()} == {
        "first", "late"}
    assert server.hlen(keys + "wstats") == 0
    linkindex("job", "purge", job, "--redis", url)
    assert list(server.scan_iter(match=keys + "*")) == []
    proc = linkindex("job", "status", job, "--redis", url, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"linkindex: error: no job '{job}' in this Redis"


def test_a_worker_without_job_serves_every_unfinished_job_in_turn(
        redis_server: RedisServer, web_server: WebServer, web: SyntheticWeb,
        tmp_path: Path) -> None:
    url, data = redis_server.url, tmp_path / "data"
    seeds = web.seeds()
    linkindex("job", "submit", "turn-a", seeds[1], "--max-pages", "5", "--delay", "0",
              "--redis", url)
    linkindex("job", "submit", "turn-b", seeds[2], "--max-pages", "7", "--delay", "0",
              "--redis", url)
    proc = linkindex("worker", "--redis", url, "--data", data, "--proxy",
                     web_server.proxy_url, "--allow-private", *FAST)
    # earlier tests' jobs in this Redis are finished: only these two are served
    assert "job turn-a: 5 pages stored by this worker (finished)" in proc.stdout
    assert "job turn-b: 7 pages stored by this worker (finished)" in proc.stdout
    assert len(fetched_urls(data, "turn-a", web)) == 5
    assert len(fetched_urls(data, "turn-b", web)) == 7
    for job in ("turn-a", "turn-b"):
        linkindex("job", "purge", job, "--redis", url)


def test_status_is_live_before_any_part_is_written_and_list_shows_finished(
        redis_server: RedisServer, tmp_path: Path) -> None:
    """Issue 13: `job status` showed 0.0 pages/s and no ETA during a run, and `done` moved
    only when a part was flushed; `job list` showed finished jobs as running."""
    url, job, data = redis_server.url, "live", tmp_path / "data"
    web = SyntheticWeb(n_sites=5, pages_per_site=8, seed=3)
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(web.seeds()) + "\n")
    server = redis_server.client()
    with WebServer(web) as site:
        # one page per domain per second, parts written only when the job runs dry
        submit(url, job, seeds, "--delay", "1", "--max-pages-per-domain", "6")
        worker = start_worker(url, data, job, site.proxy_url,
                              "-s", "LINKINDEX_PART_MAX_SECONDS=600")
        snapshot: list[jobs.JobStatus] = []

        def fetching() -> bool:
            snapshot[:] = [jobs.status(server, job)]
            return snapshot[0].fetched > 0 and snapshot[0].pages_per_second > 0

        wait_for(fetching, what="a live rate")
        live = snapshot[0]
        assert live.stored == 0 and live.done <= live.robots  # no page stored yet
        assert live.queued > 0 and live.display_state == "running"
        [w] = live.workers
        assert w.fetched > 0 and w.stored == 0 and w.pages_per_second > 0
        assert not list(data.glob(f"raw/{job}/pages/*.parquet"))
        # the commands show the same, while the job runs
        as_json = job_status(url, job)
        assert as_json["fetched"] > 0 and "eta_seconds" in as_json and "growing" in as_json
        text = linkindex("job", "status", job, "--redis", url).stdout
        assert re.search(r"^ *fetched +[1-9]", text, re.M), text
        assert re.search(r"^ *ETA +(unknown|\d)", text, re.M), text
        listed = json.loads(linkindex("job", "list", "--json", "--redis", url).stdout)
        assert {s["name"]: s["display_state"] for s in listed}[job] == "running"
        finish(worker)
    # pages robots.txt disallows are not fetched (acknowledged as ignored), row or not
    pages = [u for (u,) in raw_rows(data, job, "pages", "url") if web.robots_allowed(u)]
    status = job_status(url, job)
    assert status["finished"] and status["stored"] == status["fetched"] == len(pages)
    assert status["done"] - status["robots"] == status["stored"] - status["failed"]
    listed = json.loads(linkindex("job", "list", "--json", "--redis", url).stdout)
    assert {s["name"]: s["display_state"] for s in listed}[job] == "finished"
    text = linkindex("job", "list", "--redis", url).stdout
    assert re.search(rf"^ *{job} +finished +0 +0 +{len(pages)} ", text, re.M), text
    linkindex("job", "purge", job, "--redis", url)
