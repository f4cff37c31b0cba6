"""WarcWriter: records as warcio reads them, named after their part, whole or not at all."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clitools import assert_one_line_error, linkindex
from rawdata import kill_writer_after_parts
from warcio.archiveiterator import ArchiveIterator

from core.layout import raw_parts
from core.parts import PartWriter
from core.warc.format import Evidence
from core.warc.writer import WarcWriter

WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
BODY = b"<html><title>T</title><a href='/x'>X</a></html>"
NO_LINKS = {name: [] for name in (
    "dst_url", "dst_host", "dst_domain", "anchor", "kind", "alt", "nofollow", "ugc",
    "sponsored", "position", "ordinal", "external")}


def page(url: str, depth: int | None = 2) -> dict:
    return {"crawl_id": "c1", "fetched_at": WHEN, "url": url, "host": "a.example",
            "domain": "a.example", "status": 200, "depth": depth}


def evidence(url: str, headers: list[tuple[bytes, bytes]] | None = None,
             ip: str | None = "192.0.2.9") -> Evidence:
    return Evidence(
        url=url, method="GET",
        request_headers=[(b"User-Agent", b"linkindex-test"), (b"Accept-Encoding", b"gzip")],
        protocol="HTTP/1.1", status=200,
        headers=headers if headers is not None else [(b"Content-Type", b"text/html")],
        body=BODY, ip=ip,
    )


def read_all(path: Path) -> list:
    with open(path, "rb") as fh:
        return [(r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
                for r in ArchiveIterator(fh, check_digests="raise")]


def test_request_and_response_records(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path, "c1")
    row = writer.write("w-000000.parquet", page("http://a.example/p?q=1"),
                       evidence("http://a.example/p?q=1"))
    final = writer.close()
    assert final == tmp_path / "warc" / "c1" / "w-000000.warc.gz"
    assert row["warc_file"] == "warc/c1/w-000000.warc.gz"
    records = read_all(final)
    assert [r[0] for r in records] == ["warcinfo", "request", "response"]
    _, info, _, block = records[0]
    assert info.get_header("WARC-Filename") == "w-000000.warc.gz"
    assert b"isPartOf: c1" in block
    _, req, req_http, _ = records[1]
    _, resp, resp_http, payload = records[2]
    assert req.protocol == resp.protocol == "WARC/1.1"
    # milliseconds of fetched_at exactly (the pages row stores milliseconds)
    assert req.get_header("WARC-Date") == resp.get_header("WARC-Date") == "2026-01-02T03:04:05.678Z"
    assert req.get_header("WARC-Concurrent-To") == resp.get_header("WARC-Record-ID")
    assert resp.get_header("WARC-IP-Address") == "192.0.2.9"
    assert resp.get_header("WARC-Linkindex-Depth") == "2"
    assert resp.get_header("WARC-Target-URI") == "http://a.example/p?q=1"
    assert req.get_header("WARC-Warcinfo-ID") == info.get_header("WARC-Record-ID")
    assert req_http.protocol == "GET" and req_http.statusline == "/p?q=1 HTTP/1.1"
    assert req_http.get_header("Host") == "a.example"
    assert req_http.get_header("User-Agent") == "linkindex-test"
    assert resp_http.statusline == "200 OK"
    assert payload == BODY
    # the offset opens the response record by itself
    with open(final, "rb") as fh:
        fh.seek(row["warc_offset"])
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response"
        assert record.content_stream().read() == BODY


def test_stored_headers_describe_the_stored_payload(tmp_path: Path) -> None:
    # Scrapy decoded the gzip body and dropped Content-Encoding; Content-Length was the
    # compressed size; a Transfer-Encoding header must not make readers de-chunk.
    headers = [(b"Content-Type", b"text/html"), (b"Content-Length", b"31"),
               (b"Transfer-Encoding", b"chunked"), (b"Set-Cookie", b"a=1"),
               (b"Set-Cookie", b"b=2")]
    writer = WarcWriter(tmp_path, "c1")
    writer.write("w-000000.parquet", page("http://a.example/"), evidence("http://a.example/",
                                                                         headers))
    writer.write("w-000000.parquet", page("http://a.example/same", depth=None),
                 evidence("http://a.example/same",
                          [(b"Content-Length", str(len(BODY)).encode())], ip=None))
    records = [r for r in read_all(writer.close()) if r[0] == "response"]
    http = records[0][2]
    assert http.headers == [
        ("Content-Type", "text/html"), ("X-Crawler-Content-Length", "31"),
        ("X-Crawler-Transfer-Encoding", "chunked"), ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"), ("Content-Length", str(len(BODY))),
    ]
    assert records[0][3] == BODY
    assert records[1][2].headers == [("Content-Length", str(len(BODY)))]
    assert records[1][1].get_header("WARC-IP-Address") is None
    assert records[1][1].get_header("WARC-Linkindex-Depth") is None


@pytest.mark.parametrize("level, suffix", [(0, ".warc"), (1, ".warc.gz"), (9, ".warc.gz")])
def test_levels_each_record_its_own_member(tmp_path: Path, level: int, suffix: str) -> None:
    writer = WarcWriter(tmp_path, "c1", level=level)
    rows = [writer.write("w-000007.parquet", page(f"http://a.example/{i}"),
                         evidence(f"http://a.example/{i}")) for i in range(3)]
    final = writer.close()
    assert final.name == "w-000007" + suffix
    data = final.read_bytes()
    for i, row in enumerate(rows):
        chunk = data[row["warc_offset"]:]
        if level:
            # one member, one record: gzip alone reads it
            record = gzip.GzipFile(fileobj=_One(chunk)).read()
        else:
            record = chunk
        assert record.startswith(b"WARC/1.1\r\nWARC-Type: response\r\n")
        assert f"WARC-Target-URI: http://a.example/{i}\r\n".encode() in record[:400]


class _One:
    """A file over the first gzip member of `data` only (GzipFile reads every member)."""

    def __init__(self, data: bytes) -> None:
        import zlib

        decomp = zlib.decompressobj(31)
        decomp.decompress(data)
        self.data = data[: len(data) - len(decomp.unused_data)]
        self.pos = 0

    def read(self, n: int = -1) -> bytes:
        out = self.data[self.pos:] if n < 0 else self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def test_parts_skip_names_of_existing_warcs(tmp_path: Path) -> None:
    warc = WarcWriter(tmp_path, "c1")
    (tmp_path / "warc" / "c1").mkdir(parents=True)
    (tmp_path / "warc" / "c1" / "w-000000.warc.gz").write_bytes(b"a killed run's WARC")
    parts = PartWriter(tmp_path, "c1", "w", taken=warc.taken)
    assert parts.part_name == "w-000001.parquet"
    row = warc.write(parts.part_name, page("http://a.example/"), evidence("http://a.example/"))
    parts.add(row, NO_LINKS)
    warc.close()
    assert parts.flush() == ["http://a.example/"]
    assert parts.part_name == "w-000002.parquet"
    [stored] = pq.read_table(tmp_path / "raw" / "c1" / "pages" / "w-000001.parquet").to_pylist()
    assert stored["warc_file"] == "warc/c1/w-000001.warc.gz"
    assert (tmp_path / "warc" / "c1" / "w-000000.warc.gz").read_bytes() == b"a killed run's WARC"


WRITER_LOOP = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from core.warc.format import Evidence
from core.parts import PartWriter
from core.warc.writer import WarcWriter
data = Path(sys.argv[1])
warc = WarcWriter(data, "c1")
parts = PartWriter(data, "c1", "w", taken=warc.taken)
links = {name: [] for name in ("dst_url", "dst_host", "dst_domain", "anchor", "kind", "alt",
         "nofollow", "ugc", "sponsored", "position", "ordinal", "external")}
n = 0
while True:
    for _ in range(50):
        n += 1
        url = f"http://a.example/{n}"
        page = {"crawl_id": "c1", "fetched_at": datetime.now(UTC), "url": url,
                "host": "a.example", "domain": "a.example", "status": 200, "depth": 0}
        ev = Evidence(url, "GET", [], "HTTP/1.1", 200, [(b"Content-Type", b"text/html")],
                      b"<p>" + b"x" * 20000 + b"</p>", None)
        parts.add(warc.write(parts.part_name, page, ev), links)
    warc.close()   # as the pipeline does: the WARC is whole before the pair
    parts.flush()
"""


def test_killed_writer_leaves_no_partial_warc(tmp_path: Path) -> None:
    kill_writer_after_parts(WRITER_LOOP, tmp_path)
    folder = tmp_path / "warc" / "c1"
    warcs = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    assert len(warcs) >= 3
    for path in warcs:  # every WARC under its final name is whole
        records = read_all(path)
        assert [r[0] for r in records][:1] == ["warcinfo"]
        assert len(records) == 1 + 2 * 50
    # every pages row points at a whole WARC, at a response record
    for part in raw_parts(tmp_path, "pages"):
        for row in pq.read_table(part, columns=["url", "warc_file", "warc_offset"]).to_pylist():
            with open(tmp_path / row["warc_file"], "rb") as fh:
                fh.seek(row["warc_offset"])
                record = next(iter(ArchiveIterator(fh)))
                assert record.rec_headers.get_header("WARC-Target-URI") == row["url"]
    # what the kill interrupted is only under a temporary name, which readers skip
    assert all(p.name.startswith(".tmp-") for p in folder.iterdir() if p not in warcs)


@pytest.mark.slow
def test_bad_gzip_level_is_one_line(tmp_path: Path) -> None:
    for level, message in [("12", "must be 0 (plain .warc) to 9"), ("-1", "must not be negative"),
                           ("fast", "must be a whole number")]:
        proc = linkindex("crawl", "http://a.example/", "--warc", "--data", tmp_path,
                         "-s", f"LINKINDEX_WARC_GZIP_LEVEL={level}", check=False)
        assert_one_line_error(proc, message)
    assert not (tmp_path / "warc").exists()
