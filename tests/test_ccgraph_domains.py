"""The active web graph's ranks as columns of `domains` (cc_harmonic_pos, cc_harmonic,
cc_pr_pos, cc_pr), filled by the build from the release's vertices."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from ccgraph_files import write_release
from clitools import linkindex
from watfiles import write_wat_files

RELEASE = "cc-main-2025-26-nov-dec-jan"


def domains(data: Path) -> dict[str, tuple]:
    generation = (data / "index" / "CURRENT").read_text().strip()
    rows = duckdb.execute(
        "SELECT domain, cc_harmonic_pos, cc_harmonic, cc_pr_pos, cc_pr FROM read_parquet(?)",
        [str(data / "index" / generation / "domains.parquet")]).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_the_build_gives_domains_the_graphs_ranks(tmp_path: Path) -> None:
    wat = write_wat_files(tmp_path / "wat", files=1, pages=20, links=3)
    data = tmp_path / "data"
    linkindex("import-warc", tmp_path / "wat" / wat.names[0], "--crawl-id", "c1",
              "--data", data)
    linkindex("build", "--data", data)
    before = domains(data)
    assert set(before.values()) == {(None, None, None, None)}
    linked = min(d for d in before if d.startswith("t"))  # a domain the pages link to
    release = write_release(tmp_path / "graph", RELEASE, {
        "s0.example": [linked, "elsewhere.example"],
        "elsewhere.example": ["s0.example"], linked: []},
        ranks={"s0.example": (3.5, 0.25), linked: (1.5, 0.125),
               "elsewhere.example": (2.5, 0.5)})
    linkindex("import-cc-graph", RELEASE, "--data", data, "--vertices", release.vertices_path,
              "--edges", release.edges_path, "--ranks", release.ranks_path)
    # nothing new crawled, but a new graph: the build runs (incremental) for its ranks
    out = linkindex("build", "--data", data).stdout
    assert "up to date" not in out
    generation = (data / "index" / "CURRENT").read_text().strip()
    assert json.loads((data / "index" / generation / "manifest.json").read_text())[
        "cc_release"] == RELEASE
    assert "up to date" in linkindex("build", "--data", data).stdout
    got = domains(data)
    # by hand: harmonic 3.5 > 2.5 > 1.5; pagerank 0.5 > 0.25 > 0.125
    assert got["s0.example"] == (1, 3.5, 2, 0.25)
    assert got[linked] == (3, 1.5, 3, 0.125)
    assert "elsewhere.example" not in got  # the graph does not add domains to the index
    assert all(v == (None, None, None, None) for d, v in got.items()
               if d not in ("s0.example", linked))
