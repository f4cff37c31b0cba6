"""Politeness at send time (issue 19): a slow site makes a worker hold popped requests
behind Scrapy's per-domain concurrency limit, to send them whenever the site answers;
without a check at send time those left moments after another worker's request to the
same site. The server's own clock must see the job's delay between any two requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from clustertools import finish, job_status, start_worker, submit

from linkindex.localredis import RedisServer

pytestmark = pytest.mark.slow

PAGES = 16
ANSWER_SECONDS = 1.0  # each page takes this long: longer than the delay
DELAY = 0.4


class SlowSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SlowPage)
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()


class SlowPage(BaseHTTPRequestHandler):
    server: SlowSite

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path  # the worker asks through it as a proxy
        with self.server.lock:
            self.server.arrivals.append((time.monotonic(), path))
        if path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        time.sleep(ANSWER_SECONDS)
        n = int(path.rsplit("/", 1)[-1] or 0)
        links = "".join(f'<a href="/p/{m}">{m}</a>' for m in range(n + 1, min(n + 6, PAGES)))
        body = f"<html><body>{links}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_site() -> Iterator[SlowSite]:
    site = SlowSite()
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield site
    site.shutdown()
    site.server_close()


def test_two_workers_never_send_to_a_slow_site_closer_than_its_delay(
        redis_server: RedisServer, slow_site: SlowSite, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{slow_site.server_address[1]}"
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"{url}/p/0\n")
    submit(redis_server.url, "slowsite", seeds, "--delay", str(DELAY))
    # one request in flight per site and worker: what was popped waits its turn inside
    # the worker, then leaves when the previous answer is in
    workers = [start_worker(redis_server.url, tmp_path / "data", "slowsite", url,
                            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
                            "-s", "LINKINDEX_LEASE_SECONDS=30") for _ in range(2)]
    for worker in workers:
        finish(worker)
    times = sorted(t for t, _ in slow_site.arrivals)
    pages = [p for _, p in slow_site.arrivals if p != "/robots.txt"]
    assert sorted(pages) == sorted(f"/p/{n}" for n in range(PAGES))  # each page once
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= DELAY, min(gaps)
    status = job_status(redis_server.url, "slowsite")
    assert status["finished"] and status["done"] == PAGES + 1  # and its robots.txt
    assert {w["name"] for w in status["workers"]} == set()  # both left, leases handed back
