"""The command line, through subprocesses, as a user runs it."""

from __future__ import annotations

import csv
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from clitools import FAST, REPO, assert_one_line_error, crawl_args, linkindex, run

from synthweb import WebServer

CONTENT = (
    "url, host, domain, status, content_type, content_length, title, lang, redirect_to, "
    "canonical, meta_noindex, meta_nofollow, n_links, n_external_links, n_skipped_links, error"
)


def rows(data: Path, crawl_id: str, table: str, columns: str) -> list[tuple]:
    return sorted(
        duckdb.sql(
            f"SELECT {columns} FROM read_parquet('{data}/raw/{crawl_id}/{table}/*.parquet')"
        ).fetchall(),
        key=repr,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_scrapy_crawl_and_linkindex_crawl_write_the_same_parts(
    crawled: Path, web_server: WebServer, seeds_file: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    run([
        sys.executable, "-m", "scrapy", "crawl", "links",
        "-a", f"seeds_file={seeds_file}", "-a", f"data={data}", "-a", "crawl_id=s1",
        "-a", f"proxy={web_server.proxy_url}", "-a", "allow_private=true",
        *FAST, "-s", "LOG_LEVEL=WARNING",
    ], cwd=REPO)
    assert rows(data, "s1", "pages", CONTENT) == rows(crawled, "c1", "pages", CONTENT)
    edge_columns = "* EXCLUDE (crawl_id, fetched_at)"
    assert rows(data, "s1", "edges", edge_columns) == rows(crawled, "c1", "edges", edge_columns)


@pytest.mark.slow
def test_query_formats(crawled: Path) -> None:
    table = linkindex("query", "referring_domains", "site1.example", "--data", crawled,
                      "--limit", "3")
    assert "referring_domains" in table.stdout and "site0.example" in table.stdout
    as_csv = linkindex("query", "referring_domains", "site1.example", "--data", crawled,
                       "--format", "csv")
    parsed = list(csv.DictReader(as_csv.stdout.splitlines()))
    as_json = json.loads(linkindex("query", "referring_domains", "site1.example", "--data",
                                   crawled, "--format", "json").stdout)
    assert [r["src_domain"] for r in parsed] == [r["src_domain"] for r in as_json]
    assert len(as_json) > 3


@pytest.mark.slow
def test_sql_and_init_file(crawled: Path) -> None:
    out = linkindex("sql", "SELECT count(*) AS n FROM edges", "--data", crawled,
                    "--format", "json")
    n = json.loads(out.stdout)[0]["n"]
    assert n == duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{crawled}/index/*/edges/*/*.parquet')"
    ).fetchall()[0][0]
    con = duckdb.connect(config={"file_search_path": str(crawled)})  # paths relative to DATA
    con.execute((crawled / "linkindex.sql").read_text())
    assert con.execute("SELECT count(*) FROM edges").fetchone()[0] == n
    printed = linkindex("sql", "--print-init", "--data", crawled).stdout
    assert "CREATE" in printed and "referring_domains" in printed


@pytest.mark.slow
def test_export_writes_csv(crawled: Path, tmp_path: Path) -> None:
    out = tmp_path / "rd.csv"
    proc = linkindex("export", "referring_domains", "site1.example", "--data", crawled,
                     "-o", out, "--bom")
    assert proc.stdout.startswith("wrote ")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n", 1)[0].decode()
    assert header.startswith("src_domain,")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "nosuch", "x.example"], "unknown query 'nosuch'"),
        (["query", "backlinks", "nothing-here.example"], "no data for target nothing-here.example"),
        (["query", "backlinks"], "usage"),
        (["sql", "SELEC nonsense"], "syntax error"),
    ],
)
def test_query_errors(crawled: Path, args: list[str], message: str) -> None:
    assert_one_line_error(linkindex(*args, "--data", crawled, check=False), message)


@pytest.mark.slow
def test_missing_empty_and_unbuilt_data(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert_one_line_error(
        linkindex("query", "overview", "a.example", "--data", missing, check=False),
        "does not exist",
    )
    assert_one_line_error(linkindex("build", "--data", missing, check=False), "does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(linkindex("build", "--data", empty, check=False), "no crawl data")
    assert_one_line_error(
        linkindex("query", "overview", "a.example", "--data", empty, check=False),
        "no index built yet",
    )


@pytest.mark.slow
def test_bad_crawl_input(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert_one_line_error(
        linkindex("crawl", "ftp://example.com/", "--data", data, check=False), "bad seed URL"
    )
    assert_one_line_error(linkindex("crawl", "--data", data, check=False), "no seed URLs")
    assert_one_line_error(
        linkindex("crawl", "--seeds-file", tmp_path / "nope.txt", "--data", data, check=False),
        "cannot read seeds file",
    )
    assert_one_line_error(
        linkindex("crawl", "http://a.example/", "--data", data, "--proxy",
                  f"http://127.0.0.1:{free_port()}", check=False),
        "is unreachable",
    )
    assert_one_line_error(
        linkindex("crawl", "http://a.example/", "--data", data, "--crawl-id", "../x",
                  check=False),
        "bad crawl id",
    )
    assert not data.exists()  # nothing half-made


@pytest.mark.slow
def test_corrupt_part_is_skipped_and_nothing_indexed_is_lost(crawled: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(crawled, data)
    before = linkindex("sql", "SELECT count(*) AS n FROM edges", "--data", data,
                       "--format", "json").stdout
    edges_dir = data / "raw" / "c1" / "edges"
    (edges_dir / "killed-000000.parquet").write_bytes(b"PAR1")
    (edges_dir / "garbage-000000.parquet").write_bytes(b"not parquet at all" * 100)
    proc = linkindex("build", "--data", data, check=False)
    assert proc.returncode == 3  # built from the rest, with warnings (README)
    assert "killed-000000.parquet" in proc.stderr and "garbage-000000.parquet" in proc.stderr
    assert "Traceback" not in proc.stderr
    after = linkindex("sql", "SELECT count(*) AS n FROM edges", "--data", data,
                      "--format", "json").stdout
    assert after == before


@pytest.mark.slow
def test_private_addresses_are_refused_unless_allowed(web_server: WebServer,
                                                      tmp_path: Path) -> None:
    seed = f"http://127.0.0.1:{web_server.port}/"

    def hits() -> int:
        return sum(1 for entry in web_server.access_log() if entry[1].startswith("127.0.0.1"))

    before = hits()
    refused = linkindex("crawl", seed, "--data", tmp_path / "a", "--crawl-id", "r1", *FAST,
                        check=False)
    # nothing fetched: exit 1, the refused seed stored as a row with its reason (issue 13)
    assert refused.returncode == 1 and "1 errors (1 private address refused)" in refused.stdout
    assert "allow them with --allow-private" in refused.stderr
    assert hits() == before  # no request reached the server
    allowed = linkindex("crawl", seed, "--data", tmp_path / "b", "--crawl-id", "r2",
                        "--allow-private", "-s", "ROBOTSTXT_OBEY=false",
                        "-s", "RETRY_ENABLED=false", *FAST)
    assert "1 pages" in allowed.stdout
    assert hits() == before + 1


@pytest.mark.slow
def test_limits(web_server: WebServer, seeds_file: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    linkindex("crawl", "--seeds-file", seeds_file,
              *crawl_args(web_server.proxy_url, data, "lim", "--max-pages", "30"))
    # --max-pages counts pages fetched: a URL robots.txt disallows has a row (nothing is
    # lost) but gives its slot back, so there may be more rows than the limit.
    pages = rows(data, "lim", "pages", "url, error")
    fetched = [error for _, error in pages if not (error or "").startswith("robots:")]
    assert fetched == [None] * 30
    linkindex("crawl", "http://site3.example/",
              *crawl_args(web_server.proxy_url, data, "depth", "--max-depth", "1"))
    depths = rows(data, "depth", "pages", "depth")
    assert {d for (d,) in depths} == {0, 1}
    linkindex("crawl", "--seeds-file", seeds_file,
              *crawl_args(web_server.proxy_url, data, "per", "--max-pages-per-domain", "2"))
    per_domain = duckdb.sql(
        f"SELECT max(n) FROM (SELECT count(*) n FROM read_parquet('{data}/raw/per/pages/*.parquet')"
        " GROUP BY domain)"
    ).fetchall()[0][0]
    assert per_domain == 2


@pytest.mark.slow
def test_demo(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = linkindex("demo", "--out", out, "--sites", "50", "--pages", "8")
    for title in ("overview", "top referring domains", "anchor texts", "link gap"):
        assert title in proc.stdout
    for name in ("overview", "backlinks", "referring_domains", "anchors", "top_pages",
                 "link_gap"):
        lines = (out / "csv" / f"{name}.csv").read_text().splitlines()
        assert len(lines) >= 2, name
    assert (out / "data" / "linkindex.sql").exists()
    # running it again starts clean, and it never deletes a folder it did not make
    linkindex("demo", "--out", out, "--sites", "50", "--pages", "8")
    other = tmp_path / "mine"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    assert_one_line_error(linkindex("demo", "--out", other, check=False), "not a demo folder")
    assert (other / "precious.txt").read_text() == "keep"


@pytest.mark.slow
def test_progress_line_and_download_maxsize(web_server: WebServer, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = linkindex("crawl", "http://site2.example/",
                     *crawl_args(web_server.proxy_url, data, "big", "--max-pages", "3"),
                     "-s", "LINKINDEX_PROGRESS=on", "-s", "DOWNLOAD_MAXSIZE=600")
    assert "\x1b[Kpages " in proc.stderr and " edges " in proc.stderr
    [(status, error)] = duckdb.sql(
        f"SELECT status, error FROM read_parquet('{data}/raw/big/pages/*.parquet')"
    ).fetchall()
    assert status is None and "600" in error  # over DOWNLOAD_MAXSIZE: recorded, not parsed
    quiet = linkindex("crawl", "http://site2.example/",
                      *crawl_args(web_server.proxy_url, data, "quiet", "--max-pages", "1"))
    assert "pages " not in quiet.stderr  # not a terminal: no progress line


def test_testweb_serves_the_synthetic_web(tmp_path: Path) -> None:
    port = free_port()
    seeds = tmp_path / "seeds.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "linkindex", "testweb", "--port", str(port), "--sites", "5",
         "--pages", "8", "--seeds-file", str(seeds)],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        line = proc.stdout.readline()
        assert f"proxy http://127.0.0.1:{port}" in line
        assert seeds.read_text().splitlines()[0] == "http://site0.example/"
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET http://site3.example/robots.txt HTTP/1.1\r\n"
                         b"Host: site3.example\r\nConnection: close\r\n\r\n")
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200") and b"Disallow: /private/" in reply
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_export_neutralises_formulas(crawled: Path, tmp_path: Path) -> None:
    out = tmp_path / "anchors.csv"
    linkindex("export", "anchors", "formula.example", "--data", crawled, "-o", out)
    with out.open(newline="", encoding="utf-8") as fh:
        anchors = sorted(row["anchor"] for row in csv.DictReader(fh))
    assert anchors == sorted(
        ["'=HYPERLINK(\"http://evil.example/\",\"click\")", "'+1+1", "'-2+3", "'@SUM(A1:A9)"]
    )


@pytest.mark.slow
def test_ctrl_c_keeps_every_fetched_page(seeds_file: Path, tmp_path: Path) -> None:
    """SIGINT mid-crawl: Scrapy shuts down gently and the buffered rows are written."""
    from synthweb import SyntheticWeb

    web = SyntheticWeb(n_sites=50, pages_per_site=40, seed=3)
    data = tmp_path / "data"
    with WebServer(web, access_log=True) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "linkindex", "crawl", "--seeds-file", str(seeds_file),
             "--data", str(data), "--crawl-id", "int", "--proxy", server.proxy_url,
             "--allow-private", "-s", "DOWNLOAD_DELAY=0.2", "-s", "CONCURRENT_REQUESTS=8"],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 60
        while sum(1 for e in server.access_log() if not e[2].endswith("robots.txt")) < 40:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        fetched = {(e[1], e[2]) for e in server.access_log() if not e[2].endswith("robots.txt")}
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    stored = rows(data, "int", "pages", "url")
    assert len(stored) >= 40 and f"{len(stored)} pages" in out
    assert len(stored) < len(web.expected_crawl().pages)  # it really was interrupted
    # every stored page was fetched, and at most the requests in flight are missing
    assert len(fetched) - len(stored) <= 8


def test_build_with_a_corrupt_part_warns_once_and_exits_3(tmp_path: Path) -> None:
    """Issue 13, item 11: one warning per skipped part, exit 3 ("built with warnings"),
    on the build that skips it and on each later one that keeps it out of the index."""
    from rawdata import fetch, utc, write_crawl

    data = tmp_path / "data"
    write_crawl(data, "c1", [fetch("https://www.a.example/", ["https://www.b.example/"],
                                   at=utc("2025-01-01T10:00"))])
    stub = data / "raw" / "c1" / "edges" / "killed-000000.parquet"
    stub.write_bytes(b"PAR1")
    warning = ("linkindex: warning: skipped raw/c1/edges/killed-000000.parquet: unreadable "
               "Parquet footer (Parquet file size is 4 bytes, smaller than the minimum file "
               "footer (8 bytes))\n")
    first = linkindex("build", "--data", data, check=False)
    assert (first.returncode, first.stderr) == (3, warning)
    assert first.stdout.startswith(
        "built index g000001: 1 links (1 live), 1 pages, 2 domains (full: no index yet)\n")
    again = linkindex("build", "--data", data, check=False)
    assert (again.returncode, again.stderr) == (3, warning)
    assert again.stdout.startswith("index g000001 is up to date")
    stub.unlink()  # moved away: the next build is clean
    clean = linkindex("build", "--data", data, check=False)
    assert (clean.returncode, clean.stderr) == (0, "")
    assert clean.stdout.startswith("built index g000002: 1 links")
