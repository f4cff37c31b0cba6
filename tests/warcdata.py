"""Hand-built WARC and WAT files for tests, written with warcio (not with our writer),
and the rows an import gives back.

    records = [response("http://a.example/", html_response(b"<a href=/x>X</a>")),
               revisit("http://a.example/")]
    offsets = write_warc(path, records)            # one gzip member per record
    write_warc(path, records, gzip=False)          # plain
"""

from __future__ import annotations

import gzip
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import duckdb
from warcio.warcwriter import WARCWriter

Record = tuple[str, str, bytes, dict[str, str]]  # (type, uri, block, extra WARC headers)
DATE = "2025-03-04T05:06:07.089Z"


def http_response(body: bytes, status: str = "200 OK", content_type: str | None = "text/html",
                  headers: list[tuple[str, str]] = ()) -> bytes:
    """Raw HTTP/1.1 response bytes, exactly as given (no header is added but Content-Type)."""
    lines = [f"HTTP/1.1 {status}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(body: bytes, size: int = 7) -> bytes:
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def response(uri: str, raw_http: bytes, date: str = DATE, **headers: str) -> Record:
    return ("response", uri, raw_http, {"WARC-Date": date, **headers})


def revisit(uri: str, date: str = DATE) -> Record:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    return ("revisit", uri, head, {
        "WARC-Date": date,
        "WARC-Profile": "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest",
        "WARC-Refers-To-Target-URI": uri,
        "WARC-Payload-Digest": "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ",
    })


def request(uri: str) -> Record:
    return ("request", uri, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {"WARC-Date": DATE})


def wat(uri: str, envelope: dict[str, Any], date: str = DATE) -> Record:
    """A WAT record: a metadata record whose block is Common Crawl's JSON."""
    return ("metadata", uri, json.dumps(envelope).encode(),
            {"WARC-Date": date, "Content-Type": "application/json"})


def wat_envelope(uri: str, *, status: int = 200, headers: dict[str, str] | None = None,
                 html: dict[str, Any] | None = None, warc_type: str = "response",
                 ip: str | None = "192.0.2.7", container: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    http: dict[str, Any] = {
        "Response-Message": {"Version": "HTTP/1.1", "Status": str(status), "Reason": "X"},
        "Headers": headers if headers is not None else {"Content-Type": "text/html"},
        "Entity-Length": "1234",
    }
    if html is not None:
        http["HTML-Metadata"] = html
    warc_head = {"WARC-Type": warc_type, "WARC-Target-URI": uri, "WARC-Date": DATE}
    if ip:
        warc_head["WARC-IP-Address"] = ip
    return {
        "Container": container or {"Filename": "CC-MAIN-x.warc.gz", "Offset": "4242"},
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Metadata": warc_head,
            "Payload-Metadata": {
                "Actual-Content-Type": "application/http; msgtype=response",
                "HTTP-Response-Metadata": http,
            },
        },
    }


def record_bytes(records: list[Record]) -> list[bytes]:
    """Each record serialised alone, uncompressed, by warcio."""
    out = []
    for kind, uri, block, extra in records:
        buf = BytesIO()
        writer = WARCWriter(buf, gzip=False, warc_version="WARC/1.1")
        extra = dict(extra)
        content_type = extra.pop("Content-Type", None)
        # No http_headers: warcio parses the HTTP head from the block we give.
        record = writer.create_warc_record(
            uri, kind, payload=BytesIO(block), length=len(block),
            warc_headers_dict=extra, warc_content_type=content_type,
        )
        writer.write_record(record)
        out.append(buf.getvalue())
    return out


def write_warc(path: Path, records: list[Record], *, gzip_members: bool = True,
               whole_gzip: bool = False) -> list[int]:
    """Write a WARC file; the offset of each record (of its gzip member)."""
    blobs = record_bytes(records)
    offsets, data = [], b""
    for blob in blobs:
        offsets.append(len(data))
        data += gzip.compress(blob, 9) if gzip_members and not whole_gzip else blob
    if whole_gzip:
        data, offsets = gzip.compress(data), [0] * len(blobs)
    path.write_bytes(data)
    return offsets


def rows(data: Path, crawl_id: str, table: str, columns: str = "*",
         order: str = "ALL", where: str = "true") -> list[tuple]:
    files = f"{data}/raw/{crawl_id}/{table}/*.parquet"
    if not list((data / "raw" / crawl_id / table).glob("*.parquet")):
        return []
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con.sql(f"SELECT {columns} FROM read_parquet('{files}') WHERE {where} "
                   f"ORDER BY {order}").fetchall()
