"""robots.txt as RFC 9309 says (crawler/robotstxt.py), in real `linkindex crawl` runs
against loopback servers, one per case (a netloc is a robots.txt): which requests reach
the server, and which pages are `robots:` rows."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest
from clitools import linkindex

KIB = 1024


def _html(*links: str) -> bytes:
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return f"<!doctype html><title>t</title><body>{anchors}</body>".encode()


@dataclass
class Site:
    """A loopback server whose /robots.txt (and redirect hops) `robots` answers; every
    other path is a small HTML page linking to `links`."""

    robots: dict[str, Callable[[BaseHTTPRequestHandler], None]]
    links: tuple[str, ...] = ()
    log: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests(self, path: str) -> int:
        return self.log.count(path)


def _reply(status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = (),
           content_type: str = "text/plain") -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:  # the crawler stopped reading (a huge file, a timeout)
            handler.close_connection = True
    return answer


def _redirect(target: str, status: int = 301) -> Callable[[BaseHTTPRequestHandler], None]:
    return _reply(status, headers=(("Location", target),))


def _hang(seconds: float) -> Callable[[BaseHTTPRequestHandler], None]:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        _reply(200, b"User-agent: *\nAllow: /\n")(handler)
    return answer


def _reset(handler: BaseHTTPRequestHandler) -> None:
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def _serve(site: Site) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            site.log.append(self.path)
            answer = site.robots.get(self.path)
            if answer is None:
                answer = _reply(200, _html(*site.links), content_type="text/html")
            answer(self)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


RULES = b"User-agent: *\nDisallow: /private\n"
# Disallow: /before in the first 500 KiB, Disallow: /after past 600 KiB, 2 MiB in all
# (over the crawl's DOWNLOAD_MAXSIZE of 1 MiB below).
_COMMENT = b"# " + b"-" * 60 + b"\n"
HUGE = (b"User-agent: *\nDisallow: /before\n" + _COMMENT * (600 * KIB // len(_COMMENT))
        + b"Disallow: /after\n")
HUGE += _COMMENT * ((2048 * KIB - len(HUGE)) // len(_COMMENT))
CHAIN5 = ["/robots.txt", "/r1", "/r2", "/r3", "/r4"]  # then /real-robots.txt: 5 redirects
CHAIN6 = ["/robots.txt", "/s1", "/s2", "/s3", "/s4", "/s5"]  # a sixth redirect: given up
LOOP = ["/robots.txt", "/l1", "/l2", "/l3", "/l4", "/l5"]  # /l5 → /robots.txt


def _chain(paths: list[str], last: str) -> dict[str, Callable[[BaseHTTPRequestHandler], None]]:
    targets = [*paths[1:], last]
    return {path: _redirect(target, 301 if i % 2 else 302)
            for i, (path, target) in enumerate(zip(paths, targets, strict=True))}


def _sites() -> dict[str, Site]:
    return {
        "s500": Site({"/robots.txt": _reply(503, b"busy\n")}),
        "s404": Site({"/robots.txt": _reply(404, b"User-agent: *\nDisallow: /\n")},
                     links=("/private",)),
        "redirect": Site({**_chain(CHAIN5, "/real-robots.txt"),
                          "/real-robots.txt": _reply(200, RULES)},
                         links=("/private", "/public")),
        "six": Site({**_chain(CHAIN6, "/real-robots.txt"),
                     "/real-robots.txt": _reply(200, RULES)}, links=("/private",)),
        "loop": Site(_chain(LOOP, "/robots.txt"), links=("/private",)),
        "huge": Site({"/robots.txt": _reply(200, HUGE)}, links=("/before", "/after")),
        "timeout": Site({"/robots.txt": _hang(5)}),
        "reset": Site({"/robots.txt": _reset}),
    }


@dataclass
class Crawl:
    sites: dict[str, Site]
    rows: dict[str, tuple[int | None, str | None]]  # url → (status, error)
    stdout: str
    stderr: str

    def row(self, name: str, path: str) -> tuple[int | None, str | None]:
        return self.rows[self.sites[name].base + path]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    sites = _sites()
    for site in sites.values():
        site.server = _serve(site)
    data = tmp_path_factory.mktemp("robots") / "data"
    try:
        seeds = [site.base + "/index" for site in sites.values()]
        proc = linkindex("crawl", *seeds, "--allow-private", "--data", data,
                         "--crawl-id", "r1", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "DOWNLOAD_TIMEOUT=2", "-s", f"DOWNLOAD_MAXSIZE={1024 * KIB}")
        found = duckdb.sql(
            f"SELECT url, status, error FROM read_parquet('{data}/raw/r1/pages/*.parquet')"
        ).fetchall()
        rows = {url: (status, error) for url, status, error in found}
        assert len(rows) == len(found), found
        yield Crawl(sites, rows, proc.stdout, proc.stderr)
    finally:
        for site in sites.values():
            assert site.server is not None
            site.server.shutdown()
            site.server.server_close()


def _robots(error: str | None) -> bool:
    return (error or "").startswith("robots:")


@pytest.mark.slow
def test_5xx_disallows_the_whole_host(crawl: Crawl) -> None:
    site = crawl.sites["s500"]
    assert site.requests("/robots.txt") >= 1
    assert site.requests("/index") == 0
    status, error = crawl.row("s500", "/index")
    assert status is None and _robots(error), error


@pytest.mark.slow
def test_4xx_allows_everything(crawl: Crawl) -> None:
    site = crawl.sites["s404"]
    assert site.requests("/index") == site.requests("/private") == 1
    assert crawl.row("s404", "/private") == (200, None)


@pytest.mark.slow
def test_five_redirects_are_followed(crawl: Crawl) -> None:
    site = crawl.sites["redirect"]
    assert [site.requests(path) for path in [*CHAIN5, "/real-robots.txt"]] == [1] * 6
    assert site.requests("/index") == site.requests("/public") == 1
    assert site.requests("/private") == 0
    assert crawl.row("redirect", "/public") == (200, None)
    status, error = crawl.row("redirect", "/private")
    assert status is None and _robots(error), error


@pytest.mark.slow
def test_a_sixth_redirect_is_not_followed_and_allows_everything(crawl: Crawl) -> None:
    site = crawl.sites["six"]
    assert [site.requests(path) for path in CHAIN6] == [1] * 6
    assert site.requests("/real-robots.txt") == 0
    assert site.requests("/private") == 1
    assert crawl.row("six", "/private") == (200, None)


@pytest.mark.slow
def test_a_redirect_loop_allows_everything(crawl: Crawl) -> None:
    site = crawl.sites["loop"]
    assert [site.requests(path) for path in LOOP] == [1] * 6
    assert site.requests("/index") == site.requests("/private") == 1
    assert crawl.row("loop", "/private") == (200, None)


@pytest.mark.slow
def test_the_first_500_kib_of_a_huge_file_are_parsed(crawl: Crawl) -> None:
    site = crawl.sites["huge"]
    assert site.requests("/robots.txt") == 1
    assert site.requests("/before") == 0
    assert site.requests("/after") == 1
    status, error = crawl.row("huge", "/before")
    assert status is None and _robots(error), error
    assert crawl.row("huge", "/after") == (200, None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["timeout", "reset"])
def test_unreachable_disallows_the_whole_host(crawl: Crawl, name: str) -> None:
    site = crawl.sites[name]
    assert site.requests("/robots.txt") >= 1
    assert site.requests("/index") == 0
    status, error = crawl.row(name, "/index")
    # not fetched, and the row says why: the host's own failure, as a fetch would have
    kind = {"timeout": "timeout: ", "reset": "connection: "}[name]
    assert status is None and error.startswith(kind), error
    assert error.endswith("(robots.txt unreachable: nothing fetched)"), error


@pytest.mark.slow
def test_no_traceback_and_one_line_per_host(crawl: Crawl) -> None:
    assert "Traceback" not in crawl.stderr
    for name in ("timeout", "reset"):  # their rows say it: no log line without -v
        netloc = crawl.sites[name].base.removeprefix("http://")
        assert f"robots.txt of {netloc}" not in crawl.stderr, crawl.stderr
    for name in ("s500",):
        netloc = crawl.sites[name].base.removeprefix("http://")
        lines = [line for line in crawl.stderr.splitlines()
                 if f"robots.txt of {netloc}" in line]
        assert len(lines) == 1, crawl.stderr
    assert set(crawl.rows) == {site.base + path for name, site in crawl.sites.items()
                               for path in ["/index", *site.links]}
