"""`linkindex check-links`, end to end as a user types it: crawl one site, build, check
the targets it links to on other hosts, build again, ask broken_outlinks.

The web (LinkWeb, served by synthweb's loopback proxy, which routes by URL): seed.test
is crawled (its domain only); every other host is only linked to, each target showing
one answer a link checker meets. LinkWeb records every request with its method.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.dataset as ds
import pytest
from clitools import FAST, assert_one_line_error, crawl_args, linkindex

from core.addresses import refusal_reason
from synthweb.server import WebServer
from synthweb.truth import NO_RESPONSE, Response

SEED = "http://seed.test/"
LIVE = "http://live.test/"
MISSING = "http://dead.test/missing"  # 404, linked from both seed pages
REMOVED = "http://dead.test/removed"  # 410, nofollow
ERROR = "http://error.test/"  # 500 (retried as a crawl retries it)
CLOSED = "http://closed.test/page"  # the host closes every connection, robots.txt too
HANGUP = "http://hangup.test/page"  # HEAD: closed without an answer; GET: 200
NOHEAD_LIVE = "http://nohead.test/live"  # HEAD 405, GET 200
NOHEAD_GONE = "http://nohead.test/gone"  # HEAD 405, GET 404
NOTIMPL = "http://nohead.test/notimpl"  # HEAD 501, GET 200
MOVED = "http://moved.test/old"  # 301 to /new (200), not followed
MOVED_TO = "http://moved.test/new"
PRIVATE = "http://robots.test/private/page"  # disallowed by its robots.txt
IMAGE = "http://img.test/pic.html"  # an image link (<a><img></a>), 404
AREA = "http://dead.test/area"  # <area>, 404
ELSEWHERE = "http://elsewhere.test/"  # only a redirect target of seed.test: never checked
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"
RETRIED = 3  # a 5xx or a closed connection: 1 request + RETRY_TIMES (2, crawler/settings.py)
# Every host is behind one loopback proxy, so Scrapy keeps its connections to the proxy
# alive across hosts, and Twisted resends a request whose reused connection closed: the
# server would count transport retries. One connection per request counts requests only.
ONE_CONNECTION_EACH = ("-s", 'DEFAULT_REQUEST_HEADERS={"Connection": "close"}')


def html(title: str, body: str) -> bytes:
    return (f"<!doctype html><html lang=\"en\"><head><title>{title}</title></head>"
            f"<body>{body}</body></html>").encode()


def answer(status: int, body: bytes = b"", content_type: str = "text/html; charset=utf-8",
           *headers: tuple[str, str]) -> Response:
    return Response(status, [("Content-Type", content_type), *headers,
                             ("Content-Length", str(len(body)))], body)


LIVE_BODY = html("live", "<p>here</p>")
NOT_FOUND = html("not found", "<p>no</p>")


class LinkWeb:
    """What the proxy answers (`response`, as synthweb.SyntheticWeb's), and every request
    received, with its method."""

    def __init__(self) -> None:
        self.port = 0  # the proxy's, known once it listens: the loopback target's port
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    @property
    def loopback(self) -> str:
        return f"http://127.0.0.1:{self.port}/loop"

    def seed_page(self, second: bool) -> bytes:
        links = [f'<a href="{LIVE}">live</a>', f'<a href="{MISSING}">missing</a>']
        if not second:
            links += [
                f'<a href="{REMOVED}" rel="nofollow">removed</a>', f'<a href="{ERROR}">error</a>',
                f'<a href="{CLOSED}">closed</a>', f'<a href="{HANGUP}">hangup</a>',
                f'<a href="{NOHEAD_LIVE}">nohead live</a>',
                f'<a href="{NOHEAD_GONE}">nohead gone</a>', f'<a href="{NOTIMPL}">notimpl</a>',
                f'<a href="{MOVED}">moved</a>', f'<a href="{PRIVATE}">private</a>',
                f'<a href="{IMAGE}"><img src="/pic.png" alt="pic"></a>',
                f'<map name="m"><area href="{AREA}" alt="spot"></map>',
                f'<a href="{self.loopback}">loop</a>',
                '<a href="/two">two</a>', '<a href="/out">out</a>',
            ]
        return html("seed", "\n".join(links))

    def response(self, method: str, url: str) -> Response:
        with self.lock:
            self.requests.append((method, url))
        parts = urlsplit(url)
        host, path = parts.hostname, parts.path
        if host == "closed.test":
            return Response(NO_RESPONSE, [], b"")
        if path == "/robots.txt":
            if host == "robots.test":
                return answer(200, ROBOTS_TXT, "text/plain")
            return answer(404, NOT_FOUND)
        head = method == "HEAD"
        pages: dict[str, Response] = {
            SEED: answer(200, self.seed_page(second=False)),
            "http://seed.test/two": answer(200, self.seed_page(second=True)),
            "http://seed.test/out": answer(301, b"", "text/html", ("Location", ELSEWHERE)),
            LIVE: answer(200, LIVE_BODY),
            MISSING: answer(404, NOT_FOUND),
            REMOVED: answer(410, NOT_FOUND),
            ERROR: answer(500, NOT_FOUND),
            HANGUP: Response(NO_RESPONSE, [], b"") if head else answer(200, LIVE_BODY),
            NOHEAD_LIVE: answer(405, NOT_FOUND) if head else answer(200, LIVE_BODY),
            NOHEAD_GONE: answer(405, NOT_FOUND) if head else answer(404, NOT_FOUND),
            NOTIMPL: answer(501, NOT_FOUND) if head else answer(200, LIVE_BODY),
            MOVED: answer(301, b"", "text/html", ("Location", "/new")),
            MOVED_TO: answer(200, LIVE_BODY),
            IMAGE: answer(404, NOT_FOUND),
            AREA: answer(404, NOT_FOUND),
            self.loopback: answer(200, LIVE_BODY),
        }
        return pages.get(url, answer(404, NOT_FOUND))

    def since(self, start: int) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter(self.requests[start:])


@dataclass
class Step:
    proc: subprocess.CompletedProcess[str]
    requests: Counter[tuple[str, str]]  # (method, URL) → requests the web received


@dataclass
class Checked:
    web: LinkWeb
    data: Path
    refused: Step  # check-links --limit 1, without --allow-private
    first: Step  # check-links, --allow-private
    second: Step  # check-links again, nothing new linked
    broken: list[dict[str, object]]  # broken_outlinks seed.test after the first check


def step(web: LinkWeb, *args: str | Path) -> Step:
    start = len(web.requests)
    proc = linkindex(*args)
    return Step(proc, web.since(start))


def raw_pages(data: Path, crawl_id: str) -> list[tuple[object, ...]]:
    table = ds.dataset(data / "raw" / crawl_id / "pages", format="parquet").to_table()
    columns = ("url", "status", "content_type", "content_length", "redirect_to", "depth",
               "n_links", "ip", "error")
    return sorted(tuple(row[c] for c in columns) for row in table.to_pylist())


def summary(proc: subprocess.CompletedProcess[str], crawl_id: str) -> str:
    """The one line printed, without its timing and path."""
    [line] = proc.stdout.splitlines()
    head, sep, tail = line.rpartition(" in ")
    assert sep and tail.endswith(f"/raw/{crawl_id}"), line
    return head


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    web = LinkWeb()
    data = tmp_path_factory.mktemp("check") / "data"
    with WebServer(web) as server:  # type: ignore[arg-type]  # duck-typed web
        web.port = server.port
        proxy = server.proxy_url
        linkindex("crawl", SEED, *crawl_args(proxy, data, "c1"))
        linkindex("build", "--data", data)
        refused = step(web, "check-links", "--data", data, "--crawl-id", "refused",
                       "--proxy", proxy, "--limit", "1", *FAST, *ONE_CONNECTION_EACH)
        first = step(web, "check-links", *crawl_args(proxy, data, "k1"), *ONE_CONNECTION_EACH)
        linkindex("build", "--data", data)
        broken = json.loads(linkindex("query", "broken_outlinks", "seed.test", "--data", data,
                                      "--format", "json").stdout)
        second = step(web, "check-links", *crawl_args(proxy, data, "k2"), *ONE_CONNECTION_EACH)
    yield Checked(web, data, refused, first, second, broken)


@pytest.mark.slow
def test_broken_outlinks_lists_the_dead_targets_outside_the_crawl(checked: Checked) -> None:
    found = [(row["src_url"], row["dst_url"], row["status"], row["error"], row["anchor"],
              row["kind"], row["nofollow"]) for row in checked.broken]
    closed = ("connection: Connection was closed cleanly. "
              "(robots.txt unreachable: nothing fetched)")
    assert found == [
        (SEED, CLOSED, None, closed, "closed", "a", False),
        (SEED, AREA, 404, None, "spot", "area", False),
        (SEED, MISSING, 404, None, "missing", "a", False),
        ("http://seed.test/two", MISSING, 404, None, "missing", "a", False),
        (SEED, REMOVED, 410, None, "removed", "a", True),
        (SEED, ERROR, 500, None, "error", "a", False),
        (SEED, IMAGE, 404, None, "pic", "img", False),
        (SEED, NOHEAD_GONE, 404, None, "nohead gone", "a", False),
    ]


@pytest.mark.slow
def test_each_target_gets_one_row_head_first(checked: Checked) -> None:
    text = "text/html"
    n = len(LIVE_BODY)
    closed = ("connection: Connection was closed cleanly. "
              "(robots.txt unreachable: nothing fetched)")
    assert raw_pages(checked.data, "k1") == sorted([
        (LIVE, 200, text, n, None, None, None, None, None),
        (MISSING, 404, text, len(NOT_FOUND), None, None, None, None, None),
        (AREA, 404, text, len(NOT_FOUND), None, None, None, None, None),
        (REMOVED, 410, text, len(NOT_FOUND), None, None, None, None, None),
        (ERROR, 500, text, len(NOT_FOUND), None, None, None, None, None),
        (CLOSED, None, None, None, None, None, None, None, closed),
        (HANGUP, 200, text, n, None, None, None, None, None),  # GET after no answer
        (NOHEAD_LIVE, 200, text, n, None, None, None, None, None),  # GET after 405
        (NOHEAD_GONE, 404, text, len(NOT_FOUND), None, None, None, None, None),
        (NOTIMPL, 200, text, n, None, None, None, None, None),  # GET after 501
        (MOVED, 301, text, 0, MOVED_TO, None, None, None, None),  # recorded, not followed
        (PRIVATE, None, None, None, None, None, None, None,
         "robots: disallowed by robots.txt"),
        (IMAGE, 404, text, len(NOT_FOUND), None, None, None, None, None),
        # refused by the first run, checked again now that private addresses are allowed
        (checked.web.loopback, 200, text, n, None, None, None, None, None),
    ])
    assert not (checked.data / "raw" / "k1" / "edges").exists()  # pages rows only
    assert summary(checked.first.proc, "k1") == (
        "check-links k1: checked 14, broken 7 (5 HTTP 4xx, 1 HTTP 5xx, 1 broken connection), "
        "unfetched 1 (1 disallowed by robots.txt)")


@pytest.mark.slow
def test_requests_by_method(checked: Checked) -> None:
    loop_robots = checked.web.loopback.replace("/loop", "/robots.txt")
    robots = Counter({("GET", f"http://{host}/robots.txt"): 1 for host in (
        "live.test", "dead.test", "error.test", "hangup.test", "nohead.test", "moved.test",
        "robots.test", "img.test")})
    assert checked.first.requests == robots + Counter({
        ("GET", loop_robots): 1,
        ("GET", "http://closed.test/robots.txt"): RETRIED,  # unreachable: the page is not asked
        ("HEAD", LIVE): 1,
        ("HEAD", MISSING): 1,  # linked from two pages, fetched once
        ("HEAD", AREA): 1,
        ("HEAD", REMOVED): 1,
        ("HEAD", ERROR): RETRIED,  # a 5xx to HEAD is the answer: no GET
        ("HEAD", HANGUP): RETRIED, ("GET", HANGUP): 1,
        ("HEAD", NOHEAD_LIVE): 1, ("GET", NOHEAD_LIVE): 1,
        ("HEAD", NOHEAD_GONE): 1, ("GET", NOHEAD_GONE): 1,
        ("HEAD", NOTIMPL): 1, ("GET", NOTIMPL): 1,
        ("HEAD", MOVED): 1,  # MOVED_TO never: not followed
        ("HEAD", IMAGE): 1,
        ("HEAD", checked.web.loopback): 1,
    })  # PRIVATE never; ELSEWHERE (a redirect's target, not a, img or area) never
    # the same URL is never asked twice across runs: only robots.txt again, for the URL
    # it disallowed (robots.txt may have changed since)
    assert checked.second.requests == Counter({("GET", "http://robots.test/robots.txt"): 1})
    assert summary(checked.second.proc, "k2") == (
        "check-links k2: checked 1, broken 0, unfetched 1 (1 disallowed by robots.txt)")
    assert raw_pages(checked.data, "k2") == [
        (PRIVATE, None, None, None, None, None, None, None, "robots: disallowed by robots.txt")]


@pytest.mark.slow
def test_private_addresses_are_refused_as_the_crawler_refuses_them(checked: Checked) -> None:
    # --limit 1: each host's first URL in URL order; "http://127…" sorts first
    assert checked.refused.requests == Counter()  # not even its robots.txt
    assert summary(checked.refused.proc, "refused") == (
        "check-links refused: checked 1, broken 0, unfetched 1 (1 private address refused)")
    reason = refusal_reason("127.0.0.1")
    assert raw_pages(checked.data, "refused") == [
        (checked.web.loopback, None, None, None, None, None, None, None,
         f"refused: {reason} (allow with --allow-private)")]
    assert checked.refused.proc.stderr == (
        f"linkindex: warning: refused 1 URL to private, loopback or link-local addresses "
        f"(first: {reason}); allow them with --allow-private\n")


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    assert_one_line_error(linkindex("check-links", "--data", missing, check=False),
                          f"data directory {missing} does not exist")
    tmp_path.joinpath("empty").mkdir()
    assert_one_line_error(linkindex("check-links", "--data", tmp_path / "empty", check=False),
                          "no index built yet in")
    assert_one_line_error(
        linkindex("check-links", "--data", tmp_path / "empty", "--limit", "-1", check=False),
        "--limit must not be negative")
    assert_one_line_error(
        linkindex("check-links", "--data", tmp_path / "empty", "--crawl-id", "../x",
                  check=False),
        "bad crawl id '../x'")
    assert_one_line_error(
        linkindex("check-links", "--data", tmp_path / "empty", "--warc", check=False),
        "check-links archives nothing (it reads no body): drop --warc")
    assert_one_line_error(
        linkindex("check-links", "--data", tmp_path / "empty", "-s", "REDIRECT_ENABLED=true",
                  check=False),
        "setting REDIRECT_ENABLED is not used by linkindex")


@pytest.mark.slow
def test_nothing_to_check_starts_no_crawl(checked: Checked) -> None:
    proc = linkindex("check-links", "--data", checked.data, "--limit", "0",
                     "--crawl-id", "none")
    assert proc.stdout == "check-links: nothing to check (--limit 0)\n"
    assert not (checked.data / "raw" / "none").exists()
