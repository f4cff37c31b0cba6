"""Issue 13 on the crawl side: hostile pages and bad input end in rows and one line.

- every request the crawler gives up on is a pages row whose error names the failure,
  counted per kind in the summary, and the crawl goes on (item 1, item 3, item 8);
- bad input (settings Scrapy cannot read, settings linkindex does itself, a seed that
  cannot be fetched) is one clear line on stderr and a non-zero exit (items 8, 9, 10);
- behind a proxy, pages.ip is the site's address as resolved here, or null (item 14).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from clitools import FAST, REPO, linkindex, run
from clustertools import QUICK_LEASES, job_status
from hostileweb import BIG_BYTES, PAGES, HostileWeb, bomb, html

from core.errors import LinkindexError
from linkindex.localredis import RedisServer
from synthweb import WebServer

PATCHED = str(REPO / "tests" / "crawl_patched.py")
PAGE = "url, status, content_type, content_length, ip, error"
MAXSIZE = 10 * 1024 * 1024  # crawler/settings.py DOWNLOAD_MAXSIZE


def pages(data: Path, crawl_id: str, columns: str = PAGE) -> list[tuple]:
    return sorted(duckdb.sql(
        f"SELECT {columns} FROM read_parquet('{data}/raw/{crawl_id}/pages/*.parquet')"
    ).fetchall(), key=repr)


def patched(*args: str | Path, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """`linkindex ARGS` with tests/crawl_patched.py's test-only failures (env)."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return run([sys.executable, PATCHED, *map(str, args)], check=check)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def summary_line(stdout: str) -> str:
    """The summary without its timing: "crawl X: … errors (…)" up to " in 1.2s"."""
    [line] = stdout.splitlines()
    return re.sub(r" in [\d.]+s \([\d,]+ pages/s\) → .*", "", line)


# ---- every give-up is a row, counted by kind; the crawl goes on ------------------------


@pytest.mark.slow
def test_every_request_given_up_on_is_a_row_with_its_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused_port = closed_port()
    with HostileWeb() as web:
        tls = web.url("/").replace("http:", "https:")  # a TLS hello to a plain-HTTP server
        proc = patched(
            "crawl", web.url("/"), f"http://127.0.0.1:{refused_port}/", tls, "--data", data,
            "--crawl-id", "h", "--allow-private", *FAST, "-s", "DOWNLOAD_TIMEOUT=1",
            "-s", "RETRY_ENABLED=false", LINKINDEX_TEST_FAIL="/fail")
        requested = web.requested
    ip = "127.0.0.1"
    text = "text/html"
    rows = pages(data, "h")
    refused = (f"http://127.0.0.1:{refused_port}/", None, None, None, None)
    [refused_error] = [row[5] for row in rows if row[:5] == refused]
    assert refused_error.startswith("connection refused: Connection was refused")
    handshake = (tls, None, None, None, None)
    [tls_error] = [row[5] for row in rows if row[:5] == handshake]
    assert tls_error.startswith("tls: ")  # OpenSSL says why: "wrong version number"
    chunked = (web.url("/chunked"), None, None, None, None)
    [chunked_error] = [row[5] for row in rows if row[:5] == chunked]
    received = re.fullmatch(rf"too large: received (\d+) bytes, over DOWNLOAD_MAXSIZE "
                            rf"\({MAXSIZE} bytes\)", chunked_error)
    assert received and MAXSIZE < int(received.group(1)) <= BIG_BYTES, chunked_error
    assert rows == sorted([
        (web.url("/"), 200, text, len(html("Hostile", PAGES)), ip, None),
        (web.url("/ok"), 200, text, len(html("ok")), ip, None),
        # item 1: extraction failed; the page is kept with what is known of it
        (web.url("/fail"), 200, text, len(html("fail")), ip, "extract: KeyError: 'href'"),
        # item 3: a gzip bomb is a page with an error, not nothing
        (web.url("/bomb"), 200, text, None, ip,
         f"too large: over DOWNLOAD_MAXSIZE ({MAXSIZE} bytes) after decompression "
         f"({len(bomb())} bytes compressed)"),
        (web.url("/big"), None, None, None, None,
         f"too large: announced {BIG_BYTES} bytes, over DOWNLOAD_MAXSIZE ({MAXSIZE} bytes)"),
        (web.url("/slow"), None, None, None, None,
         f"timeout: Getting {web.url('/slow')} took longer than 1.0 seconds."),
        (*refused, refused_error),
        (*handshake, tls_error),
        (*chunked, chunked_error),  # no length announced: cut off once over the limit
        # not fetched, so that an analyst sees why it has no status
        (web.url("/blocked"), None, None, None, None, "robots: disallowed by robots.txt"),
    ], key=repr)
    assert "/blocked" not in requested  # robots.txt obeyed
    assert summary_line(proc.stdout) == (
        "crawl h: 10 pages, 7 links, 8 errors (1 connection refused, 1 timeout, 1 TLS failure, "
        "3 too large, 1 extraction failure, 1 disallowed by robots.txt)")
    assert proc.stderr == (
        "linkindex: warning: extraction failed on 1 page, each stored with its error, "
        f"first: {web.url('/fail')}: extract: KeyError: 'href'\n")


@pytest.mark.slow
def test_an_extraction_failure_in_a_cluster_job_is_acknowledged(
        redis_server: RedisServer, web_server: WebServer, tmp_path: Path) -> None:
    """Item 1 in cluster mode: the failed page's lease is acknowledged (as failed, with
    its error), so the job finishes and the worker exits."""
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("http://site3.example/\n")
    linkindex("job", "submit", "xfail", "--redis", redis_server.url, "--seeds-file", seeds,
              "--delay", "0")
    data = tmp_path / "data"
    patched("worker", "--redis", redis_server.url, "--data", data, "--job", "xfail",
            "--proxy", web_server.proxy_url, "--allow-private", *FAST, *QUICK_LEASES,
            LINKINDEX_TEST_FAIL="site3.example/p/2")
    status = job_status(redis_server.url, "xfail")
    assert status["finished"] and status["leased"] == 0 and status["failed"] == 1
    failed = [row for row in pages(data, "xfail", "url, status, error")
              if row[2] and not row[2].startswith("robots: ")]  # /private/: acked ignored
    assert failed == [("http://site3.example/p/2", 200, "extract: KeyError: 'href'")]


# ---- bad input: one line, non-zero exit ------------------------------------------------


def assert_one_line(proc: subprocess.CompletedProcess[str], line: str) -> None:
    assert "Traceback" not in proc.stderr and "Unhandled error" not in proc.stderr
    assert (proc.returncode, proc.stderr) == (1, line + "\n")


BAD_SETTINGS = [
    ("DOWNLOAD_DELAY=fast", "setting DOWNLOAD_DELAY must be a number, not 'fast'"),
    ("RETRY_TIMES=1.5", "setting RETRY_TIMES must be a whole number, not '1.5'"),
    ("ROBOTSTXT_OBEY=yes", "setting ROBOTSTXT_OBEY must be true or false, not 'yes'"),
    ("DOWNLOAD_SLOTS=fast", "setting DOWNLOAD_SLOTS must be a JSON object, "
                            "e.g. '{\"NAME\": 100}', not 'fast'"),
    ("LOG_LEVEL=LOUD", "setting LOG_LEVEL must be one of CRITICAL, FATAL, ERROR, WARN, "
                       "WARNING, INFO, DEBUG, NOTSET, not 'LOUD'"),
    ("DEPTH_LIMIT=1", "setting DEPTH_LIMIT is not used by linkindex: use --max-depth N"),
    ("REDIRECT_ENABLED=true", "setting REDIRECT_ENABLED is not used by linkindex: each "
     "redirect is recorded (a page and a link) and its target fetched as a new request: "
     "limit chains with --max-depth"),
    ("CLOSESPIDER_PAGECOUNT=5", "setting CLOSESPIDER_PAGECOUNT is not used by linkindex: "
     "use --max-pages N (it counts pages, not robots.txt responses)"),
    ("SCHEDULER=no_such_module.Scheduler",
     "the crawl failed: ModuleNotFoundError: No module named 'no_such_module'"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("setting", "message"), BAD_SETTINGS,
                         ids=[s.split("=")[0] for s, _ in BAD_SETTINGS])
def test_a_bad_setting_is_one_line(setting: str, message: str, tmp_path: Path) -> None:
    proc = linkindex("crawl", "http://site1.example/", "--data", tmp_path / "data",
                     "-s", setting, check=False)
    assert_one_line(proc, f"linkindex: error: {message}")
    assert proc.stdout == ""


@pytest.mark.slow
def test_an_unresolvable_seed_is_one_line_and_a_row(tmp_path: Path) -> None:
    """Item 8: no robots.txt tracebacks, exit 1 as nothing was fetched, the page a row."""
    data = tmp_path / "data"
    proc = linkindex("crawl", "http://no-such-host.invalid/", "--data", data, "--crawl-id",
                     "dns", "-s", "DOWNLOAD_DELAY=0", check=False)
    assert_one_line(proc, "linkindex: error: no page fetched: 1 DNS failure")
    assert summary_line(proc.stdout) == "crawl dns: 1 pages, 0 links, 1 errors (1 DNS failure)"
    [(url, status, error)] = pages(data, "dns", "url, status, error")
    assert (url, status) == ("http://no-such-host.invalid/", None)
    assert error.startswith("dns: ") and "no-such-host.invalid" in error


@pytest.mark.slow
def test_a_private_seed_says_why_and_which_flag(tmp_path: Path) -> None:
    """Item 9: the refused seed is counted, named, and the flag given."""
    data = tmp_path / "data"
    with HostileWeb() as web:
        proc = linkindex("crawl", web.url("/"), "--data", data, "--crawl-id", "priv",
                         *FAST, check=False)
        assert web.requested == []  # nothing reached the server
    assert_one_line(proc, (
        "linkindex: error: no page fetched: refused 1 seed to private, loopback or "
        "link-local addresses (first: 127.0.0.1 is loopback); allow them with "
        "--allow-private"))
    assert summary_line(proc.stdout) == (
        "crawl priv: 1 pages, 0 links, 1 errors (1 private address refused)")
    assert pages(data, "priv", "url, status, error") == [
        (web.url("/"), None, "refused: 127.0.0.1 is loopback (allow with --allow-private)")]


# ---- Scrapy settings the project does itself: refused with the option, or honoured -----


def test_overridden_scrapy_settings_are_refused_with_the_option_to_use() -> None:
    from crawler.runner import scrapy_settings

    for setting, instead in [
        ("DEPTH_LIMIT", "use --max-depth N"),
        ("DEPTH_PRIORITY", "crawls are breadth-first already"),
        ("REDIRECT_MAX_TIMES", "limit chains with --max-depth"),
        ("METAREFRESH_ENABLED", "limit chains with --max-depth"),
        ("DUPEFILTER_CLASS", "the spider keeps its own set of URLs seen"),
        ("HTTPERROR_ALLOW_ALL", "every response is recorded in pages"),
        ("CLOSESPIDER_PAGECOUNT", "use --max-pages N"),
    ]:
        value = {"DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter",
                 "METAREFRESH_ENABLED": "true", "HTTPERROR_ALLOW_ALL": "false"}.get(setting, "3")
        with pytest.raises(LinkindexError, match=re.escape(instead)) as error:
            scrapy_settings({setting: value})
        assert str(error.value).startswith(f"setting {setting} is not used by linkindex: ")
    depth = "scrapy.spidermiddlewares.depth.DepthMiddleware"
    with pytest.raises(LinkindexError, match="DepthMiddleware stays off in linkindex: use "
                                             "--max-depth N"):
        scrapy_settings({"SPIDER_MIDDLEWARES": f'{{"{depth}": 900}}'})
    guard = "crawler.middlewares.PrivateAddressMiddleware"
    with pytest.raises(LinkindexError, match=f"{guard} stays on in linkindex"):
        scrapy_settings({"DOWNLOADER_MIDDLEWARES": f'{{"{guard}": null}}'})


def test_harmless_values_of_overridden_settings_pass() -> None:
    from crawler.runner import scrapy_settings

    settings = scrapy_settings({
        "DEPTH_LIMIT": "0", "REDIRECT_ENABLED": "false", "HTTPERROR_ALLOW_ALL": "1",
        "CLOSESPIDER_TIMEOUT": "2.5", "CLOSESPIDER_ITEMCOUNT": "10",
        "SPIDER_MIDDLEWARES": '{"my.Middleware": 10}',
        "DOWNLOADER_MIDDLEWARES": '{"my.Downloader": 10}',
    })
    # another middleware of one's own: ours stay, the depth middleware stays off
    spider = settings.getdict("SPIDER_MIDDLEWARES")
    assert spider == {"my.Middleware": 10, "scrapy.spidermiddlewares.depth.DepthMiddleware": None}
    downloader = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert downloader["my.Downloader"] == 10
    assert downloader["crawler.middlewares.PrivateAddressMiddleware"] == 50


@pytest.mark.slow
def test_closespider_limits_are_honoured(web_server: WebServer, seeds_file: Path,
                                         tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = linkindex("crawl", "--seeds-file", seeds_file, "--data", data, "--crawl-id", "cs",
                     "--proxy", web_server.proxy_url, "--allow-private", *FAST,
                     "-s", "CLOSESPIDER_ITEMCOUNT=20")
    assert ", stopped early (closespider_itemcount) in " in proc.stdout
    stored = len(pages(data, "cs", "url"))
    assert 20 <= stored < 200  # the pages in flight when it stopped are kept


# ---- pages.ip behind a proxy: the site's address, never the proxy's -------------------


@pytest.mark.slow
def test_pages_ip_behind_a_proxy_is_the_sites_address_or_null(web_server: WebServer,
                                                               tmp_path: Path) -> None:
    data = tmp_path / "data"
    base = ["--data", data, "--proxy", web_server.proxy_url, *FAST, "--max-pages", "3"]
    # resolved here (to check it is public): that address
    patched("crawl", "http://site3.example/", "--crawl-id", "resolved", *base,
            LINKINDEX_TEST_HOSTS="site3.example=93.184.216.34")
    assert {ip for (ip,) in pages(data, "resolved", "ip")} == {"93.184.216.34"}
    # an address for a host: that address (the proxy answers 502: no such site)
    # (robots.txt off: through this proxy it answers 502, which disallows the host)
    linkindex("crawl", "http://93.184.216.34/", "--crawl-id", "literal", *base,
              "-s", "ROBOTSTXT_OBEY=false")
    assert pages(data, "literal", "url, status, ip") == [
        ("http://93.184.216.34/", 502, "93.184.216.34")]
    # not resolved here (--allow-private skips the check): unknown, not the proxy's
    linkindex("crawl", "http://site3.example/", "--crawl-id", "unresolved", *base,
              "--allow-private")
    assert {ip for (ip,) in pages(data, "unresolved", "ip")} == {None}


# ---- the command line: --version, and help for every option ---------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    from linkindex.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"linkindex {version('linkindex')}\n"


def _actions(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Any:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, (*path, name))
        else:
            yield path, action


def test_every_option_and_argument_has_help() -> None:
    from linkindex.cli import build_parser

    missing = [(" ".join(path), action.option_strings or action.dest)
               for path, action in _actions(build_parser()) if not action.help]
    assert missing == []


# ---- the spider's errback, in process: rows, counts and leases per kind ----------------


class _Stats(dict):
    def inc_value(self, key: str, count: int = 1) -> None:
        self[key] = self.get(key, 0) + count

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self[key] = value


class _Frontier:
    """A cluster worker's frontier client, as far as the spider's errback uses it."""

    def __init__(self) -> None:
        self.acks: list[tuple[str, str]] = []

    def ack(self, outcomes: list[tuple[str, str]]) -> None:
        self.acks.extend(outcomes)


def _spider(tmp_path: Path, *, cluster: bool) -> Any:
    from crawler.runner import crawl_settings
    from crawler.spiders.links import LinksSpider

    settings = crawl_settings({"LINKINDEX_SEEDS": ["http://a.example/"],
                               "LINKINDEX_DATA": str(tmp_path), "LINKINDEX_CRAWL_ID": "u"})
    spider = LinksSpider.__new__(LinksSpider)
    spider.crawler = argparse.Namespace(settings=settings, stats=_Stats())
    spider.configure(settings)
    if cluster:
        spider.shared = _Frontier()
    return spider


def _fail(spider: Any, exc: BaseException, url: str, depth: int = 1) -> list[Any]:
    from scrapy import Request
    from twisted.python.failure import Failure

    request = Request(url, meta={"depth": depth, "lease": url})
    failure = Failure(exc)
    failure.request = request  # as Scrapy hands it to an errback
    return list(spider.on_error(failure))


def test_errback_rows_counts_and_leases(tmp_path: Path) -> None:
    from scrapy.exceptions import CannotResolveHostError, IgnoreRequest

    from crawler.failures import PrivateAddressRefused, ResponseTooLarge

    spider = _spider(tmp_path, cluster=True)
    # robots.txt: not fetched, a row carrying the lease, acknowledged "ignored" (its slot
    # back) only once the row is stored: a worker killed before that loses no row
    [robots] = _fail(spider, IgnoreRequest("Forbidden by robots.txt"), "http://a.example/r")
    assert (robots["lease"], robots["lease_outcome"]) == ("http://a.example/r", "ignored")
    assert robots["page"]["error"] == "robots: disallowed by robots.txt"
    # the private-address guard: the same
    [refused] = _fail(spider, PrivateAddressRefused("10.0.0.1 is private"), "http://10.0.0.1/")
    assert (refused["lease"], refused["lease_outcome"]) == ("http://10.0.0.1/", "ignored")
    assert refused["page"]["error"] == "refused: 10.0.0.1 is private (allow with --allow-private)"
    # fetched but given up on: a row carrying the lease (acknowledged once stored, as failed)
    [large] = _fail(spider, ResponseTooLarge("over DOWNLOAD_MAXSIZE", 200, "text/html; x=y",
                                             "93.184.216.34"), "http://a.example/bomb")
    assert large["lease"] == "http://a.example/bomb"
    page = large["page"]
    assert (page["status"], page["content_type"], page["ip"], page["error"]) == (
        200, "text/html", "93.184.216.34", "too large: over DOWNLOAD_MAXSIZE")
    [dns] = _fail(spider, CannotResolveHostError(
        "DNS lookup failed: no results for hostname lookup: b.example."), "http://b.example/")
    assert dns["page"]["error"] == "dns: no results for hostname lookup: b.example"
    assert spider.shared.acks == []  # nothing acknowledged before its row is stored
    assert "lease_outcome" not in large
    stats = spider.crawler.stats
    assert {k: v for k, v in stats.items() if not k.startswith("linkindex/first_error/")} == {
        "linkindex/errors/robots": 1, "linkindex/refused/requests": 1,
        "linkindex/errors": 4, "linkindex/errors/refused": 1, "linkindex/errors/too large": 1,
        "linkindex/errors/dns": 1, "linkindex/pages": 4, "linkindex/responses": 1}


def test_errback_gives_the_slot_back_for_requests_not_fetched(tmp_path: Path) -> None:
    from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest

    from crawler.failures import PrivateAddressRefused

    spider = _spider(tmp_path, cluster=False)
    spider.scheduled, spider.per_domain["a.example"] = 3, 3
    _fail(spider, IgnoreRequest("Forbidden by robots.txt"), "http://a.example/r")
    _fail(spider, PrivateAddressRefused("x"), "http://a.example/p", depth=0)
    assert (spider.scheduled, spider.per_domain["a.example"]) == (1, 1)
    [timeout] = _fail(spider, DownloadTimeoutError("took longer than 1.0 seconds."),
                      "http://a.example/t")
    assert (spider.scheduled, timeout["page"]["error"]) == (1, "timeout: took longer than 1.0 "
                                                               "seconds.")
    assert spider.crawler.stats["linkindex/refused/seeds"] == 1


def test_failure_kinds() -> None:
    from OpenSSL import SSL
    from scrapy.exceptions import DownloadFailedError
    from twisted.internet.error import ConnectionLost
    from twisted.python.failure import Failure
    from twisted.web._newclient import ResponseNeverReceived

    from crawler.failures import PrivateAddressResolved, classify, error_text

    def wrapped(outer: BaseException, inner: BaseException) -> BaseException:
        outer.__cause__ = inner
        return outer

    tls = ResponseNeverReceived([Failure(SSL.Error([("SSL routines", "", "wrong version")]))])
    assert classify(wrapped(DownloadFailedError(str(tls)), tls)) == ("tls", "wrong version")
    lost = ResponseNeverReceived([Failure(ConnectionLost("gone"))])
    assert classify(wrapped(DownloadFailedError(str(lost)), lost)) == (
        "connection", "Connection to the other side was lost in a non-clean fashion: gone.")
    resolved = PrivateAddressResolved("a.example resolves to 10.1.2.3 (private)")
    assert classify(wrapped(DownloadFailedError("DNS lookup failed"), resolved)) == (
        "refused", "a.example resolves to 10.1.2.3 (private) (allow with --allow-private)")
    assert classify(ValueError("odd")) == ("other", "ValueError: odd")
    assert error_text("dns", "a\nb " + "x" * 400) == ("dns: a b " + "x" * 400)[:300]
