"""bench/wat.py keeps working: its smoke size runs, and every reader's counts are those
of the files bench/watgen.py wrote (never a timing).

The expected numbers come from the generator's own record of what it wrote (WatFile,
counted while writing, never by reading the files back), generated again here with the
smoke size's arguments: the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import duckdb
import pytest
from clitools import run

from bench.wat import BASELINE, IN_PROCESS, cli_name
from bench.watgen import WatFile, generate, write_wat
from core.parts import PartWriter
from index.archives.importer import import_file

# A whole benchmark in a subprocess.
pytestmark = pytest.mark.slow


def _members(path: Path) -> list[bytes]:
    """The file's gzip members, each decompressed on its own."""
    data, out = path.read_bytes(), []
    while data:
        inflater = zlib.decompressobj(31)
        out.append(inflater.decompress(data))
        assert inflater.eof
        data = inflater.unused_data
    return out


def test_watgen_writes_what_it_counts(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = write_wat(tmp_path / "a" / "x.warc.wat.gz", 300, seed=7, index=1)
    again = write_wat(tmp_path / "b" / "x.warc.wat.gz", 300, seed=7, index=1)
    assert first.path.read_bytes() == again.path.read_bytes()  # deterministic
    assert {**first.as_dict(), "path": ""} == {**again.as_dict(), "path": ""}

    # Common Crawl's layout: one gzip member per record, a warcinfo record, then the
    # request, response and metadata envelopes of each capture
    members = _members(first.path)
    assert len(members) == first.records == 1 + 3 * 300 == 901
    assert all(m.startswith(b"WARC/1.0\r\n") and m.endswith(b"\r\n\r\n") for m in members)
    assert b"\r\nWARC-Type: warcinfo\r\n" in members[0]
    kinds, list_headers = [], 0
    for member in members[1:]:
        head, _, block = member.partition(b"\r\n\r\n")
        assert b"\r\nWARC-Type: metadata\r\n" in head
        assert b"\r\nContent-Type: application/json\r\n" in head
        envelope = json.loads(block)
        assert set(envelope) == {"Container", "Envelope"}
        assert {"Filename", "Compressed", "Offset", "Gzip-Metadata"} <= set(
            envelope["Container"])
        warc = envelope["Envelope"]["WARC-Header-Metadata"]
        kinds.append(warc["WARC-Type"])
        http = envelope["Envelope"]["Payload-Metadata"].get("HTTP-Response-Metadata")
        if http is not None:
            list_headers += any(isinstance(v, list) for v in http["Headers"].values())
    assert kinds == ["request", "response", "metadata"] * 300
    assert list_headers > 50  # repeated headers as JSON lists, as since CC-MAIN-2024-51

    # what the import stores, counted by kind, against what the generator counted
    data = tmp_path / "data"
    counts, damage, failure = import_file(first.path, PartWriter(data, "w"), "w", data)
    assert (damage, failure, counts.skipped, counts.failed) == (None, None, 0, 0)
    assert (counts.records, counts.pages, counts.edges) == (
        first.records, first.pages, first.links)
    con = duckdb.connect()
    kinds_stored = dict(con.sql(f"SELECT kind, count(*) FROM read_parquet("
                                f"'{data}/raw/w/edges/*.parquet') GROUP BY kind").fetchall())
    assert kinds_stored.get("a", 0) + kinds_stored.get("img", 0) == first.a_links
    assert kinds_stored.get("area", 0) == first.area_links
    assert kinds_stored["canonical"] == first.canonical_links
    assert kinds_stored["redirect"] == first.redirect_links
    [(skipped,)] = con.sql(f"SELECT sum(n_skipped_links) FROM read_parquet("
                           f"'{data}/raw/w/pages/*.parquet')").fetchall()
    assert skipped == first.skipped_links > 0


def test_bench_wat_smoke(tmp_path: Path) -> None:
    out = tmp_path / "wat.json"
    proc = run([sys.executable, "-m", "bench.wat", "--smoke", "--json", str(out)])
    assert "## bench wat" in proc.stdout
    results = json.loads(out.read_text())

    # the smoke size's files, generated again: 2 files x 200 captures, seed 18
    wats: list[WatFile] = generate(tmp_path / "wat", files=2, pages=200, seed=18)
    assert [{**w.as_dict(), "path": Path(w.path).name} for w in wats] == [
        {**f, "path": Path(f["path"]).name} for f in results["files"]]
    pages = sum(w.pages for w in wats)
    records = sum(w.records for w in wats)
    a_href = sum(w.a_href for w in wats)
    # storable A@/href and AREA@/href targets of 2xx HTML pages (not javascript:,
    # mailto:, tel:, '#…', empty), their canonicals, and the redirects' Location
    links = sum(w.a_links + w.area_links + w.canonical_links + w.redirect_links
                for w in wats)
    assert pages == 400 and records == 2 * (1 + 3 * 200)
    assert 0 < links < a_href + sum(w.canonical_links + w.redirect_links for w in wats)

    readers = {r["reader"]: r for r in results["readers"]}
    assert set(readers) == {BASELINE, IN_PROCESS, cli_name(2)}
    for reader in readers.values():
        assert reader["pages"] == pages, reader["reader"]  # every reader saw every page
        assert reader["records"] == records, reader["reader"]
        assert reader["pages_per_s"] > 0 and reader["pages_per_s_per_core"] > 0
    assert readers[BASELINE]["a_href"] == readers[BASELINE]["links"] == a_href
    assert readers[BASELINE]["area_href"] == sum(w.area_href for w in wats)
    assert readers[IN_PROCESS]["links"] == readers[cli_name(2)]["links"] == links
    assert readers[IN_PROCESS]["skipped"] == readers[IN_PROCESS]["failed"] == 0
    assert all(results["checks"].values()), results["checks"]
    assert set(results["ratios"]) == {"in_process_per_core", "in_process_wall",
                                      "cli_per_core", "cli_wall"}
    assert all(value > 0 for value in results["ratios"].values())

    profile = results["profile"]
    assert profile["pages"] == wats[0].pages
    assert len(profile["by_cumulative"]) == len(profile["by_own"]) == 10
    assert "import_file" in profile["by_cumulative"][0]["function"]
    assert "top by cumulative time" in proc.stdout
