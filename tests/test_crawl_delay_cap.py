"""A robots.txt Crawl-delay over the job's cap (issue 13): the domain is skipped, each of
its pages a row with the error, nothing of it fetched but its robots.txt, and the job
finishes. Real worker, real Redis, the synthetic web with one site asking for 100000000 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import linkindex
from clustertools import finish, job_status, raw_rows, start_worker, submit, wait_for, walk

from linkindex.localredis import RedisServer
from synthweb import SyntheticWeb, WebServer
from synthweb.truth import Response, domain_of, host_of

pytestmark = pytest.mark.slow  # a worker process, a Redis server, a crawl

SLOW_HOST = "site2.example"
SLOW_ROBOTS = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 100000000\n"
REASON = "crawl-delay 100000000 s over the cap 60 s"


class SlowRobotsWeb(SyntheticWeb):
    """The synthetic web, but one site's robots.txt asks for a Crawl-delay of ~3 years."""

    def response(self, method: str, url: str) -> Response:
        if url == f"http://{SLOW_HOST}/robots.txt":
            return Response(200, [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(SLOW_ROBOTS)))], SLOW_ROBOTS)
        return super().response(method, url)


def test_a_domain_over_the_crawl_delay_cap_is_skipped_with_a_row_per_page(
        redis_server: RedisServer, tmp_path: Path) -> None:
    web = SlowRobotsWeb(n_sites=6, pages_per_site=8, seed=11)
    seeds = web.seeds()
    truth = walk(web, seeds, domain_of(SLOW_HOST))
    fetched, skipped, disallowed = truth.fetched, truth.skipped, truth.disallowed
    assert len(skipped) > 1  # its home page, and pages other sites link to
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text("\n".join(seeds) + "\n")
    data, job = tmp_path / "data", "cap1"
    with WebServer(web, access_log=True) as server:
        submit(redis_server.url, job, seeds_file, "--delay", "0")  # default cap: 60 s
        out = finish(start_worker(redis_server.url, data, job, server.proxy_url))
        log = server.access_log()
    assert f"job {job}: " in out and "(finished)" in out
    # nothing of the slow site is fetched but its robots.txt, once
    assert [path for _, host, path, _ in log if host == SLOW_HOST] == ["/robots.txt"]
    # every page of it the crawl found is a row with the reason; the others are crawled;
    # pages robots.txt disallows (the slow site's too) are rows as disallowed, not skipped
    rows = dict(raw_rows(data, job, "pages", "url, error"))
    assert len(rows) == len(raw_rows(data, job, "pages", "url"))  # each page once
    assert set(rows) == fetched | skipped | disallowed
    assert any(host_of(url) == SLOW_HOST for url in disallowed)
    assert {url for url, error in rows.items() if error == f"skipped: {REASON}"} == skipped
    assert not any((error or "").startswith("skipped") for url, error in rows.items()
                   if url not in skipped)
    assert all(status is None for url, status in raw_rows(data, job, "pages", "url, status")
               if url in skipped)
    status = job_status(redis_server.url, job)
    assert status["finished"] and status["display_state"] == "finished"
    assert status["skipped"] == len(skipped) and status["failed"] >= len(skipped)
    assert status["skipped_domains"] == {domain_of(SLOW_HOST): REASON}
    assert status["stored"] == status["fetched"] == len(fetched | skipped)
    text = linkindex("job", "status", job, "--redis", redis_server.url).stdout
    assert f"{domain_of(SLOW_HOST)}: {REASON}" in text
    linkindex("job", "purge", job, "--redis", redis_server.url)


def test_a_crawl_delay_within_the_cap_is_honoured_not_skipped(
        redis_server: RedisServer, tmp_path: Path) -> None:
    web = SlowRobotsWeb(n_sites=5, pages_per_site=8, seed=11)
    seeds_file = tmp_path / "seeds.txt"
    seeds_file.write_text(f"http://{SLOW_HOST}/\n")
    data, job = tmp_path / "data", "cap2"
    with WebServer(web, access_log=True) as server:
        # the cap raised over the site's delay: its domain waits that long between
        # fetches (so the job is stopped once the delay is known)
        submit(redis_server.url, job, seeds_file, "--delay", "0",
               "--max-crawl-delay", "1e9")
        worker = start_worker(redis_server.url, data, job, server.proxy_url)
        client = redis_server.client()
        keys = f"linkindex:{{{job}}}:"
        wait_for(lambda: client.hget(keys + "delay", domain_of(SLOW_HOST)) is not None,
                 what="the Crawl-delay to be stored")
        linkindex("job", "stop", job, "--redis", redis_server.url)
        finish(worker, timeout=60)
    assert client.hget(keys + "delay", domain_of(SLOW_HOST)) == str(100_000_000 * 1000)
    assert client.hgetall(keys + "skipped") == {}
    assert job_status(redis_server.url, job)["skipped"] == 0
    linkindex("job", "purge", job, "--redis", redis_server.url)
