"""Crawl the synthetic web with --warc; import those WARCs; re-extract the crawl from them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from clitools import assert_one_line_error, crawl_args, linkindex
from rawdata import fetch, write_part
from warcdata import rows
from warcio.archiveiterator import ArchiveIterator

from core.layout import raw_parts
from synthweb import WebServer

# Every test reads a --warc crawl of the synthetic web (or the session's crawl).
pytestmark = pytest.mark.slow

CONTENT = (
    "url, host, domain, status, content_type, content_length, title, lang, redirect_to, "
    "canonical, meta_noindex, meta_nofollow, n_links, n_external_links, n_skipped_links, error"
)


@pytest.fixture(scope="module")
def warc_crawl(web_server: WebServer, seeds_file: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA after a --warc crawl of the synthetic web, rolled into several parts."""
    data = tmp_path_factory.mktemp("warc_crawl") / "data"
    linkindex("crawl", "--seeds-file", seeds_file, "--warc",
              *crawl_args(web_server.proxy_url, data, "wc", "-s", "LINKINDEX_PART_MAX_EDGES=1500"))
    return data


def not_fetched(error: str | None) -> bool:
    """Whether a pages row's error says its URL was never requested (no WARC record)."""
    return error is not None and error.startswith(("robots: ", "refused: "))


UNFETCHED = "coalesce(error LIKE 'robots: %' OR error LIKE 'refused: %', false)"


def warcs(data: Path, crawl_id: str = "wc") -> list[Path]:
    return sorted((data / "warc" / crawl_id).glob("*.warc.gz"))


def test_a_warc_per_part_and_every_row_points_at_its_evidence(warc_crawl: Path,
                                                               crawled: Path) -> None:
    parts = sorted(p.name for p in (warc_crawl / "raw" / "wc" / "pages").iterdir())
    assert len(parts) >= 3
    assert [p.name.replace(".warc.gz", ".parquet") for p in warcs(warc_crawl)] == parts
    assert not [p for p in (warc_crawl / "warc" / "wc").iterdir() if p.name.startswith(".")]
    pages = rows(warc_crawl, "wc", "pages", "url, status, warc_file, warc_offset, error")
    # a URL robots.txt disallows (or the private-address guard refuses) is a row with no
    # WARC record: nothing was fetched; every other row has one
    unfetched = [row for row in pages if not_fetched(row[4])]
    assert unfetched and all(row[1:4] == (None, None, None) for row in unfetched)
    assert {row[0] for row in unfetched} == {row[0] for row in pages if "/private/" in row[0]}
    archived = [row[:4] for row in pages if not not_fetched(row[4])]
    assert len(archived) + len(unfetched) == len(pages)
    assert all(file is not None and offset is not None for _, _, file, offset in archived)
    for url, status, file, offset in archived:
        with open(warc_crawl / file, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI").startswith(url[:7])
            assert int(record.http_headers.get_statuscode()) == status
    # archiving changes no row: the same pages and links as the crawl without --warc
    assert rows(warc_crawl, "wc", "pages", CONTENT) == rows(crawled, "c1", "pages", CONTENT)
    edges = "* EXCLUDE (crawl_id, fetched_at)"
    assert rows(warc_crawl, "wc", "edges", edges) == rows(crawled, "c1", "edges", edges)


def test_importing_the_crawls_warcs_gives_the_crawls_rows(warc_crawl: Path,
                                                          tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(warc_crawl, data)
    proc = linkindex("import-warc", f"{data}/warc/wc/*.warc.gz", "--crawl-id", "imp",
                     "--jobs", "2", "--data", data)
    # the WARCs hold every fetch: every row but those of URLs never requested
    [(pages, unfetched)] = rows(data, "wc", "pages", f"count(*), count(*) FILTER ({UNFETCHED})")
    [(edges,)] = rows(data, "wc", "edges", "count(*)")
    assert unfetched > 0
    assert f", {pages - unfetched:,} pages, {edges:,} links, 0 skipped in " in proc.stdout
    everything = "* EXCLUDE (crawl_id)"  # fetched_at, depth, ip and the WARC pointer too
    crawled_rows = rows(data, "wc", "pages", f"{everything}, {UNFETCHED} AS unfetched")
    assert rows(data, "imp", "pages", everything) == [row[:-1] for row in crawled_rows
                                                      if not row[-1]]
    assert sum(row[-1] for row in crawled_rows) == unfetched
    assert rows(data, "imp", "edges", everything) == rows(data, "wc", "edges", everything)
    # and the index takes it like a crawl: built alone, it answers as the crawl does
    alone, crawl_alone = tmp_path / "alone", tmp_path / "crawl-alone"
    shutil.copytree(warc_crawl, crawl_alone)
    linkindex("import-warc", *warcs(warc_crawl), "--crawl-id", "imp", "--data", alone)
    for root in (alone, crawl_alone):
        linkindex("build", "--data", root)
    # the same rows but for the crawl's name: "imp" in one, "wc" in the other
    for table, columns in (("edges", "* EXCLUDE (last_seen_crawl)"), ("domains", "*")):
        sql = f"SELECT {columns} FROM {table} ORDER BY ALL"
        got = [linkindex("sql", sql, "--format", "csv", "--data", root).stdout
               for root in (alone, crawl_alone)]
        assert got[0] == got[1] and got[0].count("\n") > 50


def test_reextract_reproduces_the_crawls_parts(warc_crawl: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(warc_crawl, data)
    everything = "*"
    before_pages = rows(data, "wc", "pages", everything)
    before_edges = rows(data, "wc", "edges", everything)
    old_names = {p.name for p in raw_parts(data, "pages")}
    [(unfetched,)] = rows(data, "wc", "pages", f"count(*) FILTER ({UNFETCHED})")
    proc = linkindex("reextract", "--crawl-id", "wc", "--jobs", "2", "--data", data)
    # every fetch comes again from its WARC record; the rows of URLs never requested
    # have none, and are kept as they were (no links: they have none)
    assert unfetched > 0
    assert (f"{len(before_pages) - unfetched:,} pages, {len(before_edges):,} links, 0 skipped"
            in proc.stdout)
    assert f"kept {unfetched:,} pages and 0 links" in proc.stdout
    assert rows(data, "wc", "pages", everything) == before_pages
    assert rows(data, "wc", "edges", everything) == before_edges
    new_names = {p.name for p in raw_parts(data, "pages")}
    assert new_names - old_names  # really rewritten from the WARCs
    for name in new_names & old_names:  # a part keeps its name only for the rows kept
        errors = pq.read_table(data / "raw" / "wc" / "pages" / name).column("error")
        assert all(error.split(":")[0] in ("robots", "refused")
                   for error in errors.to_pylist()), name
    assert [p.name for p in (data / "raw").iterdir()] == ["wc"]  # no staging left
    assert sorted(p.name for p in (data / "raw" / "wc").iterdir()) == ["edges", "pages"]


def test_reextract_keeps_rows_it_has_no_evidence_for(warc_crawl: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(warc_crawl, data)
    # a fetch error (no response, no WARC record) and a WARC gone missing
    error_page, _ = fetch("http://site3.example/timeout", [], crawl_id="wc", status=None,
                          error="TimeoutError: took too long")
    write_part(data, "wc", "pages", [error_page], name="other-000000")
    lost = warcs(data)[1]
    [(lost_pages,)] = rows(data, "wc", "pages", "count(*) FILTER "
                           f"(WHERE warc_file = 'warc/wc/{lost.name}')")
    # and the rows of URLs never requested (robots.txt): no WARC record either
    [(unfetched,)] = rows(data, "wc", "pages", f"count(*) FILTER ({UNFETCHED})")
    assert lost_pages > 0 and unfetched > 0
    lost.unlink()
    before_pages = rows(data, "wc", "pages")
    before_edges = rows(data, "wc", "edges")
    proc = linkindex("reextract", "--crawl-id", "wc", "--data", data)
    assert f"kept {lost_pages + 1 + unfetched:,} pages and " in proc.stdout
    assert rows(data, "wc", "pages") == before_pages
    assert rows(data, "wc", "edges") == before_edges


def test_reextract_needs_warcs(crawled: Path, tmp_path: Path) -> None:
    for crawl_id, message in [("c1", "crawl c1 has no WARC files in"),
                              ("nope", "crawl nope has no WARC files in"),
                              ("../x", "bad crawl id")]:
        proc = linkindex("reextract", "--crawl-id", crawl_id, "--data", crawled, check=False)
        assert_one_line_error(proc, message)


@pytest.mark.parametrize("finished", [False, True])
def test_reextract_repairs_a_killed_swap(warc_crawl: Path, tmp_path: Path,
                                         finished: bool) -> None:
    data = tmp_path / "data"
    shutil.copytree(warc_crawl, data)
    before = rows(data, "wc", "pages"), rows(data, "wc", "edges")
    crawl = data / "raw" / "wc"
    if finished:  # killed after the new pages were in place, before the old were deleted
        shutil.copytree(crawl / "edges", crawl / ".tmp-old-edges")
        shutil.copytree(crawl / "pages", crawl / ".tmp-old-pages")
    else:  # killed after moving the old pages and edges out and the new edges in
        (crawl / "pages").rename(crawl / ".tmp-old-pages")
        (crawl / "edges").rename(crawl / ".tmp-old-edges")
        (crawl / "edges").mkdir()
        (crawl / "edges" / "new-000000.parquet").write_bytes(b"half a swap")
        # the build never reads a half-swapped crawl's old folders
        assert raw_parts(data, "pages") == []
    linkindex("reextract", "--crawl-id", "wc", "--data", data)
    assert (rows(data, "wc", "pages"), rows(data, "wc", "edges")) == before
    assert sorted(p.name for p in crawl.iterdir()) == ["edges", "pages"]
