"""import-warc on hand-built WARC files: every record type, encoding and kind of damage."""

from __future__ import annotations

import gzip
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from clitools import assert_one_line_error, linkindex, run
from warcdata import (
    chunked,
    http_response,
    record_bytes,
    request,
    response,
    revisit,
    rows,
    wat,
    wat_envelope,
    write_warc,
)
from warcio.archiveiterator import ArchiveIterator

from index.archives.importer import import_archives

A = "http://a.example"
PAGE = (
    b'<html lang="en"><head><title>Hello  there</title><link rel="canonical" href="/c"></head>'
    b'<body><nav><a href="/n">Nav</a></nav>'
    b'<a href="http://b.example/x" rel="nofollow UGC">B</a><a href="mailto:x@y">m</a></body></html>'
)
EDGES = "kind, dst_url, anchor, position, nofollow, ugc, external, ordinal"
WHEN = datetime(2025, 3, 4, 5, 6, 7, 89000, tzinfo=UTC)


def run_import(data: Path, *paths: Path, crawl_id: str = "w"):
    return import_archives(data, crawl_id, list(paths), progress=False)


def test_a_response_gives_the_extractors_rows(tmp_path: Path) -> None:
    path = tmp_path / "one.warc.gz"
    [offset] = write_warc(path, [response(f"{A}/p", http_response(PAGE),
                                          **{"WARC-IP-Address": "192.0.2.1"})])
    summary = run_import(tmp_path / "data", path)
    counts = summary.counts
    assert (counts.records, counts.pages, counts.edges, counts.skipped) == (1, 1, 3, 0)
    [page] = rows(tmp_path / "data", "w", "pages", "* EXCLUDE (warc_file)")
    assert page == (
        "w", WHEN, f"{A}/p", "a.example", "a.example", 200, "text/html", len(PAGE),
        "Hello there", "en", None, None, f"{A}/c", False, False, 3, 1, "192.0.2.1", 1, None,
        offset,
        # terms: "there" is a stop word, "Nav" is in <nav>, "B" and "m" are too short
        [{"term": "hello", "n": 1}],
    )
    # outside DATA, the evidence is the absolute path of the file
    assert rows(tmp_path / "data", "w", "pages", "warc_file") == [(str(path.resolve()),)]
    assert rows(tmp_path / "data", "w", "edges", EDGES, "ordinal") == [
        ("canonical", f"{A}/c", "", None, False, False, False, 0),
        ("a", f"{A}/n", "Nav", "nav", False, False, False, 1),
        ("a", "http://b.example/x", "B", "content", True, True, True, 2),
    ]


def test_http_charset_then_meta_then_bom(tmp_path: Path) -> None:
    def page(title: str, anchor: str) -> str:
        return f"<title>{title}</title><a href='/1'>{anchor}</a>"

    records = [
        response(f"{A}/latin1", http_response(
            page("Crème brûlée", "Café").encode("latin-1"), "200 OK",
            "text/html; charset=iso-8859-1")),
        response(f"{A}/meta", http_response(
            ('<meta charset="windows-1252">' + page("Prix : 5 €", "“Guillemets”")).encode("cp1252"),
            "200 OK", "text/html")),
        response(f"{A}/http-wins", http_response(
            ('<meta charset="iso-8859-1">' + page("Grüße", "Straße")).encode("utf-8"),
            "200 OK", "text/html; charset=UTF-8")),
        response(f"{A}/bom", http_response(
            b"\xef\xbb\xbf" + page("Ünïcode", "Ärger").encode("utf-8"), "200 OK", "text/html")),
    ]
    path = tmp_path / "charsets.warc.gz"
    write_warc(path, records)
    run_import(tmp_path / "data", path)
    assert rows(tmp_path / "data", "w", "pages", "url, title") == [
        (f"{A}/bom", "Ünïcode"),
        (f"{A}/http-wins", "Grüße"),
        (f"{A}/latin1", "Crème brûlée"),
        (f"{A}/meta", "Prix : 5 €"),
    ]
    assert rows(tmp_path / "data", "w", "edges", "src_url, anchor") == [
        (f"{A}/bom", "Ärger"),
        (f"{A}/http-wins", "Straße"),
        (f"{A}/latin1", "Café"),
        (f"{A}/meta", "“Guillemets”"),
    ]


def test_chunked_and_compressed_payloads_are_decoded(tmp_path: Path) -> None:
    html = b"<title>T</title>" + b"".join(b'<a href="/%d">L%d</a>\n' % (i, i) for i in range(40))
    records = [
        response(f"{A}/plain", http_response(html)),
        response(f"{A}/chunked", http_response(
            chunked(html), headers=[("Transfer-Encoding", "chunked")])),
        response(f"{A}/gzip", http_response(
            gzip.compress(html), headers=[("Content-Encoding", "gzip")])),
        response(f"{A}/gzip-chunked", http_response(
            chunked(gzip.compress(html), 50),
            headers=[("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")])),
    ]
    path = tmp_path / "encodings.warc"
    write_warc(path, records, gzip_members=False)
    run_import(tmp_path / "data", path)
    pages = rows(tmp_path / "data", "w", "pages", "url, content_length, n_links, title")
    assert pages == [(f"{A}/{name}", len(html), 40, "T")
                     for name in ("chunked", "gzip", "gzip-chunked", "plain")]
    links = rows(tmp_path / "data", "w", "edges", "src_url, ordinal, dst_url, anchor")
    for name in ("chunked", "gzip", "gzip-chunked", "plain"):
        assert [r[2:] for r in links if r[0] == f"{A}/{name}"] == [
            (f"{A}/{i}", f"L{i}") for i in range(40)
        ]


def test_non_html_errors_and_redirects(tmp_path: Path) -> None:
    link = b'<a href="http://b.example/">not a link here</a>'
    records = [
        response(f"{A}/doc.pdf",
                 http_response(b"%PDF-1.4 " + link, content_type="application/pdf")),
        response(f"{A}/img.png", http_response(b"\x89PNG\r\n", content_type="image/png")),
        response(f"{A}/notes.txt", http_response(link, content_type="text/plain; charset=utf-8")),
        response(f"{A}/none", http_response(link, content_type=None)),
        response(f"{A}/gone", http_response(link, "404 Not Found")),
        response(f"{A}/old", http_response(b"", "301 Moved Permanently", None,
                                           [("Location", "/new")])),
    ]
    path = tmp_path / "misc.warc.gz"
    write_warc(path, records)
    run_import(tmp_path / "data", path)
    assert rows(tmp_path / "data", "w", "pages",
                "url, status, content_type, content_length, n_links, redirect_to") == [
        (f"{A}/doc.pdf", 200, "application/pdf", 9 + len(link), 0, None),
        (f"{A}/gone", 404, "text/html", len(link), 0, None),
        (f"{A}/img.png", 200, "image/png", 6, 0, None),
        (f"{A}/none", 200, None, len(link), 0, None),
        (f"{A}/notes.txt", 200, "text/plain", len(link), 0, None),
        (f"{A}/old", 301, None, 0, 1, f"{A}/new"),
    ]
    assert rows(tmp_path / "data", "w", "edges", EDGES) == [
        ("redirect", f"{A}/new", "", None, False, False, False, 0),
    ]


def test_revisits_requests_and_other_records_are_not_pages(tmp_path: Path) -> None:
    records = [
        ("warcinfo", "", b"software: test\r\n", {"Content-Type": "application/warc-fields"}),
        request(f"{A}/p"),
        response(f"{A}/p", http_response(PAGE)),
        revisit(f"{A}/p", date="2025-03-05T00:00:00Z"),
        ("response", "dns:a.example", b"20250304 a.example. 60 IN A 192.0.2.1\n", {}),
        ("metadata", f"{A}/p", b"fetchTimeMs: 12\r\n",
         {"Content-Type": "application/warc-fields"}),
        ("resource", f"{A}/r.txt", b"text", {"Content-Type": "text/plain"}),
    ]
    path = tmp_path / "mixed.warc.gz"
    write_warc(path, records)
    counts = run_import(tmp_path / "data", path).counts
    assert (counts.records, counts.pages, counts.revisits, counts.skipped) == (7, 1, 1, 0)
    assert rows(tmp_path / "data", "w", "pages", "url, fetched_at") == [(f"{A}/p", WHEN)]


def test_gzip_members_plain_and_whole_gzip_give_the_same_rows(tmp_path: Path) -> None:
    records = [response(f"{A}/{i}", http_response(PAGE), date=f"2025-03-04T05:06:0{i}Z")
               for i in range(5)]
    member = tmp_path / "members.warc.gz"
    offsets = write_warc(member, records)
    plain = tmp_path / "plain.warc"
    plain_offsets = write_warc(plain, records, gzip_members=False)
    whole = tmp_path / "whole.warc.gz"
    write_warc(whole, records, whole_gzip=True)
    for crawl_id, path in (("m", member), ("p", plain), ("g", whole)):
        run_import(tmp_path / "data", path, crawl_id=crawl_id)
    columns = "* EXCLUDE (crawl_id, warc_file, warc_offset)"
    assert rows(tmp_path / "data", "m", "pages", columns) == rows(
        tmp_path / "data", "p", "pages", columns) == rows(tmp_path / "data", "g", "pages", columns)
    edges = "* EXCLUDE (crawl_id)"
    assert len(rows(tmp_path / "data", "m", "edges", edges)) == 15
    assert rows(tmp_path / "data", "m", "edges", edges) == rows(
        tmp_path / "data", "p", "edges", edges) == rows(tmp_path / "data", "g", "edges", edges)
    # each offset opens its own record: a member, a plain record; a whole gzip has one
    assert rows(tmp_path / "data", "m", "pages", "warc_offset") == [(o,) for o in offsets]
    assert rows(tmp_path / "data", "p", "pages", "warc_offset") == [(o,) for o in plain_offsets]
    assert rows(tmp_path / "data", "g", "pages", "warc_offset") == [(0,)] * 5
    for path, stored in ((member, offsets), (plain, plain_offsets)):
        with open(path, "rb") as fh:
            for i, offset in enumerate(stored):
                fh.seek(offset)
                record = next(iter(ArchiveIterator(fh)))
                assert record.rec_headers.get_header("WARC-Target-URI") == f"{A}/{i}"


def _five(tmp_path: Path) -> tuple[list[bytes], list[str]]:
    records = [response(f"{A}/{i}", http_response(PAGE)) for i in range(5)]
    return record_bytes(records), [f"{A}/{i}" for i in range(5)]


def _members(blobs: list[bytes]) -> list[bytes]:
    return [gzip.compress(b, 9) for b in blobs]


@pytest.mark.parametrize("damage, lost", [
    ("member cut in the middle", 2),
    ("member cut at the end", 4),
    ("corrupt bytes in a member", 1),
    ("garbage between members", None),
    ("plain record cut in the middle", 2),
    ("plain record cut at the end", 4),
    ("plain record with a wrong Content-Length", 3),
    ("garbage between plain records", None),
    ("unreadable HTTP status line", 0),
])
def test_a_damaged_record_is_counted_and_the_rest_imported(tmp_path: Path, damage: str,
                                                           lost: int | None) -> None:
    blobs, urls = _five(tmp_path)
    if damage.startswith("plain"):
        parts = list(blobs)
        if damage.endswith("middle") or damage.endswith("end"):
            parts[lost] = parts[lost][: len(parts[lost]) * 2 // 3]
        else:
            parts[lost] = parts[lost].replace(b"Content-Length: ", b"Content-Length: 1", 1)
    elif damage.startswith("garbage"):
        parts = list(blobs) if "plain" in damage else _members(blobs)
        parts.insert(3, b"\x00garbage\x1f\x8b\x08 not a member\r\n\r\nWARC/1.1 nor a record\n")
    elif damage.startswith("unreadable"):
        blobs[0] = blobs[0].replace(b"HTTP/1.1 200 OK", b"HTTP/1.1 two hundred")
        parts = _members(blobs)
    else:
        parts = _members(blobs)
        if damage.startswith("corrupt"):
            cut = bytearray(parts[lost])
            cut[30:60] = b"\xff" * 30
            parts[lost] = bytes(cut)
        else:
            parts[lost] = parts[lost][: len(parts[lost]) // 2]
    path = tmp_path / ("damaged.warc" if "plain" in damage else "damaged.warc.gz")
    path.write_bytes(b"".join(parts))
    counts = run_import(tmp_path / "data", path).counts
    expected = [u for i, u in enumerate(urls) if i != lost]
    assert rows(tmp_path / "data", "w", "pages", "url") == [(u,) for u in expected]
    assert counts.skipped == 1
    assert counts.pages == len(expected)


@pytest.mark.slow
def test_bad_input_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    not_warc = tmp_path / "x.warc.gz"
    not_warc.write_bytes(gzip.compress(b"<html>not a warc</html>"))
    good = tmp_path / "good.warc.gz"
    write_warc(good, [response(f"{A}/p", http_response(PAGE))])
    for args, message in [
        ([tmp_path / "missing.warc.gz"], "no such file"),
        ([f"{tmp_path}/nothing-*.warc.gz"], "no files match"),
        ([good, text], "is not a WARC file"),
        ([good, not_warc], "is not a WARC file"),
        ([good, empty], "is empty"),
        ([good, "--jobs", "0"], "--jobs must be at least 1"),
    ]:
        proc = linkindex("import-warc", *args, "--crawl-id", "w", "--data", data, check=False)
        assert_one_line_error(proc, message)
    proc = linkindex("import-warc", good, "--crawl-id", "../x", "--data", data, check=False)
    assert_one_line_error(proc, "bad crawl id")
    assert not (data / "raw").exists()


@pytest.mark.slow
def test_cli_imports_globs_in_parallel(tmp_path: Path) -> None:
    paths = []
    for n in range(3):
        path = tmp_path / f"in-{n}.warc.gz"
        write_warc(path, [response(f"{A}/{n}/{i}", http_response(PAGE)) for i in range(4)]
                   + [revisit(f"{A}/{n}/0")])
        paths.append(path)
    data = tmp_path / "data"
    proc = linkindex("import-warc", f"{tmp_path}/in-*.warc.gz", "--crawl-id", "par",
                     "--jobs", "2", "--data", data)
    assert proc.stdout.startswith(
        "import par: 3 files, 15 records, 12 pages, 36 links, 0 skipped, "
        "3 revisits not imported in ")
    linkindex("import-warc", *paths, "--crawl-id", "seq", "--data", data)
    columns = "* EXCLUDE (crawl_id)"
    assert len(rows(data, "par", "pages", columns)) == 12
    assert rows(data, "par", "pages", columns) == rows(data, "seq", "pages", columns)
    assert rows(data, "par", "edges", columns) == rows(data, "seq", "edges", columns)
    # a part per file (each is flushed when done), named by at most --jobs worker ids
    names = [p.name for p in (data / "raw" / "par" / "pages").iterdir()]
    assert len(names) == 3
    assert len({name.rsplit("-", 1)[0] for name in names}) <= 2


def test_wat_and_warc_in_one_file(tmp_path: Path) -> None:
    envelope = wat_envelope(f"{A}/w", html={"Links": [{"path": "A@/href", "url": "/x",
                                                        "text": "X"}]})
    path = tmp_path / "both.warc.gz"
    write_warc(path, [response(f"{A}/p", http_response(PAGE)), wat(f"{A}/w", envelope),
                      wat(f"{A}/bad", {"Envelope": "?"}),
                      ("metadata", f"{A}/j", b"{not json", {"Content-Type": "application/json"})])
    counts = run_import(tmp_path / "data", path).counts
    assert (counts.records, counts.pages, counts.edges, counts.skipped) == (4, 2, 4, 2)


def test_import_needs_no_scrapy() -> None:
    """DESIGN: index/ must not import Scrapy (nor, through it, a Twisted reactor)."""
    code = ("import sys, index.archives.importer, index.reextract, linkindex.cli; "
            "sys.exit(sorted(m for m in ('scrapy', 'twisted') if m in sys.modules) or 0)")
    run([sys.executable, "-c", code])


# ---------------------------------------------------------------------------
# Issue 13, item 1: a record whose processing fails is never lost
# ---------------------------------------------------------------------------

LINKED = b'<a href="http://b.example/one">one</a><a href="/two">two</a>'
FAILED_COLUMNS = ("url, status, content_type, content_length, title, n_links, "
                  "n_external_links, n_skipped_links, error, warc_offset")


def three_records(path: Path, middle: str = f"{A}/fail") -> list[int]:
    return write_warc(path, [
        response(f"{A}/first", http_response(LINKED)),
        response(middle, http_response(b"<title>T</title>" + LINKED)),
        response(f"{A}/last", http_response(LINKED)),
    ])


def test_a_failing_record_becomes_a_page_with_its_error_and_the_import_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import failing_extraction

    from linkindex.cli import main

    failing_extraction.patch(monkeypatch)
    path = tmp_path / "three.warc.gz"
    offsets = three_records(path)
    data = tmp_path / "data"
    assert main(["import-warc", str(path), "--crawl-id", "w", "--data", str(data)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("import w: 1 files, 3 records, 3 pages, 4 links, 0 skipped, "
                              "1 failed (stored with their error) in ")
    assert out.err == (
        "linkindex: warning: 1 record failed, stored as pages with their error, first: "
        f"{A}/fail: extract: KeyError: 'href'\n")
    assert rows(data, "w", "pages", FAILED_COLUMNS, "warc_offset") == [
        (f"{A}/first", 200, "text/html", len(LINKED), None, 2, 1, 0, None, offsets[0]),
        (f"{A}/fail", 200, "text/html", 16 + len(LINKED), None, None, None, None,
         "extract: KeyError: 'href'", offsets[1]),
        (f"{A}/last", 200, "text/html", len(LINKED), None, 2, 1, 0, None, offsets[2]),
    ]
    assert rows(data, "w", "edges", "src_url, dst_url") == [
        (f"{A}/first", f"{A}/two"), (f"{A}/first", "http://b.example/one"),
        (f"{A}/last", f"{A}/two"), (f"{A}/last", "http://b.example/one"),
    ]


def test_failures_are_counted_across_worker_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import failing_extraction

    failing_extraction.patch(monkeypatch)
    paths = [tmp_path / f"in-{n}.warc.gz" for n in range(2)]
    for n, path in enumerate(paths):
        three_records(path, middle=f"{A}/fail/{n}")
    data = tmp_path / "data"
    summary = import_archives(data, "par", paths, jobs=2, progress=False)
    counts = summary.counts
    assert (counts.records, counts.pages, counts.edges, counts.failed) == (6, 6, 8, 2)
    assert summary.first_failure in {f"{A}/fail/{n}: extract: KeyError: 'href'" for n in (0, 1)}
    assert rows(data, "par", "pages", "url, error", "url") == [
        (f"{A}/fail/0", "extract: KeyError: 'href'"), (f"{A}/fail/1", "extract: KeyError: 'href'"),
        (f"{A}/first", None), (f"{A}/first", None), (f"{A}/last", None), (f"{A}/last", None),
    ]


def test_failure_text_is_one_capped_line() -> None:
    from index.archives.records import FAILURE_MAX_CHARS, failure_text

    assert failure_text(KeyError("href")) == "extract: KeyError: 'href'"
    assert failure_text(ValueError()) == "extract: ValueError"
    assert failure_text(RuntimeError("two\nlines\tand  spaces")) == (
        "extract: RuntimeError: two lines and spaces")
    long = failure_text(RuntimeError("x" * 1000))
    assert len(long) == FAILURE_MAX_CHARS == 300 and long.startswith("extract: RuntimeError: xx")


def test_values_a_part_cannot_hold_reject_their_record_only(tmp_path: Path) -> None:
    from core.warc.format import DEPTH_HEADER

    path = tmp_path / "odd.warc.gz"
    write_warc(path, [
        response(f"{A}/first", http_response(LINKED)),
        response(f"{A}/huge-status", http_response(LINKED, "99999 Odd")),  # > SMALLINT
        response(f"{A}/deep", http_response(LINKED), **{DEPTH_HEADER: "99999999"}),
        response(f"{A}/last", http_response(LINKED)),
    ])
    summary = run_import(tmp_path / "data", path)
    counts = summary.counts
    assert (counts.records, counts.pages, counts.skipped, counts.failed) == (4, 3, 1, 0)
    assert summary.first_damage.endswith(": status 99999 out of range")
    assert rows(tmp_path / "data", "w", "pages", "url, status, depth") == [
        (f"{A}/deep", 200, None), (f"{A}/first", 200, None), (f"{A}/last", 200, None),
    ]


def test_reextract_keeps_a_failing_record_as_a_page_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import failing_extraction

    from index.reextract import reextract

    data = tmp_path / "data"
    warc = data / "warc" / "c1" / "w0-000001.warc.gz"
    warc.parent.mkdir(parents=True)
    three_records(warc)
    failing_extraction.patch(monkeypatch)
    result = reextract(data, "c1")
    assert (result.imported.counts.pages, result.imported.counts.failed) == (3, 1)
    assert rows(data, "c1", "pages", "url, error, warc_file") == [
        (f"{A}/fail", "extract: KeyError: 'href'", "warc/c1/w0-000001.warc.gz"),
        (f"{A}/first", None, "warc/c1/w0-000001.warc.gz"),
        (f"{A}/last", None, "warc/c1/w0-000001.warc.gz"),
    ]


def test_the_svg_page_that_aborted_a_whole_import_is_never_lost(tmp_path: Path) -> None:
    """The record of issue 13: the extractor raised KeyError: 'href' on it, and the whole
    file gave 0 rows. Extracted or failed, its page is stored and the others with it."""
    path = tmp_path / "svg.warc.gz"
    write_warc(path, [
        response(f"{A}/first", http_response(LINKED)),
        response(f"{A}/svg", http_response(b'<svg><a xlink:href="/x">y</a></svg>')),
        response(f"{A}/last", http_response(LINKED)),
    ])
    counts = run_import(tmp_path / "data", path).counts
    assert (counts.records, counts.pages, counts.skipped) == (3, 3, 0)
    pages = dict(rows(tmp_path / "data", "w", "pages", "url, error"))
    assert list(pages) == [f"{A}/first", f"{A}/last", f"{A}/svg"]
    assert pages[f"{A}/first"] is None and pages[f"{A}/last"] is None
    svg_error = pages[f"{A}/svg"]
    assert counts.failed == (svg_error is not None)
    assert svg_error is None or svg_error.startswith("extract: ")


def test_reextract_copies_a_part_damaged_behind_its_footer_as_it_is(tmp_path: Path) -> None:
    """Carried over through DuckDB, which checks no page CRC, the damaged values would be
    rewritten into a fresh part with fresh checksums: the build could no longer tell."""
    import duckdb
    import pyarrow.parquet as pq
    from rawdata import edge_row, write_part

    from index.reextract import reextract

    data = tmp_path / "data"
    warc = data / "warc" / "c1" / "w0-000001.warc.gz"
    warc.parent.mkdir(parents=True)
    three_records(warc, middle=f"{A}/middle")
    old = write_part(data, "c1", "edges", [  # rows no WARC record gives back
        edge_row("http://old.example/", f"http://t{i}.example/page-{i}", ordinal=i)
        for i in range(50)])
    group = pq.read_metadata(old).row_group(0)
    chunk = next(c for c in map(group.column, range(group.num_columns))
                 if c.path_in_schema == "dst_url")
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    good, con = old.read_bytes(), duckdb.connect()
    for position in range(start, start + chunk.total_compressed_size):  # a flip DuckDB reads
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        old.write_bytes(bytes(damaged))
        try:
            con.execute("SELECT * FROM read_parquet($p)", {"p": str(old)}).fetchall()
            break
        except duckdb.Error:
            continue
    with pytest.raises(OSError, match="CRC"):
        pq.read_table(old, page_checksum_verification=True)

    reextract(data, "c1")
    assert old.read_bytes() == bytes(damaged)  # the same file, as it was
