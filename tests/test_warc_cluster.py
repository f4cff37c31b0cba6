"""`linkindex worker --warc`: cluster workers archive like a local crawl does."""

from __future__ import annotations

from pathlib import Path

import pytest
from clitools import linkindex
from clustertools import finish, start_worker, submit
from warcdata import rows
from warcio.archiveiterator import ArchiveIterator

from linkindex.localredis import RedisServer
from synthweb import WebServer

# Workers and a Redis server.
pytestmark = pytest.mark.slow


def test_workers_with_warc_archive_every_page(redis_server: RedisServer, web_server: WebServer,
                                              seeds_file: Path, crawled: Path,
                                              tmp_path: Path) -> None:
    data = tmp_path / "data"
    submit(redis_server.url, "wcl", seeds_file, "--delay", "0")
    workers = [start_worker(redis_server.url, data, "wcl", web_server.proxy_url, "--warc")
               for _ in range(2)]
    for worker in workers:
        finish(worker)
    parts = sorted(p.name for p in (data / "raw" / "wcl" / "pages").iterdir())
    warcs = sorted(p.name for p in (data / "warc" / "wcl").iterdir())
    # Every WARC is a part's, and every part with a fetched page has its WARC; a part
    # that rolled (by age, under load) holding only robots.txt refusals archives nothing.
    archived = {name.replace(".warc.gz", ".parquet") for name in warcs}
    assert archived <= set(parts)
    pointing = {Path(f).name.replace(".warc.gz", ".parquet") for (f,) in rows(
        data, "wcl", "pages", "DISTINCT warc_file", where="warc_file IS NOT NULL")}
    assert pointing == archived
    # URLs never requested (robots.txt) have a row and no record; every other row has one
    unfetched = "split_part(error, ':', 1) IN ('robots', 'refused')"
    assert rows(data, "wcl", "pages", f"count(*) FILTER ({unfetched} AND warc_file IS NULL)"
                ) == rows(data, "wcl", "pages", f"count(*) FILTER ({unfetched})")
    for url, file, offset in rows(data, "wcl", "pages", "url, warc_file, warc_offset",
                                  where=f"NOT coalesce({unfetched}, false)"):
        with open(data / file, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI")[:7] == url[:7]
    # the archives give back the job's rows, which are the local crawl's
    linkindex("import-warc", f"{data}/warc/wcl/*.warc.gz", "--crawl-id", "back",
              "--data", data)
    everything = "* EXCLUDE (crawl_id)"
    assert rows(data, "back", "pages", everything) == rows(
        data, "wcl", "pages", everything, where=f"NOT coalesce({unfetched}, false)")
    assert rows(data, "back", "edges", everything) == rows(data, "wcl", "edges", everything)
    content = "* EXCLUDE (crawl_id, fetched_at)"
    assert rows(data, "back", "edges", content) == rows(crawled, "c1", "edges", content)
