"""`linkindex cc-fetch`: link-level detail for the graph's referring domains, from a small
Common Crawl in the real layout served over HTTP on loopback: a columnar URL index
(Parquet, the real column names, small row groups so that statistics can skip them),
its published path list, and WARC files whose records are fetched by range request.
The pages' HTML is written here, so each imported link's anchor, rel and position is
known exactly.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ccgraph_files import write_release
from clitools import assert_one_line_error, linkindex
from fileserver import serve_folder
from indexdata import edge, write_index
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from queries import run_query

CRAWL = "CC-MAIN-2099-01"
RELEASE = "cc-main-2099-test"
TARGET = "target.example"
# The target's referring domains in the graph, and each one's pages in the crawl:
# (path, HTTP status). Two pages per domain are fetched: 2xx first, then by URL.
REFERRERS = {
    "alpha.example": [("/a", 200), ("/b", 200), ("/c", 200)],
    "beta.co.uk": [("/gone", 404), ("/x", 200)],
    "gamma.example": [("/only", 200)],
}
NOISE = ["noise1.example", "noise2.example", "zzz.example"]  # in the index, not asked


def html(domain: str, path: str) -> str:
    """A page with one content link, one nofollow footer link and one link elsewhere."""
    return (f"<html><head><title>{domain}{path}</title></head><body><main><p>See "
            f"<a href=\"https://{TARGET}/{domain}\">{domain} on {path}</a></p></main>"
            f"<footer><a rel=\"nofollow\" href=\"https://{TARGET}/\">home</a></footer>"
            f"<a href=\"https://other.example/\">other</a></body></html>")


def surt(url: str) -> str:
    host, _, path = url.removeprefix("https://").partition("/")
    return ",".join(reversed(host.split("."))) + ")/" + path


def write_warc(folder: Path, name: str, pages: list[tuple[str, int, str]]) -> list[dict]:
    """A gzipped WARC (one gzip member per record) and where each response record is."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    rows = []
    for url, status, body in pages:
        start = buffer.tell()
        headers = StatusAndHeaders(f"{status} {'OK' if status == 200 else 'Not Found'}",
                                   [("Content-Type", "text/html; charset=utf-8")],
                                   protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            url, "response", payload=io.BytesIO(body.encode()), http_headers=headers,
            warc_headers_dict={"WARC-Date": "2099-01-05T10:00:00Z"}))
        rows.append({"url": url, "fetch_status": status, "warc_record_offset": start,
                     "warc_record_length": buffer.tell() - start})
        writer.write_record(writer.create_warc_record(  # a request record between
            url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return rows


def publish_crawl(root: Path) -> None:
    """The crawl's WARC files, its columnar index and the index's path list."""
    pages = [(f"https://www.{domain}{path}", status, html(domain, path))
             for domain, items in REFERRERS.items() for path, status in items]
    pages += [(f"https://{domain}/", 200, html(domain, "/")) for domain in NOISE]
    rows = []
    for number, chunk in enumerate((pages[::2], pages[1::2])):
        name = f"crawl-data/{CRAWL}/segments/1/warc/{CRAWL}-0000{number}.warc.gz"
        for row in write_warc(root, name, chunk):
            rows.append({**row, "warc_filename": name})
    for row in rows:
        host = row["url"].removeprefix("https://").split("/")[0]
        row.update(url_surtkey=surt(row["url"]), url_host_name=host,
                   url_host_registered_domain=host.removeprefix("www."),
                   content_mime_detected="text/html", warc_segment="1")
    rows.sort(key=lambda row: row["url_surtkey"])
    table = pa.Table.from_pylist(rows).cast(pa.schema([
        ("url", pa.string()), ("fetch_status", pa.int16()), ("warc_record_offset", pa.int32()),
        ("warc_record_length", pa.int32()), ("warc_filename", pa.string()),
        ("url_surtkey", pa.string()), ("url_host_name", pa.string()),
        ("url_host_registered_domain", pa.string()), ("content_mime_detected", pa.string()),
        ("warc_segment", pa.string())]))
    index = f"cc-index/table/cc-main/warc/crawl={CRAWL}/subset=warc/part-00000.c000.gz.parquet"
    (root / index).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, root / index, row_group_size=2)  # statistics per two rows
    listing = root / "crawl-data" / CRAWL / "cc-index-table.paths.gz"
    listing.write_bytes(gzip.compress(
        f"{index}\ncc-index/table/cc-main/warc/crawl={CRAWL}/subset=crawldiagnostics/"
        "part-00000.c000.gz.parquet\n".encode()))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """DATA with a one-link index and a graph naming the target's referring domains."""
    data = tmp_path / "data"
    write_index(data, [edge("https://crawled.example/p", f"https://{TARGET}/", "crawled")])
    release = write_release(tmp_path / "release", RELEASE,
                            {**{domain: [TARGET] for domain in REFERRERS},
                             "crawled.example": [TARGET], NOISE[0]: ["zzz.example"]})
    linkindex("import-cc-graph", RELEASE, f"--vertices={release.vertices_path}",
              f"--edges={release.edges_path}", f"--ranks={release.ranks_path}",
              "--data", data)
    return data


def chosen() -> dict[str, str]:
    """The pages cc-fetch takes with --pages-per-domain 2, and the anchor of each."""
    pages = {}
    for domain, items in REFERRERS.items():
        ok = sorted(path for path, status in items if status < 300)
        bad = sorted(path for path, status in items if status >= 300)
        for path in (ok + bad)[:2]:
            pages[f"https://www.{domain}{path}"] = f"{domain} on {path}"
    return pages


def test_cc_fetch_adds_link_level_rows_for_the_graphs_referrers(data: Path,
                                                                tmp_path: Path) -> None:
    publish_crawl(tmp_path / "cc")
    warc = f"crawl-data/{CRAWL}/segments/1/warc/{CRAWL}-00000.warc.gz"
    with serve_folder(tmp_path / "cc", fail_first={warc: 1}) as server:
        out = linkindex("cc-fetch", TARGET, "--crawl", CRAWL, "--base", server.url,
                        "--pages-per-domain", "2", "--data", data).stdout
        assert out.startswith(f"5 pages of 3 of 3 referring domains in {CRAWL}: 5 fetched "
                              "now (5 pages, 12 links), 0 imported before")  # the 404 has none
        # records by range only: no WARC file was downloaded whole
        warc_requests = [rng for path, rng in server.requests if ".warc.gz" in path]
        assert len(warc_requests) == 5 + 1 and all(warc_requests)  # one 503, retried
        again = linkindex("cc-fetch", TARGET, "--crawl", CRAWL, "--base", server.url,
                          "--pages-per-domain", "2", "--data", data).stdout
        assert "0 fetched now (0 pages, 0 links), 5 imported before" in again
    linkindex("build", "--data", data)
    links = run_query(data, "backlinks", [TARGET]).to_pylist()
    fetched = [link for link in links if link["src_domain"] in REFERRERS]
    expected = set()
    for url, anchor in chosen().items():
        domain = url.removeprefix("https://www.").split("/")[0]
        if "/gone" in url:
            continue  # a 404 page has no links
        expected.add((url, f"https://{TARGET}/{domain}", anchor, False, "content"))
        expected.add((url, f"https://{TARGET}/", "home", True, "footer"))
    assert {(link["src_url"], link["dst_url"], link["anchor"], link["nofollow"],
             link["position"]) for link in fetched} == expected
    # the graph's rows for these domains became crawl rows, with link-level detail (the
    # build read only raw parts: the hand-written index's one link is the graph's now)
    sources = {row["src_domain"]: row["source"]
               for row in run_query(data, "referring_domains", [TARGET]).to_pylist()}
    assert sources == {"crawled.example": RELEASE, "alpha.example": "crawl",
                       "beta.co.uk": "crawl", "gamma.example": "crawl"}


def test_cc_fetch_mistakes_are_one_line(data: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with serve_folder(tmp_path / "empty") as server:
        proc = linkindex("cc-fetch", TARGET, "--crawl", CRAWL, "--base", server.url,
                         "--data", data, check=False)
    assert_one_line_error(proc, f"crawl-data/{CRAWL}/cc-index-table.paths.gz: HTTP 404")
    bare = tmp_path / "bare"
    write_index(bare, [edge("https://crawled.example/p", f"https://{TARGET}/", "crawled")])
    proc = linkindex("cc-fetch", TARGET, "--crawl", CRAWL, "--data", bare, check=False)
    assert_one_line_error(proc, "no web graph imported: run `linkindex import-cc-graph` first")
